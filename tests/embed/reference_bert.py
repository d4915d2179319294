"""An independent numpy forward pass of a BERT sentence encoder, one text at a time (no padding).

Written straight from the BERT paper's definition to check the ONNX graph: separate Q/K/V projections,
explicit scaling, erf-GELU, post-LayerNorm, mean (or CLS) pooling, L2 normalisation. Slow and simple on purpose.
XLM-RoBERTa is the same encoder with position ids counted from ``padding_idx + 1`` over the non-padding tokens (as
the RoBERTa paper's fairseq code numbers them) and one token type (or none).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), enough for a cosine check at 1e-4.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


class ReferenceBert:
    def __init__(self, model_dir: Path) -> None:
        cfg = json.loads((model_dir / "config.json").read_text())
        self.heads = cfg["num_attention_heads"]
        self.layers = cfg["num_hidden_layers"]
        self.eps = cfg["layer_norm_eps"]
        self.roberta = cfg.get("model_type") == "xlm-roberta"
        self.pad = cfg.get("pad_token_id", 0)
        weights = load_file(str(model_dir / "model.safetensors"))
        prefix = "roberta." if self.roberta else "bert."
        self.w = {k[len(prefix):] if k.startswith(prefix) else k: v for k, v in weights.items()}
        pool_file = model_dir / "1_Pooling" / "config.json"
        self.cls = pool_file.is_file() and json.loads(pool_file.read_text())["pooling_mode_cls_token"]

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.w[f"{name}.weight"].T + self.w[f"{name}.bias"]

    def hidden_states(self, ids: list[int]) -> np.ndarray:
        w = self.w
        n = len(ids)
        if self.roberta:
            real = np.asarray(ids) != self.pad
            positions = np.cumsum(real) * real + self.pad
        else:
            positions = np.arange(n)
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][positions]
        if "embeddings.token_type_embeddings.weight" in w:
            x = x + w["embeddings.token_type_embeddings.weight"][0]
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        for i in range(self.layers):
            p = f"encoder.layer.{i}"
            q = self._dense(x, f"{p}.attention.self.query")
            k = self._dense(x, f"{p}.attention.self.key")
            v = self._dense(x, f"{p}.attention.self.value")
            d = q.shape[1] // self.heads
            q, k, v = (t.reshape(n, self.heads, d).transpose(1, 0, 2) for t in (q, k, v))  # [heads, n, d]
            scores = q @ k.transpose(0, 2, 1) / np.sqrt(d)
            scores = np.exp(scores - scores.max(axis=2, keepdims=True))
            ctx = (scores / scores.sum(axis=2, keepdims=True)) @ v
            attn = self._dense(ctx.transpose(1, 0, 2).reshape(n, -1), f"{p}.attention.output.dense")
            x = _layer_norm(
                attn + x,
                w[f"{p}.attention.output.LayerNorm.weight"],
                w[f"{p}.attention.output.LayerNorm.bias"],
                self.eps,
            )
            inter = self._dense(x, f"{p}.intermediate.dense")
            inter = 0.5 * inter * (1.0 + _erf(inter / np.sqrt(2.0)))
            out = self._dense(inter, f"{p}.output.dense")
            x = _layer_norm(
                out + x, w[f"{p}.output.LayerNorm.weight"], w[f"{p}.output.LayerNorm.bias"], self.eps
            )
        return x

    def sentence_embedding(self, ids: list[int]) -> np.ndarray:
        hidden = self.hidden_states(ids)
        pooled = hidden[0] if self.cls else hidden.mean(axis=0)
        return pooled / np.linalg.norm(pooled)
