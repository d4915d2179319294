"""IBANs of every country of the IBAN registry and phone numbers of every numbering plan (issue 14): the detectors
check against python-stdnum's registry and Google's libphonenumber, not against tables of our own."""

from __future__ import annotations

import re

import phonenumbers
import pytest
from stdnum import numdb

from ragd.privacy import find_pii

# Countries the former hand-written length table did not know (the registry did).
ONCE_MISSING = ["BI", "DJ", "FK", "HN", "LY", "MN", "NI", "OM", "RU", "SD", "SO", "YE"]
FILLERS = {"n": "0123456789", "a": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "c": "7K3M9Q1Z5R2T8W"}


def check_digits(country: str, bban: str) -> str:
    """ISO 7064 MOD 97-10, written here independently of ragd and of stdnum."""
    n = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    return f"{98 - n % 97:02d}"


def bban_for(country: str, seed: int) -> str:
    """A BBAN of the registry's structure for ``country`` (``4!a6!n8!n``: 4 letters, 6 digits, 8 digits)."""
    structure = next(p["bban"] for _, low, _, p, _ in numdb.get("iban").prefixes if low == country)
    out = []
    for count, kind in re.findall(r"(\d+)!([nac])", structure):
        chars = FILLERS[kind]
        out.extend(chars[(seed * 7 + i * 3) % len(chars)] for i in range(int(count)))
    return "".join(out)


def iban(country: str, seed: int = 1) -> str:
    bban = bban_for(country, seed)
    return f"{country}{check_digits(country, bban)}{bban}"


def spaced(value: str) -> str:
    return " ".join(value[i:i + 4] for i in range(0, len(value), 4))


def found(text: str, kinds: list[str], **kw: object) -> list[tuple[str, str]]:
    return [(m.kind, m.text) for m in find_pii(text, kinds, **kw)]  # type: ignore[arg-type]


@pytest.mark.parametrize("country", ONCE_MISSING)
def test_ibans_of_countries_the_old_table_lacked(country: str) -> None:
    for seed in (1, 2, 3):
        value = iban(country, seed)
        assert found(f"Virement sur {value} merci", ["iban"]) == [("iban", value)]
        assert found(f"IBAN: {spaced(value)}.", ["iban"]) == [("iban", spaced(value))]


@pytest.mark.parametrize("country", [*ONCE_MISSING, "DE", "FR", "GB", "IT"])
def test_a_wrong_check_digit_is_not_an_iban(country: str) -> None:
    value = iban(country)
    wrong = value[:2] + f"{(int(value[2:4]) + 1) % 100:02d}" + value[4:]
    assert found(f"IBAN {wrong}", ["iban"]) == []


def test_the_registry_structure_is_checked_not_only_the_length_and_checksum() -> None:
    # Germany's BBAN is 18 digits: a letter inside, with check digits that make mod 97 hold, is no German IBAN.
    bban = "37040044053201300A"
    assert found(f"IBAN DE{check_digits('DE', bban)}{bban}", ["iban"]) == []
    assert found(f"IBAN DE{check_digits('DE', '370400440532013000')}370400440532013000", ["iban"]) != []


REGIONS = ["DE", "IT", "ES", "BE", "CH", "NL", "AT", "PT", "PL", "SE", "IE", "JP", "AU", "BR", "IN", "MX", "ZA",
           "MA", "SN", "CA"]
TYPES = [phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE]


def example(region: str, kind: int, fmt: int) -> str:
    """libphonenumber's own example number of that region and type, formatted the way people write it."""
    number = phonenumbers.example_number_for_type(region, kind)
    assert number is not None
    return phonenumbers.format_number(number, fmt)


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("kind", TYPES)
def test_international_numbers_of_every_plan(region: str, kind: int) -> None:
    number = example(region, kind, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    assert found(f"Appelez le {number}, merci.", ["phone"]) == [("phone", number)]
    e164 = example(region, kind, phonenumbers.PhoneNumberFormat.E164)
    assert found(f"tel={e164};", ["phone"]) == [("phone", e164)]


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("kind", TYPES)
def test_national_numbers_with_a_region_hint(region: str, kind: int) -> None:
    number = example(region, kind, phonenumbers.PhoneNumberFormat.NATIONAL)
    assert found(f"Tel. {number}, danke.", ["phone"], regions=[region]) == [("phone", number)]


def test_national_numbers_are_only_looked_for_in_the_hinted_regions() -> None:
    text = "Rufen Sie 030 123456789 an."  # Berlin, in German national format
    assert found(text, ["phone"], regions=["DE"]) == [("phone", "030 123456789")]
    assert found(text, ["phone"]) == []  # default hint: FR, GB, US


def test_a_number_of_the_right_length_counts_even_in_a_range_not_allocated_yet() -> None:
    # 07 21… is not allocated in France today, (553) is no US area code yet: both are still phone numbers to hide
    assert found("Appelez le +33 7 21 29 72 64.", ["phone"]) == [("phone", "+33 7 21 29 72 64")]
    assert found("Call (553) 244-7950 now", ["phone"]) == [("phone", "(553) 244-7950")]


def test_too_short_or_misshapen_numbers_are_not_phones() -> None:
    assert found("Appelez le +49 30 12, merci.", ["phone"]) == []
    assert found("Appelez le +33 0 12 34 56 78", ["phone"]) == []  # no French number starts with 0 after +33
    assert found("Chiamate +39 06 6982 1234", ["phone"]) == [("phone", "+39 06 6982 1234")]  # Italy keeps it
    assert found("+1 123 456 7890", ["phone"]) == []  # no NANP area code starts with 1


@pytest.mark.parametrize("text", [
    "Facture du 12.03.2024, échéance 2024-04-12, montant 1.234.567,89 EUR.",
    "Betrag: 12 345 678,90 € am 03/12/2024 um 14:22:05 Uhr.",
    "Commande 000123456789, lot 4711-0815-2024, version 10.2.3.4.",
    "pi = 3.14159265358979323846, e = 2.71828182845904523536",
    "Séquence 31415926535897932384626433832795028841971",
    "Kontonummer intern 12345678901234, Vorgang 2024031200001",
    "Population 67 842 582 (2024), superficie 643 801 km².",
])
def test_dates_amounts_and_digit_runs_are_not_phones(text: str) -> None:
    regions = ["FR", "GB", "US", "DE", "IT", "ES", "BE", "CH"]
    assert found(text, ["phone"], regions=regions) == []
