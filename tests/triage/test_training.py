"""Retraining from agents' corrections: the held-back split, what a candidate learns, the not-worse rule."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.db import connection

from helpdesk.models import Message
from tests.conftest import ROOT
from tests.triage.corrections import LABELS, corrected
from triage import services, tasks, training
from triage.classifier import LABELS as MODEL_LABELS
from triage.classifier import THRESHOLD, ServiceModel, example_text, model_text
from triage.dataset import dataset_sha256, load_training_data
from triage.models import ModelVersion, TriageRun
from triage.training import AgentCorrection

# Agents teach that WebDAV (file access to the webspace) belongs to 'ftp': problems and how-to questions,
# in several languages, so that only the service is new to the model.
WEBDAV_PROBLEMS = [
    ("WebDAV-Laufwerk", "Guten Tag\n\nMein WebDAV-Laufwerk lässt sich unter Windows nicht mehr verbinden."),
    ("WebDAV", "Hallo\n\nIch kann über WebDAV keine Dateien mehr hochladen.\n\nDanke"),
    ("WebDAV access", "Hello,\n\nI cannot connect to my webspace via WebDAV any more.\n\nBest regards\nAnn"),
    ("Accès WebDAV", "Bonjour,\n\nje n'arrive plus à monter le lecteur WebDAV sur mon Mac.\n\nMerci"),
    ("WebDAV", "Buongiorno,\n\nnon riesco più a collegarmi via WebDAV.\n\nGrazie"),
]
WEBDAV_QUESTIONS = [
    ("WebDAV einrichten", "Guten Tag\n\nWie richte ich unter macOS ein WebDAV-Laufwerk ein?"),
    ("WebDAV", "Hallo\n\nBietet ihr auch WebDAV an? Ich möchte meine Dateien ohne FileZilla verwalten."),
    ("WebDAV address", "Hi,\n\nwhich address and port do I use for WebDAV on my hosting?\n\nThanks"),
    ("WebDAV", "Bonjour,\n\nquelle est l'adresse WebDAV de mon hébergement ?\n\nMerci"),
    ("WebDAV", "Ciao,\n\ncome posso usare WebDAV con il mio spazio web?\n\nGrazie"),
]
WEBDAV_NEW = ("Laufwerk", "Seit dem Update verbindet sich WebDAV nicht mehr mit meinem Webspace.")


def webdav_corrections() -> None:
    for prefix in ("", "Nochmals: ", "Re: "):
        for subject, body in WEBDAV_PROBLEMS:
            corrected(prefix + subject, body, ["ftp"])
        for subject, body in WEBDAV_QUESTIONS:
            corrected(prefix + subject, body, ["ftp"], problem_report=False)


def ftp_probability(model: ServiceModel, subject: str, body: str) -> float:
    return float(model.predict_proba([model_text(subject, body)])[0, MODEL_LABELS.index("ftp")])


def agent_correction(ticket_id: int, field: str, value: object, **labels: object) -> AgentCorrection:
    return AgentCorrection(
        ticket_id=ticket_id, field=field, corrected={field: value}, labels={**LABELS, **labels},
        subject="Mail", body=f"Text von Ticket {ticket_id}",
    )  # fmt: skip


# --- the held-back part and the training set (pure) ------------------------------------------------


def test_about_fifteen_percent_of_the_seed_mails_are_held_back_in_every_language() -> None:
    # given the project's labelled mails, when they are split
    seed = load_training_data()
    train, held = training.split_seed(seed)
    # then the parts are disjoint, cover everything, and the held-back part spans all languages
    assert {e.id for e in train}.isdisjoint(e.id for e in held)
    assert len(train) + len(held) == len(seed)
    assert 0.12 <= len(held) / len(seed) <= 0.18
    assert {e.labels["language"] for e in held} == {"de", "en", "fr", "it"}


def test_a_mail_stays_on_its_side_when_mails_are_added_or_removed() -> None:
    seed = load_training_data()
    _, held = training.split_seed(seed)
    _, held_of_half = training.split_seed(seed[::2])
    assert {e.id for e in held_of_half} == {e.id for e in held} & {e.id for e in seed[::2]}


def test_held_back_mails_never_reach_the_training_set() -> None:
    # given corrections, one of which repeats a held-back mail word for word
    seed = load_training_data()
    _, held = training.split_seed(seed)
    repeat = held[0]
    corrections = [
        agent_correction(1, "services", ["ftp"]),
        AgentCorrection(
            ticket_id=2, field="services", corrected={"services": ["billing"]}, labels=LABELS,
            subject=repeat.subject, body=repeat.body,
        ),
    ]  # fmt: skip
    # when the training set is built
    data = training.training_set(seed, corrections)
    # then neither a held-back mail nor its text is trained on, and the repeat is counted as skipped
    held_texts = {example_text(e) for e in data.held_back}
    assert not {e.id for e in data.train} & {e.id for e in data.held_back}
    assert not {example_text(e) for e in data.train} & held_texts
    assert [e.id for e in data.corrections] == ["ticket-1"]
    assert data.skipped_tickets == 1
    assert dataset_sha256(data.train) != dataset_sha256([*data.train, *data.held_back])


def test_the_latest_correction_of_a_field_wins_and_changes_of_other_fields_are_kept() -> None:
    corrections = [
        agent_correction(7, "services", ["email"]),
        agent_correction(7, "has_problem_description", False),
        agent_correction(7, "services", ["email", "domain"]),
    ]
    [example], skipped = training.correction_examples(corrections)
    assert example.labels["services"] == ["domain", "email"]
    assert example.labels["has_problem_description"] is False
    assert skipped == 0


def test_corrections_only_of_rule_decided_labels_teach_the_model_nothing() -> None:
    # the error message and the callback come from rules; the model learns services and two flags
    corrections = [
        agent_correction(1, "has_error_message", True),
        agent_correction(2, "callback_number", "+41791234567"),
        agent_correction(3, "has_problem_description", False),
        agent_correction(4, "services", ["webhosting", "ftp"]),
    ]
    examples, skipped = training.correction_examples(corrections)
    assert [e.id for e in examples] == ["ticket-3", "ticket-4"]
    assert examples[1].labels["services"] == ["ftp"]  # a tag outside the label schema is dropped
    assert skipped == 2


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        ({"services_micro_f1": 0.90, "actions_exact": 0.90}, True),
        ({"services_micro_f1": 0.896, "actions_exact": 0.90}, True),  # within the tolerance
        ({"services_micro_f1": 0.89, "actions_exact": 0.95}, False),
        ({"services_micro_f1": 0.95, "actions_exact": 0.89}, False),
    ],
)
def test_a_candidate_must_not_lose_on_any_headline_metric(candidate: dict[str, float], expected: bool):
    assert training.not_worse(candidate, {"services_micro_f1": 0.90, "actions_exact": 0.90}) is expected


# --- model_train with real training -----------------------------------------------------------------


@pytest.mark.django_db
def test_corrections_teach_a_new_association_and_the_new_model_triages_with_it(
    model: ServiceModel, fresh_active_model: None
) -> None:
    # given the seed model does not know WebDAV, and agents corrected 30 such mails to 'ftp'
    assert ftp_probability(model, *WEBDAV_NEW) < THRESHOLD
    webdav_corrections()
    # when the classifier is retrained
    outcome = services.model_train()
    # then it predicts 'ftp' for a WebDAV mail it never saw, does not do worse on the held-back mails,
    # and is stored with its figures and made the active model
    version = ModelVersion.objects.get()
    assert ftp_probability(services.active_model(), *WEBDAV_NEW) >= THRESHOLD
    assert outcome.activated
    assert version.active
    assert services.active_model().version == version.version
    assert version.corrections == 30
    assert version.training_size == outcome.comparison.seed_examples + 30
    assert version.metrics["held_back_rule"] == training.HELD_BACK_RULE
    assert version.metrics["compared_with"]["model"] == "baseline trained on the seed data alone"
    assert version.notes.startswith("Activated")
    # and a new customer mail about WebDAV is tagged 'ftp' by the new version
    subject, body = WEBDAV_NEW
    message = Message.objects.get(ticket=corrected(subject, body, []).ticket)
    run = services.message_triage(message_id=message.pk, new_ticket=True)
    assert isinstance(run, TriageRun)
    assert run.model_version == version.version
    assert "ftp" in run.result["services"]


@pytest.mark.django_db
def test_a_candidate_trained_on_wrong_corrections_is_stored_but_not_activated(fresh_active_model: None):
    # given agents 'corrected' 59 mails of every kind to billing alone
    seed_train, _ = training.split_seed(load_training_data())
    for example in seed_train[::14]:
        corrected(example.subject, example.body, ["billing"], problem_report=False)
    # when the classifier is retrained
    outcome = services.model_train()
    # then the candidate does worse on the held-back mails: it is kept for inspection, but not used
    version = ModelVersion.objects.get()
    scores, compared = outcome.comparison.scores, outcome.comparison.compared_scores
    assert scores["services_micro_f1"] < compared["services_micro_f1"] - training.TOLERANCE
    assert not outcome.activated
    assert not version.active
    assert version.notes.startswith("Not activated: it does worse than")
    assert services.active_model().version != version.version


# --- the flow around training (instant training) ----------------------------------------------------


@pytest.mark.django_db
def test_retraining_waits_for_enough_new_corrections(
    settings, quick_training: None, fresh_active_model: None
) -> None:
    # given the threshold is three corrections and two were made
    settings.TRIAGE_RETRAIN_MIN_CORRECTIONS = 3
    corrected("FTP", "FileZilla verbindet nicht.", ["ftp"])
    corrected("Domain", "Wo finde ich den Auth-Code?", ["domain"])
    # when the beat job runs, then it does nothing
    assert tasks.retrain_if_due() == "not due"
    assert not ModelVersion.objects.exists()
    # when a third correction arrives, then the job trains and activates a version
    corrected("Rechnung", "Die Rechnung ist doppelt.", ["billing"], problem_report=False)
    assert tasks.retrain_if_due().endswith(" activated")
    version = ModelVersion.objects.get()
    assert version.active
    assert version.corrections == 3
    # and the next run finds no new correction since that version
    assert services.model_retrain_if_due() is None
    assert ModelVersion.objects.count() == 1


@pytest.mark.django_db
def test_no_training_without_corrections_unless_forced(quick_training: None, fresh_active_model: None):
    with pytest.raises(services.NothingToLearnError):
        services.model_train()
    assert not ModelVersion.objects.exists()
    outcome = services.model_train(force=True)
    assert outcome.version.corrections == 0
    assert outcome.activated


@pytest.mark.django_db
def test_a_stored_version_of_the_same_rule_is_what_the_next_candidate_must_beat(
    quick_training: None, fresh_active_model: None
) -> None:
    corrected("FTP", "FileZilla verbindet nicht.", ["ftp"])
    first = services.model_train().version
    corrected("Domain", "Wo finde ich den Auth-Code?", ["domain"])
    outcome = services.model_train()
    assert outcome.comparison.compared_with == f"active {first.version}"


@pytest.mark.django_db
def test_no_activate_stores_the_version_only(quick_training: None, fresh_active_model: None) -> None:
    corrected("FTP", "FileZilla verbindet nicht.", ["ftp"])
    outcome = services.model_train(activate=False)
    assert not outcome.activated
    assert not ModelVersion.objects.get().active
    assert outcome.version.notes.startswith("Stored without activation as asked; it does not do worse")


@pytest.mark.django_db
def test_an_active_version_that_cannot_be_loaded_stops_training_with_its_name(
    quick_training: None, fresh_active_model: None
) -> None:
    # given the active version's stored bytes are damaged
    ModelVersion.objects.create(
        version="broken", sklearn_version="1", training_sha256="x", blob=b"TRIAGE-MODEL\x01garbage",
        active=True, metrics={"held_back_rule": training.HELD_BACK_RULE},
    )  # fmt: skip
    corrected("FTP", "FileZilla verbindet nicht.", ["ftp"])
    # when training runs, then it refuses with the version's name; with force it replaces the version
    with pytest.raises(services.TrainingError, match="model version broken cannot be loaded"):
        services.model_train()
    outcome = services.model_train(force=True)
    assert outcome.activated
    assert "broken cannot be loaded" in outcome.comparison.compared_with
    assert ModelVersion.objects.get(active=True) == outcome.version


@pytest.mark.django_db
def test_only_one_process_trains_at_a_time(quick_training: None, fresh_active_model: None, settings) -> None:
    # given another database session holds the training lock
    if connection.vendor != "postgresql":
        pytest.skip("the advisory lock is PostgreSQL's")
    settings.TRIAGE_RETRAIN_MIN_CORRECTIONS = 1
    corrected("FTP", "FileZilla verbindet nicht.", ["ftp"])
    other = connection.copy()
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [services.TRAINING_LOCK_KEY])
        # when training is asked for, then the command fails and the beat job skips
        with pytest.raises(services.TrainingBusyError):
            services.model_train()
        assert services.model_retrain_if_due() is None
    finally:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [services.TRAINING_LOCK_KEY])
        other.close()
    # and once the other session let go, training runs
    assert services.model_retrain_if_due() is not None


def test_on_sqlite_a_file_lock_keeps_a_second_training_out(tmp_path) -> None:
    # SQLite runs on one machine; another process holding the lock file is simulated by a second handle
    path = tmp_path / "var" / "triage-training.lock"
    with services._file_lock(path) as first, services._file_lock(path) as second:
        assert (first, second) == (True, False)
    with services._file_lock(path) as again:
        assert again


# --- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["many", "0"])
def test_a_bad_retraining_threshold_stops_the_start_naming_the_variable(value: str) -> None:
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    environment.update(DEBUG="1", TRIAGE_RETRAIN_MIN_CORRECTIONS=value)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "TRIAGE_RETRAIN_MIN_CORRECTIONS" in result.stderr.splitlines()[-1]


def test_beat_runs_the_retraining_job_hourly(settings) -> None:
    from helpdesk.celery import app

    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "triage.retrain_if_due")
    assert entry["schedule"] == 3600.0
    assert "triage.retrain_if_due" in app.tasks  # the name beat sends is a task the workers know
