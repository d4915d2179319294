"""Language identification for analysis: which language a chunk or a query is written in.

The detector is py3langid (a maintained fork of langid.py: a naive-Bayes model over byte n-grams, shipped inside its
PyPI wheel, so nothing is fetched at run time). Chosen over lingua-language-detector because lingua's high-accuracy
models take ~630 MB of memory for the Snowball languages and its low-accuracy mode misreads short questions;
numbers in docs/benchmarks.md ("Language detection", ``bench/language_detect.py``).

API (other modules import exactly this):

* :func:`detect` → :class:`Detection` ``(code, confidence)``: ISO 639-1 code, or ``("und", 0.0)`` when the best
  guess's probability is under :data:`MIN_CONFIDENCE` (short or language-less text: a code, a number, a name), so
  ``confidence > 0`` means "a language was found";
* :func:`candidates`: the best guesses, most probable first (what a query falls back to when unsure);
* both take ``among``: the languages a collection's chunks are in, as a set of codes (equally likely) or a
  mapping code → prior (their share of the chunks). The detector's probabilities, which assume every language
  equally likely, are then multiplied by those priors and renormalised over those languages only (Bayes' rule
  with the collection as the prior), and the same :data:`MIN_CONFIDENCE` rule applies;
* :data:`SNOWBALL`: ISO 639-1 code → PyStemmer algorithm name, for every language PyStemmer has a stemmer for.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import Stemmer

UNDETERMINED = "und"

MIN_CONFIDENCE = 0.5
"""A detection whose probability (normalised over the detector's languages) is below this is ``"und"``: the text
does not say which language it is in."""

SAMPLE_CHARS = 4000
"""Detection reads at most this many characters of a text: a chunk's first paragraphs say its language."""

_ALL_SNOWBALL = {
    "ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan", "cs": "czech", "da": "danish", "nl": "dutch",
    "en": "english", "eo": "esperanto", "et": "estonian", "fi": "finnish", "fr": "french", "de": "german",
    "el": "greek", "hi": "hindi", "hu": "hungarian", "id": "indonesian", "ga": "irish", "it": "italian",
    "lt": "lithuanian", "ne": "nepali", "no": "norwegian", "fa": "persian", "pl": "polish", "pt": "portuguese",
    "ro": "romanian", "ru": "russian", "sr": "serbian", "st": "sesotho", "es": "spanish", "sv": "swedish",
    "ta": "tamil", "tr": "turkish", "yi": "yiddish",
}  # fmt: skip
SNOWBALL: dict[str, str] = {code: name for code, name in _ALL_SNOWBALL.items() if name in Stemmer.algorithms()}
"""ISO 639-1 code → PyStemmer algorithm, for every language the installed PyStemmer stems."""

_ALIASES = {"nn": "no", "nb": "no"}  # the detector tells Nynorsk apart; Snowball has one Norwegian stemmer

_OTHER_LANGUAGES = {"bg", "he", "ja", "ko", "sk", "uk", "vi", "zh"}
"""Languages without a Snowball stemmer that the detector still tells (they have stop lists, or a script of their
own): their text is not mistaken for a Snowball language. The detector considers only these and :data:`SNOWBALL`'s
languages: fewer look-alike languages make short questions much more reliable (measured in the benchmark)."""


@dataclass(frozen=True, slots=True)
class Detection:
    code: str
    """ISO 639-1 code (``"en"``, ``"fr"``, ``"de"``…) or ``"und"``."""
    confidence: float
    """The detector's probability for ``code``, :data:`MIN_CONFIDENCE`..1; 0.0 for ``"und"`` (the guesses and their
    probabilities: :func:`candidates`)."""


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    known = set(ident.nb_classes)
    ident.set_languages(sorted(known & (set(SNOWBALL) | set(_ALIASES) | _OTHER_LANGUAGES)))
    return ident


@lru_cache(maxsize=1024)
def _rank(text: str) -> tuple[tuple[str, float], ...]:
    """Every language's probability for ``text``, best first (memoised: a query is detected by its analysis and by
    the fusion's dense weight)."""
    ident = _identifier()
    with _lock:  # one identifier shared by every thread
        ranked = ident.rank(text)
    out: list[tuple[str, float]] = []
    seen: set[str] = set()
    for label, p in ranked:
        code = _ALIASES.get(label, label)
        if len(code) != 2:  # a few of the model's labels have no ISO 639-1 code: not a language we can analyse
            continue
        if code in seen:
            continue
        seen.add(code)
        out.append((code, float(p)))
    return tuple(out)


def _has_letters(text: str) -> bool:
    return any(c.isalpha() for c in text)


Among = Mapping[str, float] | Collection[str]
"""Languages a text may be in: codes (equally likely) or code → prior weight (any scale: only ratios count)."""


def _restrict(ranked: tuple[tuple[str, float], ...], among: Among) -> list[tuple[str, float]]:
    """``ranked`` limited to the languages of ``among``, each probability times the language's prior (1 for a
    plain set), renormalised to sum to 1 and re-sorted (empty when none of them has any probability)."""
    prior = among if isinstance(among, Mapping) else dict.fromkeys(among, 1.0)
    kept = [(code, p * prior[code]) for code, p in ranked if prior.get(code, 0.0) > 0.0]
    total = sum(p for _, p in kept)
    if total <= 0.0:
        return []
    return sorted(((code, p / total) for code, p in kept), key=lambda item: -item[1])


def candidates(text: str, n: int = 3, among: Among | None = None) -> list[Detection]:
    """The ``n`` most probable languages of ``text``, best first (empty for text with no letters). With ``among``
    (non-empty), only those languages, weighed by their priors and renormalised over them."""
    if not _has_letters(text):
        return []
    ranked: Sequence[tuple[str, float]] = _rank(text[:SAMPLE_CHARS])
    if among:
        ranked = _restrict(ranked, among)
    return [Detection(code, p) for code, p in ranked[:n]]


def detect(text: str, among: Among | None = None) -> Detection:
    """The language of ``text``: its ISO 639-1 code, or ``"und"`` when the detector is not sure. With ``among``
    (non-empty), the most probable of those languages given their priors, sure by the same rule over their
    renormalised probabilities."""
    best = candidates(text, 1, among)
    if not best:
        return Detection(UNDETERMINED, 0.0)
    if best[0].confidence < MIN_CONFIDENCE:
        return Detection(UNDETERMINED, 0.0)
    return best[0]
