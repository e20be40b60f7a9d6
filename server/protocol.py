"""The WebSocket wire protocol v1: pure functions over bytes (see protocol.md, which is normative).

``decode_client(data)`` turns one binary WebSocket message into a typed client message or raises
one of the :class:`~server.errors.ProtocolError` family; ``encode(message)`` turns a server
message dict into bytes. Nothing here imports asyncio, Starlette or Redis, so every rule of the
wire format is testable with bytes alone.

Events are stored in the session's log already msgpack-encoded (``encode_event_payload``); the
frame sent to clients is built by splicing that payload into the envelope (``event_frame``)
without decoding it again, so fanning an event out to N clients costs one encoding, not N.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any

import msgpack

from .errors import FrameTooLarge, InvalidField, ProtocolError, UnknownType

VERSION = 1
SUBPROTOCOL = "astra.v1"
"""Subprotocol the server selects; ``astra.bearer.<jwt>`` may be offered beside it to carry the token."""
BEARER_PREFIX = "astra.bearer."


@dataclass(frozen=True, slots=True)
class Hello:
    """First frame of every connection: who the client is and where it resumes."""

    client_id: str
    token: str | None
    last_event_id: int


@dataclass(frozen=True, slots=True)
class Text:
    """One utterance of text, numbered by the client for acks and deduplication."""

    seq: int
    text: str


@dataclass(frozen=True, slots=True)
class Audio:
    """A numbered chunk of audio: raw PCM16 16 kHz mono, or a piece of a WebM/Ogg stream."""

    seq: int
    format: str
    data: bytes
    start: bool
    """First chunk of a new container stream (a new MediaRecorder): resets the decoder."""


@dataclass(frozen=True, slots=True)
class AudioEnd:
    """The recording stopped: close the utterance in progress (numbered like audio)."""

    seq: int


MAX_UTTERANCE_ID = 64
EDITABLE_FIELDS = ("text", "label", "template_id", "structured_data", "target_placeholder")


@dataclass(frozen=True, slots=True)
class Edit:
    """Change fields of a block that is still at ``base_version`` (else STALE_VERSION)."""

    seq: int
    block_id: str
    base_version: int
    changes: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Insert:
    """A new block written by a person, placed right after ``after_block_id`` (None: first)."""

    seq: int
    after_block_id: str | None
    block: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Delete:
    """Remove a block that is still at ``base_version``; it stays in the log as a tombstone."""

    seq: int
    block_id: str
    base_version: int


@dataclass(frozen=True, slots=True)
class Presence:
    """Which block this connection is editing (a soft lock others see), or None."""

    block_id: str | None


@dataclass(frozen=True, slots=True)
class Ping:
    """Application-level ping; answered with a pong carrying the same ``ref``."""

    ref: Any


ClientMessage = Hello | Text | Audio | AudioEnd | Edit | Insert | Delete | Presence | Ping
Numbered = Text | Audio | AudioEnd | Edit | Insert | Delete
"""Frames that carry a client sequence number and get exactly one ack or error."""

AUDIO_FORMATS = ("pcm16", "webm", "ogg")

_MAX_CLIENT_ID = 128
MAX_EVENT_ID = 2**63 - 1
"""Event ids (like seqs) stay below 2^63, so ``id + 1`` is always a valid Redis stream id."""
_MAX_TOKEN = 8192


def _field(frame: dict[str, Any], name: str, kind: type | tuple[type, ...], *, required: bool = True) -> Any:
    value = frame.get(name)
    if value is None:
        if required:
            raise InvalidField(f"'{name}' is required", field=name)
        return None
    # bool is an int in Python; never accept it where a number is meant.
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise InvalidField(f"'{name}' has the wrong type", field=name)
    if not isinstance(value, kind):
        raise InvalidField(f"'{name}' has the wrong type", field=name)
    return value


def _seq(frame: dict[str, Any]) -> int:
    seq: int = _field(frame, "seq", int)
    if not 1 <= seq < 2**63:
        raise InvalidField("'seq' must be a positive integer", field="seq")
    return seq


def _block_id(frame: dict[str, Any], name: str) -> str:
    value: str = _field(frame, name, str)
    if not 1 <= len(value) <= 64:
        raise InvalidField(f"'{name}' is not a block id", field=name)
    return value


def _optional_block_id(frame: dict[str, Any], name: str) -> str | None:
    value = frame.get(name)
    if value is not None and (not isinstance(value, str) or not 1 <= len(value) <= 64):
        raise InvalidField(f"'{name}' must be a block id or null", field=name)
    return value


MAX_VERSION = 2**63 - 1
"""The largest ``base_version`` accepted (versions count edits: none gets near it)."""


def _version(frame: dict[str, Any]) -> int:
    version: int = _field(frame, "base_version", int)
    if not 1 <= version <= MAX_VERSION:
        raise InvalidField(f"'base_version' must be between 1 and {MAX_VERSION}", field="base_version")
    return version


HTTP_HOLDER_PREFIX = "http:"
"""How the recording's holder is named when an HTTP client holds it (``http:<sub>``)."""
MAX_DATA_DEPTH = 32
"""How deeply maps and arrays may nest in free-form data (``structured_data``, ``metadata``)."""
MAX_DATA_ITEMS = 4096
"""Values (maps, arrays and what they hold) in one piece of free-form data. Bytes alone do not
bound it: 64 KiB of msgpack can be 65,000 empty arrays, ~4.7 MB of Python objects each time the
block is decoded (a page of blocks, the acta's build). A block's fields are a few dozen."""
MAX_LABEL_CHARS = 200
"""A block's ``label`` (a heading such as "Intervención"): stored in the block, sent to every
client and sealed; unbounded, one edit could store megabytes in each."""
MAX_DATA_BYTES = 64 * 1024
"""``structured_data`` as msgpack (CORE's fields of a block are well under a kilobyte)."""
_INT_MIN, _INT_END = -(2**63), 2**64
"""Integers msgpack can carry (int64 and uint64)."""


def check_plain_data(value: Any, field: str) -> None:
    """Free-form data the server stores, hashes and serves as JSON: maps with string keys,
    arrays, strings, finite numbers msgpack can carry, booleans and null, nested at most
    MAX_DATA_DEPTH deep and MAX_DATA_ITEMS values in all. Anything else (bytes, extension types,
    NaN, huge integers) is refused here, at the edge, instead of breaking a JSON response or a
    hash later."""
    if _count_plain(value, field, 0) > MAX_DATA_ITEMS:
        raise InvalidField(f"'{field}' holds more than {MAX_DATA_ITEMS} values", field=field)


def _count_plain(value: Any, field: str, depth: int) -> int:
    """The values in ``value`` (itself included), each checked; stops counting past the bound."""
    if depth > MAX_DATA_DEPTH:
        raise InvalidField(f"'{field}' nests deeper than {MAX_DATA_DEPTH} levels", field=field)
    if value is None or isinstance(value, bool | str):
        return 1
    if isinstance(value, int):
        if not _INT_MIN <= value < _INT_END:
            raise InvalidField(f"'{field}' holds an integer out of range", field=field)
        return 1
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidField(f"'{field}' holds a number that is not finite", field=field)
        return 1
    count = 1
    if isinstance(value, list):
        for item in value:
            count += _count_plain(item, field, depth + 1)
            if count > MAX_DATA_ITEMS:
                return count
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidField(f"'{field}' has a key that is not a string", field=field)
            count += _count_plain(item, field, depth + 1)
            if count > MAX_DATA_ITEMS:
                return count
    else:
        raise InvalidField(f"'{field}' holds a value of type {type(value).__name__}", field=field)
    return count


def validate_changes(
    changes: dict[str, Any], max_text_chars: int, *, container: str = "changes"
) -> dict[str, Any]:
    """Only the editable fields, each with its type; unknown fields are refused. In ``changes``,
    ``after_block_id`` (a block id, or None for the start) moves the block, e.g. an image to
    another place; the fields of an inserted ``block`` (``container="block"``) do not include it,
    but may name the ``utterance_id`` whose audio the block's words were written from."""
    movable = container == "changes"
    if movable and "after_block_id" in changes:
        _optional_block_id(changes, "after_block_id")
    extra = {"after_block_id"} if movable else {"utterance_id"}
    unknown = set(changes) - set(EDITABLE_FIELDS) - extra
    if unknown:
        raise InvalidField(f"fields not editable: {', '.join(sorted(map(str, unknown)))}", field=container)
    if "utterance_id" in changes:  # an inserted block written for an utterance heard with no words
        uid = changes["utterance_id"]
        if not isinstance(uid, str) or not 1 <= len(uid) <= MAX_UTTERANCE_ID:
            raise InvalidField(
                f"'utterance_id' must be a string of 1-{MAX_UTTERANCE_ID} characters", field="utterance_id"
            )
    for name in ("text", "label", "template_id", "target_placeholder"):
        if name in changes and not isinstance(changes[name], str):
            raise InvalidField(f"'{name}' must be a string", field=name)
    if "structured_data" in changes:
        if not isinstance(changes["structured_data"], dict):
            raise InvalidField("'structured_data' must be a map", field="structured_data")
        check_plain_data(changes["structured_data"], "structured_data")
        if len(msgpack.packb(changes["structured_data"])) > MAX_DATA_BYTES:
            raise InvalidField(f"'structured_data' exceeds {MAX_DATA_BYTES} bytes", field="structured_data")
    if len(changes.get("label", "")) > MAX_LABEL_CHARS:
        raise InvalidField(f"'label' exceeds {MAX_LABEL_CHARS} characters", field="label")
    if len(changes.get("text", "")) > max_text_chars:
        raise InvalidField(f"'text' exceeds {max_text_chars} characters", field="text")
    return changes


NUMBERED_TYPES = ("text", "audio", "audio_end", "edit", "insert", "delete")


def decode_client(data: bytes, *, max_frame_bytes: int, max_text_chars: int) -> ClientMessage:
    """Parse one client frame; raise ProtocolError (or a subclass) with a code when it is bad.

    A numbered frame refused for a bad field carries its seq in the error (``exc.seq``) when
    the seq itself is valid, so the client can tell which frame was refused."""
    if len(data) > max_frame_bytes:
        raise FrameTooLarge(f"frame of {len(data)} bytes exceeds {max_frame_bytes}", limit=max_frame_bytes)
    try:
        # Any scalar may be a map key here: a frame whose nested map has an int key is refused
        # by its field check, with its seq (INVALID_FIELD), not as an unreadable frame.
        frame = msgpack.unpackb(data, raw=False, strict_map_key=False)
    except Exception as exc:  # msgpack raises several unrelated types on bad input
        raise ProtocolError("frame is not valid msgpack") from exc
    if not isinstance(frame, dict):
        raise ProtocolError("frame must be a msgpack map")
    audio = _plain_audio(frame)
    if audio is not None:
        return audio
    try:
        return _decode_map(frame, max_text_chars)
    except InvalidField as exc:
        if frame.get("type") in NUMBERED_TYPES and exc.details.get("field") != "seq":
            with contextlib.suppress(InvalidField):
                exc.seq = _seq(frame)
        raise


def frame_type(data: bytes) -> Any:
    """The ``type`` of a frame :func:`decode_client` refused (None if it has none), to tell a
    bad hello from another frame sent first."""
    with contextlib.suppress(Exception):
        frame = msgpack.unpackb(data, raw=False, strict_map_key=False)
        if isinstance(frame, dict):
            return frame.get("type")
    return None


def _plain_audio(frame: dict[str, Any]) -> Audio | None:
    """The frame as Audio when it is the common, valid kind (PCM16, whole samples, a valid seq,
    ``start`` absent or a bool), checked in one expression; None for any other frame, which
    :func:`_decode_map` judges field by field (with the same verdict for a valid one). Most
    frames of a session are these: a frame's whole decode, msgpack included, 2.1 → 1.5 µs."""
    seq = frame.get("seq")
    data = frame.get("data")
    start = frame.get("start")
    if (
        frame.get("type") == "audio"
        and frame.get("format") == "pcm16"
        and type(seq) is int
        and 1 <= seq < 2**63
        and type(data) is bytes
        and not len(data) % 2
        and (start is None or type(start) is bool)
    ):
        return Audio(seq, "pcm16", data, start is True)
    return None


def _decode_map(frame: dict[str, Any], max_text_chars: int) -> ClientMessage:
    kind = frame.get("type")
    match kind:
        case "hello":
            client_id: str = _field(frame, "client_id", str)
            if not 1 <= len(client_id) <= _MAX_CLIENT_ID or not client_id.isprintable():
                raise InvalidField("'client_id' must be 1-128 printable characters", field="client_id")
            if client_id.startswith(HTTP_HOLDER_PREFIX):  # the HTTP recorders' names: not to be worn
                raise InvalidField(
                    f"'client_id' must not start with {HTTP_HOLDER_PREFIX!r}", field="client_id"
                )
            token: str | None = _field(frame, "token", str, required=False)
            if token is not None and len(token) > _MAX_TOKEN:
                raise InvalidField("'token' is too long", field="token")
            last: int | None = _field(frame, "last_event_id", int, required=False)
            if last is not None and not 0 <= last <= MAX_EVENT_ID:
                raise InvalidField("'last_event_id' must be between 0 and 2^63-1", field="last_event_id")
            version: int | None = _field(frame, "v", int, required=False)
            if version not in (None, VERSION):
                raise InvalidField(f"protocol version {version!r} is not supported", field="v")
            return Hello(client_id=client_id, token=token, last_event_id=last or 0)
        case "text":
            seq = _seq(frame)
            text: str = _field(frame, "text", str)
            if len(text) > max_text_chars:
                raise InvalidField(f"'text' exceeds {max_text_chars} characters", field="text")
            return Text(seq=seq, text=text)
        case "audio":
            seq = _seq(frame)
            fmt: str = _field(frame, "format", str)
            if fmt not in AUDIO_FORMATS:
                raise InvalidField(
                    f"'format' must be one of {', '.join(AUDIO_FORMATS)}",
                    field="format",
                    accepted=AUDIO_FORMATS,
                )
            chunk: bytes = _field(frame, "data", bytes)
            if fmt == "pcm16" and len(chunk) % 2:
                raise InvalidField("pcm16 'data' must hold whole 16-bit samples", field="data")
            start: bool = _field(frame, "start", bool, required=False) or False
            return Audio(seq=seq, format=fmt, data=chunk, start=start)
        case "audio_end":
            return AudioEnd(seq=_seq(frame))
        case "edit":
            changes = validate_changes(_field(frame, "changes", dict), max_text_chars)
            if not changes:
                raise InvalidField("'changes' must change at least one field", field="changes")
            return Edit(_seq(frame), _block_id(frame, "block_id"), _version(frame), changes)
        case "insert":
            after = _optional_block_id(frame, "after_block_id")
            block = validate_changes(_field(frame, "block", dict), max_text_chars, container="block")
            if not isinstance(block.get("text"), str):  # blank: INVALID_INPUT, in seq order
                raise InvalidField("'block.text' is required", field="block.text")
            return Insert(_seq(frame), after, block)
        case "delete":
            return Delete(_seq(frame), _block_id(frame, "block_id"), _version(frame))
        case "presence":
            return Presence(_optional_block_id(frame, "block_id"))
        case "ping":
            return Ping(ref=frame.get("ref"))
        case str():
            raise UnknownType(f"unknown message type {kind!r}", type=kind)
        case _:
            raise InvalidField("'type' is required", field="type")


def encode(message: dict[str, Any]) -> bytes:
    """Encode one server message (a dict with a ``type``)."""
    data: bytes = msgpack.packb(message, use_bin_type=True)
    return data


def welcome(
    *,
    session_id: str,
    client_id: str,
    role: str,
    sub: str,
    status: str,
    last_seq: int,
    head_event_id: int,
    limits: dict[str, Any],
) -> bytes:
    return encode(
        {
            "type": "welcome",
            "v": VERSION,
            "session_id": session_id,
            "client_id": client_id,
            "role": role,
            "sub": sub,
            "status": status,
            "last_seq": last_seq,
            "head_event_id": head_event_id,
            "limits": limits,
        }
    )


def ack(seq: int, *, block_id: str | None, event_id: int | None, duplicate: bool) -> bytes:
    if block_id is None and event_id is None:  # audio: the same bytes, spliced (one per frame)
        number: bytes = msgpack.packb(seq)
        return _ACK_HEAD + number + (_ACK_TAIL_DUPLICATE if duplicate else _ACK_TAIL)
    return encode(
        {"type": "ack", "seq": seq, "block_id": block_id, "event_id": event_id, "duplicate": duplicate}
    )


_ACK_HEAD: bytes = bytes((0x85,)) + msgpack.packb("type") + msgpack.packb("ack") + msgpack.packb("seq")
_ACK_TAIL: bytes = b"".join(
    msgpack.packb(item) for item in ("block_id", None, "event_id", None, "duplicate", False)
)
_ACK_TAIL_DUPLICATE: bytes = _ACK_TAIL[:-1] + msgpack.packb(True)


def error(code: str, message: str, *, seq: int | None = None, details: dict[str, Any] | None = None) -> bytes:
    body: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if seq is not None:
        body["seq"] = seq
    if details:
        body["details"] = details
    return encode(body)


def pong(ref: Any) -> bytes:
    return encode({"type": "pong", "ref": ref})


def status(state: str, code: str | None = None, message: str | None = None) -> bytes:
    """The server's condition for this connection: ``degraded`` (with a code) or ``ok`` again."""
    body: dict[str, Any] = {"type": "status", "state": state}
    if code is not None:
        body["code"] = code
    if message is not None:
        body["message"] = message
    return encode(body)


def synced(event_id: int) -> bytes:
    """Sent once a (re)connected client has received every stored event up to ``event_id``."""
    return encode({"type": "synced", "event_id": event_id})


def encode_event_payload(kind: str, at: float, actor: str, data: dict[str, Any]) -> bytes:
    """The stored form of an event: a 4-entry msgpack map, without its id (Redis assigns it)."""
    return encode({"kind": kind, "at": at, "actor": actor, "data": data})


_EVENT_HEAD: bytes = msgpack.packb("type") + msgpack.packb("event") + msgpack.packb("id")
_FIXMAP_4 = 0x84
_FIXMAP_6 = 0x86


def event_frame(event_id: int, payload: bytes) -> bytes:
    """``{"type": "event", "id": event_id, **payload}`` built by splicing, without decoding."""
    if not payload or payload[0] != _FIXMAP_4:
        raise ValueError("event payload must be a 4-entry msgpack map")
    head: bytes = msgpack.packb(event_id)
    return bytes((_FIXMAP_6,)) + _EVENT_HEAD + head + payload[1:]


def decode_event(event_id: int, payload: bytes) -> dict[str, Any]:
    """The event as a dict (for HTTP listings, the audit report and tests)."""
    event: dict[str, Any] = msgpack.unpackb(payload, raw=False)
    return {"id": event_id, **event}


def split_live(message: bytes) -> tuple[int, bytes]:
    """Parse a pub/sub doorbell ``b"<event_id>:<payload>"``."""
    head, sep, payload = message.partition(b":")
    if not sep or not head.isdigit():
        raise ValueError("malformed live message")
    return int(head), payload
