"""deploy/alertmanager/alertmanager.yml: valid (`amtool check-config`), routed by severity (`amtool config routes
test`), and run by a real Alertmanager on loopback against a stand-in Slack webhook: notifications arrive in the
severity's channel with the alerts' summaries, inhibited alerts are never sent, and the webhook URL comes only
from the secret file."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from tests.jobs.workers import wait_until
from tests.support import REPO, free_port

CONFIG = REPO / "deploy" / "alertmanager" / "alertmanager.yml"
SECRET_PATH = "/etc/alertmanager/secrets/slack-webhook-url"
ALERTS = yaml.safe_load((REPO / "deploy" / "prometheus" / "alerts.yml").read_text())


def _exe(name: str) -> str:
    exe = shutil.which(name)
    assert exe, f"{name} is missing: apt-get install prometheus-alertmanager (scripts/system-deps.sh does it)"
    return exe


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_exe("amtool"), *args], capture_output=True, text=True, timeout=60)


def test_config_is_valid() -> None:
    res = amtool("check-config", str(CONFIG))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS" in res.stdout and "2 receivers" in res.stdout


def test_no_webhook_url_in_the_repository() -> None:
    text = CONFIG.read_text()
    assert "hooks.slack.com" not in text and re.search(r"\bapi_url:", text) is None
    receivers = yaml.safe_load(text)["receivers"]
    assert {c["api_url_file"] for r in receivers for c in r["slack_configs"]} == {SECRET_PATH}
    assert "deploy/alertmanager/slack-webhook-url" in (REPO / ".gitignore").read_text().splitlines()


@pytest.mark.parametrize(("labels", "receiver"), [
    ({"severity": "critical", "alertname": "RagdApiDown"}, "slack-critical"),
    ({"severity": "warning", "alertname": "RagdSlowQuestions"}, "slack-warnings"),
    ({"alertname": "SomethingElse"}, "slack-warnings"),  # no severity: the default route
])
def test_routes_by_severity(labels: dict[str, str], receiver: str) -> None:
    res = amtool("config", "routes", "test", f"--config.file={CONFIG}", f"--verify.receivers={receiver}",
                 *(f"{k}={v}" for k, v in labels.items()))
    assert res.returncode == 0 and res.stdout.strip() == receiver, res.stdout + res.stderr


def test_every_alert_severity_has_a_route_and_inhibitions_name_real_alerts() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    routed = {m for r in config["route"]["routes"] for m in r["matchers"]}
    names = {r["alert"] for g in ALERTS["groups"] for r in g["rules"]}
    for rule in (r for g in ALERTS["groups"] for r in g["rules"]):
        assert f'severity="{rule["labels"]["severity"]}"' in routed, rule["alert"]
    for inhibit in config["inhibit_rules"]:
        for matcher in (*inhibit["source_matchers"], *inhibit["target_matchers"]):
            pattern = re.fullmatch(r'alertname=~?"([^"]+)"', matcher)
            assert pattern, matcher
            assert all(n in names for n in pattern.group(1).split("|")), matcher


class _Slack(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append({"path": self.path, **json.loads(body)})
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def slack() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []
    handler = type("Slack", (_Slack,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/services/T0/B0/secret-token", received
    server.shutdown()
    server.server_close()


@pytest.fixture
def alertmanager(tmp_path: Path, slack: tuple[str, list[dict[str, Any]]]) -> Iterator[str]:
    """The example configuration, run as is but for the secret file's path and shorter waits (seconds, not the
    minutes a production route waits to batch alerts)."""
    url, _ = slack
    secret = tmp_path / "slack-webhook-url"
    secret.write_text(url + "\n")
    config = CONFIG.read_text().replace(SECRET_PATH, str(secret))
    config = re.sub(r"group_wait: \d+s", "group_wait: 1s", config)
    (tmp_path / "alertmanager.yml").write_text(config)
    port = free_port()
    proc = subprocess.Popen(
        [_exe("prometheus-alertmanager"), f"--config.file={tmp_path / 'alertmanager.yml'}",
         f"--storage.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
         "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=open(tmp_path / "alertmanager.log", "wb"))  # noqa: SIM115
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        assert proc.poll() is None, (tmp_path / "alertmanager.log").read_text()
        try:
            return httpx.get(f"{base}/-/ready", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(ready, "Alertmanager ready", timeout=60)
        yield base
    finally:
        proc.terminate()
        proc.wait(30)


def _post(base: str, *alerts: dict[str, str]) -> None:
    body = [{"labels": a, "annotations": {"summary": f"summary of {a['alertname']}",
                                          "description": f"description of {a['alertname']}"}} for a in alerts]
    assert httpx.post(f"{base}/api/v2/alerts", json=body, timeout=10).status_code == 200


def _states(base: str) -> dict[str, dict[str, Any]]:
    return {a["labels"]["alertname"]: a["status"] for a in httpx.get(f"{base}/api/v2/alerts", timeout=10).json()}


def test_slack_gets_each_severity_in_its_channel_and_never_the_inhibited_alerts(
        alertmanager: str, slack: tuple[str, list[dict[str, Any]]]) -> None:
    _, received = slack
    down = {"alertname": "RagdApiDown", "severity": "critical", "job": "ragd", "instance": "a:8000"}
    _post(alertmanager, down)
    wait_until(lambda: _states(alertmanager).get("RagdApiDown", {}).get("state") == "active", "API down active")
    # explained by the API being down (same job), or by their own critical tier
    _post(alertmanager, {"alertname": "RagdHighQueryLatency", "severity": "critical", "job": "ragd"},
          {"alertname": "RagdSlowQuestions", "severity": "warning", "job": "ragd"},
          {"alertname": "RagdHighErrorRate", "severity": "critical", "job": "ragd"})
    states = wait_until(lambda: (s := _states(alertmanager)) and all(
        s.get(n, {}).get("state") == "suppressed" for n in ("RagdHighQueryLatency", "RagdSlowQuestions",
                                                           "RagdHighErrorRate")) and s, "inhibited alerts")
    assert states["RagdSlowQuestions"]["inhibitedBy"] and states["RagdHighErrorRate"]["inhibitedBy"]
    # another deployment's latency, and a warning of this one that nothing explains, are sent
    _post(alertmanager, {"alertname": "RagdSlowQuestions", "severity": "warning", "job": "ragd-eu"},
          {"alertname": "RagdHighMemory", "severity": "warning", "job": "ragd", "instance": "a:8000"})
    wait_until(lambda: len(received) >= 3, "three Slack messages")
    by_title = {m["attachments"][0]["title"]: m for m in received}
    assert set(by_title) == {"[FIRING] RagdApiDown (ragd)", "[FIRING] RagdSlowQuestions (ragd-eu)",
                             "[FIRING] RagdHighMemory (ragd)"}, by_title
    critical = by_title["[FIRING] RagdApiDown (ragd)"]
    assert critical["channel"] == "#ragd-alerts" and critical["attachments"][0]["color"] == "danger"
    assert critical["attachments"][0]["text"] == "*summary of RagdApiDown*\ndescription of RagdApiDown\n"
    assert critical["path"] == "/services/T0/B0/secret-token"  # the URL of the secret file
    warning = by_title["[FIRING] RagdHighMemory (ragd)"]
    assert warning["channel"] == "#ragd-warnings" and warning["attachments"][0]["color"] == "warning"


def test_compose_monitoring_profile_runs_it_with_the_secret_where_the_config_reads_it() -> None:
    compose = yaml.safe_load((REPO / "deploy" / "compose.yaml").read_text())
    am = compose["services"]["alertmanager"]
    assert am["profiles"] == compose["services"]["prometheus"]["profiles"] == ["monitoring"]
    assert "./alertmanager/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro" in am["volumes"]
    (secret,) = am["secrets"]
    assert secret["target"] == SECRET_PATH
    source = compose["secrets"][secret["source"]]["file"]
    assert source == "${SLACK_WEBHOOK_URL_FILE:-./alertmanager/slack-webhook-url}"  # git-ignored, or the operator's
    assert "./prometheus/compat_rules.yml:/etc/prometheus/compat_rules.yml:ro" in compose["services"]["prometheus"][
        "volumes"]
