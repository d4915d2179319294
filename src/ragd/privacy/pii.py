"""Detectors of personal data in free text, and redaction to typed placeholders.

Kinds and what counts as a match (every numeric kind is validated, so an order number or a typo does not match):

========  ==============================================================================================
``email``  ``local@domain.tld`` (ASCII; image names such as ``logo@2x.png`` are not addresses)
``phone``  international ``+33 6 12 34 56 78``, ``0033 6…``, ``+33 (0)6…``, ``+1 (415) 555-0132``, ``+49 30 1234567``
           — any country; national numbers of the hinted ``regions`` (default FR, GB, US): French
           ``06 12 34 56 78`` (one consistent separator), UK ``020 7946 0958``, North-American ``(415) 555-0132`` /
           ``1-415-555-0132``, and for any other region libphonenumber's own matcher (``030 12345678`` with DE).
           Every candidate must be a valid number of its country's plan (libphonenumber, via ``phonenumbers``)
``iban``   upper-case, with or without spaces; a country of the IBAN registry, its BBAN structure and
           ``mod 97 == 1`` (python-stdnum)
``card``   14-19 digits, contiguous or in 4-4-4-4(-3) / 4-6-5 groups; an issuer range (Visa, Mastercard, Amex,
           Discover, JCB, Diners, UnionPay, Maestro) and the Luhn check
``nir``    French social security number, ``1 84 12 76 451 089 46`` or compact; sex, month, department
           (Corsica ``2A``/``2B``, overseas, abroad) and the 97-key
``ssn``    US social security number ``123-45-6789`` / ``123 45 6789`` (area not 000/666/9xx, group not 00,
           serial not 0000); nine bare digits only right after "SSN" or "social security"
``ip``     IPv4 and IPv6 that :mod:`ipaddress` accepts, except loopback, unspecified, multicast, netmasks
           (``255.…``) and dotted numbers introduced as a version ("version 1.2.3.4", "v1.2.3.4")
========  ==============================================================================================

:func:`find_pii` returns non-overlapping matches, leftmost first, the longest when two start together.
:func:`redact` replaces each by ``[EMAIL]``, ``[PHONE]``, ``[IBAN]``, ``[CARD]``, ``[NIR]``, ``[SSN]``, ``[IP]``;
placeholders contain no digit and no ``@``, so ``redact(redact(t)) == redact(t)``. A text with neither a digit nor
an ``@`` is returned at once (the cheap pre-check that keeps the log processor fast).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from typing import Literal, NamedTuple

import phonenumbers

from ragd.privacy._checks import (
    IBAN_LENGTHS,
    personal_ip,
    valid_card,
    valid_iban,
    valid_international,
    valid_nanp,
    valid_national,
    valid_nir,
    valid_ssn,
)

PiiKind = Literal["email", "phone", "iban", "card", "nir", "ssn", "ip"]
KINDS: tuple[PiiKind, ...] = ("email", "phone", "iban", "card", "nir", "ssn", "ip")
PLACEHOLDERS: dict[str, str] = {k: f"[{k.upper()}]" for k in KINDS}
DEFAULT_REGIONS: tuple[str, ...] = ("FR", "GB", "US")
"""Where national-format phone numbers are looked for unless told otherwise (international ones: everywhere)."""
_OWN_PATTERNS = {"FR", "GB", "US", "CA"}
"""Regions whose national formats the fast patterns below cover; others go through libphonenumber's matcher."""


class PiiMatch(NamedTuple):
    kind: str
    start: int
    end: int
    text: str


_Span = tuple[int, int]
_HINT = re.compile(r"[\d@]")
_RUN = re.compile(r"\d(?:[ .\-()/\u00a0\u202f]{0,3}\d){6}")
"""Seven digits close together: implied by every phone, card, NIR and SSN."""
_IBAN_HINT = re.compile(r"[A-Z]{2}\d\d")
_SPACES = re.compile(r"\s")

# -- e-mail ----------------------------------------------------------------------------------------------------
_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+'-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,24}(?![\w-])"
)
_FILE_TLDS = {"png", "jpg", "jpeg", "gif", "svg", "webp", "pdf", "css", "js"}


def _emails(text: str) -> Iterator[_Span]:
    if "@" not in text:
        return
    for m in _EMAIL.finditer(text):
        local, _, domain = m.group().partition("@")
        if ".." in local or local.endswith(".") or domain.rsplit(".", 1)[1].lower() in _FILE_TLDS:
            continue
        yield m.span()


# -- phone -----------------------------------------------------------------------------------------------------
_FR_PHONE = re.compile(
    r"(?<![\w+\-.])(?<!\d )(?<!\d\u00a0)0[1-9](?P<s>[ .\-\u00a0\u202f]?)\d{2}(?:(?P=s)\d{2}){3}"
    r"(?![\w]|[ .\-\u00a0\u202f]\d)"
)
_INTL_PHONE = re.compile(
    r"(?<![\w+])(?:\+ ?|\b00)(?P<body>[1-9]\d{0,2}(?:[ .\-\u00a0\u202f]?(?:\(0\)|\(\d{1,4}\)|\d{1,5})){1,7})(?!\w)"
)
_UK_PHONE = re.compile(  # national UK numbers: 11 digits in the usual groupings, spaces required
    r"(?<![\w+\-.])(?<!\d )0(?:[12378]\d \d{4} \d{4}|[12378]\d{2} \d{3} \d{4}|[127]\d{3} \d{6}|[127]\d{3} \d{3} \d{3})"
    r"(?![\w]|[ .\-]\d)"
)
_GROUP = re.compile(r"\(0\)|\(?\d+\)?")
_NANP_PHONE = re.compile(
    r"(?<![\w+\-.(])(?:1[\-. ]?)?(?:\(\d{3}\) ?\d{3}[\-.]\d{4}|\d{3}(?P<s>[\-.])\d{3}(?P=s)\d{4})(?![\w]|[\-.]\d)"
)


def _phones(text: str, regions: Collection[str]) -> Iterator[_Span]:
    if "FR" in regions:
        yield from (m.span() for m in _FR_PHONE.finditer(text) if valid_national(m.group(), "FR"))
    if "GB" in regions:
        yield from (m.span() for m in _UK_PHONE.finditer(text) if valid_national(m.group(), "GB"))
    if "+" in text or "00" in text:
        for m in _INTL_PHONE.finditer(text):
            body_start = m.start("body")
            groups = list(_GROUP.finditer(m.group("body")))
            # the pattern is greedy: drop trailing groups (a date, an amount) until a valid number remains
            for n in range(len(groups), 0, -1):
                kept = groups[:n]
                digits = "".join(re.sub(r"\D", "", g.group()) for g in kept if g.group() != "(0)")
                if valid_international(digits):
                    yield m.start(), body_start + kept[-1].end()
                    break
    if "US" in regions or "CA" in regions:
        for m in _NANP_PHONE.finditer(text):
            if valid_nanp(re.sub(r"\D", "", m.group())[-10:]):
                yield m.span()
    for region in regions:
        if region not in _OWN_PATTERNS:
            matcher = phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)
            yield from ((m.start, m.end) for m in matcher)


# -- IBAN ------------------------------------------------------------------------------------------------------
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ \u00a0\u202f]?[A-Z0-9]){11,30}")


def _ibans(text: str) -> Iterator[_Span]:
    for m in _IBAN.finditer(text):
        want = IBAN_LENGTHS.get(m.group()[:2])
        if want is None:
            continue
        seen, end = 0, m.start()
        for i, ch in enumerate(m.group()):
            if not ch.isspace():
                seen += 1
                if seen == want:
                    end = m.start() + i + 1
                    break
        if seen != want or (end < len(text) and text[end].isalnum()):
            continue
        if valid_iban(_SPACES.sub("", text[m.start():end])):
            yield m.start(), end


# -- payment cards ---------------------------------------------------------------------------------------------
_CARD = re.compile(  # not when more digit groups continue the number on either side (an IBAN's digits)
    r"(?<![\w\-.,])(?<!\d )(?<!\d\u00a0)(?:\d{4}(?P<a>[ \-\u00a0\u202f])\d{4}(?P=a)\d{4}(?P=a)\d{4}(?:(?P=a)\d{3})?"
    r"|\d{4}(?P<b>[ \-\u00a0\u202f])\d{6}(?P=b)\d{4,5}|\d{14,19})(?![\w]|[\-.,]\d|[ \u00a0\u202f]\d)"
)


def _cards(text: str) -> Iterator[_Span]:
    for m in _CARD.finditer(text):
        if valid_card(re.sub(r"\D", "", m.group())):
            yield m.span()


# -- French NIR ------------------------------------------------------------------------------------------------
_NIR = re.compile(
    r"(?<![\w\-.])[1278](?P<s>[ .\u00a0\u202f]?)\d{2}(?P=s)\d{2}(?P=s)(?:\d{2}|2[AB])(?P=s)\d{3}(?P=s)\d{3}"
    r"(?:(?P=s)|[ .\u00a0\u202f]?)\d{2}(?![\w]|[ .\u00a0\u202f]\d)"
)


def _nirs(text: str) -> Iterator[_Span]:
    for m in _NIR.finditer(text):
        if valid_nir(_SPACES.sub("", m.group()).replace(".", "")):
            yield m.span()


# -- US SSN ----------------------------------------------------------------------------------------------------
_SSN = re.compile(r"(?<![\w\-.])\d{3}(?P<s>[\- ])\d{2}(?P=s)\d{4}(?![\w]|[\-.]\d|(?P=s)\d)")
_SSN_BARE = re.compile(r"(?i)(?:\bssn|social security(?: number| no\.?| #)?)\W{0,4}(\d{9})(?!\w)")


def _ssns(text: str) -> Iterator[_Span]:
    for m in _SSN.finditer(text):
        if valid_ssn(m.group()[:3] + m.group()[4:6] + m.group()[7:]):
            yield m.span()
    for m in _SSN_BARE.finditer(text):
        if valid_ssn(m.group(1)):
            yield m.span(1)


# -- IP addresses ----------------------------------------------------------------------------------------------
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
_SMALL_QUAD = re.compile(r"\d\.\d\.\d\.\d")
_VERSION = re.compile(r"(?i)(?:\bv|\bversion|\brelease|\bbuild|\bfirmware|\bfw|\bver\.?)\s*[:=]?\s*$")
_IPV6 = re.compile(r"(?<![\w:.])(?=[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:)[0-9A-Fa-f:.]{2,45}(?![\w:])")


def _ips(text: str) -> Iterator[_Span]:
    if "." in text:
        for m in _IPV4.finditer(text):
            if _SMALL_QUAD.fullmatch(m.group()) or _VERSION.search(text, max(0, m.start() - 12), m.start()):
                continue  # "3.7.3.1" is a version far more often than a host (1.1.1.1, 8.8.8.8 are resolvers)
            if personal_ip(m.group()):
                yield m.span()
    if ":" in text:
        for m in _IPV6.finditer(text):
            addr = m.group().rstrip(".")
            if personal_ip(addr):
                yield m.start(), m.start() + len(addr)


_DETECTORS: dict[str, Callable[[str], Iterator[_Span]]] = {
    "iban": _ibans, "card": _cards, "nir": _nirs, "ssn": _ssns, "email": _emails, "ip": _ips,
}
_RANK = {k: i for i, k in enumerate(("iban", "card", "nir", "ssn", "phone", "email", "ip"))}
"""Tie-break when two kinds claim the very same span (rare: the detectors' formats barely intersect)."""


def _gates(text: str) -> set[str]:
    """The kinds worth running on ``text``: cheap searches that every match of a kind implies."""
    kinds = set()
    if _RUN.search(text):
        kinds.update(("card", "nir", "ssn", "phone"))
    if _IBAN_HINT.search(text):
        kinds.add("iban")
    if "@" in text:
        kinds.add("email")
    if ":" in text or "." in text:
        kinds.add("ip")
    return kinds


def find_pii(text: str, kinds: Collection[str] | None = None,
             regions: Collection[str] = DEFAULT_REGIONS) -> list[PiiMatch]:
    """Validated personal data in ``text``: non-overlapping, in order, leftmost-longest across kinds.

    ``kinds`` restricts the detectors (default: all of :data:`KINDS`); an unknown kind is a ``ValueError``.
    ``regions`` (ISO 3166 alpha-2 codes) are where national-format phone numbers are looked for.
    """
    if kinds is not None:
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown PII kind(s) {sorted(unknown)}; known: {', '.join(KINDS)}")
    if not text or not _HINT.search(text):
        return []
    gated = _gates(text)
    found: list[tuple[int, int, int, str]] = []
    for kind, detect in _DETECTORS.items():
        if kind in gated and (kinds is None or kind in kinds):
            found.extend((s, -(e - s), _RANK[kind], kind) for s, e in detect(text))
    if "phone" in gated and (kinds is None or "phone" in kinds):
        found.extend((s, -(e - s), _RANK["phone"], "phone") for s, e in _phones(text, regions))
    found.sort()
    out: list[PiiMatch] = []
    last = 0
    for start, neg_len, _rank, kind in found:
        if start >= last:
            last = start - neg_len
            out.append(PiiMatch(kind, start, last, text[start:last]))
    return out


def apply_redaction(text: str, matches: list[PiiMatch]) -> str:
    """``text`` with each of ``matches`` (as :func:`find_pii` returns them) replaced by its placeholder."""
    if not matches:
        return text
    parts: list[str] = []
    pos = 0
    for m in matches:
        parts.append(text[pos:m.start])
        parts.append(PLACEHOLDERS[m.kind])
        pos = m.end
    parts.append(text[pos:])
    return "".join(parts)


def redact(text: str, kinds: Collection[str] | None = None, regions: Collection[str] = DEFAULT_REGIONS) -> str:
    """``text`` with every detected item replaced by its typed placeholder (``[EMAIL]``, ``[IBAN]``…)."""
    return apply_redaction(text, find_pii(text, kinds, regions))
