"""Property-based fuzzing of the frame decoder, with protocol.md as the oracle.

Whatever bytes arrive, ``decode_client`` either returns the message the specification describes
or raises the ProtocolError whose code the specification gives for that fault; nothing else
escapes. A message it accepts can be stored, hashed and served as JSON, which is what the server
does with it next. Pure tier: bytes in, messages or errors out; no sockets, no Redis.

``ASTRA_FUZZ_SCALE`` multiplies the number of examples (e.g. 20 for a long local run).
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server import protocol
from server.errors import FrameTooLarge, InvalidField, ProtocolError, UnknownType
from server.protocol import Audio, AudioEnd, Delete, Edit, Hello, Insert, Ping, Presence, Text

MAX_FRAME = 4096
MAX_TEXT = 40
LIMITS = {"max_frame_bytes": MAX_FRAME, "max_text_chars": MAX_TEXT}
SCALE = float(os.environ.get("ASTRA_FUZZ_SCALE", "1"))
FUZZ = settings(
    max_examples=max(1, int(300 * SCALE)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
PER_TYPE = settings(FUZZ, max_examples=max(1, int(200 * SCALE)))
DOCUMENTED = {"BAD_FRAME", "FRAME_TOO_LARGE", "UNKNOWN_TYPE", "INVALID_FIELD"}
KNOWN_TYPES = ("hello", "text", "audio", "audio_end", "edit", "insert", "delete", "presence", "ping")
NUMBERED = ("text", "audio", "audio_end", "edit", "insert", "delete")
EDITABLE = ("text", "label", "template_id", "structured_data", "target_placeholder")


def decode(data: bytes) -> protocol.ClientMessage | ProtocolError:
    """The decoded message or the ProtocolError it raised; any other exception fails the test."""
    try:
        return protocol.decode_client(data, **LIMITS)
    except ProtocolError as exc:
        return exc


# -- the specification, written independently of server/protocol.py ------------------------------


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_seq(value: Any) -> bool:
    return is_int(value) and 1 <= value < 2**63


def is_block_id(value: Any) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 64


def is_plain(value: Any, depth: int = 0) -> bool:
    """JSON-like data: string keys, finite numbers within 64 bits, nested at most 32 deep."""
    if depth > 32:
        return False
    if value is None or isinstance(value, bool | str):
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**64
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(is_plain(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_plain(v, depth + 1) for k, v in value.items())
    return False


def bad_block_fields(fields: Any, container: str) -> set[str]:
    """Names a refusal of ``changes`` (edit) or ``block`` (insert) may give; empty when valid."""
    if not isinstance(fields, dict):
        return {container}
    bad: set[str] = set()
    allowed = set(EDITABLE) | ({"after_block_id"} if container == "changes" else set())
    if set(fields) - allowed:
        bad.add(container)
    for name in ("text", "label", "template_id", "target_placeholder"):
        if name in fields and not isinstance(fields[name], str):
            bad.add(name)
    if isinstance(fields.get("text"), str) and len(fields["text"]) > MAX_TEXT:
        bad.add("text")
    if "structured_data" in fields and not (
        isinstance(fields["structured_data"], dict) and is_plain(fields["structured_data"])
    ):
        bad.add("structured_data")
    after = fields.get("after_block_id")
    if container == "changes" and after is not None and not is_block_id(after):
        bad.add("after_block_id")
    if container == "changes" and not fields:
        bad.add("changes")
    if container == "block" and not isinstance(fields.get("text"), str):  # blank: INVALID_INPUT
        bad.add("block.text")
    return bad


def bad_fields(frame: dict[str, Any]) -> set[str]:
    """Every field of a map with a known ``type`` that protocol.md says is missing or ill-typed
    (absent and null are the same for top-level fields)."""
    get = frame.get
    checks: dict[str, bool]
    match get("type"):
        case "hello":
            client_id = get("client_id")
            checks = {
                "client_id": isinstance(client_id, str)
                and 1 <= len(client_id) <= 128
                and client_id.isprintable(),
                "token": get("token") is None
                or (isinstance(get("token"), str) and len(get("token")) <= 8192),
                "last_event_id": get("last_event_id") is None
                or (is_int(get("last_event_id")) and 0 <= get("last_event_id") < 2**63),
                "v": get("v") is None or (is_int(get("v")) and get("v") == 1),
            }
        case "text":
            text = get("text")
            checks = {"seq": is_seq(get("seq")), "text": isinstance(text, str) and len(text) <= MAX_TEXT}
        case "audio":
            fmt, data = get("format"), get("data")
            checks = {
                "seq": is_seq(get("seq")),
                "format": isinstance(fmt, str) and fmt in ("pcm16", "webm", "ogg"),
                "data": isinstance(data, bytes) and not (fmt == "pcm16" and len(data) % 2),
                "start": get("start") is None or isinstance(get("start"), bool),
            }
        case "audio_end":
            checks = {"seq": is_seq(get("seq"))}
        case "edit" | "delete":
            checks = {
                "seq": is_seq(get("seq")),
                "block_id": is_block_id(get("block_id")),
                "base_version": is_seq(get("base_version")),  # the same range: 1 .. 2^63 - 1
            }
            if get("type") == "edit":
                return {name for name, ok in checks.items() if not ok} | bad_block_fields(
                    get("changes"), "changes"
                )
        case "insert":
            after = get("after_block_id")
            checks = {"seq": is_seq(get("seq")), "after_block_id": after is None or is_block_id(after)}
            return {name for name, ok in checks.items() if not ok} | bad_block_fields(get("block"), "block")
        case "presence":
            checks = {"block_id": get("block_id") is None or is_block_id(get("block_id"))}
        case "ping":
            checks = {}
        case _:
            raise AssertionError("not a known type")
    return {name for name, ok in checks.items() if not ok}


def expected_message(frame: dict[str, Any]) -> protocol.ClientMessage:
    """The message protocol.md says a valid frame is."""
    get = frame.get
    match get("type"):
        case "hello":
            return Hello(get("client_id"), get("token"), get("last_event_id") or 0)
        case "text":
            return Text(get("seq"), get("text"))
        case "audio":
            return Audio(get("seq"), get("format"), get("data"), bool(get("start")))
        case "audio_end":
            return AudioEnd(get("seq"))
        case "edit":
            return Edit(get("seq"), get("block_id"), get("base_version"), get("changes"))
        case "insert":
            return Insert(get("seq"), get("after_block_id"), get("block"))
        case "delete":
            return Delete(get("seq"), get("block_id"), get("base_version"))
        case "presence":
            return Presence(get("block_id"))
        case "ping":
            return Ping(get("ref"))
    raise AssertionError("not a known type")


def assert_same(message: Any, expected: protocol.ClientMessage) -> None:
    """Equal field by field, NaN included (a ping's ref may be NaN, which equals nothing)."""
    assert repr(message) == repr(expected)


def assert_servable(message: protocol.ClientMessage) -> None:
    """What the server does next with an accepted message cannot fail: store it (msgpack),
    hash and serve it (strict JSON), answer it."""
    match message:
        case Edit(changes=fields) | Insert(block=fields):
            assert msgpack.unpackb(msgpack.packb(fields)) == fields
            json.dumps(fields, allow_nan=False, sort_keys=True)
        case Hello(client_id=client_id):
            protocol.welcome(
                session_id="s",
                client_id=client_id,
                role="r",
                sub="u",
                status="OPEN",
                last_seq=0,
                head_event_id=0,
                limits={},
            )
        case Ping(ref=ref):
            protocol.pong(ref)


# -- strategies ----------------------------------------------------------------------------------

BOUNDARY_INTS = st.sampled_from([0, 1, -1, 2, 2**63 - 1, 2**63, 2**64 - 1, -(2**63)])
scalars = (
    st.none()
    | st.booleans()
    | BOUNDARY_INTS
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats()
    | st.text(max_size=MAX_TEXT + 10)
    | st.binary(max_size=20)
    | st.builds(msgpack.ExtType, st.integers(0, 127), st.binary(max_size=8))
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
"""Anything msgpack can carry (maps with string keys, as the decoder requires)."""
_INT_MISSES = (0, -1, 1, 2**63 - 1, 2**63, 2**64 - 1, -(2**63), True, False, 1.0, "1", None)
_STR_MISSES = (
    "",
    " ",
    "x" * 64,
    "x" * 65,
    "x" * MAX_TEXT,
    "x" * (MAX_TEXT + 1),
    "\x00",
    "a\nb",
    b"x",
    1,
    None,
)
_STR_FIELDS = ("client_id", "token", "text", "block_id", "after_block_id", "format")
NEAR_MISSES: dict[str, tuple[Any, ...]] = {
    **dict.fromkeys(("seq", "last_event_id", "base_version", "v"), _INT_MISSES),
    **dict.fromkeys(_STR_FIELDS, (*_STR_MISSES, "pcm16", "webm")),
    **dict.fromkeys(("label", "template_id", "target_placeholder"), _STR_MISSES),
    "data": (b"", b"x", b"xy", "xy", None, ()),
    "start": (True, False, 1, 0, "true", None),
    "structured_data": (
        {},
        {"a": b"x"},
        {"a": math.nan},
        {"a": msgpack.ExtType(1, b"")},
        {b"k": 1},
        {"a": [[]]},
        [],
        "x",
        None,
    ),
}
"""Values just beside what each field accepts: boundaries, look-alike types, null."""


def near_misses(name: str) -> st.SearchStrategy[Any]:
    misses = NEAR_MISSES.get(name)
    return values if misses is None else st.sampled_from(misses)


plain = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
block_ids = st.text(min_size=1, max_size=64)
printable = st.text(
    st.characters(exclude_categories=("C", "Zl", "Zp", "Zs"), include_characters=" "),
    min_size=1,
    max_size=128,
)
texts = st.text(max_size=MAX_TEXT)


def fields_strategy(container: str) -> st.SearchStrategy[dict[str, Any]]:
    """Valid ``changes`` (edit) or ``block`` (insert) maps."""
    by_name: dict[str, st.SearchStrategy[Any]] = {
        "text": texts.filter(str.strip) if container == "block" else texts,
        "label": st.text(max_size=10),
        "template_id": st.text(max_size=10),
        "target_placeholder": st.text(max_size=10),
        "structured_data": st.dictionaries(st.text(max_size=6), plain, max_size=3),
    }
    if container == "changes":
        return st.fixed_dictionaries(
            {}, optional={**by_name, "after_block_id": st.none() | block_ids}
        ).filter(bool)
    return st.fixed_dictionaries({"text": by_name.pop("text")}, optional=by_name)


@st.composite
def audio_data(draw: st.DrawFn) -> tuple[str, bytes]:
    fmt = draw(st.sampled_from(["pcm16", "webm", "ogg"]))
    data = draw(st.binary(max_size=64))
    return fmt, data[: len(data) & ~1] if fmt == "pcm16" else data


VALID_FIELDS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "hello": {
        "client_id": printable,
        "token": st.none() | st.text(max_size=50),
        "last_event_id": st.none() | st.integers(0, 2**63 - 1),
        "v": st.none() | st.just(1),
    },
    "text": {"seq": st.integers(1, 2**63 - 1), "text": texts},
    "audio": {"seq": st.integers(1, 2**63 - 1), "start": st.none() | st.booleans()},
    "audio_end": {"seq": st.integers(1, 2**63 - 1)},
    "edit": {
        "seq": st.integers(1, 2**63 - 1),
        "block_id": block_ids,
        "base_version": st.integers(1, 2**63 - 1),
        "changes": fields_strategy("changes"),
    },
    "insert": {
        "seq": st.integers(1, 2**63 - 1),
        "after_block_id": st.none() | block_ids,
        "block": fields_strategy("block"),
    },
    "delete": {
        "seq": st.integers(1, 2**63 - 1),
        "block_id": block_ids,
        "base_version": st.integers(1, 2**63 - 1),
    },
    "presence": {"block_id": st.none() | block_ids},
    "ping": {"ref": values},
}
extra_keys = st.dictionaries(
    st.text(max_size=8).filter(lambda k: k not in {"type", *(f for v in VALID_FIELDS.values() for f in v)}),
    values,
    max_size=2,
)


ALL_KINDS = st.sampled_from(KNOWN_TYPES)


@st.composite
def valid_frames(draw: st.DrawFn, kinds: st.SearchStrategy[str] = ALL_KINDS) -> dict[str, Any]:
    """A frame protocol.md accepts, with unknown keys (which must be ignored) now and then."""
    kind = draw(kinds)
    frame: dict[str, Any] = {"type": kind, **draw(extra_keys)}
    for name, strategy in VALID_FIELDS[kind].items():
        value = draw(strategy)
        if value is not None or draw(st.booleans()):  # null and absent must mean the same
            frame[name] = value
    if kind == "audio":
        frame["format"], frame["data"] = draw(audio_data())
    return frame


@st.composite
def hostile_frames(
    draw: st.DrawFn, kinds: tuple[str, ...] = KNOWN_TYPES, nested_only: bool = False
) -> dict[str, Any]:
    """A valid frame with one to three of its fields (nested ones in ``changes`` and ``block``
    included) dropped or set to anything at all, and perhaps a stray key in a nested map."""
    frame = draw(valid_frames(st.sampled_from(kinds)))
    kind = frame["type"]
    top = [*VALID_FIELDS[kind], *(["format", "data"] if kind == "audio" else [])]
    container = {"edit": "changes", "insert": "block"}.get(kind)
    targets: list[tuple[str | None, str]] = [] if nested_only else [(None, name) for name in top]
    if container is not None:
        targets += [(container, name) for name in (*EDITABLE, "after_block_id", "colour")]
    for _ in range(draw(st.sampled_from([1, 1, 2, 3]))):
        where, name = draw(st.sampled_from(targets))
        target = frame if where is None else frame.get(where)
        if not isinstance(target, dict):
            continue
        match draw(st.sampled_from(["near miss", "near miss", "near miss", "any", "map", "drop"])):
            case "drop":
                target.pop(name, None)
            case "map":
                target[name] = draw(st.dictionaries(st.text(max_size=6), values, max_size=3))
            case "any":
                target[name] = draw(values)
            case _:
                target[name] = draw(near_misses(name))
    return frame


# -- properties ----------------------------------------------------------------------------------


@FUZZ
@given(valid_frames())
def test_valid_frames_decode_to_the_specified_message(frame: dict[str, Any]) -> None:
    """Every frame protocol.md describes decodes to its message (unknown keys ignored, null the
    same as absent), and the message can be stored, hashed and served."""
    message = decode(msgpack.packb(frame))
    assert not isinstance(message, ProtocolError), (frame, message)
    assert_same(message, expected_message(frame))
    assert_servable(message)


@pytest.mark.parametrize("kind", KNOWN_TYPES)
@PER_TYPE
@given(data=st.data())
def test_each_bad_field_is_invalid_field_naming_it(kind: str, data: st.DataObject) -> None:
    """A known type with missing or ill-typed fields (top-level, or inside an edit's changes or
    an inserted block) raises INVALID_FIELD naming one of them, with the frame's seq when that
    seq is valid; a frame without such a field decodes to the specified message."""
    nested = kind in ("edit", "insert") and data.draw(st.booleans())
    check_against_spec(data.draw(hostile_frames((kind,), nested_only=nested)))


@FUZZ
@given(st.one_of(valid_frames(st.just("audio")), hostile_frames(("audio",))))
def test_plain_audio_path_gives_the_field_checks_verdict(frame: dict[str, Any]) -> None:
    """The decoder's shortcut for a valid PCM16 audio frame takes every such frame and no other,
    and gives the message the field-by-field checks give."""
    try:
        full: protocol.ClientMessage | ProtocolError = protocol._decode_map(frame, MAX_TEXT)
    except ProtocolError as exc:
        full = exc
    fast = protocol._plain_audio(frame)
    if isinstance(full, Audio) and full.format == "pcm16":
        assert fast == full, frame
    else:
        assert fast is None, (frame, full)


BASE_FRAMES: dict[str, dict[str, Any]] = {
    "hello": {"type": "hello", "client_id": "c", "token": "t", "last_event_id": 3, "v": 1},
    "text": {"type": "text", "seq": 2, "text": "hola"},
    "audio": {"type": "audio", "seq": 2, "format": "pcm16", "data": b"\x00\x01", "start": True},
    "audio_end": {"type": "audio_end", "seq": 2},
    "edit": {
        "type": "edit",
        "seq": 2,
        "block_id": "b",
        "base_version": 1,
        "changes": {"text": "a", "label": "l"},
    },
    "insert": {"type": "insert", "seq": 2, "after_block_id": "b", "block": {"text": "a", "label": "l"}},
    "delete": {"type": "delete", "seq": 2, "block_id": "b", "base_version": 1},
    "presence": {"type": "presence", "block_id": "b"},
    "ping": {"type": "ping", "ref": [1, "x"]},
}


def test_every_near_miss_of_every_field_alone() -> None:
    """Each field of each message type, top-level or nested, set in turn to each value just
    beside what it accepts (or removed), is judged as protocol.md says: an exhaustive sweep of
    the boundaries that random generation may miss."""
    checked = 0
    for kind, base in BASE_FRAMES.items():
        assert_same(decode(msgpack.packb(base)), expected_message(base))
        container = {"edit": "changes", "insert": "block"}.get(kind)
        targets: list[tuple[str | None, str]] = [(None, name) for name in base if name != "type"]
        if container is not None:
            targets += [(container, name) for name in (*EDITABLE, "after_block_id", "colour")]
        for where, name in targets:
            for value in (*NEAR_MISSES.get(name, (None, b"x", 1.5, [])), "absent"):
                frame = {**base, **({where: dict(base[where])} if where else {})}
                target = frame if where is None else frame[where]
                if value == "absent":
                    target.pop(name, None)
                else:
                    target[name] = value
                check_against_spec(frame)
                checked += 1
    assert checked > 300


def check_against_spec(frame: dict[str, Any]) -> None:
    """Decode ``frame`` and compare with what protocol.md says of it (see ``bad_fields``)."""
    result = decode(msgpack.packb(frame))
    bad = bad_fields(frame)
    if not bad:
        assert not isinstance(result, ProtocolError), (frame, result)
        assert_same(result, expected_message(frame))
        assert_servable(result)
        return
    assert type(result) is InvalidField, (frame, bad, result)
    assert result.code == "INVALID_FIELD" and result.details["field"] in bad, (frame, bad, result.details)
    numbered_seq = frame.get("seq") if frame["type"] in NUMBERED and is_seq(frame.get("seq")) else None
    assert result.seq == numbered_seq


@FUZZ
@given(st.dictionaries(st.text(max_size=6), values, max_size=3), st.sampled_from(["edit", "insert"]))
def test_structured_data_is_accepted_exactly_when_plain(data: dict[str, Any], kind: str) -> None:
    """structured_data is stored only if JSON can carry it (string keys, finite numbers within
    64 bits, no bin or extension types); otherwise INVALID_FIELD names it."""
    fields = {"text": "hola", "structured_data": data}
    frame = {"type": kind, "seq": 1, "block_id": "b", "base_version": 1, "changes": fields, "block": fields}
    result = decode(msgpack.packb(frame))
    if is_plain(data):
        assert isinstance(result, Edit | Insert)
        assert_servable(result)
    else:
        assert type(result) is InvalidField and result.details == {"field": "structured_data"}


@FUZZ
@given(st.dictionaries(st.text(max_size=8), values, max_size=4), values)
def test_type_must_be_a_known_string(frame: dict[str, Any], kind: Any) -> None:
    """A map whose type is missing or not a string is INVALID_FIELD 'type'; a string that is not
    a known type is UNKNOWN_TYPE naming it."""
    frame["type"] = kind
    result = decode(msgpack.packb(frame))
    if kind in KNOWN_TYPES:
        return  # covered by the tests above
    if isinstance(kind, str):
        assert type(result) is UnknownType and result.details == {"type": kind}
    else:
        assert type(result) is InvalidField and result.details == {"field": "type"}


@FUZZ
@given(values.filter(lambda v: not isinstance(v, dict)))
def test_anything_but_a_map_is_bad_frame(value: Any) -> None:
    """Valid msgpack that is not a map is BAD_FRAME (the base ProtocolError, no seq)."""
    result = decode(msgpack.packb(value))
    assert type(result) is ProtocolError and result.code == "BAD_FRAME" and result.seq is None


@FUZZ
@given(st.binary(max_size=600))
def test_arbitrary_bytes_decode_or_raise_a_documented_code(data: bytes) -> None:
    """Random bytes never raise anything but a ProtocolError with a documented code."""
    result = decode(data)
    if isinstance(result, ProtocolError):
        assert result.code in DOCUMENTED
    else:
        assert_servable(result)


@FUZZ
@given(valid_frames(), st.data())
def test_damaged_frames_decode_or_raise_a_documented_code(frame: dict[str, Any], data: st.DataObject) -> None:
    """A valid frame cut short, with bytes flipped or inserted, still only ever gives a message
    or a documented ProtocolError (damage that keeps it valid msgpack must pass the field checks)."""
    raw = bytearray(msgpack.packb(frame))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw)))
        match data.draw(st.sampled_from(["flip", "cut", "insert"])):
            case "flip" if at < len(raw):
                raw[at] ^= data.draw(st.integers(1, 255))
            case "cut":
                del raw[at:]
            case _:
                raw[at:at] = data.draw(st.binary(min_size=1, max_size=4))
    result = decode(bytes(raw))
    if isinstance(result, ProtocolError):
        assert result.code in DOCUMENTED
    else:
        assert_servable(result)


@FUZZ
@given(st.binary(min_size=1, max_size=40), st.sampled_from(["text", "client_id", "block_id"]))
def test_strings_that_are_not_utf8_are_bad_frame(raw: bytes, field: str) -> None:
    """A msgpack str holding invalid UTF-8 makes the frame BAD_FRAME, whatever field it is in."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        raw = b"\xff" + raw
    frame = msgpack.packb({"type": "text", "seq": 1})
    # A third key/value appended by hand: fixmap 2 -> fixmap 3, then key, then str8 of raw bytes.
    data = bytes([frame[0] + 1]) + frame[1:] + msgpack.packb(field) + b"\xd9" + bytes([len(raw)]) + raw
    result = decode(data)
    assert type(result) is ProtocolError and result.code == "BAD_FRAME"


@FUZZ
@given(valid_frames(), st.integers(0, 3 * MAX_FRAME))
def test_size_limit_is_exact(frame: dict[str, Any], padding: int) -> None:
    """A frame over max_frame_bytes is FRAME_TOO_LARGE (with the limit), valid or not; one at
    or under the limit is judged on its content."""
    frame["zz_padding"] = b"\x00" * padding  # an unknown key: ignored when the frame is decoded
    data = msgpack.packb(frame)
    result = decode(data)
    if len(data) > MAX_FRAME:
        assert type(result) is FrameTooLarge and result.details == {"limit": MAX_FRAME}
    else:
        assert_same(result, expected_message(frame))
