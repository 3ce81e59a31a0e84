"""`manage.py triage predict FILE.jsonl` and `manage.py triage evaluate FILE.jsonl`."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from triage.classifier import IncompatibleModelError, ServiceModel
from triage.core import analyse_batch, default_model
from triage.dataset import DatasetError, Example, load_jsonl
from triage.evaluation import evaluate, example_input, format_report
from triage.nlp import PipelineMissingError

BATCH = 256


class Command(BaseCommand):
    help = "Triage labelled or unlabelled mails in the label schema's JSON Lines shape."
    # Works on files only: neither the database nor the URL configuration is needed.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        subcommands = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
        predict = subcommands.add_parser("predict", help="print one JSON object of labels per input line")
        predict.add_argument("file", type=Path, help="JSON Lines file shaped like triage/dev.jsonl")
        evaluate_ = subcommands.add_parser("evaluate", help="print precision/recall/F1 against the labels")
        evaluate_.add_argument("file", type=Path, help="labelled JSON Lines file")
        for subparser in (predict, evaluate_):
            subparser.add_argument(
                "--model", type=Path, help="a serialised model (default: train on triage/data)"
            )
        # Further subcommands (train, ...) register here and get a handle_<name> method below.

    def handle(self, *args: Any, **options: Any) -> None:
        handler = getattr(self, f"handle_{options['subcommand']}")
        try:
            handler(**options)
        except (DatasetError, IncompatibleModelError, PipelineMissingError, OSError) as error:
            raise CommandError(str(error)) from error

    def handle_predict(self, *, file: Path, model: Path | None, **_: Any) -> None:
        examples = load_jsonl(file, require_labels=False)
        service_model = _model(model)
        for start in range(0, len(examples), BATCH):
            chunk = examples[start : start + BATCH]
            results = analyse_batch([example_input(e) for e in chunk], model=service_model)
            for example, result in zip(chunk, results, strict=True):
                line = {
                    "id": example.id,
                    **result.labels(),
                    "confidence": result.service_probabilities,
                    "error_message": result.error_message,
                }
                self.stdout.write(json.dumps(line, ensure_ascii=False))

    def handle_evaluate(self, *, file: Path, model: Path | None, **_: Any) -> None:
        examples = load_jsonl(file, require_labels=True)
        if not examples:
            raise CommandError(f"{file} holds no mails")
        service_model = _model(model)
        results = []
        for start in range(0, len(examples), BATCH):
            chunk: list[Example] = examples[start : start + BATCH]
            results += analyse_batch([example_input(e) for e in chunk], model=service_model)
        self.stdout.write(f"model {service_model.version}")
        self.stdout.write(format_report(evaluate(examples, results)))


def _model(path: Path | None) -> ServiceModel:
    return ServiceModel.from_bytes(path.read_bytes()) if path else default_model()
