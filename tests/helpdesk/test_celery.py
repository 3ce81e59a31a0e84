"""A task crosses real Redis to a real worker process and comes back."""

import pytest
from celery import Celery

from tests.factories import open_ticket

pytestmark = pytest.mark.integration


def test_round_trip_through_redis_to_a_real_worker(celery_worker_process):
    # Given two tickets committed to the database the worker shares
    open_ticket()
    open_ticket()
    # Not the current app: shared tasks queued later in this process must keep using the project's app.
    client = Celery(broker=celery_worker_process, backend=celery_worker_process, set_as_current=False)
    # When the health task is sent through the broker
    try:
        result = client.send_task("helpdesk.health_check").get(timeout=60)
    finally:
        client.close()
    # Then a worker ran it against the same database
    assert result["tickets"] == 2
    assert result["worker"]


def test_without_broker_tasks_run_in_process(settings, db):
    from helpdesk.tasks import health_check

    assert settings.CELERY_TASK_ALWAYS_EAGER is True
    assert health_check.delay().get()["tickets"] == 0
