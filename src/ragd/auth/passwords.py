"""Password strength: how easy a new password is to guess, estimated by zxcvbn (a maintained dependency).

zxcvbn matches the password against its frequency lists (30,000 common passwords from leaked sets, English words,
names), keyboard walks, sequences, repeats, dates and l33t substitutions, and estimates the guesses needed; its
score runs from 0 (among the most common passwords) to 4. We also give it the e-mail and its parts, so that a
password built from the address is weak too. Only the first :data:`CHECKED_CHARS` characters are estimated: the
estimate grows quickly with length, and a longer password is not weaker for what follows.
"""

from __future__ import annotations

import re

from zxcvbn import zxcvbn

CHECKED_CHARS = 72
"""zxcvbn's own bound: it refuses longer input."""


def password_weakness(password: str, email: str = "", min_score: int = 2) -> str | None:
    """Why ``password`` is too easy to guess (score below ``min_score``), or ``None`` when it is strong enough.
    ``min_score=0`` accepts everything."""
    if min_score <= 0:
        return None
    email = email.lower()
    words = [w for w in re.split(r"[@._+\-]", email) if len(w) >= 3]
    result = zxcvbn(password[:CHECKED_CHARS], user_inputs=[email, email.partition("@")[0], *words])
    if int(result["score"]) >= min_score:
        return None
    feedback = result.get("feedback") or {}
    warning = str(feedback.get("warning") or "").strip()
    reason = warning or "it is a common password or follows a common pattern"
    return f"{reason.rstrip('.')} (choose a longer one, e.g. a few unrelated words)"
