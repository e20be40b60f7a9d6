"""Property-based fuzzing of a live session: arbitrary frame sequences over a real connection.

Hypothesis draws sequences of client actions — text, audio, audio_end, edit, insert and delete
frames with the next, a resent (duplicate) or a skipped (gap) seq; garbage bytes, unknown types,
ill-typed fields, text WebSocket messages, oversized frames, presence, ping, a second hello,
reconnects — and sends them in pipelined bursts to a real ``astra serve`` process (real Redis,
embedded services) over a real socket. A model written from protocol.md predicts every reply.
Properties, checked after every burst and at the end of each example:

* the connection is never closed with 4500 and the server logs no error or traceback; the only
  closes are the documented ones (4400 after too many bad frames, 1009 for a frame far too big);
* every numbered frame gets exactly one ``ack`` or one coded ``error`` carrying its seq, in the
  order the frames were sent, and new acks come in seq order; every other bad frame gets its
  documented code; every ping its pong;
* ``welcome.last_seq`` after each reconnect is the last seq the model applied;
* the blocks in Redis (``GET .../blocks``) are exactly the acked, non-duplicate text and insert
  frames, in acta order, with every acked edit and delete applied: nothing accepted lost,
  nothing doubled;
* the client received every logged event once, in order, across reconnects, and the event log
  replays to the same blocks.

``ASTRA_FUZZ_SCALE`` multiplies the number of examples.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgpack
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from server.protocol import MAX_LABEL_CHARS

from .conftest import TENANT, TIME_UNIT, ServerProcess
from .wsclient import Client

SCALE = float(os.environ.get("ASTRA_FUZZ_SCALE", "1"))
MAX_FRAME = 4096
MAX_TEXT = 200
MAX_ERRORS = 16
"""Protocol errors tolerated on one connection (endpoint.MAX_PROTOCOL_ERRORS)."""
WAIT = 20.0 * TIME_UNIT
READER_CODES = {"BAD_FRAME", "FRAME_TOO_LARGE", "UNKNOWN_TYPE", "INVALID_FIELD", "DUPLICATE_HELLO"}
"""Errors the connection's reader answers at once (the others come from storing the frame)."""
MISSING = "blk_doesnotexist000000"

KINDS = (
    *["text"] * 5,
    *["edit"] * 3,
    *["delete"] * 2,
    *["insert"] * 3,
    *["audio"] * 2,
    "audio_end",
    "garbage",
    "unknown_type",
    "bad_field",
    "ws_text",
    "too_large",
    "presence",
    "ping",
    "hello",
    *["flush"] * 2,
    "reconnect",
)
SEQ_MODES = ("next", "next", "next", "dup", "gap")


@dataclass(frozen=True)
class Action:
    """One thing the client does; ``pick``, ``text`` and ``blob`` feed whichever kind needs them."""

    kind: str
    seq: str
    pick: int
    text: str
    blob: bytes


texts = st.text(max_size=30) | st.sampled_from(["Se abre la sesión.", "  ", "x" * (MAX_TEXT + 1)])
actions = st.builds(
    Action,
    kind=st.sampled_from(KINDS),
    seq=st.sampled_from(SEQ_MODES),
    pick=st.integers(0, 10_000),
    text=texts,
    blob=st.binary(max_size=40),
)


# -- the model: protocol.md, for one client id on one session -----------------------------------


@dataclass
class Block:
    block_id: str | None
    """None until its ack names it."""
    origin: tuple[str, int]
    """("text", seq) for a text frame's block, ("insert", seq) for an inserted one."""
    version: int = 1
    deleted: bool = False
    text: str | None = None
    """Known for inserted and edited blocks (CORE may rewrite a text frame's words)."""
    label: str | None = None


@dataclass
class Expected:
    """A reply that must come from storing a numbered frame, in sending order."""

    seq: int
    outcome: str
    """"ack", "dup", or an error code."""
    detail: Any = None
    on_ack: Callable[[dict[str, Any]], None] | None = None


@dataclass
class Model:
    client_id: str
    last: int = 0
    blocks: list[Block] = field(default_factory=list)
    protocol_errors: int = 0

    def known(self) -> list[Block]:
        return [b for b in self.blocks if b.block_id is not None]

    def target(self, pick: int) -> Block | None:
        """A block the client knows the id of (or None: it names a block that does not exist)."""
        known = self.known()
        return known[pick % len(known)] if known and pick % 5 else None

    def seq_for(self, mode: str, pick: int) -> int:
        if mode == "dup" and self.last:
            return 1 + pick % self.last
        if mode == "gap":
            return self.last + 2 + pick % 3
        return self.last + 1

    def refusal(self, seq: int) -> Expected | None:
        """What happens to a numbered frame because of its seq alone (protocol.md, `text`)."""
        if seq <= self.last:
            return Expected(seq, "dup")
        if seq > self.last + 1:
            return Expected(seq, "SEQ_GAP", self.last + 1)
        return None


# -- the driver ----------------------------------------------------------------------------------


class Session:
    """One example: a fresh session, one client id, its connection(s), and the model."""

    def __init__(self, server: ServerProcess, token: str, client_id: str) -> None:
        self.server = server
        self.token = token
        self.auth = {"authorization": f"Bearer {token}"}
        self.api = f"{server.url}/v1/orchestrator/session"
        response = httpx.post(
            f"{self.api}/start", json={"tenant_id": TENANT}, headers=self.auth, timeout=WAIT
        )
        assert response.status_code == 201, response.text
        self.session_id: str = response.json()["session_id"]
        self.model = Model(client_id)
        self.events: list[dict[str, Any]] = []
        self.ingest: list[Expected] = []
        self.reader: Counter[tuple[Any, ...]] = Counter()
        self.pings = 0
        self.last_new_ack = 0
        self.client = self.connect()

    # connection

    def connect(self) -> Client:
        client = Client(self.server.ws_url, self.session_id)
        last_event = self.events[-1]["id"] if self.events else 0
        welcome = client.hello(self.token, client_id=self.model.client_id, last_event_id=last_event)
        assert welcome["type"] == "welcome", welcome
        assert welcome["last_seq"] == self.model.last, (welcome, self.model.last)
        self.model.protocol_errors = 0
        self.last_new_ack = 0
        return client

    def reconnect(self) -> None:
        self.flush()
        self.client.close()
        self.client = self.connect()

    def send(self, frame: dict[str, Any]) -> None:
        self.client.ws.send(msgpack.packb(frame))

    def receive(self, *, closing: bool = False) -> dict[str, Any]:
        try:
            data = self.client.ws.recv(timeout=WAIT)
        except ConnectionClosed as exc:
            if closing:
                raise
            raise AssertionError(f"connection closed unexpectedly: {exc.rcvd}") from exc
        except TimeoutError as exc:
            raise AssertionError(f"no reply; still expecting {self.ingest} and {self.reader}") from exc
        assert isinstance(data, bytes), "the server must send binary messages"
        message: dict[str, Any] = msgpack.unpackb(data)
        if message["type"] == "event":
            expected_id = self.events[-1]["id"] + 1 if self.events else 1
            assert message["id"] == expected_id, f"event {message['id']} after {expected_id - 1}"
            self.events.append(message)
        return message

    def flush(self) -> None:
        """Read until every reply expected so far has come; compare them with the model's."""
        got_ingest: list[dict[str, Any]] = []
        got_reader: Counter[tuple[Any, ...]] = Counter()
        while len(got_ingest) < len(self.ingest) or sum(got_reader.values()) < sum(self.reader.values()):
            message = self.receive()
            match message["type"]:
                case "ack":
                    got_ingest.append(message)
                case "error" if message["code"] in READER_CODES:
                    got_reader[("error", message["code"], message.get("seq"))] += 1
                case "error":
                    got_ingest.append(message)
                case "pong":
                    got_reader[("pong", tuple(message["ref"]))] += 1
                case "event" | "presence" | "synced":
                    pass
                case other:
                    raise AssertionError(f"unexpected {other}: {message}")
        assert got_reader == self.reader, (got_reader, self.reader)
        assert len(got_ingest) == len(self.ingest)
        for reply, expected in zip(got_ingest, self.ingest, strict=True):
            self.check(reply, expected)
        self.ingest, self.reader = [], Counter()

    def check(self, reply: dict[str, Any], expected: Expected) -> None:
        assert reply.get("seq") == expected.seq, (reply, expected)
        match expected.outcome:
            case "ack":
                assert reply["type"] == "ack" and reply["duplicate"] is False, (reply, expected)
                assert reply["seq"] > self.last_new_ack, "new acks must come in seq order"
                self.last_new_ack = reply["seq"]
                if expected.on_ack is not None:
                    expected.on_ack(reply)
            case "dup":
                assert reply["type"] == "ack" and reply["duplicate"] is True, (reply, expected)
                assert reply["block_id"] is None and reply["event_id"] is None
            case code:
                assert reply["type"] == "error" and reply["code"] == code, (reply, expected)
                if code == "SEQ_GAP":
                    assert reply["details"] == {"expected": expected.detail}
                if code == "STALE_VERSION":
                    assert reply["details"]["current"]["version"] == expected.detail

    # actions

    def protocol_error(self, send: Callable[[], None], code: str, seq: int | None = None) -> None:
        """A frame the reader refuses: answered at once, or, past the limit, the connection is
        closed with 4400 (after everything sent before it is answered, to keep the model exact)."""
        if self.model.protocol_errors + 1 > MAX_ERRORS:
            self.flush()
            send()
            while (message := self.receive())["type"] != "error":
                pass
            assert message["code"] == "TOO_MANY_ERRORS", message
            self.expect_close(4400)
            return
        send()
        self.model.protocol_errors += 1
        self.reader[("error", code, seq)] += 1

    def expect_close(self, code: int) -> None:
        """The server closes the connection with ``code``; then the client reconnects."""
        deadline = time.monotonic() + WAIT
        while True:
            assert time.monotonic() < deadline, f"the server did not close with {code}"
            try:
                self.receive(closing=True)
            except ConnectionClosed as exc:
                assert exc.rcvd is not None and exc.rcvd.code == code, exc
                break
        self.client.close()
        self.client = self.connect()

    def numbered(self, frame: dict[str, Any], expected: Expected | None) -> None:
        """Send a numbered frame the reader accepts; ``expected`` is its outcome if stored."""
        self.send(frame)
        refusal = self.model.refusal(frame["seq"])
        outcome = refusal or expected
        assert outcome is not None
        if outcome.outcome == "ack":
            self.model.last = frame["seq"]
        self.ingest.append(outcome)

    def do(self, action: Action) -> None:
        m = self.model
        seq = m.seq_for(action.seq, action.pick)
        match action.kind:
            case "text":
                if len(action.text) > MAX_TEXT:
                    frame = {"type": "text", "seq": seq, "text": action.text}
                    self.protocol_error(lambda: self.send(frame), "INVALID_FIELD", seq)
                    return
                self.numbered({"type": "text", "seq": seq, "text": action.text}, self.text(seq, action.text))
            case "edit":
                self.numbered(*self.edit(seq, action))
            case "delete":
                self.numbered(*self.delete(seq, action))
            case "insert":
                self.insert(seq, action)
            case "audio":
                fmt = ("pcm16", "webm", "ogg")[action.pick % 3]
                data = bytes(len(action.blob)) if fmt == "pcm16" else action.blob  # PCM: silence
                frame = {
                    "type": "audio",
                    "seq": seq,
                    "format": fmt,
                    "data": data,
                    "start": action.pick % 2 == 0,
                }
                if fmt == "pcm16" and len(data) % 2:
                    self.protocol_error(lambda: self.send(frame), "INVALID_FIELD", seq)
                else:
                    self.numbered(frame, Expected(seq, "ack"))
            case "audio_end":
                self.numbered({"type": "audio_end", "seq": seq}, Expected(seq, "ack"))
            case "garbage":  # not msgpack at all, or not a map
                blob = b"\xc1" + action.blob if action.pick % 2 else msgpack.packb([action.text])
                self.protocol_error(lambda: self.client.ws.send(blob), "BAD_FRAME")
            case "unknown_type":
                self.protocol_error(
                    lambda: self.send({"type": f"x-{action.text}", "seq": seq}), "UNKNOWN_TYPE"
                )
            case "bad_field":  # a numbered frame with an ill-typed field: refused with its seq
                frame = {"type": "text", "seq": seq, "text": action.pick}
                self.protocol_error(lambda: self.send(frame), "INVALID_FIELD", seq)
            case "ws_text":
                self.protocol_error(lambda: self.client.ws.send(action.text or "hola"), "BAD_FRAME")
            case "too_large":
                self.too_large(action)
            case "presence":
                target = m.target(action.pick)
                self.send({"type": "presence", "block_id": target.block_id if target else None})
            case "ping":
                self.pings += 1
                self.send({"type": "ping", "ref": [self.pings, action.text]})
                self.reader[("pong", (self.pings, action.text))] += 1
            case "hello":  # counted among the connection's protocol errors too
                hello = {"type": "hello", "client_id": m.client_id, "token": self.token}
                self.protocol_error(lambda: self.send(hello), "DUPLICATE_HELLO")
            case "flush":
                self.flush()
            case "reconnect":
                self.reconnect()

    def text(self, seq: int, text: str) -> Expected:
        if not text.strip():
            return Expected(seq, "INVALID_INPUT")
        block = Block(None, ("text", seq))
        if self.model.refusal(seq) is None:  # stored: a new block at the end of the acta
            self.model.blocks.append(block)
        return Expected(seq, "ack", on_ack=lambda ack: setattr(block, "block_id", ack["block_id"]))

    def edit(self, seq: int, action: Action) -> tuple[dict[str, Any], Expected]:
        target = self.model.target(action.pick)
        version = self.version_for(target, action.pick)
        change = action.pick % 4
        changes: dict[str, Any] = (
            {"text": action.text[:MAX_TEXT] or "nuevo"},
            {"label": action.text[:MAX_LABEL_CHARS]},  # a longer one: test_protocol's size limit
            {"template_id": "TPL_NO_SUCH"},
            {"text": "  "},
        )[change]
        frame = {"type": "edit", "seq": seq, "block_id": target.block_id if target else MISSING}
        frame |= {"base_version": version, "changes": changes}
        if target is None or target.deleted:
            return frame, Expected(seq, "NOT_FOUND")
        if change >= 2 or not str(changes.get("text", "x")).strip():
            return frame, Expected(seq, "INVALID_INPUT")
        if version != target.version:
            return frame, Expected(seq, "STALE_VERSION", target.version)
        expected = Expected(seq, "ack")
        if self.model.refusal(seq) is None:  # applied: the model changes now, in sending order
            target.version += 1
            target.text = changes.get("text", target.text)
            target.label = changes.get("label", target.label)
        return frame, expected

    def delete(self, seq: int, action: Action) -> tuple[dict[str, Any], Expected]:
        target = self.model.target(action.pick)
        version = self.version_for(target, action.pick)
        frame = {"type": "delete", "seq": seq, "block_id": target.block_id if target else MISSING}
        frame["base_version"] = version
        if target is None or target.deleted:
            return frame, Expected(seq, "NOT_FOUND")
        if version != target.version:
            return frame, Expected(seq, "STALE_VERSION", target.version)
        if self.model.refusal(seq) is None:
            target.version += 1
            target.deleted = True
        return frame, Expected(seq, "ack")

    def insert(self, seq: int, action: Action) -> None:
        m = self.model
        after = m.target(action.pick) if action.pick % 7 else None
        after_id = (after.block_id if after else MISSING) if action.pick % 3 else None
        text = action.text
        frame = {"type": "insert", "seq": seq, "after_block_id": after_id, "block": {"text": text}}
        if len(text) > MAX_TEXT:
            self.protocol_error(lambda: self.send(frame), "INVALID_FIELD", seq)
            return
        if not text.strip():  # judged in seq order, before the block it follows is looked up
            self.numbered(frame, Expected(seq, "INVALID_INPUT"))
            return
        if after_id == MISSING:
            self.numbered(frame, Expected(seq, "NOT_FOUND"))
            return
        block = Block(None, ("insert", seq), text=text.strip())
        if m.refusal(seq) is None:  # stored right after its neighbour (or first)
            at = 0 if after is None or after_id is None else m.blocks.index(after) + 1
            m.blocks.insert(at, block)
        self.numbered(
            frame, Expected(seq, "ack", on_ack=lambda ack: setattr(block, "block_id", ack["block_id"]))
        )

    def too_large(self, action: Action) -> None:
        if action.pick % 3:  # over the limit: refused, the connection goes on
            frame = {"type": "text", "seq": 1, "text": "x", "pad": bytes(MAX_FRAME)}
            self.protocol_error(lambda: self.send(frame), "FRAME_TOO_LARGE")
        else:  # far over it: the server cuts the connection (1009); nothing is lost
            self.flush()
            self.send({"type": "text", "seq": 1, "text": "x", "pad": bytes(5 * MAX_FRAME)})
            self.expect_close(1009)

    @staticmethod
    def version_for(target: Block | None, pick: int) -> int:
        current = target.version if target else 1
        return (current, current, current + 1, max(1, current - 1))[pick % 4]

    # the end of an example

    def verify(self) -> None:
        self.flush()
        session = httpx.get(f"{self.api}/{self.session_id}", headers=self.auth, timeout=WAIT).json()
        while not self.events or self.events[-1]["id"] < session["head_event_id"]:
            self.receive()
        log = httpx.get(f"{self.api}/{self.session_id}/events?limit=5000", headers=self.auth, timeout=WAIT)
        logged = log.json()["events"]
        assert [e["id"] for e in self.events] == [e["id"] for e in logged[: len(self.events)]]
        assert [e["kind"] for e in self.events] == [e["kind"] for e in logged[: len(self.events)]]
        stored = httpx.get(f"{self.api}/{self.session_id}/blocks", headers=self.auth, timeout=WAIT)
        blocks = stored.json()["blocks"]
        assert_blocks(blocks, self.model.blocks, self.model.client_id)
        assert [summary(b) for b in replay(logged)] == [summary(b) for b in blocks]
        self.client.close()
        self.client = self.connect()  # welcome.last_seq is the model's, after everything
        self.client.close()


def summary(block: dict[str, Any]) -> tuple[Any, ...]:
    source = block["source"]
    return (block["block_id"], source.get("seq"), block["version"], bool(block.get("deleted")), block["text"])


def assert_blocks(stored: list[dict[str, Any]], model: list[Block], client_id: str) -> None:
    """The stored blocks are the model's, in the same order, with the same versions, tombstones,
    and (where the model knows them) texts and labels."""
    assert [(b["block_id"], b["version"], bool(b.get("deleted"))) for b in stored] == [
        (b.block_id, b.version, b.deleted) for b in model
    ], (stored, model)
    for got, want in zip(stored, model, strict=True):
        kind, seq = want.origin
        assert got["source"]["kind"] == ("text" if kind == "text" else "human")
        assert kind != "text" or got["source"] == {
            "kind": "text",
            "producer": got["source"]["producer"],
            "seq": seq,
        }
        assert want.text is None or got["text"] == want.text, (got, want)
        assert want.label is None or got["label"] == want.label, (got, want)


def replay(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The blocks the event log describes, in acta order."""
    blocks: dict[str, dict[str, Any]] = {}
    for event in events:
        data = event["data"]
        match event["kind"]:
            case "block.added" | "block.inserted" | "block.updated":
                blocks[data["block"]["block_id"]] = data["block"]
            case "block.deleted":
                blocks[data["block_id"]] = {
                    **blocks[data["block_id"]],
                    "deleted": True,
                    "version": data["version"],
                }
    return sorted(blocks.values(), key=lambda b: b["position"])


# -- the test ------------------------------------------------------------------------------------


@pytest.fixture
def server(spawn: Callable[..., ServerProcess]) -> ServerProcess:
    limits = {"ASTRA_MAX_FRAME_BYTES": str(MAX_FRAME), "ASTRA_MAX_TEXT_CHARS": str(MAX_TEXT)}
    return spawn("serve", env=limits)


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.timeout(600)  # room for shrinking a failure to its smallest frame sequence
@settings(
    max_examples=max(1, int(60 * SCALE)),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(actions, min_size=1, max_size=30), st.uuids())
def test_any_frame_sequence_keeps_the_session_exact(
    server: ServerProcess, plan: list[Action], client_uuid: Any
) -> None:
    """Whatever a client sends, in whatever order, the server answers exactly as protocol.md
    says, loses or doubles nothing it acknowledged, never fails internally, and its event log
    replays to the blocks it stores."""
    log_path = server.data_dir.parent / f"server-{server.port}.log"
    log_before = log_path.stat().st_size
    session = Session(server, server.token(), f"fuzz-{client_uuid}")
    try:
        for action in plan:
            note(f"{action}  (model: last={session.model.last})")
            session.do(action)
        session.verify()
    finally:
        session.client.close()  # a client left open would ping (and draw from `random`) later
    with log_path.open("rb") as log:
        log.seek(log_before)
        written = log.read().decode(errors="replace")
    assert "Traceback" not in written and "ERROR" not in written, written[-5000:]
