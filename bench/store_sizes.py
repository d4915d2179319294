"""Bytes per chunk of a ragd store, by table, counting only the embeddings its chunks use (a corpus built from a
seeded embedding cache holds more embeddings than chunks; bench/backends.py builds them so).

Run: ``.venv/bin/python bench/store_sizes.py URL_OR_SQLITE_FILE [...]`` (prints JSON).
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
from pathlib import Path


def postgres_sizes(url: str) -> dict[str, object]:
    import psycopg

    with psycopg.connect(url) as conn:
        chunks = int(conn.execute("SELECT count(*) FROM chunks").fetchone()[0])  # type: ignore[index]
        used = int(conn.execute(  # type: ignore[index]
            "SELECT count(*) FROM embeddings e WHERE EXISTS (SELECT 1 FROM chunks c "
            "WHERE c.content_hash = e.content_hash)").fetchone()[0])
        total = int(conn.execute("SELECT count(*) FROM embeddings").fetchone()[0])  # type: ignore[index]
        rows = conn.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON "
            "n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = current_schema()").fetchall()
    tables = {name: int(size) for name, size in rows}
    if total:
        tables["embeddings"] = round(tables.get("embeddings", 0) * used / total)
    return {"chunks": chunks, "bytes_per_chunk": round(sum(tables.values()) / max(1, chunks)),
            "by_table_per_chunk": {k: round(v / max(1, chunks)) for k, v in sorted(tables.items(), key=lambda x: -x[1])
                                   if v / max(1, chunks) >= 10}}


def sqlite_sizes(path: Path) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as d:
        copy = Path(d) / "copy.sqlite3"
        src = sqlite3.connect(path)
        dst = sqlite3.connect(copy)
        src.backup(dst)
        src.close()
        dst.execute("DELETE FROM embeddings WHERE content_hash NOT IN (SELECT content_hash FROM chunks)")
        dst.commit()
        dst.execute("VACUUM")
        chunks = int(dst.execute("SELECT count(*) FROM chunks").fetchone()[0])
        dst.close()
        size = copy.stat().st_size
    files = path.parent / "files"
    originals = sum(p.stat().st_size for p in files.rglob("*") if p.is_file()) if files.is_dir() else 0
    return {"chunks": chunks, "bytes_per_chunk": round(size / max(1, chunks)),
            "originals_bytes_per_chunk": round(originals / max(1, chunks))}


def main() -> None:
    out = {}
    for target in sys.argv[1:]:
        out[target.split("@")[-1]] = postgres_sizes(target) if "://" in target else sqlite_sizes(Path(target))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
