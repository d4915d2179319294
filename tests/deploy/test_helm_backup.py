"""The chart's backup CronJob in both modes: its manifests (schemas, volumes, co-scheduling with the SQLite volume,
refusals), and its scripts as rendered, run for real — PostgreSQL mode's connection step and pg_dump against the
local PostgreSQL (the dump then restored into a new database), SQLite mode's `ragd backup` on a data directory —
with the retention of the newest `keep` archives."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import psycopg
import pytest
from tests import pg
from tests.deploy.chart import K8S, render, render_backup
from tests.deploy.modes import EXAMPLE, POSTGRES
from tests.support import REPO

from ragd.ops.backup import verify_backup
from ragd.store.backend import open_backend, store_identity

OLD = ("ragd-20200101T020000Z", "ragd-20210101T020000Z", "ragd-20220101T020000Z")


def valid(docs: dict[str, dict]) -> dict[str, dict]:
    for doc in docs.values():
        kubernetes_validate.validate(doc, K8S, strict=True)
    return docs


def job_pod(docs: dict[str, dict]) -> dict[str, Any]:
    return docs["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def plain_env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def run_script(container: dict[str, Any], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The container's `/bin/sh -c SCRIPT` as rendered, with its environment (paths pointed into the test's)."""
    assert container["command"] == ["/bin/sh", "-c"]
    return subprocess.run(["/bin/sh", "-c", container["args"][0]], env={**plain_env(container), **env},
                          capture_output=True, text=True, timeout=300, check=False)


def seed(backups: Path, suffix: str) -> None:
    """Older archives, what a run stopped half-way left (pg_dump's partial file, ragd backup's work directory)
    and a file that is not the job's."""
    backups.mkdir()
    for name in OLD:
        (backups / f"{name}{suffix}").write_bytes(b"an older archive")
    if suffix == ".pgdump":
        (backups / f"ragd-20230101T020000Z{suffix}.part").write_bytes(b"a run stopped half-way")
    else:
        (backups / ".ragd-backup-k1x2").mkdir()
    (backups / "notes.txt").write_text("not an archive of the job: never deleted")


def kept(backups: Path, suffix: str) -> list[str]:
    """What retention left: the newest archive (just written) and the newest old one (keep: 2)."""
    names = sorted(os.listdir(backups))
    fresh = [n for n in names if n.endswith(suffix) and n.removesuffix(suffix) not in OLD]
    assert len(fresh) == 1, names
    assert names == sorted([*fresh, f"{OLD[-1]}{suffix}", "notes.txt"]), names
    return fresh


# --- manifests ---------------------------------------------------------------------------------------------

def test_off_by_default() -> None:
    assert render_backup() == {} and render_backup(POSTGRES) == {}


def test_postgresql_mode_dumps_with_the_postgres_image_and_the_store_url_from_the_secret() -> None:
    docs = valid(render_backup({**POSTGRES, "backup": {"enabled": True}}))
    cron = docs["CronJob"]["spec"]
    assert cron["schedule"] == "0 2 * * *" and cron["concurrencyPolicy"] == "Forbid"
    pod = job_pod(docs)
    (init,), (main,) = pod["initContainers"], pod["containers"]
    assert main["image"] == "postgres:16" and "pg_dump --format=custom" in main["args"][0]
    assert init["image"] == "ragd:0.1.0"
    secret = render(POSTGRES)["Secret"]["metadata"]["name"]
    assert init["env"][0] == {"name": "RAGD_STORE__URL",
                              "valueFrom": {"secretKeyRef": {"name": secret, "key": "RAGD_STORE__URL"}}}
    # the password is in no command line and no plain environment variable: only in the in-memory service file
    assert "pw@" not in str(main) and "valueFrom" not in str(main.get("env"))
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["connection"]["emptyDir"]["medium"] == "Memory"
    assert volumes["backups"]["persistentVolumeClaim"]["claimName"] == docs["PersistentVolumeClaim"]["metadata"][
        "name"]
    assert docs["PersistentVolumeClaim"]["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}
    assert "affinity" not in pod  # nothing to share with the API pods


def test_the_example_file_reads_the_url_from_the_operator_s_secret() -> None:
    (init,) = job_pod(valid(render_backup({**EXAMPLE, "backup": {"enabled": True}})))["initContainers"]
    assert init["env"][0]["valueFrom"] == {"secretKeyRef": {"name": "ragd-secrets", "key": "RAGD_STORE__URL"}}


def test_sqlite_mode_runs_ragd_backup_beside_the_api_pod_on_its_volume() -> None:
    values = {"backup": {"enabled": True, "keep": 7, "schedule": "30 3 * * *", "timeZone": "Europe/Paris"}}
    api, docs = render(values), valid(render_backup(values))
    assert docs["CronJob"]["spec"]["timeZone"] == "Europe/Paris"
    pod = job_pod(docs)
    (main,) = pod["containers"]
    assert "initContainers" not in pod and main["image"] == api["Deployment"]["spec"]["template"]["spec"][
        "containers"][0]["image"]
    assert 'ragd backup "$BACKUP_DIR/$name"' in main["args"][0] and plain_env(main)["KEEP"] == "7"
    assert main["envFrom"] == api["Deployment"]["spec"]["template"]["spec"]["containers"][0]["envFrom"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == api["PersistentVolumeClaim"]["metadata"]["name"]
    assert volumes["backups"]["persistentVolumeClaim"]["claimName"] != volumes["data"]["persistentVolumeClaim"][
        "claimName"]  # the archives are not on the volume they back up
    # a ReadWriteOnce volume is mounted by the pods of one node: the job's pod goes where the API pod is
    (term,) = pod["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"] == api["Deployment"]["spec"]["selector"]["matchLabels"]


def test_claims_of_your_own_and_still_the_api_pod_s_node_for_a_shared_volume() -> None:
    values = {"persistence": {"existingClaim": "ragd-data", "accessMode": "ReadWriteMany"},
              "backup": {"enabled": True, "persistence": {"existingClaim": "nas"}}}
    docs = valid(render_backup(values))
    assert "PersistentVolumeClaim" not in docs
    pod = job_pod(docs)
    volumes = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]
               if "persistentVolumeClaim" in v}
    assert volumes == {"data": "ragd-data", "backups": "nas"}
    # SQLite's write-ahead log needs every process of the database on one host, whatever the access mode
    assert pod["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]


@pytest.mark.parametrize(("values", "message"), [
    ({"persistence": {"enabled": False}, "backup": {"enabled": True}}, "needs persistence.enabled"),
    ({"backup": {"enabled": True, "keep": 0}}, "keep at least 1"),
])
def test_backup_refuses_what_cannot_work(values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmError, match=message):
        render_backup(values)


# --- the scripts, run ---------------------------------------------------------------------------------------

@pytest.fixture
def pg_store(pg_database: str) -> Iterator[tuple[str, str]]:
    """A migrated ragd store in a fresh schema of the test database: (URL, schema)."""
    with pg.fresh_schema() as url:
        backend = open_backend(url)
        try:
            store_identity(backend)
        finally:
            backend.close()
        yield url, url.split("search_path%3D")[1].split("%2C")[0]


@pytest.fixture
def new_database() -> Iterator[str]:
    name = f"ragd_helm_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg.ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        with psycopg.connect(f"{pg.SERVER}/{name}", autocommit=True) as conn:
            conn.execute("CREATE EXTENSION vector")
        yield f"{pg.SERVER}/{name}"
    finally:
        with psycopg.connect(pg.ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_the_postgresql_job_dumps_a_restorable_archive_and_keeps_the_newest(
        pg_store: tuple[str, str], new_database: str, tmp_path: Path) -> None:
    url, schema = pg_store
    pod = job_pod(render_backup({**POSTGRES, "backup": {"enabled": True, "keep": 2,
                                                        "postgresql": {"schema": schema}}}))
    (init,), (main,) = pod["initContainers"], pod["containers"]
    service_file = tmp_path / "run" / "pg_service.conf"
    service_file.parent.mkdir()

    # 1. the init container's program, with the image's Python (here: this interpreter and the source tree)
    assert init["command"][:2] == ["python", "-c"]
    done = subprocess.run([sys.executable, "-c", init["command"][2]], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO / "src"), "RAGD_STORE__URL": url,
                               "PGSERVICEFILE": str(service_file)}, check=False)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(service_file.stat().st_mode) == 0o600
    assert service_file.read_text().splitlines()[0] == "[ragd]"

    # 2. the job's script with pg_dump and pg_restore of this machine
    backups = tmp_path / "backups"
    seed(backups, ".pgdump")
    done = run_script(main, {"PATH": "/usr/bin:/bin", "BACKUP_DIR": str(backups), "HOME": str(tmp_path),
                             "PGSERVICEFILE": str(service_file)})
    assert done.returncode == 0, done.stderr
    (fresh,) = kept(backups, ".pgdump")
    assert f"backup {backups}/{fresh}:" in done.stdout and f"removed {OLD[0]}.pgdump" in done.stdout
    listing = subprocess.run(["pg_restore", "--list", str(backups / fresh)], capture_output=True, text=True,
                             check=True).stdout
    assert f"TABLE {schema} documents" in listing and "TABLE public" not in listing

    # 3. the dump restores (docs/operations.md) into an empty database, as the same store
    subprocess.run(["pg_restore", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
                    f"--dbname={new_database}", str(backups / fresh)], check=True, capture_output=True)
    restored_url = f"{new_database}?options=-csearch_path%3D{schema}%2Cpublic"
    source, restored = open_backend(url, migrate=False), open_backend(restored_url, migrate=False)
    try:
        assert restored.schema_status()[0] == source.schema_status()[0] > 0
        assert store_identity(restored) == store_identity(source)
    finally:
        source.close()
        restored.close()


def test_a_failed_dump_leaves_no_archive_and_deletes_nothing(tmp_path: Path) -> None:
    pod = job_pod(render_backup({**POSTGRES, "backup": {"enabled": True, "keep": 1}}))
    service_file = tmp_path / "pg_service.conf"
    service_file.write_text("[ragd]\nhost=127.0.0.1\nport=1\nuser=ragd\ndbname=ragd\nconnect_timeout=2\n")
    backups = tmp_path / "backups"
    seed(backups, ".pgdump")
    before = sorted(os.listdir(backups))
    done = run_script(pod["containers"][0], {"PATH": "/usr/bin:/bin", "BACKUP_DIR": str(backups),
                                             "HOME": str(tmp_path), "PGSERVICEFILE": str(service_file)})
    assert done.returncode != 0 and "pg_dump" in done.stderr
    assert sorted(os.listdir(backups)) == [n for n in before if not n.endswith(".part")]


@pytest.mark.sqlite_only  # the chart's SQLite mode backs up a SQLite file, whatever the run's engine
def test_the_sqlite_job_runs_ragd_backup_and_keeps_the_newest(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    backend = open_backend(f"sqlite:///{data / 'ragd.sqlite3'}")  # the chart's SQLite mode, whatever the run's engine
    try:
        store_id = store_identity(backend)
    finally:
        backend.close()
    (main,) = job_pod(render_backup({"backup": {"enabled": True, "keep": 2}}))["containers"]
    backups = tmp_path / "backups"
    seed(backups, ".tar.gz")
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "PYTHONPATH": str(REPO / "src"),
           "BACKUP_DIR": str(backups), "RAGD_DATA_DIR": str(data), "HOME": str(tmp_path)}  # RAGD_DATA_DIR: ConfigMap
    done = run_script(main, env)
    assert done.returncode == 0, done.stderr
    (fresh,) = kept(backups, ".tar.gz")
    assert f"removed {OLD[0]}.tar.gz" in done.stdout and not (backups / ".ragd-backup-k1x2").exists()
    manifest = verify_backup(backups / fresh)  # every checksum
    assert manifest["store"]["documents"] == 0
    with tarfile.open(backups / fresh) as archive:
        archive.extract("ragd.sqlite3", tmp_path / "restored", filter="data")
    snapshot = open_backend(f"sqlite:///{tmp_path / 'restored' / 'ragd.sqlite3'}", migrate=False)
    try:
        assert store_identity(snapshot) == store_id  # the store on the data volume, not another
    finally:
        snapshot.close()
