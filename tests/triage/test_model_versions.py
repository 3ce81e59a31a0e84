"""Model versions: workers load the active one once, pick up another after activation, rollback works."""

from __future__ import annotations

import dataclasses

import pytest

from helpdesk.models import Message
from tests.factories import open_ticket
from triage import services
from triage.classifier import IncompatibleModelError, ServiceModel
from triage.models import ModelVersion, TriageRun

pytestmark = pytest.mark.django_db


def stored(model: ServiceModel, name: str, *, active: bool = False) -> ModelVersion:
    """Store the session's model under another version name (same predictions, told apart by name)."""
    renamed = ServiceModel(model.pipeline, dataclasses.replace(model.metadata, version=name))
    return ModelVersion.objects.create(
        version=name, sklearn_version=renamed.metadata.sklearn_version, training_sha256="x",
        blob=renamed.to_bytes(), active=active,
    )  # fmt: skip


def activate(version: ModelVersion, capture) -> None:
    # As after a real commit: the activating process forgets its cached model.
    with capture(execute=True):
        services.model_activate(version=version)


def triaged_by() -> str:
    message = Message.objects.get(ticket=open_ticket())
    run = services.message_triage(message_id=message.pk, new_ticket=True)
    assert isinstance(run, TriageRun)
    return run.model_version


def test_activation_and_rollback_change_the_model_triage_uses(
    model: ServiceModel, fresh_active_model: None, django_capture_on_commit_callbacks
) -> None:
    # given two stored versions, the first active and in use
    first, second = stored(model, "v-first", active=True), stored(model, "v-second")
    assert triaged_by() == "v-first"
    # when the second is activated, then the next message is triaged by it
    activate(second, django_capture_on_commit_callbacks)
    assert triaged_by() == "v-second"
    first.refresh_from_db()
    assert not first.active
    # when the first is activated again (rollback), then it is used again
    activate(first, django_capture_on_commit_callbacks)
    assert triaged_by() == "v-first"
    assert list(ModelVersion.objects.filter(active=True)) == [first]


def test_another_process_picks_up_the_activation_after_the_reload_interval(
    model: ServiceModel, fresh_active_model: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a worker has loaded the active version
    stored(model, "v-first", active=True)
    second = stored(model, "v-second")
    assert services.active_model().version == "v-first"
    # when another process activates the second (this worker's cache is not reset: no commit here)
    services.model_activate(version=second)
    # then the worker keeps its model within the interval and loads the new one after it
    assert services.active_model().version == "v-first"
    monkeypatch.setattr(services, "RELOAD_CHECK_SECONDS", 0.0)
    assert services.active_model().version == "v-second"


def test_the_model_is_loaded_once_not_per_message(
    model: ServiceModel, fresh_active_model: None, django_assert_num_queries
) -> None:
    stored(model, "v-first", active=True)
    loaded = services.active_model()
    with django_assert_num_queries(0):
        assert services.active_model() is loaded


def test_without_a_stored_version_the_seed_model_is_used(fresh_active_model: None) -> None:
    assert triaged_by() == services.default_model().version


def test_a_version_that_cannot_be_loaded_is_not_activated(model: ServiceModel, fresh_active_model: None):
    # given the active version and one whose bytes are damaged
    good = stored(model, "v-good", active=True)
    damaged = ModelVersion.objects.create(
        version="v-damaged", sklearn_version="1", training_sha256="x", blob=good.blob[: len(good.blob) // 2]
    )
    # when it is activated, then activation refuses it by name and the good one stays active
    with pytest.raises(IncompatibleModelError, match="v-damaged cannot be loaded"):
        services.model_activate(version=damaged)
    assert list(ModelVersion.objects.filter(active=True)) == [good]


def test_a_damaged_active_version_fails_loudly_with_its_name(fresh_active_model: None) -> None:
    ModelVersion.objects.create(
        version="v-broken", sklearn_version="1", training_sha256="x", blob=b"garbage", active=True
    )
    with pytest.raises(IncompatibleModelError, match="model version v-broken cannot be loaded"):
        services.active_model()
