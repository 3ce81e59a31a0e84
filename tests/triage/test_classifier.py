"""The service model: training data, serialisation with metadata, version checks, concepts."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import sklearn

from triage import concepts
from triage.classifier import (
    LABELS,
    IncompatibleModelError,
    ServiceModel,
    example_text,
    holdout_metrics,
    read_metadata,
)
from triage.dataset import DatasetError, Example, dataset_sha256, load_jsonl, load_training_data

TEXTS = [
    "Rechnung doppelt\nIch habe die Rechnung 2025-0412 zweimal bekommen.",
    "FTP\nFileZilla: 530 Login incorrect",
    "Auth-Code\nBitte senden Sie mir den Transfercode für meine Domain.",
]


def test_the_model_records_what_it_was_trained_on(model: ServiceModel) -> None:
    examples = load_training_data()
    assert model.labels == LABELS
    assert model.metadata.sklearn_version == sklearn.__version__
    assert model.metadata.training_sha256 == dataset_sha256(examples)
    assert model.metadata.training_size == len(examples)
    assert model.version.endswith(model.metadata.training_sha256[:8])


def test_a_model_survives_serialisation(model: ServiceModel) -> None:
    # given a trained model, when it is written to bytes and read back
    loaded = ServiceModel.from_bytes(model.to_bytes())
    # then it predicts the same and carries the same metadata
    assert loaded.metadata == model.metadata
    np.testing.assert_allclose(loaded.predict_proba(TEXTS), model.predict_proba(TEXTS))


def test_the_metadata_can_be_read_without_loading_the_model(model: ServiceModel) -> None:
    assert read_metadata(model.to_bytes()) == model.metadata


def test_a_model_from_another_scikit_learn_version_is_refused(model: ServiceModel) -> None:
    old = ServiceModel(model.pipeline, dataclasses.replace(model.metadata, sklearn_version="0.24.2"))
    with pytest.raises(IncompatibleModelError, match=r"scikit-learn 0\.24\.2"):
        ServiceModel.from_bytes(old.to_bytes())


def test_bytes_that_are_no_model_are_refused() -> None:
    with pytest.raises(IncompatibleModelError):
        ServiceModel.from_bytes(b"\x80\x04not a model")


def test_the_fast_linear_form_equals_scikit_learns_probabilities(model: ServiceModel) -> None:
    np.testing.assert_allclose(model.predict_proba(TEXTS), model.pipeline.predict_proba(TEXTS), rtol=1e-9)


def test_services_are_recognised_across_languages(model: ServiceModel) -> None:
    texts = [
        "Facture\nJ'ai payé la facture 2026-0112 deux fois, merci de me rembourser.",
        "Fattura\nHo pagato due volte la fattura 2026-0112, potete rimborsarmi?",
        "Datenbank\nIch kann mich nicht mehr bei phpMyAdmin anmelden.",
    ]
    probabilities = model.predict_proba(texts)
    assert probabilities[0, LABELS.index("billing")] > 0.5
    assert probabilities[1, LABELS.index("billing")] > 0.5
    assert probabilities[2, LABELS.index("database")] > 0.5


def test_held_back_metrics_are_f1_scores() -> None:
    metrics = holdout_metrics(load_training_data(), fraction=0.2, seed=1)
    assert 0.5 < metrics["services_micro_f1"] <= 1.0
    assert set(metrics) >= {f"{label}_f1" for label in LABELS}


def test_the_training_text_leaves_out_quotes_and_signature() -> None:
    # given a reply with a signature and the provider's quoted request
    body = "Geht wieder, danke.\n\nGruss\nEva Muster\nTel. 044 123 45 67\n\n> Bitte senden Sie die Rechnung."
    text = example_text(Example(id="x", subject="Re: Webmail", body=body, mailbox="emergency"))
    # then the model reads subject, new text and the mailbox, as at run time
    assert text == "Re: Webmail\nGeht wieder, danke.\n__emergency__"


def test_concepts_join_words_of_four_languages() -> None:
    for word in ("Rechnung", "invoice", "facture", "fattura"):
        assert "billing" in concepts.concepts(word), word
    assert "panel" in concepts.concepts("im Control Panel")
    assert "database" in concepts.concepts("la base de données")


def test_every_phrase_written_in_the_lexicon_is_indexed_whole() -> None:
    lines = [f" {line.strip()} " for terms in concepts.LEXICON.values() for line in terms.split("\n")]
    written = {phrase for phrase in concepts._PHRASES if any(f" {phrase} " in line for line in lines)}
    indexed = {" ".join(words) for words in concepts._PHRASE_INDEX}
    assert written
    assert written <= indexed


def test_a_broken_training_line_is_reported_with_its_place(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    good = {"id": "x", "subject": "s", "body": "b", "mailbox": "support"}
    path.write_text(json.dumps(good) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"bad\.jsonl:1"):
        load_jsonl(path)


def test_an_unfinished_last_training_line_is_skipped(tmp_path: Path) -> None:
    # given a training file another writer is still appending to
    labels = {
        "language": "de", "services": ["email"], "problem_report": True, "has_error_message": False,
        "has_problem_description": True, "callback_requested": False, "callback_number": None,
        "actions": ["request_error_message"],
    }  # fmt: skip
    record = {"id": "a-1", "subject": "Mail", "body": "Mail geht nicht", "labels": labels}
    (tmp_path / "train_x.jsonl").write_text(json.dumps(record) + '\n{"id": "a-2", "subj', encoding="utf-8")
    # when the training data is loaded, then the complete line is kept and the partial one skipped
    assert [e.id for e in load_training_data(tmp_path)] == ["a-1"]
