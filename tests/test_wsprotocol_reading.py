"""How astra serve's WebSocket protocol reads what a client sends (server/wsprotocol.py).

Whole binary messages take a short way past websockets' parser; everything else goes to
websockets. For any stream of client frames cut anywhere into reads, the application must receive
exactly what it receives when websockets reads it all, and the server must answer the same bytes
(pongs, close frames) and end in the same state.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Close, Opcode
from websockets.protocol import State

from server.wsprotocol import KeepaliveProtocol
from tests.test_wsprotocol import RecordingTransport, serve_one

MAX_SIZE = 70_000
"""The server's message size limit in these tests: frames over it are refused (1009)."""


class WebsocketsReadsAll(KeepaliveProtocol):
    """The reference: every byte goes to websockets' parser (with our order of the messages
    before a protocol error and the disconnect)."""

    def _between_frames(self) -> bool:
        return False


class UvicornReadsAll(WebsocketsReadsAll):
    """uvicorn's own reading, for streams without a protocol error."""

    def _websockets_reads(self, data: bytes) -> None:
        WebSocketsSansIOProtocol.data_received(self, data)


def _client_frame(
    opcode: Opcode,
    payload: bytes,
    *,
    fin: bool = True,
    key: bytes | None = b"\x5a\x0f\xf0\xa5",
    first: int = 0,
) -> bytes:
    """A frame as a client sends it (RFC 6455 5.2): masked with ``key``, unmasked when None;
    ``first`` adds bits to the first byte (the reserved ones)."""
    length = len(payload)
    if length < 126:
        size = bytes((length,))
    elif length < 1 << 16:
        size = bytes((126,)) + length.to_bytes(2, "big")
    else:
        size = bytes((127,)) + length.to_bytes(8, "big")
    head = bytes(((0x80 if fin else 0) | first | opcode.value,))
    if key is None:
        return head + size + payload
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + bytes((size[0] | 0x80,)) + size[1:] + key + masked


def _pattern(size: int) -> bytes:
    return (bytes(range(256)) * (size // 256 + 1))[:size]


keys = st.binary(min_size=4, max_size=4)
payloads = st.one_of(
    st.binary(max_size=300),
    st.sampled_from([125, 126, 127, 65_535, 65_536, MAX_SIZE]).map(_pattern),
)


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    """The bytes of one client message or control frame that keeps the connection open."""
    kind = draw(st.sampled_from(["binary", "binary", "binary", "fragmented", "text", "ping", "pong"]))
    key = draw(keys)
    if kind == "binary":
        return _client_frame(Opcode.BINARY, draw(payloads), key=key)
    if kind == "fragmented":
        parts = draw(st.lists(st.binary(max_size=200), min_size=2, max_size=4))
        opcode = draw(st.sampled_from([Opcode.BINARY, Opcode.TEXT]))
        if opcode is Opcode.TEXT:
            parts = [b"x" * len(p) for p in parts]
        frames = [
            _client_frame(opcode if i == 0 else Opcode.CONT, p, fin=i == len(parts) - 1, key=key)
            for i, p in enumerate(parts)
        ]
        if draw(st.booleans()):  # a ping between two fragments, which RFC 6455 allows
            frames.insert(1, _client_frame(Opcode.PING, b"between", key=key))
        return b"".join(frames)
    if kind == "text":
        return _client_frame(Opcode.TEXT, draw(st.text(max_size=100)).encode(), key=key)
    if kind == "ping":
        return _client_frame(Opcode.PING, draw(st.binary(max_size=125)), key=key)
    return _client_frame(Opcode.PONG, draw(st.binary(max_size=125)), key=key)


endings = st.sampled_from(
    [
        "none",
        "close",
        "oversized",
        "unmasked",
        "reserved bit",
        "bad continuation",
        "bad utf-8",
        "bad utf-8, then unmasked",
    ]
)


def _ending(kind: str) -> bytes:
    """Bytes after which the connection ends, cleanly or with an error."""
    if kind == "close":
        close = _client_frame(Opcode.CLOSE, Close(1000, "bye").serialize())
        return close + _client_frame(Opcode.BINARY, b"after the close")
    if kind == "oversized":
        return _client_frame(Opcode.BINARY, bytes(MAX_SIZE + 1))
    if kind == "unmasked":
        return _client_frame(Opcode.BINARY, b"no mask", key=None)
    if kind == "reserved bit":
        return _client_frame(Opcode.BINARY, b"rsv1 without an extension", first=0x40)
    if kind == "bad continuation":
        return _client_frame(Opcode.CONT, b"orphan")
    if kind == "bad utf-8":
        return _client_frame(Opcode.TEXT, b"\xff\xfe")
    if kind == "bad utf-8, then unmasked":
        return _ending("bad utf-8") + _ending("unmasked")
    return b""


@contextlib.asynccontextmanager
async def _accepted(
    protocol_class: type[KeepaliveProtocol],
) -> AsyncIterator[tuple[RecordingTransport, KeepaliveProtocol]]:
    """A connection of ``protocol_class`` whose application accepted it and reads nothing more
    until the block ends."""
    accepted = asyncio.Event()
    done = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        accepted.set()
        await done.wait()

    transport, protocol = await serve_one(app, protocol_class, ws_max_size=MAX_SIZE)
    async with asyncio.timeout(10):
        await accepted.wait()
    assert transport.writes[0].startswith(b"HTTP/1.1 101")
    yield transport, protocol
    done.set()
    async with asyncio.timeout(10):
        await asyncio.gather(*protocol.tasks)


def _outcome(transport: RecordingTransport, protocol: KeepaliveProtocol) -> dict[str, Any]:
    received = []
    while not protocol.queue.empty():
        received.append(protocol.queue.get_nowait())
    return {
        "received": received,
        "written": b"".join(transport.writes[1:]),
        "state": protocol.conn.state,
        "closed": transport.closed,
    }


def _cut(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


async def _read(protocol_class: type[KeepaliveProtocol], reads: list[bytes]) -> list[dict[str, Any]]:
    """What the application and the client have seen after each read."""
    seen = []
    async with _accepted(protocol_class) as (transport, protocol):
        for data in reads:
            protocol.data_received(data)
            seen.append(_outcome(transport, protocol))
    return seen


@example(stream=[], ending="oversized", cuts=[])  # one byte over the limit: refused, not read
@example(stream=[_client_frame(Opcode.BINARY, _pattern(MAX_SIZE))], ending="none", cuts=[1, 7, 9_000])
@example(stream=[_client_frame(Opcode.BINARY, b"audio")], ending="unmasked", cuts=[])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stream=st.lists(messages(), max_size=12),
    ending=endings,
    cuts=st.lists(st.integers(min_value=0), max_size=12),
)
def test_any_stream_cut_anywhere_reads_as_websockets_reads_it(
    stream: list[bytes], ending: str, cuts: list[int]
) -> None:
    data = b"".join(stream) + _ending(ending)
    reads = _cut(data, cuts)
    short_way = asyncio.run(_read(KeepaliveProtocol, reads))
    assert short_way == asyncio.run(_read(WebsocketsReadsAll, reads))
    if ending in ("none", "close"):  # no protocol error: exactly as uvicorn reads it
        assert short_way == asyncio.run(_read(UvicornReadsAll, reads))
    final = short_way[-1] if short_way else {"state": State.OPEN}
    if ending == "none":
        assert final["state"] is State.OPEN
    else:
        assert final["state"] is not State.OPEN  # the ending was noticed, not skipped over


pytestmark = pytest.mark.anyio


def _websockets_feeds(protocol: KeepaliveProtocol) -> list[bytes]:
    """The bytes handed to websockets' parser from now on, one item a call."""
    fed: list[bytes] = []
    receive_data = protocol.conn.receive_data

    def counting_receive_data(data: bytes) -> None:
        fed.append(bytes(data))
        receive_data(data)

    protocol.conn.receive_data = counting_receive_data  # type: ignore[method-assign]
    return fed


async def test_whole_binary_messages_bypass_websockets_parser_and_others_do_not() -> None:
    """The short way is taken: binary messages reach the application while websockets' parser is
    never fed; a ping goes to websockets (which answers it), and the short way resumes after it."""
    async with _accepted(KeepaliveProtocol) as (transport, protocol):
        fed = _websockets_feeds(protocol)
        audio = [_pattern(3_200)[i:] for i in range(3)]
        first = _client_frame(Opcode.BINARY, audio[0])
        protocol.data_received(first[:5])  # a frame cut inside its header, then inside its payload
        protocol.data_received(first[5:100])
        protocol.data_received(first[100:] + _client_frame(Opcode.BINARY, audio[1]))
        assert fed == []
        ping = _client_frame(Opcode.PING, b"are you there")
        protocol.data_received(ping)
        assert fed == [ping]
        protocol.data_received(_client_frame(Opcode.BINARY, audio[2]))
        assert fed == [ping]
        outcome = _outcome(transport, protocol)
        assert [m["bytes"] for m in outcome["received"]] == audio
        assert outcome["written"] == bytes((0x8A, 13)) + b"are you there"  # websockets' pong


async def test_messages_read_whole_before_a_protocol_error_reach_the_application() -> None:
    """Audio frames that came in the same read as a broken frame are delivered, then the
    disconnect (uvicorn alone drops them: what arrived would depend on how TCP cut the stream)."""
    for first in (_client_frame(Opcode.BINARY, b"audio"), _client_frame(Opcode.TEXT, b"text")):
        data = (
            first + _client_frame(Opcode.BINARY, b"more audio") + _client_frame(Opcode.BINARY, b"x", key=None)
        )
        async with _accepted(KeepaliveProtocol) as (transport, protocol):
            protocol.data_received(data)
            received = _outcome(transport, protocol)["received"]
        assert [m.get("bytes", m.get("text")) for m in received[:2]] == [
            b"audio" if first[0] == 0x82 else "text",
            b"more audio",
        ]
        assert received[2]["type"] == "websocket.disconnect"
        assert received[2]["code"] == 1002
        assert len(received) == 3


async def test_a_frame_cut_by_the_servers_close_is_read_on_by_websockets() -> None:
    """Once the server closes, websockets reads the rest of a frame the short way had begun: the
    application gets no more messages and the client's close ends the connection."""
    async with _accepted(KeepaliveProtocol) as (transport, protocol):
        fed = _websockets_feeds(protocol)
        audio = _client_frame(Opcode.BINARY, _pattern(3_200))
        protocol.data_received(audio[:1_000])
        await protocol.send({"type": "websocket.close", "code": 1000})
        closing = audio[1_000:] + _client_frame(Opcode.CLOSE, Close(1000, "").serialize())
        protocol.data_received(closing)
        assert fed == [audio + _client_frame(Opcode.CLOSE, Close(1000, "").serialize())]
        outcome = _outcome(transport, protocol)
        assert [m["type"] for m in outcome["received"]] == ["websocket.disconnect"]
        assert outcome["closed"]


async def test_bad_utf_8_then_another_error_in_one_read_closes_cleanly() -> None:
    """A text frame that is not UTF-8 and a broken frame after it, in one read: the connection
    is closed with websockets' close frame, no exception escapes the protocol."""
    async with _accepted(KeepaliveProtocol) as (transport, protocol):
        protocol.data_received(
            _client_frame(Opcode.BINARY, b"audio") + _ending("bad utf-8") + _ending("unmasked")
        )
        outcome = _outcome(transport, protocol)
    assert [m["type"] for m in outcome["received"]] == ["websocket.receive", "websocket.disconnect"]
    assert outcome["received"][1]["code"] == 1002
    assert outcome["written"].startswith(b"\x88") and outcome["closed"]


async def test_an_oversized_frame_is_refused_as_soon_as_its_length_is_read() -> None:
    """1009 goes out once the header says too much is coming, before its mask or payload."""
    async with _accepted(KeepaliveProtocol) as (transport, protocol):
        protocol.data_received(_ending("oversized")[:10])  # 0x82, 0xFF, and the 64-bit length
        outcome = _outcome(transport, protocol)
    assert outcome["received"][-1]["code"] == 1009
    assert outcome["written"].startswith(b"\x88") and outcome["closed"]


async def test_a_limit_per_frame_leaves_the_reading_to_websockets() -> None:
    """uvicorn sets no limit per frame; were one set, websockets would apply it, not the short way."""
    async with _accepted(KeepaliveProtocol) as (transport, protocol):
        protocol.conn.max_fragment_size = 10
        protocol.data_received(_client_frame(Opcode.BINARY, bytes(11)))
        outcome = _outcome(transport, protocol)
    assert [m.get("code") for m in outcome["received"]] == [1009]


async def test_messages_of_every_length_encoding_take_the_short_way() -> None:
    """7-bit, 16-bit and 64-bit lengths (RFC 6455 5.2) are read as such: none goes to websockets."""
    async with _accepted(KeepaliveProtocol) as (transport, protocol):
        fed = _websockets_feeds(protocol)
        messages = [_pattern(size) for size in (125, 126, 65_535, 65_536, MAX_SIZE)]
        protocol.data_received(b"".join(_client_frame(Opcode.BINARY, m) for m in messages))
        outcome = _outcome(transport, protocol)
    assert fed == []
    assert [m["bytes"] for m in outcome["received"]] == messages
