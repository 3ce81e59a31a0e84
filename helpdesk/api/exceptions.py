"""Turn the errors a bad request can still provoke into 4xx answers with field messages."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Answer Django's own validation errors (e.g. a malformed lookup value) with 400, like DRF's."""
    if isinstance(exc, DjangoValidationError):
        exc = ValidationError(detail=as_serializer_error(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(response.data, list):
        # Every 400 names what it is about; a bare list of messages is about the request as a whole.
        response.data = {api_settings.NON_FIELD_ERRORS_KEY: response.data}
    response.data = _printable(response.data)
    return response


def _printable(data: Any) -> Any:
    """Replace lone surrogates that messages quote from the input: they cannot be encoded as UTF-8."""
    if isinstance(data, str):
        clean = data.encode("utf-8", "replace").decode("utf-8")
        return ErrorDetail(clean, data.code) if isinstance(data, ErrorDetail) else clean
    if isinstance(data, list):
        return [_printable(item) for item in data]
    if isinstance(data, dict):
        return {_printable(key): _printable(value) for key, value in data.items()}
    return data
