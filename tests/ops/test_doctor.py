"""`ragd doctor`: detects what disagrees between the store, the indexes and the files, and repairs it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from tests.ops.conftest import settings_for

from ragd.ops.doctor import run_doctor

pytestmark = pytest.mark.sqlite_only  # `ragd doctor` on the SQLite file (read and altered with sqlite3)


def _checks(report: dict) -> dict[str, dict]:
    return {c["check"]: c for c in report["checks"]}


def test_clean_directory_has_no_differences(data_copy: Path, cli) -> None:
    res = cli("doctor", "--json", "--data-dir", str(data_copy))
    assert res.returncode == 0, res.stdout + res.stderr
    report = json.loads(res.stdout)
    assert report["ok"] and report["differences"] == 0
    checks = _checks(report)
    assert set(checks) == {"model", "dense_index", "lexical_index", "files", "jobs"}
    n = sqlite3.connect(data_copy / "ragd.sqlite3").execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    assert n > 0 and checks["dense_index"]["detail"].startswith(f"{n} vectors for {n} chunks")


def test_deleted_vector_index_files_are_detected_and_repaired(data_copy: Path, cli) -> None:
    index_files = list((data_copy / "index").glob("dense-*.npy"))
    assert index_files
    for f in index_files:
        f.unlink()
    res = cli("doctor", "--json", "--data-dir", str(data_copy))
    assert res.returncode == 1, res.stdout + res.stderr
    dense = _checks(json.loads(res.stdout))["dense_index"]
    assert not dense["ok"] and "missing" in dense["detail"] and dense["repairable"]

    res = cli("doctor", "--repair", "--json", "--data-dir", str(data_copy))
    assert res.returncode == 0, res.stdout + res.stderr
    report = json.loads(res.stdout)
    assert report["ok"] and any("dense index rebuilt" in r for r in report["repaired"])
    again = cli("doctor", "--data-dir", str(data_copy))
    assert again.returncode == 0 and "0 differences" in again.stdout


def test_lexical_index_row_lost_is_detected_and_rebuilt(data_copy: Path) -> None:
    conn = sqlite3.connect(data_copy / "ragd.sqlite3")
    seq, lex = conn.execute("SELECT seq, lex FROM chunks ORDER BY seq LIMIT 1").fetchone()
    conn.execute("INSERT INTO chunks_fts (chunks_fts, rowid, lex) VALUES ('delete', ?, ?)", (seq, lex))
    conn.commit()
    conn.close()
    settings = settings_for(data_copy)
    report = run_doctor(settings)
    lexical = _checks(report)["lexical_index"]
    assert lexical["differences"] == 1 and f"missing seq {seq}" in lexical["items"]
    fixed = run_doctor(settings, repair=True)
    assert fixed["ok"], fixed
    assert "lexical index rebuilt from the chunks" in fixed["repaired"]


def test_missing_original_and_stale_vectors_are_reported(data_copy: Path) -> None:
    doc_file = next((data_copy / "files").glob("*/*"))
    doc_file.unlink()
    report = run_doctor(settings_for(data_copy), repair=True)
    files = _checks(report)["files"]
    assert not report["ok"] and files["differences"] == 1
    assert f"missing original {doc_file.name}" in files["items"]


def test_unfinished_document_without_job_is_requeued(data_copy: Path) -> None:
    conn = sqlite3.connect(data_copy / "ragd.sqlite3")
    doc_id = conn.execute("SELECT id FROM documents LIMIT 1").fetchone()[0]
    conn.execute("UPDATE documents SET status = 'parsing' WHERE id = ?", (doc_id,))
    conn.commit()
    conn.close()
    report = run_doctor(settings_for(data_copy))
    assert _checks(report)["jobs"]["items"] == [f"no job for {doc_id}"]
    fixed = run_doctor(settings_for(data_copy), repair=True)
    assert fixed["ok"] and "1 unfinished documents queued again" in fixed["repaired"]
