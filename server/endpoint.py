"""The WebSocket endpoint: moves frames between one socket and the orchestrator (protocol.md).

Three tasks per connection once the hello is accepted:

* the *reader* decodes frames, answers pings and protocol errors at once, and queues inputs;
* the *ingester* stores queued inputs in the client's order and acks each only when its effect
  is in Redis; audio frames that arrived together are stored in one round trip, then acked;
* the *sender* delivers the session's events: first everything after the client's
  ``last_event_id`` read from the log, then live events, falling back to the log whenever it
  missed any (overflow, pub/sub reconnect), so each event reaches the client once, in order.

All writes to the socket go through one lock, so frames never interleave.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Any, Literal, assert_never

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from . import protocol
from .auth import CAN_EDIT, CAN_SEND, Principal
from .buffer import Dedupe, SessionMeta
from .errors import (
    CLOSE_BAD_FRAME,
    CLOSE_HELLO_TIMEOUT,
    CLOSE_INTERNAL,
    AstraError,
    Forbidden,
    ProtocolError,
)
from .fanout import PRESENCE, RESYNC, Subscription
from .orchestrator import IngestResult
from .protocol import Audio, AudioEnd, Delete, Edit, Hello, Insert, Numbered, Ping, Presence, Text
from .state import AppState

log = logging.getLogger("astra.ws")

MAX_PROTOCOL_ERRORS = 16
"""Protocol errors tolerated on one connection before it is closed with 4400."""
INGEST_WINDOW = 64
"""Inputs read and not answered yet; beyond it the reader waits (TCP backpressure)."""


INGEST_BATCH_BYTES = 1 << 20
"""Audio bytes stored in one round trip at most, so one client's burst of large frames cannot
hold Redis (shared by every session) for long."""


def audio_run(
    first: Audio | AudioEnd, queue: asyncio.Queue[Numbered], max_bytes: int = INGEST_BATCH_BYTES
) -> tuple[list[Audio | AudioEnd], Numbered | None]:
    """``first`` and the audio frames queued right behind it, up to ``max_bytes`` of audio (stored
    together, in one round trip); the frame that ended the run, if any, is taken off the queue
    and returned: it must be handled next, before anything still queued."""
    run: list[Audio | AudioEnd] = [first]
    size = len(first.data) if isinstance(first, Audio) else 0
    while not queue.empty():
        following = queue.get_nowait()
        if not isinstance(following, Audio | AudioEnd):
            return run, following
        if isinstance(following, Audio):
            size += len(following.data)
            if size > max_bytes:
                return run, following
        run.append(following)
    return run, None


class Connection:
    def __init__(self, websocket: WebSocket, state: AppState, session_id: str) -> None:
        self.ws = websocket
        self.state = state
        self.session_id = session_id
        self.limits = state.settings.limits
        self._send_lock = asyncio.Lock()
        self._inputs: asyncio.Queue[Numbered] = asyncio.Queue()
        self._window = asyncio.Semaphore(INGEST_WINDOW)  # released as each input is answered
        self._errors = 0
        self.connection_id = uuid.uuid4().hex
        self._presence: dict[str, Any] = {}

    async def send(self, data: bytes) -> None:
        async with self._send_lock:
            await self.ws.send_bytes(data)

    async def fail(self, exc: AstraError, *, seq: int | None = None) -> None:
        """Tell the client what was wrong; the connection goes on."""
        self.state.metrics.errors.labels(exc.code).inc()
        await self.send(protocol.error(exc.code, exc.message, seq=seq, details=exc.details or None))

    async def close(self, exc: AstraError, close_code: int) -> None:
        """Send the error frame, then close with a code (see protocol.md, "Close codes")."""
        with contextlib.suppress(Exception):
            await self.fail(exc)
        with contextlib.suppress(Exception):
            await self.ws.close(close_code, exc.code)

    # -- handshake -------------------------------------------------------------------------------

    async def _receive_frame(self) -> bytes | None:
        """The next binary message; None when the client has gone."""
        message = await self.ws.receive()
        if message["type"] == "websocket.disconnect":
            return None
        data = message.get("bytes")
        if data is None:
            raise ProtocolError("text messages are not accepted: send msgpack in binary messages")
        return bytes(data)

    async def handshake(self, subprotocol_token: str | None) -> tuple[Principal, Hello, SessionMeta] | None:
        try:
            data = await asyncio.wait_for(self._receive_frame(), self.limits.hello_timeout)
        except TimeoutError:
            await self.close(
                ProtocolError("no hello frame in time", code="HELLO_TIMEOUT"), CLOSE_HELLO_TIMEOUT
            )
            return None
        if data is None:
            return None
        try:
            message = protocol.decode_client(
                data, max_frame_bytes=self.limits.max_frame_bytes, max_text_chars=self.limits.max_text_chars
            )
            if not isinstance(message, Hello):
                raise ProtocolError("the first frame must be a hello", code="HELLO_REQUIRED")
        except ProtocolError as exc:
            await self.close(exc, CLOSE_BAD_FRAME)
            return None
        try:
            principal = await self.state.auth.verify(message.token or subprotocol_token)
            meta = await self.state.orchestrator.session(principal, self.session_id)
        except AstraError as exc:
            await self.close(exc, exc.close_code or CLOSE_INTERNAL)
            return None
        return principal, message, meta

    # -- main loop -------------------------------------------------------------------------------

    async def run(self, subprotocol_token: str | None) -> None:
        accepted = await self.handshake(subprotocol_token)
        if accepted is None:
            return
        principal, hello, meta = accepted
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
            await self._set_presence("set")
            tasks = [
                asyncio.create_task(self._read(principal), name="ws-read"),
                asyncio.create_task(self._ingest(principal, hello.client_id, meta), name="ws-ingest"),
                asyncio.create_task(self._deliver(sub, hello.last_event_id), name="ws-deliver"),
            ]
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if not task.cancelled() and (exc := task.exception()) is not None:
                        raise exc
            finally:
                # Gone: leave the presence list (and release any soft lock) first, in a task of
                # its own, so nothing below (or a cancellation) can skip it; the TTL is the backstop.
                self.state.spawn(self._set_presence("del"))
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _read(self, principal: Principal) -> None:
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
                self._errors += 1
                if self._errors > MAX_PROTOCOL_ERRORS:
                    await self.close(
                        ProtocolError("too many bad frames", code="TOO_MANY_ERRORS"), CLOSE_BAD_FRAME
                    )
                    return
                await self.fail(exc)
                continue
            self.state.metrics.frames.labels(type(message).__name__.lower()).inc()
            match message:
                case Edit() | Insert() | Delete():
                    if principal.role not in CAN_EDIT:
                        await self.fail(Forbidden(f"role '{principal.role}' may not edit"), seq=message.seq)
                        continue
                    await self._window.acquire()
                    self._inputs.put_nowait(message)
                case Text() | Audio() | AudioEnd():
                    if principal.role not in CAN_SEND:
                        await self.fail(
                            Forbidden(f"role '{principal.role}' may not send input"), seq=message.seq
                        )
                        continue
                    await self._window.acquire()
                    self._inputs.put_nowait(message)
                case Presence(block_id=block_id):
                    if block_id != self._presence.get("block_id"):
                        self._presence.update(block_id=block_id, since=time.time())
                        await self._set_presence("set")
                    else:
                        await self._set_presence("touch")
                case Ping(ref=ref):
                    await self.send(protocol.pong(ref))
                    await self._set_presence("touch")
                case Hello():
                    await self.fail(ProtocolError("hello was already received", code="DUPLICATE_HELLO"))
                case _:
                    assert_never(message)

    async def _ingest(self, principal: Principal, client_id: str, meta: SessionMeta) -> None:
        orch = self.state.orchestrator
        held: Numbered | None = None
        while True:
            frame = held if held is not None else await self._inputs.get()
            held = None
            if isinstance(frame, Audio | AudioEnd):
                batch, held = audio_run(frame, self._inputs)
                await self._ingest_audio(principal, client_id, meta, batch)
                continue
            dedupe = Dedupe.by_seq(client_id, frame.seq)
            try:
                match frame:
                    case Text():
                        source = {"kind": "text", "producer": client_id, "seq": frame.seq}
                        result = await orch.ingest_text(principal, meta, frame.text, dedupe, source)
                    case Edit():
                        result = await orch.edit_block(
                            principal, meta, dedupe, frame.block_id, frame.base_version, frame.changes
                        )
                    case Insert():
                        result = await orch.insert_block(
                            principal, meta, dedupe, frame.after_block_id, frame.block
                        )
                    case Delete():
                        result = await orch.delete_block(
                            principal, meta, dedupe, frame.block_id, frame.base_version
                        )
                    case _:
                        assert_never(frame)
            except AstraError as exc:
                await self.fail(exc, seq=frame.seq)
                self._window.release()
                continue
            await self.send(
                protocol.ack(
                    frame.seq, block_id=result.block_id, event_id=result.event_id, duplicate=result.duplicate
                )
            )
            self._window.release()

    async def _ingest_audio(
        self, principal: Principal, client_id: str, meta: SessionMeta, batch: list[Audio | AudioEnd]
    ) -> None:
        """Store audio frames in one round trip, then answer each, in order."""
        frames = [
            (f.seq, f.format, f.data, f.start) if isinstance(f, Audio) else (f.seq, "end", b"", False)
            for f in batch
        ]
        results: list[IngestResult | AstraError]
        try:
            results = await self.state.orchestrator.ingest_audio_frames(principal, meta, client_id, frames)
        except AstraError as exc:
            results = [exc] * len(batch)
        for frame, result in zip(batch, results, strict=True):
            if isinstance(result, AstraError):
                await self.fail(result, seq=frame.seq)
            else:
                await self.send(
                    protocol.ack(frame.seq, block_id=None, event_id=None, duplicate=result.duplicate)
                )
            self._window.release()

    async def _set_presence(self, op: Literal["set", "del", "touch", "get"]) -> bytes:
        buffer = self.state.orchestrator.buffer
        return await buffer.presence(
            self.session_id, op, self.connection_id, self._presence, self.limits.presence_ttl
        )

    async def _deliver(self, sub: Subscription, last_event_id: int) -> None:
        delivered = await self._catch_up(last_event_id, "resume")
        await self.send(protocol.synced(delivered))
        quiet = min(self.limits.idle_resync, self.limits.presence_ttl / 3)
        while True:
            try:
                event_id, payload = await asyncio.wait_for(sub.get(), quiet)
            except TimeoutError:
                # Quiet for a while: make sure no doorbell was lost, and keep our presence alive.
                delivered = await self._catch_up(delivered, "idle")
                await self._set_presence("touch")
                continue
            if event_id == PRESENCE:
                await self.send(payload)
            elif (event_id, payload) == RESYNC:
                delivered = await self._catch_up(delivered, "resync")
                await self.send(await self._set_presence("get"))  # presence updates may be lost too
            elif event_id == delivered + 1:
                await self.send(protocol.event_frame(event_id, payload))
                self.state.metrics.events_sent.inc()
                delivered = event_id
            elif event_id > delivered + 1:  # we missed some: the log has them, in order
                delivered = await self._catch_up(delivered, "gap")

    async def _catch_up(self, after: int, reason: str) -> int:
        """Send every logged event after ``after``; returns the last id sent."""
        self.state.metrics.resyncs.labels(reason).inc()
        page = self.limits.replay_page
        while True:
            batch = await self.state.orchestrator.buffer.events_after(self.session_id, after, page)
            for event_id, payload in batch:
                await self.send(protocol.event_frame(event_id, payload))
                after = event_id
            self.state.metrics.events_sent.inc(len(batch))
            if len(batch) < page:
                return after


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
    connection = Connection(websocket, state, session_id)
    try:
        await connection.run(token)
    except WebSocketDisconnect:
        pass
    except Exception:
        log.exception("connection to session %s failed", session_id)
        if websocket.application_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(Exception):
                await websocket.close(CLOSE_INTERNAL, "INTERNAL")
    finally:
        state.metrics.connections.dec()
