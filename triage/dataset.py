"""Read labelled mails in the JSON Lines shape of the label schema (triage/data/*.jsonl, dev sets)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
SERVICES = ("email", "website", "ftp", "database", "domain", "backup", "controlpanel", "billing")
ACTIONS = ("request_error_message", "request_problem_description", "request_callback_number")
LANGUAGES = ("de", "en", "fr", "it")
FLAGS = ("problem_report", "has_error_message", "has_problem_description", "callback_requested")
LABEL_KEYS = ("language", "services", *FLAGS, "callback_number", "actions")


class DatasetError(ValueError):
    """A line is not a mail in the schema's shape; the message names the file and line."""


@dataclass(frozen=True)
class Example:
    """One mail of a data set, with its labels when it has them."""

    id: str
    subject: str
    body: str
    mailbox: str = "support"
    sender: str = ""
    labels: dict[str, Any] = field(default_factory=dict)


def load_jsonl(path: Path, *, require_labels: bool = True) -> list[Example]:
    """Read one JSON Lines file; raise DatasetError naming the line of the first bad record."""
    examples = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                examples.append(parse_record(json.loads(line), require_labels=require_labels))
            except (json.JSONDecodeError, DatasetError) as error:
                raise DatasetError(f"{path}:{number}: {error}") from error
    return examples


def load_training_data(directory: Path = DATA_DIR) -> list[Example]:
    """Read every *.jsonl file of a directory, in name order, with unique ids."""
    examples: list[Example] = []
    for path in sorted(directory.glob("*.jsonl")):
        examples.extend(_load_growing(path))
    _check_unique(examples)
    if not examples:
        raise DatasetError(f"no labelled mails in {directory}/*.jsonl")
    return examples


def _load_growing(path: Path) -> list[Example]:
    """Read a training file; a last line without newline may still be being written and is skipped."""
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    unfinished = lines.pop() if lines and lines[-1].strip() else ""
    examples = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                examples.append(parse_record(json.loads(line), require_labels=True))
            except (json.JSONDecodeError, DatasetError) as error:
                raise DatasetError(f"{path}:{number}: {error}") from error
    if unfinished:
        try:
            examples.append(parse_record(json.loads(unfinished), require_labels=True))
        except (json.JSONDecodeError, DatasetError):
            logger.warning("%s: skipped an unfinished last line", path)
    return examples


def parse_record(record: Any, *, require_labels: bool = True) -> Example:
    """Turn one decoded JSON object into an Example, checking the schema's keys and types."""
    if not isinstance(record, dict):
        raise DatasetError("a line must hold a JSON object")
    for key in ("id", "subject", "body"):
        if not isinstance(record.get(key), str):
            raise DatasetError(f"{key!r} must be a string")
    mailbox = record.get("mailbox", "support")
    if mailbox not in ("support", "emergency"):
        raise DatasetError(f"mailbox must be 'support' or 'emergency', not {mailbox!r}")
    labels = record.get("labels")
    if labels is None and require_labels:
        raise DatasetError(f"{record['id']}: 'labels' is missing")
    if labels is not None:
        _check_labels(labels)
    return Example(
        id=record["id"],
        subject=record["subject"],
        body=record["body"],
        mailbox=mailbox,
        sender=str(record.get("from") or ""),
        labels=dict(labels or {}),
    )


def _check_labels(labels: Any) -> None:
    if not isinstance(labels, dict):
        raise DatasetError("'labels' must be an object")
    missing = [key for key in LABEL_KEYS if key not in labels]
    if missing:
        raise DatasetError(f"labels lack {', '.join(missing)}")
    if labels["language"] not in LANGUAGES:
        raise DatasetError(f"unknown language {labels['language']!r}")
    unknown = set(labels["services"]) - set(SERVICES) if isinstance(labels["services"], list) else {"?"}
    if unknown:
        raise DatasetError(f"services must be a list of {', '.join(SERVICES)}; got {labels['services']!r}")
    for flag in FLAGS:
        if not isinstance(labels[flag], bool):
            raise DatasetError(f"{flag} must be true or false")
    if labels["callback_number"] is not None and not isinstance(labels["callback_number"], str):
        raise DatasetError("callback_number must be a string or null")
    if not isinstance(labels["actions"], list) or set(labels["actions"]) - set(ACTIONS):
        raise DatasetError(f"actions must be a list of {', '.join(ACTIONS)}")


def _check_unique(examples: Iterable[Example]) -> None:
    seen: set[str] = set()
    for example in examples:
        if example.id in seen:
            raise DatasetError(f"duplicate id {example.id!r} in the training data")
        seen.add(example.id)


def dataset_sha256(examples: Sequence[Example]) -> str:
    """Return a hash of the examples' content, independent of file layout and order."""
    digest = hashlib.sha256()
    for example in sorted(examples, key=lambda e: e.id):
        record = [example.id, example.mailbox, example.subject, example.body, example.labels]
        digest.update(json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()
