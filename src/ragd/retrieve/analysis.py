"""Language-aware text analysis for the lexical index, for every language Snowball stems.

Index side: each CHUNK's language is detected (:func:`ragd.retrieve.language.detect`; a chunk too short to tell
takes its document's language, a document too short to tell is English, as before); its words are lowercased,
the language's stop words dropped, stemmed with the language's Snowball stemmer, then accent-folded. The analysed
text (``chunks.lex``) is what every lexical index reads; the language itself is stored too (``chunks.language``),
so that queries know which languages a collection holds (:func:`present_languages`).

Stop words: English and French keep ragd's own short lists, whose union applies to both (what every store built
before per-language analysis holds, and what the dev-set numbers were measured with). Every other language takes
the Snowball project's list for its stemmer where there is one (function words only: the lists Snowball publishes
beside its stemmers, as NLTK and the ``bm25s`` package ship them; ragd reads them from ``bm25s``), else the
``stop-words`` package's (per language only), whose lists also hold content words ("iniciar", "caminho", "estado"
in Portuguese: measured in docs/retrieval.md). A language with no stemmer is only folded.

Query side: :func:`query_languages` — the detected language when the detector is sure; else a bounded fallback of
at most :data:`MAX_QUERY_LANGUAGES`: English or French by ragd's former stop-word vote (what such a query was
analysed in before), and the detector's best guess. Given the languages present in the store, the detection is
restricted to them: a query can only match chunks stemmed in one of those languages.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache

import Stemmer
from stop_words import StopWordError, get_stop_words

from ragd.retrieve.language import MIN_CONFIDENCE, SNOWBALL, UNDETERMINED, Among, candidates, detect

LANGUAGES = ("english", "french")
"""The languages ragd analysed before per-language analysis (kept for callers that name them)."""

MAX_QUERY_LANGUAGES = 2
"""An unsure query is stemmed in at most this many languages. Each more language adds a stem per word, and stems
of the wrong language only add noise: BM25 over the dev sets' whole documents, a fallback of three (best guess,
English, French) cost mini-wiki 0.001 nDCG@10 against this one (``bench/query_fallback.py``, docs/benchmarks.md)."""

CANDIDATE_FLOOR = 0.1
"""An unsure query's candidate language joins the fallback set only with at least this probability."""

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
_LEGACY_STOPWORDS = STOPWORDS["english"] | STOPWORDS["french"]
_NAMES = {name: code for code, name in SNOWBALL.items()}
_STOPWORD_CODES = {"no": "nb"}  # the stop-words package files Norwegian under Bokmål
_SNOWBALL_STOPWORDS = {
    "da": "STOPWORDS_DANISH", "de": "STOPWORDS_GERMAN", "es": "STOPWORDS_SPANISH", "it": "STOPWORDS_ITALIAN",
    "nl": "STOPWORDS_DUTCH", "no": "STOPWORDS_NORWEGIAN", "pt": "STOPWORDS_PORTUGUESE", "ru": "STOPWORDS_RUSSIAN",
    "sv": "STOPWORDS_SWEDISH",
}  # fmt: skip
"""Languages whose Snowball stop list ``bm25s.stopwords`` ships, and its name there (its Turkish, Chinese and
Korean lists are not Snowball's: those languages keep the ``stop-words`` package's list)."""


def language_code(language: str) -> str:
    """ISO 639-1 code of ``language``, given as a code (``"de"``) or a Snowball name (``"german"``)."""
    return _NAMES.get(language, language)


@lru_cache(maxsize=64)
def stopwords(language: str) -> frozenset[str]:
    """Accent-folded stop words of ``language`` (code or Snowball name); empty when none are known."""
    code = language_code(language)
    if code in ("en", "fr"):
        return _LEGACY_STOPWORDS
    if code in _SNOWBALL_STOPWORDS:
        from bm25s import stopwords as snowball  # imported on first use: 0.1 s that most processes never pay

        return frozenset(fold(w) for w in getattr(snowball, _SNOWBALL_STOPWORDS[code]))
    try:
        listed = get_stop_words(_STOPWORD_CODES.get(code, code))
    except StopWordError:
        return frozenset()
    return frozenset(fold(w) for w in listed)


class _NoStemmer:
    @staticmethod
    def stemWord(word: str) -> str:
        return word

    @staticmethod
    def stemWords(ws: Iterable[str]) -> list[str]:
        return list(ws)


@lru_cache(maxsize=64)
def _stemmer(language: str) -> Stemmer.Stemmer | _NoStemmer:
    algorithm = SNOWBALL.get(language_code(language))
    return Stemmer.Stemmer(algorithm) if algorithm else _NoStemmer()


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


def _is_stop(word: str, language: str) -> bool:
    return _fold_word(word) in stopwords(language)


@lru_cache(maxsize=1 << 17)
def _index_term(word: str, language: str) -> str:
    """The indexed form of one word in ``language``: its stem, accent-folded; ``""`` for a stop word."""
    if _is_stop(word, language):
        return ""
    return fold(_stemmer(language).stemWord(word))


_FRENCH_LETTERS = frozenset("éèêëàâîïôûùüçœ")


def _english_or_french(text: str) -> str:
    """``"fr"`` or ``"en"`` by stop-word counts, French accented letters breaking ties: how ragd told a text's
    language before it had a detector, kept for text the detector is unsure of."""
    en = fr = 0
    sample = text[:20_000]
    for w in words(sample):
        f = _fold_word(w)
        en += f in STOPWORDS["english"]
        fr += f in STOPWORDS["french"]
    if fr == en:
        fr += any(c in _FRENCH_LETTERS for c in sample.lower())
    return "fr" if fr > en else "en"


def document_language(text: str) -> str:
    """ISO code of a document's language, for its chunks too short to tell: ``"en"`` when it cannot be told."""
    code = detect(text[:20_000]).code
    return "en" if code == UNDETERMINED else code


def chunk_language(text: str, default: str) -> str:
    """ISO code of one chunk's language, ``default`` (its document's) when the chunk does not say."""
    code = detect(text).code
    return default if code == UNDETERMINED else code


def analyze_document(text: str, language: str, also: str | None = None) -> list[str]:
    """Index-side terms of ``text`` in ``language`` (an ISO code or a Snowball name).

    With ``also`` (another language: the chunk's document's, when the chunk itself reads as a different one), each
    word gives its stem in both languages, once when they agree, and a stop word of either is dropped: a chunk of
    a half-translated page ("The /etc/group file is a text file… nome_do_grupo o nome do grupo") matches questions
    in either language, as :func:`analyze_query` does for a question in two."""
    code = language_code(language)
    other = language_code(also) if also else code
    if other == code:
        terms = [_index_term(w, code) for w in words(text)]
        return [t for t in terms if t]
    out: list[str] = []
    for w in words(text):
        first, second = _index_term(w, code), _index_term(w, other)
        if first and second:
            out.extend(dict.fromkeys((first, second)))
    return out


def present_languages(counts: Mapping[str, int]) -> dict[str, float] | None:
    """The languages a query may be analysed in and how likely each is a priori, from the store's live chunks per
    language (:meth:`ragd.store.base.DocumentStore.chunk_languages`): every code with at least one chunk, with its
    share of the chunks; ``None`` (no restriction) when the store has no chunk, or any chunk of unknown language
    (``""``: indexed before chunk languages were stored, until ``ragd reindex``)."""
    live = {code: n for code, n in counts.items() if n > 0}
    if not live or "" in live:
        return None
    total = sum(live.values())
    return {code: n / total for code, n in sorted(live.items())}


def query_languages(text: str, limit: int = MAX_QUERY_LANGUAGES, present: Among | None = None) -> list[str]:
    """The languages a query is analysed in: its detected language when the detector is sure; else English or
    French by stop words (what ragd used before), then the detector's ``limit - 1`` best guesses (probability ≥
    :data:`CANDIDATE_FLOOR`), deduplicated.

    With ``present`` (the languages of the store's chunks and their shares, :func:`present_languages`), the
    detector chooses among those only, each weighed by its share (Bayes' rule: a question is a priori as likely
    to be in a language as the collection's chunks are; a plain set of codes weighs them equally): the best of
    them when it is sure of it; else the most probable of them, then the others with probability ≥
    :data:`CANDIDATE_FLOOR`. The question's own evidence is never overruled, only complemented: when the detector
    alone (every language equally likely) is sure of a present language other than the best, that language comes
    second ("Where is Marseille?" over a collection 99 % French is stemmed in French and in English). At most
    ``limit`` languages. When the detector gives none of the present languages any probability (or the query has
    no letters), and when ``present`` is ``None`` or empty, the rule without it applies."""
    if present:
        ranked = candidates(text, limit, among=present)
        if ranked:
            own = detect(text)
            second = [own.code] if own.code != UNDETERMINED and own.code in present else []
            if ranked[0].confidence < MIN_CONFIDENCE:
                second += [c.code for c in ranked[1:] if c.confidence >= CANDIDATE_FLOOR]
            return list(dict.fromkeys([ranked[0].code, *second]))[:limit]
    found = detect(text)
    if found.code != UNDETERMINED:
        return [found.code]
    guesses = [c.code for c in candidates(text, limit - 1) if c.confidence >= CANDIDATE_FLOOR]
    return list(dict.fromkeys([_english_or_french(text), *guesses]))[:limit]


def analyze_query(text: str, languages: Iterable[str] | None = None, present: Among | None = None) -> list[str]:
    """Query-side terms: each word's stem in each of the query's languages (:func:`query_languages`, restricted to
    ``present`` when given, unless ``languages`` are given), once per word when the stems agree; a word that is a
    stop word in any of them is dropped (an unsure query's "the" or "est" must not come back as another language's
    content word). Repeats are kept on purpose: a word the question uses twice weighs twice, as BM25's query term
    frequency wants (worth +0.08 nDCG@10 on CISI's long questions)."""
    if languages is None:
        languages = query_languages(text, present=present)
    langs = [language_code(lang) for lang in languages]
    ws = [w for w in words(text) if not any(_is_stop(w, lang) for lang in langs)]
    if not ws:  # a query made only of stop words still deserves a lexical match
        ws = words(text)
    out: list[str] = []
    for w in ws:
        out.extend(dict.fromkeys(fold(_stemmer(lang).stemWord(w)) for lang in langs))
    return out
