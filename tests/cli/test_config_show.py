"""`ragd config show` never prints a secret: every ``SecretStr`` anywhere in the settings tree (found by walking
the model, so secrets added later are covered) is masked in JSON and YAML; secret-looking fields are typed as
secrets; a rejected secret is not echoed in the error."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, SecretStr, field_serializer

from ragd.config import Settings
from ragd.config_docs import MASK, _masked
from ragd.security.encryption import generate_key

SECRET_FORMATS = {"RAGD_JOBS__BROKER_URL": "amqp://ragd:{}@mq:5672//"}
"""Secrets that must have a shape (a URL): the random secret goes where the password is."""
SECRET_NAME = re.compile(r"(^|_)(secret|password|passphrase|token|api_key|key|keys|credentials?)$")


def _leaves(annotation: Any) -> Iterator[Any]:
    yield annotation
    for arg in typing.get_args(annotation):
        yield from _leaves(arg)


def secret_fields(model: type[BaseModel] = Settings, prefix: str = "RAGD_",
                  path: tuple[str, ...] = ()) -> Iterator[tuple[str, tuple[str, ...], bool]]:
    """(environment variable, path in the dumped settings, is a list) of every secret field."""
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield from secret_fields(ann, f"{prefix}{name.upper()}__", (*path, name))
        elif SecretStr in set(_leaves(ann)):
            is_list = any(typing.get_origin(a) is list for a in _leaves(ann))
            yield f"{prefix}{name.upper()}", (*path, name), is_list


def all_fields(model: type[BaseModel] = Settings, path: str = "") -> Iterator[tuple[str, Any]]:
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield from all_fields(ann, f"{path}{name}.")
        else:
            yield f"{path}{name}", ann


def ragd(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ragd.cli.main", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **env})


def test_the_walk_finds_the_known_secrets() -> None:
    found = {env for env, _, _ in secret_fields()}
    assert {"RAGD_LLM__API_KEY", "RAGD_METRICS__TOKEN", "RAGD_ENCRYPTION__KEY",
            "RAGD_ENCRYPTION__PREVIOUS_KEYS"} <= found


def test_secret_looking_fields_are_secret_strings() -> None:
    # a switch cannot hold a secret (server.cors_allow_credentials says whether browsers may send theirs)
    plain = [path for path, ann in all_fields()
             if SECRET_NAME.search(path.rsplit(".", 1)[-1]) and SecretStr not in set(_leaves(ann)) and ann is not bool]
    assert not plain, f"these settings look secret but are not SecretStr (they would be printed): {plain}"


def test_config_show_masks_every_secret(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"RAGD_DATA_DIR": str(tmp_path / "data")}
    sentinels: dict[tuple[str, ...], tuple[bool, str]] = {}
    for var, path, is_list in secret_fields():
        value = generate_key()  # valid for key fields, long and random enough for any other secret
        raw = SECRET_FORMATS.get(var, "{}").format(value)
        env[var] = json.dumps([raw]) if is_list else raw
        sentinels[path] = (is_list, value)
    for fmt in ("json", "yaml"):
        out = ragd("config", "show", "--format", fmt, env=env)
        assert out.returncode == 0, out.stderr
        for _is_list, value in sentinels.values():
            assert value not in out.stdout and value not in out.stderr
            assert value[:12] not in out.stdout
        if fmt == "json":
            data = json.loads(out.stdout)
            for path, (is_list, _value) in sentinels.items():
                node = data
                for part in path:
                    node = node[part]
                assert node == ([MASK] if is_list else MASK), (path, node)


def test_a_rejected_key_is_not_echoed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = base64.b64encode(os.urandom(24)).decode()  # valid base64, but 24 bytes
    out = ragd("config", "show", env={"RAGD_DATA_DIR": str(tmp_path), "RAGD_ENCRYPTION__KEY": bad})
    assert out.returncode == 1 and "encryption.key" in out.stderr and "32" in out.stderr
    assert bad not in out.stderr + out.stdout and bad[:16] not in out.stderr
    out = ragd("config", "show", env={"RAGD_DATA_DIR": str(tmp_path), "RAGD_ENCRYPTION__PREVIOUS_KEYS": '["changeme"]'})
    assert out.returncode == 1 and "changeme" not in out.stderr


def test_masking_ignores_serializers_that_would_reveal() -> None:
    class Leaky(BaseModel):
        token: SecretStr
        nested: dict[str, SecretStr]
        many: list[SecretStr]

        @field_serializer("token")
        def _reveal(self, v: SecretStr) -> str:
            return v.get_secret_value()

    leaky = Leaky(token="t0ps3cret", nested={"a": "n3sted"}, many=["l1st"])
    dumped = leaky.model_dump(mode="json")
    assert dumped["token"] == "t0ps3cret"  # the serializer does reveal it…
    assert _masked(leaky, dumped) == {"token": MASK, "nested": {"a": MASK}, "many": [MASK]}  # …the walk does not


URL_SECRETS = {
    "RAGD_STORE__URL": ("postgresql://ragd:St0reS3cret@db.internal:5432/ragd?sslmode=require", "St0reS3cret"),
    "RAGD_RATELIMIT__URL": ("redis://:R3disPw@cache.internal:6379/0", "R3disPw"),
    "RAGD_LLM__BASE_URL": ("https://llmuser:L1mPass%40word@llm.internal/v1", "L1mPass%40word"),
    "RAGD_RERANK__URL": ("http://reranker.internal:8080/?token=Qu3ryT0ken&x=1", "Qu3ryT0ken"),
}


def test_config_show_masks_passwords_inside_urls(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"RAGD_DATA_DIR": str(tmp_path / "data"), **{k: v for k, (v, _) in URL_SECRETS.items()}}
    for fmt in ("json", "yaml"):
        out = ragd("config", "show", "--format", fmt, env=env)
        assert out.returncode == 0, out.stderr
        for var, (_url, secret) in URL_SECRETS.items():
            assert secret not in out.stdout and secret not in out.stderr, (fmt, var)
        assert "db.internal:5432/ragd" in out.stdout and "ragd:" in out.stdout  # the rest of the URL stays readable
    data = json.loads(ragd("config", "show", "--format", "json", env=env).stdout)
    assert data["store"]["url"] == f"postgresql://ragd:{MASK}@db.internal:5432/ragd?sslmode=require"
    assert data["ratelimit"]["url"] == f"redis://:{MASK}@cache.internal:6379/0"
    assert data["rerank"]["url"] == f"http://reranker.internal:8080/?token={MASK}&x=1"


def test_url_masking_keeps_urls_without_secrets() -> None:
    from ragd.config_docs import mask_url_secrets

    for plain in ("http://127.0.0.1:11434/v1", "sqlite:////srv/ragd/ragd.sqlite3", "redis://cache:6379/0",
                  "postgresql://ragd@db/ragd", "/plain/path.sqlite3", "not a url", ""):
        assert mask_url_secrets(plain) == plain
    assert mask_url_secrets("amqp://guest:guest@127.0.0.1:5672//") == f"amqp://guest:{MASK}@127.0.0.1:5672//"
    assert mask_url_secrets("redis://a:p1@h1,redis://b:p2@h2") == f"redis://a:{MASK}@h1,redis://b:{MASK}@h2"
