"""Check ragd's vectors against the reference a model folder allows, at start-up (docs/embeddings.md).

"What the folder allows" is, in this order, everything of:

1. ``ragd_reference.json``: ``{"texts": [...], "vectors": [[...], ...]}``, the vectors sentence-transformers
   computed for those texts (``model.encode(texts)``, no prompt) — written wherever torch is at hand. It checks the
   tokenizer, the graph and the pooling: the whole pipeline.
2. An ONNX export, ``onnx/model.onnx`` (as many Hugging Face repositories ship it) or ``model.onnx``: run by ONNX
   Runtime on a few fixed sentences tokenized with the folder's tokenizer, its token embeddings pooled as the
   folder's Pooling module says. It checks ragd's graph and pooling against an independent export of the same
   weights (not the tokenizer, which both share).

Every vector must have a cosine of at least :data:`MIN_COSINE` with its reference, else the model is refused
(:class:`~ragd.errors.EmbeddingModelInvalid`). A folder with neither is run unchecked, and the log says so.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence

import numpy as np

from ragd.embed.model_folder import ModelFolder
from ragd.errors import EmbeddingModelInvalid

log = logging.getLogger(__name__)

MIN_COSINE = 0.999
PROBES = (
    "How do I reset my password?",
    "Le chat dort sur le canapé pendant que la pluie tombe dehors.",
    "Die Katze schläft auf dem Sofa, während es draußen regnet.",
    "¿Dónde está la estación de tren más cercana?",
    "東京は日本の首都です。",
)

EmbedRaw = Callable[[Sequence[str]], np.ndarray]
"""Texts → ragd's unit vectors, without any prompt."""
Encode = Callable[[str], list[int]]
"""Text → the model's input ids, special tokens included, truncated as ragd truncates."""


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _compare(got: np.ndarray, expected: np.ndarray, what: str) -> float:
    if got.shape != expected.shape:
        raise EmbeddingModelInvalid(f"{what} has vectors of shape {expected.shape}; ragd computes {got.shape}")
    cosines = (_unit(got) * _unit(expected)).sum(axis=1)
    worst = float(cosines.min())
    if not worst >= MIN_COSINE:  # NaN fails too
        raise EmbeddingModelInvalid(
            f"ragd's vectors disagree with {what}: lowest cosine {worst:.5f} < {MIN_COSINE} over {len(cosines)} "
            "texts; the folder is not a model ragd runs faithfully (docs/embeddings.md)"
        )
    return worst


def _check_reference_file(folder: ModelFolder, embed_raw: EmbedRaw) -> str:
    path = folder.reference_file
    assert path is not None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        texts = [str(t) for t in data["texts"]]
        expected = np.asarray(data["vectors"], dtype=np.float32)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EmbeddingModelInvalid(f"{path} is not a reference file ({{texts, vectors}}): {exc}") from exc
    if not texts:
        raise EmbeddingModelInvalid(f"{path} holds no texts")
    worst = _compare(embed_raw(texts), expected, str(path))
    return f"{path.name} ({len(texts)} texts, lowest cosine {worst:.5f})"


def _pool(hidden: np.ndarray, mask: np.ndarray, pooling: str) -> np.ndarray:
    if pooling == "cls":
        return hidden[:, 0]
    m = mask[..., None].astype(np.float32)
    return (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)


def _check_onnx_export(folder: ModelFolder, embed_raw: EmbedRaw, encode: Encode) -> str:
    import onnxruntime as ort

    path = folder.onnx_export
    assert path is not None
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT's own exception types
        raise EmbeddingModelInvalid(
            f"ONNX Runtime cannot load the folder's export {path} to check the model against it: {exc} (set "
            "RAGD_EMBEDDING__VERIFY_REFERENCE=false to skip the check)"
        ) from exc
    inputs = {i.name for i in session.get_inputs()}
    if not {"input_ids", "attention_mask"} <= inputs or inputs - {"input_ids", "attention_mask", "token_type_ids"}:
        log.warning("embedding model: %s takes inputs %s; it cannot serve as a reference", path, sorted(inputs))
        return ""
    outputs = [o.name for o in session.get_outputs()]
    out = "sentence_embedding" if "sentence_embedding" in outputs else outputs[0]
    expected = []
    for text in PROBES:
        ids = np.asarray([encode(text)], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        if "token_type_ids" in inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        (result,) = session.run([out], feed)
        result = np.asarray(result, dtype=np.float32)
        if result.ndim == 3:
            result = _pool(result, feed["attention_mask"], folder.config.pooling)
        if result.ndim != 2:
            raise EmbeddingModelInvalid(f"{path}: output {out!r} has shape {result.shape}, not a vector per text")
        expected.append(result[0])
    worst = _compare(embed_raw(PROBES), np.stack(expected), str(path))
    return f"{path.relative_to(folder.path)} ({len(PROBES)} sentences, lowest cosine {worst:.5f})"


def verify_model(folder: ModelFolder, embed_raw: EmbedRaw, encode: Encode) -> list[str]:
    """Check against every reference the folder allows; the list of what was checked (empty: nothing)."""
    checked = []
    if folder.reference_file is not None:
        checked.append(_check_reference_file(folder, embed_raw))
    if folder.onnx_export is not None:
        done = _check_onnx_export(folder, embed_raw, encode)
        if done:
            checked.append(done)
    if checked:
        log.info("embedding model %s verified against %s", folder.path, "; ".join(checked))
    else:
        log.info(
            "embedding model %s: the folder ships no reference vectors (ragd_reference.json) and no ONNX "
            "export (onnx/model.onnx), so its vectors are not verified (docs/embeddings.md)",
            folder.path,
        )
    return checked
