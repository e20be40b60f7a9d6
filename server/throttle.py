"""A token bucket without I/O: how long a connection must wait before its next frame.

The endpoint takes one token per frame a client sends and, when the bucket is empty, waits the
returned delay *before reading on*: the socket is not read meanwhile, so the client's frames
queue in TCP buffers (backpressure) instead of being refused or dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; starts full."""

    rate: float
    burst: float
    tokens: float = field(init=False)
    stamp: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError("a token bucket needs rate > 0 and burst >= 1")
        self.tokens = self.burst

    def take(self, now: float) -> float:
        """Take one token at time ``now`` (seconds, monotonic); returns how long the caller must
        wait before going on: 0 when a token was there. A wait is a debt that later refills pay
        first, so a client sending faster than ``rate`` is held to ``rate`` on average."""
        if self.stamp is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate
