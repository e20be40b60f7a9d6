"""Voice-activity scoring in a process of its own, awaited by the audio owners of this instance.

Scoring is the server's largest CPU cost per second of live audio. Run on a thread of the
server it still needed the GIL between numpy calls, and at a couple of hundred live sessions the
event loop waited for it (acks of every connection late by tens of ms). A child process has an
interpreter of its own: the loop only slices PCM16 bytes out, writes them to a socket and reads
the probabilities back. The child's code, and the wire format between the two, are
:mod:`server.vad_child`.

The child is stateless: each request carries the stream's recurrent state and gets the new one
back, so a child that dies (killed, out of memory) is replaced and the requests it had are sent
again, with the same results; so is one that hangs (answers none of its requests and uses no
CPU for ``HUNG_AFTER`` seconds), once it has been killed. Requests that arrive while others are being
scored go together in one message (one socket write and one wake-up of the loop for all of them).

The child runs at the lowest priority (niceness 19): when the CPU is short the acks (the audio is
safe) come first and segmentation falls behind, as ``astra_audio_lag_seconds`` shows. A child
with nothing to score for ``IDLE_STOP`` seconds is stopped (its ~50 MB of RSS given back once the
instance's sessions stop recording) and the next request starts another, as the first one did.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
from dataclasses import dataclass, field
from typing import Any

import msgpack
import numpy as np
import numpy.typing as npt

from .spawn import QuietSpawnContext, QuietSpawnProcess
from .vad_child import HEADER, serve

log = logging.getLogger("astra.vad")

SEND_INTERVAL = 0.01
"""Least time between two messages to the child: requests arriving meanwhile wait and go together
(at 175 live sessions, ~14 per message instead of one socket write and one wake-up each)."""
MAX_ATTEMPTS = 3
"""Children a request may see die under it before it fails (a request that kills every child)."""
IDLE_STOP = 300.0
"""Seconds without a request after which the child is stopped; live audio asks every ~128 ms a
stream, and a new child is ready in about a second, well inside the next utterance."""
HUNG_AFTER = 30.0
"""Seconds a child with requests to answer may go without answering any, and without using any
CPU, before it is taken for hung (stopped, stuck waiting, swapped out) and killed, its requests
sent again to a new one. A hung one left alive would hold every session of the instance without
blocks (its owners' leases renewed, so no other instance takes them over) until the server
restarts. One that is using CPU is slow, not hung (at the lowest priority on a busy machine a
batch of 30 s runs can take that long), and is left to finish, up to ``SLOW_LIMIT`` times as
long."""
SLOW_LIMIT = 10


class VadError(Exception):
    """The VAD could not score a request."""


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
    heard: float = 0.0
    """When the child last answered, or was given work while it had none (loop time)."""
    ticks: int | None = None
    """The child's CPU time (clock ticks) when its silence was last looked at."""


class VadProcess:
    """Scores PCM16 for the audio owners in a child process, started on first use.

    ``await vad.score(pcm16, state, cell)`` returns (one probability per window, the new state);
    ``state`` is None at the start of a stream and otherwise what the previous call returned.
    """

    def __init__(self, idle_stop: float = IDLE_STOP, hung_after: float = HUNG_AFTER) -> None:
        self.idle_stop = idle_stop
        self.hung_after = hung_after
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
        watch = asyncio.create_task(self._kill_if_hung(child))
        child.reader.add_done_callback(lambda _: watch.cancel())
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

    async def _kill_if_hung(self, child: _Child) -> None:
        """Kill the child once it has had requests and answered none for ``hung_after`` seconds:
        its socket closes and :meth:`_lost` sends its requests again to a new child (a request
        whose children hang or die ``MAX_ATTEMPTS`` times fails)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.hung_after / 4)
            silent_for = loop.time() - child.heard
            ticks, child.ticks = child.ticks, _cpu_ticks(child.process.pid)
            if not child.sent or silent_for <= self.hung_after:
                continue
            working = ticks is not None and child.ticks is not None and child.ticks > ticks
            if working and silent_for <= self.hung_after * SLOW_LIMIT:
                continue  # scoring a long batch on a busy machine: slow, not hung
            log.error(
                "VAD process %s answered none of its %d requests for %.0f s%s; killing it",
                child.process.pid,
                len(child.sent),
                silent_for,
                "" if working else " and used no CPU",
            )
            with contextlib.suppress(Exception):
                child.process.kill()
            return

    def _flush(self) -> None:
        self._flush_pending = False
        child = self._child
        if child is None or not self._unsent:
            return
        batch, self._unsent = self._unsent, {}
        self._last_send = asyncio.get_running_loop().time()
        if not child.sent:  # the child had nothing to do: its silence counts from now
            child.heard = self._last_send
        child.sent.update(batch)
        payload = msgpack.packb([request.message for request in batch.values()])
        child.writer.write(HEADER.pack(len(payload)) + payload)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                header = await reader.readexactly(HEADER.size)
                body = await reader.readexactly(HEADER.unpack(header)[0])
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            child = self._child
            if child is not None:
                child.heard = asyncio.get_running_loop().time()
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


def _cpu_ticks(pid: int | None) -> int | None:
    """The CPU time a process has used (user and system, clock ticks; /proc on Linux), or None
    where it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


def _log_start_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("the VAD process could not be restarted", exc_info=exc)
