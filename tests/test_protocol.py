"""The wire format, as pure functions over bytes: no sockets, no Redis."""

from __future__ import annotations

import contextlib

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from server import protocol
from server.errors import FrameTooLarge, InvalidField, ProtocolError, UnknownType
from server.protocol import Hello, Ping, Text

LIMITS = {"max_frame_bytes": 4096, "max_text_chars": 100}


def decode(message: object, max_frame_bytes: int = LIMITS["max_frame_bytes"]) -> protocol.ClientMessage:
    return protocol.decode_client(
        msgpack.packb(message), max_frame_bytes=max_frame_bytes, max_text_chars=LIMITS["max_text_chars"]
    )


def test_hello_text_and_ping_decode_to_typed_messages() -> None:
    """Valid frames become their dataclasses; optional fields take their defaults."""
    assert decode({"type": "hello", "client_id": "c1", "token": "t"}) == Hello("c1", "t", 0)
    assert decode({"type": "hello", "client_id": "c1", "last_event_id": 9}) == Hello("c1", None, 9)
    assert decode({"type": "text", "seq": 3, "text": "hola", "extra": 1}) == Text(3, "hola")
    assert decode({"type": "ping", "ref": [1, "a"]}) == Ping([1, "a"])


@pytest.mark.parametrize(
    ("frame", "error", "code"),
    [
        (b"\xc1", ProtocolError, "BAD_FRAME"),
        (msgpack.packb([1, 2]), ProtocolError, "BAD_FRAME"),
        (msgpack.packb({1: 2}), InvalidField, "INVALID_FIELD"),  # a map without "type"
        (msgpack.packb({"type": "dance"}), UnknownType, "UNKNOWN_TYPE"),
        (msgpack.packb({"no": "type"}), InvalidField, "INVALID_FIELD"),
        (msgpack.packb({"type": "text", "seq": 0, "text": "a"}), InvalidField, "INVALID_FIELD"),
        (msgpack.packb({"type": "text", "seq": True, "text": "a"}), InvalidField, "INVALID_FIELD"),
        (msgpack.packb({"type": "text", "seq": 1, "text": b"bytes"}), InvalidField, "INVALID_FIELD"),
        (msgpack.packb({"type": "text", "seq": 1, "text": "x" * 101}), InvalidField, "INVALID_FIELD"),
        (msgpack.packb({"type": "hello", "client_id": ""}), InvalidField, "INVALID_FIELD"),
        # review: a console named as an HTTP recorder held the recording in its name
        (msgpack.packb({"type": "hello", "client_id": "http:bob"}), InvalidField, "INVALID_FIELD"),
        (msgpack.packb({"type": "hello", "client_id": "a", "v": 2}), InvalidField, "INVALID_FIELD"),
        (
            msgpack.packb({"type": "hello", "client_id": "a", "last_event_id": -1}),
            InvalidField,
            "INVALID_FIELD",
        ),
        (b"\x81" + msgpack.packb("type") + b"\xa4te", ProtocolError, "BAD_FRAME"),
        (b"\x00" * 5000, FrameTooLarge, "FRAME_TOO_LARGE"),
    ],
)
def test_bad_frames_raise_coded_protocol_errors(frame: bytes, error: type[Exception], code: str) -> None:
    """Each kind of bad frame raises the ProtocolError subclass with its documented code."""
    with pytest.raises(error) as info:
        protocol.decode_client(frame, **LIMITS)
    assert isinstance(info.value, ProtocolError) and info.value.code == code


@given(st.binary(max_size=300))
def test_any_bytes_decode_or_raise_protocol_error(data: bytes) -> None:
    """Arbitrary bytes never crash the decoder with anything but a ProtocolError."""
    with contextlib.suppress(ProtocolError):
        protocol.decode_client(data, **LIMITS)


_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.text(max_size=20)
    | st.binary(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@given(
    st.dictionaries(st.sampled_from(["type", "seq", "text", "client_id", "token", "ref", "v", "x"]), _values)
)
def test_any_map_decodes_or_raises_protocol_error(frame: dict[str, object]) -> None:
    """Maps with arbitrary values for the known keys never crash the decoder."""
    with contextlib.suppress(ProtocolError):
        protocol.decode_client(msgpack.packb(frame), **LIMITS)


@given(st.integers(min_value=1, max_value=2**63 - 1), st.text(max_size=30), st.floats(allow_nan=False))
def test_spliced_event_frame_equals_plain_encoding(event_id: int, actor: str, at: float) -> None:
    """event_frame splices the stored payload into the envelope: same map as encoding it whole."""
    payload = protocol.encode_event_payload("block.added", at, actor, {"block": {"text": "hola"}})
    frame = msgpack.unpackb(protocol.event_frame(event_id, payload))
    assert frame == {
        "type": "event",
        "id": event_id,
        "kind": "block.added",
        "at": at,
        "actor": actor,
        "data": {"block": {"text": "hola"}},
    }
    assert protocol.decode_event(event_id, payload) == {k: v for k, v in frame.items() if k != "type"}


@given(st.integers(min_value=1, max_value=2**63 - 1), st.booleans())
def test_spliced_audio_ack_equals_plain_encoding(seq: int, duplicate: bool) -> None:
    """An ack without block or event (audio) is spliced: the very bytes of encoding the map."""
    plain = {"type": "ack", "seq": seq, "block_id": None, "event_id": None, "duplicate": duplicate}
    assert protocol.ack(seq, block_id=None, event_id=None, duplicate=duplicate) == msgpack.packb(plain)


def test_live_doorbell_parsing() -> None:
    """Pub/sub messages carry '<id>:<payload>'; anything else is refused."""
    assert protocol.split_live(b"12:\x84abc") == (12, b"\x84abc")
    with pytest.raises(ValueError):
        protocol.split_live(b"x:1")


def _nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "data",
    [
        {"a": b"bytes"},
        {"a": msgpack.ExtType(5, b"x")},
        {"a": float("nan")},
        {"a": [float("inf")]},
        {"a": {b"key": 1}},
        {1: "x"},
        {"a": {None: 1}},
        {"a": [{1.5: 1}]},
        {"a": _nested(protocol.MAX_DATA_DEPTH)},
        # review: 64 KiB of empty arrays, ~4.7 MB of Python objects at each decoding of the block
        {"a": [[] for _ in range(protocol.MAX_DATA_ITEMS)]},
        {"a": [{"k": i} for i in range(protocol.MAX_DATA_ITEMS // 2)]},
    ],
    ids=[
        "bin",
        "ext",
        "nan",
        "inf",
        "bin-key",
        "int-key",
        "nil-key",
        "float-key",
        "too-deep",
        "too-many",
        "too-many-maps",
    ],
)
def test_structured_data_must_be_plain_data(data: dict[str, object]) -> None:
    """structured_data that JSON cannot carry (bin, extension types, NaN, keys other than
    strings, deep nesting) is refused with INVALID_FIELD and the frame's seq in edit and insert,
    not stored to break later."""
    frames = [
        {"type": "edit", "seq": 1, "block_id": "b", "base_version": 1, "changes": {"structured_data": data}},
        {"type": "insert", "seq": 1, "block": {"text": "hola", "structured_data": data}},
    ]
    for frame in frames:
        with pytest.raises(InvalidField) as info:
            decode(frame, max_frame_bytes=1 << 20)
        assert info.value.details == {"field": "structured_data"} and info.value.seq == 1


def test_a_label_and_structured_data_have_a_size_limit() -> None:
    """Review: only ``text`` was bounded; an edit over HTTP could store an 8 MB label or
    structured_data in a block, sent to every client and sealed. Up to the limits they pass."""
    big = {"votes": "x" * protocol.MAX_DATA_BYTES}
    fine = {"label": "L" * protocol.MAX_LABEL_CHARS, "structured_data": {"votes": "x" * 60_000}}
    assert protocol.validate_changes(dict(fine), 100) == fine
    for changes, field in (
        ({"label": "L" * (protocol.MAX_LABEL_CHARS + 1)}, "label"),
        ({"structured_data": big}, "structured_data"),
    ):
        for container in ("changes", "block"):
            with pytest.raises(InvalidField) as info:
                protocol.validate_changes({"text": "hola", **changes}, 100, container=container)
            assert info.value.details == {"field": field}


def test_plain_structured_data_is_accepted() -> None:
    """Maps, arrays, strings, 64-bit integers, finite floats, booleans and null nested up to
    the limit are all fine."""
    data = {
        "n": [-(2**63), 2**64 - 1, 1.5, True, None, "x"],
        "deep": _nested(protocol.MAX_DATA_DEPTH - 1),
        "many": list(range(protocol.MAX_DATA_ITEMS - 100)),  # within the count of values
    }
    frame = {
        "type": "edit",
        "seq": 1,
        "block_id": "b",
        "base_version": 1,
        "changes": {"structured_data": data},
    }
    message = decode(frame, max_frame_bytes=1 << 20)
    assert isinstance(message, protocol.Edit) and message.changes["structured_data"] == data


@pytest.mark.parametrize(
    ("frame", "seq"),
    [
        ({"type": "text", "seq": 7, "text": "x" * 101}, 7),
        ({"type": "audio", "seq": 8, "format": "pcm16", "data": b"\x00"}, 8),
        ({"type": "edit", "seq": 9, "block_id": "b", "base_version": 0, "changes": {"text": "a"}}, 9),
        ({"type": "insert", "seq": 10, "block": {"text": 7}}, 10),
        ({"type": "delete", "seq": 11, "block_id": ""}, 11),
        ({"type": "text", "seq": 0, "text": "a"}, None),
        ({"type": "text", "seq": "1", "text": "a"}, None),
        ({"type": "presence", "block_id": 5}, None),
    ],
)
def test_invalid_field_of_a_numbered_frame_carries_its_seq(frame: dict[str, object], seq: int | None) -> None:
    """A numbered frame refused for a bad field names its seq (if that seq is itself valid), so
    the client knows which frame was refused and does not wait for its ack forever."""
    with pytest.raises(InvalidField) as info:
        decode(frame)
    assert info.value.seq == seq


@pytest.mark.parametrize("last", [2**63, 2**64 - 1, -1])
def test_last_event_id_beyond_stream_ids_is_invalid(last: int) -> None:
    """last_event_id must stay below 2^63 (Redis cannot read a stream after 2^64-1)."""
    with pytest.raises(InvalidField) as info:
        decode({"type": "hello", "client_id": "c", "last_event_id": last})
    assert info.value.details == {"field": "last_event_id"}
    assert decode({"type": "hello", "client_id": "c", "last_event_id": 2**63 - 1}) == Hello(
        "c", None, 2**63 - 1
    )


@pytest.mark.parametrize(
    ("frame", "field"),
    [
        ({"type": "hello", "client_id": "c", "v": True}, "v"),
        ({"type": "hello", "client_id": "c", "v": 1.0}, "v"),
        ({"type": "insert", "seq": 1, "after_block_id": "", "block": {"text": "a"}}, "after_block_id"),
        ({"type": "insert", "seq": 1, "after_block_id": "b" * 65, "block": {"text": "a"}}, "after_block_id"),
        ({"type": "insert", "seq": 1, "block": {"text": "a", "after_block_id": "b"}}, "block"),
        ({"type": "insert", "seq": 1, "block": {"text": "a", "colour": "red"}}, "block"),
        ({"type": "edit", "seq": 1, "block_id": "b", "base_version": 1, "changes": {"x": 1}}, "changes"),
        (
            {"type": "edit", "seq": 1, "block_id": "b", "base_version": 2**63, "changes": {"text": "a"}},
            "base_version",
        ),
        ({"type": "delete", "seq": 1, "block_id": "b", "base_version": 2**64 - 1}, "base_version"),
    ],
)
def test_fields_follow_one_rule_everywhere(frame: dict[str, object], field: str) -> None:
    """hello.v is an integer (not true, not 1.0); every block id, insert.after_block_id too, is
    1-64 characters; an unknown key of an inserted block is reported on 'block', not 'changes'."""
    with pytest.raises(InvalidField) as info:
        decode(frame)
    assert info.value.details["field"] == field
    assert decode({"type": "hello", "client_id": "c", "v": None}) == Hello("c", None, 0)
