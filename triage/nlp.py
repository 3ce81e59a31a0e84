"""Load the offline spaCy pipelines that `make` builds (python -m triage.pipelines var/spacy).

They are loaded from disk once per process. Nothing is built or downloaded at run time: a missing
pipeline is an installation error and says how to fix it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import spacy
from spacy.language import Language

from triage.pipelines import LANGUAGES

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "var" / "spacy"
ENV_VAR = "TRIAGE_SPACY_DIR"
_lock = threading.Lock()
_loaded: dict[tuple[str, Path], Language] = {}


class PipelineMissingError(RuntimeError):
    """A spaCy pipeline is not on disk: the installation step was skipped."""


def pipeline_dir() -> Path:
    """Return where the pipelines live: settings.TRIAGE_SPACY_DIR, $TRIAGE_SPACY_DIR, or var/spacy."""
    configured = _setting()
    if configured:
        return Path(configured)
    return Path(os.environ.get(ENV_VAR) or DEFAULT_DIR)


def _setting() -> str | None:
    try:
        from django.conf import settings
    except ImportError:  # pragma: no cover - the core also runs without Django installed
        return None
    if not settings.configured:
        return None
    value = getattr(settings, "TRIAGE_SPACY_DIR", None)
    return str(value) if value else None


def pipeline(lang: str) -> Language:
    """Return the loaded pipeline for a language (de, en, fr, it)."""
    if lang not in LANGUAGES:
        raise ValueError(f"no spaCy pipeline for language {lang!r}; expected one of {', '.join(LANGUAGES)}")
    return _load(lang, pipeline_dir())


def _load(lang: str, directory: Path) -> Language:
    # One lock around the cache: two threads must not both spend a second loading the same pipeline.
    with _lock:
        key = (lang, directory)
        if key not in _loaded:
            _loaded[key] = _read(lang, directory)
        return _loaded[key]


def _read(lang: str, directory: Path) -> Language:
    path = directory / lang
    if not (path / "config.cfg").is_file():
        raise PipelineMissingError(
            f"spaCy pipeline for {lang!r} not found in {directory}. Build the pipelines with `make install` "
            f"(it runs `python -m triage.pipelines {directory}`); "
            "they are never built or downloaded at run time."
        )
    # The rules match token texts, never lemmas: leaving the lemmatizer out halves load time and memory.
    return spacy.load(path, exclude=["lemmatizer"])
