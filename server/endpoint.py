"""The WebSocket endpoint: moves frames between one socket and the orchestrator (protocol.md).

Once the hello is accepted and the connection has one of the session's connection slots:

* the *reader* decodes frames, answers pings and protocol errors at once, and queues inputs; it
  reads no faster than the connection's frame rate allows (token bucket: beyond it the socket
  is simply not read, which is TCP backpressure, nothing is refused);
* the *ingester* stores queued inputs in the client's order and acks each only when its effect
  is in Redis; audio frames that arrived together are stored in one round trip, then acked;
* the *sender* delivers the session's events: first everything after the client's
  ``last_event_id`` read from the log, then live events, falling back to the log whenever it
  missed any (overflow, pub/sub reconnect), so each event reaches the client once, in order;
  it also keeps the connection's presence entry and slot alive (a killed instance's expire).

All writes to the socket go through one lock, so frames never interleave, and each may wait at
most ``send_timeout`` for the client's socket: a client that stops reading, or that falls more
than ``max_lag_events`` behind, is closed with 4503 SLOW_CONSUMER (it resumes from its last
event id) instead of holding the server's memory or anyone else back.

When Redis cannot be reached (or is still loading after a restart) the connection is *degraded*:
the client gets ``status degraded STORE_UNAVAILABLE`` once, the ingester holds the frame it is
storing and retries it with backoff (the client keeps it, unacked), the sender retries its log
reads, and presence is skipped. The first store operation that succeeds again sends
``status ok``. An outage longer than ``limits.store_outage`` closes the connection with 1013.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, Literal, TypeVar, assert_never

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from . import protocol
from .auth import CAN_SEND, Principal
from .buffer import STORE_ERRORS, Dedupe, SessionMeta, as_unavailable, store_errors
from .cancel import cancel_and_wait
from .errors import (
    CLOSE_BAD_FRAME,
    CLOSE_HELLO_TIMEOUT,
    CLOSE_IDLE_TIMEOUT,
    CLOSE_INTERNAL,
    CLOSE_TOO_MANY_CONNECTIONS,
    CLOSE_TRY_AGAIN,
    AstraError,
    AudioBacklog,
    AuthError,
    ClientIdTaken,
    InvalidField,
    ProtocolError,
    SlowConsumer,
    StoreUnavailable,
    TooManyConnections,
    UnknownType,
)
from .fanout import PRESENCE, RESYNC, STORE_DOWN, Subscription
from .inbox import Inbox
from .orchestrator import IngestResult
from .pressure import LIVE_ALLOWANCE
from .protocol import Audio, AudioEnd, Delete, Edit, Hello, Insert, Numbered, Ping, Presence, Text
from .settings import PCM_BYTES_PER_SECOND
from .state import AppState
from .throttle import TokenBucket
from .wsprotocol import CLOSE_NOW, HOLD, SEND_NOW

log = logging.getLogger("astra.ws")

MAX_PROTOCOL_ERRORS = 16
"""Protocol errors tolerated on one connection before it is closed with 4400."""
PRESENCE_INTERVAL = 0.2
"""Seconds between two tellings of the presence list caused by one connection: each sends the
whole list to every connection of the session (up to 100), and a client sending presence or
ping at its frame rate made Redis run the script and every instance fan the list out 100 times a
second. A block changed within it is told at its end."""
INGEST_WINDOW = 64
"""Inputs read and not answered yet; beyond it the reader waits (TCP backpressure)."""


INGEST_BATCH_BYTES = 1 << 20
"""Audio bytes stored in one round trip at most, so one client's burst of large frames cannot
hold Redis (shared by every session) for long."""


def audio_run(
    first: Audio | AudioEnd, queue: Inbox[Numbered], max_bytes: int = INGEST_BATCH_BYTES
) -> tuple[list[Audio | AudioEnd], Numbered | None]:
    """``first`` and the audio frames queued right behind it, up to ``max_bytes`` of audio (stored
    together, in one round trip); the frame that ended the run, if any, is taken off the queue
    and returned: it must be handled next, before anything still queued."""
    run: list[Audio | AudioEnd] = [first]
    size = len(first.data) if isinstance(first, Audio) else 0
    while queue:
        following = queue.get_nowait()
        if not isinstance(following, Audio | AudioEnd):
            return run, following
        if isinstance(following, Audio):
            size += len(following.data)
            if size > max_bytes:
                return run, following
        run.append(following)
    return run, None


BACKLOG_POLL = 1.0
"""Seconds between two looks at a session's audio backlog while its recorder is held for it."""
BACKLOG_STATUS_EVERY = 15.0
"""Seconds between two ``status degraded AUDIO_BACKLOG`` told a held recorder: its pings wait
unread behind its audio, and a client that hears nothing for a while (the console: 45 s) takes
the connection for dead and reconnects, storing one more window past the bound each time."""

STORE_RETRY_MAX = 2.0
"""Longest pause between two tries of a store operation while Redis is unavailable."""

T = TypeVar("T")


class Connection:
    def __init__(self, websocket: WebSocket, state: AppState, session_id: str) -> None:
        self.ws = websocket
        self.state = state
        self.session_id = session_id
        self.limits = state.settings.limits
        self._send_lock = asyncio.Lock()
        self._send_now: Callable[[Sequence[bytes]], bool] | None = (
            websocket.scope.get("extensions") or {}
        ).get(SEND_NOW)
        """Writes frames at once when no send would wait (our uvicorn protocol, wsprotocol.py)."""
        self._inputs: Inbox[Numbered] = Inbox()
        self._unanswered = 0
        """Inputs queued or being stored, not answered yet: the reader waits at ``_window``."""
        self._window = INGEST_WINDOW
        """INGEST_WINDOW; LIVE_ALLOWANCE while held for the audio backlog (_hold_for_backlog)."""
        self._pressure = state.pressure
        """The instance's counts of unanswered inputs and backlog, ours told to it (server.pressure)."""
        self._room = asyncio.Event()
        """Set when the ingester answers inputs while the reader waits for the window."""
        self._waiting_for_room = False
        self._errors = 0
        self.connection_id = uuid.uuid4().hex
        self.slot = self.connection_id
        """Its place among the session's connections: named after its user once the token is read."""
        self._presence: dict[str, Any] = {}
        self._presence_heard = 0.0
        """When the client last sent hello, presence or ping (monotonic): its presence entry lasts
        presence_ttl after that, whether or not its socket stays open (a frozen tab)."""
        self._presence_listed = False
        self._presence_stored = 0
        """The ``_presence_version`` the stored entry holds (-1: a store failed). Any other than
        the current one (a change the store did not take, one made while the last was stored) is
        stored whole, and told to everyone, at the next chance, not only touched."""
        self._presence_lock = asyncio.Lock()  # the flags and the store change together
        self._presence_told = -PRESENCE_INTERVAL
        """When this connection last had the presence list told to everyone (monotonic)."""
        self._presence_later: asyncio.TimerHandle | None = None
        self._keep_at = 0.0
        """When (monotonic) the slot and presence entry are next refreshed (``_keep_alive``): by
        the delivery loop, and between the pages of a long replay."""
        self._presence_version = 0
        """Counts the client's block changes (``_presence`` as it is now)."""
        self._bucket = TokenBucket(self.limits.frame_rate, self.limits.frame_burst)
        self._left = False
        self._outage_since: float | None = None
        """When this connection first found the store unavailable; None while it is fine."""
        self._backlog_bound = self.limits.max_audio_backlog_bytes
        """max_audio_backlog in bytes, compared with every stored audio batch's backlog."""
        self._held_for_backlog = False
        """Its frames are not stored: the session's audio backlog is at its bound (_hold_for_backlog)."""
        self._backlog_looked = False
        """Whether this connection has asked for its session's audio backlog before its first audio."""
        self._live_down = False
        """The live hub lost its pub/sub link (STORE_DOWN) and has not resynced yet."""

    async def send(self, data: bytes) -> None:
        """Write one frame; SlowConsumer when the client's socket does not take it within
        ``send_timeout`` (it stopped reading: its TCP window and our write buffer are full)."""
        await self.send_all((data,))

    async def send_all(self, frames: Sequence[bytes]) -> None:
        """Write frames (at least one) back to back, e.g. the answers of a batch: one socket write
        (each frame but the last is held, see wsprotocol.py) and, when the write may have to wait,
        one lock and one timer: together they may take ``send_timeout`` at most, else
        SlowConsumer."""
        send_now = self._send_now
        if send_now is not None and not self._send_lock.locked() and send_now(frames):
            # No other send under way and the transport took the bytes without waiting (its
            # buffer is below the high-water mark): neither lock nor timer was needed.
            return
        *held, last = frames
        async with self._send_lock:
            try:
                async with asyncio.timeout(self.limits.send_timeout):
                    for data in held:
                        await self.ws.send({"type": "websocket.send", "bytes": data, HOLD: True})
                    await self.ws.send_bytes(last)
            except TimeoutError:
                raise SlowConsumer(
                    f"the client took no frame for {self.limits.send_timeout:g} s;"
                    " reconnect and resume from your last event id",
                    reason="send_timeout",
                ) from None
            except RuntimeError as exc:
                # The connection was closed under this task: by another task of ours (Starlette's
                # WebSocketDisconnected) or by the server itself (uvicorn, e.g. 1009 for a frame far
                # too big). The connection is over, not broken.
                raise WebSocketDisconnect(1006) from exc

    async def fail(self, exc: AstraError, *, seq: int | None = None) -> None:
        """Tell the client what was wrong; the connection goes on."""
        await self.send(self._error_frame(exc, seq))

    def _error_frame(self, exc: AstraError, seq: int | None) -> bytes:
        self.state.metrics.errors.labels(exc.code).inc()
        return protocol.error(exc.code, exc.message, seq=seq, details=exc.details or None)

    async def close(self, exc: AstraError, close_code: int) -> None:
        """Send the error frame, then close with a code (see protocol.md, "Close codes"); each
        step waits at most ``send_timeout`` for a client that is not reading. A client already
        found not reading for ``send_timeout`` (SLOW_CONSUMER) is not waited for again: both are
        written at once behind what it has not read (``CLOSE_NOW``; under another ASGI server,
        as far as its socket takes them now), and the transport is dropped ``close_timeout``
        later unless it reads (wsprotocol.py). Waiting twice more, it held its socket and
        buffers ~70 s where protocol.md allows 10 s."""
        self.state.metrics.ws_closes.labels(str(close_code)).inc()
        stopped_reading = (
            isinstance(exc, SlowConsumer) and (exc.details or {}).get("reason") == "send_timeout"
        )
        close_now: Callable[[bytes, int, str], bool] | None = (self.ws.scope.get("extensions") or {}).get(
            CLOSE_NOW
        )
        if (
            stopped_reading
            and close_now is not None
            and close_now(self._error_frame(exc, None), close_code, exc.code)
        ):
            return
        wait = 0.0 if stopped_reading else self.limits.send_timeout
        with contextlib.suppress(Exception):
            async with asyncio.timeout(wait):
                await self.fail(exc)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(wait):
                await self.ws.close(close_code, exc.code)

    # -- handshake -------------------------------------------------------------------------------

    async def _receive_frame(self) -> bytes | None:
        """The next binary message, once the frame rate allows it; None when the client has gone."""
        message = await self.ws.receive()
        if message["type"] == "websocket.disconnect":
            if message.get("code") == CLOSE_IDLE_TIMEOUT:  # closed by the keepalive (wsprotocol.py)
                self.state.metrics.ws_closes.labels(str(CLOSE_IDLE_TIMEOUT)).inc()
            return None
        delay = self._bucket.take(time.monotonic())
        if delay > 0:
            await self._throttle(delay)
        data = message.get("bytes")
        if data is None:
            raise ProtocolError("text messages are not accepted: send msgpack in binary messages")
        return bytes(data)

    async def handshake(self, subprotocol_token: str | None) -> tuple[Principal, Hello, SessionMeta] | None:
        try:
            async with asyncio.timeout(self.limits.hello_timeout):
                data = await self._receive_frame()
        except TimeoutError:
            await self.close(
                ProtocolError("no hello frame in time", code="HELLO_TIMEOUT"), CLOSE_HELLO_TIMEOUT
            )
            return None
        except ProtocolError as exc:  # a text message first: BAD_FRAME, close 4400
            await self.close(exc, CLOSE_BAD_FRAME)
            return None
        if data is None:
            return None
        try:
            message = protocol.decode_client(
                data, max_frame_bytes=self.limits.max_frame_bytes, max_text_chars=self.limits.max_text_chars
            )
            if not isinstance(message, Hello):
                raise ProtocolError("the first frame must be a hello", code="HELLO_REQUIRED")
        except (UnknownType, InvalidField) as exc:
            # readable, and no hello: a type this version does not know (a misspelt hello), or
            # another frame with a bad field, first. A hello whose own field is bad says so.
            if isinstance(exc, InvalidField) and protocol.frame_type(data) == "hello":
                await self.close(exc, CLOSE_BAD_FRAME)
            else:
                await self.close(
                    ProtocolError(f"the first frame must be a hello ({exc})", code="HELLO_REQUIRED"),
                    CLOSE_BAD_FRAME,
                )
            return None
        except ProtocolError as exc:
            await self.close(exc, CLOSE_BAD_FRAME)
            return None
        limit = self.limits.max_connections_per_session
        per_user = self.limits.max_connections_per_user
        try:
            principal = await self.state.auth.verify(message.token or subprotocol_token)
            user = f"{len(principal.sub)}:{principal.sub}/"  # a prefix no other sub starts with
            self.slot = user + self.connection_id
            with store_errors():
                meta = await self.state.orchestrator.session(principal, self.session_id)
                owner = await self.state.orchestrator.buffer.claim_client_id(
                    self.session_id, message.client_id, principal.sub
                )
                if owner != principal.sub:
                    raise ClientIdTaken(
                        "another user already says hello with this client_id: use one of your own"
                    )
                # A slot taken by a join whose answer was lost expires after presence_ttl.
                joined = await self.state.orchestrator.buffer.join_connection(
                    self.session_id, self.slot, limit, self.limits.presence_ttl, user=user, per_user=per_user
                )
        except AstraError as exc:
            await self.close(exc, exc.close_code or CLOSE_INTERNAL)
            return None
        if joined != "ok":
            name, most = (
                ("max_connections_per_session", limit)
                if joined == "full"
                else ("max_connections_per_user", per_user)
            )
            self.state.metrics.limit_refusals.labels(name).inc()
            whose = "the session already has" if joined == "full" else "you already have"
            refused = TooManyConnections(
                f"{whose} {most} connections to this session; try again later", limit=name, max=most
            )
            await self.close(refused, CLOSE_TOO_MANY_CONNECTIONS)
            return None
        return principal, message, meta

    async def _throttle(self, delay: float) -> None:
        """Wait ``delay`` s, until the frame rate allows one more frame; meanwhile the socket is
        not read."""
        metrics = self.state.metrics
        metrics.throttled_frames.inc()
        metrics.throttled_connections.inc()
        try:
            await asyncio.sleep(delay)
        finally:
            metrics.throttled_connections.dec()

    async def _keep_alive(self) -> None:
        """Refresh this connection's slot and, while its client is heard from, its presence entry
        (a killed instance's expire); skipped while the store is unavailable (both expire by
        themselves). A client silent for presence_ttl leaves the presence list, and everyone is
        told, though its socket is still open: a frozen tab's soft lock does not stay."""
        ttl = self.limits.presence_ttl
        try:
            with store_errors():
                async with self._presence_lock:
                    if self._presence_listed and time.monotonic() - self._presence_heard >= ttl:
                        await self._set_presence("del")
                        self._presence_listed = False
                    elif self._presence_stale:
                        version = self._presence_version
                        await self._set_presence("set")
                        self._presence_stored = version  # a change made meanwhile: its timer tells it
                    elif self._presence_listed:
                        await self._set_presence("touch")
                await self.state.orchestrator.buffer.keep_connection(self.session_id, self.slot, ttl)
        except StoreUnavailable as exc:
            await self._degraded(exc)
            return
        await self._recovered_unless_live_down()

    @property
    def _presence_stale(self) -> bool:
        return self._presence_listed and self._presence_stored != self._presence_version

    async def _heard(self) -> None:
        """The client sent presence or ping: its entry lasts presence_ttl more (listed again, and
        everyone told, after it had gone silent; stored whole if its block changed). Each store
        of it tells every connection of the session the whole list: one connection does so at
        most once per PRESENCE_INTERVAL, a change within it told at its end (the latest block)."""
        now = self._presence_heard = time.monotonic()
        wait = self._presence_told + PRESENCE_INTERVAL - now
        if wait > 0 and self._presence_listed:
            if self._presence_stale:
                self._tell_presence_in(wait)
            return
        async with self._presence_lock:
            if self._left:  # gone while waiting for the lock: its entry is being removed
                return
            self._presence_told = time.monotonic()
            if not self._presence_listed or self._presence_stale:
                version = self._presence_version
                stored = await self._best_effort_presence("set")
                self._presence_listed = stored or self._presence_listed
                self._presence_stored = version if stored else -1
                if stored and self._presence_stale:  # changed while stored: told next, not lost
                    self._tell_presence_in(PRESENCE_INTERVAL)
            else:
                await self._best_effort_presence("touch")

    def _tell_presence_in(self, delay: float) -> None:
        if self._presence_later is None:
            self._presence_later = asyncio.get_running_loop().call_later(delay, self._tell_presence)

    def _tell_presence(self) -> None:
        """The end of a PRESENCE_INTERVAL in which the client's block changed: store and tell it."""
        self._presence_later = None
        if not self._left and self._presence_stale:
            self.state.spawn(self._heard())

    # -- main loop -------------------------------------------------------------------------------

    async def run(self, subprotocol_token: str | None) -> None:
        accepted = await self.handshake(subprotocol_token)
        if accepted is None:
            return
        try:
            with store_errors():
                await self._serve(*accepted)
        except StoreUnavailable as exc:
            # Unavailable for longer than the outage limit (or while setting up): the client
            # keeps what is unacked and reconnects later.
            await self.close(exc, CLOSE_TRY_AGAIN)
        finally:
            self._leave()  # if _serve failed before it could (the slot is taken since the hello)

    async def _serve(self, principal: Principal, hello: Hello, meta: SessionMeta) -> None:
        orch = self.state.orchestrator
        async with self.state.hub.subscribe(self.session_id) as sub:
            # Subscribed before reading the head, so no event can fall between log and live.
            last_seq = await orch.buffer.last_seq(self.session_id, hello.client_id)
            await self.send(
                protocol.welcome(
                    session_id=self.session_id,
                    client_id=hello.client_id,
                    role=principal.role,
                    sub=principal.sub,
                    status=meta.status,
                    last_seq=last_seq,
                    head_event_id=meta.head_event_id,
                    limits={
                        "max_frame_bytes": self.limits.max_frame_bytes,
                        "max_text_chars": self.limits.max_text_chars,
                        "ingest_window": INGEST_WINDOW,
                        "frame_rate": self.limits.frame_rate,
                        "frame_burst": self.limits.frame_burst,
                    },
                )
            )
            if orch.audio is not None:  # a reconnecting recorder: resume any orphaned audio work
                await orch.audio.resume_orphans(self.session_id)
            self._presence = {
                "client_id": hello.client_id,
                "sub": principal.sub,
                "role": principal.role,
                "block_id": None,
                "since": time.time(),
            }
            self._presence_heard = time.monotonic()
            await self._set_presence("set")
            self._presence_listed = True
            tasks = [
                asyncio.create_task(self._read(principal), name="ws-read"),
                asyncio.create_task(self._ingest(principal, hello.client_id, meta), name="ws-ingest"),
                # A client ahead of the log (a draft of another session, or a store restored
                # from an older backup) gets the events from the head on, rather than none: the
                # welcome's head_event_id tells it its view is not this log's.
                asyncio.create_task(
                    self._deliver(sub, min(hello.last_event_id, meta.head_event_id)), name="ws-deliver"
                ),
            ]
            if principal.expires_at is not None:
                tasks.append(asyncio.create_task(_expiry(principal.expires_at), name="ws-token-expiry"))
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                self._leave()
                # For certain: a task that outlived its connection would hold its subscription
                # and touch its presence entry for ever.
                try:
                    await cancel_and_wait(tasks)
                finally:  # the inputs never answered (the ingester has ended) wait no more
                    self._pressure.answered(self._unanswered, self._unanswered)
                    self._unanswered = 0
            reader = tasks[0]
            if reader in done and not reader.cancelled() and reader.exception() is None:
                return  # the client has gone (or was closed): nothing more to tell it
            for task in done:
                if task.cancelled() or (exc := task.exception()) is None:
                    continue
                if isinstance(exc, AstraError) and exc.close_code is not None:  # e.g. a slow consumer
                    if isinstance(exc, SlowConsumer):
                        self.state.metrics.slow_consumers.labels(exc.details.get("reason", "")).inc()
                    await self.close(exc, exc.close_code)
                    return
                raise exc

    async def _read(self, principal: Principal) -> None:
        frames_counted = self.state.metrics.frames.counts
        while True:
            try:
                data = await self._receive_frame()
                if data is None:
                    return
                message = protocol.decode_client(
                    data,
                    max_frame_bytes=self.limits.max_frame_bytes,
                    max_text_chars=self.limits.max_text_chars,
                )
            except ProtocolError as exc:
                if not await self._protocol_error(exc):
                    return
                continue
            frames_counted[type(message).__name__] += 1
            match message:
                case Edit() | Insert() | Delete() | Text() | Audio() | AudioEnd():
                    # a role that may not is answered in order, its seq judged first (the ingester)
                    await self._queue_input(message)
                case Presence(block_id=block_id):
                    if block_id != self._presence.get("block_id"):
                        self._presence.update(block_id=block_id, since=time.time())
                        self._presence_version += 1
                    await self._heard()
                case Ping(ref=ref):
                    await self.send(protocol.pong(ref))
                    await self._heard()
                case Hello():
                    again = ProtocolError("hello was already received", code="DUPLICATE_HELLO")
                    if not await self._protocol_error(again):
                        return
                case _:
                    assert_never(message)

    async def _protocol_error(self, exc: ProtocolError) -> bool:
        """Answer a frame the protocol refuses; False once the connection has had more than
        MAX_PROTOCOL_ERRORS of them and is closed (a client that keeps sending bad frames, or
        hellos, is stopped, not answered for ever)."""
        self._errors += 1
        if self._errors > MAX_PROTOCOL_ERRORS:
            await self.close(ProtocolError("too many bad frames", code="TOO_MANY_ERRORS"), CLOSE_BAD_FRAME)
            return False
        await self.fail(exc, seq=exc.seq)
        return True

    async def _queue_input(self, message: Numbered) -> None:
        """Queue an input for the ingester, once fewer than ``_window`` are unanswered."""
        while self._unanswered >= self._window:
            self._room.clear()
            self._waiting_for_room = True
            try:
                await self._room.wait()
            finally:
                self._waiting_for_room = False
        self._pressure.queued(self._unanswered)
        self._unanswered += 1
        self._inputs.put_nowait(message)

    def _answered(self, count: int = 1) -> None:
        self._pressure.answered(self._unanswered, count)
        self._unanswered -= count
        if self._waiting_for_room and self._unanswered < self._window:
            self._room.set()

    async def _ingest(self, principal: Principal, client_id: str, meta: SessionMeta) -> None:
        held: Numbered | None = None
        while True:
            frame = held if held is not None else await self._inputs.get()
            held = None
            if isinstance(frame, Audio | AudioEnd):
                batch, held = audio_run(frame, self._inputs)
                await self._ingest_audio(principal, client_id, meta, batch)
                continue
            try:
                # The same frame again after a store failure: its seq deduplicates it, so a try
                # whose answer was lost with the connection cannot store it twice.
                result = await self._with_store(partial(self._store, principal, client_id, meta, frame))
            except StoreUnavailable:
                raise
            except AstraError as exc:
                await self.fail(exc, seq=frame.seq)
                self._answered()
                continue
            await self.send(
                protocol.ack(
                    frame.seq, block_id=result.block_id, event_id=result.event_id, duplicate=result.duplicate
                )
            )
            self._answered()

    async def _ingest_audio(
        self, principal: Principal, client_id: str, meta: SessionMeta, batch: list[Audio | AudioEnd]
    ) -> None:
        """Store audio frames in one round trip, then answer each, in order."""
        frames = [
            (f.seq, f.format, f.data, f.start) if isinstance(f, Audio) else (f.seq, "end", b"", False)
            for f in batch
        ]
        results: list[IngestResult | AstraError]
        orch = self.state.orchestrator
        if not self._backlog_looked:
            self._backlog_looked = True
            if backlog := await self._backlog_before_first_audio(principal, client_id):
                await self._hold_for_backlog(backlog)
        store = orch.ingest_audio_frames
        try:
            # Retried as a whole after a store failure: each frame's seq deduplicates it.
            results, backlog = await self._with_store(partial(store, principal, meta, client_id, frames))
        except StoreUnavailable:
            raise
        except AstraError as exc:
            results, backlog = [exc] * len(batch), 0
        await self.send_all(
            [
                self._error_frame(result, frame.seq)
                if isinstance(result, AstraError)
                else protocol.ack(frame.seq, block_id=None, event_id=None, duplicate=result.duplicate)
                for frame, result in zip(batch, results, strict=True)
            ]
        )
        self._answered(len(batch))
        if backlog >= self._backlog_bound:
            await self._hold_for_backlog(backlog)

    async def _backlog_before_first_audio(self, principal: Principal, client_id: str) -> int:
        """The session's audio backlog when this connection is to be held before it stores any
        audio, else 0. A connection learns the backlog from storing a batch: a recorder that
        reconnects while held would otherwise store one more window each time it does. One the
        store refuses (a role that may not send, another console while this one records) is told
        so by the store at once, not held."""
        if principal.refusal(CAN_SEND, "send input") is not None:
            return 0
        buffer = self.state.orchestrator.buffer
        backlog = await self._with_store(partial(buffer.audio_backlog, self.session_id))
        if backlog < self._backlog_bound:
            return 0
        recording = await self._with_store(partial(buffer.recording, self.session_id))
        return backlog if recording is None or recording[0] == client_id else 0

    async def _hold_for_backlog(self, backlog: int) -> None:
        """The session holds ``max_audio_backlog`` of audio its owner has not read (CORE behind or
        down, or a client sending faster than real time): this client's next frames are not read
        until the owner has caught up (TCP backpressure; the console keeps them, unacked), so
        that one session's audio cannot fill the Redis every session shares. The client is told
        (``status`` degraded AUDIO_BACKLOG), and told again when it is over: once the backlog is
        under three quarters of the bound (the owner tells its reading at least every quarter),
        so that a speech service slower than real time holds the client for a while at a time,
        not every few seconds.

        Meanwhile the reader takes no more than LIVE_ALLOWANCE inputs, and what it had taken does
        not count as the instance's ingest pressure: held on purpose, it must not make every
        owner here defer its cutting (server.pressure), which would slow the very reading that
        ends the hold."""
        metrics = self.state.metrics
        release = self._backlog_bound * 3 // 4
        orch = self.state.orchestrator
        log.warning(
            "session %s: %.0f s of audio not processed yet (max_audio_backlog): its recorder waits",
            self.session_id,
            backlog / PCM_BYTES_PER_SECOND,
        )
        metrics.backlog_held.inc()
        self._held_for_backlog = True
        self._window = LIVE_ALLOWANCE
        self._pressure.set_aside(self._unanswered)
        try:
            await self.send(self._backlog_status())
            told_at = time.monotonic()
            while backlog >= release:
                await asyncio.sleep(BACKLOG_POLL)
                # Not silent: its frames wait for us to read them (its pings among them). Its
                # presence stays (else everyone was told it left), and it hears from us.
                now = self._presence_heard = time.monotonic()
                if now - told_at >= BACKLOG_STATUS_EVERY:
                    await self.send(self._backlog_status())
                    told_at = now
                if orch.audio is not None:  # an owner must be reading it: one that died (a Redis
                    # outage, its instance gone) is replaced by the next audio, which waits here;
                    # best effort (the next look tries again), not a store operation that tells
                    # the client the store is back
                    with contextlib.suppress(*STORE_ERRORS):
                        await orch.audio.notify(self.session_id)
                backlog = await self._with_store(partial(orch.buffer.audio_backlog, self.session_id))
        finally:
            self._pressure.take_back(self._unanswered)
            self._window = INGEST_WINDOW
            if self._waiting_for_room:
                self._room.set()
            self._held_for_backlog = False
            metrics.backlog_held.dec()
        if self._outage_since is None:  # else the client was told the store is away; its
            await self.send(protocol.status("ok"))  # return (_recovered) says ok

    @staticmethod
    def _backlog_status() -> bytes:
        return protocol.status(
            "degraded",
            AudioBacklog.code,
            "the server is behind with this session's audio (max_audio_backlog): "
            "your frames wait, unacked, until it catches up",
        )

    def _leave(self) -> None:
        """Gone: leave the presence list (releasing any soft lock) and give the connection slot
        back, once, in a task of its own so that nothing (not even a cancellation) can skip it;
        their expiry is the backstop."""
        if self._left:
            return
        self._left = True
        if self._presence_later is not None:
            self._presence_later.cancel()

        async def leave() -> None:
            await self._set_presence("del")
            await self.state.orchestrator.buffer.leave_connection(self.session_id, self.slot)

        self.state.spawn(leave())

    async def _store(
        self, principal: Principal, client_id: str, meta: SessionMeta, frame: Text | Edit | Insert | Delete
    ) -> IngestResult:
        """Store one text or correction frame (audio goes by the batch: ``_ingest_audio``)."""
        orch = self.state.orchestrator
        dedupe = Dedupe.by_seq(client_id, frame.seq)
        match frame:
            case Text():
                source = {"kind": "text", "producer": client_id, "seq": frame.seq}
                return await orch.ingest_text(principal, meta, frame.text, dedupe, source)
            case Edit():
                return await orch.edit_block(
                    principal, meta, dedupe, frame.block_id, frame.base_version, frame.changes
                )
            case Insert():
                return await orch.insert_block(principal, meta, dedupe, frame.after_block_id, frame.block)
            case Delete():
                return await orch.delete_block(principal, meta, dedupe, frame.block_id, frame.base_version)
            case _:
                assert_never(frame)

    # -- store outages ---------------------------------------------------------------------------

    async def _with_store(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run a store operation, retrying it with backoff while the store is unavailable (the
        client is told it is degraded); StoreUnavailable once the outage outlasts the limit."""
        delay = 0.05
        failing_since: float | None = None  # this operation's own clock: another may recover first
        while True:
            try:
                result = await operation()
            except Exception as exc:
                unavailable = as_unavailable(exc)  # as store_errors() would, without entering it
                if unavailable is None:
                    raise
                failing_since = failing_since or time.monotonic()
                await self._degraded(unavailable)
                if time.monotonic() - failing_since > self.limits.store_outage:
                    if unavailable is exc:
                        raise
                    raise unavailable from exc
                await asyncio.sleep(delay)
                delay = min(delay * 2, STORE_RETRY_MAX)
                continue
            if self._outage_since is not None:
                await self._recovered()
            return result

    async def _degraded(self, exc: AstraError) -> None:
        if self._outage_since is None:
            self._outage_since = time.monotonic()
            log.warning("session %s: store unavailable (%s)", self.session_id, exc.message)
            self.state.metrics.errors.labels(exc.code).inc()
            await self.send(protocol.status("degraded", exc.code, "the session store is unavailable"))

    async def _recovered(self) -> None:
        if self._outage_since is not None:
            self._outage_since = None
            # the store is back, but a hold for the audio backlog goes on: the client is told so
            await self.send(self._backlog_status() if self._held_for_backlog else protocol.status("ok"))

    async def _recovered_unless_live_down(self) -> None:
        """A presence or keep-alive write went through: an outage that only such writes saw (a
        viewer sends nothing else the store answers) is over, unless the live event link is still
        down (its RESYNC's catch-up says ``ok``, the missed events sent first)."""
        if self._outage_since is not None and not self._live_down:
            await self._recovered()

    async def _best_effort_presence(self, op: Literal["set", "touch"]) -> bool:
        """Presence is advisory (it expires by itself): skipped while the store is unavailable.
        Whether the store took it."""
        try:
            with store_errors():
                await self._set_presence(op)
        except StoreUnavailable as exc:
            await self._degraded(exc)
            return False
        await self._recovered_unless_live_down()
        return True

    async def _set_presence(self, op: Literal["set", "del", "touch", "get"]) -> bytes:
        buffer = self.state.orchestrator.buffer
        return await buffer.presence(
            self.session_id, op, self.connection_id, self._presence, self.limits.presence_ttl
        )

    async def _deliver(self, sub: Subscription, last_event_id: int) -> None:
        quiet = min(self.limits.idle_resync, self.limits.presence_ttl / 3)
        self._keep_at = time.monotonic() + quiet
        delivered = await self._catch_up(last_event_id, "resume")
        await self.send(protocol.synced(delivered))
        idle_at = time.monotonic() + quiet
        while True:
            keep_at = self._keep_at
            if (now := time.monotonic()) >= keep_at:  # busy or quiet, our presence and slot stay alive
                await self._keep_alive()
                self._keep_at = keep_at = time.monotonic() + quiet
            if now >= idle_at:
                # No event for a while (presence snapshots may have come: they are not events):
                # make sure no doorbell was lost.
                delivered = await self._catch_up(delivered, "idle", sub)
                idle_at = time.monotonic() + quiet
                continue
            try:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation
                # that lands as the awaited item arrives, and this task then outlived its connection.
                async with asyncio.timeout(min(keep_at, idle_at) - now):
                    event_id, payload = await sub.get()
            except TimeoutError:
                continue
            if event_id != PRESENCE:
                idle_at = time.monotonic() + quiet
            if event_id == PRESENCE:
                await self.send(payload)
            elif (event_id, payload) == STORE_DOWN:
                self._live_down = True
                await self._degraded(StoreUnavailable("the live event link to the store was lost"))
            elif (event_id, payload) == RESYNC:
                self._live_down = False
                delivered = await self._catch_up(delivered, "resync", sub)
                await self._check_log_kept(delivered)
                # presence updates may be lost too
                await self.send(await self._with_store(lambda: self._set_presence("get")))
            elif event_id == delivered + 1:
                await self.send(protocol.event_frame(event_id, payload))
                self.state.metrics.events_sent.inc()
                delivered = event_id
            elif event_id > delivered + 1:  # we missed some: the log has them, in order
                delivered = await self._catch_up(delivered, "gap", sub)

    async def _check_log_kept(self, delivered: int) -> None:
        """After the live link to the store came back: if the session's log now ends before the
        last event this connection was sent, the store lost events (a failover to a replica that
        was behind, a power loss under ``everysec``), and the next events will reuse their ids,
        which this connection would take as seen. Close (1013): the client resumes, finds the
        log behind what it saw at ``welcome``, and replays the session from the start."""
        buffer = self.state.orchestrator.buffer
        meta = await self._with_store(partial(buffer.meta, self.session_id))
        if meta is not None and meta.head_event_id < delivered:
            log.warning(
                "session %s: the store's event log ends at %d, before event %d this connection was sent",
                self.session_id,
                meta.head_event_id,
                delivered,
            )
            raise StoreUnavailable(
                "the session store lost events this client was sent; reconnect: the log is replayed",
                head_event_id=meta.head_event_id,
            )

    async def _catch_up(self, after: int, reason: str, live: Subscription | None = None) -> int:
        """Send every logged event after ``after``; returns the last id sent. A ``live`` client
        (past its initial replay) that is more than ``max_lag_events`` behind is a slow consumer."""
        self.state.metrics.resyncs.labels(reason).inc()
        page = self.limits.replay_page
        buffer = self.state.orchestrator.buffer
        while True:
            if live is not None and live.head - after > self.limits.max_lag_events:
                raise SlowConsumer(
                    f"the client is {live.head - after} events behind;"
                    " reconnect and resume from your last event id",
                    reason="lag",
                    behind=live.head - after,
                )
            batch = await self._with_store(partial(buffer.events_after, self.session_id, after, page))
            for event_id, payload in batch:
                await self.send(protocol.event_frame(event_id, payload))
                after = event_id
            self.state.metrics.events_sent.inc(len(batch))
            if len(batch) < page:
                return after
            if time.monotonic() >= self._keep_at:  # a long replay (a slow link): the slot stays ours
                await self._keep_alive()
                self._keep_at = time.monotonic() + min(self.limits.idle_resync, self.limits.presence_ttl / 3)


async def _expiry(expires_at: float) -> None:
    """Raise once the connection's token has expired. An HTTP request is judged by its token
    when it comes; a connection lives for hours: it is closed with 4401 (UNAUTHORIZED) and the
    client says hello again with a new token (the console asks for one), resending what it had
    not seen acked, as after any close."""
    await asyncio.sleep(max(0.0, expires_at - time.time()))
    raise AuthError("the token expired: connect again with a new one")


async def stream_endpoint(websocket: WebSocket) -> None:
    """``/v1/orchestrator/session/{session_id}/stream``"""
    state: AppState = websocket.app.state.astra
    session_id = websocket.path_params["session_id"]
    offered = [p.strip() for p in websocket.scope.get("subprotocols", [])]
    token = next(
        (p[len(protocol.BEARER_PREFIX) :] for p in offered if p.startswith(protocol.BEARER_PREFIX)), None
    )
    if not state.origin_allowed(websocket.headers.get("origin"), websocket.headers.get("host")):
        await websocket.close(4403, "FORBIDDEN_ORIGIN")  # before accept: the handshake gets 403
        return
    await websocket.accept(subprotocol=protocol.SUBPROTOCOL if protocol.SUBPROTOCOL in offered else None)
    state.metrics.connections.inc()
    try:  # made inside: one that fails to be made is counted out again, and closed
        await Connection(websocket, state, session_id).run(token)
    except WebSocketDisconnect:
        pass
    except Exception:
        log.exception("connection to session %s failed", session_id)
        if websocket.application_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(Exception):
                await websocket.close(CLOSE_INTERNAL, "INTERNAL")
    finally:
        state.metrics.connections.dec()
