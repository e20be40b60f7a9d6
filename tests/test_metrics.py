"""The event-loop lag probe: a stalled loop shows as lag."""

from __future__ import annotations

import asyncio
import time

from server.metrics import watch_loop_lag


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
