"""The Compose file's `llm` profile: ragd's llama.cpp image with deploy/models mounted at the image's models
directory, as Docker Compose's own loader resolves it (no engine), and consistent with the image's Dockerfile."""

from __future__ import annotations

import json
from pathlib import Path

from tests.deploy.composefile import DEPLOY, SERVICES, in_profile
from tests.deploy.dockerfile import stages
from tests.deploy.tools import compose
from tests.support import REPO

VARIANT = REPO / "deploy" / "llamacpp" / "Dockerfile"


def _resolved(tmp_path: Path, env_file: Path | None = None) -> dict:
    # the documented command: `docker compose -f deploy/compose.yaml --profile llm up -d --build ragd-llm`
    res = compose("--profile", "llm", "config", "--format", "json", "ragd-llm", env_file=env_file, home=tmp_path)
    assert res.returncode == 0, res.stderr
    services = json.loads(res.stdout)["services"]
    assert set(services) == {"ragd-llm"}  # naming it leaves the default `ragd` out
    return services["ragd-llm"]


def test_the_llm_profile_is_one_service_outside_the_default() -> None:
    assert in_profile("llm") == {"ragd-llm"}
    assert SERVICES["ragd-llm"]["profiles"] == ["llm"]


def test_the_llm_service_runs_the_llamacpp_image_with_the_models_volume(tmp_path: Path) -> None:
    svc = _resolved(tmp_path)
    assert (Path(svc["build"]["context"]) / svc["build"]["dockerfile"]).resolve() == VARIANT
    assert svc["image"] == SERVICES["ragd"]["image"] + "-llamacpp"
    image_env = stages(VARIANT)[-1].env()
    env = svc["environment"]
    for name in ("RAGD_LLM__BACKEND", "RAGD_LLM__MODELS_DIR", "RAGD_DATA_DIR"):
        assert env[name] == image_env[name], name
    assert env["RAGD_LLM__MODEL_PATH"] == ""  # unset: the single model in the directory
    mounts = {v["target"]: v for v in svc["volumes"]}
    models = mounts[image_env["RAGD_LLM__MODELS_DIR"]]
    assert models["type"] == "bind" and models["read_only"] is True
    assert Path(models["source"]) == DEPLOY / "models" and (DEPLOY / "models" / "README.md").is_file()
    # it takes the default service's place: the same data volume and port
    data = mounts[image_env["RAGD_DATA_DIR"]]
    assert data["type"] == "volume" and f"{data['source']}:/data" in SERVICES["ragd"]["volumes"]
    assert [f"{p['published']}:{p['target']}" for p in svc["ports"]] == SERVICES["ragd"]["ports"]
    assert "/api/v1/ready" in " ".join(svc["healthcheck"]["test"])


def test_the_llm_service_takes_the_model_named_in_the_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / "compose.env"
    env_file.write_text("RAGD_LLM__MODEL_PATH=mistral-7b-instruct-v0.2.Q4_K_M.gguf\n")
    svc = _resolved(tmp_path, env_file)
    assert svc["environment"]["RAGD_LLM__MODEL_PATH"] == "mistral-7b-instruct-v0.2.Q4_K_M.gguf"
