"""The metric names of the deployments ragd replaces, re-exposed from ragd's own values (``metrics.compat_names``).

A team moving from the "FilAgent" compliance agent keeps dashboards, alert rules and checks that read
``filagent_*`` series. With ``RAGD_METRICS__COMPAT_NAMES=true`` the exposition of ``GET /metrics`` also carries
each family of :data:`ALIASES` under its old name: the same samples, renamed at scrape time, so nothing is
counted twice and the alias can never drift from ragd's own series (docs/migrating.md lists them, and the
FilAgent names that have no ragd equivalent and are therefore not exported).

The aliases are computed from the families a scrape has already gathered (:func:`alias_families`), so they work
the same in single-process and multiprocess mode.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client.core import Metric


@dataclass(frozen=True, slots=True)
class Alias:
    """``source`` (a ragd family, as prometheus-client names it: a counter without ``_total``) exported again as
    ``name``, its label names renamed by ``labels`` and the values of a renamed label mapped by ``values``."""

    source: str
    name: str
    labels: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)


ALIASES: tuple[Alias, ...] = (
    # FilAgent's HTTP metrics (its README and capability test): same labels as ragd's (method, route, status)
    Alias("rag_requests", "filagent_requests"),
    Alias("rag_request_duration_seconds", "filagent_request_duration_seconds"),
    # tokens of questions and answers: ragd's direction input/output
    Alias("rag_model_tokens", "filagent_tokens_used"),
    Alias("rag_model_tokens", "filagent_model_tokens"),
    # runtime/metrics.py of FilAgent: filagent_tokens_total{token_type="prompt"|"completion"}
    Alias("rag_model_tokens", "filagent_tokens", labels={"direction": "token_type"},
          values={"token_type": {"input": "prompt", "output": "completion"}}),
    Alias("rag_generation_latency_seconds", "filagent_generation_duration_seconds"),
    Alias("rag_errors", "filagent_errors"),
)

#: The sample names a scrape carries with the aliases on (what the old deployments' checks grep for).
ALIAS_NAMES: tuple[str, ...] = (
    "filagent_requests_total", "filagent_request_duration_seconds", "filagent_tokens_used_total",
    "filagent_model_tokens_total", "filagent_tokens_total", "filagent_generation_duration_seconds",
    "filagent_errors_total",
)


def _renamed(family: Metric, alias: Alias) -> Metric:
    out = Metric(alias.name, f"{family.documentation} (alias of {family.name}: metrics.compat_names)",
                 family.type, family.unit)
    for s in family.samples:
        labels = {alias.labels.get(k, k): v for k, v in s.labels.items()}
        for label, mapping in alias.values.items():
            if label in labels:
                labels[label] = mapping.get(labels[label], labels[label])
        out.samples.append(s._replace(name=alias.name + s.name[len(family.name):], labels=labels))
    return out


def alias_families(families: Iterable[Metric], aliases: Iterable[Alias] = ALIASES) -> Iterator[Metric]:
    """The alias families of those ``families`` that have one (in the order of ``aliases``)."""
    by_name = {f.name: f for f in families}
    for alias in aliases:
        source = by_name.get(alias.source)
        if source is not None:
            yield _renamed(source, alias)


class Families:
    """Already gathered families, as a collector ``generate_latest`` can render."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)
