"""Triage a customer's mail: plain data in, a TriageResult out (no database).

Rules find what has a shape (pasted errors, callback requests, phone numbers); the classifier
judges what needs reading (services, whether a problem is reported and described). What the
customer already wrote earlier in the same ticket counts, so nothing is asked for twice.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from spacy.tokens import Doc

from triage import signals
from triage.actions import derive_actions
from triage.classifier import THRESHOLD, ServiceModel, model_text
from triage.concepts import concepts
from triage.dataset import SERVICES, load_training_data
from triage.language import detect_languages
from triage.nlp import pipeline
from triage.text import MailText, split_mail, split_signature

# Below this confidence in any service or flag the ticket goes to an agent for review.
REVIEW_CONFIDENCE = 0.75
FLAG_THRESHOLD = 0.5
MODEL_FILE_ENV = "TRIAGE_MODEL_FILE"
_CLOSING_WORDS = frozenset({"thanks", "resolved"})


@dataclass(frozen=True)
class TriageInput:
    """One customer message and what is known around it."""

    subject: str
    body: str  # as written; may contain quoted history, which must not count
    mailbox: str = "support"  # or "emergency"
    sender: str = ""
    customer_language: str = ""  # fallback for very short texts
    thread: tuple[str, ...] = ()  # visible texts of the customer's earlier messages in the same ticket
    body_is_visible: bool = False  # True when the caller already stripped quotes


@dataclass(frozen=True)
class TriageResult:
    """Everything triage decided about a message, in the label schema's terms plus confidences."""

    language: str
    services: dict[str, float]  # chosen services with probability
    service_probabilities: dict[str, float]  # all eight
    problem_report: bool
    has_error_message: bool
    error_message: str | None
    has_problem_description: bool
    callback_requested: bool
    callback_number: str | None
    actions: tuple[str, ...]
    needs_review: bool
    model_version: str
    sources: dict[str, str] = field(default_factory=dict)  # per label: "rule" or "model"

    def labels(self) -> dict[str, object]:
        """Return exactly the label schema's labels dict."""
        return {
            "language": self.language,
            "services": list(self.services),
            "problem_report": self.problem_report,
            "has_error_message": self.has_error_message,
            "has_problem_description": self.has_problem_description,
            "callback_requested": self.callback_requested,
            "callback_number": self.callback_number,
            "actions": list(self.actions),
        }


@dataclass(frozen=True)
class _Found:
    """What the rules found in one text."""

    error_message: str | None
    callback_requested: bool
    callback_number: str | None
    says_nothing: bool = False  # no word that could describe a problem ('Bitte rufen Sie mich an.')


def analyse(message: TriageInput, *, model: ServiceModel | None = None) -> TriageResult:
    """Triage one message."""
    return analyse_batch([message], model=model)[0]


def analyse_batch(
    messages: Sequence[TriageInput], *, model: ServiceModel | None = None
) -> list[TriageResult]:
    """Triage many messages at once (tokenising, language detection and the model run batched)."""
    if not messages:
        return []
    model = model or default_model()
    parts = [split_mail(m.body, body_is_visible=m.body_is_visible) for m in messages]
    languages = detect_languages(
        [_language_text(m, p) for m, p in zip(messages, parts, strict=True)],
        fallbacks=[m.customer_language for m in messages],
    )
    docs = _tokenise([p.main for p in parts], languages)
    found = [_find(p, d, lang) for p, d, lang in zip(parts, docs, languages, strict=True)]
    texts = [model_text(m.subject, p.main, m.mailbox) for m, p in zip(messages, parts, strict=True)]
    probabilities = model.predict_proba(texts)
    return [
        _result(m, lang, f, probabilities[i], model, _thread_found(m, model))
        for i, (m, lang, f) in enumerate(zip(messages, languages, found, strict=True))
    ]


def _language_text(message: TriageInput, part: MailText) -> str:
    # Pasted system messages are often English inside a German mail: judge the customer's words.
    text = signals.without_technical(part.main)
    return text if len(text.split()) >= 4 else f"{message.subject}\n{text}\n{part.signature}"


def _tokenise(texts: list[str], languages: list[str]) -> list[Doc]:
    docs: list[Doc | None] = [None] * len(texts)
    for lang in sorted(set(languages)):
        indices = [i for i, code in enumerate(languages) if code == lang]
        # The pipelines are loaded without their lemmatizer, so this only tokenises.
        for i, doc in zip(indices, pipeline(lang).pipe([texts[i] for i in indices]), strict=True):
            docs[i] = doc
    return [doc for doc in docs if doc is not None]


def _find(part: MailText, doc: Doc, lang: str) -> _Found:
    error = signals.find_error_message(part.main, doc, lang=lang)
    asked = signals.mentions_calling(part.main) and signals.asks_for_callback(doc, lang=lang)
    numbers: list[signals.Phone] = []
    if asked or part.quoted:
        numbers = signals.phone_numbers(part.main) + signals.phone_numbers(part.signature, in_signature=True)
    asked = asked or signals.replies_to_callback_offer(part.quoted, numbers)
    number = signals.choose_callback_number(numbers, part.main) if asked else None
    # Thanks and 'geht wieder' count as saying something: they need no follow-up question.
    says_nothing = signals.says_nothing(part.main, lang=lang) and not _CLOSING_WORDS.intersection(
        concepts(part.main)
    )
    return _Found(error, callback_requested=asked, callback_number=number, says_nothing=says_nothing)


def _thread_found(message: TriageInput, model: ServiceModel) -> tuple[_Found, bool] | None:
    """Return what the customer's earlier messages already gave (and whether they described the problem)."""
    if not message.thread:
        return None
    errors: list[str] = []
    asked = False
    numbers: list[signals.Phone] = []
    for text in message.thread:
        main, signature = split_signature(text)
        lang = detect_languages([main], fallbacks=[message.customer_language])[0]
        doc = pipeline(lang).make_doc(main)
        error = signals.find_error_message(main, doc, lang=lang)
        errors += [error] if error else []
        asked = asked or (signals.mentions_calling(main) and signals.asks_for_callback(doc, lang=lang))
        numbers += signals.phone_numbers(main) + signals.phone_numbers(signature, in_signature=True)
    texts = [model_text(message.subject, split_signature(t)[0], message.mailbox) for t in message.thread]
    described = bool(
        (model.predict_proba(texts)[:, _flag(model, "has_problem_description")] >= FLAG_THRESHOLD).any()
    )
    latest_error = errors[-1] if errors else None
    number = signals.choose_callback_number(numbers, "")
    return _Found(latest_error, callback_requested=asked, callback_number=number), described or bool(errors)


def _result(
    message: TriageInput,
    language: str,
    found: _Found,
    probabilities: NDArray[np.float64],
    model: ServiceModel,
    earlier: tuple[_Found, bool] | None,
) -> TriageResult:
    all_services = {s: round(float(probabilities[model.labels.index(s)]), 4) for s in SERVICES}
    services = {s: p for s, p in sorted(all_services.items(), key=lambda kv: -kv[1]) if p >= THRESHOLD}
    p_problem = float(probabilities[_flag(model, "problem_report")])
    p_described = float(probabilities[_flag(model, "has_problem_description")])
    has_error = found.error_message is not None
    sources = dict.fromkeys(
        ("language", "has_error_message", "callback_requested", "callback_number"), "rule"
    )
    sources.update(services="model", actions="rule")
    # A pasted error is always a problem report and always says what is wrong.
    problem_report = has_error or p_problem >= FLAG_THRESHOLD
    model_described = p_described >= FLAG_THRESHOLD
    described = has_error or (model_described and not found.says_nothing)
    sources["problem_report"] = "rule" if has_error and p_problem < FLAG_THRESHOLD else "model"
    sources["has_problem_description"] = "model" if described == model_described else "rule"
    error_message, asked, number = found.error_message, found.callback_requested, found.callback_number
    if earlier is not None:
        # Never ask twice: an error, description or number given earlier in the ticket counts.
        before, described_before = earlier
        error_message = error_message or before.error_message
        described = described or described_before
        asked = asked or before.callback_requested
        number = number or (before.callback_number if asked else None)
    confidence = min(max(p, 1 - p) for p in [*all_services.values(), p_problem, p_described])
    return TriageResult(
        language=language,
        services=services,
        service_probabilities=all_services,
        problem_report=problem_report,
        has_error_message=error_message is not None,
        error_message=error_message,
        has_problem_description=described,
        callback_requested=asked,
        callback_number=number,
        actions=derive_actions(
            problem_report=problem_report,
            services=services,
            has_error_message=error_message is not None,
            has_problem_description=described,
            callback_requested=asked,
            callback_number=number,
        ),
        needs_review=confidence < REVIEW_CONFIDENCE,
        model_version=model.version,
        sources=sources,
    )


def _flag(model: ServiceModel, name: str) -> int:
    return model.labels.index(name)


def warm_up() -> None:
    """Load the spaCy pipelines, matchers and language models now instead of on the first mail."""
    from triage.language import detector
    from triage.pipelines import LANGUAGES

    detector()
    for lang in LANGUAGES:
        signals.matchers(lang)


_model: ServiceModel | None = None
_model_lock = threading.Lock()


def default_model() -> ServiceModel:
    """Return the process-wide model: loaded from $TRIAGE_MODEL_FILE if set, else trained on triage/data."""
    global _model
    with _model_lock:
        if _model is None:
            path = os.environ.get(MODEL_FILE_ENV)
            if path:
                _model = ServiceModel.from_bytes(Path(path).read_bytes())
            else:
                _model = ServiceModel.train(load_training_data())
        return _model
