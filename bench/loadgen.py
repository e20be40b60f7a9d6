"""Load generator worker: one process driving many protocol-v1 WebSocket clients.

Started by ``bench/bench_load.py``, usually several at once: each worker is its own process with
its own uvloop event loop, so the generator never shares the server's loop, and a thousand
real-time sessions are spread over as many cores as the machine has. All clients of one session
live in the same worker, so "text sent → its block arrives at the other clients" is measured
with one clock (``time.perf_counter``).

Two modes:

* ``live``: one *recorder* per session sends numbered ``audio`` frames (3,200 bytes of PCM16 =
  100 ms at 16 kHz) at real-time pace on a fixed schedule (frame *k* is due at t0 + k·100 ms, so
  a late frame does not push the others back), and now and then a ``text`` frame. Some sessions
  also have *stenographers*, who receive every event and now and then ``edit`` a block they saw.
* ``blast``: one client per session sends ``audio`` frames as fast as the protocol allows:
  ``ingest_window`` (64) frames in flight, a new one for each ack.

Every client keeps at most ``ingest_window`` frames unanswered. Measured, for what is sent
inside the measurement window: send → ack latency (audio, text and edit frames apart), how late
each live frame left compared to its schedule (the generator's own health), text → ``block.added``
at every connected client of the session, acks received, errors by code, dropped connections.

Line protocol with the coordinator: stdin line 1 is the job (JSON); the worker connects its
clients, spreading the connections over ``ramp`` seconds, and prints ``ready <ok> <failed>``;
the coordinator answers ``go <start> <end>`` (``time.time()`` values); after ``end`` and a
grace period for late answers the worker prints its results (one JSON line) and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import sys
import time
import wave
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import msgpack
import uvloop
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol

FRAME_BYTES = 3200
"""100 ms of 16 kHz mono PCM16."""
CONNECT_TIMEOUT = 30.0
"""Seconds a client may take to connect and receive its welcome."""
GRACE = 5.0
"""Seconds after the window for answers to frames sent inside it."""
TEXTS = (
    "Se abre la sesión plenaria ordinaria del Concejo de Santiago de Cali.",
    "Solicito a la secretaría verificar el quórum.",
    "Se somete a consideración el orden del día leído.",
    "Tiene la palabra el honorable concejal para su intervención.",
    "Propongo que se cite al secretario de movilidad para el próximo debate.",
    "La proposición ha sido aprobada por unanimidad.",
)


@dataclass
class Stats:
    """What this worker measured; lists hold milliseconds."""

    start: float = math.inf
    end: float = math.inf
    ack_audio: list[float] = field(default_factory=list)
    ack_text: list[float] = field(default_factory=list)
    ack_edit: list[float] = field(default_factory=list)
    late: list[float] = field(default_factory=list)
    fanout_recorder: list[float] = field(default_factory=list)
    fanout_stenographer: list[float] = field(default_factory=list)
    sent: int = 0
    acked: int = 0
    """Answers (ack or error) received inside the window."""
    unanswered: int = 0
    stalled: int = 0
    """Frames held back because ``ingest_window`` frames were already unanswered."""
    stale_edits: int = 0
    events: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    connect_failures: int = 0
    dropped: int = 0
    texts: dict[tuple[str, int], float] = field(default_factory=dict)
    """(session id, seq) of text frames sent inside the window → send time."""

    def inside(self, t: float) -> bool:
        return self.start <= t < self.end

    def report(self) -> dict[str, Any]:
        def ms(values: list[float]) -> list[float]:
            return [round(v, 3) for v in values]

        return {
            "ack_audio": ms(self.ack_audio),
            "ack_text": ms(self.ack_text),
            "ack_edit": ms(self.ack_edit),
            "late": ms(self.late),
            "fanout_recorder": ms(self.fanout_recorder),
            "fanout_stenographer": ms(self.fanout_stenographer),
            "sent": self.sent,
            "acked": self.acked,
            "unanswered": self.unanswered,
            "stalled": self.stalled,
            "stale_edits": self.stale_edits,
            "events": self.events,
            "errors": dict(self.errors),
            "connect_failures": self.connect_failures,
            "dropped": self.dropped,
        }


class Client:
    """One WebSocket client of a session: hello, then numbered frames with at most ``window``
    unanswered, and every server message dispatched as it arrives."""

    role = "client"

    def __init__(self, job: dict[str, Any], session: dict[str, Any], client_id: str, stats: Stats) -> None:
        self.job = job
        self.url: str = session["url"]
        self.session_id: str = session["session_id"]
        self.client_id = client_id
        self.stats = stats
        self.window: int = job["window"]
        self.seq = 0
        self.pending: dict[int, tuple[float, str]] = {}
        """seq → (send time, kind) of frames not answered yet."""
        self.room = asyncio.Event()
        self.room.set()
        self.drained = asyncio.Event()
        self.ws: ClientConnection | None = None

    async def open(self, token: str) -> None:
        """Connect and say hello; bounded by ``CONNECT_TIMEOUT`` (an overloaded server fails the
        step instead of holding it)."""
        async with asyncio.timeout(CONNECT_TIMEOUT):
            await self._open(token)

    async def _open(self, token: str) -> None:
        self.ws = await connect(
            self.url,
            subprotocols=[Subprotocol("astra.v1")],
            max_size=None,
            open_timeout=None,  # bounded as a whole by open()
            ping_interval=None,  # the server pings; a browser does not ping either
        )
        await self.ws.send(
            msgpack.packb({"type": "hello", "v": 1, "client_id": self.client_id, "token": token})
        )
        while True:
            message = msgpack.unpackb(await self.ws.recv(), raw=False)
            if message["type"] == "welcome":
                self.seq = int(message.get("last_seq", 0))
                return
            if message["type"] == "error":
                raise RuntimeError(f"refused: {message.get('code')}")

    async def send(self, message: dict[str, Any], kind: str) -> None:
        """Send one numbered frame, waiting first while the ingest window is full."""
        assert self.ws is not None
        if len(self.pending) >= self.window:
            self.stats.stalled += 1
            while len(self.pending) >= self.window:
                self.room.clear()
                await self.room.wait()
        self.seq += 1
        now = time.perf_counter()
        self.pending[self.seq] = (now, kind)
        if self.stats.inside(now):
            self.stats.sent += 1
            if kind == "text":
                self.stats.texts[(self.session_id, self.seq)] = now
        await self.ws.send(msgpack.packb({**message, "seq": self.seq}))

    async def receive(self) -> None:
        assert self.ws is not None
        stats = self.stats
        async for data in self.ws:
            now = time.perf_counter()
            message = msgpack.unpackb(data, raw=False)
            kind = message["type"]
            if kind == "event":
                stats.events += 1
                self.on_event(message, now)
                continue
            if kind == "error":
                code = message.get("code", "?")
                if code == "STALE_VERSION":
                    stats.stale_edits += 1
                else:
                    stats.errors[code] += 1
                if "seq" in message:  # a refused frame does not use up its number (protocol.md)
                    self.seq = min(self.seq, int(message["seq"]) - 1)
            if kind not in ("ack", "error") or "seq" not in message:
                continue
            sent = self.pending.pop(message["seq"], None)
            if sent is None:
                continue
            if len(self.pending) < self.window:
                self.room.set()
            if not self.pending:
                self.drained.set()
            at, frame_kind = sent
            if stats.inside(now):
                stats.acked += 1
            if stats.inside(at) and kind == "ack":
                getattr(stats, f"ack_{frame_kind}").append((now - at) * 1000)

    def on_event(self, message: dict[str, Any], now: float) -> None:
        if message.get("kind") != "block.added":
            return
        source = message["data"]["block"].get("source") or {}
        if source.get("kind") != "text":
            return
        sent = self.stats.texts.get((self.session_id, source.get("seq", -1)))
        if sent is not None:
            getattr(self.stats, f"fanout_{self.role}").append((now - sent) * 1000)

    async def settle(self) -> None:
        """After the window: wait (bounded) for answers to what was sent inside it."""
        if self.pending:
            self.drained.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.drained.wait(), GRACE)
        self.stats.unanswered += sum(1 for t, _ in self.pending.values() if self.stats.inside(t))

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


class Recorder(Client):
    """The session's console: audio at real-time pace (live) or as fast as allowed (blast)."""

    role = "recorder"

    def __init__(
        self, job: dict[str, Any], session: dict[str, Any], stats: Stats, pcm: bytes, rng: random.Random
    ) -> None:
        super().__init__(job, session, f"rec-{session['session_id']}", stats)
        self.pcm = pcm
        self.rng = rng
        self.offset = rng.randrange(0, max(1, len(pcm) // FRAME_BYTES)) * FRAME_BYTES

    def chunk(self) -> bytes:
        if self.offset + FRAME_BYTES > len(self.pcm):
            self.offset = 0
        data = self.pcm[self.offset : self.offset + FRAME_BYTES]
        self.offset += FRAME_BYTES
        return data

    async def stream(self) -> None:
        interval: float = self.job["frame_interval"]
        text_every: float = self.job["text_every"]
        t0 = time.perf_counter() + self.rng.uniform(0, interval)
        next_text = t0 + self.rng.uniform(0, text_every) if text_every > 0 else math.inf
        k = 0
        while True:
            due = t0 + k * interval
            if due >= self.stats.end:
                return
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await self.send({"type": "audio", "format": "pcm16", "data": self.chunk()}, "audio")
            if self.stats.inside(due):
                self.stats.late.append((time.perf_counter() - due) * 1000)
            if due >= next_text:
                await self.send({"type": "text", "text": self.rng.choice(TEXTS)}, "text")
                next_text += text_every * (0.5 + self.rng.random())
            k += 1

    async def blast(self) -> None:
        while time.perf_counter() < self.stats.end:
            await self.send({"type": "audio", "format": "pcm16", "data": self.chunk()}, "audio")


class Stenographer(Client):
    """Receives every event of the session, keeps the blocks it saw, and now and then edits one."""

    role = "stenographer"

    def __init__(
        self, job: dict[str, Any], session: dict[str, Any], index: int, stats: Stats, rng: random.Random
    ) -> None:
        super().__init__(job, session, f"steno{index}-{session['session_id']}", stats)
        self.rng = rng
        self.blocks: dict[str, tuple[int, str]] = {}

    def on_event(self, message: dict[str, Any], now: float) -> None:
        super().on_event(message, now)
        data = message.get("data") or {}
        match message.get("kind"):
            case "block.added" | "block.updated" | "block.inserted":
                block = data["block"]
                self.blocks[block["block_id"]] = (int(block["version"]), str(block.get("text", "")))
            case "block.deleted":
                self.blocks.pop(data.get("block_id"), None)

    async def edit(self) -> None:
        every: float = self.job["edit_every"]
        while True:  # with edits off (every <= 0) the client still lives until the window ends
            await asyncio.sleep(every * (0.5 + self.rng.random()) if every > 0 else 0.5)
            if time.perf_counter() >= self.stats.end:
                return
            if every <= 0 or not self.blocks:
                continue
            block_id = self.rng.choice(list(self.blocks))
            version, text = self.blocks[block_id]
            text = text if text.endswith(" (corregido)") else f"{text} (corregido)"
            frame = {"type": "edit", "block_id": block_id, "base_version": version, "changes": {"text": text}}
            await self.send(frame, "edit")


async def run_client(client: Client, token: str, delay: float, ready: asyncio.Queue[bool]) -> None:
    await asyncio.sleep(delay)
    stats = client.stats
    try:
        await client.open(token)
    except (OSError, TimeoutError, InvalidHandshake, InvalidStatus, ConnectionClosed, RuntimeError) as exc:
        stats.connect_failures += 1
        stats.errors[f"connect:{type(exc).__name__}"] += 1
        await ready.put(False)
        return
    await ready.put(True)
    receiver = asyncio.create_task(client.receive())
    try:
        match client:
            case Recorder() if client.job["mode"] == "blast":
                work = client.blast()
            case Recorder():
                work = client.stream()
            case Stenographer():
                work = client.edit()
            case _:
                raise AssertionError(client)
        sender = asyncio.create_task(work)
        done, _ = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
        if receiver in done:  # the server closed the connection before the end
            stats.dropped += 1
            code = client.ws.close_code if client.ws is not None else None
            stats.errors[f"closed:{code}"] += 1
            sender.cancel()
            return
        # Stenographers keep listening until the end: late events still count.
        await asyncio.wait({receiver}, timeout=max(0.0, stats.end - time.perf_counter()))
        await client.settle()
    except ConnectionClosed as exc:
        stats.dropped += 1
        stats.errors[f"closed:{exc.rcvd.code if exc.rcvd else None}"] += 1
    finally:
        receiver.cancel()
        with contextlib.suppress(TimeoutError, OSError, ConnectionClosed):
            await asyncio.wait_for(client.close(), 5)


def load_pcm(job: dict[str, Any]) -> bytes:
    if job["audio"] == "silence":
        return bytes(FRAME_BYTES * 10)
    with wave.open(job["audio_path"]) as w:
        return w.readframes(w.getnframes())


async def main() -> None:
    job = json.loads(sys.stdin.readline())
    stats = Stats()
    rng = random.Random(job["seed"])
    pcm = load_pcm(job)
    clients: list[tuple[Client, str]] = []
    for session in job["sessions"]:
        clients.append((Recorder(job, session, stats, pcm, rng), job["recorder_token"]))
        for i in range(session.get("stenographers", 0)):
            clients.append((Stenographer(job, session, i, stats, rng), job["stenographer_token"]))
    ready: asyncio.Queue[bool] = asyncio.Queue()
    ramp: float = job["ramp"]
    tasks = [
        asyncio.create_task(run_client(client, token, ramp * i / max(1, len(clients)), ready))
        for i, (client, token) in enumerate(clients)
    ]
    outcomes = [await ready.get() for _ in clients]
    print(f"ready {sum(outcomes)} {len(outcomes) - sum(outcomes)}", flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    _, start, end = line.split()
    offset = time.time() - time.perf_counter()
    stats.start, stats.end = float(start) - offset, float(end) - offset
    await asyncio.gather(*tasks, return_exceptions=True)
    stats.texts.clear()
    print(json.dumps(stats.report()), flush=True)


if __name__ == "__main__":
    uvloop.run(main())
