"""Audio frames that arrive together are stored in one round trip and answered exactly as if
each had come alone: same outcomes, same order, same durable audio."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import hypothesis
import msgpack
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from redis.asyncio import Redis
from starlette.testclient import TestClient

from server import buffer as buffer_module
from server import protocol
from server.app import create_app
from server.buffer import CLOSING, Dedupe, SessionBuffer, _entry_id
from server.endpoint import INGEST_WINDOW, Connection, audio_run
from server.inbox import Inbox
from server.keys import SessionKeys
from server.pressure import IngestPressure
from server.protocol import Audio, AudioEnd, Text
from server.settings import Settings

from .conftest import TENANT


@pytest.fixture(params=["script", "gate"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Which way a batch's audio goes in: through the ingest script (below GATE_BYTES), or as
    plain XADDs behind the gate (every batch offered to it: it declines what the script judges
    otherwise than "all next in seq", and the script stores those; it must pass some)."""
    passed: list[Any] = []
    through_gate = SessionBuffer._append_through_gate

    async def counted(self: SessionBuffer, *args: Any) -> Any:
        judged = await through_gate(self, *args)
        if judged is not None:
            passed.append(judged)
        return judged

    if request.param == "gate":
        monkeypatch.setattr(buffer_module, "GATE_BYTES", 0)
        monkeypatch.setattr(SessionBuffer, "_append_through_gate", counted)
    yield request.param
    assert passed or request.param == "script", "no batch passed the gate"


async def _session(buffer: SessionBuffer) -> str:
    sid = f"ses_{uuid.uuid4().hex}"
    payload = protocol.encode_event_payload("session.started", 1.0, "t", {})
    await buffer.create(sid, tenant_id="T", pinned={}, metadata={}, created_by="t", event_payload=payload)
    return sid


def _frame(seq: int) -> tuple[int, str, bytes, bool]:
    return seq, ("end" if seq % 7 == 0 else "pcm16"), bytes([seq % 256]) * (seq % 4 + 1), seq % 5 == 0


async def _stored(redis: Redis, sid: str) -> tuple[list[tuple[bytes, bytes, bytes]], Any]:
    """The session's audio as a byte stream: (format, data, start) with entries that continue one
    another (same format, not a new stream's start, not 'end') joined, and the sequence mark."""
    k = SessionKeys(sid)
    stream: list[tuple[bytes, bytes, bytes]] = []
    for _, fields in await redis.xrange(k.audio):
        fmt, data, start = fields[b"f"], fields[b"d"], fields[b"s"]
        if stream and stream[-1][0] == fmt != b"end" and start != b"1":
            stream[-1] = (fmt, stream[-1][1] + data, stream[-1][2])
        else:
            stream.append((fmt, data, start))
    return stream, await redis.hget(k.producers, "rec")


async def _compare(redis_url: str, seqs: list[int], merge: int) -> None:
    redis = Redis.from_url(redis_url)
    kept = buffer_module.MERGE_BYTES
    buffer_module.MERGE_BYTES = merge
    try:
        buffer = SessionBuffer(redis)
        together, alone = await _session(buffer), await _session(buffer)
        frames = [_frame(seq) for seq in seqs]
        before, batched, handed, _ = await buffer.append_audio_frames(together, "rec", frames)
        assert before == "0-0"  # nothing was stored before this batch
        one_by_one = [
            await buffer.append_audio(alone, Dedupe.by_seq("rec", seq), [(fmt, data, start)])
            for seq, fmt, data, start in frames
        ]
        # Entry ids differ between sessions (time-based); outcome and details must not.
        assert [(c.outcome, c.detail if c.outcome != "ok" else "") for c in batched] == [
            (c.outcome, c.detail if c.outcome != "ok" else "") for c in one_by_one
        ]
        assert await _stored(redis, together) == await _stored(redis, alone)
        # Each accepted frame names the entry holding it; the entries are what the owner is handed.
        stored = [
            (entry_id.decode(), fields)
            for entry_id, fields in await redis.xrange(SessionKeys(together).audio)
        ]
        assert handed == stored
        ids = [c.detail for c in batched if c.outcome == "ok"]
        assert [d for i, d in enumerate(ids) if i == 0 or ids[i - 1] != d] == [e for e, _ in stored]
        for _, fields in stored:  # merged up to the limit (a frame over it alone)
            assert len(fields[b"d"]) <= max(merge, 4)
    finally:
        buffer_module.MERGE_BYTES = kept
        await redis.aclose()


@hypothesis.settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    runs=st.lists(
        st.tuples(st.integers(min_value=1, max_value=12), st.integers(min_value=1, max_value=6)),
        min_size=1,
        max_size=6,
    ),
    merge=st.sampled_from([1, 8, 10, 1 << 18]),
)
@hypothesis.example(runs=[(1, 2), (1, 3)], merge=1 << 18)  # a resent prefix, then new frames
@hypothesis.example(runs=[(1, 5), (5, 3)], merge=1 << 18)  # ... whose first frame started a stream
def test_batch_of_frames_matches_frame_by_frame(
    redis_url: str, path: str, runs: list[tuple[int, int]], merge: int
) -> None:
    """Any mix of new, resent and skipped sequence numbers (as runs of consecutive ones, as a
    client sends them) gets, frame by frame, the same outcome and leaves the same audio (frames
    that follow each other share entries up to the merge limit) and sequence mark as appending
    each frame alone."""
    seqs = [first + i for first, length in runs for i in range(length)]
    asyncio.run(_compare(redis_url, seqs, merge))


def test_frames_stored_together_share_entries(redis_url: str, path: str) -> None:
    """A burst of 100 ms frames costs the stream one entry per MERGE_BYTES (8 s), not one each:
    100 frames (10 s) are two entries, the same bytes in the same order; a new stream's first
    frame and audio_end start entries of their own."""

    async def run() -> None:
        redis = Redis.from_url(redis_url)
        try:
            buffer = SessionBuffer(redis)
            sid = await _session(buffer)
            frames = [(seq, "pcm16", bytes([seq]) * 3200, False) for seq in range(1, 101)]
            frames += [(101, "end", b"", False), (102, "pcm16", b"ab", True), (103, "pcm16", b"cd", False)]
            _, checks, _, _ = await buffer.append_audio_frames(sid, "rec", frames)
            assert [c.outcome for c in checks] == ["ok"] * 103
            stored = await redis.xrange(SessionKeys(sid).audio)
            assert [(f[b"f"], len(f[b"d"])) for _, f in stored] == [
                (b"pcm16", 81 * 3200),  # up to 256 KiB
                (b"pcm16", 19 * 3200),
                (b"end", 0),
                (b"pcm16", 4),
            ]
            assert stored[0][1][b"d"] + stored[1][1][b"d"] == b"".join(f[2] for f in frames[:100])
            assert stored[3][1][b"d"] == b"abcd" and stored[3][1][b"s"] == b"1"
        finally:
            await redis.aclose()

    asyncio.run(run())


def test_one_console_records_a_session_at_a_time(redis_url: str, path: str) -> None:
    """The client whose audio was stored last holds the session's recording: another client's
    frames (and HTTP audio) are refused, none stored, each still judged on its seq first; the
    hold ends with the holder's audio_end, or lapses after the hold without its frames."""

    async def run() -> None:
        redis = Redis.from_url(redis_url)
        try:
            buffer = SessionBuffer(redis)
            buffer.recording_hold = 0.5
            sid = await _session(buffer)
            _, first, _, _ = await buffer.append_audio_frames(sid, "console-a", [_frame(1), _frame(2)])
            assert [c.outcome for c in first] == ["ok", "ok"]
            entries = await redis.xlen(SessionKeys(sid).audio)
            _, other, _, _ = await buffer.append_audio_frames(sid, "console-b", [_frame(1), _frame(3)])
            assert [(c.outcome, c.detail) for c in other] == [("recording", "console-a"), ("gap", "0")]
            http = await buffer.append_audio(sid, Dedupe.by_key("k1"), [("pcm16", b"\0" * 320, False)])
            assert (http.outcome, http.detail) == ("recording", "console-a")
            assert await redis.xlen(SessionKeys(sid).audio) == entries  # nothing of theirs stored
            _, again, _, _ = await buffer.append_audio_frames(sid, "console-a", [_frame(2), _frame(3)])
            assert [c.outcome for c in again] == ["dup", "ok"]  # the holder goes on
            _, ended, _, _ = await buffer.append_audio_frames(sid, "console-a", [(4, "end", b"", False)])
            assert [c.outcome for c in ended] == ["ok"]
            _, taken, _, _ = await buffer.append_audio_frames(sid, "console-b", [_frame(1)])
            assert [c.outcome for c in taken] == ["ok"]  # released by audio_end: b records now
            _, lapsed, _, _ = await buffer.append_audio_frames(sid, "console-a", [_frame(5)])
            assert [c.outcome for c in lapsed] == ["recording"]
            for _ in range(100):  # bounded: b sends nothing more; its hold lapses after 0.5 s
                await asyncio.sleep(0.05)
                before, lapsed, _, _ = await buffer.append_audio_frames(sid, "console-a", [_frame(5)])
                if lapsed[0].outcome == "ok":
                    break
            assert lapsed[0].outcome == "ok"
            # the end of stream is the entry before a's frames: an owner handed them reads it first
            marker = (await redis.xrevrange(SessionKeys(sid).audio, count=2))[1]
            assert marker[1][b"f"] == b"end" and before == marker[0].decode()
            # b's hold lapsed without its audio_end: a's audio goes after an end of stream, so the
            # speech b left open ends there (its owner holds it back for b's resend otherwise)
            tail = await redis.xrevrange(SessionKeys(sid).audio, count=3)
            assert [f[b"f"] for _, f in reversed(tail)] == [b"pcm16", b"end", b"pcm16"]
            _, more, _, _ = await buffer.append_audio_frames(sid, "console-a", [_frame(6)])
            assert [c.outcome for c in more] == ["ok"]
            assert (await redis.xrevrange(SessionKeys(sid).audio, count=1))[0][1][b"f"] == b"pcm16"
            formats = [f[b"f"] for _, f in await redis.xrange(SessionKeys(sid).audio)]
            # a's 1-2 and 3, a's end, b's 1, the end b never sent, a's 5, a's 6
            assert formats == [b"pcm16", b"pcm16", b"end", b"pcm16", b"end", b"pcm16", b"pcm16"]
        finally:
            await redis.aclose()

    asyncio.run(run())


def test_who_holds_the_recording_is_judged_by_redis_clock(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GET session's ``recording`` compares the hold's end with Redis's clock, the one the hold is
    kept by: a host whose clock runs an hour ahead used to report nobody recording (so finalize
    gave no warning) while Redis still refused other consoles."""

    class HourAhead:
        @staticmethod
        def time() -> float:
            return time.time() + 3600

    async def run() -> None:
        redis = Redis.from_url(redis_url)
        try:
            buffer = SessionBuffer(redis)
            sid = await _session(buffer)
            await buffer.append_audio_frames(sid, "console-a", [_frame(1)])
            monkeypatch.setattr(buffer_module, "time", HourAhead)
            held = await buffer.recording(sid)
            assert held is not None and held[0] == "console-a"
            _, other, _, _ = await buffer.append_audio_frames(sid, "console-b", [_frame(1)])
            assert [c.outcome for c in other] == ["recording"]
        finally:
            await redis.aclose()

    asyncio.run(run())


def test_http_audio_holds_the_recording_while_its_utterance_is_open(redis_url: str) -> None:
    """HTTP audio that leaves its utterance open (``continues``) takes the session's recording as
    a console's frames do: a console starting between the HTTP client's chunks is refused, where
    it used to be let in and its audio woven into the open utterance. The chunk that ends the
    utterance releases it; another HTTP client is refused meanwhile too."""

    async def run() -> None:
        redis = Redis.from_url(redis_url)
        try:
            buffer = SessionBuffer(redis)
            sid = await _session(buffer)
            pcm = ("pcm16", b"\0" * 320, False)
            opened = await buffer.append_audio(sid, Dedupe.by_key("k1"), [pcm], holder="http:op")
            assert opened.outcome == "ok"
            _, console, _, _ = await buffer.append_audio_frames(sid, "console-a", [_frame(1)])
            assert [(c.outcome, c.detail) for c in console] == [("recording", "http:op")]
            other = await buffer.append_audio(sid, Dedupe.by_key("k2"), [pcm], holder="http:other")
            assert (other.outcome, other.detail) == ("recording", "http:op")
            ended = await buffer.append_audio(
                sid, Dedupe.by_key("k3"), [pcm, ("end", b"", False)], holder="http:op"
            )
            assert ended.outcome == "ok"
            _, console, _, _ = await buffer.append_audio_frames(sid, "console-a", [_frame(1)])
            assert [c.outcome for c in console] == ["ok"]
        finally:
            await redis.aclose()

    asyncio.run(run())


def test_the_recording_hold_lasts_its_whole_length_after_the_last_frame(redis_url: str, path: str) -> None:
    """Each batch renews the hold: another console is refused until the hold has passed since the
    holder's last frame (it used to be renewed only past half its length, leaving as little as
    half). Generous margins: only a stall of more than 1.4 s here could make it pass early."""

    async def run() -> None:
        redis = Redis.from_url(redis_url)
        try:
            buffer = SessionBuffer(redis)
            buffer.recording_hold = 4.0
            sid = await _session(buffer)
            await buffer.append_audio_frames(sid, "console-a", [_frame(1)])
            await asyncio.sleep(1.8)
            await buffer.append_audio_frames(sid, "console-a", [_frame(2)])
            await asyncio.sleep(2.6)  # 4.4 s after the first frame, 2.6 s after the last
            _, other, _, _ = await buffer.append_audio_frames(sid, "console-b", [_frame(1)])
            assert [c.outcome for c in other] == ["recording"]
            held = await buffer.recording(sid)
            assert held is not None and held[0] == "console-a"
        finally:
            await redis.aclose()

    asyncio.run(run())


def test_closed_or_missing_session_stores_no_frame(redis_url: str, path: str) -> None:
    """A batch for a closing or unknown session stores nothing. Closing, each frame is still
    judged on its seq first, as if appended alone: a resend is a duplicate, a skipped number a
    gap, and only the expected frame is refused as closed (resends used to be refused too)."""

    async def run() -> None:
        redis = Redis.from_url(redis_url)
        try:
            buffer = SessionBuffer(redis)
            sid = await _session(buffer)
            await buffer.append_audio_frames(sid, "rec", [_frame(1), _frame(2)])
            entries = await redis.xlen(SessionKeys(sid).audio)
            await redis.hset(SessionKeys(sid).meta, "status", CLOSING)
            frames = [_frame(seq) for seq in (1, 2, 3, 4)]
            _, closed, _, _ = await buffer.append_audio_frames(sid, "rec", frames)
            alone = [
                await buffer.append_audio(sid, Dedupe.by_seq("rec", seq), [(fmt, data, start)])
                for seq, fmt, data, start in frames
            ]
            expected = [("dup", "2"), ("dup", "2"), ("closed", CLOSING), ("gap", "2")]
            assert (
                [(c.outcome, c.detail) for c in closed] == [(c.outcome, c.detail) for c in alone] == expected
            )
            _, missing, _, _ = await buffer.append_audio_frames(f"ses_{uuid.uuid4().hex}", "rec", [_frame(1)])
            assert [c.outcome for c in missing] == ["missing"]
            assert await redis.xlen(SessionKeys(sid).audio) == entries
        finally:
            await redis.aclose()

    asyncio.run(run())


def test_batch_names_the_entry_stored_just_before_it(redis_url: str, path: str) -> None:
    """A batch reports the last entry the stream held before it, also when that entry came from
    another way in (HTTP): the owner can tell whether the batch follows what it has read."""

    async def run() -> None:
        redis = Redis.from_url(redis_url)
        try:
            buffer = SessionBuffer(redis)
            sid = await _session(buffer)
            _, first, _, _ = await buffer.append_audio_frames(sid, "rec", [_frame(1), _frame(2)])
            before, second, _, _ = await buffer.append_audio_frames(sid, "rec", [_frame(2), _frame(3)])
            assert before == first[1].detail and [c.outcome for c in second] == ["dup", "ok"]
            await buffer.append_audio_frames(sid, "rec", [(4, "end", b"", False)])  # lets HTTP in
            chunk = [("pcm16", b"\x00\x00", False), ("end", b"", False)]  # ends: lets "rec" in again
            http = await buffer.append_audio(sid, Dedupe.by_key("k1"), chunk)
            assert http.outcome == "ok"
            before, _, _, _ = await buffer.append_audio_frames(sid, "rec", [_frame(5)])
            assert before == http.detail
        finally:
            await redis.aclose()

    asyncio.run(run())


def test_burst_of_mixed_frames_is_answered_in_order_once_each(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """Audio frames sent in one burst, with a text frame, a resend and a skip among them, are
    answered once each, in the order sent, as the protocol says for each frame alone."""
    token = make_token()
    silence = bytes(3200)
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/v1/orchestrator/session/start",
            json={"tenant_id": TENANT},
            headers={"authorization": f"Bearer {token}"},
        )
        session_id = response.json()["session_id"]
        with client.websocket_connect(f"/v1/orchestrator/session/{session_id}/stream") as ws:
            ws.send_bytes(msgpack.packb({"type": "hello", "client_id": "rec", "token": token}))
            frames: list[dict[str, Any]] = [
                {"type": "audio", "seq": seq, "format": "pcm16", "data": silence} for seq in range(1, 31)
            ]
            frames.append({"type": "text", "seq": 31, "text": "Se abre la sesión."})
            frames += [
                {"type": "audio", "seq": seq, "format": "pcm16", "data": silence} for seq in range(32, 41)
            ]
            frames.append({"type": "audio", "seq": 5, "format": "pcm16", "data": silence})  # a resend
            frames.append({"type": "audio_end", "seq": 41})
            frames.append({"type": "audio", "seq": 50, "format": "pcm16", "data": silence})  # a skip
            frames.append({"type": "audio", "seq": 42, "format": "pcm16", "data": silence})
            for frame in frames:
                ws.send_bytes(msgpack.packb(frame))
            answers: list[dict[str, Any]] = []
            while len(answers) < len(frames):
                message = msgpack.unpackb(ws.receive_bytes())
                if message["type"] in ("ack", "error"):
                    answers.append(message)
            assert [a["seq"] for a in answers] == [f["seq"] for f in frames]
            assert all(a["type"] == "ack" and not a["duplicate"] for a in answers[:30] + answers[31:40])
            assert answers[30]["type"] == "ack" and answers[30]["block_id"]  # the text became a block
            assert answers[40]["type"] == "ack" and answers[40]["duplicate"]
            assert answers[41]["type"] == "ack" and not answers[41]["duplicate"]
            assert answers[42]["type"] == "error" and answers[42]["code"] == "SEQ_GAP"
            assert answers[42]["details"]["expected"] == 42
            assert answers[43]["type"] == "ack" and not answers[43]["duplicate"]
        last = client.portal.call(  # type: ignore[union-attr]
            client.app.state.astra.redis.hget,  # type: ignore[attr-defined]
            SessionKeys(session_id).producers,
            "rec",
        )
        assert int(last) == 42


def test_audio_run_stops_at_the_first_other_frame() -> None:
    """The ingester takes the audio frames queued behind an audio frame, and hands back the first
    frame of another kind to be handled next, so inputs keep the order they were sent in."""
    queue: Inbox[Any] = Inbox()
    a = [Audio(seq, "pcm16", b"\x00\x00", False) for seq in range(1, 6)]
    text = Text(3, "hola")
    for item in (a[1], AudioEnd(3), text, a[4]):
        queue.put_nowait(item)
    run, held = audio_run(a[0], queue)
    assert run == [a[0], a[1], AudioEnd(3)]
    assert held == text
    assert queue.get_nowait() == a[4] and queue.empty()
    assert audio_run(a[4], queue) == ([a[4]], None)


def test_audio_run_stops_before_its_byte_limit() -> None:
    """A run holds at most ``max_bytes`` of audio (the first frame always goes); the frame that
    would exceed it is handed back to start the next run."""
    queue: Inbox[Any] = Inbox()
    frames = [Audio(seq, "pcm16", bytes(400), False) for seq in range(1, 5)]
    for frame in frames[1:]:
        queue.put_nowait(frame)
    run, held = audio_run(frames[0], queue, max_bytes=1000)
    assert run == frames[:2] and held == frames[2]
    assert queue.get_nowait() == frames[3]
    assert audio_run(Audio(9, "pcm16", bytes(5000), False), queue, max_bytes=1000)[0] == [
        Audio(9, "pcm16", bytes(5000), False)
    ]


def test_the_reader_stops_queueing_at_the_ingest_window_and_goes_on_as_inputs_are_answered(
    settings: Settings,
) -> None:
    """With INGEST_WINDOW inputs unanswered the reader waits (the socket is not read) until the
    ingester answers some; then it queues the next one at once. The instance's count of
    unanswered inputs (server.pressure) follows."""
    pressure = IngestPressure()
    state = SimpleNamespace(settings=settings, pressure=pressure)
    connection = Connection(SimpleNamespace(scope={}), state, "ses_window")  # type: ignore[arg-type]
    frame = Audio(1, "pcm16", b"\x00\x00", False)

    async def scenario() -> None:
        for _ in range(INGEST_WINDOW):
            await asyncio.wait_for(connection._queue_input(frame), 5)
        blocked = asyncio.create_task(connection._queue_input(frame))
        for _ in range(5):
            await asyncio.sleep(0)
        assert not blocked.done() and len(connection._inputs) == INGEST_WINDOW
        assert pressure.waiting == INGEST_WINDOW
        connection._answered(1)
        await asyncio.wait_for(blocked, 5)
        assert len(connection._inputs) == INGEST_WINDOW + 1 and pressure.waiting == INGEST_WINDOW

    asyncio.run(scenario())


async def _gate_calls(redis: Redis) -> dict[str, int]:
    stats = await redis.info("commandstats")
    return {name: stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("exec", "rename", "xsetid")}


def _burst(first: int, count: int) -> list[tuple[int, str, bytes, bool]]:
    """``count`` 100 ms frames from seq ``first``: 32 of them are GATE_BYTES."""
    return [(seq, "pcm16", bytes([seq % 256]) * 3200, False) for seq in range(first, first + count)]


def test_bursts_pass_the_gate_with_their_audio_kept_out_of_lua(redis_url: str) -> None:
    """A burst (at least GATE_BYTES) is stored by plain XADDs behind the gate script, in one
    transaction: the same entries, outcomes and marks as through the ingest script, and no gate
    key is left. When the gate cannot run (its script flushed) or declines (a resend), the ingest
    script stores the frames, once; the next burst passes the gate again."""

    async def run() -> None:
        redis = Redis.from_url(redis_url)
        try:
            buffer = SessionBuffer(redis)
            sid = await _session(buffer)
            k = SessionKeys(sid)
            await redis.script_flush()
            _, first, handed, _ = await buffer.append_audio_frames(sid, "rec", _burst(1, 32))  # NOSCRIPT
            assert [c.outcome for c in first] == ["ok"] * 32 and len(handed) == 1
            calls = await _gate_calls(redis)
            before, second, handed, _ = await buffer.append_audio_frames(sid, "rec", _burst(33, 40))
            after = await _gate_calls(redis)
            assert after["exec"] == calls["exec"] + 1 and after["rename"] == calls["rename"] + 2
            assert after["xsetid"] == calls["xsetid"] + 1  # the ids proven to follow the stream
            assert before == first[0].detail and [c.outcome for c in second] == ["ok"] * 40
            stored = [(i.decode(), f) for i, f in await redis.xrange(k.audio)]
            assert stored[1:] == handed and handed[0][0] == second[0].detail
            assert handed[0][1] == {b"f": b"pcm16", b"d": b"".join(f[2] for f in _burst(33, 40)), b"s": b""}
            assert _entry_id(stored[1][0]) > _entry_id(stored[0][0])
            meta = await redis.hgetall(k.meta)
            assert meta[b"audio_first"].decode() == stored[0][0]
            assert meta[b"audio_last"].decode() == stored[1][0]
            assert meta[b"recorder"] == b"rec" and await redis.hget(k.producers, "rec") == b"72"
            assert not await redis.exists(k.audio_gate)
            # A resend with new frames behind it: declined, judged frame by frame by the script.
            calls = await _gate_calls(redis)
            _, third, _, _ = await buffer.append_audio_frames(sid, "rec", _burst(60, 40))
            assert [c.outcome for c in third] == ["dup"] * 13 + ["ok"] * 27
            assert (await _gate_calls(redis))["rename"] == calls["rename"] + 1  # only the failed one back
            assert await redis.xlen(k.audio) == 3 and not await redis.exists(k.audio_gate)
            # audio_end at the end of a burst releases the recording, as through the script.
            _, fourth, _, _ = await buffer.append_audio_frames(
                sid, "rec", [*_burst(100, 31), (131, "end", b"", False)]
            )
            assert [c.outcome for c in fourth] == ["ok"] * 32
            assert await redis.hget(k.meta, "recorder") is None
        finally:
            await redis.aclose()

    asyncio.run(run())


def test_the_audio_backlog_counts_what_is_stored_and_not_read_yet(redis_url: str) -> None:
    """A session's audio backlog (max_audio_backlog) is the audio bytes stored, by each way of
    storing (the ingest script, the gate, an append), less those its owner said it read: a
    resent prefix is not counted again, nor is a successor's reading again of what its
    predecessor told. Over the bound an append is refused, nothing stored and its seq not used;
    a session closed to audio has none."""
    frame = 3200

    async def run() -> None:
        redis = Redis.from_url(redis_url)
        try:
            buffer = SessionBuffer(redis)
            sid = await _session(buffer)
            await redis.script_flush()
            *_, backlog = await buffer.append_audio_frames(sid, "rec", _burst(1, 32))  # the script
            assert backlog == 32 * frame
            calls = await _gate_calls(redis)
            *_, backlog = await buffer.append_audio_frames(sid, "rec", _burst(33, 40))
            assert (await _gate_calls(redis))["exec"] == calls["exec"] + 1  # through the gate
            assert backlog == 72 * frame == await buffer.audio_backlog(sid)
            _, checks, _, backlog = await buffer.append_audio_frames(sid, "rec", _burst(33, 41))
            assert [c.outcome for c in checks] == ["dup"] * 40 + ["ok"]  # a resent prefix
            assert backlog == 73 * frame

            entries, _ = await buffer.audio_look(sid, "0-0", 10)
            assert (
                await buffer.checkpoint_audio(sid, entries[0][0], 32 * 1600, 32 * frame, 50 * frame) is None
            )
            assert await buffer.audio_backlog(sid) == 23 * frame
            assert (await buffer.audio_state(sid))["cursor_bytes"] == str(32 * frame)
            # a successor resumes at the cursor: what it reads again is not read twice
            await buffer.checkpoint_audio(sid, entries[0][0], 32 * 1600, 32 * frame, 40 * frame)
            assert await buffer.audio_backlog(sid) == 23 * frame

            buffer.max_audio_backlog = 23 * frame
            chunk = [("pcm16", b"\0" * frame, False)]
            refused = await buffer.append_audio(sid, Dedupe.by_seq("rec", 74), chunk)
            assert (refused.outcome, refused.detail) == ("backlog", str(23 * frame))
            assert await buffer.audio_backlog(sid) == 23 * frame
            buffer.max_audio_backlog = 24 * frame
            stored = await buffer.append_audio(sid, Dedupe.by_seq("rec", 74), chunk)
            assert stored.outcome == "ok"  # the same seq: the refusal did not take it
            assert await buffer.audio_backlog(sid) == 24 * frame
            # An owner at the stream's last entry has read it all, whatever it counted (one that
            # started from no count: audio stored by an older version, read by one that kept none)
            last = (await buffer.audio_look(sid, entries[0][0], 100))[0][-1][0]
            assert await buffer.checkpoint_audio(sid, last, 74 * 1600, 0, 0) == 74 * frame
            assert await buffer.audio_backlog(sid) == 0
            assert (await buffer.audio_state(sid))["cursor_bytes"] == str(74 * frame)
            await redis.hset(SessionKeys(sid).meta, "status", CLOSING)
            assert await buffer.audio_backlog(sid) == 0
        finally:
            await redis.aclose()

    asyncio.run(run())


def test_the_gate_declines_ids_that_do_not_follow_the_stream(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gate is offered ids from this host's clock, after the last entry this process stored.
    An entry stored with a later id (another host's clock, a little ahead) makes it decline, and
    the script stores the burst after that entry; the next burst passes with ids after it. Ids
    over a second ahead of Redis's clock or behind it (this host's clock wrong) are declined: they
    would date the audio's arrival wrong, and the recording hold goes by those dates. An entry
    later than the session's audio_last (which cannot happen: every writer sets it) makes XSETID
    fail, and the same. Either way the entries' ids keep growing, so no owner's cursor can pass
    over audio. The host's clock the buffer reads is set by the test, so that no step depends on
    how fast the ones before it ran."""
    clock = [time.time()]
    monkeypatch.setattr(buffer_module, "time", SimpleNamespace(time=lambda: clock[0]))

    async def redis_ms(redis: Redis) -> int:
        seconds, micros = await redis.time()
        return int(seconds * 1000 + micros // 1000)

    async def run() -> None:
        redis = Redis.from_url(redis_url)
        try:
            buffer = SessionBuffer(redis)
            sid = await _session(buffer)
            k = SessionKeys(sid)
            await buffer.append_audio_frames(sid, "rec", _burst(1, 32))
            await buffer.append_audio_frames(sid, "rec", _burst(33, 32))  # loads the gate's script
            # Another host's entry 800 ms after this host's clock (which stays where it is).
            clock[0] = await redis_ms(redis) / 1000
            ahead = f"{int(clock[0] * 1000) + 800}-5"
            await redis.xadd(k.audio, {"f": "pcm16", "d": b"", "s": ""}, id=ahead)
            await redis.hset(k.meta, "audio_last", ahead)
            calls = await _gate_calls(redis)
            _, checks, _, _ = await buffer.append_audio_frames(sid, "rec", _burst(65, 32))
            assert [c.outcome for c in checks] == ["ok"] * 32
            assert _entry_id(checks[0].detail) > _entry_id(ahead)
            assert (await _gate_calls(redis))["rename"] == calls["rename"] + 1  # declined
            clock[0] = await redis_ms(redis) / 1000  # ids after that entry, within a second of now
            _, checks, _, _ = await buffer.append_audio_frames(sid, "rec", _burst(97, 32))
            assert (await _gate_calls(redis))["rename"] == calls["rename"] + 3  # passed
            # This host's clock a minute ahead: declined, stored by the script at Redis's time.
            clock[0] = await redis_ms(redis) / 1000 + 60
            calls = await _gate_calls(redis)
            _, checks, _, _ = await buffer.append_audio_frames(sid, "rec", _burst(129, 32))
            assert [c.outcome for c in checks] == ["ok"] * 32
            assert (await _gate_calls(redis))["rename"] == calls["rename"] + 1  # declined
            assert _entry_id(checks[0].detail)[0] < clock[0] * 1000
            # This host's clock a minute behind, where the last entry is older still: the ids
            # would follow it, and are declined all the same.
            behind = await redis_ms(redis) - 60_000
            clock[0] = behind / 1000
            sid2 = await _session(buffer)
            k2 = SessionKeys(sid2)
            await redis.xadd(k2.audio, {"f": "pcm16", "d": b"", "s": ""}, id=f"{behind - 60_000}-1")
            await redis.hset(k2.meta, "audio_last", f"{behind - 60_000}-1")
            buffer._last_entries[sid2] = f"{behind - 60_000}-1"
            calls = await _gate_calls(redis)
            _, checks, _, _ = await buffer.append_audio_frames(sid2, "rec", _burst(1, 32))
            assert [c.outcome for c in checks] == ["ok"] * 32
            assert (await _gate_calls(redis))["rename"] == calls["rename"] + 1  # declined
            assert _entry_id(checks[0].detail)[0] > behind + 59_000  # dated by Redis's clock
            # An entry audio_last does not know of: XSETID refuses the gate's ids.
            clock[0] = await redis_ms(redis) / 1000
            hidden = f"{_entry_id(buffer._last_entries[sid])[0] + 120_000}-0"
            await redis.xadd(k.audio, {"f": "pcm16", "d": b"", "s": ""}, id=hidden)
            calls = await _gate_calls(redis)
            _, checks, _, _ = await buffer.append_audio_frames(sid, "rec", _burst(161, 32))
            assert [c.outcome for c in checks] == ["ok"] * 32
            assert (await _gate_calls(redis))["xsetid"] == calls["xsetid"] + 1  # refused
            assert _entry_id(checks[0].detail) > _entry_id(hidden)
            ids = [_entry_id(i.decode()) for i, _ in await redis.xrange(k.audio)]
            assert ids == sorted(ids) and len(ids) == 8
            assert await redis.hget(k.producers, "rec") == b"192" and not await redis.exists(k.audio_gate)
        finally:
            await redis.aclose()

    asyncio.run(run())


@pytest.mark.parametrize("refused", ["multi", "exec"])
def test_a_redis_refusing_transactions_gets_bursts_through_the_script(redis_url: str, refused: str) -> None:
    """Where an ACL (or a proxy) refuses MULTI, the gate's commands would run one by one, not
    atomically: asked once, the buffer stores bursts through the ingest script instead, and live
    frames after them still go in. A refused EXEC aborts the block (EXECABORT, on Redis 6.2 and
    7.0), and the script stores the burst the same way."""
    user = f"astra_no_{refused}_{uuid.uuid4().hex[:8]}"

    async def run() -> None:
        admin = Redis.from_url(redis_url)
        await admin.acl_setuser(
            user, enabled=True, nopass=True, keys=["*"], channels=["*"], commands=["+@all", f"-{refused}"]
        )
        redis = Redis.from_url(redis_url, username=user)
        try:
            buffer = SessionBuffer(redis)
            sid = await _session(buffer)
            k = SessionKeys(sid)
            calls = await _gate_calls(admin)
            for first in (1, 33):
                _, checks, _, _ = await buffer.append_audio_frames(sid, "rec", _burst(first, 32))
                assert [c.outcome for c in checks] == ["ok"] * 32
            _, checks, _, _ = await buffer.append_audio_frames(sid, "rec", [_frame(65)])
            assert [c.outcome for c in checks] == ["ok"]
            after = await _gate_calls(admin)
            assert after["rename"] == calls["rename"] and after["xsetid"] == calls["xsetid"]
            assert await redis.xlen(k.audio) == 3 and await redis.hget(k.producers, "rec") == b"65"
            assert not await redis.exists(k.audio_gate)
            assert buffer._append_audio_frames._transactions is False  # refused for good: not asked again
        finally:
            await redis.aclose()
            await admin.acl_deluser(user)
            await admin.aclose()

    asyncio.run(run())
