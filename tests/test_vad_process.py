"""The VAD process: real Silero in a child process, awaited by the server's audio owners."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import psutil
import pytest

from server.segmenter import CELL
from server.vad import SileroVad
from server.vad_process import VadError, VadProcess

from .conftest import ROOT, wait_until

AUDIO = Path(__file__).resolve().parent / "fixtures" / "audio"

pytestmark = pytest.mark.anyio


def speech(seconds: float) -> bytes:
    with wave.open(str(AUDIO / "sesion.wav"), "rb") as w:
        return w.readframes(int(seconds * w.getframerate()))


def reference(pcm16: bytes) -> npt.NDArray[np.float32]:
    """The same audio scored in this process, cell by cell with the state carried."""
    vad = SileroVad()
    audio = np.frombuffer(pcm16, dtype="<i2").astype(np.float32) / np.float32(32768.0)
    state = None
    out = []
    for i in range(0, audio.size // CELL * CELL, CELL):
        probs, state = vad(audio[i : i + CELL], state)
        out.append(probs)
    return np.concatenate(out)


async def stream(vad: VadProcess, pcm16: bytes, cells_per_call: int = 1) -> npt.NDArray[np.float32]:
    """Score a stream the way an audio owner does: a few cells per request, the state carried."""
    state: bytes | None = None
    out = []
    step = CELL * 2 * cells_per_call
    whole = len(pcm16) // (CELL * 2) * CELL * 2
    for i in range(0, whole, step):
        probs, state = await vad.score(pcm16[i : min(i + step, whole)], state, CELL)
        out.append(probs)
    return np.concatenate(out)


async def until(condition: object, what: str) -> None:
    for _ in range(2000):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


async def test_scores_equal_silero_in_this_process() -> None:
    """Many streams at once (their requests share messages) each get their own stream's scores,
    the very ones Silero gives in-process; the child is one process, started on first use."""
    pcm = speech(12.0)
    expected = reference(pcm)
    assert (expected > 0.5).sum() > 50  # speech, not only silence
    vad = VadProcess()
    try:
        assert vad.pid is None
        results = await asyncio.gather(*(stream(vad, pcm, n) for n in (1, 1, 2, 3, 7)))
        for got in results:
            assert got.shape == expected.shape
            assert np.allclose(got, expected, atol=1e-6)
        assert vad.pid is not None and vad.restarts == 0
    finally:
        await vad.aclose()


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc")
async def test_the_child_loads_the_model_and_not_the_recognizer() -> None:
    """The child computes Silero with numpy from faster-whisper's file without importing
    faster-whisper (CTranslate2, PyAV and tokenizers: ~29 MB more RSS) or onnxruntime (~20 MB)."""
    vad = VadProcess()
    try:
        await vad.score(speech(1.0), None, CELL)
        assert vad.pid is not None
        maps = await asyncio.to_thread(Path(f"/proc/{vad.pid}/maps").read_text)
        assert "openblas" in maps
        assert not [lib for lib in ("onnxruntime", "ctranslate2", "/av/", "tokenizers") if lib in maps]
    finally:
        await vad.aclose()


def test_the_childs_module_leaves_asyncio_and_the_server_out() -> None:
    """What the child imports of the server is :mod:`server.vad_child` (numpy, the model, the
    wire format): asyncio, and the ssl it loads, were 5 MB of the child's RSS."""
    check = (
        "import sys, server.vad_child; "
        "print([m for m in ('asyncio', 'ssl', 'server.vad_process', 'server.app') if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def _thread_cpu_ticks(pid: int) -> dict[int, int]:
    """CPU ticks (user + system) of each thread of a process."""
    ticks = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        ticks[int(task.name)] = int(fields[11]) + int(fields[12])
    return ticks


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="OpenBLAS starts one thread on one core")
async def test_the_child_scores_on_one_thread() -> None:
    """OpenBLAS starts a thread per core at import, before the child lowers its priority: the
    child keeps its products to its own (niced) thread, so only that thread uses CPU."""
    vad = VadProcess()
    try:
        pcm = speech(12.0)
        await stream(vad, pcm, 25)  # OpenBLAS's idle threads may spin a moment after start
        assert vad.pid is not None
        before = await asyncio.to_thread(_thread_cpu_ticks, vad.pid)
        # Score until the main thread has used 0.5 s of CPU (a fixed amount of work was 19 ticks
        # on a fast machine, too few to tell a tenth apart), bounded at 30 rounds.
        used: dict[int, int] = {}
        for _ in range(30):
            await asyncio.gather(*(stream(vad, pcm, 25) for _ in range(8)))  # calls of ~1,000 windows
            after = await asyncio.to_thread(_thread_cpu_ticks, vad.pid)
            used = {tid: after[tid] - before.get(tid, 0) for tid in after}
            if used[vad.pid] >= 50:
                break
        assert used[vad.pid] >= 50, used  # the work was done, on the main thread...
        # ...and not shared with another (two BLAS threads give the second ~half the main's).
        assert sum(used.values()) - used[vad.pid] <= used[vad.pid] // 10, used
    finally:
        await vad.aclose()


async def test_the_child_runs_at_the_lowest_priority() -> None:
    """Scoring yields to acks: the child runs at niceness 19 (at +10 it still took a fifth of
    the machine from a saturated ingest)."""
    vad = VadProcess()
    try:
        await vad.score(speech(1.0), None, CELL)
        assert vad.pid is not None
        assert os.getpriority(os.PRIO_PROCESS, vad.pid) == 19
        assert os.sched_getscheduler(vad.pid) == os.SCHED_OTHER  # not SCHED_IDLE: never starved
    finally:
        await vad.aclose()


async def test_a_killed_child_is_replaced_and_its_requests_sent_again() -> None:
    """Requests the child had when it died are scored by its successor, with the same results."""
    pcm = speech(6.0)
    expected = reference(pcm)
    vad = VadProcess()
    try:
        await vad.score(pcm[: CELL * 2], None, CELL)  # started
        first = vad.pid
        assert first is not None
        os.kill(first, signal.SIGSTOP)  # holds the requests below unanswered
        pending = asyncio.gather(*(stream(vad, pcm, 2) for _ in range(3)))
        await until(lambda: vad._child is not None and vad._child.sent, "requests sent to the child")
        os.kill(first, signal.SIGKILL)
        results = await asyncio.wait_for(pending, 60)
        for got in results:
            assert np.allclose(got, expected, atol=1e-6)
        assert vad.restarts == 1 and vad.pid not in (None, first)
    finally:
        await vad.aclose()


async def test_a_hung_child_is_killed_and_replaced_and_its_requests_sent_again() -> None:
    """A child that stops answering while alive (SIGSTOPped here; stuck in a native call or
    swapped out in production) is killed once it has answered nothing for ``hung_after`` seconds,
    and a new child scores its requests, with the same results: before, every owner of the
    instance waited on it for ever."""
    pcm = speech(3.0)
    expected = reference(pcm)
    vad = VadProcess(hung_after=1.0)
    try:
        await vad.score(pcm[: CELL * 2], None, CELL)  # started
        first = vad.pid
        assert first is not None
        os.kill(first, signal.SIGSTOP)
        results = await asyncio.wait_for(asyncio.gather(*(stream(vad, pcm, 2) for _ in range(2))), 60)
        for got in results:
            assert np.allclose(got, expected, atol=1e-6)
        assert vad.restarts == 1 and vad.pid not in (None, first)
        assert not psutil.pid_exists(first) or psutil.Process(first).status() == psutil.STATUS_ZOMBIE
    finally:
        await vad.aclose()


async def test_a_child_slow_on_a_long_batch_is_not_taken_for_hung(monkeypatch: pytest.MonkeyPatch) -> None:
    """A child scoring a long batch answers nothing for longer than ``hung_after`` but uses CPU
    all along (on a busy machine, at the lowest priority, a backlog's batch can take that long):
    it is left to finish, not killed and its work redone (three kills failed every request)."""
    import server.vad_process as vad_process

    monkeypatch.setattr(vad_process, "SLOW_LIMIT", 1_000)  # only its CPU time tells here
    pcm = speech(40.0) * 30  # twenty minutes of speech: about 2 s of scoring here
    whole = len(pcm) // (CELL * 2) * CELL * 2
    vad = VadProcess(hung_after=0.5)
    try:
        await vad.score(pcm[: CELL * 2], None, CELL)  # started
        probs, _ = await asyncio.wait_for(vad.score(pcm[:whole], None, CELL), 120)
        assert len(probs) >= whole // (CELL * 2)  # every window of it scored
        assert vad.restarts == 0
    finally:
        await vad.aclose()


async def test_a_bad_request_fails_alone() -> None:
    pcm = speech(2.0)[: CELL * 2 * 4]
    vad = VadProcess()
    try:
        good = asyncio.ensure_future(vad.score(pcm, None, CELL))
        with pytest.raises(VadError, match="state"):
            await vad.score(pcm, b"\0" * 12, CELL)  # not a Silero state
        probs, state = await good
        assert probs.size == 16 and state is not None and len(state) == (128 + 128 + 64) * 4
    finally:
        await vad.aclose()


def test_a_message_larger_than_one_call_is_scored_in_several() -> None:
    """Requests holding more than CALL_WINDOWS windows in all are scored in several calls of the
    model, each stream as if alone; a request that cannot be read is answered with its error."""
    from server.silero import Silero
    from server.vad_child import CALL_WINDOWS, score

    pcm = speech(12.0)[: 93 * CELL * 2]
    expected = reference(pcm)
    requests = [[i, pcm, None, CELL] for i in range(4)]  # 4 x 372 windows
    requests.insert(2, [9, pcm, b"\0" * 12, CELL])  # not a Silero state
    assert 4 * len(expected) > CALL_WINDOWS
    answers = score(Silero(), requests)
    assert [a[0] for a in answers] == [0, 1, 9, 2, 3]
    assert answers[2][1] is None and "VAD state" in answers[2][3]
    for rid, probs, state, error in answers[:2] + answers[3:]:
        assert error is None and state is not None, rid
        assert np.allclose(np.frombuffer(probs, dtype=np.float32), expected, atol=1e-6)


def test_window_count_is_the_number_of_windows_scored() -> None:
    from server.vad_child import window_count, windows

    for cell in (CELL, 1000):
        for samples in (0, 1, 511, 512, 999, 1000, 1001, 2047, 2048, 2049, 5000):
            pcm = bytes(2 * samples)
            assert window_count(pcm, cell) == windows(pcm, cell).shape[0], (cell, samples)
    assert window_count(None, CELL) == window_count(b"\0\0", 0) == 0


def test_the_child_reads_the_messages_waiting_behind_one_together() -> None:
    """Messages already in the socket are scored with the first one (one call of the model),
    up to about CALL_WINDOWS windows; the server's end closing ends the child's loop."""
    import socket as socket_module
    import struct
    import threading

    import msgpack

    from server.vad_child import CALL_WINDOWS, _messages

    ours, theirs = socket_module.socketpair()
    with ours, theirs:

        def send(requests: list[list[object]]) -> None:
            payload = msgpack.packb(requests)
            ours.sendall(struct.pack("<I", len(payload)) + payload)

        cell_bytes = CELL * 2
        for rid in range(3):
            send([[rid, bytes(cell_bytes), None, CELL]])
        assert [r[0] for r in _messages(theirs) or []] == [0, 1, 2]
        big = bytes(CALL_WINDOWS * 512 * 2)  # one message as large as a call: read alone
        sender = threading.Thread(
            target=lambda: [send([[3, big, None, CELL]]), send([[4, bytes(cell_bytes), None, CELL]])]
        )
        sender.start()  # more than the socket holds: written while the child reads
        assert [r[0] for r in _messages(theirs) or []] == [3]
        sender.join(timeout=10)
        assert [r[0] for r in _messages(theirs) or []] == [4]
        ours.shutdown(socket_module.SHUT_WR)
        assert _messages(theirs) is None


async def test_close_stops_the_child() -> None:
    vad = VadProcess()
    await vad.score(speech(1.0)[: CELL * 2], None, CELL)
    pid = vad.pid
    assert pid is not None and psutil.pid_exists(pid)
    await vad.aclose()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    with pytest.raises(VadError):
        await vad.score(speech(1.0)[: CELL * 2], None, CELL)


async def test_an_idle_child_is_stopped_and_the_next_request_starts_another() -> None:
    """A child with nothing to score for ``idle_stop`` leaves (its memory given back) without
    counting as a death; the next request starts a new one and scores as before."""
    pcm = speech(2.0)[: CELL * 2 * 4]
    expected = reference(pcm)
    vad = VadProcess(idle_stop=0.3)
    try:
        assert np.allclose((await vad.score(pcm, None, CELL))[0], expected, atol=1e-6)
        first = vad.pid
        assert first is not None
        await until(lambda: vad.pid is None, "the idle child to be stopped")
        await until(lambda: not psutil.pid_exists(first), "the idle child to leave")
        assert vad.restarts == 0
        assert np.allclose((await vad.score(pcm, None, CELL))[0], expected, atol=1e-6)
        assert vad.pid not in (None, first)
    finally:
        await vad.aclose()


async def test_close_waits_for_a_child_being_stopped_as_idle() -> None:
    """Closing while an idle child is being stopped waits for it to leave, so the server's
    shutdown leaves no VAD process behind."""
    vad = VadProcess(idle_stop=0.2)
    await vad.score(speech(1.0)[: CELL * 2], None, CELL)
    first = vad.pid
    assert first is not None
    await until(lambda: vad.pid is None, "the idle child to be retired")
    await vad.aclose()
    assert not psutil.pid_exists(first) or psutil.Process(first).status() == psutil.STATUS_ZOMBIE


async def test_a_busy_child_is_not_stopped_as_idle() -> None:
    """Requests keep the child: it is stopped only after a whole idle period without any."""
    pcm = speech(1.0)[: CELL * 2]
    vad = VadProcess(idle_stop=2.0)
    try:
        await vad.score(pcm, None, CELL)
        first = vad.pid
        for _ in range(50):  # 5 s of requests every 0.1 s: two and a half idle periods long
            await vad.score(pcm, None, CELL)
            await asyncio.sleep(0.1)
            assert vad.pid == first
    finally:
        await vad.aclose()


ORPHAN_SCRIPT = """
import asyncio
import contextlib
from server.vad_process import VadProcess
async def main():
    vad = VadProcess()
    await vad.score(bytes(4096), None, 2048)
    print(vad.pid, flush=True)
    await asyncio.Event().wait()  # until killed
asyncio.run(main())
"""


def test_the_child_leaves_with_a_killed_server() -> None:
    """A server killed outright (SIGKILL) takes its VAD child with it: the child sees the end
    of its socket."""
    server = subprocess.Popen(
        [sys.executable, "-c", ORPHAN_SCRIPT], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        child = int(server.stdout.readline())
        assert psutil.pid_exists(child)
    finally:
        server.kill()
        server.wait(10)
    wait_until(
        lambda: not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE,
        30,
        "the VAD child to exit",
    )


async def test_the_child_ignores_ctrl_c_from_its_first_instruction() -> None:
    """Ctrl-C reaches the whole process group. A child still starting Python and importing
    onnxruntime (a second or more) took it as a KeyboardInterrupt, printed its traceback and died
    (and the next one was started). It now starts with SIGINT ignored: interrupted again and again
    from its first moment, it scores the request, and the server's handler is back."""
    pcm = speech(1.0)[: CELL * 2]
    handler = signal.getsignal(signal.SIGINT)
    ours = psutil.Process()
    before = {child.pid for child in ours.children()}
    interrupted: set[int] = set()

    async def interrupt_every_new_child() -> None:
        while True:
            for child in ours.children():
                if child.pid not in before:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(child.pid, signal.SIGINT)
                    interrupted.add(child.pid)
            await asyncio.sleep(0.002)

    vad = VadProcess()
    interrupter = asyncio.create_task(interrupt_every_new_child())
    try:
        probs, _ = await asyncio.wait_for(vad.score(pcm, None, CELL), 60)
    finally:
        interrupter.cancel()
        await vad.aclose()
    assert np.allclose(probs, reference(pcm), atol=1e-6)
    assert interrupted and vad.restarts == 0
    assert signal.getsignal(signal.SIGINT) is handler
