"""Build the offline spaCy pipelines once at install time: `python -m triage.pipelines DIR`.

Each language gets a blank tokenizer plus a lookup lemmatizer initialised from spacy-lookups-data;
`to_disk` makes the result self-contained, so run time needs neither the lookups package nor a download.
"""

from __future__ import annotations

import sys
from pathlib import Path

import spacy

LANGUAGES = ("de", "en", "fr", "it")


def build(directory: Path) -> list[Path]:
    """Write one pipeline per language under directory and return their paths."""
    written = []
    for lang in LANGUAGES:
        nlp = spacy.blank(lang)
        nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        nlp.initialize()
        target = directory / lang
        target.mkdir(parents=True, exist_ok=True)
        nlp.to_disk(target)
        written.append(target)
    return written


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "var/spacy")
    for path in build(out):
        print(f"spaCy pipeline written: {path}")
