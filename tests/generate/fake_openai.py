"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests, with scripted behaviours.

Each POST /v1/chat/completions takes the next scripted behaviour (or the default) — a dict with any of:
``status`` (+ ``headers``, ``body``), ``sleep`` (seconds before answering), ``wait`` (a ``threading.Event`` the
test sets when the answer may start; at most 120 s), ``text`` (the answer; streamed in
pieces of ``piece`` characters with ``delay`` seconds between chunks when the request asks to stream),
``raw`` (SSE lines sent verbatim). Requests are recorded; a client that hangs up mid-stream is noticed.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Behaviour = dict[str, Any]


class FakeOpenAI:
    def __init__(self, default: Behaviour | Callable[[dict[str, Any]], Behaviour] | None = None) -> None:
        self.default = default or {"text": "ok [1]"}
        self.script: deque[Behaviour] = deque()
        self.requests: list[dict[str, Any]] = []
        self.times: list[float] = []
        self.streams_aborted: list[int] = []  # chunks sent before each client hang-up
        self.streams_finished = 0
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._json(200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))) or b"{}")
                with fake._lock:
                    fake.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
                    fake.times.append(time.monotonic())
                    b = fake.script.popleft() if fake.script else None
                if b is None:
                    b = fake.default(body) if callable(fake.default) else fake.default
                if b.get("sleep"):
                    time.sleep(b["sleep"])
                if b.get("wait") is not None:
                    b["wait"].wait(120)
                if "status" in b:
                    self._json(b["status"], b.get("body", {"error": {"message": "scripted"}}), b.get("headers"))
                elif "raw" in b:
                    self._sse(b["raw"], 0.0)
                elif body.get("stream"):
                    text, n = b["text"], b.get("piece", 4)
                    lines = [_chunk({"role": "assistant", "content": ""})]
                    lines += [_chunk({"content": text[i : i + n]}) for i in range(0, len(text), n)]
                    lines.append("data: [DONE]")
                    self._sse(lines, b.get("delay", 0.0))
                else:
                    self._json(200, {"id": "x", "object": "chat.completion", "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": b["text"]}, "finish_reason": "stop"}
                    ], "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}})

            def _json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _sse(self, lines: list[str], delay: float) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                sent = 0
                try:
                    for line in lines:
                        self.wfile.write(line.encode() + b"\n\n")
                        self.wfile.flush()
                        sent += 1
                        if delay:
                            time.sleep(delay)
                except (BrokenPipeError, ConnectionResetError):
                    with fake._lock:
                        fake.streams_aborted.append(sent)
                    return
                with fake._lock:
                    fake.streams_finished += 1

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()


def _chunk(delta: dict[str, Any]) -> str:
    return "data: " + json.dumps(
        {"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
    )
