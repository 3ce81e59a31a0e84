"""`manage.py triage predict|evaluate` on a small labelled file and on the shared dev set; `triage train`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import shared_path
from tests.triage.corrections import corrected
from triage import services
from triage.classifier import ServiceModel
from triage.core import analyse_batch
from triage.dataset import LABEL_KEYS, load_jsonl
from triage.evaluation import evaluate, example_input
from triage.models import ModelVersion
from triage.training import HELD_BACK_RULE

SMALL = Path(__file__).resolve().parent.parent / "data" / "triage_small.jsonl"


@pytest.fixture
def model_file(model: ServiceModel, tmp_path: Path) -> Path:
    path = tmp_path / "model.bin"
    path.write_bytes(model.to_bytes())
    return path


def _run(*args: str) -> str:
    out = StringIO()
    call_command("triage", *args, stdout=out)
    return out.getvalue()


def test_predict_prints_one_labelled_object_per_line(model_file: Path) -> None:
    # given the small labelled file, when predict runs
    lines = _run("predict", str(SMALL), "--model", str(model_file)).splitlines()
    # then every mail gets every label key plus confidences and the detected error text
    records = [json.loads(line) for line in lines]
    assert [r["id"] for r in records] == ["t-1", "t-2", "t-3", "t-4", "t-5", "t-6"]
    for record in records:
        assert set(record) == {"id", *LABEL_KEYS, "confidence", "error_message"}
        assert len(record["confidence"]) == 8
    assert records[1]["callback_number"] == "+41794123387"
    assert records[2]["error_message"] == "SMTP Error: Could not authenticate."


def test_predict_ignores_missing_labels(model_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "unlabelled.jsonl"
    path.write_text(
        json.dumps({"id": "u-1", "subject": "FTP", "body": "FTP geht nicht"}) + "\n", encoding="utf-8"
    )
    record = json.loads(_run("predict", str(path), "--model", str(model_file)))
    assert record["id"] == "u-1"
    assert "ftp" in record["services"]


def test_evaluate_prints_scores_per_label_and_exact_matches(model_file: Path) -> None:
    output = _run("evaluate", str(SMALL), "--model", str(model_file))
    for heading in ("email", "services (micro)", "has_error_message", "request_callback_number"):
        assert re.search(
            rf"^{re.escape(heading)}\s+\d\.\d{{3}}\s+\d\.\d{{3}}\s+\d\.\d{{3}}\s+\d+$", output, re.M
        )
    assert re.search(r"^language accuracy\s+1\.000$", output, re.M)
    assert re.search(r"^actions exact match\s+\d\.\d{3}$", output, re.M)
    assert re.search(r"^callback_number exact \(all mails\)\s+1\.000$", output, re.M)


def test_evaluate_trains_a_model_when_none_is_given() -> None:
    assert _run("evaluate", str(SMALL)).startswith("model ")


def test_a_bad_line_fails_with_its_place(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text('{"id": "x", "subject": "s", "body": "b"}\n{"id": 3}\n', encoding="utf-8")
    with pytest.raises(CommandError, match=r"broken\.jsonl:2"):
        _run("predict", str(path))


def test_evaluate_needs_labels(tmp_path: Path) -> None:
    path = tmp_path / "unlabelled.jsonl"
    path.write_text('{"id": "x", "subject": "s", "body": "b"}\n', encoding="utf-8")
    with pytest.raises(CommandError, match="labels"):
        _run("evaluate", str(path))


def test_a_model_from_another_installation_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"not a model")
    with pytest.raises(CommandError, match="not a serialised triage model"):
        _run("predict", str(SMALL), "--model", str(path))


def test_the_dev_set_meets_the_targets(model: ServiceModel) -> None:
    # given the shared development set (never trained on)
    examples = load_jsonl(shared_path("triage", "dev.jsonl"))
    # when every mail is triaged by the model trained on the project's data
    evaluation = evaluate(examples, analyse_batch([example_input(e) for e in examples], model=model))
    # then the figures reached when this was written hold (each with a margin of 0.03 at most)
    assert evaluation.services_micro.f1 >= 0.92
    assert evaluation.score("has_error_message").f1 >= 0.97
    assert evaluation.callback_number_exact >= 0.97
    assert evaluation.actions_exact >= 0.92
    assert evaluation.language_accuracy >= 0.97


# --- train ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_train_prints_the_candidate_next_to_the_model_it_must_beat(quick_training, fresh_active_model):
    # given one agent correction
    corrected("FTP", "FileZilla verbindet nicht.", ["ftp"])
    # when the classifier is retrained from the command line
    output = _run("train")
    # then the figures of both models on the held-back mails are printed, and the result was activated
    version = ModelVersion.objects.get()
    assert re.search(r"^services_micro_f1\s+\d\.\d{3}\s+\d\.\d{3}$", output, re.M)
    assert re.search(r"^actions_exact\s+\d\.\d{3}\s+\d\.\d{3}$", output, re.M)
    assert re.search(r"^trained on \d+ seed mails and 1 corrected tickets; measured on", output, re.M)
    assert "compared with: baseline trained on the seed data alone" in output
    assert f"stored {version.version}: Activated" in output
    assert output.rstrip().endswith("activated")
    assert version.active


@pytest.mark.django_db
def test_train_no_activate_only_stores(quick_training, fresh_active_model) -> None:
    corrected("FTP", "FileZilla verbindet nicht.", ["ftp"])
    assert _run("train", "--no-activate").rstrip().endswith("not activated")
    assert not ModelVersion.objects.get().active


@pytest.mark.django_db
def test_train_without_corrections_says_so(quick_training) -> None:
    with pytest.raises(CommandError, match="no agent correction"):
        _run("train")
    assert not ModelVersion.objects.exists()


@pytest.mark.django_db
def test_train_names_an_active_version_that_cannot_be_loaded(quick_training, fresh_active_model) -> None:
    ModelVersion.objects.create(
        version="v-broken", sklearn_version="1", training_sha256="x", blob=b"garbage", active=True,
        metrics={"held_back_rule": HELD_BACK_RULE},
    )  # fmt: skip
    corrected("FTP", "FileZilla verbindet nicht.", ["ftp"])
    with pytest.raises(CommandError, match=r"model version v-broken cannot be loaded.*--force"):
        _run("train")
    assert "activated" in _run("train", "--force")
    assert ModelVersion.objects.get(active=True).version != "v-broken"


@pytest.mark.django_db
def test_train_while_another_training_runs_fails(quick_training, monkeypatch: pytest.MonkeyPatch) -> None:
    @contextmanager
    def taken() -> Iterator[bool]:
        yield False

    monkeypatch.setattr(services, "_training_lock", taken)
    corrected("FTP", "FileZilla verbindet nicht.", ["ftp"])
    with pytest.raises(CommandError, match="another training is running"):
        _run("train")
