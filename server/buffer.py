"""The session buffer: a session's state, blocks and event log in Redis, changed by Lua scripts.

Every change that must be atomic (a block stored *and* its sequence number recorded *and* its
event appended to the log *and* published) is one script, so a crash between steps is
impossible and each change costs one round trip. Key names come from :mod:`server.keys`.

Session status: ``OPEN`` → ``CLOSING`` (finalize draining and building) → ``FINALIZED``;
a failed build leaves ``FINALIZE_FAILED`` (closed to input, finalize may be retried).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import msgpack
from redis.asyncio import Redis

from . import keys
from .keys import SessionKeys

OPEN = "OPEN"
CLOSING = "CLOSING"
FINALIZED = "FINALIZED"
FINALIZE_FAILED = "FINALIZE_FAILED"


def pack(value: Any) -> bytes:
    data: bytes = msgpack.packb(value, use_bin_type=True)
    return data


def unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, raw=False)


# -- Lua scripts ---------------------------------------------------------------------------------

_EMIT = """
local function emit(meta, events, channel, payload)
  local id = redis.call('HINCRBY', meta, 'events', 1)
  redis.call('XADD', events, id .. '-0', 'p', payload)
  redis.call('PUBLISH', channel, id .. ':' .. payload)
  return id
end
"""

# KEYS: meta, events, tenant_sessions   ARGV: session_started_payload, channel, session_id, field, value, ...
_CREATE = (
    _EMIT
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('SADD', KEYS[3], ARGV[3])
return emit(KEYS[1], KEYS[2], ARGV[2], ARGV[1])
"""
)

# KEYS: meta, producers, idem, inflight
# ARGV: mode ('seq'|'key'|'none'), producer, seq-or-key, ingest_token, ttl_ms
_BEGIN_INGEST = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing', ''} end
if status ~= 'OPEN' then return {'closed', status} end
if ARGV[1] == 'seq' then
  local last = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')
  local seq = tonumber(ARGV[3])
  if seq <= last then return {'dup', tostring(last)} end
  if seq > last + 1 then return {'gap', tostring(last)} end
elseif ARGV[1] == 'key' then
  local existing = redis.call('HGET', KEYS[3], ARGV[3])
  if existing then return {'dup', existing} end
end
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[4], now_ms + tonumber(ARGV[5]), ARGV[4])
return {'ok', redis.call('HGET', KEYS[1], 'last_template') or ''}
"""

# KEYS: meta, blocks, order, events, producers, idem, inflight
# ARGV: mode, producer, seq-or-key, ingest_token, block_id, block, event_payload, channel, template
_COMMIT_BLOCK = (
    _EMIT
    + """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing', ''} end
local admitted = redis.call('ZREM', KEYS[7], ARGV[4]) == 1
if status ~= 'OPEN' and not (status == 'CLOSING' and admitted) then return {'closed', status} end
if ARGV[1] == 'seq' then
  local last = tonumber(redis.call('HGET', KEYS[5], ARGV[2]) or '0')
  local seq = tonumber(ARGV[3])
  if seq <= last then return {'dup', ''} end
  if seq > last + 1 then return {'gap', tostring(last)} end
  redis.call('HSET', KEYS[5], ARGV[2], ARGV[3])
elseif ARGV[1] == 'key' then
  local existing = redis.call('HGET', KEYS[6], ARGV[3])
  if existing then return {'dup', existing} end
  redis.call('HSET', KEYS[6], ARGV[3], ARGV[5])
end
local pos = redis.call('HINCRBY', KEYS[1], 'positions', 1)
redis.call('HSET', KEYS[2], ARGV[5], ARGV[6])
redis.call('ZADD', KEYS[3], pos, ARGV[5])
if ARGV[9] ~= '' then redis.call('HSET', KEYS[1], 'last_template', ARGV[9]) end
return {'ok', tostring(emit(KEYS[1], KEYS[4], ARGV[8], ARGV[7]))}
"""
)

# KEYS: meta, events   ARGV: payload, channel
_EMIT_EVENT = (
    _EMIT
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return emit(KEYS[1], KEYS[2], ARGV[2], ARGV[1])
"""
)

# KEYS: meta, lock, events   ARGV: owner, lock_ttl_ms, closing_payload, channel
_BEGIN_FINALIZE = (
    _EMIT
    + """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing', ''} end
if status == 'FINALIZED' then return {'done', ''} end
if status == 'CLOSING' then
  if redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2], 'NX') then return {'acquired', 'takeover'} end
  return {'busy', ''}
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
redis.call('HSET', KEYS[1], 'status', 'CLOSING')
redis.call('HDEL', KEYS[1], 'error')
return {'acquired', tostring(emit(KEYS[1], KEYS[3], ARGV[4], ARGV[3]))}
"""
)

# KEYS: lock   ARGV: owner, ttl_ms
_RENEW_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

# KEYS: meta, lock, events   ARGV: owner, status, field, value, event_payload, channel
_END_FINALIZE = (
    _EMIT
    + """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'status', ARGV[2], ARGV[3], ARGV[4])
return emit(KEYS[1], KEYS[3], ARGV[6], ARGV[5])
"""
)

# KEYS: inflight   ARGV: force ('1' drops what is left)
_DRAIN = """
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
if ARGV[1] == '1' then redis.call('DEL', KEYS[1]) return 0 end
return redis.call('ZCARD', KEYS[1])
"""


# -- Results -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionMeta:
    """What the buffer knows of a session, decoded."""

    session_id: str
    tenant_id: str
    status: str
    pinned: dict[str, Any]
    metadata: dict[str, Any]
    created_at: float
    created_by: str
    head_event_id: int
    result: dict[str, Any] | None
    error: dict[str, Any] | None

    @property
    def is_open(self) -> bool:
        return self.status == OPEN


Mode = Literal["seq", "key", "none"]


@dataclass(frozen=True, slots=True)
class Dedupe:
    """How a change is deduplicated: by client sequence, by idempotency key, or not at all."""

    mode: Mode
    producer: str = ""
    token: str = ""

    @classmethod
    def by_seq(cls, client_id: str, seq: int) -> Dedupe:
        return cls("seq", client_id, str(seq))

    @classmethod
    def by_key(cls, key: str) -> Dedupe:
        return cls("key", "", key)


IngestOutcome = Literal["ok", "dup", "gap", "closed", "missing"]


@dataclass(frozen=True, slots=True)
class IngestCheck:
    outcome: IngestOutcome
    detail: str
    """ok: the previous block's template id; dup/gap: last applied seq (or existing block id);
    closed: the session status."""


@dataclass(frozen=True, slots=True)
class Commit:
    outcome: IngestOutcome
    detail: str
    """ok: the event id; dup: existing block id (key mode) or ''; gap: last seq; closed: status."""

    @property
    def event_id(self) -> int:
        return int(self.detail) if self.outcome == "ok" else 0


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class SessionBuffer:
    """Reads and atomic writes of sessions in Redis."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        # redis-py's stubs type replies as unions of bytes/str/Awaitable; ours are bytes.
        self._r: Any = redis
        self._create = redis.register_script(_CREATE)
        self._begin_ingest = redis.register_script(_BEGIN_INGEST)
        self._commit_block = redis.register_script(_COMMIT_BLOCK)
        self._emit = redis.register_script(_EMIT_EVENT)
        self._begin_finalize = redis.register_script(_BEGIN_FINALIZE)
        self._renew = redis.register_script(_RENEW_LOCK)
        self._end_finalize = redis.register_script(_END_FINALIZE)
        self._drain = redis.register_script(_DRAIN)

    # -- sessions --

    async def create(
        self,
        session_id: str,
        *,
        tenant_id: str,
        pinned: dict[str, Any],
        metadata: dict[str, Any],
        created_by: str,
        event_payload: bytes,
    ) -> int:
        """Create the session and log its first event; returns that event's id (0 if it existed)."""
        k = SessionKeys(session_id)
        fields: dict[str, bytes | str | float] = {
            "tenant_id": tenant_id,
            "status": OPEN,
            "pinned": pack(pinned),
            "metadata": pack(metadata),
            "created_at": time.time(),
            "created_by": created_by,
        }
        flat: list[bytes | str | float] = []
        for name, value in fields.items():
            flat += [name, value]
        result = await self._create(
            keys=[k.meta, k.events, keys.tenant_sessions(tenant_id)],
            args=[event_payload, k.channel, session_id, *flat],
        )
        return int(result)

    async def meta(self, session_id: str) -> SessionMeta | None:
        raw: dict[bytes, bytes] = await self._r.hgetall(SessionKeys(session_id).meta)
        if not raw or b"tenant_id" not in raw:
            return None
        return SessionMeta(
            session_id=session_id,
            tenant_id=raw[b"tenant_id"].decode(),
            status=raw[b"status"].decode(),
            pinned=unpack(raw[b"pinned"]),
            metadata=unpack(raw[b"metadata"]),
            created_at=float(raw[b"created_at"]),
            created_by=raw[b"created_by"].decode(),
            head_event_id=int(raw.get(b"events", b"0")),
            result=unpack(raw[b"result"]) if b"result" in raw else None,
            error=unpack(raw[b"error"]) if b"error" in raw else None,
        )

    async def tenant_sessions(self, tenant_id: str) -> list[str]:
        members: Iterable[bytes] = await self._r.smembers(keys.tenant_sessions(tenant_id))
        return sorted(m.decode() for m in members)

    async def last_seq(self, session_id: str, client_id: str) -> int:
        raw = await self._r.hget(SessionKeys(session_id).producers, client_id)
        return int(raw) if raw else 0

    # -- blocks --

    async def begin_ingest(
        self, session_id: str, dedupe: Dedupe, ingest_token: str, ttl: float
    ) -> IngestCheck:
        """Admit one input: refuse it early if closed, duplicate or out of sequence, and register it
        as in flight so that finalize waits for it (for at most ``ttl`` seconds)."""
        k = SessionKeys(session_id)
        outcome, detail = await self._begin_ingest(
            keys=[k.meta, k.producers, k.idem, k.inflight],
            args=[dedupe.mode, dedupe.producer, dedupe.token, ingest_token, int(ttl * 1000)],
        )
        return IngestCheck(_text(outcome), _text(detail))  # type: ignore[arg-type]

    async def commit_block(
        self, session_id: str, block: dict[str, Any], dedupe: Dedupe, ingest_token: str, event_payload: bytes
    ) -> Commit:
        """Store a block, its dedupe mark and its event in one step."""
        k = SessionKeys(session_id)
        outcome, detail = await self._commit_block(
            keys=[k.meta, k.blocks, k.order, k.events, k.producers, k.idem, k.inflight],
            args=[
                dedupe.mode,
                dedupe.producer,
                dedupe.token,
                ingest_token,
                block["block_id"],
                pack(block),
                event_payload,
                k.channel,
                block.get("template_id") or "",
            ],
        )
        return Commit(_text(outcome), _text(detail))  # type: ignore[arg-type]

    async def abandon_ingest(self, session_id: str, ingest_token: str) -> None:
        await self._r.zrem(SessionKeys(session_id).inflight, ingest_token)

    async def blocks(self, session_id: str, page: int = 1000) -> list[dict[str, Any]]:
        """All blocks in order."""
        k = SessionKeys(session_id)
        ids: list[bytes] = await self._r.zrange(k.order, 0, -1)
        blocks: list[dict[str, Any]] = []
        for start in range(0, len(ids), page):
            chunk = ids[start : start + page]
            raw: list[bytes | None] = await self._r.hmget(k.blocks, chunk)
            blocks.extend(unpack(item) for item in raw if item is not None)
        return blocks

    async def block_count(self, session_id: str) -> int:
        count: int = await self._r.zcard(SessionKeys(session_id).order)
        return count

    # -- events --

    async def emit(self, session_id: str, event_payload: bytes) -> int:
        k = SessionKeys(session_id)
        return int(await self._emit(keys=[k.meta, k.events], args=[event_payload, k.channel]))

    async def events_after(self, session_id: str, after: int, count: int) -> list[tuple[int, bytes]]:
        """Up to ``count`` logged events with id > ``after``, in order."""
        entries = await self._r.xrange(
            SessionKeys(session_id).events, min=f"{after + 1}-0", max="+", count=count
        )
        return [(int(entry_id.split(b"-")[0]), fields[b"p"]) for entry_id, fields in entries]

    # -- finalize --

    async def begin_finalize(
        self, session_id: str, owner: str, lock_ttl: float, closing_payload: bytes
    ) -> tuple[str, str]:
        k = SessionKeys(session_id)
        outcome, detail = await self._begin_finalize(
            keys=[k.meta, k.finalize_lock, k.events],
            args=[owner, int(lock_ttl * 1000), closing_payload, k.channel],
        )
        return _text(outcome), _text(detail)

    async def renew_finalize(self, session_id: str, owner: str, lock_ttl: float) -> bool:
        k = SessionKeys(session_id)
        return bool(await self._renew(keys=[k.finalize_lock], args=[owner, int(lock_ttl * 1000)]))

    async def drain(self, session_id: str, *, force: bool = False) -> int:
        """Ingests still in flight (expired ones are dropped); ``force`` forgets the rest."""
        k = SessionKeys(session_id)
        return int(await self._drain(keys=[k.inflight], args=["1" if force else "0"]))

    async def end_finalize(
        self, session_id: str, owner: str, *, ok: bool, value: dict[str, Any], event_payload: bytes
    ) -> int:
        """Record the outcome if this owner still holds the lock; returns the event id or 0."""
        k = SessionKeys(session_id)
        status, field = (FINALIZED, "result") if ok else (FINALIZE_FAILED, "error")
        return int(
            await self._end_finalize(
                keys=[k.meta, k.finalize_lock, k.events],
                args=[owner, status, field, pack(value), event_payload, k.channel],
            )
        )
