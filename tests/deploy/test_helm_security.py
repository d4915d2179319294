"""The chart's pods against the "restricted" Pod Security Standard (tests/deploy/pss.py, from the official rule
list), in every mode; the checker itself against a pod spec breaking each control; the ServiceAccount without an
API token; and the read-only root file system's volumes."""

from __future__ import annotations

import copy
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
from tests.deploy import pss
from tests.deploy.chart import CHART, K8S, render_all
from tests.deploy.modes import CRDS, MODES

COMPLIANT: dict[str, Any] = {
    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [{"name": "app", "image": "ragd", "securityContext": {
        "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}}],
    "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "d"}}, {"name": "tmp", "emptyDir": {}}],
}

# the chart's pods before this change: non-root, no escalation, capabilities dropped, read-only root, but no
# seccomp profile anywhere (the pod and the container leave it to the runtime, "Unconfined" on many nodes)
BEFORE: dict[str, Any] = {
    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001},
    "containers": [{"name": "ragd", "image": "ragd:0.1.0", "ports": [{"name": "http", "containerPort": 8000}],
                    "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                        "capabilities": {"drop": ["ALL"]}}}],
    "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "demo-ragd"}},
                {"name": "tmp", "emptyDir": {}}],
}


def _container_sc(pod: dict[str, Any]) -> dict[str, Any]:
    return pod["containers"][0]["securityContext"]


BROKEN: dict[str, tuple[str, Any]] = {
    # control: (how to break it, as a function of a compliant pod spec)
    "HostProcess": ("a Windows HostProcess container",
                    lambda p: _container_sc(p).update(windowsOptions={"hostProcess": True})),
    "Host Namespaces": ("hostNetwork", lambda p: p.update(hostNetwork=True)),
    "Privileged Containers": ("privileged", lambda p: _container_sc(p).update(privileged=True)),
    "HostPath Volumes": ("a hostPath volume", lambda p: p["volumes"].append({"name": "h", "hostPath": {"path": "/"}})),
    "Host Ports": ("a hostPort", lambda p: p["containers"][0].update(ports=[{"containerPort": 80, "hostPort": 80}])),
    "AppArmor": ("an unconfined AppArmor profile",
                 lambda p: _container_sc(p).update(appArmorProfile={"type": "Unconfined"})),
    "SELinux": ("a custom SELinux user", lambda p: p["securityContext"].update(seLinuxOptions={"user": "sysadm_u"})),
    "/proc Mount Type": ("an unmasked /proc", lambda p: _container_sc(p).update(procMount="Unmasked")),
    "Sysctls": ("an unsafe sysctl", lambda p: p["securityContext"].update(
        sysctls=[{"name": "kernel.msgmax", "value": "65536"}])),
    "Volume Types": ("an NFS volume",
                     lambda p: p["volumes"].append({"name": "n", "nfs": {"server": "s", "path": "/"}})),
    "Privilege Escalation": ("allowPrivilegeEscalation left unset",
                             lambda p: _container_sc(p).pop("allowPrivilegeEscalation")),
    "Running as Non-root": ("runAsNonRoot unset", lambda p: p["securityContext"].pop("runAsNonRoot")),
    "Running as Non-root user": ("runAsUser 0", lambda p: _container_sc(p).update(runAsUser=0)),
    "Seccomp": ("no seccomp profile", lambda p: p["securityContext"].pop("seccompProfile")),
    "Capabilities": ("NET_RAW added", lambda p: _container_sc(p)["capabilities"].update(add=["NET_RAW"])),
}


def test_a_compliant_pod_passes() -> None:
    assert pss.violations(COMPLIANT) == []


@pytest.mark.parametrize("control", sorted(BROKEN))
def test_the_checker_reports_each_control(control: str) -> None:
    pod = copy.deepcopy(COMPLIANT)
    BROKEN[control][1](pod)
    found = pss.violations(pod)
    controls = {v.split(":")[0] for v in found}
    assert control in controls and controls <= {control, "Volume Types"}, found  # a hostPath breaks both


def test_every_control_of_the_restricted_profile_is_checked() -> None:
    assert set(BROKEN) == set(pss.RESTRICTED)


def test_init_containers_and_annotations_are_checked_too() -> None:
    pod = copy.deepcopy(COMPLIANT)
    pod["initContainers"] = [{"name": "init", "image": "x", "securityContext": {"privileged": True}}]
    found = pss.violations(pod, {"annotations": {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}})
    assert any("initContainers[0](init)" in v and v.startswith("Privileged Containers") for v in found), found
    assert any(v.startswith("AppArmor: metadata.annotations") for v in found), found


def test_a_seccomp_profile_per_container_is_enough_without_a_pod_level_one() -> None:
    pod = copy.deepcopy(COMPLIANT)
    pod["securityContext"].pop("seccompProfile")
    _container_sc(pod)["seccompProfile"] = {"type": "Localhost", "localhostProfile": "ragd.json"}
    assert pss.violations(pod) == []


def test_the_chart_as_it_was_breaks_the_restricted_profile() -> None:
    assert pss.violations(BEFORE) == [
        "Seccomp: spec.containers[0](ragd): seccompProfile.type must be RuntimeDefault or Localhost (pod or container)"]
    # and so does today's chart when its seccomp profile is taken out again (Helm: null deletes a default key)
    docs = render_all({"podSecurityContext": {"seccompProfile": None}})
    assert [name for name in pss.check_manifests(docs)] == ["Deployment/demo-ragd"]


@pytest.mark.parametrize("mode", sorted(MODES))
def test_every_pod_of_every_mode_meets_the_restricted_profile(mode: str) -> None:
    docs = render_all(MODES[mode])
    pods = list(pss.pod_templates(docs))
    assert pods, "no workload rendered"
    assert pss.check_manifests(docs) == {}
    for doc in docs:
        if doc["kind"] not in CRDS:
            kubernetes_validate.validate(doc, K8S, strict=True)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_every_mode_lints_clean(mode: str) -> None:
    report = helm.lint(str(CHART), MODES[mode], strict=True)
    assert report["errors"] == [] and all(m["severity"] <= 1 for m in report["messages"]), report


@pytest.mark.parametrize("mode", sorted(MODES))
def test_every_pod_runs_as_the_image_s_user_without_an_api_token(mode: str) -> None:
    docs = render_all(MODES[mode])
    (account,) = [d for d in docs if d["kind"] == "ServiceAccount"]
    assert account["automountServiceAccountToken"] is False
    for name, _, pod in pss.pod_templates(docs):
        assert pod["serviceAccountName"] == account["metadata"]["name"], name
        assert pod["automountServiceAccountToken"] is False, name
        context = pod["securityContext"]
        assert (context["runAsUser"], context["runAsGroup"], context["fsGroup"]) == (10001, 10001, 10001), name
        assert context["runAsNonRoot"] is True and context["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in pod.get("initContainers", []) + pod["containers"]:
            assert container["securityContext"] == {"allowPrivilegeEscalation": False,
                                                    "readOnlyRootFilesystem": True,
                                                    "capabilities": {"drop": ["ALL"]}}, name


@pytest.mark.parametrize("mode", sorted(MODES))
def test_the_read_only_root_leaves_ragd_its_volumes(mode: str) -> None:
    """What ragd writes (docs/operations.md, measured under a read-only root): DATA_DIR and HOME (/data), /tmp."""
    for name, _, pod in pss.pod_templates(render_all(MODES[mode])):
        volumes = {v["name"]: v for v in pod["volumes"]}
        for container in pod["containers"]:
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]], name
            if container["name"] in ("ragd", "worker"):
                assert "/data" in mounts, name


def test_the_service_account_name_is_yours_to_choose() -> None:
    docs = render_all({"serviceAccount": {"name": "ragd-runner", "annotations": {"team": "search"}}})
    (account,) = [d for d in docs if d["kind"] == "ServiceAccount"]
    assert account["metadata"]["name"] == "ragd-runner" and account["metadata"]["annotations"] == {"team": "search"}
    assert {pod["serviceAccountName"] for _, _, pod in pss.pod_templates(docs)} == {"ragd-runner"}


@pytest.mark.parametrize(("name", "expected"), [("", "default"), ("platform-ragd", "platform-ragd")])
def test_an_existing_service_account_is_used_without_creating_one(name: str, expected: str) -> None:
    docs = render_all({"serviceAccount": {"create": False, "name": name}, "backup": {"enabled": True}})
    assert "ServiceAccount" not in {d["kind"] for d in docs}
    for _, _, pod in pss.pod_templates(docs):
        assert pod["serviceAccountName"] == expected and pod["automountServiceAccountToken"] is False
