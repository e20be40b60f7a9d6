"""Ingest pressure (server.pressure): the counts of unanswered inputs and of backlog, and the audio
owners that defer to the acks while it is high, in turns, without losing an utterance or holding a
finalize."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import msgpack
import pytest

from server import audio_pipeline
from server.app import create_app
from server.audio_pipeline import SessionAudio
from server.pressure import LIVE_ALLOWANCE, PRESSURE_INPUTS, TURN_BYTES, IngestPressure
from server.settings import Settings

from .conftest import SettledTestClient, wait_until
from .faultkit import make_timeline
from .test_audio_pipeline import (
    InstantCore,
    _blocks,
    _finalize,
    _record,
    _record_and_finalize,
    _start_session,
)

pytestmark = pytest.mark.cluster


def test_the_backlog_counts_only_inputs_beyond_each_connections_allowance() -> None:
    """Connections queue and answer at random (one input, a batch, all on closing): ``waiting`` is
    always the sum of their unanswered inputs and ``backlog`` the sum beyond LIVE_ALLOWANCE each."""
    rng = random.Random(11)
    pressure = IngestPressure()
    unanswered = [0] * 12
    for _ in range(20_000):
        c = rng.randrange(len(unanswered))
        if unanswered[c] and rng.random() < 0.5:
            count = rng.choice([1, rng.randint(1, unanswered[c]), unanswered[c]])
            pressure.answered(unanswered[c], count)
            unanswered[c] -= count
        elif unanswered[c] < 64:
            pressure.queued(unanswered[c])
            unanswered[c] += 1
        assert pressure.waiting == sum(unanswered)
        assert pressure.backlog == sum(max(0, u - LIVE_ALLOWANCE) for u in unanswered)


def test_live_consoles_do_not_make_pressure_and_resending_ones_do() -> None:
    """A thousand live consoles with a few frames unanswered each are no backlog; four consoles
    resending with their whole window (64) unanswered are."""
    pressure = IngestPressure()
    for _ in range(1000):
        for unanswered in range(3):
            pressure.queued(unanswered)
    assert pressure.waiting == 3000 and pressure.backlog == 0 and not pressure.high
    for _ in range(4):
        for unanswered in range(64):
            pressure.queued(unanswered)
    assert pressure.backlog == 4 * (64 - LIVE_ALLOWANCE) > PRESSURE_INPUTS and pressure.high


@pytest.mark.timeout(120)
def test_a_connection_that_closes_with_inputs_unanswered_leaves_no_pressure_behind(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """Inputs count from their arrival until answered; a client that leaves while the store holds
    its frames takes its count with it (else the instance would defer its audio for ever)."""
    token = make_token()
    with SettledTestClient(create_app(settings)) as client:
        state = client.app.state.astra  # type: ignore[attr-defined]
        never = asyncio.Event()

        async def store_hangs(*args: Any) -> tuple[list[Any], int]:
            await never.wait()
            return [], 0

        state.orchestrator.ingest_audio_frames = store_hangs
        session_id = _start_session(client, token)
        gauge = state.metrics.ingest_waiting
        with client.websocket_connect(f"/v1/orchestrator/session/{session_id}/stream") as ws:
            ws.send_bytes(msgpack.packb({"type": "hello", "client_id": "mic", "token": token}))
            assert msgpack.unpackb(ws.receive_bytes())["type"] == "welcome"
            for seq in range(1, 21):
                frame = {"type": "audio", "seq": seq, "format": "pcm16", "data": b"\0" * 3200}
                ws.send_bytes(msgpack.packb(frame))
            wait_until(lambda: state.pressure.waiting == 20, 30, "twenty inputs counted")
            assert gauge.collect()[0].samples[0].value == 20
            assert state.pressure.backlog == 20 - LIVE_ALLOWANCE
            assert state.metrics.ingest_backlog.collect()[0].samples[0].value == 20 - LIVE_ALLOWANCE
        wait_until(lambda: state.pressure.waiting == 0, 30, "the closed connection's inputs released")
        assert state.pressure.backlog == 0


@pytest.mark.timeout(120)
def test_under_pressure_owners_cut_audio_in_turns_and_every_utterance_becomes_a_block(
    settings: Settings, make_token: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the pressure high the owner waits for its turns and takes about TURN_BYTES of audio
    a turn (up to the entry that reaches it), from memory or from the stream; the audio is still
    all cut, each utterance one block, before any finalize."""
    monkeypatch.setattr(audio_pipeline, "DEFER", 0.05)
    overshoot: list[int] = []
    """Per take from memory: its audio bytes less its last entry's (under TURN_BYTES if it stopped
    at the entry that reached it)."""
    take = audio_pipeline.take_contiguous

    def counted_take(handed: Any, cursor: str, limit_bytes: int | None = None) -> Any:
        entries = take(handed, cursor, limit_bytes)
        if entries:
            sizes = [len(fields[b"d"]) for _, fields in entries]
            overshoot.append(sum(sizes) - sizes[-1])
        return entries

    monkeypatch.setattr(audio_pipeline, "take_contiguous", counted_take)
    turns = 0
    defer = SessionAudio._defer

    async def counted_defer(self: SessionAudio) -> None:
        nonlocal turns
        turns += 1
        await defer(self)

    monkeypatch.setattr(SessionAudio, "_defer", counted_defer)
    timeline = make_timeline(random.Random(7), pieces=4)
    frames = list(timeline.frames())
    assert sum(map(len, frames)) > 3 * TURN_BYTES  # so that a turn's bound matters
    token = make_token()
    with SettledTestClient(create_app(settings)) as client:
        state = client.app.state.astra  # type: ignore[attr-defined]
        state.orchestrator.core = InstantCore()
        state.pressure.threshold = -1  # always high
        asked: list[int] = []
        audio_look = state.orchestrator.buffer.audio_look

        async def counted_read(session_id: str, cursor: str, count: int) -> Any:
            asked.append(count)
            return await audio_look(session_id, cursor, count)

        state.orchestrator.buffer.audio_look = counted_read
        session_id = _record(client, token, timeline)
        wait_until(lambda: len(_blocks(client, token, session_id)) >= len(timeline.speech), 60, "blocks")
        # Entries are 100 ms frames or larger (frames that arrive together are stored together).
        assert max(overshoot, default=0) < TURN_BYTES and max(asked) <= TURN_BYTES // 3200, (overshoot, asked)
        assert turns >= sum(map(len, frames)) // TURN_BYTES, turns
        response = _finalize(client, token, session_id)
        assert response.status_code == 200, response.text
        assert response.json()["block_count"] == len(timeline.speech)


@pytest.mark.timeout(120)
def test_a_finalize_does_not_wait_for_an_owner_deferring_to_the_acks(
    settings: Settings, make_token: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An owner deferring for an hour is hurried by the finalize of its session: the acta is sealed
    with every utterance, not answered 503 once the audio has not moved on for the stall limit."""
    monkeypatch.setattr(audio_pipeline, "DEFER", 3600.0)
    timeline = make_timeline(random.Random(3), pieces=2)
    with SettledTestClient(create_app(settings)) as client:
        state = client.app.state.astra  # type: ignore[attr-defined]
        state.orchestrator.core = InstantCore()
        state.orchestrator.ingest_ttl = 5.0
        state.pressure.threshold = -1
        token = make_token()
        session_id, response = _record_and_finalize(client, token, timeline)
        blocks = _blocks(client, token, session_id)
    assert response.status_code == 200, response.text
    assert response.json()["block_count"] == len(blocks) == len(timeline.speech)
