"""Collaborators down, slow and flapping: CORE, BUILDER, GUARD and S3, each as its own real
process behind a fault-injecting TCP proxy (tests/faultkit.py), and the documented behaviour:

* CORE: retried with backoff; an input it still cannot take becomes an ``ERROR_PENDING_REVIEW``
  block that keeps the text or the audio, and ``…/reprocess`` turns it into text once CORE is
  back (after the circuit breaker's cool-down); a flapping CORE is absorbed by the retries.
* BUILDER failing: finalize answers ``BUILD_FAILED``, GUARD is not called, the session is
  ``FINALIZE_FAILED``; finalize called again later succeeds.
* GUARD failing: finalize answers ``SERVICE_UNAVAILABLE`` and the session stays ``CLOSING``
  (part of the acta may be stored); again later, it succeeds, sealing the same objects.
* S3 failing: acked audio waits in Redis and becomes blocks once S3 is back; finalize answers
  ``SERVICE_UNAVAILABLE`` and succeeds later.
* The server's memory stays bounded during a long stretch of a misbehaving collaborator.

Timeouts and retries are lowered through the environment (``ASTRA_SERVICE_TIMEOUT`` 1 s, three
tries, short backoff, a 1 s breaker cool-down) so each fault costs seconds, not minutes.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import ServerProcess, require, wait_until
from .faultkit import (
    FakeCore,
    FaultProxy,
    Mode,
    auth,
    check_audio_blocks,
    fake_core,
    fault_proxy,
    has_proc,
    make_timeline,
    rss_bytes,
    session_blocks,
    session_events,
    start_session,
)
from .resumable import ResumableClient

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FAST_FAIL = {
    "ASTRA_SERVICE_TIMEOUT": "1",
    "ASTRA_RETRY_ATTEMPTS": "3",
    "ASTRA_RETRY_BASE_DELAY": "0.05",
    "ASTRA_RETRY_MAX_DELAY": "0.2",
    "ASTRA_CORE_BREAKER_COOLDOWN": "1",
}
SLOW = 5.0
"""A 'slow' collaborator answers after this many seconds: five times the server's timeout."""


def set_fault(proxy: FaultProxy, mode: Mode) -> None:
    proxy.set_mode(mode, delay=SLOW if mode == "delay" else 0.0, every=2)


@dataclass
class Rig:
    """A server whose CORE, BUILDER and GUARD are real processes, each behind a proxy."""

    server: ServerProcess
    core: FakeCore
    core_proxy: FaultProxy
    builder_proxy: FaultProxy
    guard_proxy: FaultProxy

    @property
    def token(self) -> str:
        return self.server.token()

    def api(self, session_id: str) -> str:
        return f"{self.server.url}/v1/orchestrator/session/{session_id}"

    def finalize(self, session_id: str) -> httpx.Response:
        return httpx.post(f"{self.api(session_id)}/finalize", headers=auth(self.token), timeout=120)

    def describe(self, session_id: str) -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(self.api(session_id), headers=auth(self.token), timeout=30).json()
        return body


@pytest.fixture
def rig(spawn: Any, tmp_path: Path) -> Iterator[Rig]:
    builder = spawn("builder", data_dir=tmp_path / "builder")
    guard = spawn("guard", data_dir=tmp_path / "guard")
    with (
        fake_core(tmp_path) as core,
        fault_proxy(core.url) as core_proxy,
        fault_proxy(builder.url) as builder_proxy,
        fault_proxy(guard.url) as guard_proxy,
    ):
        server = spawn(
            "serve",
            env={
                **FAST_FAIL,
                "ASTRA_CORE_URL": core_proxy.url,
                "ASTRA_BUILDER_URL": builder_proxy.url,
                "ASTRA_GUARD_URL": guard_proxy.url,
            },
        )
        yield Rig(server, core, core_proxy, builder_proxy, guard_proxy)


async def send_all(client: ResumableClient, frames: list[dict[str, Any]]) -> None:
    for frame in frames:
        await client.send(frame)
    await client.all_acked(120)


def stream_texts(rig: Rig, session_id: str, texts: list[str], client_id: str = "rec") -> ResumableClient:
    async def run() -> ResumableClient:
        client = ResumableClient([rig.server.ws_url], session_id, rig.token, client_id).start()
        try:
            await send_all(client, [{"type": "text", "text": t} for t in texts])
        finally:
            await client.stop()
        return client

    return asyncio.run(run())


def speech_frames(seed: int, pieces: int = 2) -> tuple[Any, list[dict[str, Any]]]:
    timeline = make_timeline(random.Random(seed), pieces)
    frames = [{"type": "audio", "format": "pcm16", "data": f} for f in timeline.frames()]
    return timeline, [*frames, {"type": "audio_end"}]


# -- CORE --------------------------------------------------------------------------------------------


@pytest.mark.timeout(300)
@pytest.mark.parametrize("mode", ["refuse", "delay", "blackhole"])
def test_core_down_gives_pending_review_blocks_that_reprocess_fixes(rig: Rig, mode: Mode) -> None:
    """CORE refusing, slower than the timeout, or hung: text and audio are still acked and each
    becomes an ERROR_PENDING_REVIEW block holding its text or audio reference, after the retries
    reached CORE; once CORE is back, reprocess turns every one into a classified block, and new
    input is classified again (the circuit breaker closed)."""
    session_id = start_session(rig.server.url, rig.token)
    set_fault(rig.core_proxy, mode)
    texts = [f"Tiene la palabra el concejal número {n}." for n in range(1, 4)]
    timeline, audio = speech_frames(seed=7, pieces=1)

    async def run() -> None:
        client = ResumableClient([rig.server.ws_url], session_id, rig.token, "rec").start()
        try:
            await send_all(client, [{"type": "text", "text": t} for t in texts] + audio)
            assert not client.errors
        finally:
            await client.stop()

    asyncio.run(run())
    wait_until(
        lambda: len(session_blocks(rig.server.url, rig.token, session_id)) == len(texts) + 1,
        60,
        "a block for every input",
    )
    blocks = session_blocks(rig.server.url, rig.token, session_id)
    assert [b["type"] for b in blocks] == ["ERROR_PENDING_REVIEW"] * len(blocks)
    assert [b["text"] for b in blocks[:3]] == texts  # the input is kept for the reviewer
    first = blocks[0]["error"]
    assert first["code"] == "SERVICE_UNAVAILABLE" and first["attempts"] == 3, first  # retried, then given up
    assert {b["error"]["code"] for b in blocks} <= {"SERVICE_UNAVAILABLE", "CORE_CIRCUIT_OPEN"}
    assert rig.core_proxy.stats.connections >= 3
    audio_block = blocks[-1]
    assert audio_block["audio_metadata"]["audio_ref"].endswith(".wav")

    rig.core_proxy.set_mode("pass")
    reprocess_pending(rig, session_id)
    fixed = session_blocks(rig.server.url, rig.token, session_id)
    assert [b["type"] for b in fixed] == ["TEMPLATE"] * len(fixed)
    assert [b["text"] for b in fixed[:3]] == texts
    check_audio_blocks(timeline, session_events(rig.server.url, rig.token, session_id), fixed)
    stream_texts(rig, session_id, ["Se levanta la sesión."], client_id="rec-2")
    assert session_blocks(rig.server.url, rig.token, session_id)[-1]["type"] == "TEMPLATE"


def reprocess_pending(rig: Rig, session_id: str) -> None:
    """Reprocess every block pending review, calling again while the breaker cools down."""
    for block in session_blocks(rig.server.url, rig.token, session_id):
        if block["type"] != "ERROR_PENDING_REVIEW":
            continue

        def reprocessed(block_id: str = block["block_id"]) -> bool:
            response = httpx.post(
                f"{rig.api(session_id)}/blocks/{block_id}/reprocess", headers=auth(rig.token), timeout=30
            )
            # 503 while the breaker's cool-down lasts (CORE_CIRCUIT_OPEN): call again.
            assert response.status_code in (200, 503), response.text
            return response.status_code == 200

        wait_until(reprocessed, 30, "reprocess to succeed")


@pytest.mark.timeout(300)
def test_flapping_core_is_absorbed_by_retries(rig: Rig) -> None:
    """CORE whose link resets every other request: the retries absorb it (each input is one
    block, classified; any that still failed is pending review with its input and reprocess
    fixes it), every text and every utterance once, in order."""
    session_id = start_session(rig.server.url, rig.token)
    rig.core_proxy.set_mode("flap", every=2)
    texts = [f"Tiene la palabra el concejal número {n}." for n in range(1, 9)]
    timeline, audio = speech_frames(seed=11, pieces=3)

    async def run() -> None:
        client = ResumableClient([rig.server.ws_url], session_id, rig.token, "rec").start()
        try:
            await send_all(client, [{"type": "text", "text": t} for t in texts] + audio)
        finally:
            await client.stop()

    asyncio.run(run())
    wait_until(
        lambda: len(session_blocks(rig.server.url, rig.token, session_id)) >= len(texts) + 3,
        60,
        "every block",
    )
    blocks = session_blocks(rig.server.url, rig.token, session_id)
    assert rig.core_proxy.stats.reset > 0  # the faults did happen
    kinds = [b["type"] for b in blocks]
    assert kinds.count("TEMPLATE") > len(blocks) // 2, kinds  # most absorbed by a retry
    assert [b["text"] for b in blocks if b["source"]["kind"] == "text"] == texts
    rig.core_proxy.set_mode("pass")
    reprocess_pending(rig, session_id)
    blocks = session_blocks(rig.server.url, rig.token, session_id)
    assert {b["type"] for b in blocks} == {"TEMPLATE"}
    check_audio_blocks(timeline, session_events(rig.server.url, rig.token, session_id), blocks)


# -- BUILDER and GUARD --------------------------------------------------------------------------------


def _session_with_blocks(rig: Rig) -> str:
    session_id = start_session(rig.server.url, rig.token)
    stream_texts(rig, session_id, [f"Tiene la palabra el concejal número {n}." for n in range(1, 6)])
    return session_id


def _finalize_recovers(rig: Rig, session_id: str, *, failed: int = 1) -> None:
    """Finalize called again succeeds, and the stored document is the one hashed; the session's
    log says it failed ``failed`` times before, and closed once."""
    response = rig.finalize(session_id)
    assert response.status_code == 200, response.text
    result = response.json()
    document = httpx.get(result["download_url"], timeout=30).content
    assert hashlib.sha256(document).hexdigest() == result["integrity_hash"]
    assert result["block_count"] == 5
    kinds = [e["kind"] for e in session_events(rig.server.url, rig.token, session_id)]
    assert kinds.count("session.finalize_failed") == failed and kinds.count("session.finalized") == 1
    assert kinds.count("session.closing") == failed + 1
    assert rig.describe(session_id)["status"] == "FINALIZED"


@pytest.mark.timeout(300)
@pytest.mark.parametrize("mode", ["refuse", "delay"])
def test_builder_failing_fails_finalize_without_guard_then_retry_succeeds(rig: Rig, mode: Mode) -> None:
    """BUILDER down or slower than the timeout: finalize answers 502 BUILD_FAILED after its
    retries, GUARD is never called, the session is FINALIZE_FAILED with the error logged; once
    BUILDER is back, finalize called again produces the sealed acta."""
    session_id = _session_with_blocks(rig)
    set_fault(rig.builder_proxy, mode)
    response = rig.finalize(session_id)
    assert response.status_code == 502, response.text
    assert response.json()["error"]["code"] == "BUILD_FAILED"
    assert rig.builder_proxy.stats.connections >= 3  # BUILDER was retried
    assert rig.guard_proxy.stats.connections == 0  # and GUARD never called
    info = rig.describe(session_id)
    assert info["status"] == "FINALIZE_FAILED" and info["finalize_error"]["code"] == "BUILD_FAILED"
    late = httpx.post(f"{rig.api(session_id)}/append", json={"text": "tarde"}, headers=auth(rig.token))
    assert late.status_code == 409  # closed to input while it stays failed

    rig.builder_proxy.set_mode("pass")
    _finalize_recovers(rig, session_id)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("mode", ["refuse", "delay"])
def test_guard_failing_fails_finalize_then_retry_succeeds(rig: Rig, mode: Mode) -> None:
    """GUARD down or slower than the timeout: finalize answers 503 SERVICE_UNAVAILABLE after
    its retries and the session stays CLOSING, taking no correction (GUARD may have stored part
    of the acta: a failed one would take corrections, and the next finalize would seal another
    acta beside it); GUARD back, finalize takes it over and succeeds, with no failure logged."""
    session_id = _session_with_blocks(rig)
    set_fault(rig.guard_proxy, mode)
    response = rig.finalize(session_id)
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert rig.guard_proxy.stats.connections >= 3
    assert rig.describe(session_id)["status"] == "CLOSING"
    rig.guard_proxy.set_mode("pass")
    _finalize_recovers(rig, session_id, failed=0)


@pytest.mark.timeout(300)
def test_flapping_builder_and_guard_are_absorbed_by_retries(rig: Rig) -> None:
    """BUILDER and GUARD resetting every other request: finalize succeeds at the first call."""
    session_id = _session_with_blocks(rig)
    rig.builder_proxy.set_mode("flap", every=2)
    rig.guard_proxy.set_mode("flap", every=2)
    response = rig.finalize(session_id)
    assert response.status_code == 200, response.text
    assert rig.builder_proxy.stats.reset > 0 and rig.guard_proxy.stats.reset > 0
    assert rig.describe(session_id)["status"] == "FINALIZED"


# -- S3 -----------------------------------------------------------------------------------------------


@pytest.fixture
def s3_rig(spawn: Any, tmp_path: Path, s3_env: dict[str, str]) -> Iterator[tuple[ServerProcess, FaultProxy]]:
    with fake_core(tmp_path) as core, fault_proxy(s3_env["ASTRA_S3_ENDPOINT_URL"]) as proxy:
        server = spawn(
            "serve",
            env={**FAST_FAIL, **s3_env, "ASTRA_S3_ENDPOINT_URL": proxy.url, "ASTRA_CORE_URL": core.url},
        )
        yield server, proxy


@pytest.mark.timeout(300)
@pytest.mark.parametrize("mode", ["refuse", "delay"])
def test_s3_failing_holds_audio_and_fails_finalize_then_recovers(
    s3_rig: tuple[ServerProcess, FaultProxy], mode: Mode
) -> None:
    """S3 down or slower than the timeout: audio frames are still acked (they are durable in
    Redis) and no utterance is lost, they become blocks once S3 is back; finalize while S3
    fails answers 503 SERVICE_UNAVAILABLE, and succeeds once S3 is back."""
    server, proxy = s3_rig
    token = server.token()
    session_id = start_session(server.url, token)
    timeline, audio = speech_frames(seed=5, pieces=3)
    set_fault(proxy, mode)

    async def run() -> None:
        client = ResumableClient([server.ws_url], session_id, token, "rec").start()
        try:
            await send_all(client, audio)
            assert not client.errors
        finally:
            await client.stop()

    asyncio.run(run())
    response = httpx.post(
        f"{server.url}/v1/orchestrator/session/{session_id}/finalize", headers=auth(token), timeout=120
    )
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert session_blocks(server.url, token, session_id) == []  # evidence first: no block without it

    proxy.set_mode("pass")
    response = httpx.post(
        f"{server.url}/v1/orchestrator/session/{session_id}/finalize", headers=auth(token), timeout=120
    )
    assert response.status_code == 200, response.text
    blocks = session_blocks(server.url, token, session_id)
    check_audio_blocks(timeline, session_events(server.url, token, session_id), blocks)
    assert response.json()["block_count"] == len(blocks) >= 3


# -- memory -------------------------------------------------------------------------------------------


@pytest.mark.timeout(400)
def test_memory_stays_bounded_while_core_misbehaves(rig: Rig) -> None:
    """A long stretch of CORE flapping, then hung, under a steady stream of text and audio from
    three clients: the server's resident memory at the end of the stretch stays within a
    generous bound of what it was after a warm-up (no per-failure leak)."""
    require(has_proc(), "/proc (Linux) to read a process's memory")
    assert rig.server.process is not None
    pid = rig.server.process.pid
    sessions = [start_session(rig.server.url, rig.token) for _ in range(3)]
    _, audio = speech_frames(seed=3, pieces=4)
    audio = audio[:-1]  # no audio_end: the stream goes on round after round

    async def round_of_input(clients: list[ResumableClient], n: int) -> None:
        async def one(client: ResumableClient) -> None:
            for k in range(4):
                await client.send({"type": "text", "text": f"Tiene la palabra el concejal {n}-{k}."})
            for frame in audio:
                await client.send(frame)
            await client.all_acked(120)

        await asyncio.gather(*(one(c) for c in clients))

    async def run() -> list[int]:
        clients = [
            ResumableClient([rig.server.ws_url], sid, rig.token, f"rec-{i}").start()
            for i, sid in enumerate(sessions)
        ]
        samples: list[int] = []
        try:
            for n in range(3):  # warm-up, CORE healthy
                await round_of_input(clients, n)
            samples.append(rss_bytes(pid))
            for mode in ("flap", "delay", "refuse"):
                set_fault(rig.core_proxy, mode)
                for n in range(4):
                    await round_of_input(clients, 100 + n)
                    samples.append(rss_bytes(pid))
        finally:
            for client in clients:
                await client.stop()
        return samples

    samples = asyncio.run(run())
    print("server RSS (MiB) after warm-up, then per faulty round:", [s // 2**20 for s in samples])
    warm, end = samples[0], samples[-1]
    assert end < warm + 150 * 2**20, [s // 2**20 for s in samples]
