"""The ``openai`` generator: any server speaking the OpenAI chat-completions API (OpenAI, vLLM, Ollama, llama.cpp
server, Mistral, Perplexity, Gemini's OpenAI-compatible endpoint…) over httpx.

* ``POST {base_url}/chat/completions`` with the model, temperature, seed and max tokens from the settings.
* Retries on 429, 5xx and connection errors, up to ``max_retries`` times, with exponential backoff and full
  jitter (0.5 s, 1 s, 2 s… each scaled by a random factor in [0.5, 1]); a ``Retry-After`` header (seconds or an
  HTTP date) replaces the backoff, capped at 30 s. A stream is retried only before its first byte.
* Streaming reads Server-Sent Events ``data:`` lines up to ``data: [DONE]``.
* Vendor errors become ragd errors at this boundary: a timeout → :class:`~ragd.errors.LLMTimeout` (504, not
  retried: a slow server stays slow); retries exhausted or refused → :class:`~ragd.errors.LLMUnavailable` (503);
  a malformed body or chunk, or a 4xx → :class:`~ragd.errors.LLMBadResponse` (502).
* The prompt budget is counted with :func:`~ragd.generate.prompts.estimate_tokens` (characters / 3.5): the
  server's tokenizer is unknown.
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from collections.abc import Iterator
from typing import Any

import httpx

from ragd.config import LLMSettings
from ragd.errors import LLMBadResponse, LLMTimeout, LLMUnavailable
from ragd.generate.llm import LLMGenerator, Usage
from ragd.generate.prompts import estimate_tokens

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 8.0
RETRY_AFTER_CAP_S = 30.0


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date), capped; ``None`` if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when - (now if now is not None else time.time())
    return min(max(seconds, 0.0), RETRY_AFTER_CAP_S)


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    if retry_after is not None:
        return retry_after
    return min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt) * random.uniform(0.5, 1.0)


class OpenAIGenerator(LLMGenerator):
    name = "openai"

    def __init__(self, settings: LLMSettings, transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(settings, settings.model or "default")
        headers = {"Accept": "application/json"}
        if settings.api_key is not None and settings.api_key.get_secret_value():
            headers["Authorization"] = f"Bearer {settings.api_key.get_secret_value()}"
        self._client = httpx.Client(
            base_url=settings.base_url.rstrip("/") + "/", headers=headers,
            timeout=httpx.Timeout(settings.timeout), transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def _payload(self, messages: list[dict[str, str]], max_tokens: int, stream: bool) -> dict[str, Any]:
        s = self.settings
        body: dict[str, Any] = {
            "model": self.model, "messages": messages, "temperature": s.temperature, "max_tokens": max_tokens,
            "stream": stream,
        }
        if s.seed is not None:
            body["seed"] = s.seed
        return body

    def _send(self, body: dict[str, Any]) -> httpx.Response:
        """POST with retries; returns an open (streamed) response with a 2xx status."""
        retries = self.settings.max_retries
        for attempt in range(retries + 1):
            try:
                resp = self._client.send(self._client.build_request("POST", "chat/completions", json=body),
                                         stream=True)
            except httpx.TimeoutException as exc:
                raise LLMTimeout(f"the model server did not answer within {self.settings.timeout:g} s") from exc
            except httpx.TransportError as exc:
                if attempt < retries:
                    time.sleep(backoff_seconds(attempt))
                    continue
                raise LLMUnavailable(f"cannot reach the model server at {self.settings.base_url}: {exc}") from exc
            if resp.status_code < 300:
                return resp
            detail = _error_text(resp)
            if resp.status_code in RETRY_STATUSES:
                if attempt < retries:
                    time.sleep(backoff_seconds(attempt, retry_after_seconds(resp.headers.get("retry-after"))))
                    continue
                raise LLMUnavailable(
                    f"the model server answered {resp.status_code} after {retries + 1} attempts: {detail}"
                )
            raise LLMBadResponse(f"the model server refused the request ({resp.status_code}): {detail}")
        raise AssertionError("unreachable")  # pragma: no cover

    def _complete(self, messages: list[dict[str, str]], max_tokens: int) -> str:
        resp = self._send(self._payload(messages, max_tokens, stream=False))
        try:
            try:
                data = json.loads(resp.read())
                content = data["choices"][0]["message"]["content"]
            except httpx.TimeoutException as exc:
                raise LLMTimeout(f"the model server did not answer within {self.settings.timeout:g} s") from exc
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                raise LLMBadResponse("the model server returned a malformed completion") from exc
        finally:
            resp.close()
        if not isinstance(content, str):
            raise LLMBadResponse("the model server returned a completion without text")
        return content

    def _deltas(self, messages: list[dict[str, str]], usage: Usage) -> Iterator[str]:
        resp = self._send(self._payload(messages, self.settings.max_tokens, stream=True))
        try:
            if "text/event-stream" not in resp.headers.get("content-type", ""):
                # some servers ignore "stream": accept a plain completion
                try:
                    data = json.loads(resp.read())
                    yield str(data["choices"][0]["message"]["content"] or "")
                except (ValueError, KeyError, IndexError, TypeError) as exc:
                    raise LLMBadResponse("the model server returned a malformed completion") from exc
                return
            yield from _sse_deltas(resp, usage)
        except httpx.TimeoutException as exc:
            raise LLMTimeout(f"the model server stalled for more than {self.settings.timeout:g} s") from exc
        except httpx.TransportError as exc:
            raise LLMBadResponse(f"the model server's stream broke off: {exc}") from exc
        finally:
            resp.close()


def _sse_deltas(resp: httpx.Response, usage: Usage) -> Iterator[str]:
    for line in resp.iter_lines():
        if not line.startswith("data:"):
            continue  # comments, event names, blank separators
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            chunk = json.loads(data)
            if "error" in chunk:
                err = chunk["error"]
                msg = err.get("message", err) if isinstance(err, dict) else err
                raise LLMBadResponse(f"the model server failed while answering: {msg}")
            if chunk.get("usage"):
                usage.prompt_tokens = chunk["usage"].get("prompt_tokens")
                usage.completion_tokens = chunk["usage"].get("completion_tokens")
            choices = chunk["choices"]
            if not choices:
                continue  # the usage-only final chunk
            content = choices[0].get("delta", {}).get("content")
        except LLMBadResponse:
            raise
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise LLMBadResponse(f"the model server sent a malformed stream chunk: {data[:200]!r}") from exc
        if content:
            if not isinstance(content, str):
                raise LLMBadResponse("the model server sent a stream chunk whose content is not text")
            yield content


def _error_text(resp: httpx.Response) -> str:
    try:
        raw = resp.read()
    except httpx.HTTPError:
        return "(no body)"
    finally:
        resp.close()
    try:
        body = json.loads(raw)
        err = body.get("error", body) if isinstance(body, dict) else body
        msg = err.get("message", err) if isinstance(err, dict) else err
        return str(msg)[:300]
    except ValueError:
        return raw[:300].decode("utf-8", "replace")
