"""Start-up verification against what the model folder ships: a reference file, an ONNX export, or nothing."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import onnx
import pytest
from safetensors.numpy import load_file

from ragd.config import EmbeddingSettings
from ragd.embed.bert_graph import build_bert_model, strip_prefix
from ragd.embed.model_folder import read_model_folder
from ragd.embed.onnx import OnnxEmbedder
from ragd.errors import EmbeddingModelInvalid

from .test_onnx_byo import _reference
from .tiny_models import CORPUS, make_model


def _open(folder: Path, **settings: object) -> OnnxEmbedder:
    return OnnxEmbedder(EmbeddingSettings(model_path=str(folder), model_name="tiny", **settings))


def _write_reference(folder: Path, vectors: np.ndarray, texts: list[str]) -> None:
    (folder / "ragd_reference.json").write_text(json.dumps({"texts": texts, "vectors": vectors.tolist()}))


def test_a_matching_reference_file_is_accepted_and_a_wrong_one_refused(tmp_path: Path) -> None:
    folder = make_model(tmp_path / "m", "xlm-roberta", prompts={"query": "query: ", "passage": "passage: "})
    texts = CORPUS[:4]
    # sentence-transformers' encode(texts) has no prompt: the reference is of the bare texts, not normalised
    _write_reference(folder, _reference(folder, texts) * 3.0, texts)
    _open(folder)

    other = make_model(tmp_path / "other", "xlm-roberta", seed=7)
    _write_reference(folder, _reference(other, texts), texts)
    with pytest.raises(EmbeddingModelInvalid, match=r"disagree with .*ragd_reference\.json: lowest cosine"):
        _open(folder)
    _open(folder, verify_reference=False)  # the operator's explicit choice

    _write_reference(folder, _reference(folder, texts)[:, :16], texts)
    with pytest.raises(EmbeddingModelInvalid, match="shape"):
        _open(folder)
    (folder / "ragd_reference.json").write_text('{"texts": ["a"]}')
    with pytest.raises(EmbeddingModelInvalid, match="not a reference file"):
        _open(folder)


def _export(source: Path, target: Path, *, token_embeddings: bool) -> None:
    """An ONNX export of ``source``'s weights at ``target/onnx/model.onnx``: the sentence vector, or (as Hugging
    Face exports are) the last hidden state per token, which the check pools itself."""
    cfg = read_model_folder(source).config
    model = build_bert_model(strip_prefix(load_file(str(source / "model.safetensors")), cfg), cfg).self_contained()
    if token_embeddings:
        last = next(n for n in reversed(model.graph.node) if n.op_type == "LayerNormalization").output[0]
        del model.graph.output[:]
        model.graph.output.append(
            onnx.helper.make_tensor_value_info(last, onnx.TensorProto.FLOAT, ["batch", "seq", cfg.hidden])
        )
        model = onnx.utils.Extractor(model).extract_model(["input_ids", "attention_mask"], [last])
    (target / "onnx").mkdir()
    onnx.save(model, str(target / "onnx" / "model.onnx"))


@pytest.mark.parametrize("token_embeddings", [False, True])
def test_an_onnx_export_of_the_same_weights_is_accepted_and_another_refused(
    tmp_path: Path, token_embeddings: bool, caplog: pytest.LogCaptureFixture
) -> None:
    folder = make_model(tmp_path / "m", "bert", pooling="cls" if token_embeddings else "mean")
    _export(folder, folder, token_embeddings=token_embeddings)
    with caplog.at_level(logging.INFO, logger="ragd.embed.verify"):
        _open(folder)
    assert "verified against onnx/model.onnx (5 sentences" in caplog.text

    other = make_model(tmp_path / "other", "bert", pooling="cls" if token_embeddings else "mean", seed=3)
    _export(other, other, token_embeddings=token_embeddings)
    (folder / "onnx" / "model.onnx").write_bytes((other / "onnx" / "model.onnx").read_bytes())
    with pytest.raises(EmbeddingModelInvalid, match=r"disagree with .*model\.onnx"):
        _open(folder)

    (folder / "onnx" / "model.onnx").write_bytes(b"not onnx")
    with pytest.raises(EmbeddingModelInvalid, match="VERIFY_REFERENCE=false"):
        _open(folder)


def test_a_folder_with_nothing_to_compare_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="ragd.embed.verify"):
        _open(make_model(tmp_path / "m"))
    assert "ships no reference vectors" in caplog.text and "not verified" in caplog.text
