"""The OpenAPI schema: every operation also documents the error answers it can give."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """An error that is not about one field: not found, not allowed, too many requests."""

    detail = serializers.CharField()

    class Meta:
        fields = ["detail"]


ERROR_CODES = {
    "401": "Not authenticated.",
    "403": "Authenticated, but not allowed.",
    "404": "No such object among those you may see (or an invalid page cursor).",
    "429": "Too many requests: wait and retry.",
}
BODY_METHODS = ("POST", "PUT", "PATCH")


class DeskAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for code, description in ERROR_CODES.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                responses[code]["description"] = description
        if "400" not in responses:
            # Field errors map each field (or non_field_errors) to its messages.
            body = build_basic_type(OpenApiTypes.OBJECT)
            responses["400"] = self._get_response_for_code(body, "400", direction=direction)
            responses["400"]["description"] = "Invalid input: the messages name the fields."
        if self.method in BODY_METHODS and "415" not in responses:
            responses["415"] = self._get_response_for_code(ErrorSerializer, "415", direction=direction)
            responses["415"]["description"] = "The body must be JSON."
        return responses
