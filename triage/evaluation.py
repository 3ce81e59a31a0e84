"""Compare triage results with labelled mails: per-label precision/recall/F1 and exact matches."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from triage.core import TriageInput, TriageResult
from triage.dataset import ACTIONS, SERVICES, Example

BINARY_FLAGS = ("problem_report", "has_error_message", "has_problem_description", "callback_requested")


@dataclass(frozen=True)
class Score:
    """Precision, recall and F1 of one yes/no label."""

    label: str
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def support(self) -> int:
        return self.tp + self.fn


@dataclass(frozen=True)
class Evaluation:
    """All figures of one evaluation run."""

    count: int
    scores: tuple[Score, ...]
    services_micro: Score
    language_accuracy: float
    callback_number_exact: float
    callback_number_exact_where_expected: float
    actions_exact: float

    def score(self, label: str) -> Score:
        """Return the score of one label ('email', 'has_error_message', 'request_callback_number'...)."""
        return next(s for s in self.scores if s.label == label)


def example_input(example: Example) -> TriageInput:
    """Return the triage input for a labelled mail."""
    return TriageInput(
        subject=example.subject, body=example.body, mailbox=example.mailbox, sender=example.sender
    )


def evaluate(examples: Sequence[Example], results: Sequence[TriageResult]) -> Evaluation:
    """Score results against the examples' labels (same order)."""
    pairs = list(zip(examples, results, strict=True))
    gold: list[dict[str, Any]] = [e.labels for e in examples]
    predicted: list[dict[str, Any]] = [r.labels() for r in results]
    scores = [
        _score(s, [s in g["services"] for g in gold], [s in p["services"] for p in predicted])
        for s in SERVICES
    ]
    scores += [_score(f, [bool(g[f]) for g in gold], [bool(p[f]) for p in predicted]) for f in BINARY_FLAGS]
    scores += [
        _score(a, [a in g["actions"] for g in gold], [a in p["actions"] for p in predicted]) for a in ACTIONS
    ]
    micro = Score(
        "services (micro)",
        tp=sum(s.tp for s in scores[: len(SERVICES)]),
        fp=sum(s.fp for s in scores[: len(SERVICES)]),
        fn=sum(s.fn for s in scores[: len(SERVICES)]),
    )
    expected = [(e, r) for e, r in pairs if e.labels["callback_number"]]
    return Evaluation(
        count=len(pairs),
        scores=tuple(scores),
        services_micro=micro,
        language_accuracy=_share(e.labels["language"] == r.language for e, r in pairs),
        callback_number_exact=_share(e.labels["callback_number"] == r.callback_number for e, r in pairs),
        callback_number_exact_where_expected=_share(
            e.labels["callback_number"] == r.callback_number for e, r in expected
        ),
        actions_exact=_share(set(e.labels["actions"]) == set(r.actions) for e, r in pairs),
    )


def format_report(evaluation: Evaluation) -> str:
    """Return the evaluation as a plain-text table."""
    lines = [
        f"{evaluation.count} mails",
        "",
        f"{'label':<30} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8}",
    ]
    for score in (
        *evaluation.scores[: len(SERVICES)],
        evaluation.services_micro,
        *evaluation.scores[len(SERVICES) :],
    ):
        figures = f"{score.precision:>9.3f} {score.recall:>7.3f} {score.f1:>6.3f} {score.support:>8}"
        lines.append(f"{score.label:<30} {figures}")
    lines += [
        "",
        f"language accuracy                      {evaluation.language_accuracy:.3f}",
        f"callback_number exact (all mails)      {evaluation.callback_number_exact:.3f}",
        f"callback_number exact (number labelled) {evaluation.callback_number_exact_where_expected:.3f}",
        f"actions exact match                    {evaluation.actions_exact:.3f}",
    ]
    return "\n".join(lines)


def _score(label: str, truth: Sequence[bool], guess: Sequence[bool]) -> Score:
    tp = sum(t and g for t, g in zip(truth, guess, strict=True))
    fp = sum(g and not t for t, g in zip(truth, guess, strict=True))
    fn = sum(t and not g for t, g in zip(truth, guess, strict=True))
    return Score(label, tp=tp, fp=fp, fn=fn)


def _share(hits: Iterable[bool]) -> float:
    values = list(hits)
    return sum(values) / len(values) if values else 1.0
