"""The follow-up actions, exactly as the label schema derives them."""

from __future__ import annotations

import pytest

from triage.actions import derive_actions


def _actions(**overrides: object) -> tuple[str, ...]:
    flags: dict[str, object] = {
        "problem_report": False,
        "services": [],
        "has_error_message": False,
        "has_problem_description": True,
        "callback_requested": False,
        "callback_number": None,
    }
    flags.update(overrides)
    return derive_actions(**flags)  # type: ignore[arg-type]


def test_a_technical_problem_without_error_message_asks_for_it() -> None:
    # given a reported website problem with no pasted error
    # when the actions are derived
    actions = _actions(problem_report=True, services=["website"])
    # then the error message is requested
    assert actions == ("request_error_message",)


def test_a_pasted_error_message_is_not_asked_for_again() -> None:
    actions = _actions(problem_report=True, services=["email"], has_error_message=True)
    assert actions == ()


def test_a_billing_problem_needs_no_error_message() -> None:
    # given a problem that concerns only the accounts office
    actions = _actions(problem_report=True, services=["billing"])
    # then no technical error message is requested
    assert actions == ()


def test_a_billing_and_technical_problem_asks_for_the_error_message() -> None:
    actions = _actions(problem_report=True, services=["billing", "controlpanel"])
    assert actions == ("request_error_message",)


def test_a_question_is_not_a_problem_report() -> None:
    actions = _actions(problem_report=False, services=["email"])
    assert actions == ()


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (None, ("request_problem_description", "request_callback_number")),
        ("+41791234567", ("request_problem_description",)),
    ],
)
def test_a_bare_callback_request_asks_for_what_is_missing(
    number: str | None, expected: tuple[str, ...]
) -> None:
    # given 'please call me' with nothing else, with or without a number
    actions = _actions(has_problem_description=False, callback_requested=True, callback_number=number)
    # then the description, and the number if absent, are requested in a fixed order
    assert actions == expected


def test_a_number_without_a_callback_request_asks_for_nothing() -> None:
    assert _actions(callback_requested=False, callback_number=None) == ()


def test_all_three_requests_come_in_schema_order() -> None:
    actions = _actions(
        problem_report=True, services=["ftp"], has_problem_description=False, callback_requested=True
    )
    assert actions == ("request_error_message", "request_problem_description", "request_callback_number")
