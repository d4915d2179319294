"""Check digits and number plans behind the PII detectors: pure functions over normalised strings.

Every function takes the *compact* form (separators removed) and answers whether it is a well-formed, checksum-valid
identifier. They never raise.
"""

from __future__ import annotations

import ipaddress

# -- IBAN (ISO 13616): length by country, mod-97 == 1 ---------------------------------------------------------------
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "BY": 28,
    "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19,
    "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}


def iban_mod97(iban: str) -> int:
    """The ISO 7064 MOD 97-10 remainder of an IBAN (country code and check digits moved to the end)."""
    moved = iban[4:] + iban[:4]
    digits = "".join(str(int(ch, 36)) for ch in moved)
    return int(digits) % 97


def valid_iban(compact: str) -> bool:
    """Known country, that country's length, alphanumeric BBAN, and ``mod 97 == 1``."""
    if len(compact) < 15 or IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    if not (compact[2:4].isdigit() and compact[4:].isalnum() and compact.isascii()):
        return False
    return iban_mod97(compact) == 1


def iban_check_digits(country: str, bban: str) -> str:
    """The two check digits making ``country + digits + bban`` a valid IBAN (for generators and tests)."""
    return f"{98 - iban_mod97(country + '00' + bban):02d}"


# -- payment cards: Luhn and the issuer ranges ------------------------------------------------------------------------
def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def luhn_digit(payload: str) -> str:
    """The check digit to append to ``payload`` so that the whole passes Luhn."""
    for d in "0123456789":
        if luhn_ok(payload + d):
            return d
    raise AssertionError("unreachable")  # pragma: no cover


def card_network(digits: str) -> str | None:
    """The card scheme whose IIN range and length ``digits`` fits, else ``None`` (Luhn not checked here)."""
    n = len(digits)
    two, four = int(digits[:2]), int(digits[:4])
    if digits[0] == "4":
        return "visa" if n in (16, 19) else None
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return "mastercard" if n == 16 else None
    if two in (34, 37):
        return "amex" if n == 15 else None
    if digits.startswith("6011") or two == 65 or 644 <= int(digits[:3]) <= 649:
        return "discover" if 16 <= n <= 19 else None
    if 3528 <= four <= 3589:
        return "jcb" if 16 <= n <= 19 else None
    if two in (36, 38, 39) or 300 <= int(digits[:3]) <= 305:
        return "diners" if 14 <= n <= 19 else None
    if two == 62:
        return "unionpay" if 16 <= n <= 19 else None
    if two in (50, 56, 57, 58, 63, 67):
        return "maestro" if 16 <= n <= 19 else None
    return None


def valid_card(digits: str) -> bool:
    return 14 <= len(digits) <= 19 and card_network(digits) is not None and luhn_ok(digits)


# -- French NIR (numéro de sécurité sociale) -------------------------------------------------------------------------
def nir_key(first13: str) -> int:
    """97 − (N mod 97) over the first 13 characters; Corsica's 2A / 2B count as 19 / 18."""
    dept = first13[5:7]
    if dept == "2A":
        first13 = first13[:5] + "19" + first13[7:]
    elif dept == "2B":
        first13 = first13[:5] + "18" + first13[7:]
    return 97 - int(first13) % 97


def valid_nir(compact: str) -> bool:
    """Sex 1/2 (7/8 for temporary numbers), month 01-12 or 20-42/50-99 (unknown month codes), a department
    (01-95, 2A, 2B, 97x/98x overseas, 99 abroad), a non-zero serial, and the 97-key."""
    if len(compact) != 15 or compact[0] not in "1278":
        return False
    if not (compact[:5].isdigit() and compact[7:].isdigit()):
        return False
    month = int(compact[3:5])
    if not (1 <= month <= 12 or 20 <= month <= 42 or 50 <= month <= 99):
        return False
    dept = compact[5:7]
    if dept not in ("2A", "2B") and (not dept.isdigit() or dept in ("00", "96")):
        return False
    if dept in ("97", "98") and compact[7] not in "12345678":  # overseas: 971-978, 984-988
        return False
    if compact[10:13] == "000":
        return False
    return nir_key(compact[:13]) == int(compact[13:])


# -- US SSN --------------------------------------------------------------------------------------------------------
_SSN_ADVERTISED = {"078051120", "219099999", "457555462"}


def valid_ssn(digits: str) -> bool:
    """Area 001-899 except 666, group 01-99, serial 0001-9999; never the well-known advertised numbers."""
    if len(digits) != 9 or not digits.isdigit() or digits in _SSN_ADVERTISED:
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


# -- phone numbers: E.164 country calling codes --------------------------------------------------------------------
_CC: set[str] = {"1", "7"} | {
    str(c) for c in (20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55, 56,
                     57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98)
} | {
    str(c) for c in (211, 212, 213, 216, 218, *range(220, 259), *range(260, 270), 290, 291, *range(297, 300),
                     *range(350, 360), *range(370, 383), 385, 386, 387, 389, 420, 421, 423, *range(500, 510),
                     *range(590, 600), 670, *range(672, 684), *range(685, 693), 850, 852, 853, 855, 856, 880, 886,
                     *range(960, 969), *range(970, 978), *range(992, 997), 998)
}
"""ITU country calling codes (prefix-free, so the first match on 1, 2 then 3 digits is the only one)."""


def split_country_code(digits: str) -> tuple[str, str] | None:
    for n in (1, 2, 3):
        if digits[:n] in _CC:
            return digits[:n], digits[n:]
    return None


def valid_nanp(national: str) -> bool:
    """A North American number: NXX-NXX-XXXX (area and exchange start 2-9, area not N11)."""
    return (
        len(national) == 10 and national[0] in "23456789" and national[3] in "23456789"
        and national[1:3] != "11"
    )


def valid_international(cc: str, national: str) -> bool:
    """Plausible length of the national significant number for the country (exact plans for FR, US/CA, UK)."""
    if cc == "33":
        return len(national) == 9 and national[0] != "0"
    if cc == "1":
        return valid_nanp(national)
    if cc == "44":
        return len(national) in (9, 10) and national[0] != "0"
    return len(national) >= 6 and 8 <= len(cc) + len(national) <= 15 and national[0] != "0"


# -- IP addresses ----------------------------------------------------------------------------------------------------
def personal_ip(text: str) -> bool:
    """A valid IPv4/IPv6 address that can point at a host: not loopback, unspecified, multicast, nor a netmask."""
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return False
    if addr.is_loopback or addr.is_unspecified or addr.is_multicast:
        return False
    return not (addr.version == 4 and text.startswith("255."))
