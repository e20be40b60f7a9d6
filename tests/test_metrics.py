"""The event-loop lag probe: a stalled loop shows as lag. The loop's own cheap collectors expose
what prometheus_client's Counter and Histogram would."""

from __future__ import annotations

import asyncio
import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from server.metrics import LoopHistogram, Tally, watch_loop_lag


def _samples(registry: CollectorRegistry) -> list[str]:
    """The exposition's lines, without prometheus_client's ``_created`` series (a time)."""
    return [line for line in generate_latest(registry).decode().splitlines() if "_created" not in line]


def test_a_tally_exposes_what_a_labelled_counter_would() -> None:
    """Counts added to a Tally read as a labelled Counter with the same increments, labels
    lowercased."""
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    tally = Tally("astra_test_frames", "Frames", "type", ours)
    counter = Counter("astra_test_frames", "Frames", ["type"], registry=theirs)
    for name, times in (("Audio", 3), ("AudioEnd", 1), ("Text", 2)):
        tally.counts[name] += times
        counter.labels(name.lower()).inc(times)
    assert _samples(ours) == _samples(theirs)


def test_a_loop_histogram_exposes_what_a_histogram_would() -> None:
    """Observations (one at a time or several of one value, on a bucket's bound or between)
    land in the same buckets, count and sum as prometheus_client's Histogram puts them."""
    buckets = (0.001, 0.0025, 0.005, 0.01, 0.1, 1, 10)
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    loop_histogram = LoopHistogram("astra_test_seconds", "Seconds", buckets, ours)
    histogram = Histogram("astra_test_seconds", "Seconds", buckets=buckets, registry=theirs)
    for value, times in ((0.0005, 1), (0.001, 1), (0.003, 2), (0.01, 3), (0.5, 1), (10, 1), (20, 2)):
        loop_histogram.observe(value, times)
        for _ in range(times):
            histogram.observe(value)
    mine, expected = _samples(ours), _samples(theirs)
    assert [line for line in mine if "_sum" not in line] == [line for line in expected if "_sum" not in line]
    (sum_line,) = [line for line in mine if "_sum" in line]
    (expected_sum,) = [line for line in expected if "_sum" in line]
    assert abs(float(sum_line.split()[-1]) - float(expected_sum.split()[-1])) < 1e-9


def test_a_blocked_event_loop_is_observed_as_lag() -> None:
    """While the loop runs freely the probe sees little lag; blocking it for 0.3 s is recorded as
    a lag of about 0.3 s."""
    seen: list[float] = []

    async def scenario() -> None:
        enough = asyncio.Event()
        watching_for = [3]

        def observe(lag: float) -> None:
            seen.append(lag)
            if len(seen) >= watching_for[0]:
                enough.set()

        probe = asyncio.create_task(watch_loop_lag(observe, interval=0.01))
        try:
            async with asyncio.timeout(10):
                await enough.wait()
            quiet = len(seen)
            enough.clear()
            watching_for[0] = quiet + 1
            time.sleep(0.3)  # noqa: ASYNC251 -- the stimulus: block the loop as CPU-bound work would
            async with asyncio.timeout(10):
                await enough.wait()
        finally:
            probe.cancel()
        assert max(seen[:quiet]) < 0.25
        assert max(seen[quiet:]) >= 0.25

    asyncio.run(scenario())
