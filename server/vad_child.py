"""The VAD child: scores PCM16 for the server's audio owners, in a process of its own.

Started and fed by :class:`server.vad_process.VadProcess` (why a process, and what the server
does when it dies, are there). The child imports this module and what it needs: numpy, the
model (:mod:`server.silero`, :mod:`server.vad`, :mod:`server.segmenter`) and the wire format,
not asyncio or the rest of the server, so the child's RSS is the model's and numpy's (asyncio
alone, with the ``ssl`` it loads, was 5 MB of it).

Wire format, both ways over a Unix socket pair: a 4-byte little-endian length (:data:`HEADER`),
then msgpack. Request: a list of ``[id, pcm16, state, cell]``; the child scores ``pcm16`` in
calls of ``cell`` samples (the last one zero-padded to whole windows). Answer: a list of ``[id,
probabilities (float32 bytes), state, error]``. Every request of a message, and of the messages
already waiting behind it, goes in one call of the model: the more streams per call, the less
each window costs (~105 µs a window for one live cell alone, ~33 for 10, ~24 for 50).
"""

from __future__ import annotations

import os
import select
import signal
import socket
import struct
from typing import Any

import msgpack
import numpy as np
import numpy.typing as npt
import threadpoolctl

from .segmenter import windows_of
from .silero import WINDOW, Silero
from .vad import VadState, pack_state, unpack_state

HEADER = struct.Struct("<I")
"""The length before each message, both ways."""
NICE = 19
"""Added to the server's niceness (the kernel caps the sum at 19): the lowest priority; at +10
the child still took a fifth of the machine from a saturated ingest."""
CALL_WINDOWS = 1024
"""Most windows scored in one call of the model (a request holds at most READ_BATCH frames, ~625
windows): the cost per window stops falling at ~200, while the call's arrays (~2 kB a window)
and the requests read ahead of it are the child's memory."""


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
        header = _recv_exactly(sock, HEADER.size)
        body = _recv_exactly(sock, HEADER.unpack(header)[0]) if header is not None else None
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
    # One BLAS thread: OpenBLAS's others were started before os.nice, at niceness 0, and on two
    # cores they spun beside the first (a third more CPU for the same work, measured).
    threadpoolctl.threadpool_limits(1)
    model = Silero()
    with sock:
        while (requests := _messages(sock)) is not None:
            payload = msgpack.packb(score(model, requests))
            try:
                sock.sendall(HEADER.pack(len(payload)) + payload)
            except OSError:  # the server is gone (killed): nobody waits for these answers
                return
