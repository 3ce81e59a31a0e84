"""`manage.py triage predict FILE.jsonl`, `triage evaluate FILE.jsonl` and `triage train`."""

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
from triage.services import TrainingError, model_train

BATCH = 256


class Command(BaseCommand):
    help = "Triage labelled or unlabelled mails in the label schema's JSON Lines shape, or retrain."
    # predict and evaluate work on files only; train needs the database but not the URL configuration.
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
        train = subcommands.add_parser(
            "train",
            help="retrain on the seed data and agents' corrections; activate the new model unless it does "
            "worse than the active one on the held-back mails",
        )
        train.add_argument("--no-activate", action="store_true", help="store the new version only")
        train.add_argument(
            "--force",
            action="store_true",
            help="train without corrections, activate even if worse, replace an active version that "
            "cannot be loaded",
        )
        # Further subcommands register here and get a handle_<name> method below.

    def handle(self, *args: Any, **options: Any) -> None:
        handler = getattr(self, f"handle_{options['subcommand']}")
        try:
            handler(**options)
        except (DatasetError, IncompatibleModelError, PipelineMissingError, TrainingError, OSError) as error:
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

    def handle_train(self, *, no_activate: bool, force: bool, **_: Any) -> None:
        outcome = model_train(activate=not no_activate, force=force)
        comparison = outcome.comparison
        self.stdout.write(
            f"trained on {comparison.seed_examples} seed mails and {comparison.correction_examples} "
            f"corrected tickets; measured on {comparison.held_back} held-back mails"
        )
        self.stdout.write(f"{'':<28} {'candidate':>10} {'compared':>10}")
        for name in comparison.scores:
            self.stdout.write(
                f"{name:<28} {comparison.scores[name]:>10.3f} {comparison.compared_scores[name]:>10.3f}"
            )
        self.stdout.write(f"compared with: {comparison.compared_with}")
        self.stdout.write(f"stored {outcome.version.version}: {outcome.version.notes}")
        status = "activated" if outcome.activated else "not activated"
        self.stdout.write(self.style.SUCCESS(status) if outcome.activated else self.style.WARNING(status))


def _model(path: Path | None) -> ServiceModel:
    return ServiceModel.from_bytes(path.read_bytes()) if path else default_model()
