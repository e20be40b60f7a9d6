"""The session buffer's Lua scripts against a real Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgpack
import pytest

from server import protocol
from server.buffer import CLOSING, FINALIZE_FAILED, FINALIZED, Dedupe, SessionBuffer
from server.redis_client import make_redis
from server.settings import Settings

pytestmark = [pytest.mark.anyio, pytest.mark.cluster]


@pytest.fixture
async def buffer(redis_url: str) -> AsyncIterator[SessionBuffer]:
    redis = make_redis(Settings(redis_url=redis_url))
    yield SessionBuffer(redis)
    await redis.aclose()


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


async def test_closing_admits_in_flight_inputs_only(buffer: SessionBuffer) -> None:
    """After finalize begins, new input is refused but input admitted before is stored; drain
    reports it until then."""
    sid = await new_session(buffer)
    d = Dedupe.by_seq("c", 1)
    assert (await buffer.begin_ingest(sid, d, "inflight", 60)).outcome == "ok"
    assert (await buffer.begin_finalize(sid, "owner", 30, payload("session.closing")))[0] == "acquired"
    assert (await buffer.meta(sid)).status == CLOSING  # type: ignore[union-attr]
    assert (await buffer.begin_ingest(sid, Dedupe.by_seq("c", 2), "late", 60)).outcome == "closed"
    assert await buffer.drain(sid) == 1
    assert (await buffer.commit_block(sid, block(1), d, "inflight", payload())).outcome == "ok"
    assert await buffer.drain(sid) == 0
    assert (
        await buffer.commit_block(sid, block(2), Dedupe("none"), "never-admitted", payload())
    ).outcome == "closed"


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
    holder records the outcome; a failed finalize can start again; a done one reports done."""
    sid = await new_session(buffer)
    assert (await buffer.begin_finalize(sid, "a", 30, payload()))[0] == "acquired"
    assert (await buffer.begin_finalize(sid, "b", 30, payload()))[0] == "busy"
    assert await buffer.end_finalize(sid, "b", ok=True, value={}, event_payload=payload()) == 0
    await buffer.redis.delete(f"astra:{{{sid}}}:finalize")  # a's lock expired
    assert await buffer.begin_finalize(sid, "b", 30, payload()) == ("acquired", "takeover")
    assert await buffer.end_finalize(sid, "b", ok=False, value={"code": "X"}, event_payload=payload()) > 0
    meta = await buffer.meta(sid)
    assert meta is not None and meta.status == FINALIZE_FAILED and meta.error == {"code": "X"}
    assert (await buffer.begin_finalize(sid, "c", 30, payload()))[0] == "acquired"
    assert await buffer.renew_finalize(sid, "c", 30)
    assert await buffer.end_finalize(sid, "c", ok=True, value={"h": 1}, event_payload=payload()) > 0
    meta = await buffer.meta(sid)
    assert meta is not None and meta.status == FINALIZED and meta.result == {"h": 1}
    assert (await buffer.begin_finalize(sid, "d", 30, payload()))[0] == "done"


async def test_missing_session_is_reported(buffer: SessionBuffer) -> None:
    """Scripts on an unknown session say so instead of creating keys."""
    assert (await buffer.begin_ingest("ses_nope", Dedupe("none"), "t", 60)).outcome == "missing"
    assert (await buffer.begin_finalize("ses_nope", "o", 30, payload()))[0] == "missing"
    assert await buffer.emit("ses_nope", payload()) == 0
    assert await buffer.meta("ses_nope") is None
