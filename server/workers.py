"""Worker processes for finalize's CPU work: decoding blocks, BUILDER, GUARD's hashes and report.

Worker *threads* keep the event loop free but not the interpreter: building the DOCX of a 6-hour
session, or hashing its blocks and event log, holds the GIL for most of a second, and every
other session's acks wait for it (measured: another session's ack p99 went from 4.5 ms to
128 ms during a 5,000-block finalize). A process has a GIL of its own. What crosses the process
boundary is bytes (blocks as stored in Redis, msgpack; the DOCX) and small results, so neither
side spends long pickling; the blocks are decoded only in the worker.

:class:`WorkerPool` is created by the app's lifespan, sized by ``Settings.finalize_workers``, and
closed with it. Its processes are started with ``spawn`` (a fresh interpreter: nothing of the
server's threads, sockets or event loop is inherited) and import only what the jobs need.
A worker that dies (killed, out of memory) breaks a ``ProcessPoolExecutor`` for good: the pool
then replaces its executor and the call fails with a retryable :class:`ServiceUnavailable`. A job
that runs past ``job_timeout`` (a tenant's template looping for ever) is interrupted in its worker
(a timer signal, counted from when the job starts there, not while it waits in the queue): the
call fails with :class:`WorkerTimeout`, not tried again, so a finalize fails (its session takes
corrections) instead of holding the session closed for ever. A job stuck inside C code is
interrupted only when it comes back to Python.

The jobs the orchestrator itself sends here are at the end of this module (:func:`index_blocks`,
:func:`corrections`, :func:`check_configuration`) and the upload check
(:func:`server.images.inspect_image`); BUILDER and GUARD send theirs (``build_sync``,
``compute_seal``). Everything that reads or writes DOCX, and Pillow, is imported by the workers
only: the server process never loads python-docx, lxml, Jinja2 or Pillow.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import msgpack

from .errors import ServiceUnavailable
from .malloc import WORKER_MMAP_THRESHOLD, release_memory, tune_malloc
from .services.learn import correction_records
from .spawn import QuietSpawnContext

T = TypeVar("T")


class Offload(Protocol):
    """Somewhere to run CPU-bound work away from the event loop."""

    async def run(self, fn: Callable[..., T], *args: Any) -> T: ...


class InThread:
    """Offload to a thread: for the standalone HTTP services, where no other session waits."""

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)


class WorkerError(Exception):
    """An exception raised in a worker that could not be sent back as it was."""


class WorkerTimeout(ServiceUnavailable):
    """A job ran past the pool's ``job_timeout`` and was interrupted. Not tried again: the same
    input would most likely run as long again."""

    retryable = False


class JobTimeout(BaseException):
    """Raised in a worker by the job's timer (a BaseException, so that no ``except Exception``
    in the job takes it for one of its own errors and goes on)."""


def _time_out(signum: int, frame: Any) -> None:
    raise JobTimeout


def _call(fn: Callable[..., T], args: tuple[Any, ...], timeout: float | None = None) -> T:
    """Runs in the worker (in its main thread, where signals are handled). An exception that
    does not survive pickling would break the whole pool on its way back, so it is sent as a
    :class:`WorkerError` carrying its repr instead. ``timeout``: seconds the job may run before
    :class:`JobTimeout` interrupts it. The job's garbage is given back to the system before its
    result goes back."""
    if timeout is not None:
        signal.signal(signal.SIGALRM, _time_out)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return fn(*args)
    except Exception as exc:
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:
            raise WorkerError(repr(exc)) from None
        raise
    finally:
        if timeout is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
        release_memory()  # what the job left is given back before the next one (server.malloc)


def _start_worker() -> None:
    """Runs in each worker as it starts. Ctrl-C in a terminal reaches the whole process group: it
    is for the server, which then closes the pool (a worker took it as a KeyboardInterrupt and
    printed its traceback on every interrupted ``make run``). And a thread ends the worker when
    the server is gone: a worker holds both ends of its own job queue's pipe, so a server killed
    outright (SIGKILL, the OOM killer) would otherwise leave it, and the resource tracker it keeps
    open, for ever. And glibc's malloc gives a finalize's large buffers back when they are freed
    (:mod:`server.malloc`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tune_malloc(WORKER_MMAP_THRESHOLD)
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="astra-exit-with-parent", daemon=True).start()


def warm_up() -> int:
    """A job that does nothing but start a worker; returns its process id."""
    return os.getpid()


class WorkerPool:
    """A process pool for :class:`Offload` jobs, replaced whole when one of its workers dies."""

    def __init__(self, workers: int, job_timeout: float | None = None) -> None:
        """``job_timeout``: seconds a job may run in its worker (from when it starts there)
        before it is interrupted; None: no bound."""
        if workers < 1:
            raise ValueError("finalize_workers must be at least 1")
        self._workers = workers
        self._job_timeout = job_timeout
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self._workers, mp_context=QuietSpawnContext(), initializer=_start_worker)

    def start(self) -> None:
        """Start a worker now (in the background), so the first finalize does not wait for one."""
        self._executor.submit(warm_up)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        executor = self._executor
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(executor, _call, fn, args, self._job_timeout)
        except JobTimeout as exc:
            raise WorkerTimeout(
                f"{getattr(fn, '__name__', 'a job')} ran for more than {self._job_timeout:g} s in "
                "a finalize worker and was stopped",
                service="workers",
            ) from exc
        except BrokenProcessPool as exc:
            if self._executor is executor:  # the first caller to notice replaces it
                executor.shutdown(wait=False, cancel_futures=True)
                self._executor = self._new_executor()
            raise ServiceUnavailable("a finalize worker process died; try again", service="workers") from exc

    async def close(self) -> None:
        """Stop the workers (a job still running is waited for; queued ones are cancelled)."""
        await asyncio.to_thread(self._executor.shutdown, True, cancel_futures=True)


# -- the orchestrator's jobs ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BlockIndex:
    """Where a session's stored blocks go: indices into the list of blocks as stored."""

    live: list[int]
    """The blocks of the acta (not deleted), in order."""
    images: list[tuple[str, str, str | None]]
    """``(asset_id, object key, SHA-256)`` of each live IMAGE block, in order (the hash the upload
    recorded, which the acta's content hash vouches for)."""
    edited: list[int]
    """The blocks a person changed (deleted ones included): LEARN's input."""

    def packed(self, raw: list[bytes]) -> bytes:
        """The live blocks as one msgpack array (as BUILDER and GUARD take them), spliced from
        the stored bytes without decoding them."""
        header: bytes = msgpack.Packer().pack_array_header(len(self.live))
        return header + b"".join(raw[i] for i in self.live)


def index_blocks(raw: list[bytes]) -> BlockIndex:
    """Decode a session's stored blocks (msgpack maps) and sort them out."""
    index = BlockIndex([], [], [])
    for i, item in enumerate(raw):
        block = msgpack.unpackb(item, raw=False)
        if block.get("human_edited"):
            index.edited.append(i)
        if block.get("deleted"):
            continue
        index.live.append(i)
        if block.get("type") == "IMAGE":
            asset = block["asset"]
            index.images.append((asset["asset_id"], asset["key"], asset.get("sha256")))
    return index


def corrections(
    raw: list[bytes], tenant_id: str, session_id: str, pinned: dict[str, Any]
) -> list[dict[str, Any]]:
    """LEARN's records, from stored blocks."""
    blocks = [msgpack.unpackb(item, raw=False) for item in raw]
    return correction_records(tenant_id, session_id, pinned, blocks)


def check_configuration(
    skeleton: bytes,
    style_map: dict[str, str],
    placeholder_map: dict[str, str],
    empty_zones: dict[str, str | None],
    templates: dict[str, Any],
) -> list[str]:
    """The problems of a tenant's skeleton and templates with its maps (empty: none), as a
    session start checks them once per configuration.

    python-docx, lxml and Jinja2 are imported here, in the worker, and never by the server
    process (17 MB of its RSS): only the worker reads DOCX files."""
    from .services import docx_builder

    return docx_builder.check_skeleton(
        skeleton, style_map, placeholder_map, empty_zones
    ) + docx_builder.check_templates(templates)
