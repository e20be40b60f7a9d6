"""Voice-activity scoring in a process of its own, awaited by the audio owners of this instance.

Scoring is the server's largest CPU cost per second of live audio. Run on a thread of the
server it still needed the GIL between numpy calls, and at a couple of hundred live sessions the
event loop waited for it (acks of every connection late by tens of ms). A child process has an
interpreter of its own: the loop only slices PCM16 bytes out, writes them to a socket and reads
the probabilities back. The child scores every request of a message, and of the messages already
waiting behind it, in one call of the model (:mod:`server.silero`): the more streams per call,
the less each window costs (~105 µs a window for one live cell alone, ~33 for 10, ~24 for 50).

The child is stateless: each request carries the stream's recurrent state and gets the new one
back, so a child that dies (killed, out of memory) is replaced and the requests it had are sent
again, with the same results. Requests that arrive while others are being scored go together in
one message (one socket write and one wake-up of the loop for all of them).

The child runs at the lowest priority (niceness 19): when the CPU is short the acks (the audio is
safe) come first and segmentation falls behind, as ``astra_audio_lag_seconds`` shows. A child
with nothing to score for ``IDLE_STOP`` seconds is stopped (its ~50 MB of RSS given back once the
instance's sessions stop recording) and the next request starts another, as the first one did.

Wire format, both ways over a Unix socket pair: a 4-byte little-endian length, then msgpack.
Request: a list of ``[id, pcm16, state, cell]``; the child scores ``pcm16`` in calls of ``cell``
samples (the last one zero-padded to whole windows). Answer: a list of ``[id, probabilities
(float32 bytes), state, error]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import select
import signal
import socket
import struct
from dataclasses import dataclass, field
from typing import Any

import msgpack
import numpy as np
import numpy.typing as npt
import threadpoolctl

from .malloc import tune_malloc
from .segmenter import windows_of
from .silero import WINDOW, Silero
from .spawn import QuietSpawnContext, QuietSpawnProcess
from .vad import VadState, pack_state, unpack_state

log = logging.getLogger("astra.vad")

_LENGTH = struct.Struct("<I")
SEND_INTERVAL = 0.01
"""Least time between two messages to the child: requests arriving meanwhile wait and go together
(at 175 live sessions, ~14 per message instead of one socket write and one wake-up each)."""
NICE = 19
"""Added to the server's niceness (the kernel caps the sum at 19): the lowest priority; at +10
the child still took a fifth of the machine from a saturated ingest."""
MAX_ATTEMPTS = 3
"""Children a request may see die under it before it fails (a request that kills every child)."""
CALL_WINDOWS = 1024
"""Most windows scored in one call of the model (a request holds at most READ_BATCH frames, ~625
windows): the cost per window stops falling at ~200, while the call's arrays (~2 kB a window)
and the requests read ahead of it are the child's memory."""
IDLE_STOP = 300.0
"""Seconds without a request after which the child is stopped; live audio asks every ~128 ms a
stream, and a new child is ready in about a second, well inside the next utterance."""


class VadError(Exception):
    """The VAD could not score a request."""


# -- the child -------------------------------------------------------------------------------------


def _recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def windows(pcm16: bytes, cell: int) -> npt.NDArray[np.float32]:
    """PCM16 as VAD windows ``(n, 512)``, cut in the segmenter's calls of ``cell`` samples (only
    the last may be short, and is zero-padded to whole windows as the segmenter's is)."""
    if cell % WINDOW == 0:  # the segmenter's cells are whole windows: only the end is padded
        return windows_of(pcm16).reshape(-1, WINDOW)
    cells = [windows_of(pcm16[start : start + cell * 2]) for start in range(0, len(pcm16), cell * 2)]
    audio = np.concatenate(cells) if cells else np.zeros(0, dtype=np.float32)
    return audio.reshape(-1, WINDOW)


def window_count(pcm16: object, cell: object) -> int:
    """How many windows ``windows(pcm16, cell)`` gives, without converting the audio (0 for a
    request it cannot read, which is answered with its error)."""
    if not isinstance(pcm16, bytes) or not isinstance(cell, int) or cell <= 0:
        return 0
    samples = len(pcm16) // 2
    per_cell = -(-cell // WINDOW)
    return samples // cell * per_cell + -(-(samples % cell) // WINDOW)


def score(model: Silero, requests: list[list[Any]]) -> list[list[Any]]:
    """Answer requests ``[id, pcm16, state, cell]`` in calls of the model of at most
    CALL_WINDOWS windows (a request over it alone), each request's audio converted only for its
    call; a request that cannot be read is answered with its error, the others scored."""
    answers = [[rid, None, None, None] for rid, *_ in requests]
    groups: list[list[int]] = []
    in_group = CALL_WINDOWS
    for at, (_, pcm16, _, cell) in enumerate(requests):
        count = window_count(pcm16, cell)
        if not groups or in_group + count > CALL_WINDOWS:
            groups.append([])
            in_group = 0
        groups[-1].append(at)
        in_group += count
    for group in groups:
        streams: list[tuple[npt.NDArray[np.float32], VadState | None]] = []
        readable: list[int] = []
        for at in group:
            _, pcm16, state, cell = requests[at]
            try:
                streams.append((windows(pcm16, cell), unpack_state(state)))
            except Exception as exc:
                answers[at][3] = f"{type(exc).__name__}: {exc}"
                continue
            readable.append(at)
        try:
            results = model.score(streams)
        except Exception as exc:  # not expected of checked input; the requests still get an answer
            for at in readable:
                answers[at][3] = f"{type(exc).__name__}: {exc}"
        else:
            for at, (probs, new_state) in zip(readable, results, strict=True):
                answers[at][1:3] = [probs.tobytes(), pack_state(new_state)]
    return answers


def _messages(sock: socket.socket) -> list[Any] | None:
    """The next message's requests, and those of the messages already waiting behind it, up to
    about CALL_WINDOWS windows of audio (the larger the call, the less each window costs). None
    once the server has closed its end."""
    requests: list[Any] = []
    pcm_bytes = 0
    while True:
        header = _recv_exactly(sock, _LENGTH.size)
        body = _recv_exactly(sock, _LENGTH.unpack(header)[0]) if header is not None else None
        if body is None:
            return requests or None  # answer what was read; the next read sees the end again
        message = msgpack.unpackb(body)
        requests.extend(message)
        pcm_bytes += sum(len(request[1]) for request in message)
        if pcm_bytes >= CALL_WINDOWS * WINDOW * 2 or not select.select([sock], [], [], 0)[0]:
            return requests


def serve(sock: socket.socket) -> None:
    """The child's loop: answer request messages until the server closes its end."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the server, which then closes us
    # Below the server and Redis when the CPU is short: an ack (the audio is safe) comes before
    # its segmentation, which a backlog only delays (astra_audio_lag_seconds shows how much).
    # SCHED_IDLE measured better in the ingest part but starves the child outright while anything
    # else keeps the CPU busy (a finalize then waits past its deadline); niceness 19 does not.
    os.nice(NICE)
    tune_malloc()  # a backlog's calls hold a few MB of arrays, given back after (server.malloc)
    # One BLAS thread: OpenBLAS's others were started before os.nice, at niceness 0, and on two
    # cores they spun beside the first (a third more CPU for the same work, measured).
    threadpoolctl.threadpool_limits(1)
    model = Silero()
    with sock:
        while (requests := _messages(sock)) is not None:
            payload = msgpack.packb(score(model, requests))
            try:
                sock.sendall(_LENGTH.pack(len(payload)) + payload)
            except OSError:  # the server is gone (killed): nobody waits for these answers
                return


# -- the server's side -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Request:
    message: list[Any]
    future: asyncio.Future[tuple[npt.NDArray[np.float32], bytes | None]]
    attempts: int = 0


@dataclass(slots=True)
class _Child:
    process: QuietSpawnProcess
    writer: asyncio.StreamWriter
    reader: asyncio.Task[None]
    sent: dict[int, _Request] = field(default_factory=dict)
    retired: bool = False
    """Stopped on purpose (idle): its end is not a death to recover from."""


class VadProcess:
    """Scores PCM16 for the audio owners in a child process, started on first use.

    ``await vad.score(pcm16, state, cell)`` returns (one probability per window, the new state);
    ``state`` is None at the start of a stream and otherwise what the previous call returned.
    """

    def __init__(self, idle_stop: float = IDLE_STOP) -> None:
        self.idle_stop = idle_stop
        self._last_request = 0.0
        self._idle_watch: asyncio.Task[None] | None = None
        self._retiring: set[asyncio.Task[None]] = set()
        self._ids = itertools.count()
        self._child: _Child | None = None
        self._starting: asyncio.Lock | None = None
        self._unsent: dict[int, _Request] = {}
        self._flush_pending = False
        self._last_send = 0.0
        self._closed = False
        self.restarts = 0

    async def score(
        self, pcm16: bytes, state: bytes | None, cell: int
    ) -> tuple[npt.NDArray[np.float32], bytes | None]:
        if self._closed:
            raise VadError("the VAD process is closed")
        rid = next(self._ids)
        loop = asyncio.get_running_loop()
        self._last_request = loop.time()
        future: asyncio.Future[tuple[npt.NDArray[np.float32], bytes | None]] = loop.create_future()
        self._unsent[rid] = _Request([rid, pcm16, state, cell], future)
        if self._child is None:
            await self._start()
        elif not self._flush_pending:
            self._flush_pending = True
            loop.call_at(max(loop.time(), self._last_send + SEND_INTERVAL), self._flush)
        return await future

    @property
    def pid(self) -> int | None:
        return self._child.process.pid if self._child is not None else None

    async def _start(self) -> None:
        """Start a child (once, however many callers ask) and send it what is waiting."""
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self._child is None and not self._closed:
                try:
                    self._child = await self._spawn()
                except BaseException as exc:
                    waiting, self._unsent = self._unsent, {}
                    for request in waiting.values():
                        if not request.future.done():
                            reason = f"the VAD process could not start: {exc!r}"
                            request.future.set_exception(VadError(reason))
                    raise
        self._flush()

    async def _spawn(self) -> _Child:
        ours, theirs = socket.socketpair()
        process = QuietSpawnContext().Process(target=serve, args=(theirs,), name="astra-vad", daemon=True)
        try:
            # On the loop's thread, where the child can start with Ctrl-C ignored (server.spawn):
            # a spawn's start is a fork and exec, 1-10 ms once per child, never its imports.
            process.start()
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        reader, writer = await asyncio.open_unix_connection(sock=ours)
        child = _Child(process, writer, asyncio.create_task(self._read(reader)))
        child.reader.add_done_callback(lambda _: self._lost(child))
        log.info("VAD process %s started", process.pid)
        if self._idle_watch is None or self._idle_watch.done():
            self._idle_watch = asyncio.create_task(self._stop_when_idle())
        return child

    async def _stop_when_idle(self) -> None:
        """Stop the child once nothing was asked of it for ``idle_stop`` seconds (checked a few
        times per period); returns when there is no child left to watch."""
        loop = asyncio.get_running_loop()
        while (child := self._child) is not None:
            idle_for = loop.time() - self._last_request
            if idle_for < self.idle_stop or child.sent or self._unsent:
                await asyncio.sleep(max(self.idle_stop - idle_for, 0) + self.idle_stop / 8)
                continue
            child.retired = True
            self._child = None
            log.info(
                "VAD process %s stopped after %.0f s without audio to score", child.process.pid, idle_for
            )
            stop = asyncio.create_task(self._stop(child))  # its own task: aclose waits for it
            self._retiring.add(stop)
            stop.add_done_callback(self._retiring.discard)

    def _flush(self) -> None:
        self._flush_pending = False
        child = self._child
        if child is None or not self._unsent:
            return
        batch, self._unsent = self._unsent, {}
        self._last_send = asyncio.get_running_loop().time()
        child.sent.update(batch)
        payload = msgpack.packb([request.message for request in batch.values()])
        child.writer.write(_LENGTH.pack(len(payload)) + payload)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                header = await reader.readexactly(_LENGTH.size)
                body = await reader.readexactly(_LENGTH.unpack(header)[0])
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            child = self._child
            for rid, probs, state, error in msgpack.unpackb(body):
                request = child.sent.pop(rid, None) if child is not None else None
                if request is None or request.future.done():
                    continue
                if error is not None:
                    request.future.set_exception(VadError(error))
                else:
                    request.future.set_result((np.frombuffer(probs, dtype=np.float32), state))

    def _lost(self, child: _Child) -> None:
        """The child's socket closed: unless we are closing, replace it and send its requests again."""
        if self._child is child:
            self._child = None
        child.writer.close()
        with contextlib.suppress(Exception):
            child.process.join(timeout=0)
        if child.retired:
            return
        if self._closed:
            for request in child.sent.values():
                if not request.future.done():
                    request.future.set_exception(VadError("the VAD process is closed"))
            return
        process = child.process
        log.error("VAD process %s died (exit code %s); restarting it", process.pid, process.exitcode)
        self.restarts += 1
        again: dict[int, _Request] = {}
        for rid, request in child.sent.items():
            if request.future.done():
                continue
            request.attempts += 1
            if request.attempts >= MAX_ATTEMPTS:
                request.future.set_exception(VadError(f"the VAD process died {request.attempts} times on it"))
            else:
                again[rid] = request
        self._unsent = again | self._unsent
        if self._unsent:
            task = asyncio.get_running_loop().create_task(self._start())
            task.add_done_callback(_log_start_failure)

    async def aclose(self) -> None:
        """Stop the child (bounded: it is killed if it does not leave)."""
        self._closed = True
        child, self._child = self._child, None
        for request in self._unsent.values():
            if not request.future.done():
                request.future.set_exception(VadError("the VAD process is closed"))
        self._unsent = {}
        if self._idle_watch is not None:
            self._idle_watch.cancel()
        if child is not None:
            await self._stop(child)
        if self._retiring:
            await asyncio.wait(self._retiring)

    @staticmethod
    async def _stop(child: _Child) -> None:
        """Close the child's socket and wait for it to leave (bounded: killed if it does not)."""
        child.writer.close()  # the child sees the end of its socket and returns
        await asyncio.wait({child.reader}, timeout=5)
        await asyncio.to_thread(child.process.join, 5)
        if child.process.is_alive():
            child.process.kill()
            await asyncio.to_thread(child.process.join, 5)


def _log_start_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("the VAD process could not be restarted", exc_info=exc)
