"""The chart's llama.cpp variant (`llm.*`, docs/llm.md#kubernetes): the API pods run the image of
deploy/llamacpp/Dockerfile with a GGUF model mounted read-only at /models (from a claim, or copied out of an image
by an init container), a startupProbe for the model's load, optionally GPUs; workers and the backup job keep the
default image. Rendered by Helm's engine and validated against Kubernetes schemas (the restricted Pod Security
profile and linting run on the llm modes of tests/deploy/modes.py, in test_helm_security.py)."""

from __future__ import annotations

import re
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml
from tests.deploy.chart import CHART, K8S, render, render_all, render_backup, render_files, render_workers
from tests.deploy.dockerfile import stages
from tests.deploy.modes import BROKER, GPU, LLM_CLAIM, LLM_IMAGE, MODES, POSTGRES
from tests.support import REPO

VARIANT = stages(REPO / "deploy" / "llamacpp" / "Dockerfile")[-1]
APP_VERSION = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]
EVERYTHING: dict[str, Any] = {  # every llm value set, to show that llm.enabled: false ignores them all
    "image": {"repository": "mine/ragd-llm", "tag": "x"}, "modelPath": "a.gguf", "gpu": GPU,
    "models": {"existingClaim": "gguf-models", "image": {"repository": "m", "tag": "t"}},
    "startupProbe": {"periodSeconds": 1, "failureThreshold": 1},
}


def pod(docs: dict[str, dict]) -> dict[str, Any]:
    return docs["Deployment"]["spec"]["template"]["spec"]


def api(docs: dict[str, dict]) -> dict[str, Any]:
    (container,) = pod(docs)["containers"]
    return container


def env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def mounts(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["mountPath"]: m for m in container["volumeMounts"]}


def volume(docs: dict[str, dict], name: str) -> dict[str, Any]:
    (found,) = [v for v in pod(docs)["volumes"] if v["name"] == name]
    return found


def valid(values: dict[str, Any]) -> dict[str, dict]:
    docs = render(values)
    for doc in docs.values():
        kubernetes_validate.validate(doc, K8S, strict=True)
    return docs


@pytest.mark.parametrize("mode", sorted(m for m in MODES if "llm" not in MODES[m]))
def test_llm_disabled_renders_every_mode_as_without_it(mode: str) -> None:
    values = MODES[mode]
    assert render_files({**values, "llm": {**EVERYTHING, "enabled": False}}) == render_files(values)


def test_by_default_the_api_runs_the_default_image_without_a_model() -> None:
    docs = render()
    container = api(docs)
    assert container["image"] == f"ragd:{APP_VERSION}"
    assert "/models" not in mounts(container) and "models" not in {v["name"] for v in pod(docs)["volumes"]}
    assert "startupProbe" not in container and "initContainers" not in pod(docs) and "env" not in container
    assert "runtimeClassName" not in pod(docs)


def test_a_claim_is_mounted_read_only_at_the_image_s_models_dir() -> None:
    docs = valid({"llm": LLM_CLAIM})
    container = api(docs)
    assert container["image"] == f"ragd:{APP_VERSION}-llamacpp"  # the tag docs/llm.md builds
    # the backend and the models directory the image sets, set again by the chart (whatever the image)
    llm_env = {k: v for k, v in VARIANT.env().items() if k.startswith("RAGD_LLM__")}
    assert env(container) == llm_env == {"RAGD_LLM__BACKEND": "llamacpp", "RAGD_LLM__MODELS_DIR": "/models"}
    assert mounts(container)["/models"] == {"name": "models", "mountPath": "/models", "readOnly": True}
    assert volume(docs, "models") == {"name": "models",
                                      "persistentVolumeClaim": {"claimName": "gguf-models", "readOnly": True}}
    assert "initContainers" not in pod(docs)
    # the model is not the workers' business: the shared ConfigMap does not name the backend
    assert not any(key.startswith("RAGD_LLM__") for key in docs["ConfigMap"]["data"])
    # no GPU unless asked for
    assert set(container["resources"]["limits"]) == {"memory"} and "runtimeClassName" not in pod(docs)


def test_the_startup_probe_gives_the_model_time_to_load_before_liveness_counts() -> None:
    container = api(valid({"llm": LLM_CLAIM}))
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())["llm"]["startupProbe"]
    assert container["startupProbe"] == {"httpGet": {"path": "/api/v1/health", "port": "http"}, **defaults}
    assert defaults["periodSeconds"] * defaults["failureThreshold"] == 600
    # the image's own HEALTHCHECK asks the same endpoint
    assert "/api/v1/health" in " ".join(VARIANT.healthcheck()[1])
    probe = {"periodSeconds": 15, "failureThreshold": 120, "timeoutSeconds": 3}
    container = api(valid({"llm": {**LLM_CLAIM, "startupProbe": probe}}))
    assert container["startupProbe"] == {"httpGet": {"path": "/api/v1/health", "port": "http"}, **probe}
    baseline = api(render())
    assert (container["livenessProbe"], container["readinessProbe"]) == (baseline["livenessProbe"],
                                                                          baseline["readinessProbe"])


def test_an_image_holding_the_model_is_copied_into_an_empty_dir_by_an_init_container() -> None:
    docs = valid({"llm": LLM_IMAGE})
    (init,) = pod(docs)["initContainers"]
    assert init["image"] == "registry.example/models/mistral:7b-instruct-q4_k_m"
    assert init["command"] == ["cp", "-R", "/models/.", "/ragd-models/"]
    assert init["volumeMounts"] == [{"name": "models", "mountPath": "/ragd-models"}]
    assert init["securityContext"] == api(docs)["securityContext"]
    assert volume(docs, "models") == {"name": "models", "emptyDir": {"sizeLimit": "20Gi"}}
    assert mounts(api(docs))["/models"] == {"name": "models", "mountPath": "/models", "readOnly": True}
    # a digest as the repository, the model elsewhere in its image, a smaller volume
    docs = valid({"llm": {"enabled": True, "models": {"image": {"repository": "r/m@sha256:" + "0" * 64,
                                                                "path": "/srv/model/"}, "sizeLimit": "6Gi"}}})
    (init,) = pod(docs)["initContainers"]
    assert init["image"] == "r/m@sha256:" + "0" * 64
    assert init["command"] == ["cp", "-R", "/srv/model/.", "/ragd-models/"]
    assert volume(docs, "models")["emptyDir"] == {"sizeLimit": "6Gi"}


def test_model_path_and_an_image_of_your_own() -> None:
    docs = valid({"llm": {**LLM_CLAIM, "modelPath": "mistral-7b-instruct-v0.2.Q4_K_M.gguf",
                          "image": {"repository": "registry.example/ragd-llm", "tag": "2024.1"}}})
    assert env(api(docs))["RAGD_LLM__MODEL_PATH"] == "mistral-7b-instruct-v0.2.Q4_K_M.gguf"
    assert api(docs)["image"] == "registry.example/ragd-llm:2024.1"
    assert api(render({"image": {"tag": "0.2.0"}, "llm": LLM_CLAIM}))["image"] == "ragd:0.2.0-llamacpp"


def test_gpus_are_requested_with_every_layer_offloaded_on_the_gpu_nodes() -> None:
    values = {"llm": {**LLM_CLAIM, "gpu": GPU}, "nodeSelector": {"zone": "a"},
              "tolerations": [{"key": "dedicated", "operator": "Exists"}], "backup": {"enabled": True}}
    docs = valid(values)
    container = api(docs)
    assert container["image"] == f"ragd:{APP_VERSION}-llamacpp-cuda"
    assert env(container)["RAGD_LLM__GPU_LAYERS"] == "-1"
    assert container["resources"]["limits"] == {"memory": "4Gi", "nvidia.com/gpu": 1}
    assert container["resources"]["requests"] == {"cpu": "500m", "memory": "1Gi"}
    spec = pod(docs)
    assert spec["runtimeClassName"] == "nvidia"
    assert spec["nodeSelector"] == {"zone": "a", "nvidia.com/gpu.present": "true"}
    assert spec["tolerations"] == values["tolerations"] + GPU["tolerations"]
    # SQLite mode's backup pod runs on the API pod's node: it tolerates the GPU nodes' taints, and needs no GPU
    backup = render_backup(values)["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert (backup["nodeSelector"], backup["tolerations"]) == (spec["nodeSelector"], spec["tolerations"])
    assert "runtimeClassName" not in backup and "nvidia.com/gpu" not in str(backup["containers"])
    # another device plugin's resource, a partial offload
    container = api(valid({"llm": {**LLM_CLAIM, "gpu": {"count": 2, "resourceName": "gpu.example.com/a100",
                                                        "layers": 20}}}))
    assert container["resources"]["limits"]["gpu.example.com/a100"] == 2
    assert env(container)["RAGD_LLM__GPU_LAYERS"] == "20"


def test_only_the_api_pods_get_the_model() -> None:
    values = {**BROKER, "backup": {"enabled": True}}
    with_llm = {**values, "llm": {**LLM_IMAGE, "gpu": GPU}}
    assert render_workers(with_llm) == render_workers(values)
    assert render_backup(with_llm) == render_backup(values)  # PostgreSQL mode: pg_dump, anywhere
    assert render(with_llm)["ConfigMap"] == render(values)["ConfigMap"]
    for name, doc in [(d["kind"], d) for d in render_all(with_llm) if d["kind"] in ("Deployment", "CronJob")]:
        text = yaml.safe_dump(doc)
        assert ("/models" in text) == (doc["metadata"]["name"] == "demo-ragd"), name


@pytest.mark.parametrize("model_path", ["/data/models/mistral.gguf", "/srv/llm/m.gguf"])
def test_a_model_path_outside_models_needs_no_source(model_path: str) -> None:
    docs = valid({"llm": {"enabled": True, "modelPath": model_path}})
    assert env(api(docs))["RAGD_LLM__MODEL_PATH"] == model_path
    assert "/models" not in mounts(api(docs)) and "startupProbe" in api(docs)


@pytest.mark.parametrize(("llm", "message"), [
    ({"enabled": True}, "llm.enabled needs the GGUF model: set llm.models.existingClaim"),
    ({"enabled": True, "modelPath": "mistral.gguf"}, "or llm.modelPath to an absolute path outside /models"),
    ({"enabled": True, "modelPath": "/models/mistral.gguf"}, "llm.enabled needs the GGUF model"),
    ({"enabled": True, "modelPath": "/models/../models/m.gguf"}, "llm.enabled needs the GGUF model"),
    ({"enabled": True, "models": {"existingClaim": "c", "image": {"repository": "m"}}},
     "existingClaim or image, not both"),
    ({**LLM_CLAIM, "gpu": {"count": -1}}, "llm.gpu.count"),
])
def test_a_model_without_a_source_is_refused_at_render_time(llm: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmError, match=message):
        render({"llm": llm})


def test_postgresql_replicas_share_the_claim() -> None:
    docs = valid({**POSTGRES, "llm": LLM_CLAIM})
    assert docs["Deployment"]["spec"]["replicas"] == 2
    assert volume(docs, "models")["persistentVolumeClaim"] == {"claimName": "gguf-models", "readOnly": True}


def test_the_notes_say_where_the_model_comes_from() -> None:
    notes = render_files({"llm": {**LLM_CLAIM, "gpu": GPU}})["ragd/templates/NOTES.txt"]
    assert f"in ragd:{APP_VERSION}-llamacpp-cuda from claim gguf-models on 1 GPU(s)" in notes
    assert "up to 600 s" in notes
    assert "GGUF" not in render_files()["ragd/templates/NOTES.txt"]



def test_the_docs_state_what_the_chart_does() -> None:
    doc = (REPO / "docs" / "llm.md").read_text()
    section = doc[doc.index("### Kubernetes"):doc.index("## An OpenAI-compatible server")]
    prose = " ".join(section.split())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    for path in set(re.findall(r"`(llm(?:\.[A-Za-z]+)+)`", section)):
        node: Any = values
        for key in path.split("."):
            assert isinstance(node, dict) and key in node, f"{path}: no such value in values.yaml"
            node = node[key]
    llm = values["llm"]
    for stated in ("| `llm.enabled` | `false` |", "| `llm.gpu.count` | `0` |",
                   f"`llm.gpu.resourceName`, `{llm['gpu']['resourceName']}`",
                   f"`llm.gpu.layers`, `{llm['gpu']['layers']}`",
                   f"`llm.models.sizeLimit` (`{llm['models']['sizeLimit']}`)",
                   f"{llm['startupProbe']['periodSeconds']} s × {llm['startupProbe']['failureThreshold']}"):
        assert stated in prose, stated
    assert (llm["enabled"], llm["gpu"]["count"]) == (False, 0)
    quoted = "llm.enabled needs the GGUF model: set llm.models.existingClaim"
    assert quoted in prose and quoted in (CHART / "templates" / "_helpers.tpl").read_text()
    # the chart points to this heading; the tags the chart defaults to are those the Dockerfile builds
    assert "docs/llm.md#kubernetes" in (CHART / "values.yaml").read_text()
    dockerfile = (REPO / "deploy" / "llamacpp" / "Dockerfile").read_text()
    for variant in ("-llamacpp", "-llamacpp-cuda"):
        assert f"-t ragd:{APP_VERSION}{variant} ." in dockerfile, variant
