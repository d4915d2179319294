"""The ``Reranker`` port: re-score the best fused candidates against the question (a cross-encoder's job).

No cross-encoder ships offline in a PyPI package today (docs/benchmarks.md), so ragd's default is no reranking
and the adapters talk to a rerank server you run: Hugging Face Text Embeddings Inference (``tei``: ``POST
{url}/rerank`` with ``{"query", "texts"}`` → ``[{"index", "score"}]``) or the Cohere-style API that Cohere, Jina,
Voyage, Mixedbread and vLLM speak (``cohere``: ``POST {url}/v1/rerank`` with ``{"model", "query", "documents",
"top_n"}`` → ``{"results": [{"index", "relevance_score"}]}``).

Contract: :meth:`Reranker.scores` returns one float per text, aligned with ``texts``, higher is better. Any
failure (refused, timeout, HTTP error, unreadable body) raises :class:`RerankUnavailable`; the retriever then keeps
the fused order and says so in its timings — a rerank server going down degrades ranking, never answers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import httpx

from ragd.config import RerankSettings
from ragd.errors import ConfigurationError


class RerankUnavailable(Exception):
    """The rerank server could not score this request."""


class Reranker(Protocol):
    name: str

    def scores(self, query: str, texts: Sequence[str]) -> list[float]: ...

    def close(self) -> None: ...


class _HttpReranker:
    path = ""

    def __init__(self, settings: RerankSettings) -> None:
        if not settings.url:
            raise ConfigurationError(f"rerank.backend={settings.backend} needs rerank.url (RAGD_RERANK__URL)")
        headers = {"Authorization": f"Bearer {settings.api_key.get_secret_value()}"} if settings.api_key else {}
        self.name = f"{settings.backend}:{settings.model or settings.url}"
        self._settings = settings
        self._client = httpx.Client(base_url=settings.url.rstrip("/"), headers=headers, timeout=settings.timeout)

    def _post(self, body: dict[str, Any]) -> Any:
        try:
            r = self._client.post(self.path, json=body)
            r.raise_for_status()
            return r.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise RerankUnavailable(f"{self.name}: {type(exc).__name__}: {exc}") from exc

    @staticmethod
    def _aligned(pairs: list[tuple[Any, Any]], n: int) -> list[float]:
        out = [-math.inf] * n
        try:
            for index, score in pairs:
                i, s = int(index), float(score)
                if not 0 <= i < n or not math.isfinite(s):
                    raise ValueError(f"bad index or score {index!r}, {score!r}")
                out[i] = s
        except (TypeError, ValueError) as exc:
            raise RerankUnavailable(f"unreadable rerank response: {exc}") from exc
        if any(s == -math.inf for s in out):
            raise RerankUnavailable("the rerank response does not score every passage")
        return out

    def close(self) -> None:
        self._client.close()


class TeiReranker(_HttpReranker):
    path = "/rerank"

    def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        data = self._post({"query": query, "texts": list(texts), "truncate": True})
        if not isinstance(data, list):
            raise RerankUnavailable("a TEI rerank response is a JSON list")
        return self._aligned([(d.get("index"), d.get("score")) for d in data if isinstance(d, dict)], len(texts))


class CohereReranker(_HttpReranker):
    path = "/v1/rerank"

    def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        body: dict[str, Any] = {"query": query, "documents": list(texts), "top_n": len(texts)}
        if self._settings.model:
            body["model"] = self._settings.model
        data = self._post(body)
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list):
            raise RerankUnavailable("a Cohere-style rerank response has a 'results' list")
        return self._aligned([(d.get("index"), d.get("relevance_score")) for d in results if isinstance(d, dict)],
                             len(texts))


RERANKERS: dict[str, Callable[[RerankSettings], Reranker]] = {"tei": TeiReranker, "cohere": CohereReranker}


def create_reranker(settings: RerankSettings) -> Reranker | None:
    """The configured reranker, or ``None`` when reranking is off (``backend="none"``, the default)."""
    if settings.backend == "none":
        return None
    factory = RERANKERS.get(settings.backend)
    if factory is None:
        raise ConfigurationError(f"unknown rerank backend {settings.backend!r}; use none, {', '.join(RERANKERS)}")
    return factory(settings)


def rerank_order(scores: Sequence[float]) -> list[int]:
    """Candidate positions best first by reranker score; ties keep the fused order."""
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))
