"""The session buffer's Lua scripts against a real Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
import redis
import redis.exceptions

from server import protocol
from server.buffer import (
    CLOSING,
    FINALIZE_FAILED,
    FINALIZED,
    POSITION_STEP,
    Dedupe,
    LeaseLost,
    NoRoom,
    SessionBuffer,
    store_errors,
)
from server.errors import StoreUnavailable
from server.keys import SessionKeys
from server.redis_client import make_redis
from server.settings import Settings

from .conftest import refuse_writes, require_refusal, take_writes

pytestmark = [pytest.mark.anyio, pytest.mark.cluster]


@pytest.fixture
async def buffer(redis_url: str) -> AsyncIterator[SessionBuffer]:
    redis = make_redis(Settings(redis_url=redis_url))
    yield SessionBuffer(redis)
    await redis.aclose()


@pytest.mark.parametrize(
    "error",
    [
        redis.exceptions.ConnectionError("Connection refused"),
        redis.exceptions.TimeoutError("Timeout reading from socket"),
        redis.exceptions.BusyLoadingError("Redis is loading the dataset in memory"),
        redis.exceptions.ClusterDownError("The cluster is down"),
        redis.exceptions.MasterDownError("Link with MASTER is down"),
        redis.exceptions.ClusterError("TTL exhausted."),
        redis.exceptions.TryAgainError("Multiple keys request during rehashing of slot"),
        redis.exceptions.ReadOnlyError("You can't write against a read only replica."),
        redis.exceptions.SlotNotCoveredError('Slot "1234" is not covered by the cluster.'),
    ],
    ids=lambda error: type(error).__name__,
)
def test_store_errors_maps_a_store_that_cannot_serve_now_to_store_unavailable(error: Exception) -> None:
    """Redis unreachable, loading, its cluster down or reconfiguring (CLUSTERDOWN, MASTERDOWN,
    TRYAGAIN and its exhausted retries, an uncovered slot) or a primary demoted under us
    (READONLY): STORE_UNAVAILABLE (503, close 1013, retryable), caused by the Redis error."""
    with pytest.raises(StoreUnavailable) as info, store_errors():
        raise error
    assert info.value.code == "STORE_UNAVAILABLE" and info.value.http_status == 503
    assert info.value.close_code == 1013 and info.value.retryable and info.value.__cause__ is error


def test_store_errors_leaves_other_redis_errors_alone() -> None:
    """A Redis error that says something is wrong with the command itself is not an outage."""
    error = redis.exceptions.ResponseError(
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    )
    with pytest.raises(redis.exceptions.ResponseError) as info, store_errors():
        raise error
    assert info.value is error


def payload(kind: str = "block.added") -> bytes:
    return protocol.encode_event_payload(kind, 1.0, "tester", {})


async def new_session(buffer: SessionBuffer) -> str:
    sid = f"ses_{uuid.uuid4().hex}"
    assert (
        await buffer.create(
            sid,
            tenant_id="T",
            pinned={},
            metadata={},
            created_by="t",
            event_payload=payload("session.started"),
        )
        == 1
    )
    return sid


def block(n: int) -> dict[str, Any]:
    return {"block_id": f"b{n}", "type": "TEMPLATE", "text": f"t{n}", "template_id": "TPL_DEBATE"}


async def add(buffer: SessionBuffer, sid: str, n: int, dedupe: Dedupe) -> tuple[str, str]:
    token = uuid.uuid4().hex
    check = await buffer.begin_ingest(sid, dedupe, token, 60)
    if check.outcome != "ok":
        return check.outcome, check.detail
    commit = await buffer.commit_block(sid, block(n), dedupe, token, payload())
    return commit.outcome, commit.detail


async def test_a_touch_keeps_the_presence_list_alive(buffer: SessionBuffer) -> None:
    """Review: a connection's keepalive (``touch``) renewed its entry but not the list's own
    expiry (4 × presence_ttl), which only a change renewed: after 3 minutes without one the list
    expired, and the next change published a list of its author alone, everyone else gone."""
    sid = await new_session(buffer)
    key = SessionKeys(sid).presence
    await buffer.presence(sid, "set", "c1", {"client_id": "ana", "block_id": "b1"}, ttl=10.0)
    await buffer.redis.pexpire(key, 500)  # as if 4 × ttl had nearly passed with no change
    await buffer.presence(sid, "touch", "c1", ttl=10.0)
    assert await buffer.redis.pttl(key) > 30_000
    await buffer.presence(sid, "touch", "nobody", ttl=10.0)  # no entry: nothing made
    assert await buffer.redis.hkeys(key) == [b"c1"]


async def test_sequence_numbers_dedupe_and_refuse_gaps(buffer: SessionBuffer) -> None:
    """seq = last+1 is stored; a resend is a duplicate; a skip is a gap naming the last seq."""
    sid = await new_session(buffer)
    assert await add(buffer, sid, 1, Dedupe.by_seq("c", 1)) == ("ok", "2")
    assert await add(buffer, sid, 2, Dedupe.by_seq("c", 2)) == ("ok", "3")
    assert (await add(buffer, sid, 9, Dedupe.by_seq("c", 1)))[0] == "dup"
    assert await add(buffer, sid, 9, Dedupe.by_seq("c", 4)) == ("gap", "2")
    assert await add(buffer, sid, 3, Dedupe.by_seq("other", 1)) == ("ok", "4")
    assert [b["block_id"] for b in await buffer.blocks(sid)] == ["b1", "b2", "b3"]
    assert await buffer.last_seq(sid, "c") == 2


@pytest.mark.parametrize("path", ["frames", "chunk"])
async def test_the_session_keeps_when_its_first_and_last_audio_were_stored(
    buffer: SessionBuffer, path: str
) -> None:
    """The audit's timeline needs when the recording began and stopped, not when its blocks
    were made: the first stored audio's time stays, the last moves with every store."""
    sid = await new_session(buffer)
    assert (await buffer.meta(sid)).audio_first_at is None  # type: ignore[union-attr]

    async def store(n: int) -> None:
        if path == "frames":
            _, checks, _, _ = await buffer.append_audio_frames(sid, "mic", [(n, "pcm16", b"\0\0", False)])
            assert [c.outcome for c in checks] == ["ok"]
        else:
            assert (
                await buffer.append_audio(sid, Dedupe.by_seq("mic", n), [("pcm16", b"\0\0", False)])
            ).outcome == "ok"

    before = time.time()
    await store(1)
    first = await buffer.meta(sid)
    assert first is not None and first.audio_first_at is not None
    assert int(before * 1000) / 1000 <= first.audio_first_at == first.audio_last_at <= time.time()
    # the next store lands on a later millisecond (entry ids count Redis's clock in ms)
    await asyncio.sleep(max(0.0, first.audio_first_at + 0.005 - time.time()))
    await store(2)
    second = await buffer.meta(sid)
    assert second is not None and second.audio_first_at == first.audio_first_at
    assert second.audio_last_at is not None and second.audio_last_at > first.audio_first_at


async def test_commit_rechecks_duplicates_raced_past_admission(buffer: SessionBuffer) -> None:
    """Two connections admitted with the same seq: the second commit is a duplicate."""
    sid = await new_session(buffer)
    d = Dedupe.by_seq("c", 1)
    assert (await buffer.begin_ingest(sid, d, "t1", 60)).outcome == "ok"
    assert (await buffer.begin_ingest(sid, d, "t2", 60)).outcome == "ok"
    assert (await buffer.commit_block(sid, block(1), d, "t1", payload())).outcome == "ok"
    assert (await buffer.commit_block(sid, block(2), d, "t2", payload())).outcome == "dup"
    assert await buffer.block_count(sid) == 1


async def test_events_have_contiguous_ids_and_page_from_any_point(buffer: SessionBuffer) -> None:
    """Every change appends one event; ids are 1, 2, 3…; reading after n returns n+1 onwards."""
    sid = await new_session(buffer)
    for n in range(1, 11):
        await add(buffer, sid, n, Dedupe("none"))
    events = await buffer.events_after(sid, 0, 100)
    assert [i for i, _ in events] == list(range(1, 12))
    assert [i for i, _ in await buffer.events_after(sid, 7, 2)] == [8, 9]
    assert (await buffer.meta(sid)).head_event_id == 11  # type: ignore[union-attr]


async def test_raw_blocks_are_every_block_in_order_as_stored_across_pages(buffer: SessionBuffer) -> None:
    """raw_blocks reads page by page (a page boundary in the middle, one exactly at the end) and
    returns the stored msgpack of every block in order: decoded, exactly what blocks() returns."""
    sid = await new_session(buffer)
    for n in range(1, 8):
        assert (await add(buffer, sid, n, Dedupe.by_seq("c", n)))[0] == "ok"
    decoded = await buffer.blocks(sid)
    assert [b["block_id"] for b in decoded] == [f"b{n}" for n in range(1, 8)]
    for page in (3, 7, 100):
        raw = await buffer.raw_blocks(sid, page=page)
        assert [msgpack.unpackb(item) for item in raw] == decoded
    assert await buffer.raw_blocks(await new_session(buffer)) == []


async def test_raw_blocks_of_a_session_still_changing_has_each_block_once(
    buffer: SessionBuffer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A preview reads an open session: blocks stored first while the pages are read move the
    others along, and none of the blocks there all along may then be read twice or missed. (A
    block goes in first place after each of the first commands the read sends, whatever reads
    the pages; each may or may not be read.)"""
    sid = await new_session(buffer)
    for n in range(1, 7):
        assert (await add(buffer, sid, n, Dedupe.by_seq("c", n)))[0] == "ok"
    execute = buffer._r.execute_command
    inserted = 0
    inserting = False

    async def execute_then_insert_first(*args: Any, **kwargs: Any) -> Any:
        nonlocal inserted, inserting
        answer = await execute(*args, **kwargs)
        if not inserting and inserted < 4:
            inserting, inserted = True, inserted + 1
            dedupe = Dedupe.by_seq("steno", inserted)
            token = uuid.uuid4().hex
            assert (await buffer.begin_ingest(sid, dedupe, token, 60)).outcome == "ok"
            commit = await buffer.commit_block(
                sid, block(100 + inserted), dedupe, token, payload(), position=-inserted
            )
            assert commit.outcome == "ok"
            inserting = False
        return answer

    monkeypatch.setattr(buffer._r, "execute_command", execute_then_insert_first)
    raw = await buffer.raw_blocks(sid, page=2)
    monkeypatch.undo()
    read = [msgpack.unpackb(item)["block_id"] for item in raw]
    assert [b for b in read if b in {f"b{n}" for n in range(1, 7)}] == [f"b{n}" for n in range(1, 7)]
    assert len(read) == len(set(read))
    assert inserted >= 2  # the read sent more than one command, and blocks went in between


@pytest.mark.parametrize("how", ["oom", "misconf", "noreplicas"])
async def test_a_store_refusing_writes_is_store_unavailable_and_loses_nothing(
    own_redis: tuple[str, Path], how: str
) -> None:
    """Redis up but refusing writes (out of memory with noeviction, a snapshot it cannot write,
    too few replicas): STORE_UNAVAILABLE (503 / close 1013, retryable), not an internal error;
    the frames stored before stay, and the refused ones are stored once Redis takes writes."""
    url, rdb_dir = own_redis
    require_refusal(url, how)
    r = make_redis(Settings(redis_url=url))
    try:
        buffer = SessionBuffer(r)
        sid = await new_session(buffer)
        frames = [(seq, "pcm16", bytes([seq]) * 320, seq == 1) for seq in range(1, 7)]
        _, checks, _, _ = await buffer.append_audio_frames(sid, "mic", frames[:3])
        assert [c.outcome for c in checks] == ["ok"] * 3
        await refuse_writes(r, how, rdb_dir)
        with pytest.raises(StoreUnavailable) as info, store_errors():
            await buffer.append_audio_frames(sid, "mic", frames[3:])
        assert info.value.code == "STORE_UNAVAILABLE" and info.value.close_code == 1013
        assert "refuses writes" in info.value.message
        with pytest.raises(redis.exceptions.ResponseError), store_errors():  # not every reply is one
            await r.execute_command("NOSUCHCOMMAND")
        await take_writes(r, how, rdb_dir)
        _, checks, _, _ = await buffer.append_audio_frames(sid, "mic", frames[1:])
        assert [c.outcome for c in checks] == ["dup", "dup", "ok", "ok", "ok"]
        stored = await r.xrange(SessionKeys(sid).audio)
        assert b"".join(fields[b"d"] for _, fields in stored) == b"".join(f[2] for f in frames)
    finally:
        await r.aclose()


async def test_a_store_busy_with_a_long_script_is_store_unavailable_and_loses_nothing(
    own_redis: tuple[str, Path],
) -> None:
    """A script (someone's) running past lua-time-limit makes Redis answer BUSY to everything
    else: STORE_UNAVAILABLE, retryable; once it is killed the same frames are stored once."""
    url, _ = own_redis
    r = make_redis(Settings(redis_url=url))
    other = redis.asyncio.Redis.from_url(url)
    try:
        buffer = SessionBuffer(r)
        sid = await new_session(buffer)
        frames = [(seq, "pcm16", bytes([seq]) * 320, seq == 1) for seq in range(1, 5)]
        _, checks, _, _ = await buffer.append_audio_frames(sid, "mic", frames[:2])
        await r.config_set("lua-time-limit", 10)
        endless = asyncio.create_task(other.eval("while true do end", 0))
        for _ in range(200):  # bounded: until Redis runs the script past its limit
            try:
                await r.ping()
            except redis.exceptions.ResponseError as exc:
                assert str(exc).startswith("BUSY ")
                break
            await asyncio.sleep(0.02)
        else:
            pytest.fail("Redis never answered BUSY")
        with pytest.raises(StoreUnavailable) as info, store_errors():
            await buffer.append_audio_frames(sid, "mic", frames[2:])
        assert info.value.code == "STORE_UNAVAILABLE" and "BUSY" in info.value.message
        await r.script_kill()
        with pytest.raises(redis.exceptions.ResponseError, match="killed"):
            await endless
        _, checks, _, _ = await buffer.append_audio_frames(sid, "mic", frames[1:])
        assert [c.outcome for c in checks] == ["dup", "ok", "ok"]
        stored = await r.xrange(SessionKeys(sid).audio)
        assert b"".join(fields[b"d"] for _, fields in stored) == b"".join(f[2] for f in frames)
    finally:
        await other.aclose()
        await r.aclose()


async def test_closing_admits_in_flight_inputs_only(buffer: SessionBuffer) -> None:
    """After finalize begins, new input is refused but input admitted before is stored; drain
    reports it until then."""
    sid = await new_session(buffer)
    d = Dedupe.by_seq("c", 1)
    assert (await buffer.begin_ingest(sid, d, "inflight", 60)).outcome == "ok"
    assert (await buffer.begin_finalize(sid, "owner", 30, payload("session.closing")))[0] == "acquired"
    assert (await buffer.meta(sid)).status == CLOSING  # type: ignore[union-attr]
    assert (await buffer.begin_ingest(sid, Dedupe.by_seq("other", 1), "late", 60)).outcome == "closed"
    assert await buffer.drain(sid) == 1
    assert (await buffer.commit_block(sid, block(1), d, "inflight", payload())).outcome == "ok"
    assert await buffer.drain(sid) == 0
    assert (
        await buffer.commit_block(sid, block(2), Dedupe("none"), "never-admitted", payload())
    ).outcome == "closed"


async def test_after_close_the_seq_is_still_judged_first(buffer: SessionBuffer) -> None:
    """protocol.md judges a numbered input's seq first: once finalize began, and once the acta is
    sealed, a resend of an applied input is a duplicate (text, its commit, audio alone or in a
    batch, a human change), one that skipped numbers a gap naming the last applied seq, exactly
    as while open; only the expected new input is refused as closed. They all used to get
    'closed': a client was told an input it had stored was refused. Idempotency keys likewise."""
    sid = await new_session(buffer)
    assert (await add(buffer, sid, 1, Dedupe.by_seq("c", 1)))[0] == "ok"
    spoken = [("pcm16", b"\0\0", True), ("end", b"", False)]  # ends its utterance: no hold left
    assert (await buffer.append_audio(sid, Dedupe.by_seq("c", 2), spoken)).outcome == "ok"
    # HTTP audio before the console's frames, which then hold the session's recording.
    http_audio = await buffer.append_audio(sid, Dedupe.by_key("k-audio"), [("end", b"", False)])
    _, framed, _, _ = await buffer.append_audio_frames(sid, "c", [(3, "pcm16", b"\0\0", False)])
    assert [c.outcome for c in framed] == ["ok"]
    human = {"block_id": "h1", "type": "TEMPLATE", "text": "h", "version": 1}
    human["position"] = await buffer.position_after(sid, "b1")

    async def insert(dedupe: Dedupe) -> tuple[str, str]:
        outcome, detail = await buffer.change_block(
            sid, dedupe, "insert", human, 0, payload(), placed_after="b1"
        )
        return outcome, detail.decode() if isinstance(detail, bytes) else detail

    assert (await insert(Dedupe.by_seq("c", 4)))[0] == "ok"
    assert (await add(buffer, sid, 2, Dedupe.by_key("k-text")))[0] == "ok"
    blocks, entries = await buffer.block_count(sid), await buffer.redis.xlen(SessionKeys(sid).audio)

    async def text(dedupe: Dedupe) -> tuple[tuple[str, str], tuple[str, str]]:
        """How the text is admitted, and how its commit would be answered had it been admitted."""
        commit = await buffer.commit_block(sid, block(9), dedupe, "never-admitted", payload())
        return await add(buffer, sid, 9, dedupe), (commit.outcome, commit.detail)

    async def audio(dedupe: Dedupe) -> tuple[str, str]:
        check = await buffer.append_audio(sid, dedupe, [("pcm16", b"\1\1", False)])
        return check.outcome, check.detail

    async def frames(*seqs: int) -> list[tuple[str, str]]:
        _, checks, _, _ = await buffer.append_audio_frames(
            sid, "c", [(s, "pcm16", b"\1\1", False) for s in seqs]
        )
        return [(c.outcome, c.detail) for c in checks]

    assert (await buffer.begin_finalize(sid, "a", 30, payload("session.closing")))[0] == "acquired"
    for status in (CLOSING, FINALIZED):
        dup, gap, closed = ("dup", "4"), ("gap", "4"), ("closed", status)
        for seq, answer in ((1, dup), (4, dup), (5, closed), (6, gap)):
            begun, committed = await text(Dedupe.by_seq("c", seq))
            assert begun == answer and committed == answer, (status, seq)
            assert await audio(Dedupe.by_seq("c", seq)) == answer, (status, seq)
            assert await insert(Dedupe.by_seq("c", seq)) == answer, (status, seq)
        assert await frames(2, 3, 4, 5, 6, 8) == [dup, dup, dup, closed, gap, gap]
        assert await frames(5, 6) == [closed, gap]
        assert await add(buffer, sid, 9, Dedupe.by_key("k-text")) == ("dup", "b2")
        assert await audio(Dedupe.by_key("k-audio")) == ("dup", http_audio.detail)
        assert await insert(Dedupe.by_key("k-text")) == ("dup", "b2")
        assert await add(buffer, sid, 9, Dedupe.by_key("k-new")) == closed
        assert await audio(Dedupe.by_key("k-new")) == closed
        if status == CLOSING:
            assert (
                await buffer.end_finalize(sid, "a", ok=True, value={}, event_payload=payload(), retention=60)
                > 0
            )
    assert await buffer.last_seq(sid, "c") == 4
    assert await buffer.block_count(sid) == blocks
    assert await buffer.redis.xlen(SessionKeys(sid).audio) == entries


async def test_an_utterance_block_is_stored_after_a_failed_finalize_but_not_once_sealed(
    buffer: SessionBuffer,
) -> None:
    """Acked audio cut into an utterance must become a block: CORE's answer is stored while the
    session is closing and also after a finalize failed (its audio is still being transcribed,
    and the retried finalize will seal it), and it leaves the pending set; once the acta is sealed
    it is refused and the utterance stays pending (never dropped in silence)."""
    sid = await new_session(buffer)
    records = {}
    for uid in ("utt_1", "utt_2", "utt_3"):
        records[uid] = {"utterance_id": uid, "position": await buffer.reserve_position(sid)}
        assert await buffer.record_utterance(sid, uid, records[uid], 100, payload("utterance.detected"))

    async def commit(uid: str) -> str:
        position = records[uid]["position"]
        return (
            await buffer.commit_block(
                sid,
                block(position),
                Dedupe.for_utterance(uid),
                "",
                payload(),
                position=position,
                utterance_id=uid,
            )
        ).outcome

    assert (await buffer.begin_finalize(sid, "a", 30, payload("session.closing")))[0] == "acquired"
    await buffer.drain(sid, force=True)
    assert await commit("utt_1") == "ok"
    assert (
        await buffer.end_finalize(
            sid, "a", ok=False, value={"code": "X"}, event_payload=payload(), retention=60
        )
        > 0
    )
    assert await commit("utt_2") == "ok"
    text = await buffer.commit_block(sid, block(9), Dedupe.by_seq("steno", 1), "late-text", payload())
    assert text.outcome == "closed"  # only acked audio's blocks land after a failed finalize
    assert [r["utterance_id"] for r in await buffer.pending_utterances(sid)] == ["utt_3"]
    assert (await buffer.begin_finalize(sid, "b", 30, payload("session.closing")))[0] == "acquired"
    assert await buffer.end_finalize(sid, "b", ok=True, value={}, event_payload=payload(), retention=60) > 0
    assert await commit("utt_3") == "closed"
    assert [r["utterance_id"] for r in await buffer.pending_utterances(sid)] == ["utt_3"]
    assert len(await buffer.blocks(sid)) == 2


async def test_an_audio_owner_without_the_lease_records_and_trims_nothing(buffer: SessionBuffer) -> None:
    """An owner whose lease went to another instance (it expired during a stall, or a failover
    lost its last renewal) before its renewal noticed: its cut utterance is not recorded (its
    successor cuts the same audio, with other boundaries: two blocks for one speech) and its
    checkpoint neither moves the cursor nor trims audio the successor has not read."""
    sid = await new_session(buffer)
    for n in (1, 2, 3):
        assert (
            await buffer.append_audio(sid, Dedupe.by_seq("mic", n), [("pcm16", b"\0\0", False)])
        ).outcome == "ok"
    entries, _ = await buffer.audio_look(sid, "0-0", 10)
    assert await buffer.acquire_lease(sid, "old", 30)
    await buffer.checkpoint_audio(sid, entries[0][0], 1, 2, 2, "old")
    assert await buffer.record_utterance(sid, "utt_0", {"position": 1}, 1, payload(), owner="old")
    await buffer.redis.delete(SessionKeys(sid).owner)  # its lease expired
    assert await buffer.acquire_lease(sid, "new", 30)
    with pytest.raises(LeaseLost):
        await buffer.record_utterance(sid, "utt_1", {"position": 2}, 2, payload(), owner="old")
    with pytest.raises(LeaseLost):
        await buffer.checkpoint_audio(sid, entries[2][0], 3, 6, 6, "old")
    state = await buffer.audio_state(sid)
    assert (state["cursor"], state["cursor_sample"], state["covered"]) == (entries[0][0], "1", "1")
    assert [r["position"] for r in await buffer.pending_utterances(sid)] == [1]
    assert len((await buffer.audio_look(sid, "0-0", 10))[0]) == 3
    assert await buffer.record_utterance(sid, "utt_1", {"position": 2}, 2, payload(), owner="new")
    await buffer.checkpoint_audio(sid, entries[2][0], 3, 6, 6, "new")
    assert [e for e, _ in (await buffer.audio_look(sid, "0-0", 10))[0]] == [entries[2][0]]


async def test_an_utterance_recorded_again_as_the_same_call_is_recorded_not_known(
    buffer: SessionBuffer,
) -> None:
    """A cluster client retries a call whose reply was lost (a connection reset after Redis ran
    it): the same record again is recorded (so its owner sends it to CORE), logged once; another
    record of the same utterance (a successor's cut, at another reserved position) is known."""
    sid = await new_session(buffer)
    record = {"utterance_id": "utt_0", "position": await buffer.reserve_position(sid)}
    head = (await buffer.meta(sid)).head_event_id  # type: ignore[union-attr]
    assert await buffer.record_utterance(sid, "utt_0", record, 1, payload("utterance.detected"))
    assert await buffer.record_utterance(sid, "utt_0", record, 1, payload("utterance.detected"))
    assert (await buffer.meta(sid)).head_event_id == head + 1  # type: ignore[union-attr]
    other = {**record, "position": await buffer.reserve_position(sid)}
    assert not await buffer.record_utterance(sid, "utt_0", other, 1, payload("utterance.detected"))
    assert await buffer.pending_utterances(sid) == [record]


async def test_an_utterance_cut_after_the_session_is_discarded_is_not_recorded(buffer: SessionBuffer) -> None:
    """An owner behind with a session's audio goes on cutting it after an admin discards it: each
    utterance it cuts then is taken as known (no record pending for ever, past the session's
    retention, and no CORE call for it); the ones recorded before stay as they were."""
    sid = await new_session(buffer)
    assert await buffer.record_utterance(sid, "utt_0", {"position": 1}, 1, payload())
    thrown = {"by": "jefe", "reason": "ensayo"}
    assert (await buffer.discard(sid, thrown, payload(), only_if_empty=False, retention=60))[0] == "discarded"
    assert not await buffer.record_utterance(sid, "utt_1", {"position": 2}, 2, payload())
    assert [r["position"] for r in await buffer.pending_utterances(sid)] == [1]
    assert 0 < await buffer.redis.pttl(SessionKeys(sid).utterances) <= 60_000


async def test_forced_drain_refuses_stragglers(buffer: SessionBuffer) -> None:
    """An input still in flight when finalize stops waiting can no longer be stored."""
    sid = await new_session(buffer)
    d = Dedupe.by_seq("c", 1)
    await buffer.begin_ingest(sid, d, "slow", 60)
    await buffer.begin_finalize(sid, "owner", 30, payload("session.closing"))
    await buffer.drain(sid, force=True)
    assert (await buffer.commit_block(sid, block(1), d, "slow", payload())).outcome == "closed"


async def test_finalize_lock_single_owner_takeover_and_outcome(buffer: SessionBuffer) -> None:
    """One owner at a time; a dead owner's lock expires and another takes over; only the
    holder records the outcome; a failed finalize can start again; a done one reports done. The
    time of sealing (Redis's clock) and who finalizes are those of the call that began it, the
    same for a call that takes it over, and taken anew when a failed one begins again."""
    sid = await new_session(buffer)
    begun = await buffer.begin_finalize(sid, "a", 30, payload(), "ana")
    sealed_at = begun.sealed_at
    assert begun.outcome == "acquired" and sealed_at is not None and abs(sealed_at - time.time()) < 60
    assert begun.finalized_by == "ana"
    assert await buffer.begin_finalize(sid, "b", 30, payload(), "luis") == ("busy", "", None, "")
    assert await buffer.end_finalize(sid, "b", ok=True, value={}, event_payload=payload(), retention=60) == 0
    await buffer.redis.delete(f"astra:{{{sid}}}:finalize")  # a's lock expired
    taken = await buffer.begin_finalize(sid, "b", 30, payload(), "luis")  # a colleague's call
    assert taken == ("acquired", "takeover", sealed_at, "ana")
    assert (
        await buffer.end_finalize(
            sid, "b", ok=False, value={"code": "X"}, event_payload=payload(), retention=60
        )
        > 0
    )
    meta = await buffer.meta(sid)
    assert meta is not None and meta.status == FINALIZE_FAILED and meta.error == {"code": "X"}
    assert await buffer.redis.pttl(f"astra:{{{sid}}}:meta") == -1  # kept: to be finalized again
    again = await buffer.begin_finalize(sid, "c", 30, payload(), "luis")
    assert again.outcome == "acquired" and again.sealed_at is not None and again.sealed_at > sealed_at
    assert again.finalized_by == "luis"
    assert await buffer.renew_finalize(sid, "c", 30)
    assert (
        await buffer.end_finalize(sid, "c", ok=True, value={"h": 1}, event_payload=payload(), retention=60)
        > 0
    )
    meta = await buffer.meta(sid)
    assert meta is not None and meta.status == FINALIZED and meta.result == {"h": 1}
    assert (await buffer.begin_finalize(sid, "d", 30, payload()))[0] == "done"
    # begun by the version before, which kept the time but not who: the time stands
    older = await new_session(buffer)
    begun = await buffer.begin_finalize(older, "e", 30, payload(), "ana")
    await buffer.redis.hdel(f"astra:{{{older}}}:meta", "finalized_by")
    await buffer.redis.delete(f"astra:{{{older}}}:finalize")  # e's lock expired
    taken = await buffer.begin_finalize(older, "f", 30, payload(), "marta")
    assert taken == ("acquired", "takeover", begun.sealed_at, "marta")


async def test_missing_session_is_reported(buffer: SessionBuffer) -> None:
    """Scripts on an unknown session say so instead of creating keys."""
    assert (await buffer.begin_ingest("ses_nope", Dedupe("none"), "t", 60)).outcome == "missing"
    assert (await buffer.begin_finalize("ses_nope", "o", 30, payload()))[0] == "missing"
    assert await buffer.emit("ses_nope", payload()) == 0
    assert await buffer.meta("ses_nope") is None
    assert await buffer.tenant_of("ses_nope") is None


async def test_tenant_of_answers_where_meta_does(buffer: SessionBuffer) -> None:
    """The one-field read of each utterance cut: the tenant of a session, and None where
    ``meta`` is None (no session, or a hash left without its tenant by a start that failed)."""
    sid = await new_session(buffer)
    assert await buffer.tenant_of(sid) == "T" == (await buffer.meta(sid)).tenant_id  # type: ignore[union-attr]
    await buffer.redis.hdel(SessionKeys(sid).meta, "tenant_id")
    assert await buffer.meta(sid) is None and await buffer.tenant_of(sid) is None


async def insert_after(buffer: SessionBuffer, sid: str, name: str, after: str | None) -> tuple[str, Any]:
    """A human insert of block ``name`` right after ``after``, placed as the orchestrator does."""
    position = await buffer.position_after(sid, after)
    new = {"block_id": name, "type": "TEMPLATE", "text": name, "version": 1, "position": position}
    return await buffer.change_block(sid, Dedupe("none"), "insert", new, 0, payload(), placed_after=after)


async def order(buffer: SessionBuffer, sid: str) -> list[tuple[str, float]]:
    raw = await buffer.redis.zrange(f"astra:{{{sid}}}:order", 0, -1, withscores=True)
    return [(member.decode(), score) for member, score in raw]


async def test_inserts_step_past_the_block_they_follow_and_stay_below_the_next(buffer: SessionBuffer) -> None:
    """A block inserted after another goes POSITION_STEP past it when the gap allows, else half
    way to the next block; each lands strictly between its neighbours."""
    sid = await new_session(buffer)
    await add(buffer, sid, 1, Dedupe("none"))
    await add(buffer, sid, 2, Dedupe("none"))
    assert (await insert_after(buffer, sid, "x", "b1"))[0] == "ok"
    assert (await insert_after(buffer, sid, "y", "x"))[0] == "ok"
    assert (await insert_after(buffer, sid, "z", "b1"))[0] == "ok"
    (_, one), *_, (_, two) = await order(buffer, sid)  # whole positions from the counter
    assert await order(buffer, sid) == [
        ("b1", one),
        ("z", one + POSITION_STEP / 2),
        ("x", one + POSITION_STEP),
        ("y", one + 2 * POSITION_STEP),
        ("b2", two),
    ]


async def test_a_place_taken_meanwhile_is_refused_not_tied(buffer: SessionBuffer) -> None:
    """Two inserts that read the same place before either is stored: the second is refused as
    'moved' (the caller places it again) instead of tying with the first."""
    sid = await new_session(buffer)
    await add(buffer, sid, 1, Dedupe("none"))
    position = await buffer.position_after(sid, "b1")
    first = {"block_id": "p", "text": "p", "version": 1, "position": position}
    second = {"block_id": "q", "text": "q", "version": 1, "position": position}
    assert (await buffer.change_block(sid, Dedupe("none"), "insert", first, 0, payload(), placed_after="b1"))[
        0
    ] == "ok"
    assert (
        await buffer.change_block(
            sid, Dedupe.by_seq("c", 1), "insert", second, 0, payload(), placed_after="b1"
        )
    ) == ("moved", b"")
    assert await buffer.last_seq(sid, "c") == 0  # a refused change does not use up its number
    assert await buffer.block(sid, "q") is None
    assert (await insert_after(buffer, sid, "q", "b1"))[0] == "ok"
    assert [name for name, _ in await order(buffer, sid)] == ["b1", "q", "p"]


async def test_a_used_up_gap_is_renumbered_evenly_and_stale_places_are_refused(buffer: SessionBuffer) -> None:
    """When no float is left between a block and the next, position_after says which unit is
    full; renumber spreads that unit's inserted blocks evenly (whole positions untouched, order
    kept, tombstones only re-scored), logs a block.updated per live block, and refuses to run on
    a unit that changed since it was read; a change prepared before it is refused as 'moved' (a
    machine replacement with -1)."""
    sid = await new_session(buffer)
    await add(buffer, sid, 1, Dedupe("none"))
    await add(buffer, sid, 2, Dedupe("none"))
    assert (await insert_after(buffer, sid, "last", "b1"))[0] == "ok"
    stacked = []
    with pytest.raises(NoRoom) as full:
        for n in range(200):  # each right after b1: halves the gap to the one inserted before
            assert (await insert_after(buffer, sid, f"s{n}", "b1"))[0] == "ok"
            stacked.append(f"s{n}")
    (_, one), *_, (_, two) = await order(buffer, sid)
    assert full.value.unit == one and 30 < len(stacked) < 60
    gone = {"block_id": stacked[0], "text": "x", "version": 1, "deleted": True}
    gone["position"] = (await buffer.block(sid, stacked[0]))["position"]  # type: ignore[index]
    assert (await buffer.change_block(sid, Dedupe("none"), "delete", gone, 1, payload()))[0] == "ok"
    before = await order(buffer, sid)
    read = await buffer.block(sid, stacked[1])  # an edit read before the renumbering
    assert read is not None
    head = (await buffer.meta(sid)).head_event_id  # type: ignore[union-attr]
    assert await buffer.renumber(sid, int(one), lambda b: payload("block.updated")) == "ok"
    after = await order(buffer, sid)
    assert [name for name, _ in after] == [name for name, _ in before]
    count = len(after) - 2
    assert after[0] == ("b1", one) and after[-1] == ("b2", two)
    assert [score for _, score in after[1:-1]] == [one + (i + 1) / (count + 1) for i in range(count)]
    for name, score in after[1:-1]:
        stored = await buffer.block(sid, name)
        assert stored is not None
        assert stored["position"] == score or (name == stacked[0] and stored["deleted"])
    assert (await buffer.meta(sid)).head_event_id == head + count - 1  # type: ignore[union-attr]
    machine = {**read, "text": "reprocessed", "version": 2}  # CORE's answer, read before too
    assert await buffer.replace_block(sid, stacked[1], 1, machine, payload()) == -1
    edit = {**read, "text": "edited", "version": 2}
    assert await buffer.change_block(sid, Dedupe("none"), "edit", edit, 1, payload()) == ("moved", b"")
    assert (await buffer.block(sid, stacked[1]))["text"] == stacked[1]  # type: ignore[index]
    assert (await insert_after(buffer, sid, "fits", "b1"))[0] == "ok"
    # Prepared on the unit as it was, then a change lands there before it runs: nothing applies.
    spread = dict(await order(buffer, sid))
    real = buffer._renumber
    raced: list[tuple[str, Any]] = []

    async def raced_by_an_insert(**kwargs: Any) -> Any:
        raced.append(await insert_after(buffer, sid, "racer", "last"))
        return await real(**kwargs)

    buffer._renumber = raced_by_an_insert  # type: ignore[method-assign]
    assert await buffer.renumber(sid, int(one), lambda b: payload("block.updated")) == "changed"
    buffer._renumber = real  # type: ignore[method-assign]
    assert raced[0][0] == "ok"
    assert {k: v for k, v in (await order(buffer, sid)) if k != "racer"} == spread
    await buffer.begin_finalize(sid, "owner", 30, payload("session.closing"))
    assert await buffer.renumber(sid, int(one), lambda b: payload("block.updated")) == "closed"


async def test_an_utterance_is_written_by_hand_only_while_no_live_block_holds_it(
    buffer: SessionBuffer,
) -> None:
    """An insert written for an utterance is refused with the block holding its audio while that
    block stands, whether the recognizer's (stored with the utterance) or a person's; deleted,
    the utterance is free again. Nothing of a refused insert is stored."""
    sid = await new_session(buffer)
    position = await buffer.reserve_position(sid)
    machine = {**block(1), "audio_metadata": {"utterance_id": "utt_1"}}
    stored = await buffer.commit_block(
        sid, machine, Dedupe.by_key("utt_1"), "", payload(), position=position, utterance_id="utt_1"
    )
    assert stored.outcome == "ok"

    async def write(name: str, uid: str) -> tuple[str, Any]:
        position = await buffer.position_after(sid, None)
        new = {"block_id": name, "type": "TEMPLATE", "text": name, "version": 1, "position": position}
        new["audio_metadata"] = {"utterance_id": uid}
        return await buffer.change_block(sid, Dedupe("none"), "insert", new, 0, payload(), placed_after=None)

    outcome, held = await write("h1", "utt_1")
    assert outcome == "heard" and msgpack.unpackb(held)["block_id"] == "b1"
    assert (await write("h2", "utt_2"))[0] == "ok"
    outcome, held = await write("h3", "utt_2")
    assert outcome == "heard" and msgpack.unpackb(held)["block_id"] == "h2"
    assert sorted(b["block_id"] for b in await buffer.blocks(sid)) == ["b1", "h2"]
    (h2,) = [b for b in await buffer.blocks(sid) if b["block_id"] == "h2"]
    deleted = {**h2, "deleted": True, "version": 2}
    assert (await buffer.change_block(sid, Dedupe("none"), "delete", deleted, 1, payload()))[0] == "ok"
    assert (await write("h3", "utt_2"))[0] == "ok"


async def test_an_owners_look_reads_the_status_before_the_stream(
    buffer: SessionBuffer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review: ``audio_look`` read the audio stream, then the session's status, in a pipeline
    other clients' commands may run in between: an append (the session still open) and the close
    of a finalize landing between the two made the owner find no audio and a closing session, and
    stop without cutting that audio, which the acta then lacked. Read status first, a closed
    status means every append accepted before the close is already in the stream it reads."""
    sid = await new_session(buffer)
    stored = await buffer.append_audio(sid, Dedupe.by_seq("mic", 1), [("pcm16", b"\0\0", False)])
    assert stored.outcome == "ok"
    order: list[str] = []
    real_pipeline = buffer.redis.pipeline

    class Recorded:
        def __init__(self, pipe: Any) -> None:
            self.pipe = pipe

        async def __aenter__(self) -> Any:
            pipe = await self.pipe.__aenter__()

            class Calls:
                def __getattr__(self, name: str) -> Any:
                    order.append(name)
                    return getattr(pipe, name)

            return Calls()

        async def __aexit__(self, *exc: Any) -> Any:
            return await self.pipe.__aexit__(*exc)

    monkeypatch.setattr(buffer.redis, "pipeline", lambda **kw: Recorded(real_pipeline(**kw)))
    entries, status = await buffer.audio_look(sid, "0-0", 10)
    assert (len(entries), status) == (1, "OPEN")
    assert order == ["hget", "xrange", "execute"]


async def test_an_utterances_block_is_stored_once_whatever_key_its_owner_deduplicated_it_by(
    buffer: SessionBuffer,
) -> None:
    """A rolling upgrade across 317324f: an owner of the version before, whose lease lapsed while
    CORE worked, keys the utterance's block by its bare id; its successor, which transcribed the
    pending utterance again, by 'utterance:' + id. One block."""
    sid = await new_session(buffer)
    uid = "utt_000000016000"
    rec = {"utterance_id": uid, "position": await buffer.reserve_position(sid)}
    assert await buffer.record_utterance(sid, uid, rec, 100, payload("utterance.detected"))

    def machine(n: int) -> dict[str, Any]:
        return {**block(n), "audio_metadata": {"utterance_id": uid}}

    old = await buffer.commit_block(
        sid, machine(1), Dedupe.by_key(uid), "", payload(), position=rec["position"], utterance_id=uid
    )
    new = await buffer.commit_block(
        sid, machine(2), Dedupe.for_utterance(uid), "", payload(), position=rec["position"], utterance_id=uid
    )
    assert (old.outcome, new.outcome, new.detail) == ("ok", "dup", "b1")
    assert [b["block_id"] for b in await buffer.blocks(sid)] == ["b1"]
    assert await buffer.pending_utterances(sid) == []


async def test_a_late_block_of_an_utterance_written_by_hand_is_not_stored_beside_it(
    buffer: SessionBuffer,
) -> None:
    """One owner heard no words (discarded), a person wrote the utterance, then the other
    owner's CORE answer for it lands: the person's block stays the only one."""
    sid = await new_session(buffer)
    uid = "utt_000000016000"
    rec = {"utterance_id": uid, "position": await buffer.reserve_position(sid)}
    assert await buffer.record_utterance(sid, uid, rec, 100, payload("utterance.detected"))
    assert await buffer.discard_utterance(sid, uid, payload("utterance.discarded"))
    position = await buffer.position_after(sid, None)
    human = {"block_id": "h1", "type": "TEMPLATE", "text": "h1", "version": 1, "position": position}
    human["audio_metadata"] = {"utterance_id": uid}
    none = Dedupe("none")
    inserted = await buffer.change_block(sid, none, "insert", human, 0, payload(), placed_after=None)
    assert inserted[0] == "ok"
    late = await buffer.commit_block(
        sid,
        {**block(2), "audio_metadata": {"utterance_id": uid}},
        Dedupe.for_utterance(uid),
        "",
        payload(),
        position=rec["position"],
        utterance_id=uid,
    )
    assert (late.outcome, late.detail) == ("dup", "h1")
    assert [b["block_id"] for b in await buffer.blocks(sid)] == ["h1"]
