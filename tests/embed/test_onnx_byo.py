"""A model brought from a path (BERT or XLM-RoBERTa family): ragd's vectors against an independent numpy forward
pass of the same tiny random model, prompts, languages and the identity recorded with the index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from ragd.config import EmbeddingSettings
from ragd.embed import model_languages
from ragd.embed.model_folder import prompts_tag, recorded_name
from ragd.embed.onnx import OnnxEmbedder

from .reference_bert import ReferenceBert
from .tiny_models import CORPUS, make_model

TEXTS = [*CORPUS, "", "a", "unseen words zxqv everywhere " * 12]  # the last is cut at max_seq_length (48)


def _reference(folder: Path, texts: list[str], max_len: int = 48) -> np.ndarray:
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=max_len)
    ref = ReferenceBert(folder)
    return np.stack([ref.sentence_embedding(tok.encode(t).ids) for t in texts])


def _embedder(folder: Path, **settings: object) -> OnnxEmbedder:
    return OnnxEmbedder(EmbeddingSettings(model_path=str(folder), model_name="tiny", batch_size=3, **settings))


@pytest.mark.parametrize(
    ("family", "pooling", "weight_prefix", "sentencepiece"),
    [
        ("bert", "mean", "", False),  # all-MiniLM-L6-v2's kind
        ("bert", "cls", "bert.", False),  # bge-small-en's kind
        ("bert", "mean", "", True),  # multilingual-e5-small's, paraphrase-multilingual-MiniLM's kind
        ("xlm-roberta", "mean", "", True),  # multilingual-e5-base's kind
        ("xlm-roberta", "cls", "roberta.", True),  # bge-m3's kind
    ],
)
def test_vectors_match_the_independent_reference(
    tmp_path: Path, family: str, pooling: str, weight_prefix: str, sentencepiece: bool
) -> None:
    folder = make_model(
        tmp_path / "m", family, pooling=pooling, weight_prefix=weight_prefix, sentencepiece=sentencepiece
    )
    emb = _embedder(folder)
    assert emb.dim == 32 and emb.name == "tiny"
    got = emb.embed(TEXTS)  # batches of 3, padded: padding must not leak (positions, pooling)
    expected = _reference(folder, TEXTS)
    cosines = (got * expected).sum(axis=1)
    assert cosines.min() >= 0.9999, cosines
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    one = np.stack([emb.embed_query(t) for t in TEXTS])  # no prompts: a query is embedded as a passage
    np.testing.assert_allclose(one, got, atol=1e-5)
    # the chunker's ids give the text's own vectors
    np.testing.assert_allclose(emb.embed(TEXTS, emb.token_ids(TEXTS)), got, atol=1e-5)


def test_xlm_roberta_positions_start_after_the_padding_index(tmp_path: Path) -> None:
    """Read from row 0 of the position table (BERT's way), the vectors would be another model's."""
    folder = make_model(tmp_path / "m", "xlm-roberta")
    got = _embedder(folder).embed(CORPUS[:3])
    ref = ReferenceBert(folder)
    ref.roberta = False  # positions 0..n-1
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    wrong = np.stack([ref.sentence_embedding(tok.encode(t).ids) for t in CORPUS[:3]])
    assert (got * wrong).sum(axis=1).max() < 0.999


def test_prompts_from_the_folder_go_before_queries_and_passages(tmp_path: Path) -> None:
    folder = make_model(tmp_path / "e5", "xlm-roberta", prompts={"query": "query: ", "passage": "passage: "})
    emb = _embedder(folder)
    assert (emb.query_prefix, emb.passage_prefix) == ("query: ", "passage: ")
    assert emb.name == "tiny+prompts-" + prompts_tag("query: ", "passage: ")
    # what `ragd doctor` compares with the store, without loading the model
    assert recorded_name(EmbeddingSettings(model_path=str(folder), model_name="tiny")) == emb.name
    question, passages = "How do I reset my password?", CORPUS[1:5]
    assert float(emb.embed_query(question) @ _reference(folder, ["query: " + question])[0]) >= 0.9999
    got = emb.embed(passages)
    expected = _reference(folder, ["passage: " + p for p in passages])
    assert (got * expected).sum(axis=1).min() >= 0.9999
    # the chunker's ids (without the prompt) are framed with the prompt's tokens: the same vectors
    np.testing.assert_allclose(emb.embed(passages, emb.token_ids(passages)), got, atol=1e-5)
    assert emb.count_tokens(["passage: a"]) > emb.count_tokens(["a"])  # budgets count the text alone


def test_settings_override_the_folder_prompts(tmp_path: Path) -> None:
    folder = make_model(
        tmp_path / "bge",
        "bert",
        pooling="cls",
        prompts={"query": "Represent this sentence for searching relevant passages: "},
    )
    bge = _embedder(folder)
    assert bge.query_prefix.startswith("Represent") and bge.passage_prefix == ""
    plain = _embedder(folder, query_prefix="")
    assert (plain.query_prefix, plain.name) == ("", "tiny")
    np.testing.assert_allclose(plain.embed_query("a question"), plain.embed(["a question"])[0], atol=1e-5)
    other = _embedder(folder, query_prefix="query: ", passage_prefix="passage: ")
    assert len({bge.name, plain.name, other.name}) == 3  # other prompts: another index
    assert len({bge.fingerprint, plain.fingerprint, other.fingerprint}) == 3


def test_fingerprint_tells_models_apart(tmp_path: Path) -> None:
    a = _embedder(make_model(tmp_path / "a", seed=1))
    again = _embedder(tmp_path / "a", threads=1)
    b = _embedder(make_model(tmp_path / "b", seed=2))
    assert a.fingerprint == again.fingerprint != b.fingerprint
    assert a.name == b.name == "tiny"  # same name, told apart by the fingerprint (tests/test_core.py)


def test_languages_from_the_card_or_the_settings(tmp_path: Path, embedder: OnnxEmbedder) -> None:
    assert model_languages(embedder) == {"en"}  # the shipped all-MiniLM-L6-v2's card
    carded = make_model(tmp_path / "c", "xlm-roberta", languages=["de", "fr", "es", "multilingual"])
    assert model_languages(_embedder(carded)) == {"de", "fr", "es"}
    assert model_languages(_embedder(carded, languages=["EN", "it"])) == {"en", "it"}
    assert model_languages(_embedder(make_model(tmp_path / "n"))) is None
    assert model_languages(object()) is None


def test_the_shipped_model_keeps_its_name_and_vectors(embedder: OnnxEmbedder) -> None:
    """No prompts, so the recorded name is unchanged (tests/embed/test_onnx.py checks the vectors themselves
    against sentence-transformers' and an independent numpy pass)."""
    assert (embedder.name, embedder.query_prefix, embedder.passage_prefix) == ("all-MiniLM-L6-v2", "", "")


def test_languages_setting_takes_iso_639_1_codes() -> None:
    assert EmbeddingSettings(languages=[" DE", "fr"]).languages == ["de", "fr"]
    with pytest.raises(ValueError, match="ISO 639-1"):
        EmbeddingSettings(languages=["english"])
