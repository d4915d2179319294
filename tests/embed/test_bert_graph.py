from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from safetensors.numpy import load_file

from ragd.embed.bert_graph import OUTPUT_NAME, BertConfig, build_bert_model


def test_config_of_the_default_model(model_dir: Path) -> None:
    cfg = BertConfig.from_dir(model_dir)
    assert (cfg.hidden, cfg.heads, cfg.layers, cfg.intermediate) == (384, 12, 6, 1536)
    assert cfg.eps == 1e-12 and cfg.pooling == "mean"


def test_unsupported_activation_is_refused(tmp_path: Path, model_dir: Path) -> None:
    cfg = json.loads((model_dir / "config.json").read_text())
    cfg["hidden_act"] = "relu"
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="hidden_act"):
        BertConfig.from_dir(tmp_path)


def test_self_contained_model_is_valid_onnx_and_agrees(model_dir: Path) -> None:
    graph = build_bert_model(load_file(str(model_dir / "model.safetensors")), BertConfig.from_dir(model_dir))
    assert graph.external  # the big weights are kept out of the proto
    model = graph.self_contained()
    onnx.checker.check_model(model)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])

    opts = ort.SessionOptions()
    names = list(graph.external)
    values = [ort.OrtValue.ortvalue_from_numpy(graph.external[n]) for n in names]
    opts.add_external_initializers(names, values)
    fast = ort.InferenceSession(graph.model.SerializeToString(), opts, providers=["CPUExecutionProvider"])

    ids = np.array([[101, 7592, 2088, 102, 0], [101, 2088, 102, 0, 0]], dtype=np.int64)
    mask = (ids != 0).astype(np.int64)
    (a,) = session.run([OUTPUT_NAME], {"input_ids": ids, "attention_mask": mask})
    (b,) = fast.run([OUTPUT_NAME], {"input_ids": ids, "attention_mask": mask})
    assert a.shape == (2, 384)
    np.testing.assert_allclose(a, b, atol=1e-6)
    # Padding does not leak into the pooled vector.
    (c,) = fast.run([OUTPUT_NAME], {"input_ids": ids[1:, :3], "attention_mask": mask[1:, :3]})
    np.testing.assert_allclose(c[0], b[1], atol=1e-5)
