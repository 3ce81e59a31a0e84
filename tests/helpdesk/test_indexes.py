"""The search indexes exist on PostgreSQL only and never get in SQLite's way (`make run`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import models
from django.db.utils import ConnectionHandler

from helpdesk.indexes import UpperTrigramIndex
from helpdesk.models import Message


@pytest.fixture
def sqlite(django_db_blocker: Any) -> Iterator[Any]:
    """A throw-away in-memory SQLite database, whatever database the tests run on."""
    handler = ConnectionHandler({"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}})
    connection = handler["default"]
    with django_db_blocker.unblock():
        yield connection
        connection.close()


def test_sqlite_creates_and_rebuilds_a_table_with_a_search_index(sqlite):
    # Given the messages table created on SQLite from the model, which declares a trigram index
    with sqlite.schema_editor() as editor:
        editor.create_model(Message)
    # When a later migration alters a field, which makes SQLite rebuild the table with its indexes
    old = Message._meta.get_field("subject")
    new = models.CharField(max_length=1000, blank=True)
    new.set_attributes_from_name("subject")
    new.model = Message
    with sqlite.schema_editor() as editor:
        editor.alter_field(Message, old, new)
        # ... or adds and removes the index itself
        index = UpperTrigramIndex(field="text", name="message_text_trgm2")
        editor.add_index(Message, index)
        editor.remove_index(Message, index)
    # Then all went through, and SQLite holds no trigram index
    with sqlite.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE '%trgm%'")
        assert cursor.fetchall() == []


def test_the_index_survives_its_migration_round_trip():
    index = UpperTrigramIndex(field="text", name="message_text_trgm")
    path, args, kwargs = index.deconstruct()
    assert (path, args, kwargs) == (
        "helpdesk.indexes.UpperTrigramIndex",
        (),
        {"field": "text", "name": "message_text_trgm"},
    )
    assert index.clone().deconstruct() == (path, args, kwargs)
