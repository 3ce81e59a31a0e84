"""The learned part of triage: which services a mail concerns, whether it reports a problem, and
whether it says what the problem is.

TF-IDF word 1-2-grams + char_wb 2-5-grams + domain concepts, one-vs-rest linear SVMs with sigmoid
calibration (scikit-learn). A model serialises to bytes with its metadata, so versions can be
stored and compared; a model pickled by another scikit-learn version is refused.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import pickle
import struct
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import sklearn
from numpy.typing import NDArray
from scipy import sparse
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from triage.concepts import concepts
from triage.dataset import SERVICES, Example, dataset_sha256
from triage.text import split_mail

FLAG_HEADS = ("problem_report", "has_problem_description")
LABELS = (*SERVICES, *FLAG_HEADS)
# Chosen by 5-fold cross-validation on the training mails (services micro-F1 is flat from 0.3 to 0.5).
THRESHOLD = 0.4
_MAGIC = b"TRIAGE-MODEL\x01"


class IncompatibleModelError(ValueError):
    """Serialised model bytes that this installation cannot use."""


@dataclass(frozen=True)
class ModelMetadata:
    """What is known about a trained model; stored next to it."""

    version: str
    sklearn_version: str
    training_sha256: str
    training_size: int
    labels: tuple[str, ...]
    created: str
    threshold: float = THRESHOLD
    metrics: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the metadata as JSON-ready data."""
        return {**asdict(self), "labels": list(self.labels)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelMetadata:
        """Build metadata from the dict to_dict wrote."""
        return cls(**{**data, "labels": tuple(data["labels"])})


def model_text(subject: str, text: str, mailbox: str = "support") -> str:
    """Return what the model reads: subject and new text, with the mailbox as a token."""
    marker = "\n__emergency__" if mailbox == "emergency" else ""
    return f"{subject}\n{text}{marker}"


def example_text(example: Example) -> str:
    """Return the model text of a labelled mail (quotes and signature removed, as at run time)."""
    return model_text(example.subject, split_mail(example.body).main, example.mailbox)


def label_matrix(examples: Sequence[Example]) -> NDArray[np.int_]:
    """Return the 0/1 matrix of LABELS for the examples."""
    rows = [
        [int(s in example.labels["services"]) for s in SERVICES]
        + [int(example.labels[f]) for f in FLAG_HEADS]
        for example in examples
    ]
    return np.array(rows, dtype=int)


def build_pipeline() -> Pipeline:
    """Return an untrained pipeline."""
    features = FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
            ("concepts", TfidfVectorizer(analyzer=concepts, sublinear_tf=True)),
        ],
        # Concepts are few and dense; at full weight they drown the n-grams (cross-validated).
        transformer_weights={"words": 1.0, "chars": 1.0, "concepts": 0.5},
    )
    calibrated = CalibratedClassifierCV(LinearSVC(C=1.0), method="sigmoid", cv=5, ensemble=False)
    return Pipeline([("features", features), ("classifier", OneVsRestClassifier(calibrated))])


class ServiceModel:
    """A trained classifier with its metadata; predict_proba gives one column per LABELS entry."""

    def __init__(self, pipeline: Pipeline, metadata: ModelMetadata) -> None:
        self.pipeline = pipeline
        self.metadata = metadata
        self._linear = _LinearForm.of(pipeline)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.metadata.labels

    @property
    def version(self) -> str:
        return self.metadata.version

    @classmethod
    def train(cls, examples: Sequence[Example], *, metrics: dict[str, float] | None = None) -> ServiceModel:
        """Fit a model on labelled mails."""
        y = label_matrix(examples)
        pipeline = build_pipeline().fit([example_text(e) for e in examples], y)
        sha = dataset_sha256(examples)
        created = dt.datetime.now(dt.UTC)
        metadata = ModelMetadata(
            version=f"{created:%Y%m%d%H%M%S}-{sha[:8]}",
            sklearn_version=sklearn.__version__,
            training_sha256=sha,
            training_size=len(examples),
            labels=LABELS,
            created=created.isoformat(timespec="seconds"),
            metrics=dict(metrics or {}),
        )
        return cls(pipeline, metadata)

    def predict_proba(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """Return calibrated probabilities, one row per text and one column per label."""
        return self._linear.predict_proba(self.pipeline.named_steps["features"].transform(list(texts)))

    def to_bytes(self) -> bytes:
        """Serialise the model and its metadata."""
        header = json.dumps(self.metadata.to_dict(), sort_keys=True).encode("utf-8")
        buffer = io.BytesIO()
        pickle.dump(self.pipeline, buffer, protocol=pickle.HIGHEST_PROTOCOL)
        return _MAGIC + struct.pack(">I", len(header)) + header + buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ServiceModel:
        """Load a model that to_bytes wrote; only load bytes this application stored (pickle)."""
        metadata = read_metadata(data)
        if metadata.sklearn_version != sklearn.__version__:
            raise IncompatibleModelError(
                f"model {metadata.version} was trained with scikit-learn {metadata.sklearn_version}, "
                f"this installation has {sklearn.__version__}: retrain it"
            )
        start = len(_MAGIC) + 4 + struct.unpack(">I", data[len(_MAGIC) : len(_MAGIC) + 4])[0]
        try:
            pipeline = pickle.loads(data[start:])  # noqa: S301 (our own stored model, version-checked above)
            return cls(pipeline, metadata)
        except _BROKEN_BYTES as error:
            # Truncated or overwritten bytes: say which model, not only what pickle tripped over.
            raise IncompatibleModelError(f"model {metadata.version} is damaged: {error!r}") from error


# What unpickling or reading the header of truncated or altered bytes raises.
_BROKEN_BYTES = (
    pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError,
    ImportError, struct.error,
)  # fmt: skip


def read_metadata(data: bytes) -> ModelMetadata:
    """Return the metadata of serialised model bytes without unpickling the model."""
    if not data.startswith(_MAGIC) or len(data) < len(_MAGIC) + 4:
        raise IncompatibleModelError("not a serialised triage model")
    size = struct.unpack(">I", data[len(_MAGIC) : len(_MAGIC) + 4])[0]
    header = data[len(_MAGIC) + 4 : len(_MAGIC) + 4 + size]
    try:
        return ModelMetadata.from_dict(json.loads(header.decode("utf-8")))
    except _BROKEN_BYTES as error:
        raise IncompatibleModelError(f"the model's header is damaged: {error!r}") from error


def holdout_metrics(examples: Sequence[Example], *, fraction: float = 0.2, seed: int = 0) -> dict[str, float]:
    """Train on part of the examples and return F1 scores on the held-back rest."""
    train, test = train_test_split(list(examples), test_size=fraction, random_state=seed)
    model = ServiceModel.train(train)
    predicted = model.predict_proba([example_text(e) for e in test]) >= THRESHOLD
    truth = label_matrix(test)
    n = len(SERVICES)
    metrics = {"services_micro_f1": float(f1_score(truth[:, :n], predicted[:, :n], average="micro"))}
    for i, label in enumerate(LABELS):
        metrics[f"{label}_f1"] = float(f1_score(truth[:, i], predicted[:, i], zero_division=0))
    return metrics


@dataclass(frozen=True)
class _LinearForm:
    """The fitted one-vs-rest model as one weight matrix and per-label sigmoid calibrations.

    Equal to the pipeline's predict_proba (tests check it), but one sparse product instead of a
    Python loop over estimators: a single mail takes microseconds instead of milliseconds.
    """

    weights: NDArray[np.float64]  # features x labels
    intercepts: NDArray[np.float64]
    slopes: NDArray[np.float64]
    offsets: NDArray[np.float64]

    @classmethod
    def of(cls, pipeline: Pipeline) -> _LinearForm:
        columns, intercepts, slopes, offsets = [], [], [], []
        n_features = len(pipeline.named_steps["features"].get_feature_names_out())
        for estimator in pipeline.named_steps["classifier"].estimators_:
            coef, intercept, slope, offset = _linear_parts(estimator, n_features)
            columns.append(coef)
            intercepts.append(intercept)
            slopes.append(slope)
            offsets.append(offset)
        weights = np.ascontiguousarray(np.vstack(columns).T)
        return cls(weights, np.array(intercepts), np.array(slopes), np.array(offsets))

    def predict_proba(self, features: sparse.spmatrix) -> NDArray[np.float64]:
        decision = np.asarray(features @ self.weights) + self.intercepts
        return 1.0 / (1.0 + np.exp(self.slopes * decision + self.offsets))


def _linear_parts(estimator: Any, n_features: int) -> tuple[NDArray[np.float64], float, float, float]:
    if not hasattr(estimator, "calibrated_classifiers_"):
        # A label seen with one value only: OneVsRest keeps a constant predictor.
        p = float(np.clip(estimator.predict_proba(np.zeros((1, n_features)))[0, 1], 1e-6, 1 - 1e-6))
        return np.zeros(n_features), 0.0, 0.0, float(np.log((1 - p) / p))
    pair = estimator.calibrated_classifiers_[0]
    base, calibrator = pair.estimator, pair.calibrators[0]
    return base.coef_.ravel(), float(base.intercept_[0]), float(calibrator.a_), float(calibrator.b_)
