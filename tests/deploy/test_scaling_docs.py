"""docs/scaling.md states what the code and the deployment files do: the pool size, the files it names, the
commands it gives for the compose profile."""

from __future__ import annotations

import re

from tests.support import REPO

from ragd.store.postgres.connection import POOL_SIZE

DOC = (REPO / "docs" / "scaling.md").read_text()


def test_the_pool_size_is_the_code_s() -> None:
    assert f"at most **{POOL_SIZE} connections**" in DOC
    assert "ragd.store.postgres.connection.POOL_SIZE" in DOC


def test_every_named_file_exists() -> None:
    named = set(re.findall(r"`((?:deploy|docs|bench|tests)/[\w./-]+?)/?`", DOC))
    assert {"deploy/compose.yaml", "deploy/caddy/Caddyfile"} <= named
    for path in named:
        assert (REPO / path).exists(), path


def test_the_compose_commands_name_real_profiles_and_files() -> None:
    compose = (REPO / "deploy" / "compose.yaml").read_text()
    for doc in (DOC, compose, (REPO / "docs" / "operations.md").read_text()):
        assert "--env-file deploy/scaled.env --profile scaled up -d --build proxy" in doc
    assert "cp deploy/scaled.env.example deploy/scaled.env" in DOC


def test_linked_from_the_readme() -> None:
    assert "(docs/scaling.md)" in (REPO / "README.md").read_text()
