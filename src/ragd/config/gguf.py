"""Which GGUF file ``llm.models_dir`` holds: the llama.cpp image mounts a volume at ``/models`` and ragd picks the
one model in it, so the same ``ragd serve`` runs in and out of a container (docs/llm.md, "The llama.cpp image").

A model split into shards (``name-00001-of-00003.gguf`` …, llama.cpp's ``gguf-split`` naming) counts as one
model, loaded from its first shard. Hidden files (``.name.gguf``, e.g. a copy in progress) are not models.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_SHARD = re.compile(r"^(?P<stem>.+)-(?P<index>\d{5})-of-(?P<count>\d{5})\.gguf$", re.IGNORECASE)


def _models(directory: Path) -> list[Path]:
    """The model files under ``directory`` (sub-directories included), one entry per model."""
    found = sorted(
        p for p in directory.rglob("*")
        if p.suffix.lower() == ".gguf" and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(directory).parts)
    )
    models: list[Path] = []
    shards: dict[tuple[Path, str, str], list[Path]] = {}
    for path in found:
        m = _SHARD.match(path.name)
        if m:
            shards.setdefault((path.parent, m["stem"], m["count"]), []).append(path)
        else:
            models.append(path)
    for parts in shards.values():
        models.append(min(parts, key=lambda p: p.name))  # the first shard: llama.cpp finds the others
    return sorted(models)


def find_gguf(directory: Path) -> Path:
    """The single model file under ``directory``; a ``ValueError`` saying what to do when there is none, several,
    or the one found cannot be read by this process."""
    if not directory.is_dir():
        raise ValueError(f"llm.models_dir: no such directory {str(directory)!r} (mount the directory holding the "
                         "GGUF model there, or set RAGD_LLM__MODEL_PATH)")
    models = _models(directory)
    if not models:
        raise ValueError(f"llm.models_dir: no .gguf model file in {str(directory)!r}: put one GGUF model there "
                         "(or set RAGD_LLM__MODEL_PATH to its file)")
    if len(models) > 1:
        names = ", ".join(str(p.relative_to(directory)) for p in models)
        raise ValueError(f"llm.models_dir: {len(models)} .gguf model files in {str(directory)!r} ({names}): set "
                         "RAGD_LLM__MODEL_PATH to the one to use (a name relative to that directory is enough)")
    (model,) = models
    if not os.access(model, os.R_OK):
        raise ValueError(f"llm.models_dir: {str(model)!r} is not readable by this process (user id {os.getuid()}): "
                         "make it readable, e.g. chmod a+r")
    return model


def resolve_model_path(model_path: str, models_dir: str) -> str:
    """``llm.model_path`` as the llamacpp backend uses it: as given; relative to ``models_dir`` when it is a
    relative path and ``models_dir`` is set; else, when empty, the single model file under ``models_dir``."""
    if model_path:
        path = Path(model_path).expanduser()
        if models_dir and not path.is_absolute():
            return str((Path(models_dir).expanduser() / path).absolute())  # absolute: resolving again is a no-op
        return model_path
    if models_dir:
        return str(find_gguf(Path(models_dir).expanduser().absolute()))
    return ""
