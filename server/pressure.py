"""Ingest pressure: the client inputs this instance has received and not answered yet.

An ack means "your frame is durable"; cutting that audio into utterances can wait (the audio is
in Redis). While consoles resend a backlog (a network cut's frames, all at once, each console up
to its whole ingest window unanswered), the audio owners stop taking a turn per frame: they take
turns together every ``DEFER`` seconds, each with at most ``TURN_SECONDS`` of audio. The backlog
then goes in fewer, larger steps, all owners' VAD requests in one call of the model, and is cut
at ``TURN_SECONDS / DEFER`` times real time, while the event loop, the VAD child and CORE leave
the rest of the machine to the acks. Without pressure nothing changes: an owner takes every frame
as it comes, and a finalize is never deferred.

What counts is the *backlog*: the inputs each connection has unanswered beyond
``LIVE_ALLOWANCE``. A live console at real-time pace has one or two unanswered, however many
sessions there are. Counting those too (the instance-wide total) turned the deferral on for live
load at the edge of the CPU, where it put segmentation a second behind the audio without making
the acks measurably faster (docs/performance.md, "Ingest pressure"). Live sessions still reach it
when their acks take longer than ``LIVE_ALLOWANCE`` frames (0.8 s): the CPU is then short
whatever is deferred, and the acks come first.
"""

from __future__ import annotations

LIVE_ALLOWANCE = 8
"""Unanswered inputs a connection may have without counting as backlog: a console at real-time
pace (10 audio frames a second) has 8 only when its acks take 0.8 s."""
PRESSURE_INPUTS = 200
"""Backlog (instance-wide) above which owners defer: about four consoles resending, each with its
whole ingest window (64) unanswered, 56 beyond its allowance."""
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
    """``waiting``: inputs received on this instance's connections and not answered yet (the
    ``astra_ingest_waiting_inputs`` gauge); ``backlog``: those beyond each connection's
    ``LIVE_ALLOWANCE``, which decide ``high``. Each connection reports what it queues
    (``queued``) and answers (``answered``, also for those it drops on closing), with the count it
    had unanswered before."""

    __slots__ = ("backlog", "threshold", "waiting")

    def __init__(self, threshold: int = PRESSURE_INPUTS) -> None:
        self.threshold = threshold
        self.waiting = 0
        self.backlog = 0

    def queued(self, unanswered: int) -> None:
        """One input queued on a connection that had ``unanswered`` inputs unanswered."""
        self.waiting += 1
        if unanswered >= LIVE_ALLOWANCE:
            self.backlog += 1

    def answered(self, unanswered: int, count: int) -> None:
        """``count`` inputs answered (or dropped) on a connection that had ``unanswered``."""
        self.waiting -= count
        if unanswered > LIVE_ALLOWANCE:
            self.backlog -= unanswered - max(LIVE_ALLOWANCE, unanswered - count)

    def set_aside(self, unanswered: int) -> None:
        """A connection with ``unanswered`` inputs is held on purpose (its session's audio
        backlog): its inputs beyond the allowance stop counting as backlog until ``take_back``
        (with the same count: it takes no more than the allowance meanwhile)."""
        self.backlog -= max(0, unanswered - LIVE_ALLOWANCE)

    def take_back(self, unanswered: int) -> None:
        self.backlog += max(0, unanswered - LIVE_ALLOWANCE)

    @property
    def high(self) -> bool:
        return self.backlog > self.threshold
