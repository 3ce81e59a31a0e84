"""Decide what the system must ask the customer for, exactly as the label schema derives it."""

from __future__ import annotations

from collections.abc import Collection

from triage.dataset import SERVICES

REQUEST_ERROR_MESSAGE = "request_error_message"
REQUEST_PROBLEM_DESCRIPTION = "request_problem_description"
REQUEST_CALLBACK_NUMBER = "request_callback_number"
# The accounts office cannot answer technical questions, so only these make an error message useful.
TECHNICAL_SERVICES = frozenset(SERVICES) - {"billing"}


def derive_actions(
    *,
    problem_report: bool,
    services: Collection[str],
    has_error_message: bool,
    has_problem_description: bool,
    callback_requested: bool,
    callback_number: str | None,
) -> tuple[str, ...]:
    """Return the follow-ups to send, in a fixed order; empty when nothing is missing."""
    actions = []
    if problem_report and TECHNICAL_SERVICES.intersection(services) and not has_error_message:
        actions.append(REQUEST_ERROR_MESSAGE)
    if not has_problem_description:
        actions.append(REQUEST_PROBLEM_DESCRIPTION)
    if callback_requested and callback_number is None:
        actions.append(REQUEST_CALLBACK_NUMBER)
    return tuple(actions)
