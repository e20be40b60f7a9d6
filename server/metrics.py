"""Prometheus metrics of one app instance (its own registry: no module-level globals)."""

from __future__ import annotations

import asyncio
import bisect
import collections
import time
from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

LOOP_LAG_INTERVAL = 0.1
"""Seconds between the event-loop lag probe's wake-ups."""


class Tally(Collector):
    """A counter by one label that the event loop adds to on every frame: ``tally[label] += 1``
    is a dict addition (prometheus_client's ``Counter.labels(…).inc()`` is four Python calls and
    a lock). Labels are used as given, lowercased; read when scraped."""

    def __init__(self, name: str, documentation: str, label: str, registry: CollectorRegistry) -> None:
        self.name, self.documentation, self.label = name, documentation, label
        self.counts: collections.Counter[str] = collections.Counter()
        registry.register(self)

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self.name, self.documentation, labels=[self.label])
        for value, count in sorted(self.counts.items()):  # items() copies under the GIL
            family.add_metric([value.lower()], count)
        yield family


class LoopHistogram(Collector):
    """A histogram observed from the event loop's thread only: an observation is a bisect and
    two additions (prometheus_client's ``Histogram.observe`` is ~6 Python calls and two locks,
    once per acked audio frame here). Same exposition (``_bucket``, ``_count``, ``_sum``)."""

    def __init__(
        self, name: str, documentation: str, buckets: Sequence[float], registry: CollectorRegistry
    ) -> None:
        self.name, self.documentation = name, documentation
        self._bounds = tuple(float(b) for b in buckets)
        self._counts = [0] * (len(self._bounds) + 1)  # the last one: above every bound (+Inf)
        self._sum = 0.0
        registry.register(self)

    def observe(self, value: float, times: int = 1) -> None:
        """``times`` observations of ``value`` (a bucket's bound is inclusive, as Prometheus says)."""
        self._counts[bisect.bisect_left(self._bounds, value)] += times
        self._sum += value * times

    def collect(self) -> Iterator[Metric]:
        counts, total = list(self._counts), self._sum
        buckets: list[tuple[str, float]] = []
        cumulative = 0
        for bound, count in zip((*self._bounds, float("inf")), counts, strict=True):
            cumulative += count
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
        yield HistogramMetricFamily(self.name, self.documentation, buckets=buckets, sum_value=total)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.connections = Gauge("astra_ws_connections", "Open WebSocket connections", registry=r)
        self.frames = Tally("astra_ws_frames", "Client frames received", "type", r)
        """By message class name (``frames.counts["AudioEnd"] += 1``; the label is ``audioend``)."""
        self.errors = Counter("astra_errors_total", "Errors sent to clients", ["code"], registry=r)
        self.blocks = Counter("astra_blocks_total", "Blocks stored", ["type"], registry=r)
        self.duplicates = Counter(
            "astra_duplicates_total", "Resent inputs acked without a new block", registry=r
        )
        self.renumbers = Counter(
            "astra_renumbers_total",
            "Gaps between two whole positions whose inserted blocks were spread out again",
            registry=r,
        )
        self.events_sent = Counter(
            "astra_events_sent_total", "Events delivered to WebSocket clients", registry=r
        )
        self.resyncs = Counter(
            "astra_resyncs_total", "Catch-up reads from the event log", ["reason"], registry=r
        )
        self.core_seconds = Histogram("astra_core_seconds", "CORE call latency", registry=r)
        self.loop_lag_seconds = Histogram(
            "astra_event_loop_lag_seconds",
            "How late the event loop ran a timer: the wait every frame, ack and event also had",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )
        self.ingest_seconds = LoopHistogram(
            "astra_ingest_seconds",
            "Input received to durable ack",
            (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            r,
        )
        self.finalize_seconds = Histogram(
            "astra_finalize_seconds", "Finalize duration", ["outcome"], registry=r
        )
        # Limits and backpressure (settings.Limits): what an operator watches to size them.
        self.limit_refusals = Counter(
            "astra_limit_refusals_total",
            "Requests, connections or inputs refused because a limit was reached",
            ["limit"],
            registry=r,
        )
        self.ws_closes = Counter(
            "astra_ws_closes_total",
            "WebSocket connections closed by the server, by close code",
            ["code"],
            registry=r,
        )
        self.slow_consumers = Counter(
            "astra_slow_consumers_total",
            "Clients closed as slow consumers (send_timeout or max_lag_events)",
            ["reason"],
            registry=r,
        )
        self.throttled_frames = Counter(
            "astra_ws_throttled_frames_total",
            "Client frames that waited for the frame rate limit",
            registry=r,
        )
        self.throttled_connections = Gauge(
            "astra_ws_throttled_connections",
            "Connections whose reading waits for the frame rate limit now",
            registry=r,
        )
        self.audio_in_flight = Gauge(
            "astra_audio_in_flight_seconds",
            "Seconds of utterance audio sent to CORE, not answered yet",
            registry=r,
        )
        self.audio_lag = Gauge(
            "astra_audio_lag_seconds",
            "Age of the stored audio that this instance's session owners are segmenting now,"
            " the oldest of them (0 when all have caught up with what was sent)",
            registry=r,
        )
        self.ingest_waiting = Gauge(
            "astra_ingest_waiting_inputs",
            "Inputs received on this instance's connections and not answered yet",
            registry=r,
        )
        self.ingest_backlog = Gauge(
            "astra_ingest_backlog_inputs",
            "Unanswered inputs beyond each connection's first server.pressure.LIVE_ALLOWANCE (consoles"
            " resending a backlog); above server.pressure.PRESSURE_INPUTS the audio owners defer"
            " segmentation to the acks",
            registry=r,
        )
        self.backlog_held = Gauge(
            "astra_audio_backlog_held_connections",
            "Recording connections whose frames are not read now: their session holds"
            " max_audio_backlog of audio its owner has not read (CORE behind or down)",
            registry=r,
        )
        self.learn_export_failures = Counter(
            "astra_learn_export_failures_total",
            "Tries of an export of corrections to LEARN that failed (tried again unless LEARN refused it)",
            registry=r,
        )
        self.audio_paused = Gauge(
            "astra_audio_paused_sessions",
            "Sessions whose audio reading waits for CORE (max_audio_in_flight reached)",
            registry=r,
        )

        # The labelled series the README's alerts name exist from the start at 0: an
        # increase() or rate() over a series that appears with its first event misses that event.
        self.errors.labels("STORE_UNAVAILABLE")
        self.blocks.labels("ERROR_PENDING_REVIEW")
        for outcome in ("ok", "failed"):
            self.finalize_seconds.labels(outcome)
        for reason in ("resume", "idle", "resync", "gap"):
            self.resyncs.labels(reason)
        for code in ("1013", "4408", "4503"):
            self.ws_closes.labels(code)

    def render(self) -> bytes:
        return generate_latest(self.registry)


async def watch_loop_lag(observe: Callable[[float], None], interval: float = LOOP_LAG_INTERVAL) -> None:
    """Observe, every ``interval``, how much later than asked the loop woke us: the stalls that
    CPU-bound work, GIL contention or garbage collection put in front of every connection."""
    while True:
        asked = time.perf_counter() + interval
        await asyncio.sleep(interval)
        observe(max(0.0, time.perf_counter() - asked))
