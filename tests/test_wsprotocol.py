"""uvicorn's WebSocket protocol as astra serve runs it (server/wsprotocol.py), on a recording transport."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from server.wsprotocol import CLOSE_NOW, HOLD, SEND_NOW, KeepaliveProtocol

pytestmark = pytest.mark.anyio


class RecordingTransport(asyncio.Transport):
    """Keeps every ``write`` apart, so a test can tell how many socket writes a send cost."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0  # every write is taken at once

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def _binary_frame(data: bytes) -> bytes:
    """A server's (unmasked) binary WebSocket frame of under 126 bytes."""
    return bytes((0x82, len(data))) + data


_KEY = base64.b64encode(b"0123456789abcdef").decode()
_UPGRADE_REQUEST = (
    "GET /stream HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    f"Sec-WebSocket-Key: {_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
).encode()
"""A client's opening handshake."""


async def serve_one(
    app: Any, protocol_class: type[KeepaliveProtocol] = KeepaliveProtocol, **config_options: Any
) -> tuple[RecordingTransport, KeepaliveProtocol]:
    """A connection of ``protocol_class`` serving ``app``, its opening handshake received; the
    protocol's ``tasks`` holds the application's task."""
    config = Config(app=app, ws=protocol_class, ws_ping_interval=None, lifespan="off", **config_options)
    config.load()
    protocol = protocol_class(config=config, server_state=ServerState(), app_state={})
    transport = RecordingTransport()
    protocol.connection_made(transport)
    protocol.data_received(_UPGRADE_REQUEST)
    return transport, protocol


async def test_held_messages_go_out_in_order_with_the_next_write() -> None:
    """Messages sent with HOLD are framed at once but written with the next message: three
    messages, one socket write, each its own WebSocket frame, in order."""
    sent = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "bytes": b"first", HOLD: True})
        await send({"type": "websocket.send", "bytes": b"second", HOLD: True})
        await send({"type": "websocket.send", "bytes": b"third"})
        sent.set()
        await receive()  # until the test disconnects

    transport, protocol = await serve_one(app)
    async with asyncio.timeout(10):
        await sent.wait()
    assert transport.writes[0].startswith(b"HTTP/1.1 101")
    assert transport.writes[1:] == [
        _binary_frame(b"first") + _binary_frame(b"second") + _binary_frame(b"third")
    ]
    protocol.connection_lost(None)


async def test_a_held_message_goes_out_with_a_close() -> None:
    """A held message is never lost behind the connection's end: the close frame flushes it."""
    done = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "bytes": b"last words", HOLD: True})
        await send({"type": "websocket.close", "code": 1000})
        done.set()

    transport, protocol = await serve_one(app)
    async with asyncio.timeout(10):
        await done.wait()
    assert len(transport.writes) == 2
    assert transport.writes[1].startswith(_binary_frame(b"last words") + b"\x88")  # then the close frame
    protocol.connection_lost(None)


async def test_send_now_writes_at_once_or_not_at_all() -> None:
    """``send_now`` writes its frames after any held ones, in one socket write, and returns True;
    while a send would wait (the transport is over its high-water mark) and once the connection
    is closing, it writes nothing and returns False, so the caller takes the awaited send."""
    results: list[bool] = []
    step = asyncio.Event()
    proceed = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        send_now = scope["extensions"][SEND_NOW]
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "bytes": b"held", HOLD: True})
        results.append(send_now([b"one", b"two"]))
        step.set()
        await proceed.wait()  # the test pauses writing
        results.append(send_now([b"waits"]))
        step.set()
        await receive()  # the client's close frame
        results.append(send_now([b"closing"]))
        step.set()

    transport, protocol = await serve_one(app)
    async with asyncio.timeout(10):
        await step.wait()
    assert results == [True]
    assert transport.writes[1:] == [_binary_frame(b"held") + _binary_frame(b"one") + _binary_frame(b"two")]

    step.clear()
    protocol.pause_writing()
    proceed.set()
    async with asyncio.timeout(10):
        await step.wait()
    assert results == [True, False]
    protocol.resume_writing()

    step.clear()
    code_1000 = bytes(a ^ b for a, b in zip(b"\x03\xe8", b"\x01\x02", strict=True))  # masked with 1 2 3 4
    protocol.data_received(bytes((0x88, 0x82, 1, 2, 3, 4)) + code_1000)  # the client's close frame
    async with asyncio.timeout(10):
        await step.wait()
    assert results == [True, False, False]
    assert all(b"waits" not in w and b"closing" not in w for w in transport.writes)
    protocol.connection_lost(None)


async def test_close_now_writes_the_error_and_the_close_even_while_a_send_would_wait() -> None:
    """For a client given up on because it stopped reading: ``close_now`` writes the error frame
    and the close at once, though the transport is over its high-water mark (where a send waits,
    here for ever), reads the client again (a socket closed over unread data is reset, and the
    two frames lost), ends the connection for the application, and refuses a second time."""
    answers: list[bool] = []
    done = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        close_now = scope["extensions"][CLOSE_NOW]
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        protocol.pause_writing()  # the client stopped reading: any send would wait
        protocol.read_paused = True  # and uvicorn holds its next message back for us
        answers.append(close_now(b"slow", 4503, "SLOW_CONSUMER"))
        answers.append(not protocol.read_paused)  # read again: no close over unread data (RST)
        answers.append(close_now(b"again", 4503, "SLOW_CONSUMER"))
        disconnect = await receive()
        answers.append(
            disconnect == {"type": "websocket.disconnect", "code": 4503, "reason": "SLOW_CONSUMER"}
        )
        done.set()

    transport, protocol = await serve_one(app)
    async with asyncio.timeout(10):
        await done.wait()
    assert answers == [True, True, False, True]
    assert transport.writes[1].startswith(_binary_frame(b"slow") + b"\x88")  # the error, then the close
    assert len(transport.writes) == 2
    protocol.connection_lost(None)
