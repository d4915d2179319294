"""`ragd doctor` where there is no store, and right after a restore of a backup taken during ingestion (issue 14)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.ops.conftest import corpus, settings_for

from ragd.core import Ragd
from ragd.ops.backup import create_backup, restore_backup

pytestmark = pytest.mark.sqlite_only  # doctor on a directory without a SQLite file; restore of a file backup


def test_doctor_on_a_directory_without_a_store_says_so_and_creates_nothing(tmp_path: Path, cli) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    absent = tmp_path / "absent"
    for target in (empty, absent):
        res = cli("doctor", "--data-dir", str(target))
        assert res.returncode != 0
        assert "Traceback" not in res.stderr + res.stdout
        assert "store_not_found" in res.stderr and f"no ragd store at {target}" in " ".join(res.stderr.split())
    assert list(empty.iterdir()) == [] and not absent.exists()


def test_doctor_is_clean_right_after_restoring_a_backup_taken_during_ingestion(tmp_path: Path, cli) -> None:
    src = tmp_path / "src"
    r = Ragd(settings_for(src))
    try:
        ids: list[str] = []
        for name, data in corpus(3):
            ids.append(r.submit(data, name)[0].id)
        r.workers.drain()
        for name, data in corpus(3, start=3):
            ids.append(r.submit(data, name)[0].id)
        # a worker of the source holds the jobs with a lease that has run out by the time anyone restores
        held = r.store.claim_jobs("busy-worker", 10, lease_seconds=-1)
        assert len(held) == 3
        archive = create_backup(r.settings, tmp_path / "during-ingestion.tar.gz").path
    finally:
        r.close()
    restored = tmp_path / "restored"
    restore_backup(archive, restored)
    res = cli("doctor", "--json", "--data-dir", str(restored))
    assert res.returncode == 0, res.stdout + res.stderr
    report = json.loads(res.stdout)
    assert report["ok"], report
    # the restored jobs are queued again and a server on the restored directory finishes them
    r2 = Ragd(settings_for(restored))
    try:
        assert r2.store.queue_depth() == 3 and r2.workers.drain() >= 1
        assert {r2.get_document(d).status.value for d in ids} == {"indexed"}
    finally:
        r2.close()
