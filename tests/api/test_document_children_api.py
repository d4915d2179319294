"""The document routes show an e-mail's attachments as its children, each child its parent; deleting the mail
deletes them; an answer citing an attachment names the message it came in."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from tests.ingest.mailfiles import attach, mail

from ragd.api.app import create_app
from ragd.config import Settings
from ragd.core import Ragd


def test_children_and_parent_in_the_api(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", ingest={"workers": 0}, auth={"enabled": False})
    m = attach(mail("Boiler contract"), b"The boiler maintenance contract with Thermex ends in March 2027.\n",
               "contract.txt", "text/plain")
    attach(m, b"GIF89a" + bytes(32), "scan.gif", "image/gif")  # PNG, JPEG and TIFF are read by OCR
    with TestClient(create_app(settings)) as c:
        r: Ragd = c.app.state.ragd  # type: ignore[attr-defined]
        up = c.post("/api/v1/documents/upload", files=[("file", ("mail.eml", m.as_bytes()))])
        assert up.status_code == 201, up.text
        parent_id = up.json()["documents"][0]["id"]
        r.workers.drain()
        parent = c.get(f"/api/v1/documents/{parent_id}").json()
        assert parent["status"] == "indexed" and parent["parent_id"] is None
        assert parent["metadata"]["mail_subject"] == "Boiler contract"
        assert parent["metadata"]["attachments_skipped"][0]["filename"] == "scan.gif"
        assert parent["metadata"]["attachments_skipped"][0]["code"] == "unsupported_media_type"
        [child] = parent["children"]
        assert child["filename"] == "contract.txt" and child["status"] == "indexed"
        got = c.get(f"/api/v1/documents/{child['id']}").json()
        assert got["parent_id"] == parent_id and got["children"] == []
        assert got["metadata"]["attached_to"] == "'Boiler contract' (mail.eml)"

        ans = c.post("/api/v1/query", json={"query": "When does the Thermex boiler contract end?"})
        assert ans.status_code == 200, ans.text
        cited = [x for x in ans.json()["citations"] if x["document_id"] == child["id"]]
        assert cited and cited[0]["attached_to"] == "'Boiler contract' (mail.eml)"
        assert cited[0]["filename"] == "contract.txt"

        assert c.delete(f"/api/v1/documents/{parent_id}").status_code == 204
        assert c.get(f"/api/v1/documents/{child['id']}").status_code == 404
        assert r.ingest.original(child["id"]) is None
