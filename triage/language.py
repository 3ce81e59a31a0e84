"""Detect the language of a mail (de, en, fr, it) offline.

lingua's statistics are combined with the share of each language's function words (spaCy's stop
word lists): lingua alone calls 'where do I find phpMyAdmin and which password...' German, the
function words do not. Very short texts ('Merci', 'Error 500') are ambiguous: there the customer's
known language wins, else a greeting or closing ('Grüezi', 'Salut') decides.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from functools import cache

from lingua import ConfidenceValue, Language, LanguageDetector, LanguageDetectorBuilder
from spacy.util import get_lang_class

LANGUAGES = {Language.GERMAN: "de", Language.ENGLISH: "en", Language.FRENCH: "fr", Language.ITALIAN: "it"}
DEFAULT_LANGUAGE = "de"
# Below this many words, or this margin between the two best languages, a known language is safer.
MIN_WORDS = 4
MIN_MARGIN = 0.2
# Function words outweigh lingua's n-grams, which IT jargon ('phpMyAdmin', 'Passwort') misleads.
FUNCTION_WORD_WEIGHT = 2.0
# Up to this many words, a greeting or closing is better evidence than n-gram statistics.
SHORT_WORDS = 8
_WORD = re.compile(r"[^\W\d_]{2,}")
_lock = threading.Lock()
_detector: LanguageDetector | None = None

_MARKERS = {
    "de": "hallo grüezi guten tag gruss grüsse freundliche bitte danke vielen geht nicht rechnung",
    "en": "hello hi dear thanks thank please regards cheers invoice help call",
    "fr": "bonjour salut madame monsieur cordialement salutations facture aide svp rappelez",
    "it": "buongiorno buonasera ciao salve grazie saluti cordiali fattura aiuto chiamatemi sito posta",
}
_MARKER_LANGUAGE = {word: lang for lang, words in _MARKERS.items() for word in words.split()}


def detector() -> LanguageDetector:
    """Return the process-wide detector (its models load on first use, about half a second)."""
    global _detector
    with _lock:
        if _detector is None:
            # Low-accuracy mode (trigrams only) needs 20 MB instead of 170 MB; the function-word
            # shares below make up for it on short texts.
            builder = LanguageDetectorBuilder.from_languages(*LANGUAGES).with_preloaded_language_models()
            _detector = builder.with_low_accuracy_mode().build()
        return _detector


def detect_language(text: str, *, fallback: str = "") -> str:
    """Return the language code of text, or the fallback when the text is too short to tell."""
    return detect_languages([text], fallbacks=[fallback])[0]


def detect_languages(texts: Sequence[str], *, fallbacks: Sequence[str]) -> list[str]:
    """Return the language code of each text; lingua runs them in parallel."""
    known = [_known(f) for f in fallbacks]
    results = [(known[i] or _vote(t)) if _too_short(t) else "" for i, t in enumerate(texts)]
    todo = [i for i, r in enumerate(results) if not r]
    if todo:
        values = detector().compute_language_confidence_values_in_parallel([texts[i] for i in todo])
        for i, confidences in zip(todo, values, strict=True):
            results[i] = _choose(texts[i], confidences, known[i])
    return results


def _choose(text: str, confidences: Sequence[ConfidenceValue], fallback: str) -> str:
    if len(_WORD.findall(text)) < SHORT_WORDS and (voted := _vote(text)):
        return fallback or voted
    scores = {code: 0.0 for code in LANGUAGES.values()}
    for confidence in confidences:
        scores[LANGUAGES[confidence.language]] += confidence.value
    for code, share in _function_word_shares(text).items():
        scores[code] += FUNCTION_WORD_WEIGHT * share
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    if ranked[0][1] == 0:
        return fallback or _vote(text) or DEFAULT_LANGUAGE
    if fallback and ranked[0][1] - ranked[1][1] < MIN_MARGIN:
        return fallback
    return ranked[0][0]


def _function_word_shares(text: str) -> dict[str, float]:
    """Return, per language, its share of the text's stop-word hits (summing to 1)."""
    words = [w.lower() for w in _WORD.findall(text)]
    hits = {code: sum(w in _stop_words(code) for w in words) for code in LANGUAGES.values()}
    total = sum(hits.values())
    return {code: n / total for code, n in hits.items()} if total else {}


@cache
def _stop_words(code: str) -> frozenset[str]:
    return frozenset(get_lang_class(code).Defaults.stop_words)


def _vote(text: str) -> str:
    votes: dict[str, int] = {}
    for word in _WORD.findall(text.lower()):
        lang = _MARKER_LANGUAGE.get(word)
        if lang:
            votes[lang] = votes.get(lang, 0) + 1
    ranked = sorted(votes.items(), key=lambda kv: -kv[1])
    if ranked and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]):
        return ranked[0][0]
    return ""


def _too_short(text: str) -> bool:
    return len(_WORD.findall(text)) < MIN_WORDS


def _known(code: str) -> str:
    code = (code or "").strip().lower()[:2]
    return code if code in LANGUAGES.values() else ""
