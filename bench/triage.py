"""How fast triage is: training, a retraining cycle, model loading (time and memory), one mail and batched.

The workload is the project's own labelled mails (triage/data), repeated to 2,000 mails.
"""

from __future__ import annotations

import itertools
import time

from bench.util import peak_rss_mb, summary, timed
from triage.classifier import ServiceModel
from triage.core import analyse, analyse_batch, warm_up
from triage.dataset import Example, load_training_data
from triage.evaluation import example_input
from triage.training import held_back_metrics, split_seed


def run(count: int = 2000, single: int = 500) -> None:
    examples = load_training_data()
    rss_before = peak_rss_mb()
    start = time.perf_counter()
    model = ServiceModel.train(examples)
    print(f"training on {len(examples)} mails: {time.perf_counter() - start:.2f} s")

    data = model.to_bytes()
    start = time.perf_counter()
    model = ServiceModel.from_bytes(data)
    loaded = time.perf_counter() - start
    start = time.perf_counter()
    warm_up()
    warmed = time.perf_counter() - start
    print(
        f"model load: {loaded * 1000:.0f} ms for {len(data) / 1e6:.1f} MB; spaCy pipelines, matchers and "
        f"language models: {warmed:.2f} s; peak RSS +{peak_rss_mb() - rss_before:.0f} MB "
        f"(process {peak_rss_mb():.0f} MB)"
    )

    retrain(examples, active=model)

    mails = [example_input(e) for e in itertools.islice(itertools.cycle(examples), count)]
    # The first pass also fills spaCy's string store with every new word; later passes show the steady state.
    for run in ("first pass", "steady state"):
        start = time.perf_counter()
        analyse_batch(mails, model=model)
        elapsed = time.perf_counter() - start
        print(f"analyse_batch, {run}: {count / elapsed:.0f} mails/s ({count} mails in one batch)")

    singles = iter(itertools.cycle(mails))
    times = timed(lambda: analyse(next(singles), model=model), single)
    print(f"analyse, one mail at a time: {summary(times)}")


def retrain(examples: list[Example], *, active: ServiceModel) -> None:
    """Time what `triage train` does besides the database: train a candidate, score it and the active one."""
    seed_train, held_back = split_seed(examples)
    start = time.perf_counter()
    candidate = ServiceModel.train(seed_train)
    trained = time.perf_counter() - start
    start = time.perf_counter()
    scores = held_back_metrics(candidate, held_back)
    held_back_metrics(active, held_back)
    scored = time.perf_counter() - start
    print(
        f"retraining: candidate on {len(seed_train)} mails {trained:.2f} s, held-back scoring of candidate "
        f"and active on {len(held_back)} mails {scored:.2f} s (candidate: services micro-F1 "
        f"{scores['services_micro_f1']:.3f}, actions exact {scores['actions_exact']:.3f})"
    )
