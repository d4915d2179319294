"""Folders the server syncs itself (``sync.folders``, :mod:`ragd.ingest.sync_service`): a background round, the
lease that lets one process run a folder at a time, and the admins' status endpoint."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from fastapi.testclient import TestClient

from ragd.api.app import create_app
from ragd.config import Settings
from ragd.core import Ragd
from ragd.ingest.sync_service import FolderSyncs


def test_the_server_syncs_a_configured_folder_and_shows_its_status(tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    (share / "boilers.txt").write_text("The north depot repairs boilers on Mondays.")
    settings = Settings(data_dir=tmp_path / "data", auth={"enabled": False},
                        sync={"folders": [{"path": str(share), "collection": "share", "interval_s": 3600,
                                           "watch": True}]})
    with TestClient(create_app(settings)) as c:
        deadline = time.monotonic() + 60
        while True:
            docs = c.get("/api/v1/documents", params={"collection": "share"}).json()["documents"]
            if [(d["filename"], d["status"]) for d in docs] == [("boilers.txt", "indexed")]:
                break
            assert time.monotonic() < deadline, docs
            threading.Event().wait(0.1)  # between two polls
        status = c.get("/api/v1/admin/syncs").json()["folders"]
        assert status[0]["path"] == str(share) and status[0]["holder"] is True
        assert status[0]["last_counts"]["added"] == 1 and status[0]["last_error"] is None

        (share / "warranty.txt").write_text("Warranty claims go to the south depot.")  # the watcher syncs it
        deadline = time.monotonic() + 60
        while len(c.get("/api/v1/documents", params={"collection": "share"}).json()["documents"]) < 2:
            assert time.monotonic() < deadline, "the change was not synced"
            threading.Event().wait(0.1)


def test_one_process_at_a_time_runs_a_folder(tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    (share / "a.txt").write_text("Alpha.")
    settings = Settings(data_dir=tmp_path / "data", ingest={"workers": 0},
                        sync={"folders": [{"path": str(share)}], "lease_s": 60})
    r = Ragd(settings)
    try:
        first, second = FolderSyncs(r), FolderSyncs(r)  # two server processes on one store
        folder = settings.sync.folders[0]
        assert first.run_once(folder, first.status[0]) is True
        assert second.run_once(folder, second.status[0]) is False and second.status[0].runs == 0
        assert first.run_once(folder, first.status[0]) is True  # the holder renews its lease
        assert first.status[0].last_counts["unchanged"] == 1
        r.store.sync_release(first.status[0].folder_id, first.holder)
        assert second.run_once(folder, second.status[0]) is True  # given up: the other takes it
        # an expired lease is taken over too
        assert r.store.sync_lease("f_x", "dead-replica", -1.0) is True
        assert r.store.sync_lease("f_x", "live-replica", 60.0) is True
        assert r.store.sync_lease("f_x", "dead-replica", 60.0) is False
    finally:
        r.close()
