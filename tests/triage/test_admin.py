"""Managers see and activate model versions and read corrections and triage runs; agents do not."""

from __future__ import annotations

import dataclasses
import importlib

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from tests.triage.corrections import corrected
from triage.classifier import ServiceModel
from triage.models import ModelVersion, TriageRun

pytestmark = pytest.mark.django_db
VERSIONS = "/admin/triage/modelversion/"


def staff(username: str, group: str | None = None) -> Client:
    user = User.objects.create_user(username=username, is_staff=True)
    if group:
        user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def versions(model: ServiceModel) -> tuple[ModelVersion, ModelVersion]:
    def store(name: str, *, active: bool, blob: bytes | None = None) -> ModelVersion:
        renamed = ServiceModel(model.pipeline, dataclasses.replace(model.metadata, version=name))
        return ModelVersion.objects.create(
            version=name, sklearn_version=renamed.metadata.sklearn_version, training_sha256="x",
            blob=blob if blob is not None else renamed.to_bytes(), active=active,
            metrics={"services_micro_f1": 0.9123, "actions_exact": 0.9420}, notes=f"notes of {name}",
        )  # fmt: skip

    return store("v-old", active=True), store("v-new", active=False)


def activate(client: Client, version: ModelVersion) -> int:
    return client.post(VERSIONS, {"action": "activate", "_selected_action": [version.pk]}).status_code


def active_names() -> list[str]:
    return list(ModelVersion.objects.filter(active=True).values_list("version", flat=True))


def test_manager_sees_versions_with_their_figures_and_activates_one(versions, fresh_active_model) -> None:
    # given a manager and two versions
    client = staff("martin", "managers")
    old, new = versions
    # when the manager opens the list and a version, and activates the new one
    listing = client.get(VERSIONS)
    page = client.get(f"{VERSIONS}{new.pk}/change/")
    activate(client, new)
    # then the figures and notes show, and the new version is the active one
    assert "services_micro_f1 0.912" in listing.text
    assert "actions_exact 0.942" in listing.text
    assert "notes of v-new" in page.text
    assert active_names() == ["v-new"]
    # and rolling back is activating the old one
    activate(client, old)
    assert active_names() == ["v-old"]


def test_manager_reads_corrections_and_triage_runs_but_changes_none(versions) -> None:
    client = staff("martin", "managers")
    correction = corrected("FTP", "FileZilla verbindet nicht.", ["ftp"])
    message = correction.ticket.messages.get()
    run = TriageRun.objects.create(
        ticket=correction.ticket, message=message, model_version="v-old", result={}
    )
    assert correction.ticket.reference in client.get("/admin/triage/correction/").text
    assert client.get(f"/admin/triage/correction/{correction.pk}/change/").status_code == 200
    assert client.get("/admin/triage/triagerun/").status_code == 200
    assert client.get(f"/admin/triage/triagerun/{run.pk}/change/").status_code == 200
    assert client.get("/admin/triage/correction/add/").status_code == 403
    assert client.get(f"/admin/triage/triagerun/{run.pk}/delete/").status_code == 403
    assert client.get(f"{VERSIONS}{versions[0].pk}/delete/").status_code == 403


@pytest.mark.parametrize("url", [VERSIONS, "/admin/triage/correction/", "/admin/triage/triagerun/"])
def test_agent_gets_403_on_triage_pages(url: str) -> None:
    assert staff("anna", "agents").get(url).status_code == 403


def test_agent_cannot_activate_a_version(versions) -> None:
    assert activate(staff("anna", "agents"), versions[1]) == 403
    assert active_names() == ["v-old"]


def test_who_may_only_view_versions_is_not_offered_the_activation(versions) -> None:
    # given a staff user with the view permission alone
    client = staff("vera")
    user = User.objects.get(username="vera")
    user.user_permissions.add(Permission.objects.get(codename="view_modelversion"))
    # when the user lists the versions and posts the action anyway
    listing = client.get(VERSIONS)
    activate(client, versions[1])
    # then the action is not offered and nothing changed
    assert listing.status_code == 200
    assert 'value="activate"' not in listing.text
    assert active_names() == ["v-old"]


def test_a_version_that_cannot_be_loaded_is_refused_with_a_message(model, fresh_active_model) -> None:
    client = staff("martin", "managers")
    damaged = ModelVersion.objects.create(
        version="v-damaged", sklearn_version="1", training_sha256="x", blob=b"not a model"
    )
    response = client.post(VERSIONS, {"action": "activate", "_selected_action": [damaged.pk]}, follow=True)
    assert "Not activated: model version v-damaged cannot be loaded" in response.text
    assert not ModelVersion.objects.filter(active=True).exists()


def test_the_grants_of_the_permission_migration_are_reversible() -> None:
    # given the managers group as migrated
    migration = importlib.import_module("triage.migrations.0002_group_permissions")
    managers = Group.objects.get(name="managers")

    def held() -> set[str]:
        perms = managers.permissions.filter(content_type__app_label="triage")
        return set(perms.values_list("codename", flat=True))

    assert held() == {"view_modelversion", "change_modelversion", "view_correction", "view_triagerun"}
    # when the migration is reversed, then its grants go; applied again, they come back
    migration.revoke(django_apps, None)
    assert held() == set()
    migration.grant(django_apps, None)
    assert held() == set(migration.GRANTS["managers"])
