"""Tiny random-weight sentence-transformers model folders, built offline in the test (no download).

BERT: a WordPiece tokenizer trained with the ``tokenizers`` library on a few sentences; XLM-RoBERTa: a Unigram
(SentencePiece-style, Metaspace) tokenizer with XLM-R's special ids (``<s>`` 0, ``<pad>`` 1, ``</s>`` 2). Weights
are numpy random arrays written with ``safetensors``; the folder gets the sentence-transformers files
(modules.json, 1_Pooling, sentence_bert_config.json, config_sentence_transformers.json) and a model card.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

CORPUS = [
    "How do I reset my password?",
    "To reset your password, open the settings and choose security.",
    "Le chat dort sur le canapé pendant que la pluie tombe dehors.",
    "Die Katze schläft auf dem Sofa, während es draußen regnet.",
    "¿Dónde está la estación de tren más cercana?",
    "The river floods every spring and farmers plant rice on the silt.",
    "query: passage: Represent this sentence for searching relevant passages:",
    "東京は日本の首都です。",
]
HIDDEN, HEADS, LAYERS, INTERMEDIATE, POSITIONS = 32, 4, 2, 64, 64


def _bert_tokenizer() -> Tokenizer:
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok.train_from_iterator(CORPUS * 3, trainers.WordPieceTrainer(vocab_size=300, special_tokens=specials))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    tok.decoder = decoders.WordPiece()
    return tok


def _xlmr_tokenizer() -> Tokenizer:
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    trainer = trainers.UnigramTrainer(vocab_size=300, special_tokens=specials, unk_token="<unk>")
    tok.train_from_iterator(CORPUS * 3, trainer)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    tok.decoder = decoders.Metaspace()
    return tok


def _weights(rng: np.random.Generator, vocab: int, positions: int, types: int) -> dict[str, np.ndarray]:
    def rand(*shape: int, scale: float = 0.2) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    def norm(prefix: str) -> None:
        w[f"{prefix}.weight"] = (1.0 + rand(HIDDEN, scale=0.1)).astype(np.float32)
        w[f"{prefix}.bias"] = rand(HIDDEN, scale=0.1)

    w: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": rand(vocab, HIDDEN, scale=1.0),
        "embeddings.position_embeddings.weight": rand(positions, HIDDEN, scale=1.0),
    }
    if types:
        w["embeddings.token_type_embeddings.weight"] = rand(types, HIDDEN, scale=1.0)
    norm("embeddings.LayerNorm")
    for i in range(LAYERS):
        p = f"encoder.layer.{i}"
        for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            w[f"{p}.{name}.weight"], w[f"{p}.{name}.bias"] = rand(HIDDEN, HIDDEN), rand(HIDDEN)
        w[f"{p}.intermediate.dense.weight"], w[f"{p}.intermediate.dense.bias"] = (
            rand(INTERMEDIATE, HIDDEN),
            rand(INTERMEDIATE),
        )
        w[f"{p}.output.dense.weight"], w[f"{p}.output.dense.bias"] = rand(HIDDEN, INTERMEDIATE), rand(HIDDEN)
        norm(f"{p}.attention.output.LayerNorm")
        norm(f"{p}.output.LayerNorm")
    return w


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")


def make_model(
    folder: Path,
    family: str = "bert",
    *,
    pooling: str = "mean",
    normalize: bool = True,
    seed: int = 0,
    prompts: dict[str, str] | None = None,
    languages: list[str] | None = None,
    weight_prefix: str = "",
    max_seq_length: int = 48,
    sentencepiece: bool | None = None,
) -> Path:
    """Write a tiny ``family`` (``bert`` or ``xlm-roberta``) model folder at ``folder``; returns it.
    ``sentencepiece``: XLM-R's Unigram tokenizer (default: for xlm-roberta only; multilingual-e5-small and
    paraphrase-multilingual-MiniLM are BERT models with that tokenizer)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    xlmr = family == "xlm-roberta"
    tok = _xlmr_tokenizer() if (xlmr if sentencepiece is None else sentencepiece) else _bert_tokenizer()
    tok.save(str(folder / "tokenizer.json"))
    vocab = tok.get_vocab_size()
    pad = 1 if xlmr else 0
    positions = POSITIONS + (pad + 1 if xlmr else 0)
    _write_json(
        folder / "config.json",
        {
            "architectures": ["XLMRobertaModel" if xlmr else "BertModel"],
            "model_type": family,
            "hidden_size": HIDDEN,
            "num_attention_heads": HEADS,
            "num_hidden_layers": LAYERS,
            "intermediate_size": INTERMEDIATE,
            "hidden_act": "gelu",
            "layer_norm_eps": 1e-5 if xlmr else 1e-12,
            "max_position_embeddings": positions,
            "type_vocab_size": 1 if xlmr else 2,
            "vocab_size": vocab,
            "pad_token_id": pad,
            "position_embedding_type": "absolute",
        },
    )
    weights = _weights(rng, vocab, positions, 1 if xlmr else 2)
    save_file({weight_prefix + k: v for k, v in weights.items()}, str(folder / "model.safetensors"))
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    if normalize:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
    _write_json(folder / "modules.json", modules)
    _write_json(
        folder / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": HIDDEN,
            "pooling_mode_cls_token": pooling == "cls",
            "pooling_mode_mean_tokens": pooling == "mean",
            "pooling_mode_max_tokens": pooling == "max",
            "pooling_mode_mean_sqrt_len_tokens": False,
        },
    )
    _write_json(folder / "sentence_bert_config.json", {"max_seq_length": max_seq_length, "do_lower_case": False})
    _write_json(folder / "config_sentence_transformers.json", {"prompts": prompts or {}, "default_prompt_name": None})
    if languages is not None:
        card = "---\nlanguage:\n" + "".join(f"- {code}\n" for code in languages) + "license: mit\n---\n# tiny\n"
        (folder / "README.md").write_text(card, encoding="utf-8")
    return folder
