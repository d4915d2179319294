"""The pipeline stores the language each chunk was analysed in (``ChunkDraft.language``, ``chunks.language``):
what a query's analysis is restricted to (the run's store backend)."""

from __future__ import annotations

from pathlib import Path

from ragd.config import Settings
from ragd.core import Ragd

DUTCH = "# Fietsen\n\nIn Nederland fietsen veel mensen dagelijks naar hun werk, ook als het regent of waait."
ENGLISH = "# Cycling\n\nIn the Netherlands many people cycle to work every day, even when it rains or the wind blows."


def test_each_chunk_keeps_the_language_it_was_analysed_in(tmp_path: Path) -> None:
    r = Ragd(Settings(data_dir=tmp_path, ingest={"workers": 0}))
    try:
        assert r.store.chunk_languages() == {}
        dutch, _ = r.submit(DUTCH.encode(), "fietsen.md", mime="text/markdown")
        english, _ = r.submit(ENGLISH.encode(), "cycling.md", mime="text/markdown")
        r.workers.drain()
        assert r.store.chunk_languages() == {"nl": 1, "en": 1}
        assert r.store.delete_document(english.id)
        assert r.store.chunk_languages() == {"nl": 1}
        before = [c.seq for c in r.store.list_chunks(dutch.id)]
        r.reindex(dutch.id)  # analysed again: its new chunk says its language again
        r.workers.drain()
        assert [c.seq for c in r.store.list_chunks(dutch.id)] != before
        assert r.store.chunk_languages() == {"nl": 1}
    finally:
        r.close()
