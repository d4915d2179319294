"""A checker of the Kubernetes Pod Security Standards, Baseline and Restricted profiles ("latest" version),
written from the rule list of https://kubernetes.io/docs/concepts/security/pod-security-standards/ so the chart's
pod specs are checked offline, without a cluster's PodSecurity admission.

No maintained offline evaluator was installable here: the admission library (k8s.io/pod-security-admission) is Go
only, kyverno/polaris/kubescape ship no PyPI, npm or Debian package, and checkov's Kubernetes checks are a
different set (best practices such as image digests, not the profile). Each rule below is one control of the
document; a violation names the control and the field, as `kubectl` warnings do.

Linux pods only: the document exempts Windows pods (``spec.os.name: windows``) from a few restricted controls;
the chart runs none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

Pod = dict[str, Any]

BASELINE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP",
    "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"})
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
RESTRICTED_VOLUME_TYPES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"})
_VOLUME_KEYS = frozenset({"name"})
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"

WORKLOAD_POD_SPEC: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template"), "StatefulSet": ("spec", "template"), "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"), "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


def pod_templates(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any], Pod]]:
    """``(kind/name, pod metadata, pod spec)`` of every workload among ``docs`` (a bare Pod or a template)."""
    for doc in docs:
        path = WORKLOAD_POD_SPEC.get(doc.get("kind", ""))
        if path is None:
            continue
        node: dict[str, Any] = doc
        for key in path:
            node = node[key]
        if doc["kind"] == "Pod":
            yield f"Pod/{doc['metadata']['name']}", doc.get("metadata") or {}, node
        else:
            yield f"{doc['kind']}/{doc['metadata']['name']}", node.get("metadata") or {}, node["spec"]


def _containers(pod: Pod) -> Iterator[tuple[str, dict[str, Any]]]:
    for field in ("containers", "initContainers", "ephemeralContainers"):
        for i, c in enumerate(pod.get(field) or []):
            yield f"spec.{field}[{i}]({c.get('name', '?')})", c


def _sc(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("securityContext") or {}


# --- Baseline ------------------------------------------------------------------------------------------------

def _host_process(meta: dict[str, Any], pod: Pod) -> Iterator[str]:
    if (_sc(pod).get("windowsOptions") or {}).get("hostProcess"):
        yield "spec.securityContext.windowsOptions.hostProcess must be unset or false"
    for where, c in _containers(pod):
        if (_sc(c).get("windowsOptions") or {}).get("hostProcess"):
            yield f"{where}.securityContext.windowsOptions.hostProcess must be unset or false"


def _host_namespaces(meta: dict[str, Any], pod: Pod) -> Iterator[str]:
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(field):
            yield f"spec.{field} must be unset or false"


def _privileged(meta: dict[str, Any], pod: Pod) -> Iterator[str]:
    for where, c in _containers(pod):
        if _sc(c).get("privileged"):
            yield f"{where}.securityContext.privileged must be unset or false"


def _baseline_capabilities(meta: dict[str, Any], pod: Pod) -> Iterator[str]:
    for where, c in _containers(pod):
        extra = set((_sc(c).get("capabilities") or {}).get("add") or []) - BASELINE_CAPABILITIES
        if extra:
            yield f"{where}.securityContext.capabilities.add: {sorted(extra)} beyond the baseline set"


def _host_path(meta: dict[str, Any], pod: Pod) -> Iterator[str]:
    for v in pod.get("volumes") or []:
        if "hostPath" in v:
            yield f"spec.volumes({v.get('name')}).hostPath is forbidden"


def _host_ports(meta: dict[str, Any], pod: Pod) -> Iterator[str]:
    for where, c in _containers(pod):
        for p in c.get("ports") or []:
            if p.get("hostPort"):
                yield f"{where}.ports.hostPort {p['hostPort']} must be unset or 0"


def _apparmor(meta: dict[str, Any], pod: Pod) -> Iterator[str]:
    for key, value in (meta.get("annotations") or {}).items():
        if key.startswith(APPARMOR_ANNOTATION) and value != "runtime/default" and not value.startswith("localhost/"):
            yield f"metadata.annotations[{key}]={value}: only runtime/default or localhost/*"
    scopes = [("spec.securityContext", _sc(pod))] + [(f"{w}.securityContext", _sc(c)) for w, c in _containers(pod)]
    for where, sc in scopes:
        kind = (sc.get("appArmorProfile") or {}).get("type")
        if kind is not None and kind not in ("RuntimeDefault", "Localhost"):
            yield f"{where}.appArmorProfile.type={kind}: only RuntimeDefault or Localhost"


def _selinux(meta: dict[str, Any], pod: Pod) -> Iterator[str]:
    scopes = [("spec.securityContext", _sc(pod))] + [(f"{w}.securityContext", _sc(c)) for w, c in _containers(pod)]
    for where, sc in scopes:
        opts = sc.get("seLinuxOptions") or {}
        if opts.get("type", "") not in SELINUX_TYPES:
            yield f"{where}.seLinuxOptions.type={opts['type']} is not allowed"
        for field in ("user", "role"):
            if opts.get(field):
                yield f"{where}.seLinuxOptions.{field} must be unset"


def _proc_mount(meta: dict[str, Any], pod: Pod) -> Iterator[str]:
    for where, c in _containers(pod):
        if _sc(c).get("procMount", "Default") != "Default":
            yield f"{where}.securityContext.procMount must be unset or Default"


def _baseline_seccomp(meta: dict[str, Any], pod: Pod) -> Iterator[str]:
    scopes = [("spec.securityContext", _sc(pod))] + [(f"{w}.securityContext", _sc(c)) for w, c in _containers(pod)]
    for where, sc in scopes:
        if (sc.get("seccompProfile") or {}).get("type") == "Unconfined":
            yield f"{where}.seccompProfile.type must not be Unconfined"


def _sysctls(meta: dict[str, Any], pod: Pod) -> Iterator[str]:
    for s in _sc(pod).get("sysctls") or []:
        if s.get("name") not in SAFE_SYSCTLS:
            yield f"spec.securityContext.sysctls: {s.get('name')} is not a safe sysctl"


# --- Restricted ----------------------------------------------------------------------------------------------

def _volume_types(meta: dict[str, Any], pod: Pod) -> Iterator[str]:
    for v in pod.get("volumes") or []:
        kinds = set(v) - _VOLUME_KEYS
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            yield f"spec.volumes({v.get('name')}): type {sorted(kinds - RESTRICTED_VOLUME_TYPES)} is not allowed"


def _privilege_escalation(meta: dict[str, Any], pod: Pod) -> Iterator[str]:
    for where, c in _containers(pod):
        if _sc(c).get("allowPrivilegeEscalation") is not False:
            yield f"{where}.securityContext.allowPrivilegeEscalation must be false"


def _run_as_non_root(meta: dict[str, Any], pod: Pod) -> Iterator[str]:
    pod_level = _sc(pod).get("runAsNonRoot")
    if pod_level is False:
        yield "spec.securityContext.runAsNonRoot must not be false"
    for where, c in _containers(pod):
        own = _sc(c).get("runAsNonRoot")
        if own is False:
            yield f"{where}.securityContext.runAsNonRoot must not be false"
        elif own is None and pod_level is not True:
            yield f"{where}: runAsNonRoot must be true (pod or container securityContext)"


def _run_as_user(meta: dict[str, Any], pod: Pod) -> Iterator[str]:
    scopes = [("spec.securityContext", _sc(pod))] + [(f"{w}.securityContext", _sc(c)) for w, c in _containers(pod)]
    for where, sc in scopes:
        if sc.get("runAsUser") == 0:
            yield f"{where}.runAsUser must not be 0"


def _restricted_seccomp(meta: dict[str, Any], pod: Pod) -> Iterator[str]:
    allowed = ("RuntimeDefault", "Localhost")
    pod_level = (_sc(pod).get("seccompProfile") or {}).get("type")
    if pod_level is not None and pod_level not in allowed:
        yield f"spec.securityContext.seccompProfile.type={pod_level}: only RuntimeDefault or Localhost"
    for where, c in _containers(pod):
        own = (_sc(c).get("seccompProfile") or {}).get("type")
        if own is not None and own not in allowed:
            yield f"{where}.securityContext.seccompProfile.type={own}: only RuntimeDefault or Localhost"
        elif own is None and pod_level is None:
            yield f"{where}: seccompProfile.type must be RuntimeDefault or Localhost (pod or container)"


def _restricted_capabilities(meta: dict[str, Any], pod: Pod) -> Iterator[str]:
    for where, c in _containers(pod):
        caps = _sc(c).get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            yield f"{where}.securityContext.capabilities.drop must include ALL"
        extra = set(caps.get("add") or []) - {"NET_BIND_SERVICE"}
        if extra:
            yield f"{where}.securityContext.capabilities.add: {sorted(extra)}; only NET_BIND_SERVICE"


Rule = Callable[[dict[str, Any], Pod], Iterator[str]]
BASELINE: dict[str, Rule] = {
    "HostProcess": _host_process, "Host Namespaces": _host_namespaces, "Privileged Containers": _privileged,
    "Capabilities": _baseline_capabilities, "HostPath Volumes": _host_path, "Host Ports": _host_ports,
    "AppArmor": _apparmor, "SELinux": _selinux, "/proc Mount Type": _proc_mount, "Seccomp": _baseline_seccomp,
    "Sysctls": _sysctls,
}
RESTRICTED: dict[str, Rule] = {
    **BASELINE,
    # tighter versions of two baseline controls (each includes the baseline one)
    "Seccomp": _restricted_seccomp, "Capabilities": _restricted_capabilities,
    "Volume Types": _volume_types, "Privilege Escalation": _privilege_escalation,
    "Running as Non-root": _run_as_non_root, "Running as Non-root user": _run_as_user,
}
"""The Restricted profile: everything of Baseline, its Seccomp and Capabilities controls tightened."""


def violations(pod: Pod, meta: dict[str, Any] | None = None, profile: dict[str, Rule] = RESTRICTED) -> list[str]:
    """Every violation of ``profile`` by a pod spec (and its metadata, for the AppArmor annotations)."""
    return [f"{control}: {message}" for control, rule in profile.items() for message in rule(meta or {}, pod)]


def check_manifests(docs: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Restricted-profile violations of every workload among rendered manifests, by ``kind/name`` (empty: none)."""
    return {name: found for name, meta, pod in pod_templates(docs) if (found := violations(pod, meta))}
