"""Ingest pressure: the client inputs this instance has received and not answered yet.

An ack means "your frame is durable"; cutting that audio into utterances can wait (the audio is
in Redis). While many inputs wait for their answers (consoles resending a network cut's backlog
all at once, or more live sessions than the CPU can serve), the audio owners stop taking a turn
per frame: they take turns together every ``DEFER`` seconds, each with at most ``TURN_SECONDS``
of audio. Live audio (10 frames a second) then goes in fewer, larger steps, all owners' VAD
requests in one call of the model, and a backlog is cut at ``TURN_SECONDS / DEFER`` times real
time, while the event loop, the VAD child and CORE leave the rest of the machine to the acks.
Without pressure nothing changes: an owner takes every frame as it comes, and a finalize is
never deferred.
"""

from __future__ import annotations

PRESSURE_INPUTS = 256
"""Unanswered inputs (instance-wide) above which owners defer: four consoles' whole ingest window.
Live sessions at real-time pace leave about (frames per second × ack latency) unanswered: ~30 at
300 sessions answered within 10 ms."""
DEFER = 1.0
"""Seconds between the owners' turns under pressure (about how far behind the live audio their
segmentation falls for it)."""
TURN_SECONDS = 5.0
"""Seconds of audio an owner takes in one turn under pressure: five times real time, so live
sessions still keep up, and catch up on a backlog, while it lasts."""
TURN_BYTES = int(TURN_SECONDS * 16_000 * 2)
"""TURN_SECONDS of 16 kHz PCM16 (a compressed stream's entries count by their bytes too, so a
turn of them holds more audio)."""


class IngestPressure:
    """``waiting``: inputs received on this instance's connections and not answered yet (each
    connection adds what it queues, subtracts what it answers, and on closing what it never did)."""

    __slots__ = ("threshold", "waiting")

    def __init__(self, threshold: int = PRESSURE_INPUTS) -> None:
        self.threshold = threshold
        self.waiting = 0

    @property
    def high(self) -> bool:
        return self.waiting > self.threshold
