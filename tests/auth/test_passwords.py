"""Password strength (issue 14, low): common passwords, their simple variants and the e-mail are refused."""

from __future__ import annotations

import pytest

from ragd.auth.passwords import CHECKED_CHARS, password_weakness
from ragd.auth.service import AuthService
from ragd.config import AuthSettings
from ragd.errors import BadRequest


@pytest.mark.parametrize("weak", ["password", "1234567890", "qwertyuiop", "Password123!", "iloveyou2024",
                                  "letmein12345", "aaaaaaaaaaaa", "abcdefghijkl"])
def test_common_passwords_and_patterns_are_weak(weak: str) -> None:
    assert password_weakness(weak) is not None


def test_a_password_made_of_the_email_is_weak() -> None:
    assert password_weakness("marguerite.dupont", "marguerite.dupont@example.org") is not None
    assert password_weakness("marguerite.dupont") is None  # the same text is fine for someone else


@pytest.mark.parametrize("strong", ["correct horse battery", "quiet otter drafts maple ledger", "x7#Lp9!qRz2v"])
def test_unusual_passwords_pass(strong: str) -> None:
    assert password_weakness(strong) is None


def test_score_zero_turns_the_check_off_and_long_passwords_stay_fast() -> None:
    assert password_weakness("password", min_score=0) is None
    assert password_weakness("qwertyuiop" * 100) is not None  # only the first CHECKED_CHARS are estimated
    assert len("qwertyuiop" * 100) > CHECKED_CHARS


def test_the_service_refuses_a_common_password_with_a_reason() -> None:
    service = AuthService(identities=None, settings=AuthSettings(), jwt_secret="s" * 40)  # type: ignore[arg-type]
    with pytest.raises(BadRequest, match="too easy to guess"):
        service.check_password("Password123!")
    service.check_password("quiet otter drafts maple ledger")
    lenient = AuthService(identities=None, settings=AuthSettings(password_min_score=0),  # type: ignore[arg-type]
                          jwt_secret="s" * 40)
    lenient.check_password("Password123!")
