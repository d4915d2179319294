"""Reading a sentence-transformers model folder: what is supported is read, anything else is refused at start-up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragd.config import EmbeddingSettings
from ragd.embed.model_folder import card_languages, read_model_folder
from ragd.embed.onnx import OnnxEmbedder
from ragd.errors import ConfigurationError, EmbeddingModelInvalid

from .tiny_models import make_model


def test_reads_pooling_normalize_length_prompts_and_languages(tmp_path: Path) -> None:
    folder = read_model_folder(
        make_model(
            tmp_path / "m",
            "xlm-roberta",
            pooling="cls",
            languages=["de", "fr"],
            prompts={"query": "query: ", "document": "passage: "},
        )
    )
    cfg = folder.config
    assert (cfg.model_type, cfg.pooling, cfg.pad_token_id, cfg.position_offset) == ("xlm-roberta", "cls", 1, 2)
    assert folder.normalize and folder.max_seq_length == 48
    assert folder.prompts == {"query": "query: ", "passage": "passage: "}
    assert folder.languages == {"de", "fr"}
    assert folder.reference_file is None and folder.onnx_export is None

    plain = read_model_folder(make_model(tmp_path / "b", normalize=False))
    assert (plain.config.model_type, plain.config.pooling, plain.config.position_offset) == ("bert", "mean", 0)
    assert not plain.normalize and plain.prompts == {} and plain.languages is None


def test_the_shipped_model_card_says_english(model_dir: Path) -> None:
    folder = read_model_folder(model_dir)
    assert folder.languages == {"en"} and folder.prompts == {} and folder.max_seq_length == 256


@pytest.mark.parametrize(
    ("front_matter", "expected"),
    [
        ("language: en\n", {"en"}),
        ("language:\n- en\n- de\n- multilingual\n", {"en", "de"}),
        ("language: [fr, 'ES', ita]\n", {"fr", "es"}),
        ("language:\n- multilingual\n", None),
        ("license: mit\n", None),
    ],
)
def test_card_languages(tmp_path: Path, front_matter: str, expected: set[str] | None) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"---\n{front_matter}tags:\n- x\n---\nlanguage: zz\n", encoding="utf-8")
    assert card_languages(readme) == (frozenset(expected) if expected else None)
    assert card_languages(tmp_path / "absent.md") is None


def _edit_json(path: Path, **changes: object) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def _refused(folder: Path, match: str) -> None:
    with pytest.raises(EmbeddingModelInvalid, match=match) as info:
        OnnxEmbedder(EmbeddingSettings(model_path=str(folder)))
    assert info.value.code == "embedding_model_invalid"
    assert isinstance(info.value, ConfigurationError)


def test_missing_files_and_unknown_architectures_are_refused(tmp_path: Path) -> None:
    _refused(tmp_path / "nowhere", "does not exist")
    folder = make_model(tmp_path / "m")
    (folder / "tokenizer.json").unlink()
    _refused(folder, "lacks tokenizer.json")

    torch_only = make_model(tmp_path / "t")
    (torch_only / "model.safetensors").rename(torch_only / "pytorch_model.bin")
    _refused(torch_only, "converted to safetensors")

    gpt = make_model(tmp_path / "g")
    _edit_json(gpt / "config.json", model_type="gpt2")
    _refused(gpt, "unsupported model_type 'gpt2'")

    rotary = make_model(tmp_path / "r")
    _edit_json(rotary / "config.json", position_embedding_type="rotary")
    _refused(rotary, "absolute position")


def test_unsupported_modules_and_pooling_are_refused(tmp_path: Path) -> None:
    dense = make_model(tmp_path / "d")
    modules = json.loads((dense / "modules.json").read_text())
    modules.insert(2, {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
    (dense / "modules.json").write_text(json.dumps(modules))
    _refused(dense, "Dense")

    _refused(make_model(tmp_path / "x", pooling="max"), "pooling max_tokens is not supported")

    broken = make_model(tmp_path / "b")
    (broken / "modules.json").write_text("{not json")
    _refused(broken, "not readable JSON")


def test_weights_that_do_not_match_the_config_are_refused(tmp_path: Path) -> None:
    wide = make_model(tmp_path / "w")
    _edit_json(wide / "config.json", hidden_size=64)
    _refused(wide, "has shape")

    deep = make_model(tmp_path / "l")
    _edit_json(deep / "config.json", num_hidden_layers=3)
    _refused(deep, "lack encoder.layer.2")

    foreign = make_model(tmp_path / "f", weight_prefix="encoder_of_something.")
    _refused(foreign, "lack")

    small_vocab = make_model(tmp_path / "v")
    tok = json.loads((small_vocab / "tokenizer.json").read_text())
    tok["added_tokens"].append(
        {
            "id": 10_000,
            "content": "[EXTRA]",
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
    )
    (small_vocab / "tokenizer.json").write_text(json.dumps(tok))
    _refused(small_vocab, "tokenizer.json has")
