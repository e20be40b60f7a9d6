"""The audio pipeline in process, with CORE made slow, out of order and unreliable."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import functools
import io
import json
import logging
import random
import re
import threading
import time
import wave
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import httpx
import msgpack
import numpy as np
import pytest
import redis.exceptions

from server.app import create_app
from server.audio_pipeline import (
    FIRST_READ,
    HANDOFF_BYTES,
    READ_BATCH,
    READ_BYTES,
    SessionAudio,
    next_read_count,
    take_contiguous,
    wav_bytes,
)
from server.auth import Principal
from server.buffer import LeaseLost, pack, unpack
from server.errors import ServiceUnavailable
from server.keys import SessionKeys
from server.segmenter import SAMPLE_RATE, Utterance
from server.services.core import (
    AudioRequest,
    CircuitBreaker,
    CircuitOpen,
    CoreResult,
    EmbeddedCore,
    HttpCore,
    TextRequest,
)
from server.settings import Retry, Settings

from .conftest import ROOT, TENANT, SettledTestClient, wait_until, with_settings, ws_until
from .faultkit import make_timeline

pytestmark = pytest.mark.cluster

AUDIO = ROOT / "tests" / "fixtures" / "audio"
SCRIPT = json.loads((AUDIO / "sesion.json").read_text(encoding="utf-8"))


class UnreliableCore:
    """Wraps the real CORE: the first call for each utterance fails transiently (half the calls,
    whatever the order the owner sends them in), and the earliest utterances answer last (so
    answers come back out of audio order)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seen: set[bytes] = set()
        self.answered: list[float] = []

    async def process_text(self, req: TextRequest) -> CoreResult:
        result: CoreResult = await self.inner.process_text(req)
        return result

    async def process_audio(self, req: AudioRequest) -> CoreResult:
        if req.pcm16 not in self.seen:  # a global "every other call" could fail one utterance
            self.seen.add(req.pcm16)  # on all its tries when several are in flight
            raise ServiceUnavailable("flaky CORE", service="core")
        seconds = len(req.pcm16) / 32_000
        await asyncio.sleep(max(0.0, 6.0 - seconds) * 0.3)  # shorter utterances wait longer
        result: CoreResult = await self.inner.process_audio(req)
        self.answered.append(seconds)
        return result


@pytest.mark.timeout(300)
def test_flaky_slow_core_still_gives_every_block_in_audio_order(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """Half the CORE calls fail and answers arrive out of order: every utterance still becomes
    one transcribed block, and blocks are ordered by audio time, not by answer time."""
    fast_retry = Retry(attempts=4, base_delay=0.01, max_delay=0.05, timeout=60)
    token = make_token()
    auth = {"authorization": f"Bearer {token}"}
    with SettledTestClient(create_app(with_settings(settings, retry=fast_retry))) as client:
        orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        flaky = UnreliableCore(orch.core)
        orch.core = flaky
        session_id = client.post(
            "/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=auth
        ).json()["session_id"]
        with wave.open(str(AUDIO / "sesion.wav")) as w:
            pcm = w.readframes(w.getnframes())
        with client.websocket_connect(f"/v1/orchestrator/session/{session_id}/stream") as ws:
            ws.send_bytes(msgpack.packb({"type": "hello", "client_id": "mic", "token": token}))
            seq = 0
            for i in range(0, len(pcm), 3200):
                seq += 1
                ws.send_bytes(
                    msgpack.packb({"type": "audio", "seq": seq, "format": "pcm16", "data": pcm[i : i + 3200]})
                )
            ws.send_bytes(msgpack.packb({"type": "audio_end", "seq": seq + 1}))
            added: list[dict[str, Any]] = []
            deadline = time.monotonic() + 240
            while len(added) < len(SCRIPT) and time.monotonic() < deadline:
                message = msgpack.unpackb(ws.receive_bytes())
                if message["type"] == "event" and message["kind"] == "block.added":
                    added.append(message["data"]["block"])
        blocks = client.get(f"/v1/orchestrator/session/{session_id}/blocks", headers=auth).json()["blocks"]
    assert len(added) == len(SCRIPT) == len(blocks) == len(flaky.seen)
    heard = [round(b["audio_metadata"]["time_end"] - b["audio_metadata"]["time_start"], 2) for b in blocks]
    assert [round(s, 2) for s in flaky.answered] != heard, "the test meant CORE to answer out of order"
    # stored as each is classified: in audio order, each after the one before it
    assert [b["block_id"] for b in added] == [b["block_id"] for b in blocks]
    starts = [b["audio_metadata"]["time_start"] for b in blocks]
    assert starts == sorted(starts)
    assert [b["position"] for b in blocks] == sorted(b["position"] for b in blocks)
    for block, item in zip(blocks, SCRIPT, strict=True):
        assert block["type"] == "TEMPLATE"
        assert all(word in block["text"].lower() for word in item["keywords"]), block["text"]


class InstantCore:
    """CORE answering at once with the utterance's length (speech recognition is not under test);
    ``calls`` counts what it was asked."""

    def __init__(self) -> None:
        self.calls = 0
        self.texts = 0

    async def process_audio(self, req: AudioRequest) -> CoreResult:
        self.calls += 1
        return CoreResult(f"{len(req.pcm16)} bytes", "DEBATE", "Debate", "TPL_DEBATE", {}, 1.0)

    async def process_text(self, req: TextRequest) -> CoreResult:
        """Words classified again in the section of the utterance before them."""
        self.texts += 1
        return CoreResult(req.text, "DEBATE", "Debate", "TPL_DEBATE", {}, 1.0)


class QueuedCore(InstantCore):
    """CORE answering one utterance at a time, each ``seconds`` after the one before (a CORE
    with a queue, or a machine short of CPU); ``None``: never answering."""

    def __init__(self, seconds: float | None) -> None:
        super().__init__()
        self.seconds = seconds
        self.lock = asyncio.Lock()

    async def process_audio(self, req: AudioRequest) -> CoreResult:
        async with self.lock:
            if self.seconds is None:
                await asyncio.Event().wait()
            await asyncio.sleep(self.seconds or 0.0)
            return await super().process_audio(req)


def _record_and_finalize(client: SettledTestClient, token: str, timeline: Any) -> tuple[str, httpx.Response]:
    """Start a session, stream the timeline, wait for every ack and finalize at once: the
    session and finalize's response."""
    session_id = _record(client, token, timeline)
    return session_id, _finalize(client, token, session_id)


def _finalize(client: SettledTestClient, token: str, session_id: str) -> httpx.Response:
    auth = {"authorization": f"Bearer {token}"}
    return client.post(f"/v1/orchestrator/session/{session_id}/finalize", headers=auth)


def _start_session(client: SettledTestClient, token: str) -> str:
    auth = {"authorization": f"Bearer {token}"}
    session_id: str = client.post(
        "/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=auth
    ).json()["session_id"]
    return session_id


def _record(client: SettledTestClient, token: str, timeline: Any) -> str:
    """Start a session, stream the timeline and wait for every ack: the session."""
    session_id = _start_session(client, token)
    with client.websocket_connect(f"/v1/orchestrator/session/{session_id}/stream") as ws:
        ws.send_bytes(msgpack.packb({"type": "hello", "client_id": "mic", "token": token}))
        frames = list(timeline.frames())
        for seq, frame in enumerate(frames, 1):
            ws.send_bytes(msgpack.packb({"type": "audio", "seq": seq, "format": "pcm16", "data": frame}))
        ws.send_bytes(msgpack.packb({"type": "audio_end", "seq": len(frames) + 1}))
        acked = 0
        while acked < len(frames) + 1:
            message = msgpack.unpackb(ws.receive_bytes())
            assert message["type"] != "error", message
            acked += message["type"] == "ack"
    return session_id


def _blocks(client: SettledTestClient, token: str, session_id: str) -> list[dict[str, Any]]:
    auth = {"authorization": f"Bearer {token}"}
    blocks: list[dict[str, Any]] = client.get(
        f"/v1/orchestrator/session/{session_id}/blocks", headers=auth
    ).json()["blocks"]
    return blocks


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("stored_audio", "code"), [("kept", None), ("gone", "AUDIO_MISSING"), ("damaged", "AUDIO_UNREADABLE")]
)
def test_finalize_waits_for_an_utterance_whose_transcription_failed(
    settings: Settings, make_token: Callable[..., str], stored_audio: str, code: str | None
) -> None:
    """A transcription that fails outright (not a CORE answer: an error before CORE) leaves its
    utterance pending; finalize must not seal without it, but go round again: the stored audio is
    transcribed, or, if the stored WAV is gone or damaged, the utterance becomes a block pending
    review (AUDIO_MISSING, AUDIO_UNREADABLE) rather than holding finalize forever. Every utterance
    has its block. Such a block had no CORE call: astra_core_seconds counts only CORE's calls."""
    token = make_token()
    auth = {"authorization": f"Bearer {token}"}
    timeline = make_timeline(random.Random(11), pieces=3)
    core = InstantCore()
    with SettledTestClient(create_app(settings)) as client:
        orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        orch.core = core
        transcribe = orch.audio.transcribe
        failed: list[str] = []

        async def fails_once(
            session_id: str, record: dict[str, Any], pcm: bytes | None, **context: Any
        ) -> str | None:
            if not failed:
                failed.append(record["utterance_id"])
                wav = orch.store.root / record["audio_ref"]
                if stored_audio == "gone":
                    wav.unlink()
                elif stored_audio == "damaged":
                    wav.write_bytes(wav.read_bytes()[:30])  # a header cut short
                raise RuntimeError("the utterance's audio could not be read")
            return await transcribe(session_id, record, pcm, **context)

        orch.audio.transcribe = fails_once
        session_id, response = _record_and_finalize(client, token, timeline)
        assert response.status_code == 200, response.text
        blocks = _blocks(client, token, session_id)
        events = client.get(
            f"/v1/orchestrator/session/{session_id}/events", params={"limit": 1000}, headers=auth
        ).json()["events"]
        timed = orch.metrics.registry.get_sample_value("astra_core_seconds_count")
    detected = [e["data"]["utterance_id"] for e in events if e["kind"] == "utterance.detected"]
    assert len(detected) == 3 and failed and failed[0] in detected
    assert core.calls == (3 if code is None else 2)
    assert timed == core.calls + core.texts  # each CORE call timed, a second classification too
    assert sorted(b["source"]["utterance_id"] for b in blocks) == sorted(detected)
    assert response.json()["block_count"] == 3
    pending = [b for b in blocks if b["type"] == "ERROR_PENDING_REVIEW"]
    if code is None:
        assert pending == []
    else:
        assert [(b["source"]["utterance_id"], b["error"]["code"]) for b in pending] == [(failed[0], code)]
        assert pending[0]["error"]["attempts"] == 0


@pytest.mark.timeout(120)
def test_a_transcription_that_fails_for_a_moment_is_tried_again_by_the_live_owner(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """Redis away for a moment as an utterance's block is stored: the owner tries again (from the
    stored audio) while the session records on, so every utterance gets its block live, in the
    audio's order, with no finalize or new owner to pick it up (before, it stayed without a block
    until then: hours, in a live session)."""
    token = make_token()
    timeline = make_timeline(random.Random(11), pieces=3)
    with SettledTestClient(create_app(settings)) as client:
        orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        orch.core = InstantCore()
        commit_block = orch.buffer.commit_block
        failed: list[str] = []

        async def fails_once(*args: Any, **kwargs: Any) -> Any:
            if not failed and kwargs.get("utterance_id"):
                failed.append(kwargs["utterance_id"])
                raise redis.exceptions.ConnectionError("Connection reset by peer")
            return await commit_block(*args, **kwargs)

        orch.buffer.commit_block = fails_once
        session_id = _record(client, token, timeline)
        wait_until(lambda: len(_blocks(client, token, session_id)) == 3, 60, "a block for every utterance")
        blocks = _blocks(client, token, session_id)
    assert failed and failed[0] in [b["source"]["utterance_id"] for b in blocks]
    starts = [b["audio_metadata"]["time_start"] for b in blocks]
    assert starts == sorted(starts) and all(b["type"] != "ERROR_PENDING_REVIEW" for b in blocks)


class CoreNamingOtherAudio(InstantCore):
    """A CORE whose answers describe the audio with keys of the orchestrator's own: where it is
    stored (another tenant's object), its id and when it was said."""

    async def process_audio(self, req: AudioRequest) -> CoreResult:
        result = await super().process_audio(req)
        foreign = {
            "audio_ref": "tenants/OTHER/sessions/ses_other/acta.docx",
            "utterance_id": "utt_000000000000",
            "time_start": 0.0,
            "language": "es",
        }
        return dataclasses.replace(result, audio_metadata=foreign)


@pytest.mark.timeout(120)
def test_where_a_blocks_audio_is_stored_is_the_orchestrators_whatever_core_answers(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """A block's audio_ref is what a signed link to its audio is made for: CORE's answer may add
    to what a block says of its audio (the language) but not change where it is stored, what
    utterance it is or when it was said. A block naming a key outside the session's audio (one
    stored so by an older version) has no link."""
    token = make_token()
    auth = {"authorization": f"Bearer {token}"}
    timeline = make_timeline(random.Random(11), pieces=3)
    with SettledTestClient(create_app(settings)) as client:
        orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        orch.core = CoreNamingOtherAudio()
        session_id = _record(client, token, timeline)
        wait_until(lambda: len(_blocks(client, token, session_id)) == 3, 60, "a block for every utterance")
        blocks = _blocks(client, token, session_id)
        folder = f"tenants/{TENANT}/sessions/{session_id}/audio/"
        for block in blocks:
            audio = block["audio_metadata"]
            uid = block["source"]["utterance_id"]
            assert (
                re.fullmatch(rf"{folder}{uid}-[0-9]{{12}}\.wav", audio["audio_ref"])
                and audio["utterance_id"] == uid
            )
            assert audio["time_start"] > 0 and audio["language"] == "es"
            link = client.get(
                f"/v1/orchestrator/session/{session_id}/blocks/{block['block_id']}/audio", headers=auth
            )
            assert link.status_code == 200 and link.json()["audio_ref"] == audio["audio_ref"]

        # a block as an older version stored it, naming another tenant's object
        block_id, key = blocks[0]["block_id"], SessionKeys(session_id).blocks

        async def store_as_an_older_version() -> None:
            stored = unpack(await orch.buffer._r.hget(key, block_id))
            stored["audio_metadata"]["audio_ref"] = "tenants/OTHER/sessions/ses_other/acta.docx"
            await orch.buffer._r.hset(key, block_id, pack(stored))

        client.portal.call(store_as_an_older_version)  # type: ignore[union-attr]
        link = client.get(f"/v1/orchestrator/session/{session_id}/blocks/{block_id}/audio", headers=auth)
        assert link.status_code == 404 and link.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.timeout(120)
def test_finalize_waits_for_audio_that_moves_on_slowly_past_the_stall_limit(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """Five utterances wait for a CORE that answers one a second, and finalize stops waiting
    after 2.5 s in which the audio did not move on: it takes ~5 s in all, each step well
    within the limit, so finalize seals all five (it used to answer 503 after 2.5 s)."""
    timeline = make_timeline(random.Random(5), pieces=5)
    core = QueuedCore(1.0)
    with SettledTestClient(create_app(settings)) as client:
        orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        orch.core = core
        orch.ingest_ttl = 2.5
        token = make_token()
        session_id, response = _record_and_finalize(client, token, timeline)
        blocks = _blocks(client, token, session_id)
    assert response.status_code == 200, response.text
    assert response.json()["block_count"] == len(blocks) == core.calls == 5


@pytest.mark.timeout(120)
def test_finalize_gives_up_on_audio_that_does_not_move_on(
    settings: Settings, make_token: Callable[..., str], caplog: pytest.LogCaptureFixture
) -> None:
    """CORE never answers: finalize answers 503 SERVICE_UNAVAILABLE ("call again") once the
    audio has not moved on for the stall limit, instead of holding the request forever; the log
    says who holds the audio and where its owner waits."""
    caplog.set_level(logging.WARNING, logger="astra.audio")
    core = QueuedCore(None)
    with SettledTestClient(create_app(settings)) as client:
        orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        orch.core = core
        orch.ingest_ttl = 1.5
        token = make_token()
        session_id, response = _record_and_finalize(client, token, make_timeline(random.Random(5), pieces=2))
        blocks = _blocks(client, token, session_id)
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "SERVICE_UNAVAILABLE" and "has not moved on for 2 s" in error["message"]
    assert blocks == []
    [report] = [r.getMessage() for r in caplog.records if "stalled at" in r.getMessage()]
    assert f"audio of {session_id} stalled" in report and "lease holder" in report
    assert "transcriptions 2" in report and "Stack for" in report and "_finish_transcriptions" in report


@pytest.mark.timeout(60)
def test_a_stale_owners_late_evidence_does_not_replace_its_successors(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """An owner that lost its lease as it stored an utterance's WAV, and its successor, cut the
    same start differently; the stale owner's write lands last (a slow object store). Both wrote
    one object, named by the start: the successor's recorded evidence became the stale owner's
    audio, which does not match its block's times. Named by the cut, each is its own, and the
    utterance's audio is the one its record names."""
    with SettledTestClient(create_app(settings)) as client:
        orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        session_id = _start_session(client, make_token())
        call = client.portal.call  # type: ignore[union-attr]
        assert call(orch.buffer.acquire_lease, session_id, "successor", 30)
        successors = np.full(SAMPLE_RATE, 1000, dtype="<i2").tobytes()
        stale = np.full(SAMPLE_RATE // 2, -1000, dtype="<i2").tobytes()
        record = call(
            orch.record_utterance,
            session_id,
            Utterance(SAMPLE_RATE, 2 * SAMPLE_RATE, successors, forced=False),
            "successor",
        )
        assert record is not None
        with pytest.raises(LeaseLost):
            call(
                orch.record_utterance,
                session_id,
                Utterance(SAMPLE_RATE, SAMPLE_RATE * 3 // 2, stale, forced=False),
                "stale",
            )
        stored = call(orch.store.get_bytes, record["audio_ref"])
        assert stored == wav_bytes(successors)
        principal = Principal(TENANT, "viewer", "tester")
        meta = call(orch.buffer.meta, session_id)
        assert call(orch.utterance_audio, principal, meta, record["utterance_id"]) == record["audio_ref"]


class GatedCore(InstantCore):
    """CORE answering once ``gate`` is open (a threading.Event: the wait is off the loop)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    async def process_audio(self, req: AudioRequest) -> CoreResult:
        await asyncio.to_thread(self.gate.wait, 60)
        return await super().process_audio(req)


@dataclasses.dataclass
class _HeldUtterances:
    """A recording ended with three utterances cut and waiting for CORE (``core.gate`` shut),
    and the audio owner holding them."""

    client: SettledTestClient
    orch: Any
    core: GatedCore
    token: str
    session_id: str
    owner: Any

    def pending(self) -> int:
        return len(self.client.portal.call(self.orch.buffer.pending_utterances, self.session_id))  # type: ignore[union-attr]

    def owner_stopped(self) -> bool:
        return self.owner not in [p for p, _ in self.orch.audio._running.values()]

    def answered_all(self) -> None:
        """CORE answers: a block for each of the three, and nothing left waiting."""
        self.core.gate.set()
        wait_until(
            lambda: len(_blocks(self.client, self.token, self.session_id)) == 3,
            30,
            "a block for every utterance",
        )
        assert self.pending() == 0


@contextlib.contextmanager
def _utterances_held_for_core(
    settings: Settings, make_token: Callable[..., str], audio_lease_ttl: float
) -> Iterator[_HeldUtterances]:
    core = GatedCore()
    with SettledTestClient(create_app(with_settings(settings, audio_lease_ttl=audio_lease_ttl))) as client:
        orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        orch.core = core
        token = make_token()
        session_id = _record(client, token, make_timeline(random.Random(11), pieces=3))
        held = _HeldUtterances(client, orch, core, token, session_id, None)
        wait_until(lambda: held.pending() == 3, 60, "every utterance cut and waiting for CORE")
        held.owner = orch.audio._running[session_id][0]
        yield held


@pytest.mark.timeout(120)
def test_utterances_an_owner_left_when_it_lost_its_lease_become_blocks_without_new_audio(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """An owner that stops because its lease was lost (this instance stalled past it, or Redis
    failed) with utterances still waiting for CORE, after the recording ended: nothing more comes
    that would wake an owner, and their words waited for a reconnect or finalize (hours, in a
    session). The instance takes the audio over once the lease is free."""
    with _utterances_held_for_core(settings, make_token, audio_lease_ttl=1.5) as held:
        # the lease lapses under the owner (as after a stall): its renewal finds it gone
        held.client.portal.call(held.orch.buffer._r.delete, SessionKeys(held.session_id).owner)  # type: ignore[union-attr]
        wait_until(lambda: held.owner.lease_lost and held.owner_stopped(), 30, "the owner stopped")
        held.answered_all()


@pytest.mark.timeout(120)
def test_utterances_an_owner_left_when_redis_failed_become_blocks_without_new_audio(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """An owner stops on a Redis error (a blip) with utterances waiting for CORE after the
    recording ended, and its release of the lease fails too, so the lease outlives it: once Redis
    answers, its instance lets go of that lease and takes the audio over, rather than leaving it
    to a reconnect or finalize."""
    with _utterances_held_for_core(settings, make_token, audio_lease_ttl=60.0) as held:
        buffer = held.orch.buffer
        audio_look, release_lease = buffer.audio_look, buffer.release_lease
        failed: list[str] = []

        async def blip(*args: Any) -> Any:
            if len(failed) < 2:
                failed.append("look")
                raise redis.exceptions.ConnectionError("Connection reset by peer")
            return await audio_look(*args)

        async def release_failing_once(*args: Any) -> None:
            if "release" not in failed:
                failed.append("release")
                raise redis.exceptions.ConnectionError("Connection reset by peer")
            await release_lease(*args)

        buffer.audio_look, buffer.release_lease = blip, release_failing_once
        held.owner.look()
        held.owner.wake.set()
        wait_until(held.owner_stopped, 30, "the owner stopped")
        held.answered_all()
        assert "release" in failed


@pytest.mark.timeout(120)
def test_an_owner_whose_lease_renewer_misses_its_cancellation_still_ends_and_lets_go(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """Python 3.11's ``asyncio.wait_for`` (redis-py writes each command through it) returns the
    write's result instead of raising when a cancellation lands as the write completes. A lease
    renewer that missed its cancellation so went on renewing for ever: its owner, done, never
    ended, and the finalize waited for it until it answered 503. The renewer stops when its
    owner ends, whatever became of the cancellation."""
    timeline = make_timeline(random.Random(5), pieces=2)
    with SettledTestClient(create_app(with_settings(settings, audio_lease_ttl=0.6))) as client:
        orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        orch.core = InstantCore()
        orch.ingest_ttl = 3.0
        renewals: list[str] = []

        async def renew_missing_its_cancellation(session_id: str, owner: str, ttl: float) -> bool:
            renewals.append(owner)
            # The write is under way, and completes as the cancellation lands: wait_for returns.
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.Event().wait()
            return True

        orch.buffer.renew_lease = renew_missing_its_cancellation
        token = make_token()
        session_id = _record(client, token, timeline)
        wait_until(lambda: bool(renewals), 30, "the owner's renewer in a renewal")
        response = _finalize(client, token, session_id)
    assert response.status_code == 200, response.text
    assert response.json()["block_count"] == len(timeline.speech)


@pytest.mark.timeout(120)
def test_an_owner_whose_lease_renewal_fails_once_keeps_renewing_its_lease(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """Redis failing one renewal of an audio owner's lease (a failover, a restart): the renewer
    tries again and the owner keeps its lease. It used to end at the first error, so the lease
    lapsed under an owner still at work and another instance could start a second owner on the
    same audio (a block cut twice at other times, out of place in the acta)."""
    timeline = make_timeline(random.Random(5), pieces=2)
    with SettledTestClient(create_app(with_settings(settings, audio_lease_ttl=2.0))) as client:
        orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        orch.core = InstantCore()
        renew = orch.buffer.renew_lease
        outcomes: list[object] = []

        async def renew_failing_once(session_id: str, owner: str, ttl: float) -> bool:
            if not outcomes:
                outcomes.append("failed")
                raise redis.exceptions.ConnectionError("Connection reset by peer")
            held: bool = await renew(session_id, owner, ttl)
            outcomes.append(held)
            return held

        orch.buffer.renew_lease = renew_failing_once
        token = make_token()
        session_id = _record(client, token, timeline)
        wait_until(lambda: outcomes.count(True) >= 3, 30, "three renewals after the failed one")
        assert outcomes[0] == "failed" and False not in outcomes
        # the instance owns the session: it keeps no note of having tried to
        assert session_id in orch.audio._running and session_id not in orch.audio._last_try
        response = _finalize(client, token, session_id)
    assert response.status_code == 200, response.text
    assert response.json()["block_count"] == len(timeline.speech)


@pytest.mark.timeout(120)
def test_a_client_idempotency_key_equal_to_an_utterance_id_is_a_key_of_its_own(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """An integration that keys a note by the utterance id it saw in an event: the note is
    stored, not taken for the utterance's block (the utterance's block, stored under its id,
    used to answer it as a duplicate; the other way round, the note swallowed the block)."""
    timeline = make_timeline(random.Random(5), pieces=2)
    with SettledTestClient(create_app(settings)) as client:
        orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        orch.core = InstantCore()
        token = make_token()
        session_id = _record(client, token, timeline)
        wait_until(lambda: len(_blocks(client, token, session_id)) == 2, 30, "the utterances' blocks")
        heard = _blocks(client, token, session_id)[0]
        note = client.post(
            f"/v1/orchestrator/session/{session_id}/append",
            json={"text": "Nota sobre la intervención."},
            headers={"authorization": f"Bearer {token}", "idempotency-key": heard["source"]["utterance_id"]},
        )
        assert note.status_code == 200, note.text
        assert note.json()["duplicate"] is False and note.json()["block_id"] != heard["block_id"]
        texts = [b["text"] for b in _blocks(client, token, session_id)]
    assert len(texts) == 3 and "Nota sobre la intervención." in texts


@pytest.mark.timeout(120)
def test_audio_stored_by_a_try_that_failed_after_storing_it_still_reaches_an_owner(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """Redis failing as the instance takes the audio's lease, right after the audio was stored:
    the request fails (503) and is sent again with its key, which finds the audio stored. The
    resend still wakes an owner, so the words become a block; the wake-up used to be lost with
    the failed try, and the audio waited for more audio, a reconnect or finalize. The resend
    comes within a second: the failed try must not count as the last one (a second try within
    a second is skipped), else no owner starts."""
    timeline = make_timeline(random.Random(5), pieces=1)
    pcm = b"".join(timeline.frames())
    with SettledTestClient(create_app(with_settings(settings, retry=Retry(attempts=1)))) as client:
        orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        orch.core = InstantCore()
        acquire = orch.audio.buffer.acquire_lease
        failed: list[str] = []

        async def acquire_failing_once(session_id: str, *args: Any) -> bool:
            if not failed:
                failed.append(session_id)
                raise redis.exceptions.ConnectionError("Connection reset by peer")
            taken: bool = await acquire(session_id, *args)
            return taken

        orch.audio.buffer.acquire_lease = acquire_failing_once
        token = make_token()
        session_id = _start_session(client, token)
        body = {"audio_chunk": base64.b64encode(pcm).decode(), "format": "pcm16", "sample_rate": SAMPLE_RATE}
        headers = {"authorization": f"Bearer {token}", "idempotency-key": "chunk-1"}
        api = f"/v1/orchestrator/session/{session_id}/append"
        first = client.post(api, json=body, headers=headers)
        assert first.status_code == 503 and failed == [session_id], first.text
        again = client.post(api, json=body, headers=headers)
        assert again.status_code == 202 and again.json()["duplicate"] is True, again.text
        wait_until(lambda: len(_blocks(client, token, session_id)) == 1, 30, "the chunk's block")

        # The same over the WebSocket's path: a batch of frames whose notify failed, retried whole.
        failed.clear()
        session_id = _start_session(client, token)
        meta = client.portal.call(orch.buffer.meta, session_id)  # type: ignore[union-attr]
        frames = [(seq, "pcm16", frame, False) for seq, frame in enumerate(timeline.frames(), 1)]
        frames.append((len(frames) + 1, "end", b"", False))
        batch = functools.partial(
            orch.ingest_audio_frames, Principal(TENANT, "recorder", "tester"), meta, "mic"
        )
        with pytest.raises(redis.exceptions.ConnectionError):
            client.portal.call(batch, frames)  # type: ignore[union-attr]
        assert failed == [session_id]
        answers, _ = client.portal.call(batch, frames)  # type: ignore[union-attr]
        assert len(answers) == len(frames) and all(r.duplicate for r in answers)
        wait_until(lambda: len(_blocks(client, token, session_id)) == 1, 30, "the frames' block")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("when", ["during_its_last_look", "while_it_lets_go"])
def test_audio_stored_as_an_idle_owner_ends_still_becomes_a_block(
    settings: Settings, make_token: Callable[..., str], when: str
) -> None:
    """An owner with nothing to do for ``idle_release`` ends; a frame stored on its instance
    just then (a console back after an outage, sending the rest of an utterance and audio_end at
    once) is handed to it. Handed during its last look, the owner ended with it; handed while
    it let go of its lease, likewise: those words had no block until a reconnect or finalize.
    Now the owner goes on with what it was handed, and audio arriving at an ending owner is
    taken by the next one, once the lease is let go."""
    first, second = (list(make_timeline(random.Random(seed), pieces=1).frames()) for seed in (5, 6))
    with SettledTestClient(create_app(settings)) as client:
        orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        orch.core = InstantCore()
        token = make_token()
        session_id = _start_session(client, token)
        meta = client.portal.call(orch.buffer.meta, session_id)  # type: ignore[union-attr]
        recorder = Principal(TENANT, "recorder", "tester")
        store = functools.partial(orch.ingest_audio_frames, recorder, meta, "mic")

        def frames(pcm: list[bytes], seq: int) -> list[tuple[int, str, bytes, bool]]:
            numbered = [(seq + i, "pcm16", frame, False) for i, frame in enumerate(pcm)]
            return [*numbered, (seq + len(pcm), "end", b"", False)]

        client.portal.call(store, frames(first, 1))  # type: ignore[union-attr]
        wait_until(lambda: len(_blocks(client, token, session_id)) == 1, 30, "the first utterance's block")
        buffer = orch.audio.buffer
        stored: list[bool] = []

        async def store_the_rest() -> None:
            if not stored:
                stored.append(True)
                await store(frames(second, len(first) + 2))

        if when == "during_its_last_look":
            look = buffer.audio_look

            async def look_and_store(*args: Any) -> Any:
                answer = await look(*args)  # empty: the owner will end after it
                await store_the_rest()  # stored (and handed over) while the look was out
                return answer

            buffer.audio_look = look_and_store
        else:
            release = buffer.release_lease

            async def store_then_release(*args: Any) -> Any:
                await store_the_rest()  # stored (and handed over) as the owner ends
                return await release(*args)

            buffer.release_lease = store_then_release
        orch.audio.settings = dataclasses.replace(orch.audio.settings, idle_release=0.0)  # it ends now
        wait_until(lambda: bool(stored), 30, "audio stored as the owner ended")
        wait_until(lambda: len(_blocks(client, token, session_id)) == 2, 30, "the second utterance's block")


@pytest.mark.timeout(120)
def test_a_discarded_sessions_audio_owner_stops_without_cutting_or_transcribing_more(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """A session discarded while speech is in progress: its audio owner stops, and the speech
    left open is neither cut nor sent to CORE (no acta will be built; the audio stays stored).
    Finalize, by contrast, cuts what is left and waits for every transcription."""
    recorder, admin = make_token(), make_token(role="admin", sub="jefe")
    timeline = make_timeline(random.Random(5), pieces=2)
    (_, _), (start, end) = timeline.speech
    frames = list(timeline.frames())
    cut_at = (start + (end - start) // 2) // 1600  # the middle of the second speech
    core = InstantCore()
    with SettledTestClient(create_app(settings)) as client:
        orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        orch.core = core
        orch.audio.settings = dataclasses.replace(
            orch.audio.settings, quiet_flush=60.0, quiet_rest_flush=90.0
        )
        session_id = client.post(
            "/v1/orchestrator/session/start",
            json={"tenant_id": TENANT},
            headers={"authorization": f"Bearer {recorder}"},
        ).json()["session_id"]
        with client.websocket_connect(f"/v1/orchestrator/session/{session_id}/stream") as ws:
            ws.send_bytes(msgpack.packb({"type": "hello", "client_id": "mic", "token": recorder}))
            for seq, data in enumerate(frames[:cut_at], 1):
                ws.send_bytes(msgpack.packb({"type": "audio", "seq": seq, "format": "pcm16", "data": data}))
            ws_until(ws, lambda m: m["type"] == "event" and m["kind"] == "block.added")
            assert session_id in orch.audio._running
            discarded = client.post(
                f"/v1/orchestrator/session/{session_id}/discard",
                json={"reason": "ensayo"},
                headers={"authorization": f"Bearer {admin}"},
            )
            assert discarded.status_code == 200, discarded.text
            wait_until(lambda: session_id not in orch.audio._running, 30, "the audio owner to stop")
        events = client.get(
            f"/v1/orchestrator/session/{session_id}/events", headers={"authorization": f"Bearer {recorder}"}
        ).json()
    kinds = [e["kind"] for e in events["events"]]
    assert kinds.count("utterance.detected") == 1 and kinds.count("block.added") == 1, kinds
    assert kinds[-1] == "session.discarded" and core.calls == 1


class _EndingOwner:
    """Stands for an owner in its last moments (its audio all cut, idle, letting the session go):
    what finalize's drain calls on a running owner does nothing."""

    def hurry(self) -> None:
        pass

    def look(self) -> None:
        pass

    def segmenting(self) -> str | None:
        return None


def test_finalize_does_not_take_an_owner_that_ended_on_its_own_for_the_audio_cut(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """Review: finalize's drain returned once the session's owner here had ended well with no
    utterance pending, also when that owner ended on its own (idle) just as the last frames came:
    handed to it, they were never cut, and the acta was built without them. The drain now also
    needs the stream cut to its end: here the ending owner leaves the stored speech uncut, and a
    new owner cuts it before the acta is built."""
    token = make_token()
    frames = list(make_timeline(random.Random(2), pieces=1).frames())
    with SettledTestClient(create_app(settings)) as client:
        orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        orch.core = InstantCore()
        session_id = _start_session(client, token)

        async def stored_as_an_owner_ends() -> None:
            chunks = [(seq, "pcm16", frame, False) for seq, frame in enumerate(frames, 1)]
            await orch.buffer.append_audio_frames(session_id, "mic", chunks)
            await orch.buffer.append_audio_frames(session_id, "mic", [(len(frames) + 1, "end", b"", False)])
            ending = asyncio.create_task(asyncio.sleep(0.3), name="an owner letting go")
            orch.audio._running[session_id] = (_EndingOwner(), ending)
            ending.add_done_callback(lambda _: orch.audio._running.pop(session_id, None))

        client.portal.call(stored_as_an_owner_ends)
        finalized = _finalize(client, token, session_id)
        assert finalized.status_code == 200, finalized.text
        blocks = _blocks(client, token, session_id)
    assert blocks and all(b["source"]["kind"] == "audio" for b in blocks), blocks
    assert orch.core.calls == len(blocks)


def test_an_owner_whose_audio_stopped_looks_at_its_stream_in_one_round_trip(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """A paused recording's owner looks at its stream every ``poll_interval`` until it lets the
    session go (hundreds of sessions in a recess): each look reads the stream and the session's
    status together (``audio_look``), with no status read of its own."""
    recorder = make_token()
    frames = list(make_timeline(random.Random(2), pieces=1).frames())[:5]
    with SettledTestClient(create_app(settings)) as client:
        orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        orch.core = InstantCore()
        orch.audio.settings = dataclasses.replace(orch.audio.settings, poll_interval=0.05)
        buffer = orch.buffer
        looks_found_nothing, status_reads = [0], [0]
        audio_look, audio_state = buffer.audio_look, buffer.audio_state

        async def counted_look(session_id: str, cursor: str, count: int) -> Any:
            entries, status = await audio_look(session_id, cursor, count)
            looks_found_nothing[0] += not entries
            return entries, status

        async def counted_state(session_id: str) -> Any:
            status_reads[0] += 1
            return await audio_state(session_id)

        buffer.audio_look, buffer.audio_state = counted_look, counted_state
        session_id = _start_session(client, recorder)
        with client.websocket_connect(f"/v1/orchestrator/session/{session_id}/stream") as ws:
            ws.send_bytes(msgpack.packb({"type": "hello", "client_id": "mic", "token": recorder}))
            for seq, data in enumerate(frames, 1):
                ws.send_bytes(msgpack.packb({"type": "audio", "seq": seq, "format": "pcm16", "data": data}))
            ws_until(ws, lambda m: m["type"] == "ack" and m["seq"] == len(frames))
            wait_until(lambda: looks_found_nothing[0] >= 2, 30, "the owner to look at its stream")
            before = status_reads[0], looks_found_nothing[0]
            wait_until(lambda: looks_found_nothing[0] >= before[1] + 5, 30, "five more looks")
            assert session_id in orch.audio._running  # still the owner, looking
            assert status_reads[0] == before[0]


def _blocks_after_audio_stops_mid_speech(
    settings: Settings, make_token: Callable[..., str], *, resend: bool, late: str = ""
) -> tuple[list[dict[str, Any]], float, float]:
    """Stream a timeline of two speeches, stop in the middle of the second without audio_end,
    and (``resend``) send the rest after the quiet_flush cut, as a console does after a network
    cut; ``late``: after the quiet_rest_flush one, to the same owner (``owner``), once it has
    let the session go (``successor``), or after an ``audio_end`` (``ended``: a new recording
    that starts with those words; ``ended_successor``: its owner let the session go after
    the end). Returns the audio blocks' metadata once their audio reaches
    the stop (goes past it, when resent), with the second speech's start and the stop, in
    seconds."""
    token = make_token()
    auth = {"authorization": f"Bearer {token}"}
    timeline = make_timeline(random.Random(5), pieces=2)
    (_, _), (start, end) = timeline.speech
    frame = 1600  # samples in 100 ms
    cut_at = (start + (end - start) // 2) // frame  # the frame in the middle of the second piece
    frames = list(timeline.frames())
    stop = cut_at * frame / 16_000
    with SettledTestClient(create_app(settings)) as client:
        orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        orch.core = InstantCore()
        quiet = {"quiet_flush": 1.0, "quiet_rest_flush": 30.0 if resend and not late else 2.0}
        if late.endswith("successor"):
            quiet["idle_release"] = 2.5
        orch.audio.settings = dataclasses.replace(orch.audio.settings, **quiet)
        session_id = client.post(
            "/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=auth
        ).json()["session_id"]

        def owner_gone() -> bool:
            return session_id not in orch.audio._running

        with client.websocket_connect(f"/v1/orchestrator/session/{session_id}/stream") as ws:
            ws.send_bytes(msgpack.packb({"type": "hello", "client_id": "mic", "token": token}))
            for seq, data in enumerate(frames[:cut_at], 1):
                ws.send_bytes(msgpack.packb({"type": "audio", "seq": seq, "format": "pcm16", "data": data}))
            reached = 0.0
            resent = False
            # until the blocks' audio reaches the stop (past it once resent); bounded by the timeout
            while reached < stop - 0.01 or (resend and reached <= stop):
                message = msgpack.unpackb(ws.receive_bytes())
                assert message["type"] != "error", message
                if message["type"] == "event" and message["kind"] == "block.added":
                    reached = max(reached, message["data"]["block"]["audio_metadata"]["time_end"])
                    # the cut at a pause (late: the rest's flush, up to the stop)
                    if resend and not resent and reached > (stop - 0.01 if late else start / 16_000):
                        resent = True
                        first = cut_at + 1
                        if late.startswith("ended"):
                            ws.send_bytes(msgpack.packb({"type": "audio_end", "seq": first}))
                            first += 1
                        if late.endswith("successor"):
                            wait_until(owner_gone, 30, "the owner to let go")
                        for seq, data in enumerate(frames[cut_at:], first):
                            frame_out = {"type": "audio", "seq": seq, "format": "pcm16", "data": data}
                            ws.send_bytes(msgpack.packb(frame_out))
                        ws.send_bytes(
                            msgpack.packb({"type": "audio_end", "seq": first + len(frames) - cut_at})
                        )
        blocks = client.get(f"/v1/orchestrator/session/{session_id}/blocks", headers=auth).json()["blocks"]
    return [b["audio_metadata"] for b in blocks], start / 16_000, stop


@pytest.mark.timeout(120)
def test_speech_cut_off_by_a_recording_that_stops_becomes_a_block_without_waiting(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """A console that stops sending in the middle of an utterance (reloaded, crashed, offline)
    sends no audio_end: after quiet_flush seconds without audio the words said up to the last
    pause are cut and transcribed, and after quiet_rest_flush the rest, not held until
    recording resumes or finalize; the pieces follow each other without a gap."""
    audio, start, stop = _blocks_after_audio_stops_mid_speech(settings, make_token, resend=False)
    second = [a for a in audio if a["time_end"] > start]
    assert len(second) == 2, audio  # up to the pause, then the rest
    assert start - 0.5 < second[0]["time_start"] < second[0]["time_end"] == second[1]["time_start"]
    assert second[1]["time_end"] <= stop + 0.01


@pytest.mark.timeout(120)
def test_audio_resent_after_a_network_cut_goes_on_with_the_words_cut_off(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """A network cut longer than quiet_flush in the middle of a word: the words up to the last
    pause become a block meanwhile, and when the console resends the rest, the words after that
    pause go on with it in one piece, so the word the audio stopped in is not split in two (it
    was: the cut went where the audio stopped, and each piece lost that word)."""
    audio, start, stop = _blocks_after_audio_stops_mid_speech(settings, make_token, resend=True)
    second = [a for a in audio if a["time_end"] > start]
    assert second[0]["time_end"] < stop - 0.05, audio  # the first piece ended at a pause
    assert any(a["time_start"] < stop < a["time_end"] for a in second), audio  # the stop is inside one


@pytest.mark.timeout(120)
@pytest.mark.parametrize("late", ["owner", "successor", "ended", "ended_successor"])
def test_audio_resent_after_the_rest_was_flushed_continues_the_piece_flushed(
    settings: Settings, make_token: Callable[..., str], late: str
) -> None:
    """A network cut longer than quiet_rest_flush in the middle of speech: the rest up to the stop
    became a block, and the words resent after it go on with it (``continues_previous``, so the
    acta joins them) from where it ended, whether the owner that flushed it cuts them or (the
    resend came after it let the session go) a successor. They were taken as speech of their
    own, and a word's tail under min_speech was dropped. A recording that ended (``audio_end``)
    before the same words came is another: they are not joined to the speech before."""
    audio, start, stop = _blocks_after_audio_stops_mid_speech(settings, make_token, resend=True, late=late)
    second = [a for a in audio if a["time_end"] > start]
    flushed = next(i for i, a in enumerate(second) if a["time_end"] >= stop - 0.01)
    assert second[flushed]["time_end"] == pytest.approx(stop, abs=0.01), audio  # cut at the stop
    resent = second[flushed + 1]
    ended = late.startswith("ended")
    assert resent.get("continues_previous") is (None if ended else True), audio
    if not ended:
        assert resent["time_start"] == second[flushed]["time_end"], audio


@pytest.mark.timeout(120)
@pytest.mark.parametrize("fmt", ["webm", "ogg"])
def test_a_compressed_recording_that_stops_mid_speech_becomes_blocks_without_waiting(
    settings: Settings, make_token: Callable[..., str], fmt: str
) -> None:
    """The same for a recording sent as a WebM/Ogg stream (an integration's MediaRecorder) that
    stops mid-speech without audio_end: its decoded audio is cut after quiet_flush and
    quiet_rest_flush as PCM is. While the stream was open the flushes did not run: those words
    had no block until finalize (or a new stream)."""
    token = make_token()
    timeline = make_timeline(random.Random(5), pieces=2)
    (_, _), (start, end) = timeline.speech
    said = b"".join(timeline.frames())[: (start + (end - start) // 2) * 2]  # stopped mid-speech
    with SettledTestClient(create_app(settings)) as client:
        orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        orch.core = InstantCore()
        quiet = {"quiet_flush": 1.0, "quiet_rest_flush": 2.0}
        orch.audio.settings = dataclasses.replace(orch.audio.settings, **quiet)
        session_id = _start_session(client, token)
        with client.websocket_connect(f"/v1/orchestrator/session/{session_id}/stream") as ws:
            ws.send_bytes(msgpack.packb({"type": "hello", "client_id": "mic", "token": token}))
            for seq, piece in enumerate(_pieces(_encoded(said, fmt), fmt), 1):
                ws.send_bytes(msgpack.packb({**piece, "seq": seq}))
            second: list[dict[str, Any]] = []
            while len(second) < 2:  # bounded by the test's timeout
                message = msgpack.unpackb(ws.receive_bytes())
                assert message["type"] != "error", message
                if message["type"] == "event" and message["kind"] == "block.added":
                    heard = message["data"]["block"]["audio_metadata"]
                    if heard["time_end"] > start / 16_000:
                        second.append(heard)
    assert start / 16_000 - 0.5 < second[0]["time_start"] < second[0]["time_end"] == second[1]["time_start"]
    assert second[1]["time_end"] > (start + (end - start) // 2) / 16_000 - 0.3, second  # up to the stop


def test_circuit_breaker_fails_fast_then_recovers() -> None:
    """After repeated transient failures the client stops calling CORE (fast CircuitOpen, not
    retried); after the cool-down one trial call goes through and success closes the circuit."""
    requests: list[int] = []
    healthy = False

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(1)
        if healthy:
            return httpx.Response(
                200,
                json={
                    "text": "t",
                    "intent": "DEBATE",
                    "label": "l",
                    "template_id": "TPL_DEBATE",
                    "confidence": 1,
                },
            )
        return httpx.Response(503)

    breaker = CircuitBreaker(threshold=3, cooldown=0.2)
    req = TextRequest(TENANT, "a", "hola", {})

    async def scenario() -> None:
        nonlocal healthy
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            core = HttpCore(http, "http://core", breaker)
            for _ in range(3):
                with pytest.raises(ServiceUnavailable):
                    await core.process_text(req)
            with pytest.raises(CircuitOpen):
                await core.process_text(req)
            assert len(requests) == 3  # the open circuit made no request
            healthy = True
            deadline = time.monotonic() + 10
            while True:
                try:
                    assert (await core.process_text(req)).template_id == "TPL_DEBATE"
                    break
                except CircuitOpen:
                    assert time.monotonic() < deadline
                    await anyio.sleep(0.05)
            assert breaker.opened_at is None and len(requests) == 4

    anyio.run(scenario)


@pytest.mark.timeout(120)
def test_undecodable_stream_is_rejected_and_the_session_goes_on(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """A WebM stream of garbage gets an audio.rejected event instead of wedging the session's
    audio: PCM sent afterwards is still transcribed and finalize completes. Review: the audit
    report did not say that acked audio became no block there; it lists it (rejected_audio)."""
    token = make_token()
    auth = {"authorization": f"Bearer {token}"}
    with SettledTestClient(create_app(settings)) as client:
        session_id = client.post(
            "/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=auth
        ).json()["session_id"]
        with wave.open(str(AUDIO / "02_llamado.wav")) as w:
            pcm = w.readframes(w.getnframes())
        garbage = b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 600
        with client.websocket_connect(f"/v1/orchestrator/session/{session_id}/stream") as ws:
            ws.send_bytes(msgpack.packb({"type": "hello", "client_id": "mic", "token": token}))
            frames = [
                {"type": "audio", "format": "webm", "data": garbage[:50_000], "start": True},
                {"type": "audio", "format": "webm", "data": garbage[50_000:]},
                *(
                    {"type": "audio", "format": "pcm16", "data": pcm[i : i + 3200]}
                    for i in range(0, len(pcm), 3200)
                ),
                {"type": "audio_end"},
            ]
            kinds = _send_until_a_block(ws, frames)
        assert "audio.rejected" in kinds and "block.added" in kinds
        result = client.post(f"/v1/orchestrator/session/{session_id}/finalize", headers=auth).json()
        assert result["block_count"] == 1
        events = client.get(f"/v1/orchestrator/session/{session_id}/events", headers=auth).json()["events"]
        (rejected,) = [e for e in events if e["kind"] == "audio.rejected"]
        (listed,) = result["audit_report"]["rejected_audio"]
        assert listed["event_id"] == rejected["id"] and listed["entry_id"] == rejected["data"]["entry_id"]
        assert listed["reason"] == rejected["data"]["reason"] and listed["at"].endswith("+00:00")


def _send_until_a_block(ws: Any, frames: list[dict[str, Any]], *, errors_allowed: bool = True) -> list[str]:
    """Send ``frames`` numbered from 1, then the kinds of the events that come, up to the first
    block.added (at most 90 s)."""
    for seq, frame in enumerate(frames, start=1):
        ws.send_bytes(msgpack.packb({**frame, "seq": seq}))
    kinds: list[str] = []
    deadline = time.monotonic() + 90
    while "block.added" not in kinds and time.monotonic() < deadline:
        message = msgpack.unpackb(ws.receive_bytes())
        assert errors_allowed or message["type"] != "error", message
        if message["type"] == "event":
            kinds.append(message["kind"])
    return kinds


def _encoded(pcm: bytes, fmt: str) -> bytes:
    """PCM16 16 kHz as a WebM/Ogg Opus stream, as a browser's MediaRecorder sends it."""
    import av

    out = io.BytesIO()
    with av.open(out, "w", format=fmt) as container:
        stream = container.add_stream("libopus", rate=48000, layout="mono")
        frame = av.AudioFrame.from_ndarray(
            np.frombuffer(pcm, "<i2").reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = 16000
        for resampled in av.AudioResampler(format="s16", layout="mono", rate=48000).resample(frame):
            for packet in stream.encode(resampled):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def _pieces(data: bytes, fmt: str, *, start: bool = True) -> list[dict[str, Any]]:
    """A container stream's audio frames of 4,000 bytes; ``start`` on the first, or on none."""
    return [
        {
            "type": "audio",
            "format": fmt,
            "data": data[i : i + 4000],
            **({"start": True} if start and i == 0 else {}),
        }
        for i in range(0, len(data), 4000)
    ]


def _streamed_and_finalized(
    settings: Settings, token: str, frames: list[dict[str, Any]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A session on an app whose CORE answers at once, ``frames`` sent by one recorder (until the
    first block), then finalized: the finalize's result and the session's events."""
    auth = {"authorization": f"Bearer {token}"}
    with SettledTestClient(create_app(settings)) as client:
        client.app.state.astra.orchestrator.core = InstantCore()  # type: ignore[attr-defined]
        session_id = client.post(
            "/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=auth
        ).json()["session_id"]
        with client.websocket_connect(f"/v1/orchestrator/session/{session_id}/stream") as ws:
            ws.send_bytes(msgpack.packb({"type": "hello", "client_id": "mic", "token": token}))
            _send_until_a_block(ws, frames, errors_allowed=False)
        result = client.post(f"/v1/orchestrator/session/{session_id}/finalize", headers=auth).json()
        events = client.get(
            f"/v1/orchestrator/session/{session_id}/events", params={"limit": 1000}, headers=auth
        ).json()["events"]
    return result, events


@pytest.mark.timeout(120)
@pytest.mark.parametrize("fmt", ["webm", "ogg"])
def test_stream_found_undecodable_only_at_its_end_is_rejected_too(
    settings: Settings, make_token: Callable[..., str], fmt: str
) -> None:
    """A short stream whose damage the decoder can only tell at its end (``audio_end`` closes it:
    a WebM cut inside its header, Ogg garbage) gets the same audio.rejected event as one found
    undecodable mid-stream, not just a log line; a valid stream after it is decoded as usual."""
    with wave.open(str(AUDIO / "02_llamado.wav")) as w:
        valid = _encoded(w.readframes(w.getnframes()), fmt)
    head = valid[:300] if fmt == "webm" else b"OggS"
    corrupt = head + random.Random(7).randbytes(700 - len(head))
    frames = [
        {"type": "audio", "format": fmt, "data": corrupt[:350], "start": True},
        {"type": "audio", "format": fmt, "data": corrupt[350:]},
        {"type": "audio_end"},
        *_pieces(valid, fmt),
        {"type": "audio_end"},
    ]
    result, events = _streamed_and_finalized(settings, make_token(), frames)
    rejected = [e["data"] for e in events if e["kind"] == "audio.rejected"]
    assert len(rejected) == 1, rejected  # the corrupt stream, once; the valid one is not rejected
    assert set(rejected[0]) == {"entry_id", "reason"} and f"corrupt {fmt}" in rejected[0]["reason"]
    assert result["block_count"] == 1  # the valid stream's speech


@pytest.mark.timeout(120)
def test_a_stream_of_another_format_is_a_new_stream_without_its_start(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """Review: an Ogg stream sent after a WebM one without ``start`` was fed to the WebM decoder,
    whose demuxer skipped it as garbage within its allowance: acked audio became no block, and
    nothing said so. A container of another format starts a new stream: both are transcribed."""
    with wave.open(str(AUDIO / "02_llamado.wav")) as w:
        pcm = w.readframes(w.getnframes()) + bytes(32_000)  # a second of silence after it
    frames = [
        *_pieces(_encoded(pcm, "webm"), "webm"),
        *_pieces(_encoded(pcm, "ogg"), "ogg", start=False),
        {"type": "audio_end"},
    ]
    result, events = _streamed_and_finalized(settings, make_token(), frames)
    assert not [e for e in events if e["kind"] == "audio.rejected"]
    assert result["block_count"] == 2, result  # one utterance of each stream


def _run(*ids: str) -> list[tuple[str, dict[bytes, bytes]]]:
    return [(i, {b"f": b"pcm16", b"d": i.encode()}) for i in ids]


def test_owner_takes_handed_audio_only_when_it_follows_what_it_read() -> None:
    """Audio handed over in memory is used only when it continues the stream exactly where the
    owner is; a gap (audio appended some other way) or audio already read sends it to Redis."""
    handed = [("0-0", _run("1-0", "2-0")), ("2-0", _run("3-0"))]
    assert take_contiguous(handed, "0-0") == _run("1-0", "2-0", "3-0") and handed == []

    handed = [("4-0", _run("5-0"))]  # 4-0 came in over HTTP: not handed, not read yet
    assert take_contiguous(handed, "3-0") is None and handed == [("4-0", _run("5-0"))]
    assert take_contiguous(handed, "5-0") is None and handed == []  # read from the stream meanwhile

    handed = [("5-0", _run("6-0", "7-0")), ("7-0", _run("8-0"))]  # the stream read stopped at 6-0
    assert take_contiguous(handed, "6-0") == _run("7-0", "8-0") and handed == []


def test_owner_takes_a_turns_worth_of_handed_audio_and_keeps_the_rest() -> None:
    """Under ingest pressure an owner takes entries up to the one that brings their audio to
    ``limit_bytes``; the rest of its run stays, after it, and is taken next, in order."""
    handed = [("0-0", _run("1-0", "2-0")), ("2-0", _run("3-0", "4-0", "5-0"))]  # 3 bytes each
    assert take_contiguous(handed, "0-0", 7) == _run("1-0", "2-0", "3-0")
    assert handed == [("3-0", _run("4-0", "5-0"))]
    assert take_contiguous(handed, "3-0", 6) == _run("4-0", "5-0") and handed == []

    handed = [("5-0", _run("6-0", "7-0", "8-0"))]  # the stream read stopped at 6-0
    assert take_contiguous(handed, "6-0", 1) == _run("7-0") and handed == [("7-0", _run("8-0"))]
    handed = [("0-0", _run("1-0")), ("1-0", _run("2-0"))]
    assert take_contiguous(handed, "0-0", 3) == _run("1-0") and handed == [("1-0", _run("2-0"))]
    assert take_contiguous(handed, "1-0", 100) == _run("2-0") and handed == []


def test_owner_holds_at_most_handoff_bytes_in_memory_counting_what_it_took() -> None:
    """Handed audio beyond HANDOFF_BYTES is dropped (the owner reads the stream instead); what the
    owner took no longer counts, so a keeping-up owner keeps getting audio from memory."""
    third = b"\0" * (HANDOFF_BYTES // 3 + 2)
    owner = SessionAudio(None, "ses_x", "me")  # type: ignore[arg-type]
    owner.hand("0-0", [("1-0", {b"f": b"pcm16", b"d": third})])
    owner.hand("1-0", [("2-0", {b"f": b"pcm16", b"d": third})])
    assert [run[-1][0] for _, run in owner._handed] == ["1-0", "2-0"]
    taken = owner._take_handed("0-0", None)
    assert taken is not None and [entry_id for entry_id, _ in taken] == ["1-0", "2-0"]
    owner.hand("2-0", [("3-0", {b"f": b"pcm16", b"d": third})])
    owner.hand("3-0", [("4-0", {b"f": b"pcm16", b"d": third})])
    assert [run[-1][0] for _, run in owner._handed] == ["3-0", "4-0"]  # the taken ones did not count
    owner._read_count = READ_BATCH  # as after reads of live frames
    owner.hand("4-0", [("5-0", {b"f": b"pcm16", b"d": third})])
    assert owner._handed == []  # over the bound: dropped, the stream has them
    assert owner._read_count == FIRST_READ  # a burst: its big entries are read a few first
    owner.hand("5-0", [("6-0", {b"f": b"pcm16", b"d": third})])
    assert [run[-1][0] for _, run in owner._handed] == ["6-0"]


def test_owner_reads_a_backlog_of_large_entries_a_few_at_a_time() -> None:
    """The entries an owner asks for next are sized from those it just read, to hold about
    READ_BYTES: READ_BATCH live frames (3.2 KB each) at a time, but a few of a resent burst's
    runs (256 KiB each) or of 1 MiB frames, not the 50-200 MB that READ_BATCH of them would be."""

    def entries(count: int, size: int) -> list[tuple[str, dict[bytes, bytes]]]:
        return [(f"{i}-0", {b"f": b"pcm16", b"d": b"\0" * size}) for i in range(count)]

    assert next_read_count(entries(8, 3200)) == READ_BATCH
    assert next_read_count(entries(8, 256 << 10)) == READ_BYTES // (256 << 10) == 16
    assert next_read_count(entries(3, 1 << 20)) == 4
    assert next_read_count(entries(1, 2 * READ_BYTES)) == 1  # at least one, however large
    assert next_read_count([("1-0", {b"f": b"end"})]) == READ_BATCH  # an end marker holds no audio


class SaysCore:
    """CORE whose speech recognition hears ``said`` in every utterance (the real classifier then
    classifies it, with the section and continuation it is given)."""

    def __init__(self, said: str) -> None:
        self.said = said
        self.inner = EmbeddedCore()

    async def process_text(self, req: TextRequest) -> CoreResult:
        return self.inner.process_text_sync(req)

    async def process_audio(self, req: AudioRequest) -> CoreResult:
        text = TextRequest(
            req.tenant_id,
            req.adapter_id,
            self.said,
            req.entities_dictionary,
            req.previous_template_id,
            req.continues_previous,
        )
        heard = self.inner.process_text_sync(text)
        return dataclasses.replace(heard, audio_metadata={"asr_text": self.said, "asr_confidence": 0.9})


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("said", "before", "continues", "expected"),
    [
        # the grant after "Siguiente punto, aprobación del acta 44", whose block was still being
        # transcribed when this one was sent to CORE: the acta's item, not the agenda's approval
        ("Tiene la palabra la concejala Ana Ruiz.", "TPL_APROBACION_ACTAS", False, "TPL_APROBACION_ACTAS"),
        # the rest of a roll call read on past the segmenter's 15 s: names only
        (
            "Luis Eduardo Castillo, Ana Ruiz Gómez, Mauricio Arboleda Quintero.",
            "TPL_LLAMADO_LISTA",
            True,
            "TPL_LLAMADO_LISTA",
        ),
        # the same names after a pause: nothing says they are the roll call's
        (
            "Luis Eduardo Castillo, Ana Ruiz Gómez, Mauricio Arboleda Quintero.",
            "TPL_LLAMADO_LISTA",
            False,
            "TPL_DEBATE",
        ),
        # cut at the limit, but naming a section of its own
        ("Siguiente punto, proposiciones y varios.", "TPL_LLAMADO_LISTA", True, "TPL_VARIOS"),
    ],
)
def test_an_utterance_is_classified_in_the_section_of_the_one_before_it(
    settings: Settings, make_token: Callable[..., str], said: str, before: str, continues: bool, expected: str
) -> None:
    """Utterances are transcribed together, so when CORE was called for one, the block before it
    could still be in CORE: it was classified in the section of whatever block was stored last
    (in a recorded session, the grant of the floor after "Siguiente punto, aprobación del acta"
    went to the agenda's approval, and a roll call's names read past the 15 s cut to the
    debate). Now each is classified once the one before it is done, in its section, and as its
    continuation when that one was cut at the maximum length."""
    token = make_token()
    auth = {"authorization": f"Bearer {token}"}
    with SettledTestClient(create_app(settings)) as client:
        orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        orch.core = SaysCore(said)
        session_id = client.post(
            "/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=auth
        ).json()["session_id"]
        appended = client.post(
            f"/v1/orchestrator/session/{session_id}/append",
            json={"text": "Se somete a consideración el orden del día. ¿Lo aprueba la plenaria?"},
            headers=auth,
        )
        assert appended.json()["block"]["template_id"] == "TPL_APROBACION_ORDEN_DIA"  # the last stored

        async def transcribe() -> str | None:
            pcm = b"\x01\x00" * SAMPLE_RATE
            record = await orch.record_utterance(session_id, Utterance(0, SAMPLE_RATE, pcm, forced=False))
            done: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
            transcription = asyncio.create_task(
                orch.transcribe_utterance(session_id, record, pcm, after=done, continues=continues)
            )
            await asyncio.sleep(0.05)
            assert not transcription.done(), "stored before the utterance before it was done"
            done.set_result(before)
            return await transcription

        calls = orch.metrics.registry.get_sample_value("astra_core_seconds_count")
        assert client.portal.call(transcribe) == expected  # type: ignore[union-attr]
        # CORE was called twice, audio then text (the section before was another), both timed
        assert orch.metrics.registry.get_sample_value("astra_core_seconds_count") == calls + 2
        blocks = client.get(f"/v1/orchestrator/session/{session_id}/blocks", headers=auth).json()["blocks"]
    assert blocks[-1]["template_id"] == expected
    assert blocks[-1]["text"] == said
    # the acta joins an opening cut so (docx_builder._openings_joined): the block says it
    assert blocks[-1]["audio_metadata"].get("continues_previous") is (True if continues else None)


TYPED_MEANWHILE = "Siguiente punto, lectura de comunicaciones."


@pytest.mark.timeout(120)
def test_an_utterance_follows_the_section_a_stenographer_gave_the_speech_before_it(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """A roll call whose first 15 s read as the debate ("Con mucho gusto, presidente. Se
    encuentran conectados…"): the stenographer moves that block to the roll call while the next
    piece is with CORE. The next piece was classified again in the section CORE had given the
    one before (the debate), not the one it is in now, so the stenographer had to move every
    piece of the roll call by hand. It now follows the block as stored when it is stored; a text
    typed in between is not the speech it continues."""
    first = "Con mucho gusto, presidente. Se encuentran conectados los honorables concejales"
    second = "Ana María Ruiz Gómez, Pedro Pablo Pérez Mejía y Luis Eduardo Castillo."
    token = make_token()
    auth = {"authorization": f"Bearer {token}"}
    with SettledTestClient(create_app(settings)) as client:
        orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        orch.core = HearsBySeconds(first, second)
        session_id = client.post(
            "/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=auth
        ).json()["session_id"]
        api = f"/v1/orchestrator/session/{session_id}"

        async def piece(seconds: int, **context: Any) -> str | None:
            pcm = b"\x01\x00" * SAMPLE_RATE * seconds
            start = 0 if seconds == 1 else SAMPLE_RATE
            utt = Utterance(start, start + len(pcm) // 2, pcm, forced=True)
            record = await orch.record_utterance(session_id, utt)
            return await orch.transcribe_utterance(session_id, record, pcm, **context)

        said = client.portal.call(piece, 1)  # type: ignore[union-attr]
        assert said == "TPL_DEBATE"
        head = client.get(f"{api}/blocks", headers=auth).json()["blocks"][0]
        moved = client.patch(
            f"{api}/blocks/{head['block_id']}",
            json={"base_version": head["version"], "changes": {"template_id": "TPL_LLAMADO_LISTA"}},
            headers=auth,
        )
        assert moved.status_code == 200, moved.text
        typed = client.post(f"{api}/append", json={"text": TYPED_MEANWHILE}, headers=auth)
        assert typed.json()["block"]["template_id"] not in ("TPL_LLAMADO_LISTA", "TPL_DEBATE")

        async def second_piece() -> str | None:
            done: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
            done.set_result(said)  # what the transcription of the first piece returned
            return await piece(2, after=done, continues=True)

        assert client.portal.call(second_piece) == "TPL_LLAMADO_LISTA"  # type: ignore[union-attr]
        blocks = client.get(f"{api}/blocks", headers=auth).json()["blocks"]
    assert [b["source"]["kind"] for b in blocks] == ["audio", "text", "audio"]
    assert [b["text"] for b in blocks if b["source"]["kind"] == "audio"] == [first, second]
    assert [b["template_id"] for b in blocks if b["source"]["kind"] == "audio"] == ["TPL_LLAMADO_LISTA"] * 2


@pytest.mark.timeout(120)
def test_the_first_piece_a_successor_transcribes_goes_on_with_the_speech_stored_before_it(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """An owner died between two pieces of a roll call cut at the length limit. Its successor
    knew neither that the next piece went on with that speech (the segmenter's state died with
    the owner) nor, having transcribed nothing yet, the section of the piece before it: the
    piece was classified on its own and the roll call's table listed only the first piece's
    members. The audio state now says the last recorded piece was cut at the limit, the record
    of the next one says it continues it, and it is read with the piece stored before it."""
    first = "Con gusto, señor presidente. Contestaron a lista los honorables concejales Ana María Ruiz Gómez,"
    second = "Pedro Pablo Pérez Mejía y Luis Eduardo Castillo. Hay quórum decisorio."
    token = make_token()
    auth = {"authorization": f"Bearer {token}"}
    with SettledTestClient(create_app(settings)) as client:
        orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        orch.core = HearsBySeconds(first, second)
        session_id = client.post(
            "/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=auth
        ).json()["session_id"]

        async def the_owner_then_its_successor() -> tuple[dict[str, str], dict[str, Any]]:
            pcm = b"\x01\x00" * SAMPLE_RATE
            record = await orch.record_utterance(session_id, Utterance(0, SAMPLE_RATE, pcm, forced=True))
            await orch.transcribe_utterance(session_id, record, pcm)
            state = await orch.buffer.audio_state(session_id)
            # the successor's segmenter, told so by the audio state, cuts the next piece
            pcm = b"\x01\x00" * SAMPLE_RATE * 2
            utt = Utterance(SAMPLE_RATE, 3 * SAMPLE_RATE, pcm, forced=False, continues=True)
            record = await orch.record_utterance(session_id, utt)
            await orch.transcribe_utterance(session_id, record, pcm, continues=record["continues"])
            return state, record

        state, record = client.portal.call(the_owner_then_its_successor)  # type: ignore[union-attr]
        blocks = client.get(f"/v1/orchestrator/session/{session_id}/blocks", headers=auth).json()["blocks"]
    assert (state["covered"], state["covered_forced"]) == (str(SAMPLE_RATE), "1")
    assert record["continues"] is True
    head, piece = blocks
    assert [b["template_id"] for b in blocks] == ["TPL_LLAMADO_LISTA"] * 2
    assert piece["audio_metadata"]["continues_previous"] is True
    assert piece["reading"]["head"] == head["block_id"]
    assert "Luis Eduardo Castillo" in json.dumps(piece["reading"]["structured_data"], ensure_ascii=False)


class FailingAudioCore(SaysCore):
    """CORE whose speech recognition fails for good."""

    async def process_audio(self, req: AudioRequest) -> CoreResult:
        raise ServiceUnavailable("CORE is down", service="core")


@pytest.mark.timeout(120)
def test_an_utterance_core_failed_on_waits_in_the_zone_of_the_one_before_it(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """Review: a block pending review (CORE failed) was put in the zone of whatever block was
    stored last when CORE was called (the agenda's approval), not of the utterance said right
    before it (the prior actas' item, still being transcribed): the reviewer looked for it in the
    wrong place of the acta."""
    token = make_token()
    auth = {"authorization": f"Bearer {token}"}
    fast = Retry(attempts=1, base_delay=0.01, max_delay=0.01, timeout=5)
    with SettledTestClient(create_app(with_settings(settings, retry=fast))) as client:
        orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        orch.core = FailingAudioCore("")
        session_id = client.post(
            "/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=auth
        ).json()["session_id"]
        client.post(
            f"/v1/orchestrator/session/{session_id}/append",
            json={"text": "Se somete a consideración el orden del día. ¿Lo aprueba la plenaria?"},
            headers=auth,
        )

        async def transcribe() -> str | None:
            pcm = b"\x01\x00" * SAMPLE_RATE
            record = await orch.record_utterance(session_id, Utterance(0, SAMPLE_RATE, pcm, forced=False))
            done: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
            transcription = asyncio.create_task(
                orch.transcribe_utterance(session_id, record, pcm, after=done)
            )
            await asyncio.sleep(0.05)
            done.set_result("TPL_APROBACION_ACTAS")
            return await transcription

        client.portal.call(transcribe)  # type: ignore[union-attr]
        blocks = client.get(f"/v1/orchestrator/session/{session_id}/blocks", headers=auth).json()["blocks"]
    assert (blocks[-1]["type"], blocks[-1]["target_placeholder"]) == (
        "ERROR_PENDING_REVIEW",
        "ZONE_PRIOR_ACTAS",
    )


class HearsBySeconds(SaysCore):
    """CORE whose speech recognition hears ``said[n - 1]`` in an utterance of n seconds (they are
    transcribed together: the order of the calls is not the audio's)."""

    def __init__(self, *said: str) -> None:
        super().__init__(said[0])
        self.by_seconds = said

    async def process_audio(self, req: AudioRequest) -> CoreResult:
        heard = self.by_seconds[len(req.pcm16) // 2 // SAMPLE_RATE - 1]
        text = TextRequest(
            req.tenant_id,
            req.adapter_id,
            heard,
            req.entities_dictionary,
            req.previous_template_id,
            req.continues_previous,
        )
        return dataclasses.replace(self.inner.process_text_sync(text), audio_metadata={"asr_confidence": 0.9})


def _one_speech_in_pieces(settings: Settings, token: str, *said: str) -> list[dict[str, Any]]:
    """The blocks of one speech heard as ``len(said)`` pieces cut at the segmenter's maximum
    length (the n-th piece lasts n seconds, and CORE hears ``said[n - 1]`` in it: HearsBySeconds),
    the last one ended by a pause; each transcribed after the one before it, as the audio
    owner sends them."""
    auth = {"authorization": f"Bearer {token}"}
    with SettledTestClient(create_app(settings)) as client:
        orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        orch.core = HearsBySeconds(*said)
        session_id = client.post(
            "/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=auth
        ).json()["session_id"]

        async def record_all() -> None:
            previous: asyncio.Task[str | None] | None = None
            start = 0
            for i in range(len(said)):
                pcm = b"\x01\x00" * SAMPLE_RATE * (i + 1)
                utt = Utterance(start, start + len(pcm) // 2, pcm, forced=i < len(said) - 1)
                start = utt.end
                record = await orch.record_utterance(session_id, utt)
                previous = asyncio.create_task(
                    orch.transcribe_utterance(session_id, record, pcm, after=previous, continues=i > 0)
                )
            assert previous is not None
            await previous

        client.portal.call(record_all)  # type: ignore[union-attr]
        blocks: list[dict[str, Any]] = client.get(
            f"/v1/orchestrator/session/{session_id}/blocks", headers=auth
        ).json()["blocks"]
    return blocks


@pytest.mark.timeout(120)
def test_a_roll_call_cut_at_the_maximum_length_is_also_read_whole(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """A roll call read past the segmenter's 15 s is heard as pieces, each classified on its own
    words: the second piece alone does not say these are members answering the roll call, so
    the acta's table listed only the first piece's. The piece that goes on with it now also
    carries CORE's reading of the whole roll call so far (``reading``): its words and facts, the
    table's members all there; a piece that names a section of its own stands alone."""
    first = "Con gusto, señor presidente. Contestaron a lista los honorables concejales Ana María Ruiz Gómez,"
    second = "Pedro Pablo Pérez Mejía y Luis Eduardo Castillo. Hay quórum decisorio."
    third = "Siguiente punto, proposiciones y varios."
    blocks = _one_speech_in_pieces(settings, make_token(), first, second, third)
    head, piece, other = blocks
    assert [b["template_id"] for b in blocks] == ["TPL_LLAMADO_LISTA", "TPL_LLAMADO_LISTA", "TPL_VARIOS"]
    assert "reading" not in head and "reading" not in other
    assert piece["reading"]["head"] == head["block_id"]
    assert piece["reading"]["text"] == f"{head['text']} {piece['text']}"
    whole = EmbeddedCore().process_text_sync(
        TextRequest(TENANT, "a", f"{first} {second}", {}, "TPL_LLAMADO_LISTA", True)
    )
    assert piece["reading"]["structured_data"] == whole.structured_data
    present = json.dumps(piece["reading"]["structured_data"], ensure_ascii=False)
    for name in ("Ana María Ruiz Gómez", "Pedro Pablo Pérez Mejía", "Luis Eduardo Castillo"):
        assert name in present
    assert "Ana María Ruiz Gómez" not in json.dumps(piece["structured_data"], ensure_ascii=False)


@pytest.mark.timeout(120)
def test_words_after_a_cut_that_name_the_roll_call_stay_in_the_opening_they_end(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """An opening read past the segmenter's 15 s: the piece after the cut, "…Señora secretaria,
    sírvase llamar a lista y verificar el quórum.", names the roll call, so it was written there
    (and the acta's opening lost its end). It is now classified again with the words of the
    opening before it (CORE's ``continued_text``), stays in the opening, and the two pieces are
    read as one."""
    first = (
        "Siendo las nueve y diez de la mañana se declara abierta la sesión ordinaria del Concejo Distrital "
        "de Santiago de Cali. Nos acompaña el secretario de Seguridad y Justicia, doctor Mauricio Alberto "
        "Chaves Ordóñez."
    )
    second = "Señora secretaria, sírvase llamar a lista y verificar el quórum."
    blocks = _one_speech_in_pieces(settings, make_token(), first, second)
    head, piece = blocks
    assert [b["template_id"] for b in blocks] == ["TPL_APERTURA", "TPL_APERTURA"]
    assert piece["reading"]["head"] == head["block_id"]
    assert piece["reading"]["text"] == f"{first} {second}"


@pytest.mark.timeout(120)
def test_a_long_speech_cut_at_the_maximum_length_is_not_read_whole_past_its_first_minutes(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """Review: each piece of a speech cut at 15 s had CORE classify the whole speech so far,
    which grows with it (1,200 words: ~55 ms of CPU, on the event loop of an embedded CORE), for
    every piece of a speech of any length. Past READING_MAX_WORDS (about 4 minutes) a piece is
    not read whole: the readings whose facts a cut splits are far shorter."""
    from server.orchestrator import READING_MAX_WORDS

    sentence = "Quiero insistir en el informe de movilidad de la ciudad."
    long_speech = " ".join([sentence] * (READING_MAX_WORDS // 9))
    blocks = _one_speech_in_pieces(settings, make_token(), long_speech, "Y termino con esto, presidente.")
    assert len(long_speech.split()) > READING_MAX_WORDS
    head, piece = blocks
    assert head["template_id"] == piece["template_id"] == "TPL_DEBATE"
    assert piece["audio_metadata"]["continues_previous"] is True and "reading" not in piece


class LoudnessVad:
    """Voice-activity detection scripted by loudness (the test's speech is a steady tone, its
    silence zeros): each 32 ms window is speech when its mean amplitude is over 1,000."""

    async def score(self, pcm16: bytes, state: Any, cell: int) -> tuple[np.ndarray, Any]:
        samples = np.abs(np.frombuffer(pcm16, dtype="<i2").astype(np.float32))
        windows = np.pad(samples, (0, -len(samples) % 512)).reshape(-1, 512)
        return np.where(windows.mean(axis=1) > 1000, 0.9, 0.05).astype(np.float32), state

    async def aclose(self) -> None:
        """Nothing to stop: no child process."""


@pytest.mark.timeout(180)
def test_a_speech_cut_at_the_maximum_length_goes_on_as_one_across_an_owner_that_stops(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """Review of the takeover path itself: the owner of a session's audio cuts a 20 s speech at
    15 s and stops (SIGTERM's path: its pipelines cancelled, its lease let go) with the rest of
    the speech uncut; the recorder goes on through another instance, which takes the audio over
    from the last idle checkpoint. The piece it cuts was stored as the start of a new speech (the
    segmenter's knowledge that the speech was cut died with the owner); it now goes on with the
    piece before it (``continues_previous``), which is what lets CORE and BUILDER read it whole."""
    token = make_token()
    tone, quiet = (np.full(1600, 10_000, dtype="<i2").tobytes(), bytes(3200))
    frames = [quiet] * 10 + [tone] * 200  # 1 s of silence, 20 s of speech: cut once, at 15 s

    def frame(seq: int, data: bytes) -> bytes:
        return msgpack.packb({"type": "audio", "seq": seq, "format": "pcm16", "data": data})

    with (
        SettledTestClient(create_app(settings)) as first,
        SettledTestClient(create_app(settings)) as second,
    ):
        orchs = [c.app.state.astra.orchestrator for c in (first, second)]  # type: ignore[attr-defined]
        for orch in orchs:
            orch.core = InstantCore()
            orch.audio.vad = LoudnessVad()
        auth = {"authorization": f"Bearer {token}"}
        session_id = first.post(
            "/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=auth
        ).json()["session_id"]
        api = f"/v1/orchestrator/session/{session_id}"
        with first.websocket_connect(f"{api}/stream") as ws:
            ws.send_bytes(msgpack.packb({"type": "hello", "client_id": "mic", "token": token}))
            for seq, data in enumerate(frames, 1):
                ws.send_bytes(frame(seq, data))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # the first piece cut and stored
                state = first.portal.call(orchs[0].buffer.audio_state, session_id)  # type: ignore[union-attr]
                if state.get("covered_forced") == "1":
                    break
                time.sleep(0.05)
            assert state.get("covered_forced") == "1", state
        first.portal.call(orchs[0].audio.stop)  # type: ignore[union-attr]
        with second.websocket_connect(f"{api}/stream") as ws:
            ws.send_bytes(msgpack.packb({"type": "hello", "client_id": "mic", "token": token}))
            for seq, data in enumerate([quiet] * 10, len(frames) + 1):
                ws.send_bytes(frame(seq, data))
            ws.send_bytes(msgpack.packb({"type": "audio_end", "seq": len(frames) + 11}))
            deadline = time.monotonic() + 60
            blocks: list[dict[str, Any]] = []
            while len(blocks) < 2 and time.monotonic() < deadline:
                blocks = second.get(f"{api}/blocks", headers=auth).json()["blocks"]
                time.sleep(0.05)
    head, piece = blocks
    assert head["audio_metadata"]["time_end"] == piece["audio_metadata"]["time_start"]
    assert piece["audio_metadata"].get("continues_previous") is True
