"""Fixtures for triage tests: one model trained on the project's data per test session."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator, Sequence

import pytest

from triage import services, training
from triage.classifier import ServiceModel
from triage.dataset import Example, dataset_sha256, load_training_data


@pytest.fixture(scope="session")
def model() -> ServiceModel:
    return ServiceModel.train(load_training_data())


@pytest.fixture
def fresh_active_model() -> Iterator[None]:
    """Start and end without a cached active model or baseline: each test's database is new."""
    services.active_model_reset()
    yield
    services.active_model_reset()


@pytest.fixture
def quick_training(model: ServiceModel, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make training instant: every 'trained' model is the session's model under a version of its own.

    For tests of the flow around training (threshold, lock, command, storing); what training learns is
    tested with real training.
    """
    counter = itertools.count(1)

    def train(cls: type[ServiceModel], examples: Sequence[Example], **_: object) -> ServiceModel:
        sha = dataset_sha256(examples)
        metadata = dataclasses.replace(
            model.metadata,
            version=f"quick-{next(counter)}-{sha[:8]}",
            training_sha256=sha,
            training_size=len(examples),
        )
        return ServiceModel(model.pipeline, metadata)

    monkeypatch.setattr(ServiceModel, "train", classmethod(train))
    training._baselines.clear()
    yield
    # The cached baseline is a fake: real training in later tests must not compare with it.
    training._baselines.clear()
