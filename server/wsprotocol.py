"""uvicorn's WebSocket protocol with the keepalive rule of protocol.md (``idle_timeout``, 4408).

uvicorn pings every ``ws_ping_interval`` seconds and, when no pong comes back within
``ws_ping_timeout``, fails the connection with 1011, whatever else the peer sent meanwhile, and
even when uvicorn itself had stopped reading: a client held back by the frame rate limit (or the
ingest window) has its pong queued behind frames the server has not read yet, and would be cut
off exactly because of the backpressure it is obeying. Here, instead:

* any bytes received since the ping count as a sign of life, and so does a socket the server is
  not reading (the application is applying backpressure): the next ping follows as usual;
* a connection from which nothing at all arrived gets an ``IDLE_TIMEOUT`` error frame and the
  close code 4408, the application sees a disconnect with that code, and the transport is
  aborted ``close_timeout`` later if the peer never takes the close (a dead host, a full TCP
  window), so nothing of it lingers.
* whatever ends a connection (the application closing it, or returning), the transport is
  aborted once a ``close_timeout`` after the application returned passes in which the peer took
  nothing of what is still to be written: uvicorn's close waits for the write buffer to drain,
  which a peer that stopped reading never lets happen.

A ``websocket.send`` message that carries ``HOLD`` (true) is framed but not written yet: it goes
out with the next message written (the application's next send, a ping, a close), in order. The
endpoint sends a batch of acks that way, so that they cost the socket one write, not one each;
they stay separate WebSocket messages. Other ASGI servers ignore the key and write each at once.

The connection's scope carries, under ``extensions[SEND_NOW]``, a plain function that writes
binary messages at once, in one socket write, and says whether it did: it does so only when no
send would wait (the transport's write buffer is below its high-water mark) and the connection
is open for messages, and otherwise writes nothing, so the caller then uses ``websocket.send``
(which waits, under its own timer). The endpoint's acks go that way: per message, one call
instead of three awaited layers (Starlette's, uvicorn's and this class's) and no timer. Messages
received wait for the application in an :class:`~server.inbox.Inbox`
rather than an ``asyncio.Queue`` (two Python calls per message instead of ~11).

Received bytes take a short way when they are what a recording client sends all session long:
unfragmented, masked binary messages within the size limit, on an open connection whose parser
stands between two frames. Those are unmasked (websockets' C ``apply_mask``) and handed to the
application here, without websockets' generator-based parser (about a seventh of the event loop
at full ingest). Anything else (a text, control or fragmented frame, reserved bits, an unmasked
or oversized frame, a connection not open) goes, from that frame on, to websockets as before,
which answers it as it always did; the short way resumes once websockets' parser stands
between two frames again. A frame cut across reads waits here until it is whole. Messages read
whole before a protocol error reach the application before the disconnect, whichever way read
them (uvicorn drops those that came in the same read as the error).

``extensions[CLOSE_NOW]`` writes an error frame and the close at once, whatever the transport
holds: for a client given up on because it stopped reading (SLOW_CONSUMER), which the
application does not wait for again.

``astra serve`` passes this class to uvicorn (``ws=``); everything else is uvicorn's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.frames import apply_mask  # type: ignore[attr-defined]  # speedups' C one, or its fallback
from websockets.http11 import Request
from websockets.protocol import State
from websockets.streams import StreamReader

from . import protocol
from .errors import CLOSE_IDLE_TIMEOUT
from .inbox import Inbox

IDLE_TIMEOUT = "IDLE_TIMEOUT"
HOLD = "astra.hold"
"""Key of a ``websocket.send`` message: frame it now, write it with the next message written."""
SEND_NOW = "astra.send_now"
"""Key in the scope's ``extensions``: :meth:`KeepaliveProtocol.send_now` of the connection."""
CLOSE_NOW = "astra.close_now"
"""Key in the scope's ``extensions``: :meth:`KeepaliveProtocol.close_now` of the connection."""

_BINARY_FIN = 0x82
"""First byte of a whole binary message in one frame: FIN, no reserved bit, opcode 2."""
_BETWEEN_FRAMES = StreamReader.at_eof.__code__
"""Where websockets' parser waits when it has read whole frames and nothing more."""


class KeepaliveProtocol(WebSocketsSansIOProtocol):
    last_heard: float = 0.0
    """Loop time of the last bytes received from the peer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = Inbox()  # type: ignore[assignment]  # what uvicorn uses of asyncio.Queue
        self._partial = bytearray()
        """The start of a frame the short way is waiting to see whole."""

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # none when the upgrade was refused
        if scope is not None:
            scope["extensions"][SEND_NOW] = self.send_now
            scope["extensions"][CLOSE_NOW] = self.close_now

    def data_received(self, data: bytes) -> None:
        self.last_heard = self.loop.time()
        if self._partial:
            self._partial += data
            buffer: bytes | bytearray = self._partial
            if self.conn.state is not State.OPEN:  # closing meanwhile: websockets reads it all
                self._hand_to_websockets(buffer, 0)
                return
        elif self._between_frames():
            buffer = data
        else:
            self._websockets_reads(data)
            return
        end = self._take_binary_messages(buffer)
        if end < 0:
            self._hand_to_websockets(buffer, ~end)
        elif buffer is self._partial:
            del self._partial[:end]
        elif end < len(buffer):
            self._partial = bytearray(buffer[end:])

    def _hand_to_websockets(self, buffer: bytes | bytearray, start: int) -> None:
        """websockets reads on from ``buffer[start:]``, the start of a frame."""
        rest = bytes(buffer[start:])
        self._partial = bytearray()
        self._websockets_reads(rest)

    def _websockets_reads(self, data: bytes) -> None:
        """uvicorn's ``data_received``, except that the messages read whole before a protocol
        error reach the application, then the disconnect: uvicorn drops those that came in the
        same read as the error, so what a client's valid frames deliver would depend on how TCP
        cut the stream."""
        self.conn.receive_data(data)
        if self.conn.parser_exc is None:
            self.handle_events()
            return
        # A text frame that is not UTF-8 among them: uvicorn answers it with a close of its own,
        # which websockets refuses once it has failed the connection. The messages after it are
        # not delivered; websockets' close goes out below.
        with contextlib.suppress(InvalidState):
            self.handle_events()
        self.handle_parser_exception()

    def _between_frames(self) -> bool:
        """websockets' parser has read whole frames and holds nothing, on an open connection with
        no fragmented message under way: the short way may read the next frame."""
        conn = self.conn
        if conn.state is not State.OPEN or conn.current_size is not None or conn.reader.buffer:
            return False
        if conn.max_fragment_size is not None:  # a limit per frame too: uvicorn never sets one
            return False
        waiting = conn.parser
        while (deeper := getattr(waiting, "gi_yieldfrom", None)) is not None:
            waiting = deeper  # down the chain of ``yield from`` to the generator that yielded
        return getattr(waiting, "gi_code", None) is _BETWEEN_FRAMES

    def _take_binary_messages(self, buffer: bytes | bytearray) -> int:
        """Hand the application each whole binary message at the start of ``buffer``; answer where
        the first incomplete frame begins (``len(buffer)`` when none), or ``~offset`` of the first
        frame the short way does not take."""
        limit = self.conn.max_message_size
        size = len(buffer)
        start = 0
        while size - start >= 2:
            second = buffer[start + 1]
            if buffer[start] != _BINARY_FIN or not second & 0x80:
                return ~start
            length = second & 0x7F
            if length < 126:
                mask_at = start + 2
            else:  # 126: the length in the next 2 bytes; 127: in the next 8 (RFC 6455 5.2)
                mask_at = start + (4 if length == 126 else 10)
                if size < mask_at:
                    return start
                length = int.from_bytes(buffer[start + 2 : mask_at], "big")
            if limit is not None and length > limit:  # websockets answers 1009 once it knows
                return ~start
            end = mask_at + 4 + length
            if end > size:
                return start
            mask = buffer[mask_at : mask_at + 4]
            self.curr_msg_data_type = "bytes"
            self.frames = [apply_mask(buffer[end - length : end], mask)]
            self.send_receive_event_to_app()
            start = end
        return start

    def _open_for_messages(self) -> bool:
        """Accepted, not closing and not answering the upgrade with an HTTP response: where
        uvicorn's ``send`` would frame a ``websocket.send`` message."""
        return self.handshake_complete and not self.close_sent and self.initial_response is None

    def send_now(self, frames: Sequence[bytes]) -> bool:
        """Write ``frames`` as binary messages, with any held before them, in one socket write:
        True when handed to the transport; False, nothing written, when a send would have to wait
        for the transport or the connection is not (or no longer) open for messages."""
        if not self.writable.is_set() or self.disconnected or not self._open_for_messages():
            return False
        try:
            for data in frames:
                self.conn.send_binary(data)
        except InvalidState:  # closing: raised by the first (the state cannot change in between)
            return False
        self.transport.write(b"".join(self.conn.data_to_send()))
        return True

    def close_now(self, error: bytes, code: int, reason: str) -> bool:
        """Write the error frame and the close at once, whatever the transport already holds, and
        say whether it did (not on a connection closed or closing): for a peer that stopped
        reading, which a send would wait for. Both join what it has not read; if it reads again
        it gets them, and otherwise the transport is dropped ``close_timeout`` after the
        application returns (:meth:`run_asgi`), as it is for the keepalive's close."""
        if self.disconnected or not self._open_for_messages():
            return False
        try:
            self.conn.send_binary(error)
            self.conn.send_close(code, reason)
        except InvalidState:
            return False
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        if self.read_paused:  # as uvicorn's close: what the peer sends is read (and dropped),
            # so the socket is not closed over unread data, which would reset the connection and
            # lose the error and the close to a client that reads again
            self.read_paused = False
            self.transport.resume_reading()
        return True

    async def send(self, message: Any) -> None:
        if message.get(HOLD) and message["type"] == "websocket.send" and self._open_for_messages():
            await self.writable.wait()
            if self.disconnected:
                raise ClientDisconnected()
            try:
                self.conn.send_binary(message["bytes"])  # kept in conn's output until the next write
            except InvalidState:
                raise ClientDisconnected() from None
            return
        await super().send(message)

    def keepalive_timeout(self) -> None:
        if self.close_sent or self.transport.is_closing():
            super().keepalive_timeout()
            return
        self.pong_timer = None
        self.pending_ping_payload = None  # a late pong for it is ignored
        if self.last_heard >= self.ping_sent_at or self.read_paused:
            self.schedule_ping()
            return
        message = f"nothing received for {self.ping_timeout:g} s after a ping"
        self.conn.send_binary(protocol.error(IDLE_TIMEOUT, message))
        self.conn.send_close(CLOSE_IDLE_TIMEOUT, IDLE_TIMEOUT)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        self.queue.put_nowait(
            {"type": "websocket.disconnect", "code": CLOSE_IDLE_TIMEOUT, "reason": IDLE_TIMEOUT}
        )
        self.transport.close()
        self.loop.call_later(self.close_timeout, self._abort)

    async def run_asgi(self) -> None:
        await super().run_asgi()
        # uvicorn closes the transport once the application has ended, and a close waits for the
        # write buffer to drain: a peer that stopped reading (a slow consumer the endpoint gave
        # up on, its close frame never taken) would hold the socket and its buffers for ever,
        # unpinged, its connection slot already given back.
        if not self.disconnected:
            self.loop.call_later(self.close_timeout, self._abort_unless_draining, self._buffered())

    def _buffered(self) -> int:
        return int(self.transport.get_write_buffer_size())

    def _abort_unless_draining(self, before: int) -> None:
        """Abort a connection the application has ended unless the peer took some of what was
        written in the last ``close_timeout``: a slow link still reading gets its close."""
        if self.disconnected:
            return
        now = self._buffered()
        if now < before:
            self.loop.call_later(self.close_timeout, self._abort_unless_draining, now)
        else:
            self.transport.abort()

    def _abort(self) -> None:
        if not self.disconnected:
            self.transport.abort()
