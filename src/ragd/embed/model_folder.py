"""Read a local sentence-transformers model folder: what ragd needs to run it, checked before anything loads.

A folder is supported when it holds ``config.json`` (``model_type`` ``bert`` or ``xlm-roberta``),
``model.safetensors`` and ``tokenizer.json``, and its sentence-transformers modules (``modules.json``) are a
Transformer, then a Pooling (mean or CLS), then optionally a Normalize — nothing else (a Dense projection, for
example, would change the vectors and is refused rather than ignored). Read from it as well:

- ``sentence_bert_config.json``: ``max_seq_length`` (ragd never feeds the model more tokens);
- ``config_sentence_transformers.json``: ``prompts`` — the ``query`` prompt and the ``passage`` (or ``document``)
  prompt, put before questions and passages;
- ``README.md``: the model card's YAML front matter ``language:`` — the languages the model was trained on;
- the reference it ships, to check ragd's vectors against (:mod:`ragd.embed.verify`).

Every problem is an :class:`~ragd.errors.EmbeddingModelInvalid` raised at start-up.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragd.config import EmbeddingSettings
from ragd.embed.bert_graph import BertConfig
from ragd.errors import EmbeddingModelInvalid

REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json")
REFERENCE_FILE = "ragd_reference.json"
ONNX_EXPORTS = ("onnx/model.onnx", "model.onnx")
_ST_MODULES = "sentence_transformers.models."
_ISO_639_1 = re.compile(r"^[a-z]{2}$")


@dataclass(frozen=True)
class ModelFolder:
    path: Path
    config: BertConfig
    normalize: bool
    """The folder's pipeline ends with a Normalize module (ragd's vectors are unit length either way)."""
    max_seq_length: int | None
    prompts: dict[str, str]
    """``query`` and ``passage`` prompts found in the folder (absent keys: none)."""
    languages: frozenset[str] | None
    """ISO 639-1 codes from the model card; ``None``: the card names none."""

    @property
    def reference_file(self) -> Path | None:
        path = self.path / REFERENCE_FILE
        return path if path.is_file() else None

    @property
    def onnx_export(self) -> Path | None:
        for name in ONNX_EXPORTS:
            if (self.path / name).is_file():
                return self.path / name
        return None


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise EmbeddingModelInvalid(f"embedding model file {path} is not readable JSON: {exc}") from exc


def _pooling(folder: Path, pool_dir: str) -> str:
    path = folder / pool_dir / "config.json"
    if not path.is_file():
        return "mean"  # sentence-transformers' own default for a bare Transformer folder
    pool = _json(path)
    modes = sorted(k.removeprefix("pooling_mode_") for k, v in pool.items() if k.startswith("pooling_mode_") and v)
    if modes == ["cls_token"]:
        return "cls"
    if modes in (["mean_tokens"], []):
        if pool.get("include_prompt", True) is False:
            raise EmbeddingModelInvalid(f"{path}: pooling without the prompt tokens is not supported")
        return "mean"
    raise EmbeddingModelInvalid(f"{path}: pooling {'+'.join(modes)} is not supported (only mean or CLS)")


def _modules(folder: Path) -> tuple[str, bool]:
    """``(pooling, normalize)`` from ``modules.json`` (a folder without it: mean pooling, no Normalize module)."""
    path = folder / "modules.json"
    if not path.is_file():
        return _pooling(folder, "1_Pooling"), False
    modules = _json(path)
    kinds = [str(m.get("type", "")).removeprefix(_ST_MODULES) for m in modules] if isinstance(modules, list) else []
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise EmbeddingModelInvalid(
            f"{path}: modules {kinds or modules!r} are not supported (a Transformer, a Pooling and optionally a "
            "Normalize; a Dense or other module would change the vectors)"
        )
    if modules[0].get("path", "") not in ("", "."):
        raise EmbeddingModelInvalid(f"{path}: the Transformer module must be the folder itself")
    return _pooling(folder, str(modules[1].get("path", "1_Pooling"))), len(kinds) == 3


def _prompts(folder: Path) -> dict[str, str]:
    path = folder / "config_sentence_transformers.json"
    prompts = _json(path).get("prompts") if path.is_file() else None
    if not isinstance(prompts, dict):
        return {}
    found: dict[str, str] = {}
    for role, names in (("query", ("query",)), ("passage", ("passage", "document", "corpus"))):
        value = next((prompts[n] for n in names if isinstance(prompts.get(n), str)), None)
        if value:
            found[role] = value
    return found


def card_languages(readme: Path) -> frozenset[str] | None:
    """The ISO 639-1 codes of the model card's front matter ``language:`` (a scalar or a list); ``None`` when the
    card, its front matter or the key is absent, or names no two-letter code (``multilingual`` alone)."""
    try:
        lines = readme.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    if not lines or lines[0].strip() != "---":
        return None
    codes: list[str] = []
    in_list = False
    for line in lines[1:]:
        if line.strip() == "---":
            break
        if in_list and line.lstrip().startswith("- "):
            codes.append(line.strip()[2:])
            continue
        in_list = False
        key, sep, value = line.partition(":")
        if sep and key == "language":
            value = value.strip()
            if value.startswith("["):
                codes.extend(value.strip("[]").split(","))
            elif value:
                codes.append(value)
            else:
                in_list = True
    langs = {c.strip().strip("'\"").lower() for c in codes}
    langs = {c for c in langs if _ISO_639_1.match(c)}
    return frozenset(langs) or None


def read_model_folder(folder: Path) -> ModelFolder:
    """Everything ragd needs from ``folder``, or an :class:`EmbeddingModelInvalid` saying what is wrong."""
    if not folder.is_dir():
        raise EmbeddingModelInvalid(f"embedding model directory {folder} does not exist")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        hint = (
            " (a folder with only pytorch_model.bin must be converted to safetensors first: docs/embeddings.md)"
            if "model.safetensors" in missing and (folder / "pytorch_model.bin").is_file()
            else ""
        )
        raise EmbeddingModelInvalid(f"embedding model directory {folder} lacks {', '.join(missing)}{hint}")
    pooling, normalize = _modules(folder)
    try:
        config = BertConfig.from_dir(folder, pooling=pooling)
    except (ValueError, KeyError, TypeError) as exc:
        raise EmbeddingModelInvalid(f"{folder / 'config.json'}: {exc}") from exc
    max_seq = None
    st_path = folder / "sentence_bert_config.json"
    if st_path.is_file():
        value = _json(st_path).get("max_seq_length")
        max_seq = int(value) if isinstance(value, int) and value > 0 else None
    return ModelFolder(
        path=folder,
        config=config,
        normalize=normalize,
        max_seq_length=max_seq,
        prompts=_prompts(folder),
        languages=card_languages(folder / "README.md"),
    )


def prompts_tag(query_prefix: str, passage_prefix: str) -> str:
    """The suffix ``+prompts-<tag>`` added to the recorded model name when prompts are used: a change of prompts
    is a change of model for the index (``ragd reindex``), and for the embeddings cache keyed by the name."""
    return hashlib.sha256(repr((query_prefix, passage_prefix)).encode()).hexdigest()[:8]


def effective_prompts(settings: EmbeddingSettings, folder_prompts: dict[str, str]) -> tuple[str, str]:
    """``(query prefix, passage prefix)``: the settings' when set (``""`` included), else the folder's."""
    query = folder_prompts.get("query", "") if settings.query_prefix is None else settings.query_prefix
    passage = folder_prompts.get("passage", "") if settings.passage_prefix is None else settings.passage_prefix
    return query, passage


def recorded_name(settings: EmbeddingSettings, folder_prompts: dict[str, str] | None = None) -> str:
    """The model name the index records: ``embedding.model_name``, plus ``+prompts-<tag>`` when prompts are used.
    Without ``folder_prompts`` they are read from the folder's config (no weights loaded: ``ragd doctor``)."""
    if folder_prompts is None:
        folder = Path(settings.model_path).expanduser() if settings.model_path else None
        try:
            folder_prompts = _prompts(folder) if folder is not None and folder.is_dir() else {}
        except EmbeddingModelInvalid:  # the embedder says so at start-up
            folder_prompts = {}
    query, passage = effective_prompts(settings, folder_prompts)
    return settings.model_name + ("+prompts-" + prompts_tag(query, passage) if query or passage else "")
