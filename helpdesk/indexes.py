"""Search indexes that exist on PostgreSQL only (SQLite, used by `make run`, searches by scanning)."""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.backends.ddl_references import Statement
from django.db.models import Model
from django.db.models.functions import Upper


class UpperTrigramIndex(GinIndex):
    """A trigram index on UPPER(field): what `field__icontains` compiles to on PostgreSQL.

    Needs the pg_trgm extension. On other databases it creates nothing: SQLite has no trigram indexes, and
    rebuilds a table with all its declared indexes whenever a later migration alters one of its fields.
    """

    def __init__(self, *, field: str, name: str) -> None:
        super().__init__(OpClass(Upper(field), name="gin_trgm_ops"), name=name)
        self.field = field

    def deconstruct(self) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        path, _, _ = super().deconstruct()
        return path, (), {"field": self.field, "name": self.name}

    def create_sql(
        self, model: type[Model], schema_editor: BaseDatabaseSchemaEditor, using: str = "", **kwargs: Any
    ) -> Statement:
        if schema_editor.connection.vendor != "postgresql":
            return _nothing(self.name)
        return super().create_sql(model, schema_editor, using=using, **kwargs)

    def remove_sql(self, model: type[Model], schema_editor: BaseDatabaseSchemaEditor, **kwargs: Any) -> str:
        if schema_editor.connection.vendor != "postgresql":
            return str(_nothing(self.name))
        return super().remove_sql(model, schema_editor, **kwargs)


def _nothing(name: str) -> Statement:
    # The schema editor executes whatever create_sql returns, so the absent index is an SQL comment.
    return Statement("-- %(name)s: PostgreSQL only", name=name)
