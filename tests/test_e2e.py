"""End to end: real ``astra serve`` processes, real Redis, real WebSocket and HTTP clients."""

from __future__ import annotations

import hashlib
import io
import json
import signal
from pathlib import Path
from typing import Any

import docx
import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from .conftest import TENANT, ServerProcess, built_as_the_tenant
from .wsclient import Client

pytestmark = pytest.mark.e2e

UTTERANCES: list[dict[str, str]] = json.loads(
    (Path(__file__).parent / "fixtures" / "sesion_plenaria.json").read_text(encoding="utf-8")
)
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _start(server: ServerProcess, token: str) -> str:
    response = httpx.post(
        f"{server.url}/v1/orchestrator/session/start",
        json={
            "tenant_id": TENANT,
            "skeleton_id": "SKEL_STD_V1",
            "metadata": {"title": "Sesión plenaria 045"},
        },
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    session_id: str = response.json()["session_id"]
    return session_id


def _zone_texts(document: bytes) -> dict[str, str]:
    """The text of each content-control zone of a DOCX, keyed by its tag."""
    body = docx.Document(io.BytesIO(document)).element.body
    zones: dict[str, str] = {}
    for sdt in body.iter(f"{W}sdt"):
        tag = sdt.find(f"{W}sdtPr/{W}tag")
        if tag is not None:
            zones[tag.get(f"{W}val")] = "".join(t.text or "" for t in sdt.iter(f"{W}t"))
    return zones


@pytest.mark.cluster
def test_whole_session_over_http_and_websocket(spawn: Any, redis_url: str) -> None:
    """Utterances sent over HTTP and WebSocket become live events, then a DOCX whose zones hold
    every utterance in order and whose SHA-256 is the integrity hash; finalize is idempotent."""
    server = spawn("serve", env={"REDIS_URL": redis_url})
    token = server.token()
    auth = {"authorization": f"Bearer {token}"}
    session_id = _start(server, token)
    api = f"{server.url}/v1/orchestrator/session/{session_id}"

    watcher = Client(server.ws_url, session_id)
    assert watcher.hello(server.token(role="viewer", sub="viewer"), client_id="viewer")["type"] == "welcome"
    watcher.until(lambda m: m["type"] == "synced")

    for item in UTTERANCES:
        response = httpx.post(f"{api}/append", json={"text": item["text"]}, headers=auth)
        assert response.status_code == 200, response.text
        assert response.json()["block"]["target_placeholder"] == item["zone"], item["text"]

    recorder = Client(server.ws_url, session_id)
    welcome = recorder.hello(token, client_id="console-1")
    assert welcome["last_seq"] == 0 and welcome["head_event_id"] == 1 + len(UTTERANCES)
    recorder.until(lambda m: m["type"] == "synced")
    assert [e["id"] for e in recorder.events] == list(range(1, 2 + len(UTTERANCES)))

    for seq, item in enumerate(UTTERANCES, start=1):
        recorder.text(seq, item["text"])
    recorder.until(lambda m: len(recorder.acks) == len(UTTERANCES))
    assert all(not a["duplicate"] and a["block_id"] for a in recorder.acks.values())
    assert not recorder.errors

    total = 1 + 2 * len(UTTERANCES)
    watcher.until(lambda m: m["type"] == "event" and m["id"] == total)
    assert [e["id"] for e in watcher.events] == list(range(1, total + 1))

    blocks = httpx.get(f"{api}/blocks", headers=auth).json()["blocks"]
    assert len(blocks) == 2 * len(UTTERANCES)
    assert [b["target_placeholder"] for b in blocks] == [u["zone"] for u in UTTERANCES] * 2

    result = httpx.post(f"{api}/finalize", headers=auth, timeout=60).json()
    document = httpx.get(result["download_url"]).content
    assert hashlib.sha256(document).hexdigest() == result["integrity_hash"]
    zones = _zone_texts(document)
    # every block, in order, in its zone, written by the tenant's pinned templates
    assert zones == _zone_texts(built_as_the_tenant(blocks))
    for block in blocks:
        if block["template_id"] == "TPL_DEBATE":  # interventions keep what was said
            assert block["text"] in zones[block["target_placeholder"]]
    assert result["audit_report"]["blocks"]["total"] == len(blocks)
    timeline = result["audit_report"]["timeline"]
    assert timeline["first_audio_at"] is None and timeline["last_audio_at"] is None  # text only
    assert timeline["started_at"] <= timeline["first_input_at"] <= timeline["last_input_at"]

    finalized = watcher.until(lambda m: m["type"] == "event" and m["kind"] == "session.finalized")
    assert finalized["data"]["integrity_hash"] == result["integrity_hash"]

    again = httpx.post(f"{api}/finalize", headers=auth, timeout=60).json()
    assert again["integrity_hash"] == result["integrity_hash"]
    assert hashlib.sha256(httpx.get(again["download_url"]).content).hexdigest() == result["integrity_hash"]

    late = httpx.post(f"{api}/append", json={"text": "una frase tardía"}, headers=auth)
    assert late.status_code == 409 and late.json()["error"]["code"] == "SESSION_CLOSED"
    recorder.text(len(UTTERANCES) + 1, "otra frase tardía")
    error = recorder.until(lambda m: m["type"] == "error")
    assert error["code"] == "SESSION_CLOSED" and error["seq"] == len(UTTERANCES) + 1
    watcher.close()
    recorder.close()


def test_sigkill_after_acks_loses_nothing(spawn: Any, tmp_path: Path) -> None:
    """Every acked frame survives SIGKILL of the server (its embedded Redis, told by the
    parent-death signal, flushes its AOF and exits; Redis itself killed is test_redis_restart's);
    after a restart on the same data dir the client learns its last applied seq, a resend is
    acked as a duplicate, new frames go on."""
    data = tmp_path / "durable"
    server = spawn("serve", data_dir=data)
    token = server.token()
    session_id = _start(server, token)
    client = Client(server.ws_url, session_id)
    client.hello(token, client_id="console-k")
    for seq in range(1, 31):
        client.text(seq, f"Tiene la palabra el concejal número {seq}.")
    client.until(lambda m: len(client.acks) == 30)
    server.kill()
    with pytest.raises((ConnectionClosed, OSError)):  # not TimeoutError: the socket must close
        client.until(lambda m: False, timeout=10)

    restarted = spawn("serve", data_dir=data)
    blocks = httpx.get(
        f"{restarted.url}/v1/orchestrator/session/{session_id}/blocks",
        headers={"authorization": f"Bearer {token}"},
    ).json()["blocks"]
    assert [b["source"]["seq"] for b in blocks] == list(range(1, 31))

    again = Client(restarted.ws_url, session_id)
    welcome = again.hello(token, client_id="console-k", last_event_id=31)
    assert welcome["last_seq"] == 30
    again.until(lambda m: m["type"] == "synced")
    assert again.events == []  # nothing after event 31 existed
    again.text(30, "Tiene la palabra el concejal número 30.")
    again.text(31, "Siguiente punto del orden del día.")
    again.until(lambda m: len(again.acks) == 2)
    assert again.acks[30]["duplicate"] is True and again.acks[31]["duplicate"] is False
    # the event may come before the acks (another task sends it): look at all received
    again.wait_for(lambda: bool(again.events))
    assert [e["id"] for e in again.events] == [32]
    again.close()


def test_resume_replays_exactly_what_was_missed(spawn: Any) -> None:
    """A client that reconnects with its last event id gets exactly the events after it, then
    live ones, with no gap and no repeat."""
    server = spawn("serve")
    token = server.token()
    session_id = _start(server, token)
    producer = Client(server.ws_url, session_id)
    producer.hello(token, client_id="p")
    for seq in range(1, 41):
        producer.text(seq, f"Intervención {seq} sobre el presupuesto.")
    producer.until(lambda m: len(producer.acks) == 40)

    reader = Client(server.ws_url, session_id)
    reader.hello(server.token(role="viewer"), client_id="r", last_event_id=17)
    reader.until(lambda m: m["type"] == "synced")
    assert [e["id"] for e in reader.events] == list(range(18, 42))
    producer.text(41, "Se levanta la sesión.")
    reader.until(lambda m: m["type"] == "event" and m["id"] == 42)
    assert [e["id"] for e in reader.events] == list(range(18, 43))


def test_a_stopping_server_closes_with_1012_and_clients_resume(spawn: Any, tmp_path: Path) -> None:
    """SIGTERM closes every connection with 1012 (protocol.md: reconnect and resume); a client
    resuming on the restarted server finds what was acked and goes on."""
    data = tmp_path / "shared"
    server = spawn("serve", data_dir=data)
    token = server.token()
    session_id = _start(server, token)
    client = Client(server.ws_url, session_id)
    client.hello(token)
    client.text(1, "Se abre la sesión antes del reinicio.")
    client.until(lambda m: m["type"] == "event")
    assert server.process is not None
    server.process.send_signal(signal.SIGTERM)
    with pytest.raises(ConnectionClosed) as info:
        client.until(lambda m: False)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1012
    server.process.wait(30)
    restarted = spawn("serve", data_dir=data)
    again = Client(restarted.ws_url, session_id)
    again.hello(token, last_event_id=client.events[-1]["id"])
    again.until(lambda m: m["type"] == "synced")
    again.text(2, "Se reanuda la sesión.")
    assert again.until(lambda m: m["type"] == "ack")["seq"] == 2
    again.close()


def test_bad_frames_get_coded_errors_over_a_real_socket(spawn: Any) -> None:
    """Bad first frames close with a code; after auth, bad frames get error frames and the
    connection goes on; a token offered as a subprotocol also authenticates."""
    server = spawn("serve", env={"ASTRA_MAX_FRAME_BYTES": "4096"})
    token = server.token()
    session_id = _start(server, token)

    def closed_with(client: Client) -> int:
        with pytest.raises(ConnectionClosed) as info:
            client.until(lambda m: False)
        assert info.value.rcvd is not None
        return info.value.rcvd.code

    c = Client(server.ws_url, session_id)
    c.ws.send(b"\xc1 definitely not msgpack")
    assert c.recv()["code"] == "BAD_FRAME" and closed_with(c) == 4400

    c = Client(server.ws_url, session_id)
    c.ws.send("un mensaje de texto primero")
    assert c.recv()["code"] == "BAD_FRAME" and closed_with(c) == 4400

    c = Client(server.ws_url, session_id)
    c.text(1, "antes del saludo")
    assert c.recv()["code"] == "HELLO_REQUIRED" and closed_with(c) == 4400

    # readable and not a hello: a misspelt hello, a numbered frame with a bad field
    for first in (
        {"type": "helo", "token": token},
        {"type": "text", "seq": 1, "text": 5},
        {"type": "text", "seq": "uno", "text": "hola"},  # its seq unreadable too
        {"type": "presence", "block_id": 5},
        {"token": token},  # no type at all
    ):
        c = Client(server.ws_url, session_id)
        c.send(first)
        assert c.recv()["code"] == "HELLO_REQUIRED" and closed_with(c) == 4400

    c = Client(server.ws_url, session_id)
    c.send({"type": "hello", "token": token, "client_id": 7})
    refused = c.recv()
    assert refused["code"] == "INVALID_FIELD" and refused["details"]["field"] == "client_id"
    assert closed_with(c) == 4400

    c = Client(server.ws_url, session_id)
    assert c.hello("not-a-jwt")["code"] == "UNAUTHORIZED" and closed_with(c) == 4401

    c = Client(server.ws_url, "ses_doesnotexist000000")
    assert c.hello(token)["code"] == "NOT_FOUND" and closed_with(c) == 4404

    c = Client(server.ws_url, session_id, subprotocols=["astra.v1", f"astra.bearer.{token}"])
    assert c.ws.subprotocol == "astra.v1"
    assert c.hello(None)["type"] == "welcome"
    c.until(lambda m: m["type"] == "synced")
    c.ws.send(b"\x92\x01\x02")  # msgpack array, not a map
    assert c.until(lambda m: m["type"] == "error")["code"] == "BAD_FRAME"
    c.send({"type": "dance"})
    assert c.until(lambda m: m["type"] == "error")["code"] == "UNKNOWN_TYPE"
    c.send({"type": "text", "seq": "uno", "text": "hola"})
    assert c.until(lambda m: m["type"] == "error")["code"] == "INVALID_FIELD"
    c.send({"type": "text", "seq": 1, "text": "x" * 5000})
    assert c.until(lambda m: m["type"] == "error")["code"] == "FRAME_TOO_LARGE"
    c.ws.send("texto en vez de binario")
    assert c.until(lambda m: m["type"] == "error")["code"] == "BAD_FRAME"
    c.text(3, "salto de secuencia")
    gap = c.until(lambda m: m["type"] == "error")
    assert gap["code"] == "SEQ_GAP" and gap["details"]["expected"] == 1
    c.send({"type": "ping", "ref": 7})
    assert c.until(lambda m: m["type"] == "pong")["ref"] == 7
    c.text(1, "Tiene la palabra el concejal Pedro Gómez.")
    assert c.until(lambda m: m["type"] == "ack")["seq"] == 1


def test_a_connection_is_closed_when_its_token_expires(spawn: Any) -> None:
    """A connection's token is judged at its hello and again when it expires: the connection is
    then closed with 4401 UNAUTHORIZED, not left sending and editing for hours on a token that
    would no longer open one; a hello with a new token goes on where it was."""
    server = spawn("serve")
    session_id = _start(server, server.token())
    c = Client(server.ws_url, session_id)
    assert c.hello(server.token(ttl=5))["type"] == "welcome"
    c.text(1, "Se abre la sesión antes de que venza la clave.")
    c.wait_for(lambda: 1 in c.acks)
    refused = c.until(lambda m: m["type"] == "error", timeout=30)
    assert refused["code"] == "UNAUTHORIZED"
    with pytest.raises(ConnectionClosed) as info:
        c.until(lambda m: False)
    assert info.value.rcvd is not None and info.value.rcvd.code == 4401
    again = Client(server.ws_url, session_id)
    assert again.hello(server.token())["last_seq"] == 1


def test_a_client_id_belongs_to_the_user_who_first_said_hello_with_it(spawn: Any) -> None:
    """Another user saying hello with a recorder's client_id is refused (CLIENT_ID_TAKEN, close
    4403): before, it shared the recorder's sequence numbers, and the recorder's next frames were
    acked as duplicates of the other's and never stored. The recorder itself goes on."""
    server = spawn("serve")
    session_id = _start(server, server.token())
    recorder = Client(server.ws_url, session_id)
    assert recorder.hello(server.token(sub="grabacion"), client_id="consola-1")["type"] == "welcome"
    recorder.text(1, "Se abre la sesión.")
    recorder.wait_for(lambda: 1 in recorder.acks)
    intruder = Client(server.ws_url, session_id)
    refused = intruder.hello(server.token(sub="otro"), client_id="consola-1")
    assert refused["code"] == "CLIENT_ID_TAKEN"
    with pytest.raises(ConnectionClosed) as info:
        intruder.until(lambda m: False)
    assert info.value.rcvd is not None and info.value.rcvd.code == 4403
    recorder.text(2, "Tiene la palabra el concejal.")
    recorder.wait_for(lambda: 2 in recorder.acks)
    assert not recorder.acks[2]["duplicate"] and recorder.acks[2]["block_id"]
    again = Client(server.ws_url, session_id)  # the owner, on another connection: its own id
    assert again.hello(server.token(sub="grabacion"), client_id="consola-1")["last_seq"] == 2


@pytest.mark.cluster
def test_two_instances_on_one_redis_share_live_sessions(spawn: Any, redis_url: str, tmp_path: Path) -> None:
    """A recorder on one instance and a viewer on another: the viewer sees every block live,
    in order, and the session can be finalized through either instance."""
    shared = tmp_path / "shared"
    env = {"REDIS_URL": redis_url}
    first = spawn("serve", data_dir=shared, env=env)
    second = spawn("serve", data_dir=shared, env=env)
    token = first.token()
    session_id = _start(first, token)
    viewer = Client(second.ws_url, session_id)
    viewer.hello(second.token(role="viewer"), client_id="v")
    viewer.until(lambda m: m["type"] == "synced")
    recorder = Client(first.ws_url, session_id)
    recorder.hello(token, client_id="rec")
    for seq in range(1, 26):
        recorder.text(seq, f"Tiene la palabra el concejal {seq}.")
    viewer.until(lambda m: m["type"] == "event" and m["id"] == 26)
    assert [e["id"] for e in viewer.events] == list(range(1, 27))
    assert [e["data"]["block"]["source"]["seq"] for e in viewer.events[1:]] == list(range(1, 26))
    result = httpx.post(
        f"{second.url}/v1/orchestrator/session/{session_id}/finalize",
        headers={"authorization": f"Bearer {token}"},
        timeout=60,
    ).json()
    assert hashlib.sha256(httpx.get(result["download_url"]).content).hexdigest() == result["integrity_hash"]
    assert recorder.until(lambda m: m["type"] == "event" and m["kind"] == "session.finalized")


def test_a_close_while_events_flow_is_not_an_internal_error(spawn: Any) -> None:
    """A connection the server closes (4400, too many bad frames) while its sender is busy with a
    stream of live events ends quietly: the sender's next write used to fail with Starlette's
    'send once a close message has been sent', logged as an internal error. (Found by
    tests/test_session_fuzz.py.)"""
    # 2,400 frames in a few seconds: lift the per-connection frame rate, which is not under test.
    server = spawn("serve", env={"ASTRA_FRAME_RATE": "100000", "ASTRA_FRAME_BURST": "100000"})
    token = server.token()
    session_id = _start(server, token)
    writer = Client(server.ws_url, session_id)
    writer.hello(token, client_id="writer")
    seq = 0
    for attempt in range(8):
        reader = Client(server.ws_url, session_id)
        reader.hello(token, client_id=f"flood-{attempt}")
        reader.until(lambda m: m["type"] == "synced")
        for _ in range(300):  # a stream of live events for the reader's sender to deliver
            seq += 1
            writer.send({"type": "insert", "seq": seq, "after_block_id": None, "block": {"text": "b"}})
        reader.until(lambda m: m["type"] == "event" and m["kind"] == "block.inserted")
        for _ in range(17):  # one more bad frame than a connection may send
            reader.ws.send(b"\xc1")
        with pytest.raises(ConnectionClosed) as closed:
            reader.until(lambda m: False)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
        reader.close()
    writer.until(lambda m: m["type"] == "ack" and m["seq"] == seq)
    writer.close()
    log = (server.data_dir.parent / f"server-{server.port}.log").read_text(errors="replace")
    assert "Traceback" not in log and "ERROR" not in log, log[-3000:]
