"""Document routes: downloads keep any file name."""

from __future__ import annotations

from urllib.parse import unquote

from tests.support import Server


def test_download_of_a_non_latin_file_name(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: Server = server_factory().start()
    with server.client() as c:
        body = "日本語のテキスト。東京は首都です。".encode()
        r = c.post("/api/v1/documents/upload", files=[("file", ('日本語 "notes".txt', body))])
        assert r.status_code == 201, r.text
        doc = r.json()["documents"][0]
        got = c.get(f"/api/v1/documents/{doc['id']}/file")
        assert got.status_code == 200 and got.content == body
        disposition = got.headers["content-disposition"]
        assert disposition.isascii() and 'filename="' in disposition
        assert unquote(disposition.split("filename*=UTF-8''")[1]) == doc["filename"]
