"""``llm.models_dir``: the one GGUF model a directory holds (the llama.cpp image's /models), or an error that says
what was found and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from ragd.config import LLMSettings, Settings
from ragd.config.gguf import find_gguf


def _touch(root: Path, *names: str) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"GGUF")


def test_the_single_model_is_found_in_sub_directories_too(tmp_path: Path) -> None:
    _touch(tmp_path, "mistral/Mistral-7B.Q4_K_M.GGUF", "README.md", ".partial.gguf", ".cache/old.gguf")
    assert find_gguf(tmp_path) == tmp_path / "mistral" / "Mistral-7B.Q4_K_M.GGUF"


def test_a_split_model_counts_once_and_loads_from_its_first_shard(tmp_path: Path) -> None:
    _touch(tmp_path, "big-00002-of-00003.gguf", "big-00001-of-00003.gguf", "big-00003-of-00003.gguf")
    assert find_gguf(tmp_path) == tmp_path / "big-00001-of-00003.gguf"


@pytest.mark.parametrize(("names", "says"), [
    ([], "no .gguf model file in"),
    (["a.gguf", "b/c.gguf"], "2 .gguf model files in"),
    (["x-00001-of-00002.gguf", "x-00002-of-00002.gguf", "y.gguf"], "(x-00001-of-00002.gguf, y.gguf)"),
])
def test_none_or_several_is_an_error_naming_them(tmp_path: Path, names: list[str], says: str) -> None:
    _touch(tmp_path, *names)
    with pytest.raises(ValueError, match="RAGD_LLM__MODEL_PATH") as err:
        find_gguf(tmp_path)
    assert says in str(err.value) and str(tmp_path) in str(err.value)


def test_a_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no such directory"):
        find_gguf(tmp_path / "models")


def test_the_settings_resolve_the_model_path_for_llamacpp_only(tmp_path: Path) -> None:
    _touch(tmp_path, "only.gguf")
    assert LLMSettings(backend="llamacpp", models_dir=str(tmp_path)).model_path == str(tmp_path / "only.gguf")
    # other backends do not look (the default image has no models directory)
    assert LLMSettings(backend="openai", models_dir=str(tmp_path / "nowhere")).model_path == ""
    # an explicit file wins; a relative one is taken inside the directory
    _touch(tmp_path, "second.gguf")
    chosen = LLMSettings(backend="llamacpp", models_dir=str(tmp_path), model_path="second.gguf")
    assert chosen.model_path == str(tmp_path / "second.gguf")
    absolute = LLMSettings(backend="llamacpp", model_path="/srv/m.gguf", models_dir=str(tmp_path))
    assert absolute.model_path == "/srv/m.gguf"
    # resolving is idempotent (a model validated again keeps its file)
    assert LLMSettings.model_validate(chosen.model_dump()).model_path == chosen.model_path


def test_the_error_is_a_configuration_error_of_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGD_LLM__BACKEND", "llamacpp")
    monkeypatch.setenv("RAGD_LLM__MODELS_DIR", str(tmp_path))
    with pytest.raises(ValidationError, match=r"no \.gguf model file"):
        Settings(data_dir=tmp_path / "data")
