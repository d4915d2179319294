"""Metrics: every name is exported, and several processes add up in multiprocess mode."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from ragd.auth.actor import LOCAL_TENANT
from ragd.config import MetricsSettings, Settings
from ragd.core import Ragd
from ragd.jobs.broker_stats import BrokerStatus
from ragd.observability.compat_names import ALIAS_NAMES
from ragd.observability.metrics import BROKER_METRIC_NAMES, METRIC_NAMES, JobsCollector, Metrics, StateCollector
from ragd.store.backend import PoolUsage
from ragd.store.postgres import connection as pg_connection
from ragd.store.sqlite import connection as sqlite_connection

WRITER = """
import sys
from ragd.config import Settings
from ragd.observability.metrics import Metrics
m = Metrics(Settings().metrics)
for _ in range(int(sys.argv[1])):
    m.observe_query("answered", retrieval_s=0.01, generation_s=0.02, total_s=0.04, tokens_in=5, tokens_out=7)
m.request("POST", "/api/v1/query", 200, 0.05)
m.active.inc()
if sys.argv[2] == "exit":
    m.close()  # a clean shutdown drops this process's live gauges
"""


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_every_metric_name_is_exported(tmp_path: Path) -> None:
    m = Metrics(MetricsSettings())
    m.add_collector(StateCollector(lambda: {"default": 12, "hr": 3}, lambda: 2, lambda: 15, tmp_path,
                                   pool_usage=lambda: PoolUsage(in_use=3, idle=5, max=10, waiting=0),
                                   token_budget_per_day=2_000_000))
    m.add_collector(JobsCollector(lambda: {"interactive": {"queued": 2, "running": 1}, "bulk": {"queued": 0}},
                                  lambda queues: {q: 4.5 for q in queues},
                                  lambda: BrokerStatus(True, {"interactive": 2, "bulk": 0})))
    m.observe_query("answered", retrieval_s=0.1, generation_s=0.2, total_s=0.35, tokens_in=4, tokens_out=9)
    body, content_type = m.exposition()
    assert content_type.startswith("text/plain")
    names = {f.name for f in text_string_to_metric_families(body.decode())}
    for name in (*METRIC_NAMES, *BROKER_METRIC_NAMES):
        assert name.removesuffix("_total") in names, name
    s = _samples(body.decode())
    assert s[("rag_index_size", (("collection", "hr"),))] == 3
    assert s[("rag_ingest_queue_depth", ())] == 2
    assert s[("ragd_jobs", (("queue", "interactive"), ("state", "running")))] == 1
    assert s[("ragd_jobs_oldest_queued_seconds", (("queue", "bulk"),))] == 4.5
    assert s[("ragd_broker_messages", (("queue", "interactive"),))] == 2 and s[("ragd_broker_reachable", ())] == 1
    assert s[("rag_total_latency_seconds_bucket", (("le", "0.5"),))] == 1
    assert s[("rag_model_tokens_total", (("direction", "output"),))] == 9
    assert 0 < s[("rag_disk_free_ratio", ())] <= 1 and 0 < s[("rag_memory_usage_ratio", ())] <= 1
    assert s[("process_resident_memory_bytes", ())] > 0
    assert s[("ragd_db_pool_connections", (("state", "in_use"),))] == 3
    assert s[("ragd_db_pool_connections", (("state", "idle"),))] == 5
    assert s[("ragd_db_pool_max", ())] == 10 and s[("ragd_db_pool_waiting", ())] == 0
    assert s[("ragd_token_budget_per_day", ())] == 2_000_000
    assert s[("ragd_cpu_seconds_total", ())] > 0 and s[("ragd_cpu_limit_cores", ())] >= 1


def test_a_ragd_instance_exports_its_pool_and_budget(tmp_path: Path) -> None:
    """Through the composition root, on the run's engine: the pool of its backend, the budget of its settings
    (0 by default: no budget)."""
    for budget in (0, 50_000):
        r = Ragd(Settings(data_dir=tmp_path / f"data{budget}", ingest={"workers": 0},
                          metrics={"token_budget_per_day": budget}))
        try:
            s = _samples(r.obs.metrics.exposition()[0].decode())
            expected_max = sqlite_connection.POOL_SIZE if r.backend.engine == "sqlite" else pg_connection.POOL_SIZE
        finally:
            r.close()
        assert s[("ragd_db_pool_max", ())] == expected_max
        assert s[("ragd_db_pool_connections", (("state", "in_use"),))] == 0  # nothing lent between requests
        assert s[("ragd_db_pool_connections", (("state", "idle"),))] >= 1
        assert s[("ragd_db_pool_waiting", ())] == 0
        assert s[("ragd_token_budget_per_day", ())] == budget


def test_jobs_collector_without_a_broker_and_with_an_unreachable_one() -> None:
    def families(broker: BrokerStatus | None) -> dict[str, list]:
        collector = JobsCollector(lambda: {"interactive": {"queued": 0}}, lambda queues: {q: 0.0 for q in queues},
                                  (lambda: broker) if broker is not None else None)
        return {f.name: f.samples for f in collector.collect()}

    assert set(families(None)) == {"ragd_jobs", "ragd_jobs_oldest_queued_seconds"}  # embedded mode: no broker
    down = families(BrokerStatus(False, error="refused"))
    assert down["ragd_broker_reachable"][0].value == 0 and down["ragd_broker_messages"] == []


def test_two_processes_add_up_in_multiprocess_mode(tmp_path: Path) -> None:
    shared = tmp_path / "prom"
    shared.mkdir()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(shared), "PATH": "/usr/bin:/bin", "RAGD_METRICS__COMPAT_NAMES": "true",
           **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}}  # a worktree's sources, when set
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(n), how], env=env)
             for n, how in ((3, "exit"), (4, "crash"))]
    assert [p.wait(60) for p in procs] == [0, 0]
    assert len(list(shared.glob("*.db"))) >= 2  # one set of files per process

    code = (
        "from ragd.config import Settings\nfrom ragd.observability.metrics import Metrics\n"
        "m = Metrics(Settings().metrics)\nassert m.multiproc_dir is not None\n"
        "import sys; sys.stdout.write(m.exposition()[0].decode())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    s = _samples(out.stdout)
    assert s[("rag_queries_total", (("status", "answered"),))] == 7
    assert s[("rag_model_tokens_total", (("direction", "input"),))] == 35
    assert s[("rag_total_latency_seconds_count", ())] == 7
    assert s[("rag_requests_total", (("method", "POST"), ("route", "/api/v1/query"), ("status", "200")))] == 2
    assert s[("rag_active_connections", ())] == 1  # livesum: only the process that did not close counts
    # the compatibility names are the summed values, renamed
    assert s[("filagent_requests_total", (("method", "POST"), ("route", "/api/v1/query"), ("status", "200")))] == 2
    assert s[("filagent_tokens_total", (("token_type", "prompt"),))] == 35


def test_settings_take_prometheus_multiproc_dir_from_the_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert Settings().metrics.multiproc_dir == str(tmp_path)
    monkeypatch.setenv("RAGD_METRICS__MULTIPROC_DIR", "/elsewhere")
    assert Settings().metrics.multiproc_dir == "/elsewhere"


def test_embedded_mode_reports_the_backlog_the_alerts_read(tmp_path: Path) -> None:
    """No broker, no worker process: queued jobs of the server's own store are ``ragd_jobs{state="queued"}`` and
    ``ragd_jobs_oldest_queued_seconds`` (RagdIngestBacklogGrowing), on the run's engine."""
    r = Ragd(Settings(data_dir=tmp_path / "data", ingest={"workers": 0}))  # nothing takes the jobs
    try:
        r.submit(b"The lighthouse keeper logs the tide.", "a.txt", tenant_id=LOCAL_TENANT)
        s = _samples(r.obs.metrics.exposition()[0].decode())
    finally:
        r.close()
    queued = {dict(labels)["queue"]: v for (name, labels), v in s.items()
              if name == "ragd_jobs" and dict(labels)["state"] == "queued"}
    assert sum(queued.values()) == 1 and s[("rag_ingest_queue_depth", ())] == 1
    (queue,) = [q for q, n in queued.items() if n == 1]
    assert s[("ragd_jobs_oldest_queued_seconds", (("queue", queue),))] >= 0
    assert not any(name.startswith("ragd_broker_") for name, _ in s)


def test_results_per_question_by_search_type() -> None:
    m = Metrics(MetricsSettings())
    for n, mode in ((0, "hybrid"), (3, "hybrid"), (7, "bm25"), (100, "dense")):
        m.observe_query("answered", retrieval_s=0.01, generation_s=None, total_s=0.02, results=n, search_type=mode)
    s = _samples(m.exposition()[0].decode())
    assert s[("rag_query_results_count_bucket", (("le", "0.0"), ("search_type", "hybrid")))] == 1
    assert s[("rag_query_results_count_bucket", (("le", "5.0"), ("search_type", "hybrid")))] == 2
    assert s[("rag_query_results_count_sum", (("search_type", "hybrid"),))] == 3
    assert s[("rag_query_results_count_bucket", (("le", "5.0"), ("search_type", "bm25")))] == 0
    assert s[("rag_query_results_count_bucket", (("le", "10.0"), ("search_type", "bm25")))] == 1
    assert s[("rag_query_results_count_bucket", (("le", "100.0"), ("search_type", "dense")))] == 1


def test_compat_names_rename_ragd_values_read_once(tmp_path: Path) -> None:
    reads = []

    def chunks() -> dict[str, int]:
        reads.append(1)
        return {"default": 1}

    on = Metrics(MetricsSettings(compat_names=True))
    off = Metrics(MetricsSettings())
    for m in (on, off):
        m.add_collector(StateCollector(chunks, lambda: 0, lambda: 1, tmp_path))
        m.request("GET", "/health", 200, 0.004)
        m.request("POST", "/chat", 200, 1.5)
        m.observe_query("answered", retrieval_s=0.1, generation_s=0.3, total_s=0.5, tokens_in=11, tokens_out=4)
        m.error("rate_limited")
    text = on.exposition()[0].decode()
    assert len(reads) == 1  # every collector is read once per scrape, the aliases included
    s = _samples(text)
    for name in ALIAS_NAMES:
        assert name in text, name
    get = ("method", "GET"), ("route", "/health"), ("status", "200")
    assert s[("filagent_requests_total", get)] == s[("rag_requests_total", get)] == 1
    post = ("method", "POST"), ("route", "/chat")
    assert s[("filagent_request_duration_seconds_bucket", (("le", "1.0"), *post))] == 0
    assert s[("filagent_request_duration_seconds_bucket", (("le", "2.5"), *post))] == 1
    assert s[("filagent_request_duration_seconds_sum", post)] == 1.5
    assert s[("filagent_tokens_used_total", (("direction", "input"),))] == 11
    assert s[("filagent_model_tokens_total", (("direction", "output"),))] == 4
    assert s[("filagent_tokens_total", (("token_type", "prompt"),))] == 11
    assert s[("filagent_tokens_total", (("token_type", "completion"),))] == 4
    assert s[("filagent_generation_duration_seconds_count", ())] == 1
    assert s[("filagent_errors_total", (("code", "rate_limited"),))] == 1
    # FilAgent names ragd has no value for are not made up
    assert "filagent_compliance" not in text and "filagent_pii" not in text
    assert "filagent_" not in off.exposition()[0].decode()
