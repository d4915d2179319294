"""Build bench/data/pii_labelled.jsonl: realistic French and English texts with labelled personal data.

Usage: ``python bench/make_pii_set.py [--seed 20240611] [--records 480]``. Deterministic for a seed.

Each record is ``{"id", "split", "lang", "template", "text", "spans": [{"kind", "start", "end"}]}``. Texts come
from templates (support tickets, HR letters, invoices, log lines, CVs, bank and network notes) whose slots are
filled with generated values: true personal data of every kind in varied formats, with their checksums computed
here — independently of ``ragd.privacy`` — and hard negatives (order and invoice numbers, dates, timestamps,
versions, amounts, SIRET/SIREN, ISBN, IMEI, UUIDs, MAC addresses, Luhn-invalid cards, IBANs and NIRs with a wrong
check, never-issued SSNs, loopback addresses, netmasks, OIDs).

Labelling policy (what a human redacting the text would remove): every e-mail address, phone number, IBAN,
payment card, NIR, SSN and IP address that identifies a host — but not loopback/unspecified addresses, netmasks,
multicast groups, nor a dotted number introduced as a version or build.

Held-out split: templates alternate between two pools; even ids ("dev") draw from pool 0, odd ids ("test") from
pool 1, so the test texts' sentence forms were never seen while improving the detectors on the dev half.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import random
import re
from collections.abc import Callable
from pathlib import Path

OUT = Path(__file__).resolve().parent / "data" / "pii_labelled.jsonl"
R = random.Random


# -- check digits (written independently of ragd.privacy) ---------------------------------------------------------
def luhn_complete(payload: str) -> str:
    for d in "0123456789":
        s = payload + d
        total = sum(int(c) if i % 2 == 0 else sum(divmod(int(c) * 2, 10)) for i, c in enumerate(reversed(s)))
        if total % 10 == 0:
            return s
    raise AssertionError


def iban_of(country: str, bban: str) -> str:
    num = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    return f"{country}{98 - num % 97:02d}{bban}"


def iban_is_valid(iban: str) -> bool:
    return int("".join(str(int(c, 36)) for c in iban[4:] + iban[:4])) % 97 == 1


def nir_key(first13: str) -> int:
    n = first13.replace("2A", "19").replace("2B", "18") if first13[5:7] in ("2A", "2B") else first13
    return 97 - int(n) % 97


def digits(rng: R, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def upper(rng: R, n: int) -> str:
    return "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(n))


# -- true personal data ------------------------------------------------------------------------------------------
FIRST = ["Marie", "Jean", "Camille", "Lucas", "Chloé", "Thomas", "Inès", "Hugo", "Léa", "Nicolas", "Sarah", "Karim",
         "Emily", "James", "Olivia", "Michael", "Priya", "Daniel", "Grace", "Wei", "Fatou", "Yann", "Anaïs", "Omar"]
LAST = ["Martin", "Dubois", "Bernard", "Moreau", "Laurent", "Lefèvre", "Garcia", "Nguyen", "Smith", "Johnson",
        "Brown", "Williams", "Taylor", "Patel", "Kowalski", "Rossi", "Diallo", "Benali", "Le Gall", "O'Brien"]
DOMAINS = ["gmail.com", "orange.fr", "free.fr", "laposte.net", "exemple.fr", "example.com", "acme-corp.io",
           "mail.univ-lyon2.fr", "outlook.com", "yahoo.co.uk", "entreprise.gouv.fr", "sub.example.org"]


def _ascii(s: str) -> str:
    table = str.maketrans("éèêëàâîïôöûüçÉ", "eeeeaaiioouucE")
    return re.sub(r"[^a-z0-9]", "", s.lower().translate(table))


def email(rng: R) -> str:
    f, last = _ascii(rng.choice(FIRST)), _ascii(rng.choice(LAST))
    local = rng.choice([f"{f}.{last}", f"{f[0]}.{last}", f"{f}{last}{rng.randint(1, 99)}", f"{f}_{last}",
                        f"{f}.{last}+{rng.choice(['factures', 'news', 'rh'])}", f"{last}.{f}", f"{f[0]}{last}",
                        rng.choice(["contact", "support", "paie", "billing", "rh", "no-reply"])])
    if rng.random() < 0.1:
        local = local.capitalize()
    if rng.random() < 0.03:
        local = "o'" + last  # valid in RFC 5322, rare in practice
    if rng.random() < 0.03:  # obfuscated by its owner: still personal data
        return f"{local} at {rng.choice(DOMAINS)}"
    return f"{local}@{rng.choice(DOMAINS)}"


def phone_fr(rng: R) -> str:
    pairs = [rng.choice("1234567996677"), *[digits(rng, 2) for _ in range(4)]]
    sep = rng.choice([" ", " ", ".", "-", "", "\u00a0"])  # word processors put no-break spaces in numbers
    style = rng.random()
    if style < 0.55:
        return "0" + pairs[0] + sep + sep.join(pairs[1:])
    if style < 0.75:
        return "+33 " + pairs[0] + " " + " ".join(pairs[1:])
    if style < 0.85:
        return "+33 (0)" + pairs[0] + " " + " ".join(pairs[1:])
    if style < 0.93:
        return "0033 " + pairs[0] + " " + " ".join(pairs[1:])
    return "+33" + "".join(pairs)


def phone_us(rng: R) -> str:
    area, ex, line = f"{rng.randint(2, 9)}{digits(rng, 2)}", f"{rng.randint(2, 9)}{digits(rng, 2)}", digits(rng, 4)
    if area[1:] == "11":
        area = area[0] + "12"
    return rng.choice([f"+1 ({area}) {ex}-{line}", f"({area}) {ex}-{line}", f"{area}-{ex}-{line}",
                       f"+1 {area} {ex} {line}", f"+1-{area}-{ex}-{line}", f"{area}.{ex}.{line}",
                       f"1-{area}-{ex}-{line}"])


def phone_intl(rng: R) -> str:
    return rng.choice([
        f"+44 20 {digits(rng, 4)} {digits(rng, 4)}", f"+44 7{digits(rng, 3)} {digits(rng, 6)}",
        f"+44 (0)20 {digits(rng, 4)} {digits(rng, 4)}", f"0044 20 {digits(rng, 4)} {digits(rng, 4)}",
        f"+49 30 {digits(rng, 8)}", f"+49 151 {digits(rng, 8)}", f"+32 2 {digits(rng, 3)} {digits(rng, 2)} "
        f"{digits(rng, 2)}", f"+41 44 {digits(rng, 3)} {digits(rng, 2)} {digits(rng, 2)}",
        f"+34 6{digits(rng, 2)} {digits(rng, 3)} {digits(rng, 3)}", f"+39 3{digits(rng, 2)} {digits(rng, 7)}",
        f"+212 6 {digits(rng, 2)} {digits(rng, 2)} {digits(rng, 2)} {digits(rng, 2)}",
        f"+1 (415) 555-0{digits(rng, 3)}",
        f"020 {digits(rng, 4)} {digits(rng, 4)}",  # UK national format
    ])


def phone(rng: R) -> str:
    return rng.choice([phone_fr, phone_fr, phone_us, phone_intl])(rng)


def _group4(s: str, sep: str = " ") -> str:
    return sep.join(s[i:i + 4] for i in range(0, len(s), 4))


def iban(rng: R) -> str:
    country = rng.choice(["FR", "FR", "FR", "DE", "GB", "ES", "IT", "BE", "NL", "CH", "LU", "PT", "MC"])
    if country in ("FR", "MC"):
        bank, branch, account = digits(rng, 5), digits(rng, 5), digits(rng, 11)
        rib = 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97
        bban = f"{bank}{branch}{account}{rib:02d}"
    else:
        bban = {
            "DE": lambda: digits(rng, 18), "GB": lambda: upper(rng, 4) + digits(rng, 14),
            "ES": lambda: digits(rng, 20), "IT": lambda: upper(rng, 1) + digits(rng, 22),
            "BE": lambda: digits(rng, 12), "NL": lambda: upper(rng, 4) + digits(rng, 10),
            "CH": lambda: digits(rng, 17), "LU": lambda: digits(rng, 3) + digits(rng, 13),
            "PT": lambda: digits(rng, 21),
        }[country]()
    value = iban_of(country, bban)
    assert iban_is_valid(value)
    return _group4(value, rng.choice([" "] * 8 + ["\u00a0"])) if rng.random() < 0.65 else value


def _card_digits(rng: R) -> str:
    brand = rng.choice(["visa", "visa", "mc", "mc2", "amex", "discover"])
    payload = {"visa": lambda: "4" + digits(rng, 14), "mc": lambda: f"5{rng.randint(1, 5)}" + digits(rng, 13),
               "mc2": lambda: f"{rng.randint(2221, 2720)}" + digits(rng, 11),
               "amex": lambda: rng.choice(["34", "37"]) + digits(rng, 12),
               "discover": lambda: "6011" + digits(rng, 11)}[brand]()
    return luhn_complete(payload)


def _card_format(rng: R, d: str) -> str:
    if rng.random() < 0.25:
        return d
    sep = rng.choice([" ", " ", "-", " ", "\u00a0"])
    if len(d) == 15:
        return f"{d[:4]}{sep}{d[4:10]}{sep}{d[10:]}"
    return _group4(d, sep)


def card(rng: R) -> str:
    return _card_format(rng, _card_digits(rng))


def _nir_parts(rng: R) -> str:
    sex, yy, mm = rng.choice("12"), digits(rng, 2), f"{rng.randint(1, 12):02d}"
    place = rng.random()
    if place < 0.1:
        loc = rng.choice(["2A", "2B"]) + f"{rng.randint(1, 366):03d}"
    elif place < 0.2:
        loc = f"97{rng.randint(1, 6)}" + f"{rng.randint(1, 99):02d}"
    elif place < 0.3:
        loc = "99" + f"{rng.randint(100, 450):03d}"
    else:
        dept = rng.choice([d for d in range(1, 96) if d != 20])
        loc = f"{dept:02d}{rng.randint(1, 900):03d}"
    return sex + yy + mm + loc + f"{rng.randint(1, 999):03d}"


def _nir_format(rng: R, n: str) -> str:
    style = rng.random()
    if style < 0.5:
        sep = "\u00a0" if rng.random() < 0.15 else " "
        return sep.join([n[0], n[1:3], n[3:5], n[5:7], n[7:10], n[10:13], n[13:]])
    if style < 0.8:
        return n
    return n[:13] + " " + n[13:]


def nir(rng: R) -> str:
    first = _nir_parts(rng)
    return _nir_format(rng, f"{first}{nir_key(first):02d}")


def _ssn_digits(rng: R) -> str:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"


def ssn(rng: R) -> str:
    d = _ssn_digits(rng)
    return rng.choice([f"{d[:3]}-{d[3:5]}-{d[5:]}", f"{d[:3]}-{d[3:5]}-{d[5:]}", f"{d[:3]} {d[3:5]} {d[5:]}"])


def ipv4(rng: R) -> str:
    return rng.choice([
        f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}", f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}."
        f"{rng.randint(1, 254)}", f"172.{rng.randint(16, 31)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        f"203.0.113.{rng.randint(1, 254)}", f"{rng.choice([81, 82, 90, 109, 176, 86, 37, 52, 34, 185])}."
        f"{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
    ])


def ipv6(rng: R) -> str:
    base = rng.choice(["2001:db8", "2a01:e0a", "2a01:cb00", "fe80:0", "2606:4700"])
    groups = base.split(":") + [f"{rng.randint(0, 65535):x}" for _ in range(8 - len(base.split(":")))]
    if rng.random() < 0.4:
        groups[rng.randint(3, 5)] = "0"
        groups[rng.randint(3, 5)] = "0"
    addr = ipaddress.IPv6Address(":".join(groups))
    return addr.exploded if rng.random() < 0.2 else addr.compressed


def ip(rng: R) -> str:
    return ipv4(rng) if rng.random() < 0.7 else ipv6(rng)


def ip_port(rng: R) -> tuple[str, tuple[int, int]]:
    """An address with its port; only the address is personal data."""
    port = rng.randint(1024, 65535)
    if rng.random() < 0.6:
        a = ipv4(rng)
        return f"{a}:{port}", (0, len(a))
    a = ipv6(rng)
    return f"[{a}]:{port}", (1, 1 + len(a))


# -- hard negatives ----------------------------------------------------------------------------------------------
def bad_card(rng: R) -> str:
    d = _card_digits(rng)
    return _card_format(rng, d[:-1] + str((int(d[-1]) + rng.randint(1, 9)) % 10))


def bad_iban(rng: R) -> str:
    good = re.sub(r"\s", "", iban(rng))
    wrong = f"{(int(good[2:4]) + rng.randint(1, 96)) % 97 + 2:02d}"
    value = good[:2] + wrong + good[4:]
    if iban_is_valid(value):
        value = good[:2] + f"{(int(wrong) + 1) % 97 + 2:02d}" + good[4:]
    return _group4(value) if rng.random() < 0.6 else value


def bad_nir(rng: R) -> str:
    first = _nir_parts(rng)
    return _nir_format(rng, f"{first}{(nir_key(first) + rng.randint(1, 90)) % 97 + 1:02d}")


def bad_ssn(rng: R) -> str:
    d = rng.choice([f"000{digits(rng, 2)}{digits(rng, 4)}", f"666{digits(rng, 2)}{digits(rng, 4)}",
                    f"9{digits(rng, 2)}{digits(rng, 2)}{digits(rng, 4)}", f"{rng.randint(100, 899)}00{digits(rng, 4)}",
                    f"{rng.randint(100, 899)}{rng.randint(10, 99)}0000", "078051120"])
    return f"{d[:3]}-{d[3:5]}-{d[5:]}"


def siren_digits(rng: R) -> str:
    return luhn_complete(str(rng.randint(1, 9)) + digits(rng, 7))


def siret(rng: R) -> str:
    s = luhn_complete(siren_digits(rng) + digits(rng, 4))
    return rng.choice([f"{s[:3]} {s[3:6]} {s[6:9]} {s[9:]}", s])


def siren(rng: R) -> str:
    s = siren_digits(rng)
    return rng.choice([f"{s[:3]} {s[3:6]} {s[6:]}", s])


def isbn(rng: R) -> str:
    body = rng.choice(["9782", "9781", "9791"]) + digits(rng, 8)
    check = (10 - sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body)) % 10) % 10
    d = body + str(check)
    return rng.choice([f"{d[:3]}-{d[3]}-{d[4:6]}-{d[6:12]}-{d[12]}", d])


def imei(rng: R) -> str:
    return luhn_complete(rng.choice(["35", "86", "01"]) + digits(rng, 12))


def amount(rng: R) -> str:
    v = rng.randint(1, 2_000_000) / 100
    return rng.choice([f"{v:,.2f} €".replace(",", " ").replace(".", ","),
                       f"{v:,.2f} EUR".replace(",", " ").replace(".", ","), f"${v:,.2f}", f"£{v:,.2f}",
                       f"{int(v):,} €".replace(",", " ")])


def date(rng: R) -> str:
    y, m, d = rng.randint(2019, 2025), rng.randint(1, 12), rng.randint(1, 28)
    return rng.choice([f"{d:02d}/{m:02d}/{y}", f"{y}-{m:02d}-{d:02d}", f"{d:02d}.{m:02d}.{y}", f"{d}/{m}/{y}"])


def ts(rng: R) -> str:
    y, m, d = rng.randint(2023, 2025), rng.randint(1, 12), rng.randint(1, 28)
    h, mi, s = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
    day, clock = f"{y}-{m:02d}-{d:02d}", f"{h:02d}:{mi:02d}:{s:02d}"
    return rng.choice([f"{day}T{clock}Z", f"{day} {clock},{rng.randint(0, 999):03d}",
                       f"{day}T{clock}.{digits(rng, 6)}+02:00"])


def version(rng: R) -> str:
    return rng.choice([f"v{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 20)}",
                       f"{rng.randint(1, 12)}.{rng.randint(0, 9)}.{rng.randint(0, 40)}",
                       f"{rng.randint(1, 5)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}",
                       f"10.0.{rng.randint(17000, 22631)}.{rng.randint(100, 3999)}"])


def order(rng: R) -> str:
    return rng.choice([f"CMD-{rng.randint(2020, 2025)}-{digits(rng, 6)}", f"#{upper(rng, 1)}{digits(rng, 5)}",
                       f"{rng.randint(2020, 2025)}{digits(rng, 8)}", f"PO-{digits(rng, 7)}", f"{digits(rng, 9)}"])


def invoice(rng: R) -> str:
    return rng.choice([f"FAC-{rng.randint(2021, 2025)}-{digits(rng, 5)}", f"INV-{digits(rng, 6)}",
                       f"F{digits(rng, 8)}"])


def tracking(rng: R) -> str:
    return rng.choice([f"1Z{digits(rng, 3)}{upper(rng, 2)}{digits(rng, 10)}", f"6A{digits(rng, 11)}",
                       f"{upper(rng, 2)}{digits(rng, 9)}FR", f"{digits(rng, 4)} {digits(rng, 4)} {digits(rng, 4)}"])


def negative_ip(rng: R) -> str:
    return rng.choice(["127.0.0.1", "0.0.0.0", "::1", "255.255.255.0", "255.255.0.0", "224.0.0.251",
                       f"{rng.randint(256, 999)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}",
                       f"1.3.6.1.4.1.{rng.randint(100, 99999)}.{rng.randint(1, 9)}"])


def uuid_(rng: R) -> str:
    h = "".join(rng.choice("0123456789abcdef") for _ in range(32))
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def mac(rng: R) -> str:
    return ":".join(f"{rng.randint(0, 255):02X}" for _ in range(6))


def tva(rng: R) -> str:
    s = siren_digits(rng)
    return f"FR{(12 + 3 * (int(s) % 97)) % 97:02d}{s}"


SLOTS: dict[str, tuple[Callable[[R], str | tuple[str, tuple[int, int]]], str | None]] = {
    "email": (email, "email"), "phone": (phone, "phone"), "phone_fr": (phone_fr, "phone"),
    "phone_us": (phone_us, "phone"), "phone_intl": (phone_intl, "phone"), "iban": (iban, "iban"),
    "card": (card, "card"), "nir": (nir, "nir"), "ssn": (ssn, "ssn"), "ipv4": (ipv4, "ip"), "ipv6": (ipv6, "ip"),
    "ip": (ip, "ip"), "ip_port": (ip_port, "ip"), "ssn_bare": (lambda rng: _ssn_digits(rng), "ssn"),
    "bad_card": (bad_card, None), "bad_iban": (bad_iban, None), "bad_nir": (bad_nir, None),
    "bad_ssn": (bad_ssn, None), "siret": (siret, None), "siren": (siren, None), "isbn": (isbn, None),
    "imei": (imei, None), "amount": (amount, None), "date": (date, None), "ts": (ts, None),
    "version": (version, None), "order": (order, None), "invoice": (invoice, None), "tracking": (tracking, None),
    "neg_ip": (negative_ip, None), "uuid": (uuid_, None), "mac": (mac, None), "tva": (tva, None),
    "first": (lambda rng: rng.choice(FIRST), None), "last": (lambda rng: rng.choice(LAST), None),
    "name": (lambda rng: f"{rng.choice(FIRST)} {rng.choice(LAST)}", None),
    "city": (lambda rng: rng.choice(["Lyon", "Paris", "Nantes", "Lille", "Bordeaux", "Ajaccio", "Leeds"]), None),
    "postcode": (lambda rng: f"{rng.randint(1, 95):02d}{rng.randint(0, 999):03d}", None),
    "num": (lambda rng: str(rng.randint(1, 480)), None), "port": (lambda rng: str(rng.randint(1024, 65535)), None),
    "bic": (lambda rng: upper(rng, 4) + rng.choice(["FR", "DE", "GB"]) + upper(rng, 2) + rng.choice(["", "XXX"]),
            None),
}


# -- templates: pairs (pool 0, pool 1) of the same kind of document, worded differently ------------------------------
TEMPLATES: list[tuple[str, str]] = [
    # support tickets (fr)
    ("fr", "Bonjour, je n'arrive plus à me connecter depuis le {date}. Mon adresse est {email} et vous pouvez me "
           "rappeler au {phone_fr}. Merci d'avance."),
    ("fr", "Objet : accès bloqué\nMadame, Monsieur, mon compte ({email}) est verrouillé depuis le {date}. Je reste "
           "joignable au {phone_fr} en journée. Cordialement, {name}"),
    ("fr", "Ticket {order} — {name} signale un double prélèvement de {amount} sur sa carte {card}. Merci de le "
           "rappeler au {phone}."),
    ("fr", "Réclamation n° {invoice} : la carte bancaire {card} a été débitée deux fois ({amount}) pour la commande "
           "{order}. Client joignable au {phone} ou par mail ({email})."),
    ("fr", "Le remboursement de {amount} sera effectué le {date} sur le compte IBAN {iban}. Pour toute question, "
           "écrivez à {email}."),
    ("fr", "Suite à votre demande du {date}, nous procédons au virement de {amount} vers l'IBAN suivant : {iban} "
           "(BIC {bic})."),
    # support tickets (en)
    ("en", "Hi team, I was charged twice for order {order} on {date}. Please refund the card {card}. You can reach "
           "me at {phone_us} or {email}. Thanks, {first}"),
    ("en", "Customer {name} ({email}) says the mobile app crashes since {version}. Call back number: {phone_us}. "
           "Device IMEI {imei}."),
    ("en", "Ticket {order}: user cannot reset password. Registered e-mail {email}, last login from {ipv4} on "
           "{date}."),
    ("en", "Escalation: the payment with card {card} failed three times (amount {amount}). Customer phone "
           "{phone_intl}, account e-mail {email}."),
    # HR letters (fr)
    ("fr", "Madame {last},\nNous avons le plaisir de vous confirmer votre embauche à compter du {date}. Merci de "
           "nous transmettre votre numéro de sécurité sociale ({nir}) ainsi qu'un RIB (IBAN {iban}) avant le "
           "{date}.\nLe service RH"),
    ("fr", "Attestation employeur\n{name}, numéro de sécurité sociale {nir}, est employé(e) par notre société "
           "(SIRET {siret}) depuis le {date}. Contact RH : {phone_fr} — {email}."),
    ("fr", "Bulletin de paie — période du {date} au {date}\nSalarié : {name} — N° SS : {nir}\nNet à payer : "
           "{amount}, viré sur {iban}.\nEmployeur SIRET {siret}, code APE 6201Z."),
    ("fr", "Fiche salarié : {name}, né(e) à {city}. NIR : {nir}. Téléphone : {phone_fr}. Coordonnées bancaires : "
           "{iban}. Matricule interne {order}."),
    # HR letters (en)
    ("en", "Dear {first},\nWelcome aboard! Please bring your SSN card ({ssn}) on your first day, {date}, and send "
           "your direct-deposit details to {email}.\nHR Department"),
    ("en", "Employment verification: {name} has been employed since {date}. SSN on file: {ssn}. For questions call "
           "{phone_us}."),
    ("en", "Payroll update for {name}: social security number {ssn_bare} confirmed; net pay {amount} will be "
           "deposited on {date}."),
    ("en", "Onboarding checklist — {name}\n- SSN: {ssn}\n- Phone: {phone_us}\n- Personal e-mail: {email}\n- Laptop "
           "asset tag: {order}"),
    # invoices
    ("fr", "FACTURE N° {invoice} du {date}\n{city} Services SAS — SIRET {siret} — TVA {tva}\nTotal TTC : {amount}"
           "\nRèglement par virement : IBAN {iban} — BIC {bic}"),
    ("fr", "Facture {invoice}\nÉmise le {date}, échéance le {date}.\nMontant HT {amount}, TVA 20 %.\nCoordonnées "
           "bancaires : {iban}. Contact comptabilité : {email}, {phone_fr}."),
    ("en", "Invoice {invoice} — Amount due: {amount} by {date}. Please wire the payment to IBAN {iban} (BIC {bic}). "
           "Questions: {email}."),
    ("en", "Statement {invoice}\nBill to: {name}\nTotal: {amount}\nPaid by card {card} on {date}. Receipt sent to "
           "{email}."),
    # log lines
    ("log", "{ts} WARN auth: failed login for user={email} from ip={ipv4} attempt=3 request_id={uuid}"),
    ("log", "{ts} INFO  [http] 203 GET /api/v1/orders/{order} from {ip} took 12ms user={email}"),
    ("log", "{ts} ERROR payment-service: card {card} declined (code 05) order={order} amount={amount}"),
    ("log", "{ts} ERROR billing: charge failed for card_number={card} customer={email} retry=2"),
    ("log", "{ts} DEBUG server listening on {neg_ip}:{port}, build {version}, pid {num}"),
    ("log", "{ts} INFO worker started (version {version}) bound to {neg_ip}:{port}, job {uuid}"),
    ("log", "{ts} INFO dhcp: lease {ipv4} netmask {neg_ip} gateway {ipv4} for hw {mac}"),
    ("log", "{ts} NOTICE sshd[{num}]: Accepted publickey for deploy from {ip} port {port} ssh2"),
    ("log", "{ts} INFO sms: verification code sent to {phone} (template {order})"),
    ("log", "{ts} WARN kyc: iban={iban} rejected for customer {uuid}: name mismatch"),
    ("log", "{ts} INFO export: wrote {num} rows to /data/exports/{date}.csv in 1.42 s (sha {uuid})"),
    ("log", "{ts} WARN validator: invalid NIR {bad_nir} in row {num}; invalid IBAN {bad_iban} in row {num}"),
    # CVs
    ("fr", "{name}\n{num} rue des Lilas, {postcode} {city}\nTél. : {phone_fr} — {email}\nPermis B — Né le {date}\n"
           "Expérience : chef de projet chez {city} Conseil (2019-2023)."),
    ("fr", "CURRICULUM VITAE\n{name} — Ingénieure logiciel\nContact : {email} / {phone}\nCompétences : Python "
           "{version}, PostgreSQL, Docker. Certification ISBN {isbn} (livre publié)."),
    ("en", "{name} — Software Engineer\n{phone_intl} · {email} · linkedin.com/in/{last}\nSkills: Python, Go, "
           "Kubernetes {version}\nExperience: 2018-2024, Acme Corp."),
    ("en", "Resume — {name}\nAddress: {num} Baker Street, London\nMobile: {phone_intl}\nEmail: {email}\nEducation: "
           "MSc Computer Science, 2016."),
    # bank and payments
    ("fr", "Merci de noter mon nouveau RIB : IBAN {iban}. L'ancien compte {bad_iban} est clôturé depuis le {date}."),
    ("fr", "Votre prélèvement SEPA de {amount} sera débité le {date} sur le compte {iban}. Référence mandat "
           "{order}."),
    ("en", "We could not process the transfer: IBAN {bad_iban} has an invalid checksum. Please confirm the correct "
           "account, e.g. {iban}."),
    ("en", "Card on file: {card} (exp. 09/27). The previous card {bad_card} was rejected by the issuer."),
    # network notes
    ("en", "The VPN gateway moved to {ipv4}; the old address {ipv4} will be decommissioned on {date}. IPv6: {ipv6}."),
    ("en", "Firewall rule #{num}: allow tcp from {ip} to {ipv4} port {port}; deny all from {ipv6}."),
    ("fr", "Le serveur de fichiers répond sur {ipv4} (masque {neg_ip}). Adresse IPv6 : {ipv6}."),
    ("fr", "Incident du {date} : trafic anormal depuis {ip} vers notre frontal {ipv4}. Ticket {order}."),
    # hard negatives only
    ("fr", "Commande {order} du {date} : 3 articles, total {amount}. Numéro de suivi {tracking}. SIREN {siren}."),
    ("fr", "Référence {invoice} — échéance {date} — montant {amount} — TVA intracommunautaire {tva} — SIRET "
           "{siret}."),
    ("en", "Please update to {version} (build {version}); the previous release had a bug in the ISBN parser "
           "({isbn})."),
    ("en", "Shipment {tracking} left the warehouse at {ts}. Order {order}, {num} items, total {amount}."),
    ("fr", "La carte {bad_card} a été refusée : numéro invalide. Le NIR {bad_nir} ne correspond pas à la clé."),
    ("en", "The SSN {bad_ssn} entered was rejected: such numbers are never issued. Card {bad_card} failed the "
           "Luhn check."),
    ("log", "{ts} INFO snmp: polling OID {neg_ip} on localhost ({neg_ip}), device IMEI {imei}, mac {mac}"),
    ("log", "{ts} INFO release {version} deployed to cluster, commit {uuid}, took 93 s, {num} pods"),
    ("en", "Product {order}: ISBN {isbn}, EAN {isbn}, weight 1.2 kg, price {amount}, version {version}."),
    ("fr", "Le contrat {order} signé le {date} prend effet au {date} ; montant annuel {amount} ; SIREN {siren}."),
    # mixed
    ("fr", "Dossier {order} : M. {name}, NIR {nir}, téléphone {phone}, adresse e-mail {email}, IBAN {iban}."),
    ("en", "KYC record {uuid}: name {name}, SSN {ssn}, phone {phone}, e-mail {email}, card {card}, ip {ip}."),
    ("fr", "Bonjour,\nvoici mes coordonnées mises à jour : {phone_fr} (portable) et {phone_fr} (fixe). Mon numéro "
           "de sécurité sociale est le {nir}.\nBien à vous"),
    ("en", "Hello, my new number is {phone_intl} and my old one was {phone_us}. My SSN is {ssn}, in case you need "
           "it for the form."),
    ("fr", "Pour le remboursement de vos frais ({amount}), merci de confirmer l'IBAN {iban} et votre numéro de "
           "sécu {nir}."),
    ("en", "Reminder: the card {card} linked to {email} expires next month; order {order} will be charged on "
           "{date}."),
    ("log", "{ts} AUDIT user {email} exported customer {uuid} (phone {phone}, iban {iban}) from {ip}"),
    ("log", "{ts} AUDIT admin {email} viewed SSN {ssn} of employee {order} from {ipv4}"),
    ("fr", "Patient : {name}\nN° sécurité sociale : {nir}\nMutuelle : contrat {order}\nTél : {phone_fr}"),
    ("en", "Patient intake — {name}, DOB {date}, SSN {ssn}, insurance ID {order}, phone {phone_us}."),
    ("fr", "Pour joindre le standard : {phone_fr}. Horaires : 9h-12h / 14h-17h. Fax : {phone_fr}."),
    ("en", "Call us at {phone_us} (Mon-Fri, 9am-5pm) or from abroad at {phone_intl}."),
    ("log", "{ts} WARN mail: bounce for {email} (550 5.1.1 user unknown), queue id {uuid}"),
    ("log", "{ts} INFO smtp: delivered message {uuid} to {email} via {ipv4}"),
    ("en", "From: {name} <{email}>\nTo: Support <{email}>\nSubject: refund for order {order}\n\nPlease call me back "
           "on {phone}."),
    ("fr", "De : {name} <{email}>\nÀ : Service client <{email}>\nObjet : commande {order}\n\nMon numéro : "
           "{phone_fr}."),
    ("log", "{ts} ERROR db: connection to {ip_port} refused (attempt {num}), pool {uuid}"),
    ("log", "{ts} WARN proxy: upstream {ip_port} timed out after 30 s; client {ip_port}"),
    ("en", '<p>Questions? <a href="mailto:{email}">Email us</a> or <a href="tel:{phone_intl}">call</a>.</p>'),
    ("fr", '<p>Contactez-nous : <a href="mailto:{email}">écrire</a> ou par téléphone au {phone_fr}.</p>'),
]


def fill(rng: R, template: str) -> tuple[str, list[dict[str, object]]]:
    out: list[str] = []
    spans: list[dict[str, object]] = []
    pos = 0
    for m in re.finditer(r"\{(\w+)\}", template):
        out.append(template[pos:m.start()])
        make, kind = SLOTS[m.group(1)]
        value = make(rng)
        start = sum(len(p) for p in out)
        rel = (0, len(value))
        if isinstance(value, tuple):
            value, rel = value
        out.append(value)
        if kind is not None:
            spans.append({"kind": kind, "start": start + rel[0], "end": start + rel[1]})
        pos = m.end()
    out.append(template[pos:])
    return "".join(out), spans


def build(seed: int, records: int) -> list[dict[str, object]]:
    rng = random.Random(seed)
    templates = TEMPLATES
    pools = [templates[0::2], templates[1::2]]
    rows = []
    for i in range(records):
        pool = pools[i % 2]
        t_index = rng.randrange(len(pool))
        lang, template = pool[t_index]
        text, spans = fill(rng, template)
        rows.append({"id": i, "split": "dev" if i % 2 == 0 else "test", "lang": lang,
                     "template": 2 * t_index + i % 2, "text": text, "spans": spans})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--records", type=int, default=480)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    rows = build(args.seed, args.records)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    kinds: dict[str, int] = {}
    for row in rows:
        for s in row["spans"]:  # type: ignore[union-attr]
            kinds[s["kind"]] = kinds.get(s["kind"], 0) + 1  # type: ignore[index]
    print(f"wrote {len(rows)} records to {args.out}; spans by kind: {dict(sorted(kinds.items()))}")


if __name__ == "__main__":
    main()
