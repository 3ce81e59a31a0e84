"""Cursor pagination, newest first; a forged cursor is refused instead of reaching the database."""

from __future__ import annotations

from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request


class NewestFirstPagination(CursorPagination):
    """Pages ordered by a datetime field, newest first (subclasses name the field)."""

    ordering = "-created_at"
    page_size_query_param = "page_size"
    max_page_size = 200

    def decode_cursor(self, request: Request) -> Cursor | None:
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None and not _is_datetime(str(cursor.position)):
            raise NotFound(self.invalid_cursor_message)
        return cursor


def _is_datetime(text: str) -> bool:
    try:
        return parse_datetime(text) is not None
    except ValueError:
        return False


class RecentlyUpdatedPagination(NewestFirstPagination):
    """Tickets: the most recently changed first (what integrations poll for)."""

    ordering = "-updated_at"
