"""Prometheus metrics: requests and commands as they happen, projection lag when scraped.

Each app has its own registry (several apps live in one test process). With several uvicorn
workers each worker counts its own requests: scrape them one by one, or run one worker per
port behind the balancer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import Scope

from api.runtime import Runtime
from ledger.availability import DatabaseUnavailable
from replay.rebuild import status as projection_status

LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
REPLAYED_HEADER = "Idempotent-Replayed"

Series = tuple[tuple[Counter, ...], tuple[Histogram, ...]]
"""The counters a request adds one to, and the histograms it adds its duration to."""


class ProjectionLag(Collector):
    """Each live read model's position and how many events it is behind, read at scrape."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def collect(self) -> Iterator[GaugeMetricFamily]:
        position = GaugeMetricFamily(
            "ledgerline_projection_position",
            "The last log position a live read model has applied.",
            labels=["projection"],
        )
        lag = GaugeMetricFamily(
            "ledgerline_projection_lag_events",
            "Events in the log a live read model has not applied yet (capped).",
            labels=["projection"],
        )
        stopped = GaugeMetricFamily(
            "ledgerline_projection_stopped",
            "1 while the live runner has stopped a read model at an event it cannot apply.",
            labels=["projection"],
        )
        try:
            with self._runtime.read_pool.connection() as conn:
                models = projection_status(conn)
        except DatabaseUnavailable:
            return  # scraped during an outage: what the database holds is not to be had
        for model in models:
            position.add_metric([model.name], model.live.position if model.live else 0)
            lag.add_metric([model.name], model.lag)
            stopped.add_metric([model.name], 0 if model.stop is None else 1)
        yield position
        yield lag
        yield stopped


class BackgroundUp(Collector):
    """Whether each background task runs and reaches the database, and the database itself."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "ledgerline_background_up",
            "1 while a background task (projections, billing-clock, mail) runs and reaches "
            "the database, else 0.",
            labels=["task"],
        )
        for health in self._runtime.background_health():
            up.add_metric([health.name], 1 if health.ok else 0)
        yield up
        yield GaugeMetricFamily(
            "ledgerline_database_up",
            "0 from the first failure to reach the database until it answers again, else 1.",
            value=0 if self._runtime.ledger.health.down else 1,
        )


class AuditChains(Collector):
    """What the periodic verify of the audit chains found, as of its last run (issue 14)."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        watch = self._runtime.audit_watch
        if watch is None or watch.intact is None:
            return  # turned off, or not run yet: no figure rather than a made-up one
        yield GaugeMetricFamily(
            "ledgerline_audit_chain_intact",
            "1 when the last verify of the audit chains found them intact, 0 when broken.",
            value=1 if watch.intact else 0,
        )
        yield GaugeMetricFamily(
            "ledgerline_audit_verified_position",
            "The log position the last verify of the audit chains reached.",
            value=watch.verified_position,
        )
        yield CounterMetricFamily(
            "ledgerline_audit_chain_breaks",
            "Broken links the periodic verify found since the process started.",
            value=watch.breaks_found,
        )
        yield CounterMetricFamily(
            "ledgerline_audit_verify_runs",
            "Runs of the periodic verify since the process started.",
            value=watch.runs,
        )


class Metrics:
    """The app's counters and histograms, and their Prometheus text."""

    def __init__(self, runtime: Runtime) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ledgerline_http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "ledgerline_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.commands = Counter(
            "ledgerline_commands",
            "Commands by name and outcome: accepted, replayed, or the problem's code.",
            ["command", "outcome"],
            registry=self.registry,
        )
        self.command_seconds = Histogram(
            "ledgerline_command_duration_seconds",
            "Command latency over HTTP by name, from request to response.",
            ["command"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.registry.register(ProjectionLag(runtime))
        self.registry.register(BackgroundUp(runtime))
        self.registry.register(AuditChains(runtime))
        self._children: dict[tuple[object, ...], Series] = {}

    def observe(self, scope: Scope, status: int, replayed: bool, seconds: float) -> None:
        route: Any = scope.get("route")
        outcome = scope.get("state", {}).get("problem_code", status) if status >= 400 else None
        key = (id(route), scope["method"], status, replayed, outcome)
        children = self._children.get(key)
        if children is None:
            children = self._children_for(route, scope["method"], status, replayed, outcome)
            self._children[key] = children
        counts, timings = children
        for counter in counts:
            counter.inc()
        for histogram in timings:
            histogram.observe(seconds)

    def _children_for(
        self, route: Any, method: str, status: int, replayed: bool, outcome: object
    ) -> Series:
        """The series a request of this kind counts in. Looking them up by their labels took
        a lock and four string joins per request; a request's kind (its route, method,
        status, outcome) names the same series every time, so they are found once
        (issue 16). Routes are the app's own, so the kinds are bounded by routes x
        statuses x problem codes, as the series themselves are."""
        template = getattr(route, "path", None) or "unmatched"
        counts = [self.requests.labels(method, template, str(status))]
        timings = [self.request_seconds.labels(method, template)]
        if method == "POST" and route is not None:
            name = getattr(route, "name", template)
            accepted = "replayed" if replayed else "accepted"
            counts.append(self.commands.labels(name, accepted if status < 400 else str(outcome)))
            timings.append(self.command_seconds.labels(name))
        return tuple(counts), tuple(timings)

    def text(self) -> bytes:
        return generate_latest(self.registry)
