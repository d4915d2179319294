"""File-name cleaning (``sanitize_filename``): nothing invisible survives — format characters (zero-width marks,
the soft hyphen, bidi controls, tag characters U+E0000–U+E007F), controls, unassigned code points — whatever the
name, and what is visible is kept."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ragd.ingest.files import sanitize_filename

INVISIBLE = [
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff",  # zero-width space / non-joiner / joiner, word joiner, BOM
    "\u00ad",  # soft hyphen
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f",
    "\u061c",  # bidi controls
    "\U000e0001", "\U000e0041", "\U000e007f",  # tag characters
    "\u180e", "\u2061", "\u206a", "\ufff9",  # Mongolian vowel separator, invisible operators, annotations
    "\u3164", "\u115f",  # Hangul fillers
]
FORBIDDEN_CATEGORIES = {"Cf", "Cc", "Cn", "Zl", "Zp"}


def shows_nothing_forbidden(name: str) -> bool:
    return not any(unicodedata.category(ch) in FORBIDDEN_CATEGORIES for ch in name)


@pytest.mark.parametrize("ch", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_each_invisible_character_is_dropped(ch: str) -> None:
    assert sanitize_filename(f"in{ch}voice{ch}.pdf") == "invoice.pdf"


def test_a_name_of_tag_characters_only_is_unnamed() -> None:
    assert sanitize_filename("".join(chr(c) for c in range(0xE0000, 0xE0080))) == "unnamed"


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300))
def test_no_invisible_or_control_character_survives(name: str) -> None:
    out = sanitize_filename(name)
    assert out and shows_nothing_forbidden(out), ascii(out)
    assert len(out) <= 200 and len(out.encode()) <= 240
    assert "/" not in out and "\\" not in out


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.characters(categories=("L", "N"), exclude_characters="\u3164\u115f\u1160\uffa0"),
            min_size=1, max_size=40),
    st.lists(st.sampled_from(INVISIBLE), max_size=10),
    st.randoms(use_true_random=False),
)
def test_visible_letters_are_kept_in_order(visible: str, noise: list[str], rnd) -> None:  # type: ignore[no-untyped-def]
    chars = list(visible)
    for ch in noise:
        chars.insert(rnd.randint(0, len(chars)), ch)
    expected = unicodedata.normalize("NFC", visible)
    assert sanitize_filename("".join(chars) + ".txt") == sanitize_filename(expected + ".txt")
