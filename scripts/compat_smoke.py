#!/usr/bin/env python3
"""Run the checks of the deployments ragd replaces against a running ragd (docs/migrating.md).

    python scripts/compat_smoke.py --url http://host:8000 --user admin@example.org --password '…'

The calls are those the old FastAPI RAG recipes and the FilAgent compliance agent made, unchanged: their probes
(``GET /health``, ``GET /ready``), sign-in (``POST /auth/login``, JSON and OAuth2 form), uploads (``POST
/documents/upload``, and several files at once to ``POST /documents/upload/bulk``), then, once the files are
indexed, a search with ``limit`` (``POST /chat/query``), two chat turns in a conversation the client names (``POST
/chat`` with ``messages`` and ``conversation_id``), that conversation read back (``GET /conversations/{id}``), and
the metric names their dashboards and alert rules read (``GET /metrics``).

Each check prints one line; the first failure prints what went wrong and exits 1 (0 when every check passed,
2 for bad arguments). Without ``--user`` the server must have authentication off. What the script uploads and
the conversation it makes are deleted at the end (``--keep`` leaves them). Needs Python ≥ 3.11 and httpx.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

#: What the old deployments' metric checks grep /metrics for (the FilAgent names need
#: RAGD_METRICS__COMPAT_NAMES=true on the server).
METRIC_NAMES = ("rag_query_results_count", "filagent_requests_total", "filagent_request_duration_seconds",
                "filagent_tokens_used_total")


class CheckFailed(Exception):
    pass


class Smoke:
    def __init__(self, http: httpx.Client, args: argparse.Namespace) -> None:
        self.http, self.args = http, args
        self.headers: dict[str, str] = {}
        self.nonce = uuid.uuid4().hex[:12]
        self.documents: list[str] = []
        self.conversation = f"smoke-{self.nonce}"
        self.ragd_conversation = ""

    # -- helpers ---------------------------------------------------------------------------------------------
    def call(self, method: str, path: str, want: int, **kwargs: Any) -> httpx.Response:
        try:
            r = self.http.request(method, path, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)
        except httpx.HTTPError as exc:
            raise CheckFailed(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if r.status_code != want:
            raise CheckFailed(f"{method} {path}: HTTP {r.status_code} (expected {want}): {r.text[:300]}")
        return r

    def json(self, r: httpx.Response) -> Any:
        try:
            return r.json()
        except ValueError as exc:
            raise CheckFailed(f"{r.request.method} {r.request.url.path}: the body is not JSON: {r.text[:200]}") from exc

    # -- the checks ------------------------------------------------------------------------------------------
    def health(self) -> str:
        body = self.json(self.call("GET", "/health", 200))
        if body.get("status") != "ok":
            raise CheckFailed(f"GET /health: status {body.get('status')!r}, expected 'ok'")
        return f"status ok, version {body.get('version')}"

    def ready(self) -> str:
        try:
            r = self.http.get("/ready", headers=self.headers)
        except httpx.HTTPError as exc:
            raise CheckFailed(f"GET /ready: {type(exc).__name__}: {exc}") from exc
        if r.status_code not in (200, 503):
            raise CheckFailed(f"GET /ready: HTTP {r.status_code} (expected 200): {r.text[:300]}")
        body = self.json(r)
        if r.status_code != 200:
            failing = [k for k, v in (body.get("checks") or {}).items() if isinstance(v, dict)
                       and v.get("status") != "ok"]
            raise CheckFailed(f"GET /ready: HTTP {r.status_code}, failing checks: {', '.join(failing) or body}")
        return str(body.get("status"))

    def login(self) -> str:
        if not self.args.user:
            return "skipped (no --user: the server must have authentication off)"
        creds = {"username": self.args.user, "password": self.args.password or ""}
        token = self.json(self.call("POST", "/auth/login", 200, json=creds)).get("access_token")
        form = self.json(self.call("POST", "/auth/login", 200, data={**creds, "grant_type": "password"}))
        if not token or not form.get("access_token") or form.get("token_type") != "bearer":
            raise CheckFailed(f"POST /auth/login: no bearer access_token in {sorted(form)}")
        self.headers = {"Authorization": f"Bearer {form['access_token']}"}
        return "JSON and OAuth2 form sign-in, bearer token"

    def _document(self, n: int) -> bytes:
        return (f"Compatibility smoke test {self.nonce}, note {n}. Refunds of the {self.nonce} store are paid "
                f"within fourteen days; parcels of order {n} arrive in three days.\n").encode()

    def upload(self) -> str:
        data = {"collection": self.args.collection} if self.args.collection else {}
        one = self.json(self.call("POST", "/documents/upload", 201, data=data,
                                  files=[("file", (f"smoke-{self.nonce}-1.txt", self._document(1), "text/plain"))]))
        bulk = self.json(self.call("POST", "/documents/upload/bulk", 201, data=data, files=[
            ("files", (f"smoke-{self.nonce}-{n}.txt", self._document(n), "text/plain")) for n in (2, 3)]))
        self.documents = [d["id"] for d in [*one.get("documents", []), *bulk.get("documents", [])]]
        if len(self.documents) != 3:
            raise CheckFailed(f"uploads: expected 3 documents, the server listed {len(self.documents)}")
        deadline = time.monotonic() + self.args.timeout
        pending = set(self.documents)
        while pending:
            for doc in sorted(pending):
                status = self.json(self.call("GET", f"/api/v1/documents/{doc}", 200)).get("status")
                if status == "failed":
                    raise CheckFailed(f"document {doc} failed to index")
                if status == "indexed":
                    pending.discard(doc)
            if pending and time.monotonic() > deadline:
                raise CheckFailed(f"documents not indexed after {self.args.timeout:g} s: {sorted(pending)}")
            if pending:
                threading.Event().wait(0.5)
        return f"1 file + 2 in bulk, indexed: {', '.join(self.documents)}"

    def query(self) -> str:
        body = self.json(self.call("POST", "/chat/query", 200,
                                   json={"query": f"refunds of the {self.nonce} store", "limit": 2}))
        results = body.get("results")
        if not isinstance(results, list) or not 1 <= len(results) <= 2:
            raise CheckFailed(f"POST /chat/query with limit 2: {len(results or [])} results, expected 1 or 2")
        if not {r.get("document_id") for r in results} & set(self.documents):
            raise CheckFailed("POST /chat/query: none of the results comes from the uploaded documents")
        return f"{len(results)} results (limit 2)"

    def _chat_turn(self, question: str) -> dict[str, Any]:
        data = self.json(self.call("POST", "/chat", 200, json={
            "messages": [{"role": "user", "content": question}], "conversation_id": self.conversation}))
        try:
            content = data["choices"][0]["message"]["content"]
            total = data["usage"]["total_tokens"]
        except (KeyError, IndexError, TypeError) as exc:
            raise CheckFailed(f"POST /chat: no choices[0].message.content or usage.total_tokens ({exc!r})") from exc
        if not isinstance(content, str) or not content or not isinstance(total, int):
            raise CheckFailed(f"POST /chat: content {content!r}, total_tokens {total!r}")
        if data.get("status") != "success" or data.get("conversation_id") != self.conversation:
            raise CheckFailed(f"POST /chat: status {data.get('status')!r}, conversation_id "
                              f"{data.get('conversation_id')!r} (sent {self.conversation!r})")
        self.ragd_conversation = data.get("ragd_conversation_id", "")
        return data

    def chat(self) -> str:
        self._chat_turn(f"How long do refunds of the {self.nonce} store take?")
        second = self._chat_turn("And when do the parcels arrive?")
        conv = self.json(self.call("GET", f"/conversations/{self.conversation}", 200))
        roles = [m.get("role") for m in conv.get("messages", [])]
        if roles != ["user", "assistant", "user", "assistant"]:
            raise CheckFailed(f"GET /conversations/{self.conversation}: messages {roles}, expected two turns")
        return f"two turns in {self.conversation!r}, read back; {second['usage']['total_tokens']} tokens"

    def metrics(self) -> str:
        headers = {"Authorization": f"Bearer {self.args.metrics_token}"} if self.args.metrics_token else {}
        text = self.call("GET", "/metrics", 200, headers=headers).text
        missing = [n for n in METRIC_NAMES if n not in text]
        if missing:
            hint = " (set RAGD_METRICS__COMPAT_NAMES=true on the server)" if any(
                n.startswith("filagent_") for n in missing) else ""
            raise CheckFailed(f"GET /metrics: missing {', '.join(missing)}{hint}")
        return ", ".join(METRIC_NAMES)

    def cleanup(self) -> None:
        if self.ragd_conversation:
            self.http.delete(f"/api/v1/conversations/{self.ragd_conversation}", headers=self.headers)
        for doc in self.documents:
            self.http.delete(f"/api/v1/documents/{doc}", headers=self.headers)


def run(args: argparse.Namespace, out: Callable[[str], None] = print) -> int:
    with httpx.Client(base_url=args.url.rstrip("/"), timeout=args.request_timeout) as http:
        smoke = Smoke(http, args)
        checks: list[tuple[str, Callable[[], str]]] = [
            ("health", smoke.health), ("ready", smoke.ready), ("login", smoke.login), ("upload", smoke.upload),
            ("query", smoke.query), ("chat", smoke.chat), ("metrics", smoke.metrics)]
        try:
            for name, check in checks:
                try:
                    detail = check()
                except CheckFailed as exc:
                    out(f"FAIL {name}: {exc}")
                    return 1
                out(f"ok   {name}: {detail}")
        finally:
            if not args.keep:
                try:
                    smoke.cleanup()
                except httpx.HTTPError as exc:
                    out(f"note: cleanup failed: {exc}")
    out("all checks passed")
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="ragd's base URL, e.g. http://127.0.0.1:8000")
    p.add_argument("--user", help="an account's e-mail (one that may upload and ask: role user or admin)")
    p.add_argument("--password", help="its password")
    p.add_argument("--collection", help="upload into this collection (default: the account's default)")
    p.add_argument("--metrics-token", help="RAGD_METRICS__TOKEN, when the server sets one")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for indexing (default 300)")
    p.add_argument("--request-timeout", type=float, default=120.0, help="seconds per HTTP request (default 120)")
    p.add_argument("--keep", action="store_true", help="keep the uploaded documents and the conversation")
    args = p.parse_args(argv)
    if args.user and args.password is None:
        p.error("--user needs --password")
    return args


if __name__ == "__main__":
    sys.exit(run(parse_args()))
