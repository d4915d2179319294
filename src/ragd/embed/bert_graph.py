"""Build an ONNX graph of a BERT (or XLM-RoBERTa) sentence encoder straight from its safetensors weights.

No package ships an ONNX file of the default model, and exporting one needs torch. The encoder is small
enough to write down by hand with :mod:`onnx.helper`: embeddings, ``num_hidden_layers`` post-LayerNorm
transformer blocks with erf-GELU, then mean (or CLS) pooling over the attention mask and L2 normalisation,
all inside the graph.

Graph inputs: ``input_ids`` and ``attention_mask`` (int64, ``[batch, seq]``). Token types are all zero, so the
type-0 embedding row (when the model has one) is folded into the position table; XLM-RoBERTa's table is read
from row ``pad_token_id + 1`` on. Output: ``sentence_embedding`` (float32,
``[batch, hidden]``, unit length).

The attention scale ``1/sqrt(head_dim)`` is folded into the query weights and Q, K, V are one packed MatMul;
the GELU is written in the ``x * 0.5 * (1 + erf(x / sqrt 2))`` shape ONNX Runtime fuses into one kernel.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
OUTPUT_NAME = "sentence_embedding"
_MASK_NEG = -1.0e9
_EXTERNAL_MIN_SIZE = 4096
_EXTERNAL_LOCATION = "ragd-in-memory"


# ``model_type`` of config.json → the prefix its ``*For…`` checkpoints put before the encoder's weight names.
ARCHITECTURES = {"bert": "bert.", "xlm-roberta": "roberta."}


@dataclass(frozen=True)
class BertConfig:
    hidden: int
    heads: int
    layers: int
    intermediate: int
    eps: float
    max_positions: int
    pooling: str = "mean"
    model_type: str = "bert"
    position_offset: int = 0
    """First row of the position table used by token 0: 0 for BERT, ``pad_token_id + 1`` for XLM-RoBERTa (which
    numbers positions after its padding index)."""
    vocab_size: int = 0
    pad_token_id: int = 0

    @property
    def usable_positions(self) -> int:
        """Longest input (special tokens included) the position table covers."""
        return self.max_positions - self.position_offset

    @classmethod
    def from_dir(cls, model_dir: Path, pooling: str | None = None) -> BertConfig:
        """Read ``config.json`` of a BERT or XLM-RoBERTa encoder; ``pooling`` comes from the sentence-transformers
        configuration (:mod:`ragd.embed.model_folder`), else the legacy ``1_Pooling/config.json`` is read."""
        cfg = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        model_type = cfg.get("model_type", "bert")
        if model_type not in ARCHITECTURES:
            known = ", ".join(sorted(ARCHITECTURES))
            raise ValueError(f"unsupported model_type {model_type!r} (supported: {known})")
        if cfg.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"unsupported hidden_act {cfg.get('hidden_act')!r} (only erf 'gelu')")
        if cfg.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError("only absolute position embeddings are supported")
        pool_file = model_dir / "1_Pooling" / "config.json"
        if pooling is None:
            pooling = "mean"
            if pool_file.is_file():
                pool = json.loads(pool_file.read_text(encoding="utf-8"))
                if pool.get("pooling_mode_cls_token"):
                    pooling = "cls"
                elif not pool.get("pooling_mode_mean_tokens", True):
                    raise ValueError("only mean or CLS pooling is supported")
        pad = int(cfg.get("pad_token_id") or (1 if model_type == "xlm-roberta" else 0))
        return cls(
            hidden=int(cfg["hidden_size"]),
            heads=int(cfg["num_attention_heads"]),
            layers=int(cfg["num_hidden_layers"]),
            intermediate=int(cfg["intermediate_size"]),
            eps=float(cfg.get("layer_norm_eps", 1e-12)),
            max_positions=int(cfg.get("max_position_embeddings", 512)),
            pooling=pooling,
            model_type=model_type,
            position_offset=pad + 1 if model_type == "xlm-roberta" else 0,
            vocab_size=int(cfg.get("vocab_size", 0)),
            pad_token_id=pad,
        )


class _Builder:
    """Accumulates nodes and initializers; every helper returns the name of its output."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.external: dict[str, np.ndarray] = {}
        self._n = 0

    def _name(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    def const(self, hint: str, value: np.ndarray) -> str:
        name = self._name(hint)
        value = np.ascontiguousarray(value)
        if value.size < _EXTERNAL_MIN_SIZE:
            self.inits.append(numpy_helper.from_array(value, name))
            return name
        # A large weight stays a numpy array: the proto only declares it (external data), and ONNX Runtime
        # receives the array itself at session creation. This avoids three copies through protobuf.
        tensor = TensorProto(name=name, data_type=helper.np_dtype_to_tensor_dtype(value.dtype))
        tensor.dims.extend(value.shape)
        tensor.data_location = TensorProto.EXTERNAL
        for key, val in (("location", _EXTERNAL_LOCATION), ("offset", "0"), ("length", str(value.nbytes))):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, val
        self.inits.append(tensor)
        self.external[name] = value
        return name

    def op(self, op_type: str, inputs: list[str], hint: str | None = None, **attrs: object) -> str:
        out = self._name(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def ops(self, op_type: str, inputs: list[str], n_out: int, **attrs: object) -> list[str]:
        outs = [self._name(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, **attrs))
        return outs

    def linear(self, x: str, weight: np.ndarray, bias: np.ndarray, hint: str) -> str:
        """``x @ weight.T + bias`` for a PyTorch ``[out, in]`` weight."""
        w = self.const(f"{hint}_w", weight.T.astype(np.float32))
        b = self.const(f"{hint}_b", bias.astype(np.float32))
        return self.op("Add", [self.op("MatMul", [x, w]), b], hint)

    def layer_norm(self, x: str, gamma: np.ndarray, beta: np.ndarray, eps: float, hint: str) -> str:
        g = self.const(f"{hint}_g", gamma.astype(np.float32))
        b = self.const(f"{hint}_b", beta.astype(np.float32))
        return self.op("LayerNormalization", [x, g, b], hint, axis=-1, epsilon=eps)


def strip_prefix(weights: dict[str, np.ndarray], cfg: BertConfig) -> dict[str, np.ndarray]:
    """Accept both bare encoder names (``BertModel``, ``XLMRobertaModel``) and ``bert.``/``roberta.``-prefixed names
    (from ``*ForSomething`` checkpoints)."""
    if "embeddings.word_embeddings.weight" in weights:
        return weights
    prefix = ARCHITECTURES[cfg.model_type]
    return {k.removeprefix(prefix): v for k, v in weights.items()}


def expected_shapes(cfg: BertConfig) -> dict[str, tuple[int, ...]]:
    """Every tensor the graph reads, with its shape (token types are optional: XLM-RoBERTa has one row or none)."""
    h, n = cfg.hidden, cfg.intermediate
    shapes: dict[str, tuple[int, ...]] = {
        "embeddings.position_embeddings.weight": (cfg.max_positions, h),
        "embeddings.LayerNorm.weight": (h,),
        "embeddings.LayerNorm.bias": (h,),
    }
    for i in range(cfg.layers):
        p = f"encoder.layer.{i}"
        for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            shapes[f"{p}.{name}.weight"], shapes[f"{p}.{name}.bias"] = (h, h), (h,)
        shapes[f"{p}.intermediate.dense.weight"], shapes[f"{p}.intermediate.dense.bias"] = (n, h), (n,)
        shapes[f"{p}.output.dense.weight"], shapes[f"{p}.output.dense.bias"] = (h, n), (h,)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            shapes[f"{p}.{ln}.weight"], shapes[f"{p}.{ln}.bias"] = (h,), (h,)
    return shapes


def check_weights(weights: dict[str, np.ndarray], cfg: BertConfig) -> None:
    """A ``ValueError`` naming the first missing or misshapen tensor (so a wrong folder fails at start-up, not at
    the first batch)."""
    if cfg.hidden % cfg.heads:
        raise ValueError(f"hidden_size {cfg.hidden} is not a multiple of num_attention_heads {cfg.heads}")
    for name, shape in expected_shapes(cfg).items():
        if name not in weights:
            raise ValueError(f"the weights lack {name}")
        if tuple(weights[name].shape) != shape:
            raise ValueError(f"{name} has shape {tuple(weights[name].shape)}, config.json implies {shape}")
    word = weights.get("embeddings.word_embeddings.weight")
    if word is None or word.ndim != 2 or word.shape[1] != cfg.hidden:
        raise ValueError(f"the weights lack embeddings.word_embeddings.weight of width {cfg.hidden}")
    types = weights.get("embeddings.token_type_embeddings.weight")
    if types is not None and (types.ndim != 2 or types.shape[1] != cfg.hidden):
        raise ValueError(f"embeddings.token_type_embeddings.weight has shape {tuple(types.shape)}")
    if cfg.usable_positions < 2:
        raise ValueError(f"max_position_embeddings {cfg.max_positions} leaves no room for a text")


def _attention(b: _Builder, x: str, w: dict[str, np.ndarray], p: str, cfg: BertConfig, mask_bias: str) -> str:
    head_dim = cfg.hidden // cfg.heads
    scale = np.float32(1.0 / math.sqrt(head_dim))
    wq, bq = w[f"{p}.query.weight"] * scale, w[f"{p}.query.bias"] * scale
    packed_w = np.concatenate([wq, w[f"{p}.key.weight"], w[f"{p}.value.weight"]], axis=0)
    packed_b = np.concatenate([bq, w[f"{p}.key.bias"], w[f"{p}.value.bias"]], axis=0)
    qkv = b.linear(x, packed_w, packed_b, "qkv")
    split = b.const("split", np.array([cfg.hidden] * 3, dtype=np.int64))
    q, k, v = b.ops("Split", [qkv, split], 3, axis=-1)
    heads_shape = b.const("heads_shape", np.array([0, 0, cfg.heads, head_dim], dtype=np.int64))
    q = b.op("Transpose", [b.op("Reshape", [q, heads_shape])], perm=[0, 2, 1, 3])
    k = b.op("Transpose", [b.op("Reshape", [k, heads_shape])], perm=[0, 2, 3, 1])
    v = b.op("Transpose", [b.op("Reshape", [v, heads_shape])], perm=[0, 2, 1, 3])
    scores = b.op("Add", [b.op("MatMul", [q, k]), mask_bias], "scores")
    probs = b.op("Softmax", [scores], axis=-1)
    ctx = b.op("Transpose", [b.op("MatMul", [probs, v])], perm=[0, 2, 1, 3])
    merged = b.const("merged_shape", np.array([0, 0, cfg.hidden], dtype=np.int64))
    return b.op("Reshape", [ctx, merged], "context")


def _gelu(b: _Builder, x: str) -> str:
    erf = b.op("Erf", [b.op("Div", [x, b.const("sqrt2", np.array(math.sqrt(2.0), dtype=np.float32))])])
    one = b.const("one", np.array(1.0, dtype=np.float32))
    half = b.const("half", np.array(0.5, dtype=np.float32))
    return b.op("Mul", [b.op("Mul", [x, b.op("Add", [erf, one])]), half], "gelu")


def _layer(b: _Builder, x: str, w: dict[str, np.ndarray], i: int, cfg: BertConfig, mask_bias: str) -> str:
    p = f"encoder.layer.{i}"
    ctx = _attention(b, x, w, f"{p}.attention.self", cfg, mask_bias)
    attn = b.linear(ctx, w[f"{p}.attention.output.dense.weight"], w[f"{p}.attention.output.dense.bias"], "ao")
    x = b.layer_norm(
        b.op("Add", [attn, x]),
        w[f"{p}.attention.output.LayerNorm.weight"],
        w[f"{p}.attention.output.LayerNorm.bias"],
        cfg.eps,
        f"ln_attn{i}",
    )
    inter = b.linear(x, w[f"{p}.intermediate.dense.weight"], w[f"{p}.intermediate.dense.bias"], "ffn_in")
    out = b.linear(_gelu(b, inter), w[f"{p}.output.dense.weight"], w[f"{p}.output.dense.bias"], "ffn_out")
    return b.layer_norm(
        b.op("Add", [out, x]),
        w[f"{p}.output.LayerNorm.weight"],
        w[f"{p}.output.LayerNorm.bias"],
        cfg.eps,
        f"ln_out{i}",
    )


@dataclass(frozen=True)
class BertGraph:
    """The model proto plus its large weights, declared in the proto as external data and kept as arrays.

    Hand ``external`` to ONNX Runtime with ``SessionOptions.add_external_initializers``; or call
    :meth:`self_contained` for an ordinary model (slower: the weights are copied into the proto).
    """

    model: onnx.ModelProto
    external: dict[str, np.ndarray]

    def self_contained(self) -> onnx.ModelProto:
        model = onnx.ModelProto()
        model.CopyFrom(self.model)
        for tensor in model.graph.initializer:
            if tensor.name in self.external:
                del tensor.external_data[:]
                tensor.data_location = TensorProto.DEFAULT
                tensor.raw_data = self.external[tensor.name].tobytes()
        return model


def build_bert_model(weights: dict[str, np.ndarray], cfg: BertConfig) -> BertGraph:
    """The whole sentence encoder as an ONNX graph; ``weights`` are the safetensors tensors by name."""
    w = strip_prefix(weights, cfg)
    check_weights(w, cfg)
    b = _Builder()
    ids, mask = "input_ids", "attention_mask"

    # Embeddings: word + (position + token-type 0), then LayerNorm. XLM-RoBERTa numbers positions from
    # padding_idx + 1 (padding tokens, masked out, would read row padding_idx: any row does for them).
    word = b.op("Gather", [b.const("word_emb", w["embeddings.word_embeddings.weight"]), ids])
    pos_table = w["embeddings.position_embeddings.weight"][cfg.position_offset :]
    types = w.get("embeddings.token_type_embeddings.weight")
    if types is not None:
        pos_table = pos_table + types[0]
    seq_len = b.op(
        "Slice",
        [
            b.op("Shape", [ids]),
            b.const("one_i", np.array([1], dtype=np.int64)),
            b.const("two_i", np.array([2], dtype=np.int64)),
        ],
        "seq_len",
    )
    zero_i = b.const("zero_i", np.array([0], dtype=np.int64))
    pos = b.op("Slice", [b.const("pos_emb", pos_table), zero_i, seq_len, zero_i], "pos")
    x = b.layer_norm(
        b.op("Add", [word, pos]),
        w["embeddings.LayerNorm.weight"],
        w["embeddings.LayerNorm.bias"],
        cfg.eps,
        "ln_emb",
    )

    # Additive attention mask [batch, 1, 1, seq]: 0 on tokens, a large negative number on padding.
    mask_f = b.op("Cast", [mask], "mask_f", to=TensorProto.FLOAT)
    inv = b.op("Sub", [b.const("one_f", np.array(1.0, dtype=np.float32)), mask_f])
    bias = b.op("Mul", [inv, b.const("neg", np.array(_MASK_NEG, dtype=np.float32))])
    mask_bias = b.op("Unsqueeze", [bias, b.const("axes12", np.array([1, 2], dtype=np.int64))], "mask_bias")

    for i in range(cfg.layers):
        x = _layer(b, x, w, i, cfg, mask_bias)

    if cfg.pooling == "cls":
        # the first token's row; const() stores a 0-d index as [0], so the kept axis is squeezed away
        first = b.op("Gather", [x, b.const("cls_idx", np.array([0], dtype=np.int64))], axis=1)
        pooled = b.op("Squeeze", [first, b.const("axis1_sq", np.array([1], dtype=np.int64))], "pooled")
    else:
        m3 = b.op("Unsqueeze", [mask_f, b.const("axis2", np.array([2], dtype=np.int64))])
        axis1 = b.const("axis1", np.array([1], dtype=np.int64))
        summed = b.op("ReduceSum", [b.op("Mul", [x, m3]), axis1], keepdims=0)
        count = b.op("ReduceSum", [m3, axis1], keepdims=0)
        count = b.op("Max", [count, b.const("tiny", np.array(1e-9, dtype=np.float32))])
        pooled = b.op("Div", [summed, count], "pooled")
    norm = b.op("ReduceL2", [pooled], axes=[1], keepdims=1)
    norm = b.op("Max", [norm, b.const("eps_norm", np.array(1e-12, dtype=np.float32))])
    b.nodes.append(helper.make_node("Div", [pooled, norm], [OUTPUT_NAME]))

    graph = helper.make_graph(
        b.nodes,
        "bert_sentence_encoder",
        inputs=[
            helper.make_tensor_value_info(ids, TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info(mask, TensorProto.INT64, ["batch", "seq"]),
        ],
        outputs=[helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", cfg.hidden])],
        initializer=b.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="ragd")
    model.ir_version = 8
    return BertGraph(model, b.external)
