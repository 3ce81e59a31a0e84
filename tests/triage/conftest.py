"""Fixtures for triage tests: one model trained on the project's data per test session."""

from __future__ import annotations

import pytest

from triage.classifier import ServiceModel
from triage.dataset import load_training_data


@pytest.fixture(scope="session")
def model() -> ServiceModel:
    return ServiceModel.train(load_training_data())
