"""glibc's malloc told to give large buffers back to the system as soon as they are freed.

glibc serves an allocation of at least its *mmap threshold* (128 KiB to start with) with a
mapping of its own, unmapped when freed. But the threshold adapts: each time such a mapping is
freed, glibc raises the threshold to its size (up to 32 MiB), so later buffers of that size come
from the heap, where a freed one stays in the process's RSS until the heap's top is free. A
finalize moves a session's blocks, pictures, event log and acta through the worker pipe as
buffers of a few MB each: with the adaptive threshold, the server and the finalize worker kept
tens of MB of them as RSS, and each peak grew by as much (measured on a 6-hour session: the
server and its children 345 MB at the peak of a finalize, 310 with the threshold fixed).

Setting the threshold once turns the adaptation off (glibc's documented behaviour of
``mallopt(M_MMAP_THRESHOLD, …)`` and of the ``MALLOC_MMAP_THRESHOLD_`` variable). Each process
of the server calls :func:`tune_malloc` as it starts, with its own threshold:

* the finalize workers at :data:`WORKER_MMAP_THRESHOLD` (1 MiB);
* the server process at :data:`SERVER_MMAP_THRESHOLD` (4 MiB), above the buffers of the speech
  recognizer it hosts: CTranslate2 allocates and frees buffers between 1 and 4 MiB as it runs
  Whisper's layers, and with 1 MiB each was mapped, page-faulted and unmapped again, so a 5.4 s
  utterance took 1.46-1.59 s to transcribe in the server against 1.09-1.18 s with 4 MiB (and
  1.09-1.23 s for the same call in a process left alone);
* not the VAD child: its calls' arrays (up to ~2 MB each, many a second) would each be mapped
  and unmapped, page faults included, where the adaptive threshold reuses the heap; its RSS is
  steady.
An operator's ``MALLOC_MMAP_THRESHOLD_`` (or ``GLIBC_TUNABLES=glibc.malloc.mmap_threshold=…``)
is left to rule; on a C library other than glibc nothing is done.

The server process calls :func:`trim_heap` between a finalize's steps: its own buffers of that
finalize under its 4 MiB threshold (the blocks read from Redis, the pictures, the acta back from
the worker) come from the heap, and once freed they stayed in its RSS under the next step's peak
(measured on the 6-hour session, three runs a side alternated: the server's peak 137-138 -> 132-133
MB with the heap trimmed after the blocks are read and after the build, the finalize as fast).

A finalize worker also calls :func:`release_memory` after each job. Building the acta leaves its
document in reference cycles (python-docx's objects) until the collector runs, and lxml's nodes
freed in the middle of the heap stay in the RSS: the job that came next (GUARD's seal) then
peaked on top of the 48 MB the build had left (measured: 120 MB; 107 with the memory given
back, the build's own peak).
"""

from __future__ import annotations

import ctypes
import functools
import gc
import os

WORKER_MMAP_THRESHOLD = 1 << 20
"""A finalize worker's threshold, the bytes from which an allocation gets a mapping of its own:
below a finalize's buffers of several MB (measured on the 6-hour session: 1 MiB and 128 KiB
gave the same peak)."""
SERVER_MMAP_THRESHOLD = 4 << 20
"""The server process's: above the speech recognizer's per-layer buffers (1-4 MiB, see above)
and the ingest path's largest (a burst's stream entries, up to ``buffer.MERGE_BYTES`` = 256
KiB), which stay in the heap and cost no page faults. Some of a finalize's buffers in the server
(the session read from Redis, the acta coming back from the worker) are of that size too, and
stay in its heap: on the 6-hour session its process peaked at 133-136 MB with 4 MiB against 122
MB with 1 MiB (the whole finalize at 288-290 MB against 276)."""
_M_MMAP_THRESHOLD = -3
"""``M_MMAP_THRESHOLD`` in glibc's ``<malloc.h>``."""


def tune_malloc(threshold: int) -> bool:
    """Fix glibc's mmap threshold at ``threshold`` bytes, unless the environment sets one; True
    when it was set here."""
    libc = _glibc()
    if _set_by_operator() or libc is None:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, threshold) == 1)


def _set_by_operator() -> bool:
    """Has the environment set the threshold (glibc's variable, or its tunable)?"""
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    return "MALLOC_MMAP_THRESHOLD_" in os.environ or "glibc.malloc.mmap_threshold" in tunables


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The process's C library with ``mallopt`` and ``malloc_trim`` declared, looked up once;
    None on a C library other than glibc."""
    if not _is_glibc():
        return None
    libc = ctypes.CDLL(None)  # the process's own symbols: its C library's
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt.restype = ctypes.c_int
    libc.malloc_trim.argtypes = [ctypes.c_size_t]
    return libc


def _is_glibc() -> bool:
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (AttributeError, ValueError, OSError):  # no confstr, or a name unknown to this libc
        return False


def trim_heap() -> None:
    """Hand glibc's free heap pages back to the system (``malloc_trim``): about a millisecond
    after a finalize's steps. It holds each arena's lock while it works, so call it from a
    thread where an event loop must not wait; nothing on a C library other than glibc."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def release_memory() -> None:
    """Collect garbage cycles, then :func:`trim_heap`; a few ms. For a process that has just let
    go of a large job's data."""
    gc.collect()
    trim_heap()
