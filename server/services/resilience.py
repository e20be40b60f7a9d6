"""Retries with exponential backoff and full jitter, for transient collaborator failures only.

Only a retryable :class:`~server.errors.ServiceUnavailable` is retried: a 4xx answer or a bad
payload will not get better by asking again, and an open circuit breaker means "not now", so
those fail at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from ..errors import ServiceUnavailable
from ..settings import Retry

T = TypeVar("T")


async def with_retries(call: Callable[[], Awaitable[T]], policy: Retry) -> T:
    """Run ``call``; on ServiceUnavailable wait (jittered, growing) and try again, up to
    ``policy.attempts`` tries in all; the last error propagates."""
    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.attempts),
        wait=wait_random_exponential(multiplier=policy.base_delay, max=policy.max_delay),
        retry=retry_if_exception(lambda exc: isinstance(exc, ServiceUnavailable) and exc.retryable),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await call()
    raise AssertionError("unreachable: tenacity reraises the last error")
