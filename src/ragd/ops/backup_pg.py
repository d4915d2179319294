"""Backup and restore of a PostgreSQL store with PostgreSQL's own tools (``pg_dump`` / ``pg_restore``, custom
format), for :mod:`ragd.ops.backup`.

What is dumped: the one schema ragd's tables live in (the store URL's ``current_schema()``: ``public`` unless the
URL's ``search_path`` says otherwise), which holds every table of every port, the originals included (``blobs``,
still sealed as stored). Other schemas of the same database and the pgvector extension itself are not dumped: the
extension is created again by the restore (in the schema it lived in), the rest is not ragd's.

Consistency: the summary the manifest records (counts, missing originals, key ids of the originals) is read in
one REPEATABLE READ transaction whose snapshot ``pg_dump --snapshot`` then dumps, so manifest and dump agree
while the server keeps writing.

Secrets: the password never appears on a command line, in the environment or in a message — the tools read it
from a temporary passfile (0600, deleted with the work directory); messages show the URL with its password
masked.

Restore goes into an empty schema of that name (created when missing) in the database the target URL names; the
target URL must resolve to that schema (for a store in ``public``, any database's ``public``). It runs in one
transaction (``--single-transaction --exit-on-error``): a failed restore leaves nothing behind.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ragd.errors import BadRequest, ConfigurationError, Conflict, DecryptionFailed
from ragd.security.encryption import HEADER_LEN, describe
from ragd.security.filemodes import open_private
from ragd.store.postgres.connection import CONNECT_TIMEOUT_S, unavailable
from ragd.store.url import libpq_url, masked

DUMP_NAME = "ragd.pgdump"
TOOL_TIMEOUT_S = 6 * 3600
_RELATIONS = "('r', 'p', 'v', 'm', 'S', 'f')"


def tool(name: str) -> str:
    """``pg_dump`` / ``pg_restore``: from ``PATH``, else the newest ``/usr/lib/postgresql/<major>/bin`` (Debian)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                        key=lambda p: int(re.sub(r"\D", "", Path(p).parent.parent.name) or 0))
    if candidates:
        return candidates[-1]
    raise ConfigurationError(f"{name} was not found: install the PostgreSQL client tools (the server's major "
                             "version or newer), e.g. `apt-get install postgresql-client`")


def _escape(field: str) -> str:
    return field.replace("\\", "\\\\").replace(":", "\\:")


def _conninfo(url: str, workdir: Path) -> str:
    """The URL as a libpq connection string without its password; the password goes to a passfile in
    ``workdir`` (0600) that the connection string names."""
    params = conninfo_to_dict(libpq_url(url))
    password = params.pop("password", None)
    if password:
        passfile = workdir / ".pgpass"
        with os.fdopen(open_private(passfile, os.O_WRONLY | os.O_TRUNC), "w") as f:
            f.write(f"*:*:*:*:{_escape(str(password))}\n")
        params["passfile"] = str(passfile)
    return make_conninfo(**{k: str(v) for k, v in params.items() if v is not None})


def _run(args: list[str], what: str) -> str:
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ConfigurationError(f"{what} did not finish within {TOOL_TIMEOUT_S} s") from exc
    if proc.returncode != 0:
        lines = [masked(line) for line in proc.stderr.strip().splitlines()[-5:]]
        raise ConfigurationError(f"{what} failed (exit code {proc.returncode}): " + " / ".join(lines))
    return proc.stdout


def _connect(url: str, *, autocommit: bool) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(libpq_url(url), autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg.OperationalError as exc:
        raise unavailable(url, exc) from exc


def _pattern(schema: str) -> str:
    """A schema name as a pg_dump pattern matching exactly it (double quotes: literal, case kept)."""
    return '"' + schema.replace('"', '""') + '"'


def _summary(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    one = lambda q: conn.execute(q).fetchone()[0]  # noqa: E731
    if not one("SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema() "
               "AND tablename = 'ragd_schema')"):
        raise BadRequest("no ragd database at this store URL (no ragd_schema table in its schema)")
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    encryption: dict[str, Any] = {"plain": 0, "key_ids": {}}
    originals = 0
    for (head,) in conn.execute(f"SELECT substring(data FROM 1 FOR {HEADER_LEN}) FROM blobs"):
        originals += 1
        try:
            kid = describe(bytes(head)).key_id
        except DecryptionFailed:
            kid = "unknown"
        if kid is None:
            encryption["plain"] += 1
        else:
            encryption["key_ids"][kid] = encryption["key_ids"].get(kid, 0) + 1
    missing = [r[0] for r in conn.execute(
        "SELECT d.id FROM documents d WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.key = d.id) ORDER BY d.id")]
    return {
        "engine": "postgresql",
        "schema": one("SELECT current_schema()"),
        "vector_schema": one("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                             "WHERE e.extname = 'vector'"),
        "server_version": one("SHOW server_version"),
        "schema_version": one("SELECT version FROM ragd_schema"),
        "embedding_model": meta.get("embedding_model"),
        "embedding_dim": int(meta["embedding_dim"]) if meta.get("embedding_dim") else None,
        "documents": one("SELECT count(*) FROM documents"),
        "chunks": one("SELECT count(*) FROM chunks"),
        "last_change_id": one("SELECT COALESCE(max(change_id), 0) FROM changes"),
        "originals": originals,
        "_missing": missing,
        "_encryption": encryption,
    }


def dump(url: str, dest: Path, workdir: Path) -> dict[str, Any]:
    """``pg_dump`` (custom format) of ragd's schema at ``url`` into ``dest``; returns the summary of the same
    snapshot (with ``_missing`` documents without an original and ``_encryption`` counts, for the manifest)."""
    conninfo = _conninfo(url, workdir)
    conn = _connect(url, autocommit=False)
    try:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]  # type: ignore[index]
        summary = _summary(conn)
        _run([tool("pg_dump"), "--format=custom", "--no-password", f"--schema={_pattern(summary['schema'])}",
              f"--snapshot={snapshot}", f"--file={dest}", f"--dbname={conninfo}"], "pg_dump")
    except psycopg.OperationalError as exc:
        raise unavailable(url, exc) from exc
    finally:
        conn.close()
    return summary


def check_dump(path: Path) -> None:
    """``pg_restore --list``: the dump is a readable custom-format archive."""
    try:
        _run([tool("pg_restore"), "--list", str(path)], "pg_restore --list")
    except ConfigurationError as exc:
        raise BadRequest(f"the PostgreSQL dump in the backup is not readable: {exc.detail}") from exc


def _toc_without_schema(path: Path, schema: str, workdir: Path) -> Path:
    """The dump's table of contents without the entries that create (and comment) the schema itself: the
    restore creates it (or finds it empty), so an existing empty schema is a valid target."""
    names = {schema, _pattern(schema)}
    keep = []
    for line in _run([tool("pg_restore"), "--list", str(path)], "pg_restore --list").splitlines():
        m = re.match(r"^\d+; \d+ \d+ (?:SCHEMA - |COMMENT - SCHEMA )(\S+) ", line)
        if m and m.group(1) in names:
            continue
        keep.append(line)
    listing = workdir / "restore.list"
    listing.write_text("\n".join(keep) + "\n")
    return listing


def _ensure_extension(conn: psycopg.Connection[Any], where: str | None) -> None:
    row = conn.execute("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                       "WHERE e.extname = 'vector'").fetchone()
    if row is not None:
        if where and row[0] != where:
            raise ConfigurationError(f"pgvector is installed in schema {row[0]!r} of the target database but the "
                                     f"backup's tables use it from {where!r}")
        return
    try:
        stmt = sql.SQL("CREATE EXTENSION vector") + (
            sql.SQL(" WITH SCHEMA {}").format(sql.Identifier(where)) if where else sql.SQL(""))
        conn.execute(stmt)
    except (psycopg.errors.InsufficientPrivilege, psycopg.errors.FeatureNotSupported,
            psycopg.errors.UndefinedFile) as exc:
        raise ConfigurationError("the target database lacks the pgvector extension and ragd's user may not "
                                 "create it: run `CREATE EXTENSION vector;` there once as a superuser") from exc


def restore(dump_path: Path, url: str, summary: dict[str, Any], workdir: Path) -> None:
    """``pg_restore`` the dump into the empty schema ``summary['schema']`` of the database ``url`` names, then
    queue again the jobs that were running at the snapshot (no process of the restored store holds them)."""
    schema = str(summary["schema"])
    conninfo = _conninfo(url, workdir)
    listing = _toc_without_schema(dump_path, schema, workdir)
    conn = _connect(url, autocommit=True)
    created = False
    try:
        exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
        if exists and conn.execute(
                f"SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                f"WHERE n.nspname = %s AND c.relkind IN {_RELATIONS}", (schema,)).fetchone()[0]:  # type: ignore[index]
            raise Conflict(f"schema {schema!r} of {masked(url)} is not empty: restore only into an empty database "
                           "(or an empty schema)")
        if not exists:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
            created = True
        try:
            current = conn.execute("SELECT current_schema()").fetchone()[0]  # type: ignore[index]
            if current != schema:
                raise ConfigurationError(
                    f"the backup holds schema {schema!r} but {masked(url)} resolves to schema {current!r}: give a "
                    f"store URL whose search_path starts with it (options=-csearch_path={schema})")
            vector_schema = summary.get("vector_schema")
            if vector_schema and vector_schema != schema:
                conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(vector_schema)))
            _ensure_extension(conn, vector_schema)
            _run([tool("pg_restore"), "--no-password", "--no-owner", "--no-privileges", "--single-transaction",
                  "--exit-on-error", f"--use-list={listing}", f"--dbname={conninfo}", str(dump_path)],
                 "pg_restore")
            conn.execute("UPDATE jobs SET status = 'queued', worker_id = NULL, locked_until = NULL, updated_at = %s "
                         "WHERE status IN ('queued', 'running')", (time.time(),))
        except BaseException:
            if created:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
            raise
    except psycopg.OperationalError as exc:
        raise unavailable(url, exc) from exc
    finally:
        conn.close()
