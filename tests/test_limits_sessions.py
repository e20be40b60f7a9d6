"""Open sessions per tenant and the maximum session length (protocol.md, "Limits"): in process,
over two real server instances, and in the console's outbox."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import msgpack
import pytest
from starlette.testclient import TestClient

from server import keys
from server.app import create_app
from server.keys import SessionKeys
from server.redis_server import EmbeddedRedis
from server.settings import Limits, Settings

from .conftest import (
    ROOT,
    TENANT,
    TIME_UNIT,
    ServerProcess,
    SettledTestClient,
    require,
    with_settings,
    ws_until,
)
from .test_http_api import png


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def start(client: TestClient, token: str) -> dict[str, Any]:
    response = client.post(
        "/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=bearer(token)
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


# -- open sessions per tenant --------------------------------------------------------------------


def test_sessions_that_stopped_being_open_do_not_count(
    settings: Settings, make_token: Callable[..., str], tmp_path: Path
) -> None:
    """Finalize releases a session's place at once. Should that release be lost (an instance
    killed between the two steps), the tenant's next start at the limit drops it, and drops
    reservations of starts that never created their session, but not a start in progress."""
    with EmbeddedRedis(tmp_path / "redis") as redis:  # this tenant's count, and nobody else's
        one = with_settings(settings, redis_url=redis.url, limits=Limits(max_open_sessions=1))
        token = make_token()
        with SettledTestClient(create_app(one)) as client:
            buffer = client.app.state.astra.orchestrator.buffer  # type: ignore[attr-defined]
            key = keys.tenant_open_sessions(TENANT)

            def counted() -> set[str]:
                members = client.portal.call(buffer.redis.zrange, key, 0, -1)  # type: ignore[union-attr]
                return {m.decode() for m in members}

            def add(session_id: str, age: float) -> None:
                score = (time.time() - age) * 1000
                client.portal.call(buffer.redis.zadd, key, {session_id: score})  # type: ignore[union-attr]

            def start_status() -> int:
                return client.post(
                    "/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=bearer(token)
                ).status_code

            def finalize(session_id: str) -> int:
                return client.post(
                    f"/v1/orchestrator/session/{session_id}/finalize", headers=bearer(token)
                ).status_code

            first = start(client, token)["session_id"]
            assert counted() == {first} and start_status() == 429
            assert finalize(first) == 200
            assert counted() == set()
            add(first, 0)  # the release was lost ...
            add("ses_never_created_0000", 300)  # ... and so was a start long ago
            second = start(client, token)["session_id"]
            assert counted() == {second}
            assert finalize(second) == 200
            add("ses_being_created_0000", 0)  # a start on another instance, in progress
            assert start_status() == 429


def start_on(server: ServerProcess, token: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/orchestrator/session/start",
        json={"tenant_id": TENANT},
        headers=bearer(token),
        timeout=15 * TIME_UNIT,
    )


@pytest.mark.e2e
def test_open_sessions_per_tenant_are_counted_across_instances(spawn: Any, tmp_path: Path) -> None:
    """Eight concurrent starts through two instances with a limit of three: exactly three
    sessions open, the others get 429 TOO_MANY_SESSIONS; a finalized session stops counting."""
    with EmbeddedRedis(tmp_path / "redis") as redis:  # a Redis of its own: no other test's sessions
        env = {"REDIS_URL": redis.url, "ASTRA_MAX_OPEN_SESSIONS": "3"}
        shared = tmp_path / "shared"
        first = spawn("serve", data_dir=shared, env=env)
        second = spawn("serve", data_dir=shared, env=env)
        token = first.token()
        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(lambda i: start_on((first, second)[i % 2], token), range(8)))
        created = [r.json()["session_id"] for r in responses if r.status_code == 201]
        refused = [r for r in responses if r.status_code != 201]
        assert len(created) == 3
        assert {r.status_code for r in refused} == {429}
        assert {r.json()["error"]["code"] for r in refused} == {"TOO_MANY_SESSIONS"}
        assert refused[0].json()["error"]["details"]["limit"] == "max_open_sessions"

        finalized = httpx.post(
            f"{second.url}/v1/orchestrator/session/{created[0]}/finalize",
            headers=bearer(token),
            timeout=60 * TIME_UNIT,
        )
        assert finalized.status_code == 200, finalized.text
        assert start_on(first, token).status_code == 201  # the finalized one freed a place
        again = start_on(second, token)
        assert again.status_code == 429 and again.json()["error"]["code"] == "TOO_MANY_SESSIONS"


# -- maximum session length ----------------------------------------------------------------------


def test_old_session_refuses_recorded_input_but_corrections_reads_and_finalize_work(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """Past max_session_seconds, text and audio frames, HTTP appends and uploads get
    SESSION_TOO_LONG (the frame's seq stays free); edits, reads and finalize still work."""
    limit = 60.0
    short = with_settings(settings, limits=Limits(max_session_seconds=limit))
    token = make_token()
    with SettledTestClient(create_app(short)) as client:
        session = start(client, token)
        api = f"/v1/orchestrator/session/{session['session_id']}"
        with client.websocket_connect(f"{api}/stream") as ws:
            ws.send_bytes(msgpack.packb({"type": "hello", "client_id": "c", "token": token}))
            ws_until(ws, lambda m: m["type"] == "synced")
            ws.send_bytes(msgpack.packb({"type": "text", "seq": 1, "text": "Se abre la sesión."}))
            acked = ws_until(ws, lambda m: m["type"] in ("ack", "error"))
            assert acked["type"] == "ack", acked
            block_id = acked["block_id"]

        # The session is now older than the limit: its start moved back (what the limit judges,
        # read by a connection at its hello), not a wait on the clock.
        redis = client.app.state.astra.orchestrator.buffer.redis  # type: ignore[attr-defined]
        meta = keys.SessionKeys(session["session_id"]).meta
        client.portal.call(redis.hset, meta, "created_at", time.time() - limit - 1)  # type: ignore[union-attr]
        with client.websocket_connect(f"{api}/stream") as ws:
            ws.send_bytes(msgpack.packb({"type": "hello", "client_id": "c", "token": token}))
            ws_until(ws, lambda m: m["type"] == "synced")
            ws.send_bytes(msgpack.packb({"type": "text", "seq": 2, "text": "Tiene la palabra."}))
            refused = ws_until(ws, lambda m: m["type"] in ("ack", "error"))
            assert (refused["type"], refused["code"], refused["seq"]) == ("error", "SESSION_TOO_LONG", 2)
            ws.send_bytes(msgpack.packb({"type": "audio", "seq": 2, "format": "pcm16", "data": b"\0" * 3200}))
            assert ws_until(ws, lambda m: m["type"] in ("ack", "error"))["code"] == "SESSION_TOO_LONG"
            edit = {"type": "edit", "seq": 2, "block_id": block_id, "base_version": 1}
            ws.send_bytes(msgpack.packb({**edit, "changes": {"text": "Se abre la sesión plenaria."}}))
            acked = ws_until(ws, lambda m: m["type"] in ("ack", "error"))
            assert (acked["type"], acked["seq"]) == ("ack", 2)

        appended = client.post(f"{api}/append", json={"text": "Otra intervención."}, headers=bearer(token))
        assert appended.status_code == 409 and appended.json()["error"]["code"] == "SESSION_TOO_LONG"
        png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
        uploaded = client.post(f"{api}/upload-asset", files={"file": ("a.png", png)}, headers=bearer(token))
        assert uploaded.status_code == 409 and uploaded.json()["error"]["code"] == "SESSION_TOO_LONG"
        # review: a finalize that failed leaves the session closed to input: said so, not "too long"
        redis = client.app.state.astra.orchestrator.buffer.redis  # type: ignore[attr-defined]
        client.portal.call(redis.hset, SessionKeys(session["session_id"]).meta, "status", "FINALIZE_FAILED")  # type: ignore[union-attr]
        failed = client.post(f"{api}/append", json={"text": "Otra."}, headers=bearer(token))
        assert failed.status_code == 409 and failed.json()["error"]["code"] == "SESSION_CLOSED", failed.text
        client.portal.call(redis.hset, SessionKeys(session["session_id"]).meta, "status", "OPEN")  # type: ignore[union-attr]
        blocks = client.get(f"{api}/blocks", headers=bearer(token)).json()["blocks"]
        assert [b["text"] for b in blocks] == ["Se abre la sesión plenaria."]
        finalized = client.post(f"{api}/finalize", headers=bearer(token))
        assert finalized.status_code == 200 and finalized.json()["block_count"] == 1
        # review: once finalized, input is refused as closed, not "older than …; finalize it"
        after = client.post(f"{api}/append", json={"text": "Tarde."}, headers=bearer(token))
        assert after.status_code == 409 and after.json()["error"]["code"] == "SESSION_CLOSED", after.text


def test_old_session_still_acks_resends_as_duplicates(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """Past max_session_seconds the seq is still judged first (protocol.md): text and audio
    frames already applied, sent again alone or in a burst, are acked as duplicates and a
    skipped seq is SEQ_GAP; only the next new frame gets SESSION_TOO_LONG. They all used to get
    SESSION_TOO_LONG although welcome.last_seq counts them applied. HTTP appends and uploads
    with an Idempotency-Key already applied are duplicates; only the refusals are counted."""
    token = make_token()
    with SettledTestClient(create_app(settings)) as client:
        session = start(client, token)
        api = f"/v1/orchestrator/session/{session['session_id']}"
        auth = bearer(token)
        text = {"type": "text", "seq": 1, "text": "Se abre la sesión."}
        audio = {"type": "audio", "seq": 2, "format": "pcm16", "data": b"\0" * 3200}

        def answers(ws: Any, *frames: dict[str, Any]) -> list[dict[str, Any]]:
            for frame in frames:
                ws.send_bytes(msgpack.packb(frame))
            return [ws_until(ws, lambda m: m["type"] in ("ack", "error")) for _ in frames]

        def hello(ws: Any) -> dict[str, Any]:
            ws.send_bytes(msgpack.packb({"type": "hello", "client_id": "c", "token": token}))
            return ws_until(ws, lambda m: m["type"] == "welcome")

        http_audio = {"audio_chunk": base64.b64encode(b"\0" * 3200).decode(), "sample_rate": 16000}
        inputs = [
            ("append", {"json": {"text": "Tiene la palabra."}}),
            ("append", {"json": http_audio}),
            ("upload-asset", {"files": {"file": ("plano.png", png(), "image/png")}}),
        ]

        def send_http(key: str) -> list[httpx.Response]:
            return [
                client.post(f"{api}/{path}", headers={**auth, "idempotency-key": f"{key}-{i}"}, **kwargs)
                for i, (path, kwargs) in enumerate(inputs)
            ]

        # HTTP audio first: once the console's audio is stored, it holds the session's recording.
        assert [r.json()["duplicate"] for r in send_http("first")] == [False, False, False]
        with client.websocket_connect(f"{api}/stream") as ws:
            hello(ws)
            assert [a["duplicate"] for a in answers(ws, text, audio)] == [False, False]

        # The session is now older than the limit: its start moved back (what the limit judges).
        redis = client.app.state.astra.orchestrator.buffer.redis  # type: ignore[attr-defined]
        meta = keys.SessionKeys(session["session_id"]).meta
        started = time.time() - settings.limits.max_session_seconds - 1
        client.portal.call(redis.hset, meta, "created_at", started)  # type: ignore[union-attr]
        metrics = client.app.state.astra.metrics.registry  # type: ignore[attr-defined]
        labels = {"limit": "max_session_seconds"}

        def refusals() -> float:
            value: float | None = metrics.get_sample_value("astra_limit_refusals_total", labels)
            return value or 0.0

        counted = refusals()
        with client.websocket_connect(f"{api}/stream") as ws:
            assert hello(ws)["last_seq"] == 2
            for frame in (text, audio):
                (again,) = answers(ws, frame)
                assert (again["type"], again["seq"], again["duplicate"]) == ("ack", frame["seq"], True)
            burst = answers(ws, audio, {**audio, "seq": 3}, {**audio, "seq": 4})
            assert [(a["type"], a["seq"], a.get("code")) for a in burst] == [
                ("ack", 2, None),
                ("error", 3, "SESSION_TOO_LONG"),
                ("error", 4, "SEQ_GAP"),
            ]
            assert burst[0]["duplicate"] is True and burst[2]["details"] == {"expected": 3}
            (gap,) = answers(ws, {**text, "seq": 9})
            assert gap["code"] == "SEQ_GAP" and gap["details"] == {"expected": 3}
            (refused,) = answers(ws, {**text, "seq": 3})
            assert refused["code"] == "SESSION_TOO_LONG" and refused["seq"] == 3
        resent = send_http("first")
        assert [(r.status_code, r.json()["duplicate"]) for r in resent] == [
            (200, True),
            (202, True),
            (200, True),
        ]
        new = send_http("second")
        assert [(r.status_code, r.json()["error"]["code"]) for r in new] == [(409, "SESSION_TOO_LONG")] * 3
        assert refusals() == counted + 5


# -- the console facing SESSION_TOO_LONG ---------------------------------------------------------

# Queues and sends a text and an audio frame, then plays the server's answers: the text is
# refused, so the audio (seq 2) gets SEQ_GAP, is renumbered 1, resent and refused too.
OUTBOX_SCRIPT = """
import { pathToFileURL } from "node:url";
const { Outbox } = await import(pathToFileURL(process.argv[1]).href);
const outbox = new Outbox({ load: () => null, save: () => {} });
outbox.markSent([outbox.add("Tiene la palabra."), outbox.addAudio(new Uint8Array(3200))]);
const text = outbox.error(1, "SESSION_TOO_LONG").dropped;
const resent = outbox.error(2, "SEQ_GAP", { expected: 1 }).resend.map((f) => [f.kind, f.seq]);
const audio = outbox.error(1, "SESSION_TOO_LONG").dropped;
const dropped = [text, audio].map((f) => f && f.kind);
console.log(JSON.stringify({ dropped, resent, pending: outbox.pending }));
process.exit(0);
"""


# A minute of audio queued (600 frames) and a text among them, all sent; the server refuses the
# first audio frame for a reason every audio frame shares and answers the others SEQ_GAP.
OUTBOX_REFUSED_AUDIO = """
import { pathToFileURL } from "node:url";
const { Outbox } = await import(pathToFileURL(process.argv[1]).href);
const outbox = new Outbox({ load: () => null, save: () => {} });
const frames = [];
for (let i = 0; i < 300; i++) frames.push(outbox.addAudio(new Uint8Array(3200)));
frames.push(outbox.add("Tiene la palabra."));
for (let i = 0; i < 300; i++) frames.push(outbox.addAudio(new Uint8Array(3200)));
outbox.markSent(frames);
const first = outbox.error(1, process.argv[2]);
const gaps = [2, 3, 301, 600].map((seq) => outbox.error(seq, "SEQ_GAP", { expected: 1 }).resend.length);
console.log(JSON.stringify({
  dropped: first.dropped.kind,
  resent: first.resend.map((f) => [f.kind, f.seq]),
  gaps,
  left: outbox.frames.map((f) => [f.kind, f.seq]),
  audioBytes: outbox.audioBytes,
}));
process.exit(0);
"""


@pytest.mark.parametrize("code", ["SESSION_CLOSED", "SESSION_TOO_LONG", "RECORDING_ELSEWHERE", "FORBIDDEN"])
def test_console_outbox_drops_all_queued_audio_on_a_refusal_they_all_share(code: str) -> None:
    """Closed, too old, recorded by another console, or (review) the user's token no longer of a
    role that records: every queued audio frame would be refused
    alike, so all leave the queue at once and the text among them is renumbered and sent again,
    instead of one refused frame per round and the rest renumbered and resent each time (600
    frames: 600 rounds, some 180,000 frames sent)."""
    node = shutil.which("node")
    require(node is not None, "node")
    assert node is not None
    out = subprocess.run(
        [
            node,
            "--input-type=module",
            "-e",
            OUTBOX_REFUSED_AUDIO,
            str(ROOT / "static" / "js" / "outbox.js"),
            code,
        ],
        capture_output=True,
        text=True,
        timeout=30 * TIME_UNIT,
        check=True,
    ).stdout
    assert json.loads(out) == {
        "dropped": "audio",
        "resent": [["text", 1]],
        "gaps": [0, 0, 0, 0],
        "left": [["text", 1]],
        "audioBytes": 0,
    }


def test_console_outbox_drops_frames_refused_as_session_too_long() -> None:
    """A frame refused with SESSION_TOO_LONG can never be applied: the console's outbox drops it
    (and reports it) instead of resending it for ever."""
    node = shutil.which("node")
    require(node is not None, "node")
    assert node is not None
    out = subprocess.run(
        [node, "--input-type=module", "-e", OUTBOX_SCRIPT, str(ROOT / "static" / "js" / "outbox.js")],
        capture_output=True,
        text=True,
        timeout=30 * TIME_UNIT,
        check=True,
    ).stdout
    assert json.loads(out) == {"dropped": ["text", "audio"], "resent": [["audio", 1]], "pending": 0}
