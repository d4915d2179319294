"""ragd.core.check_model: a store indexed with one embedding model refuses another until `ragd reindex`, and never
takes another model (or other prompts) under the same name, whose cached embeddings it would reuse."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragd.config import EmbeddingSettings
from ragd.core import check_model
from ragd.embed.onnx import OnnxEmbedder
from ragd.errors import ModelMismatch
from ragd.store import Store

from .embed.tiny_models import make_model


def _embedder(folder: Path, name: str, **settings: object) -> OnnxEmbedder:
    return OnnxEmbedder(EmbeddingSettings(model_path=str(folder), model_name=name, **settings))


def test_a_store_refuses_another_model_until_reindex(run_store: Store, tmp_path: Path) -> None:
    a = _embedder(make_model(tmp_path / "a", seed=1), "model-a")
    b = _embedder(make_model(tmp_path / "b", "xlm-roberta", seed=2), "model-b")
    assert check_model(run_store, a, allow_change=False) is False  # a new store records model A
    assert check_model(run_store, a, allow_change=False) is False
    with pytest.raises(ModelMismatch, match=r"built with model-a .* `ragd reindex`") as info:
        check_model(run_store, b, allow_change=False)
    assert info.value.code == "embedding_model_mismatch"
    assert run_store.get_meta("embedding_model") == "model-a"  # nothing changed
    assert check_model(run_store, b, allow_change=True) is True  # the reindex path
    assert (run_store.get_meta("embedding_model"), run_store.get_meta("embedding_fingerprint")) == (
        "model-b",
        b.fingerprint,
    )
    with pytest.raises(ModelMismatch):
        check_model(run_store, a, allow_change=False)


def test_another_model_under_the_same_name_is_refused_even_by_reindex(run_store: Store, tmp_path: Path) -> None:
    a = _embedder(make_model(tmp_path / "a", seed=1), "tiny")
    impostor = _embedder(make_model(tmp_path / "b", seed=2), "tiny")
    assert (a.name, a.dim) == (impostor.name, impostor.dim)
    check_model(run_store, a, allow_change=False)
    for allow in (False, True):
        with pytest.raises(ModelMismatch, match=r"both are named tiny: set embedding\.model_name"):
            check_model(run_store, impostor, allow_change=allow)


def test_changing_prompts_is_changing_the_model(run_store: Store, tmp_path: Path) -> None:
    folder = make_model(tmp_path / "e5", "xlm-roberta", prompts={"query": "query: ", "passage": "passage: "})
    check_model(run_store, _embedder(folder, "e5"), allow_change=False)
    with pytest.raises(ModelMismatch, match="reindex"):
        check_model(run_store, _embedder(folder, "e5", passage_prefix=""), allow_change=False)


def test_a_store_from_before_fingerprints_records_one(run_store: Store, tmp_path: Path) -> None:
    a = _embedder(make_model(tmp_path / "a"), "tiny")
    run_store.set_meta("embedding_model", "tiny")
    run_store.set_meta("embedding_dim", "32")
    assert check_model(run_store, a, allow_change=False) is False
    assert run_store.get_meta("embedding_fingerprint") == a.fingerprint


def test_switching_a_ragd_instance_to_a_brought_model(tmp_path: Path) -> None:
    """Indexed with model A, ragd refuses to start with model B; `ragd reindex` (allow_model_change) re-embeds
    every document with B, after which B serves (docs/embeddings.md, "Changing the model")."""
    from ragd.config import Settings
    from ragd.core import Ragd
    from ragd.ingest.pipeline import Upload

    a = make_model(tmp_path / "a", seed=1)
    b = make_model(tmp_path / "b", "xlm-roberta", seed=2, prompts={"query": "query: ", "passage": "passage: "})

    def settings(folder: Path, name: str) -> Settings:
        return Settings(
            data_dir=tmp_path / "data", ingest={"workers": 0}, embedding={"model_path": str(folder), "model_name": name}
        )

    r = Ragd(settings(a, "tiny-a"))
    try:
        r.submit_many([Upload(b"How do I reset my password? Open the settings and choose security.", "a.txt")])
        r.workers.drain()
        assert [h.chunk.filename for h in r.query("reset my password", mode="dense", answer=False).retrieval.hits] == [
            "a.txt"
        ]
    finally:
        r.close()
    with pytest.raises(ModelMismatch, match="reindex"):
        Ragd(settings(b, "tiny-b"))

    r = Ragd(settings(b, "tiny-b"), allow_model_change=True)
    try:
        assert r.model_changed
        assert r.reindex_all() == 1
        r.workers.drain()
        r.rebuild_index()
        assert r.store.get_meta("embedding_model") == r.embedder.name and r.embedder.name.startswith("tiny-b+")
        assert r.store.get_embeddings(
            r.embedder.name,
            [h.chunk.content_hash for h in r.query("reset my password", mode="dense", answer=False).retrieval.hits],
        )
        assert len(r.index) == 1
    finally:
        r.close()
    Ragd(settings(b, "tiny-b")).close()  # B now starts without the re-index path
