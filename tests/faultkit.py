"""Tools for fault tests: a fault-injecting TCP proxy, the fake CORE as its own process, the
resident memory of a process, a session's truth over HTTP, and speech-like audio whose every
utterance can be matched to the samples it came from.

``FaultProxy`` sits between the server and one HTTP collaborator (CORE, BUILDER, GUARD, S3) and
can, from one moment to the next:

* ``pass``: forward bytes both ways;
* ``refuse``: reset every connection at once (the collaborator is down);
* ``delay``: hold each answer ``delay`` seconds (slower than the server's timeout, say);
* ``blackhole``: accept and read, never answer (a hung collaborator);
* ``flap``: reset the first request and then one in ``every`` (counted across connections; a
  request is the client's bytes after the previous answer), forward the others.

Changing the mode also cuts the connections already open, so a pooled keep-alive connection
cannot carry on in the old mode. The proxy runs its own event loop in a thread of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import itertools
import os
import random
import socket
import struct
import subprocess
import sys
import threading
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import httpx

from .conftest import ROOT, TENANT, free_port, popen_tied, wait_until

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"

Mode = Literal["pass", "refuse", "delay", "blackhole", "flap"]


@dataclass
class ProxyStats:
    connections: int = 0
    reset: int = 0
    forwarded_requests: int = 0


class FaultProxy:
    """A TCP proxy on 127.0.0.1:``port`` to ``target`` with switchable faults."""

    def __init__(self, target_host: str, target_port: int, port: int | None = None) -> None:
        self.target = (target_host, target_port)
        self.port = port or free_port()
        self.mode: Mode = "pass"
        self.delay = 0.0
        self.every = 2
        self.stats = ProxyStats()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._requests = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)
        return self

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    def set_mode(self, mode: Mode, *, delay: float = 0.0, every: int = 2) -> None:
        """Switch behaviour now; connections already open are cut."""

        async def switch() -> None:
            self.mode, self.delay, self.every = mode, delay, every
            self._requests = 0
            for writer in list(self._writers):
                _reset(writer)
            self._writers.clear()

        asyncio.run_coroutine_threadsafe(switch(), self._loop).result(10)

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._writers):
                _reset(writer)
            # Connections still piping (a delayed answer, say) end here, not as "Task was
            # destroyed but it is pending" when the loop goes.
            handlers = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in handlers:
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        if self.mode == "refuse":
            self.stats.reset += 1
            _reset(writer)
            return
        self._writers.add(writer)
        if self.mode == "blackhole":
            with contextlib.suppress(Exception):
                while await reader.read(65536):
                    pass
            self._writers.discard(writer)
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            self._writers.discard(writer)
            _reset(writer)
            return
        self._writers.add(up_writer)
        turn = _Turn()
        try:
            await asyncio.gather(
                self._pipe(reader, up_writer, turn, requests=True),
                self._pipe(up_reader, writer, turn, requests=False),
            )
        finally:
            for w in (writer, up_writer):
                self._writers.discard(w)
                with contextlib.suppress(Exception):
                    w.close()

    async def _pipe(
        self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, turn: _Turn, *, requests: bool
    ) -> None:
        with contextlib.suppress(Exception):
            while data := await src.read(65536):
                if requests:
                    if turn.answered:  # the first bytes of a new request on this connection
                        turn.answered = False
                        self._requests += 1
                        if self.mode == "flap" and (self._requests - 1) % self.every == 0:
                            self.stats.reset += 1
                            _reset(dst)
                            return
                        self.stats.forwarded_requests += 1
                else:
                    turn.answered = True
                    if self.mode == "delay" and self.delay:
                        await asyncio.sleep(self.delay)
                dst.write(data)
                await dst.drain()
        with contextlib.suppress(Exception):
            dst.write_eof()


@dataclass
class _Turn:
    """HTTP/1.1 without pipelining: a client chunk after an answer starts a new request."""

    answered: bool = True


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0): the peer sees 'connection reset', not a clean end."""
    sock = writer.get_extra_info("socket")
    with contextlib.suppress(Exception):
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()


@contextlib.contextmanager
def fault_proxy(target_url: str) -> Iterator[FaultProxy]:
    """A proxy in front of ``http://host:port``; stopped on exit."""
    host, port = target_url.removeprefix("http://").rstrip("/").split(":")
    proxy = FaultProxy(host, int(port)).start()
    try:
        yield proxy
    finally:
        proxy.stop()


# -- the fake CORE, as its own process -------------------------------------------------------------


class FakeCore:
    """``tools/fake_core.py`` running on a free port (see its docstring for the fault modes)."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.log_path = log_dir / f"fake-core-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeCore:
        with open(self.log_path, "ab") as log:
            self.process = popen_tied(
                [sys.executable, str(ROOT / "tools" / "fake_core.py"), "--port", str(self.port)],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"fake CORE exited: {self.log_path.read_text(errors='replace')}")
            try:
                return httpx.get(self.url + "/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, 30, "the fake CORE")
        return self

    def mode(self, **mode: Any) -> None:
        httpx.post(self.url + "/fake/mode", json=mode, timeout=10).raise_for_status()

    def stats(self) -> dict[str, int]:
        stats: dict[str, int] = httpx.get(self.url + "/fake/stats", timeout=10).json()
        return stats

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@contextlib.contextmanager
def fake_core(log_dir: Path) -> Iterator[FakeCore]:
    core = FakeCore(log_dir).start()
    try:
        yield core
    finally:
        core.stop()


# -- memory ------------------------------------------------------------------------------------------


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from ``/proc/<pid>/status`` (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def has_proc() -> bool:
    return os.path.exists(f"/proc/{os.getpid()}/status")


# -- the session over HTTP ---------------------------------------------------------------------------


def auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def start_session(base_url: str, token: str, title: str = "Sesión de prueba de fallos") -> str:
    response = httpx.post(
        f"{base_url}/v1/orchestrator/session/start",
        json={"tenant_id": TENANT, "metadata": {"title": title}},
        headers=auth(token),
        timeout=60,
    )
    assert response.status_code == 201, response.text
    session_id: str = response.json()["session_id"]
    return session_id


def session_blocks(base_url: str, token: str, session_id: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{base_url}/v1/orchestrator/session/{session_id}/blocks", headers=auth(token), timeout=60
    )
    assert response.status_code == 200, response.text
    blocks: list[dict[str, Any]] = response.json()["blocks"]
    return blocks


def session_events(base_url: str, token: str, session_id: str) -> list[dict[str, Any]]:
    """The whole event log, page by page."""
    events: list[dict[str, Any]] = []
    while True:
        response = httpx.get(
            f"{base_url}/v1/orchestrator/session/{session_id}/events",
            params={"after": events[-1]["id"] if events else 0, "limit": 1000},
            headers=auth(token),
            timeout=60,
        )
        assert response.status_code == 200, response.text
        page: list[dict[str, Any]] = response.json()["events"]
        events += page
        if not page:  # a page may end early (its byte bound): the log ends at an empty one
            return events


def exported_log(base_url: str, token: str, session_id: str) -> list[dict[str, Any]]:
    """A finalized session's log once complete: learn.exported follows session.finalized."""
    events: list[dict[str, Any]] = []

    def complete() -> bool:
        events[:] = session_events(base_url, token, session_id)
        return any(e["kind"] == "learn.exported" for e in events)

    wait_until(complete, 60, "learn.exported")
    return events


def audio_diagnosis(redis_url: str, session_id: str) -> str:
    """Where a session's audio stands in Redis (for a failure message): its status and audio
    fields, who holds the audio lease and for how long, the utterances still pending, and how
    many audio entries are left in the stream."""
    import redis

    from server.keys import SessionKeys

    keys = SessionKeys(session_id)
    client = redis.Redis.from_url(redis_url)
    try:
        meta = {
            k.decode(): v.decode(errors="replace")
            for k, v in client.hgetall(keys.meta).items()
            if k == b"status" or k.startswith(b"audio_")
        }
        holder = client.get(keys.owner)
        lease_ms = client.pttl(keys.owner)
        pending = client.hlen(keys.utterances)
        entries = client.xlen(keys.audio)
    finally:
        client.close()
    return (
        f"audio of {session_id}: {meta}; lease held by {holder!r} for {lease_ms} ms more; "
        f"{pending} utterances pending; {entries} entries in the audio stream"
    )


def docx_text(document: bytes) -> str:
    """Every run of text of a DOCX body, in document order (python-docx)."""
    import docx

    body = docx.Document(io.BytesIO(document)).element.body
    return "".join(t.text or "" for t in body.iter(f"{W}t"))


# -- speech-like audio -------------------------------------------------------------------------------

FRAME_BYTES = 3200
"""100 ms of 16 kHz PCM16."""
SPEECH = sorted((ROOT / "tests" / "fixtures" / "audio").glob("0*.wav"))
"""Real Spanish speech (espeak-ng), one utterance per file: what Silero VAD must accept."""


def speech_pcm(path: Path) -> bytes:
    with wave.open(str(path)) as w:
        return w.readframes(w.getnframes())


@dataclass
class Timeline:
    """A session's audio: speech pieces separated by silence, with faint noise so no two
    stretches of it are byte-identical (every utterance then has its own fingerprint)."""

    pcm: bytes
    speech: list[tuple[int, int]]
    """[start, end) sample ranges of each speech piece."""

    def frames(self) -> list[bytes]:
        return [self.pcm[i : i + FRAME_BYTES] for i in range(0, len(self.pcm), FRAME_BYTES)]

    def slice(self, start_sample: int, end_sample: int) -> bytes:
        return self.pcm[2 * start_sample : 2 * end_sample]

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / 16_000


def make_timeline(rng: random.Random, pieces: int, *, lead_silence: float = 0.5) -> Timeline:
    import numpy as np

    clips = [speech_pcm(path) for path in SPEECH]
    parts: list[bytes] = []
    speech: list[tuple[int, int]] = []
    at = 0

    def silence(seconds: float) -> None:
        nonlocal at
        n = int(seconds * 16_000)
        parts.append(bytes(2 * n))
        at += n

    silence(lead_silence)
    for _ in range(pieces):
        clip = rng.choice(clips)
        parts.append(clip)
        speech.append((at, at + len(clip) // 2))
        at += len(clip) // 2
        silence(rng.uniform(1.0, 1.6))
    samples = np.frombuffer(b"".join(parts), dtype="<i2").astype(np.int32)
    noise = np.random.default_rng(rng.getrandbits(32)).integers(-2, 3, samples.size)
    pcm = np.clip(samples + noise, -32768, 32767).astype("<i2").tobytes()
    return Timeline(pcm, speech)


class LongTimeline:
    """Hours of audio without holding them: exact silence, and a speech clip (with its own faint
    noise) every ``every`` seconds; frames and slices are built on demand."""

    def __init__(self, rng: random.Random, seconds: float, every: float) -> None:
        import numpy as np

        clips = [np.frombuffer(speech_pcm(path), dtype="<i2") for path in SPEECH]
        self.samples = int(seconds * 16_000)
        self.pieces: list[tuple[int, bytes]] = []
        at = int(rng.uniform(1.0, every / 2) * 16_000)
        while True:
            clip = rng.choice(clips)
            if at + clip.size + 16_000 > self.samples:
                break
            noise = np.random.default_rng(rng.getrandbits(32)).integers(-2, 3, clip.size)
            self.pieces.append((at, np.clip(clip + noise, -32768, 32767).astype("<i2").tobytes()))
            at += int(every * 16_000)
        self.speech = [(start, start + len(pcm) // 2) for start, pcm in self.pieces]

    @property
    def frame_count(self) -> int:
        return -(-self.samples // (FRAME_BYTES // 2))

    def slice(self, start_sample: int, end_sample: int) -> bytes:
        out = bytearray(2 * (end_sample - start_sample))
        for start, pcm in self.pieces:
            end = start + len(pcm) // 2
            lo, hi = max(start, start_sample), min(end, end_sample)
            if lo < hi:
                out[2 * (lo - start_sample) : 2 * (hi - start_sample)] = pcm[
                    2 * (lo - start) : 2 * (hi - start)
                ]
        return bytes(out)

    def frame(self, n: int) -> bytes:
        """The n-th 100 ms frame (0-based); the last one may be shorter."""
        start = n * (FRAME_BYTES // 2)
        return self.slice(start, min(self.samples, start + FRAME_BYTES // 2))


class Audio(Protocol):
    speech: list[tuple[int, int]]

    def slice(self, start_sample: int, end_sample: int) -> bytes: ...


def fingerprint(audio: Audio, start_sample: int, end_sample: int) -> str:
    """What the fake CORE writes for the utterance [start, end) of a session's audio."""
    return hashlib.sha256(audio.slice(start_sample, end_sample)).hexdigest()[:8]


def check_audio_blocks(timeline: Audio, events: list[dict[str, Any]], blocks: list[dict[str, Any]]) -> int:
    """The audio the server cut and transcribed is exactly the audio sent: utterances in order,
    not overlapping, each the fingerprint of the sent samples at its place, one block each, and
    every speech piece heard. Returns the number of audio blocks."""
    detected = [e["data"] for e in events if e["kind"] == "utterance.detected"]
    ids = [u["utterance_id"] for u in detected]
    assert len(ids) == len(set(ids)), "an utterance was cut twice"
    for before, after in itertools.pairwise(detected):
        assert before["end_sample"] <= after["start_sample"], (before, after)
    audio_blocks = [b for b in blocks if b["source"]["kind"] == "audio"]
    by_utterance = {b["source"]["utterance_id"]: b for b in audio_blocks}
    assert len(by_utterance) == len(audio_blocks), "two blocks for one utterance"
    assert sorted(by_utterance) == sorted(ids), (
        "an utterance without its block, or the reverse",
        [(e["id"], e["kind"], e["actor"], e["data"].get("utterance_id")) for e in events],
        [b["source"]["utterance_id"] for b in audio_blocks],
    )
    for utt in detected:
        block = by_utterance[utt["utterance_id"]]
        expected = fingerprint(timeline, utt["start_sample"], utt["end_sample"])
        assert f"[{expected}]" in block["text"], (utt, block["text"], expected)
    starts = [b["audio_metadata"]["time_start"] for b in audio_blocks]
    assert starts == sorted(starts), "audio blocks out of audio order"
    for start, end in timeline.speech:
        assert any(u["start_sample"] < end and start < u["end_sample"] for u in detected), (
            f"speech at samples {start}-{end} produced no utterance"
        )
    return len(audio_blocks)
