"""PII detectors: each kind's positives and checksum negatives, properties of find_pii / redact / the stream."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ragd.privacy import KINDS, PLACEHOLDERS, find_pii, redact
from ragd.privacy.stream import StreamRedactor


def kinds_of(text: str) -> list[tuple[str, str]]:
    return [(m.kind, m.text) for m in find_pii(text)]


# -- check digits written here, independently of ragd.privacy._checks ------------------------------------------------
def luhn_complete(payload: str) -> str:
    for d in "0123456789":
        s = payload + d
        if sum(int(c) if i % 2 == 0 else sum(divmod(2 * int(c), 10)) for i, c in enumerate(reversed(s))) % 10 == 0:
            return s
    raise AssertionError


def make_iban(country: str, bban: str) -> str:
    n = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    return f"{country}{98 - n % 97:02d}{bban}"


def make_nir(first13: str) -> str:
    n = first13[:5] + {"2A": "19", "2B": "18"}.get(first13[5:7], first13[5:7]) + first13[7:]
    return f"{first13}{97 - int(n) % 97:02d}"


# -- e-mail --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("addr", [
    "jean.dupont@example.com", "J.Martin75@orange.fr", "support+billing@acme-corp.io", "k_nguyen@mail.univ-lyon2.fr",
    "o'brien@example.ie",
])
def test_email_positives(addr: str) -> None:
    assert kinds_of(f"Écrivez à {addr}. Merci") == [("email", addr)]
    assert kinds_of(f"<{addr}>") == [("email", addr)]
    assert kinds_of(f"user='{addr}'") == [("email", addr)]  # quoted, as in a repr or a log field


@pytest.mark.parametrize("text", ["logo@2x.png", "user@localhost", "a..b@example.com", "@example.com", "x@y"])
def test_email_negatives(text: str) -> None:
    assert find_pii(text, ["email"]) == []


# -- phone ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("number", [
    "06 12 34 56 78", "06.12.34.56.78", "06-12-34-56-78", "0612345678", "01 45 67 89 10", "+33 6 12 34 56 78",
    "+33612345678", "+33 (0)6 12 34 56 78", "0033 6 12 34 56 78", "+1 (415) 555-0132", "+1-415-555-0132",
    "(415) 555-0132", "415-555-0132", "1-800-555-0199", "+44 20 7946 0958", "020 7946 0958", "+49 30 12345678",
    "06\u00a012\u00a034\u00a056\u00a078",
])
def test_phone_positives(number: str) -> None:
    assert kinds_of(f"Appelez le {number} demain.") == [("phone", number)]


@pytest.mark.parametrize("text", [
    "06 12 34 56", "06 12 34 56 78 90 12", "123-456-7890", "+33 6 12 34", "+1 234 5678", "12/03/2024",
    "2024-03-12 14:22:05", "Commande 00012345678", "06 12.34 56-78", "tél 0012345678",
])
def test_phone_negatives(text: str) -> None:
    assert find_pii(text, ["phone"]) == []


# -- IBAN ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("iban", [
    "FR76 3000 6000 0112 3456 7890 189", "FR7630006000011234567890189", "GB82 WEST 1234 5698 7654 32",
    "DE89370400440532013000", "BE71 0961 2345 6769", "CH93 0076 2011 6238 5295 7",
])
def test_iban_positives(iban: str) -> None:
    assert kinds_of(f"IBAN : {iban}, BIC BNPAFRPP.") == [("iban", iban)]


@pytest.mark.parametrize("text", [
    "FR75 3000 6000 0112 3456 7890 189",  # wrong check digits
    "FR76 3000 6000 0112 3456 7890 18",  # one character short
    "XX76 3000 6000 0112 3456 7890 189",  # no such country
    "TVA FR40303265045", "BIC BNPAFRPPXXX",
])
def test_iban_negatives(text: str) -> None:
    assert find_pii(text, ["iban"]) == []


# -- cards ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("number", [
    "4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111", "5555 5555 5555 4444", "2223 0031 2200 3222",
    "3782 822463 10005", "378282246310005", "6011 1111 1111 1117", "3056 930902 5904", "30569309025904",
])
def test_card_positives(number: str) -> None:
    assert kinds_of(f"Carte n° {number} exp. 09/27") == [("card", number)]


@pytest.mark.parametrize("text", [
    "4111 1111 1111 1112",  # Luhn fails
    "1234 5678 9012 3456", "9111 1111 1111 1111 1",  # no issuer
    "SIRET 732 829 320 00074", "73282932000074",  # a SIRET passes Luhn but is no card
    "4111 1111 1111 11", "IMEI 356938035643809", "ISBN 978-2-07-036822-8",
    "FR13 4257 9021 9651 3856 5690 530",  # a (checksum-invalid) IBAN's digits are not a card
])
def test_card_negatives(text: str) -> None:
    assert find_pii(text, ["card"]) == []


# -- NIR -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("nir", [
    "2 95 10 99 126 111 93", "295109912611193", "253072B07300470", "253072A07300443", "2 53 07 2A 073 004 43",
    "1841276451089 46",
])
def test_nir_positives(nir: str) -> None:
    assert kinds_of(f"N° de sécurité sociale : {nir}.") == [("nir", nir)]


def test_nir_key_makes_the_difference() -> None:
    good = make_nir("1841276451089")
    bad = good[:13] + f"{(int(good[13:]) % 97) + 1:02d}"
    assert kinds_of(good) == [("nir", good)]
    assert find_pii(bad) == []
    assert find_pii("253072C07300443") == []  # no department 2C
    assert find_pii("3 84 12 76 451 089 46") == []  # sex 3 does not exist


# -- SSN -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,ssn", [
    ("SSN 123-45-6789 on file", "123-45-6789"), ("ssn: 536 22 1234", "536 22 1234"),
    ("Social Security Number: 536221234", "536221234"), ("SSN#536221234", "536221234"),
])
def test_ssn_positives(text: str, ssn: str) -> None:
    assert kinds_of(text) == [("ssn", ssn)]


@pytest.mark.parametrize("text", [
    "000-12-3456", "666-12-3456", "912-34-5678", "123-00-4567", "123-45-0000", "078-05-1120",
    "order 536221234", "123-45-67890", "12-345-6789",
])
def test_ssn_negatives(text: str) -> None:
    assert find_pii(text, ["ssn"]) == []


# -- IP ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,addr", [
    ("from 192.168.1.20 port 22", "192.168.1.20"), ("client=81.56.12.34", "81.56.12.34"),
    ("upstream 10.0.0.7:8080 down", "10.0.0.7"), ("addr 2001:db8::8a2e:370:7334.", "2001:db8::8a2e:370:7334"),
    ("[fe80::1ff:fe23:4567:890a]:443", "fe80::1ff:fe23:4567:890a"), ("mapped ::ffff:192.0.2.1", "::ffff:192.0.2.1"),
])
def test_ip_positives(text: str, addr: str) -> None:
    assert kinds_of(text) == [("ip", addr)]


@pytest.mark.parametrize("text", [
    "127.0.0.1", "0.0.0.0", "::1", "netmask 255.255.255.0", "224.0.0.251", "256.1.2.3", "version 10.2.0.15",
    "v1.2.3.4", "Python 3.7.3.1", "OID 1.3.6.1.4.1.311", "at 14:30:00", "mac 00:1A:2B:3C:4D:5E", "std::vector",
    "1.2.3", "Windows 10.0.19045.3570",
])
def test_ip_negatives(text: str) -> None:
    assert find_pii(text, ["ip"]) == []


# -- find_pii and redact -------------------------------------------------------------------------------------------
def test_leftmost_longest_and_placeholders() -> None:
    text = "IBAN FR76 3000 6000 0112 3456 7890 189 ; mail a.b@example.fr ; tel 06 12 34 56 78 ; ip 203.0.113.9"
    assert [m.kind for m in find_pii(text)] == ["iban", "email", "phone", "ip"]
    assert redact(text) == "IBAN [IBAN] ; mail [EMAIL] ; tel [PHONE] ; ip [IP]"
    assert redact(text, ["email"]) == text.replace("a.b@example.fr", "[EMAIL]")
    assert set(PLACEHOLDERS) == set(KINDS)


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown PII kind"):
        find_pii("x", ["passport"])


def test_hard_negatives_in_prose_are_left_alone() -> None:
    text = ("Commande CMD-2024-004512 du 12/03/2024 : total 1 234,56 € ; SIRET 732 829 320 00074 ; ISBN "
            "978-2-07-036822-8 ; version 2.14.3 ; 2024-03-12T14:22:05Z ; suivi 1Z999AA10123456784.")
    assert find_pii(text) == []
    assert redact(text) is text


BBAN_LENGTHS = {"FR": 23, "DE": 18, "ES": 20, "BE": 12, "PT": 21}


def group4(value: str, sep: str = " ") -> str:
    return sep.join(value[i:i + 4] for i in range(0, len(value), 4))


ibans = st.sampled_from(sorted(BBAN_LENGTHS)).flatmap(
    lambda c: st.text("0123456789", min_size=BBAN_LENGTHS[c], max_size=BBAN_LENGTHS[c]).map(lambda b: make_iban(c, b))
).flatmap(lambda iban: st.sampled_from([iban, group4(iban)]))
cards = st.builds(
    lambda prefix, body, sep: group4(luhn_complete(prefix + body[: 15 - len(prefix)]), sep),
    st.sampled_from(["4", "51", "55", "2221", "2720", "6011", "3530"]),
    st.text("0123456789", min_size=15, max_size=15), st.sampled_from(["", " ", "-"]),
)
nirs = st.builds(
    lambda sex, yy, mm, dept, commune, order: make_nir(f"{sex}{yy:02d}{mm:02d}{dept}{commune:03d}{order:03d}"),
    st.sampled_from("12"), st.integers(0, 99), st.integers(1, 12),
    st.sampled_from(["01", "13", "2A", "2B", "33", "59", "69", "75", "93", "99"]),
    st.integers(1, 990), st.integers(1, 999),
)


@settings(max_examples=150, deadline=None)
@given(iban=ibans, card=cards, nir=nirs)
def test_generated_identifiers_are_found_and_redacted(iban: str, card: str, nir: str) -> None:
    text = f"Virement sur {iban} ; carte {card} ; NIR {nir}."
    assert kinds_of(text) == [("iban", iban), ("card", card), ("nir", nir)]
    out = redact(text)
    assert out == "Virement sur [IBAN] ; carte [CARD] ; NIR [NIR]."
    for value in (iban, card, nir):
        assert value not in out


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789 .-+@:()abcAB\n")) | st.characters(), max_size=120))
def test_redact_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once
    matches = find_pii(text)
    assert all(a.end <= b.start for a, b in itertools.pairwise(matches))
    assert all(text[m.start:m.end] == m.text for m in matches)


@settings(max_examples=200, deadline=None)
@given(iban=ibans, card=cards, nir=nirs, cuts=st.lists(st.integers(0, 200), max_size=25))
def test_stream_redaction_equals_whole_redaction(iban: str, card: str, nir: str, cuts: list[int]) -> None:
    text = (f"Bonjour, écrivez à jean.dupont@example.com ou au 06 12 34 56 78. IBAN {iban}, carte {card}. "
            f"NIR {nir} ; serveur 203.0.113.9 v1.2.3.")
    points = sorted({c % len(text) for c in cuts})
    pieces = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    r = StreamRedactor()
    out = "".join(r.feed(p) for p in pieces) + r.flush()
    assert out == redact(text)
    assert "jean.dupont" not in out and iban not in out and card not in out
