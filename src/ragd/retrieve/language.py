"""Language of a short text: ``detect(text) -> Detection(code, confidence)`` (ISO 639-1).

A minimal stop-word and letter count over English, French, German, Spanish, Italian, Dutch and Portuguese, enough
for the dense weight rule (:mod:`ragd.retrieve.weighting`) and per-language evaluation. Being replaced by the
maintained detector of issue 19 part 1 (same API).
"""

from __future__ import annotations

from dataclasses import dataclass

from ragd.retrieve.analysis import fold, words

_STOPWORDS: dict[str, frozenset[str]] = {
    code: frozenset(text.split())
    for code, text in {
        "en": "the of and to in is are was were for on with that this what which how by from be as at an it who "
        "where when why does do did can has had have some any or not but if into all using there their its",
        "fr": "le la les des du de un une et est sont dans pour sur avec que qui quel quelle quels ou par au aux "
        "ce cette ces il elle ne pas comment pourquoi",
        "de": "der die das den dem des und ist sind ein eine einen einem einer fur mit von zu im in auf nicht "
        "oder wie was wer werden wird sie es sich auch aus bei nach uber zum zur",
        "es": "el la los las de del y en es son un una para por con que como se su sus al lo o no mas cual "
        "donde este esta",
        "it": "il lo la gli le di del della dei delle e un una per con che come si su sono non al alla nel nella "
        "da dal ed",
        "nl": "de het een en van in is zijn op voor met dat die niet te aan als door bij naar of wordt worden om",
        "pt": "o a os as de do da dos das e em um uma para por com que como se sao nao no na nos nas ao mais seu sua",
    }.items()
}
#: Letters that only some of the languages write (before accent folding), as a tie-breaker on short texts.
_LETTERS: dict[str, str] = {"de": "äöüß", "es": "ñ¿¡", "fr": "çèêëœàâîû", "pt": "ãõç", "it": "ìò", "nl": "ĳ"}


@dataclass(frozen=True, slots=True)
class Detection:
    code: str
    """ISO 639-1 code of the most likely language (``"en"`` when nothing points anywhere)."""
    confidence: float
    """Share of the evidence that points to ``code``, in [0, 1]; 0.0 when there is none."""


def detect(text: str) -> Detection:
    """The most likely language of ``text``: stop words count 1 each, a language's own letters 0.5 each."""
    sample = text[:20_000]
    scores = dict.fromkeys(_STOPWORDS, 0.0)
    for w in words(sample):
        f = fold(w)
        for code, stops in _STOPWORDS.items():
            scores[code] += f in stops
    lowered = sample.lower()
    for code, letters in _LETTERS.items():
        scores[code] += 0.5 * sum(lowered.count(c) for c in letters)
    total = sum(scores.values())
    if total == 0:
        return Detection("en", 0.0)
    code = max(scores, key=lambda c: scores[c])
    return Detection(code, scores[code] / total)
