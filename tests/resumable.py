"""A resumable protocol-v1 client (asyncio, real sockets), as protocol.md's "Resume, in short"
describes it, that records everything it sees so a test can compare it with the server's truth.

* It keeps its ``client_id``, numbers every input frame, and keeps each one until it is acked.
* When its connection dies it reconnects (to any of the server URLs it was given, chosen by its
  own seeded ``random.Random``), sends ``hello`` with the last event id it saw, drops the frames
  ``welcome.last_seq`` covers (*settled*: applied, but the ack was lost with the connection) and
  resends the rest, in order.
* It records every ack, every settled seq, every event (and any event that arrives twice or
  after a gap: both are protocol violations), every error and every ``status`` frame.

At most ``window`` frames are unacked at once: :meth:`send` waits for room, so a producer that
outruns the server (or a server that is down) is held back instead of buffering without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgpack
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from server.protocol import SUBPROTOCOL

from .conftest import TIME_UNIT

FINAL_CLOSES = {1009, 4400, 4401, 4403, 4404}
"""Close codes after which reconnecting cannot help (protocol.md)."""


@dataclass
class Outcome:
    """What became of one numbered frame: acked, settled by a welcome, or refused with an error."""

    seq: int
    kind: str  # "ack" | "settled" | "error"
    message: dict[str, Any] = field(default_factory=dict)


class ResumableClient:
    def __init__(
        self,
        urls: Sequence[str] | Callable[[], Sequence[str]],
        session_id: str,
        token: str,
        client_id: str,
        *,
        rng: random.Random | None = None,
        window: int = 64,
        last_event_id: int = 0,
    ) -> None:
        self._urls = urls
        self.session_id = session_id
        self.token = token
        self.client_id = client_id
        self.rng = rng or random.Random(0)
        self.window = window
        self.next_seq = 1
        self.frames: dict[int, dict[str, Any]] = {}
        """Every numbered frame this client made, by seq (a seq refused with an error is reused)."""
        self.unacked: dict[int, dict[str, Any]] = {}
        self.outcomes: dict[int, Outcome] = {}
        self.acks: list[dict[str, Any]] = []
        self.settled: list[int] = []
        self.events: list[dict[str, Any]] = []
        self.last_event_id = last_event_id
        self.duplicate_events: list[int] = []
        self.event_gaps: list[tuple[int, int]] = []
        self.errors: list[dict[str, Any]] = []
        self.statuses: list[dict[str, Any]] = []
        self.welcomes: list[dict[str, Any]] = []
        self.closes: list[tuple[int | None, str]] = []
        self.connections = 0
        self.synced = 0
        self.fatal: str | None = None
        self._ws: ClientConnection | None = None
        self._welcomed = False
        self._sent_upto = 0
        self._send_lock = asyncio.Lock()
        self._waiters: dict[int, asyncio.Future[Outcome]] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> ResumableClient:
        self._task = asyncio.create_task(self._run(), name=f"client:{self.client_id}")
        return self

    async def stop(self) -> None:
        self._stopping = True
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def drop(self) -> None:
        """Cut the current connection abruptly (as a network failure would)."""
        if self._ws is not None:
            self._ws.transport.abort()

    @property
    def online(self) -> bool:
        return self._welcomed

    # -- sending -----------------------------------------------------------------------------------

    async def send(self, frame: dict[str, Any], *, within: float = 60.0) -> int:
        """Number and queue an input frame (waiting, bounded, for room in the window); sent at
        once when connected, else after the next welcome. Returns its seq."""
        await self.wait_until(lambda: len(self.unacked) < self.window, within, "room in the window")
        seq = self.next_seq
        self.next_seq += 1
        numbered = {**frame, "seq": seq}
        self.frames[seq] = numbered
        self.unacked[seq] = numbered
        await self._flush()
        return seq

    async def request(self, frame: dict[str, Any], *, within: float = 60.0) -> Outcome:
        """Send one frame and wait for its outcome. An error frees its seq for the next frame
        (protocol.md), so only use this when no other frame of this client is outstanding."""
        assert not self.unacked, "request() needs an otherwise idle client"
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiters[self.next_seq] = future
        seq = await self.send(frame, within=within)
        outcome = await asyncio.wait_for(asyncio.shield(future), within * TIME_UNIT)
        if outcome.kind == "error":
            assert self.next_seq == seq + 1
            self.next_seq = seq  # the seq was not used up
            del self.frames[seq]
        return outcome

    async def _flush(self) -> None:
        """Send, in order, every unacked frame not yet sent on this connection."""
        async with self._send_lock:
            ws = self._ws
            if ws is None or not self._welcomed:
                return
            for seq in sorted(s for s in self.unacked if s > self._sent_upto):
                try:
                    await ws.send(msgpack.packb(self.unacked[seq]))
                except ConnectionClosed:
                    return
                self._sent_upto = seq

    # -- waiting -----------------------------------------------------------------------------------

    async def wait_until(self, condition: Callable[[], bool], within: float, what: str) -> None:
        """Poll ``condition`` until it holds; bounded by ``within`` × the test time unit."""
        deadline = time.monotonic() + within * TIME_UNIT
        while not condition():
            if self.fatal:
                raise AssertionError(f"{self.client_id}: {self.fatal}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.client_id}: timed out waiting for {what}")
            await asyncio.sleep(0.02)

    async def all_acked(self, within: float = 60.0) -> None:
        await self.wait_until(lambda: not self.unacked, within, "every frame acked")

    # -- the connection loop -----------------------------------------------------------------------

    def _pick(self) -> str:
        urls = self._urls() if callable(self._urls) else self._urls
        return self.rng.choice(list(urls))

    async def _run(self) -> None:
        attempt = 0
        while not self._stopping:
            url = f"{self._pick()}/v1/orchestrator/session/{self.session_id}/stream"
            try:
                async with connect(
                    url, subprotocols=[SUBPROTOCOL], open_timeout=10, max_size=None, ping_interval=None
                ) as ws:  # type: ignore[list-item]
                    self._ws = ws
                    self.connections += 1
                    await ws.send(
                        msgpack.packb(
                            {
                                "type": "hello",
                                "v": 1,
                                "token": self.token,
                                "client_id": self.client_id,
                                "last_event_id": self.last_event_id,
                            }
                        )
                    )
                    async for raw in ws:
                        assert isinstance(raw, bytes), "the server must send binary frames"
                        await self._receive(msgpack.unpackb(raw))
                        if self._welcomed:
                            attempt = 0
                    self.closes.append((ws.close_code, ws.close_reason or ""))
            except ConnectionClosed as exc:
                self.closes.append((exc.rcvd.code if exc.rcvd else None, exc.rcvd.reason if exc.rcvd else ""))
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                self.closes.append((None, repr(exc)))
            finally:
                self._ws = None
                self._welcomed = False
            code = self.closes[-1][0] if self.closes else None
            if code in FINAL_CLOSES:
                self.fatal = f"closed with {code} {self.closes[-1][1]}"
                return
            if self._stopping:
                return
            attempt += 1
            base = min(1.0, 0.05 * 2 ** min(attempt, 10))
            await asyncio.sleep(base / 2 + self.rng.random() * base / 2)

    async def _receive(self, msg: dict[str, Any]) -> None:
        match msg.get("type"):
            case "welcome":
                self.welcomes.append(msg)
                last_seq = int(msg["last_seq"])
                for seq in sorted(s for s in self.unacked if s <= last_seq):
                    del self.unacked[seq]
                    self.settled.append(seq)
                    self._resolve(Outcome(seq, "settled", msg))
                async with self._send_lock:
                    self._sent_upto = last_seq
                    self._welcomed = True
                await self._flush()
            case "ack":
                seq = int(msg["seq"])
                self.acks.append(msg)
                expected = min(self.unacked) if self.unacked else None
                # Acks come in seq order; an ack for a frame we no longer hold is a resend's.
                if seq != expected and (not msg.get("duplicate") or seq in self.unacked):
                    self.fatal = f"ack for seq {seq}, expected {expected}"
                self.unacked.pop(seq, None)
                self._resolve(Outcome(seq, "ack", msg))
            case "error":
                self.errors.append(msg)
                seq = msg.get("seq")
                if isinstance(seq, int) and seq in self.unacked:
                    del self.unacked[seq]
                    async with self._send_lock:
                        self._sent_upto = min(self._sent_upto, seq - 1)
                    self._resolve(Outcome(seq, "error", msg))
            case "event":
                event_id = int(msg["id"])
                if event_id <= self.last_event_id:
                    self.duplicate_events.append(event_id)
                elif event_id != self.last_event_id + 1:
                    self.event_gaps.append((self.last_event_id, event_id))
                    self.last_event_id = event_id
                    self.events.append(msg)
                else:
                    self.last_event_id = event_id
                    self.events.append(msg)
            case "synced":
                self.synced += 1
            case "status":
                self.statuses.append(msg)
            case _:
                pass

    def _resolve(self, outcome: Outcome) -> None:
        self.outcomes[outcome.seq] = outcome
        future = self._waiters.pop(outcome.seq, None)
        if future is not None and not future.done():
            future.set_result(outcome)

    # -- what the client saw -------------------------------------------------------------------------

    def applied(self) -> list[int]:
        """Seqs the server applied (acked, or covered by a later welcome), in order."""
        return sorted(s for s, o in self.outcomes.items() if o.kind in ("ack", "settled"))

    def check_events(self) -> None:
        """Every event once, ids contiguous from where this client began."""
        twice = self.duplicate_events[:5]
        assert not twice, f"{self.client_id}: events received twice {twice}"
        assert not self.event_gaps, f"{self.client_id}: gaps in events {self.event_gaps[:5]}"
