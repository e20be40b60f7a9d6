"""Cancelling tasks for certain on Python 3.11.

A cancellation can be lost there: ``asyncio.wait_for`` returns the result of what it waited on
instead of raising when the cancellation lands in the turn that result arrived (fixed in 3.12),
and redis-py writes every command through ``wait_for``. A task that must end (a connection's
reader, an audio owner's lease renewer) is cancelled again until it has.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any

RECANCEL_INTERVAL = 0.05
"""Seconds between cancellations of a task that has not ended yet."""


async def cancel_and_wait(tasks: Collection[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and wait until each has ended, cancelling again every RECANCEL_INTERVAL
    those that have not. Their exceptions are retrieved (not raised): they ended as asked."""
    for task in tasks:
        task.cancel()
    while pending := [task for task in tasks if not task.done()]:
        await asyncio.wait(pending, timeout=RECANCEL_INTERVAL)
        for task in pending:
            task.cancel()
    for task in tasks:
        if not task.cancelled():
            task.exception()
