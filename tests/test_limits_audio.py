"""The audio owner facing a slow CORE (protocol.md, "Limits": ``max_audio_in_flight``)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import itertools
import re
import time
import wave
from collections.abc import Callable, Iterator
from typing import Any

import msgpack
import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.cancel import cancel_and_wait
from server.services.core import AudioRequest, CoreResult, TextRequest
from server.settings import Limits, Retry, Settings

from .conftest import ROOT, TENANT, TIME_UNIT, SettledTestClient, with_settings

AUDIO = ROOT / "tests" / "fixtures" / "audio"


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def recv(ws: Any) -> dict[str, Any]:
    """The next message that is not a presence snapshot."""
    while True:
        message: dict[str, Any] = msgpack.unpackb(ws.receive_bytes())
        if message["type"] != "presence":
            return message


def until(ws: Any, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    while not done(message := recv(ws)):
        pass
    return message


def metric(client: TestClient, sample: str) -> float:
    found = re.search(rf"^{re.escape(sample)} (\S+)$", client.get("/metrics").text, re.MULTILINE)
    return float(found[1]) if found else 0.0


def wait_for_metric(client: TestClient, sample: str, check: Callable[[float], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout * TIME_UNIT
    while not check(metric(client, sample)):
        assert time.monotonic() < deadline, f"{sample} never reached the expected value"
        time.sleep(0.05)


class GatedCore:
    """The real CORE behind a gate: audio calls wait until the test opens it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.gate = asyncio.Event()
        self.entered = 0

    async def process_text(self, req: TextRequest) -> CoreResult:
        result: CoreResult = await self.inner.process_text(req)
        return result

    async def process_audio(self, req: AudioRequest) -> CoreResult:
        self.entered += 1
        await self.gate.wait()
        result: CoreResult = await self.inner.process_audio(req)
        return result


@dataclasses.dataclass
class StuckCore:
    """A running app whose CORE waits at a gate, a session started on it, and the 18 s of
    ``sesion.wav`` (three utterances: 5.5 s, 3.7 s and 5.2 s) to send it."""

    client: TestClient
    orch: Any
    core: GatedCore
    token: str
    session_id: str
    pcm: bytes

    @property
    def api(self) -> str:
        return f"/v1/orchestrator/session/{self.session_id}"

    def stream(self, ws: Any) -> int:
        """Say hello as "mic" and send the audio in 100 ms frames, then audio_end: its seq."""
        ws.send_bytes(msgpack.packb({"type": "hello", "client_id": "mic", "token": self.token}))
        frames = [self.pcm[i : i + 3200] for i in range(0, len(self.pcm), 3200)]
        for seq, data in enumerate(frames, start=1):
            ws.send_bytes(msgpack.packb({"type": "audio", "seq": seq, "format": "pcm16", "data": data}))
        ws.send_bytes(msgpack.packb({"type": "audio_end", "seq": len(frames) + 1}))
        return len(frames) + 1


@contextlib.contextmanager
def stuck_core(settings: Settings, make_token: Callable[..., str], limits: Limits) -> Iterator[StuckCore]:
    limited = with_settings(
        settings, limits=limits, retry=Retry(attempts=2, base_delay=0.01, max_delay=0.05, timeout=300)
    )
    token = make_token()
    with wave.open(str(AUDIO / "sesion.wav")) as w:
        pcm = w.readframes(18 * w.getframerate())
    with SettledTestClient(create_app(limited)) as client:
        orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        core = GatedCore(orch.core)
        orch.core = core
        started = client.post(
            "/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=bearer(token)
        )
        yield StuckCore(client, orch, core, token, started.json()["session_id"], pcm)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_audio_owner_stops_reading_while_core_has_too_much_audio(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """With CORE stuck, the audio owner hands it no more than max_audio_in_flight seconds and
    stops cutting: the rest of the audio waits in Redis, yet every frame is acked, and
    ``astra_audio_lag_seconds`` says how far behind it is. Once CORE answers, every utterance
    becomes its block, in order, and the lag is back to 0."""
    with stuck_core(settings, make_token, Limits(max_audio_in_flight=4.0)) as stuck:
        client, core, token, api = stuck.client, stuck.core, stuck.token, stuck.api
        with client.websocket_connect(f"{api}/stream") as ws:
            last = stuck.stream(ws)
            until(ws, lambda m: m["type"] == "ack" and m["seq"] == last)  # all durable

            wait_for_metric(client, "astra_audio_paused_sessions", lambda v: v == 1, 60)
            events = client.get(f"{api}/events", headers=bearer(token)).json()["events"]
            detected = [e for e in events if e["kind"] == "utterance.detected"]
            # The first utterance (longer than the limit) went alone; the second was cut and
            # waits for room; the third, acked long ago, has not even been cut.
            assert core.entered == 1 and len(detected) == 2
            first = detected[0]["data"]
            in_flight = metric(client, "astra_audio_in_flight_seconds")
            assert in_flight == pytest.approx(first["time_end"] - first["time_start"], abs=0.01)
            # The owner is stuck on audio stored a while ago: the lag shows it, and grows.
            wait_for_metric(client, "astra_audio_lag_seconds", lambda v: v > 0.5, 60)

            client.portal.call(core.gate.set)  # type: ignore[union-attr]
            added: list[dict[str, Any]] = []
            while len(added) < 3:
                message = recv(ws)
                if message["type"] == "event" and message["kind"] == "block.added":
                    added.append(message["data"]["block"])
        blocks = client.get(f"{api}/blocks", headers=bearer(token)).json()["blocks"]
        assert [b["type"] for b in blocks] == ["TEMPLATE"] * 3
        starts = [b["audio_metadata"]["time_start"] for b in blocks]
        assert starts == sorted(starts)
        wait_for_metric(client, "astra_audio_in_flight_seconds", lambda v: v == 0, 30)
        assert metric(client, "astra_audio_paused_sessions") == 0
        wait_for_metric(client, "astra_audio_lag_seconds", lambda v: v == 0, 30)  # caught up


def _backlog(client: TestClient, session_id: str) -> int:
    buffer = client.app.state.astra.orchestrator.buffer  # type: ignore[attr-defined]
    backlog: int = client.portal.call(buffer.audio_backlog, session_id)  # type: ignore[union-attr]
    return backlog


def _wait_held_at_the_bound(client: TestClient, session_id: str, bound: float) -> None:
    """Until the session's state no longer moves: its owner waits for CORE (so the backlog it
    told stays as it is), a recorder is held, and the backlog is at ``bound`` seconds or over
    (so that hold lasts). The owner's pause alone is not enough: the backlog it told last may
    be under the hold's release, and the recorder is let go to store one more batch."""
    deadline = time.monotonic() + 60 * TIME_UNIT
    while not (
        metric(client, "astra_audio_paused_sessions") == 1
        and metric(client, "astra_audio_backlog_held_connections") == 1
        and _backlog(client, session_id) >= bound * 32_000
    ):
        assert time.monotonic() < deadline, "the recorder held at the bound, its owner paused"
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_recorder_is_held_while_its_sessions_unread_audio_is_at_the_bound(
    settings: Settings, make_token: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """CORE stuck, the owner stops reading the session's audio; once max_audio_backlog of it
    waits unread in Redis, the recorder's next frames are not read (they wait, unacked, with the
    client) and it is told so (status degraded AUDIO_BACKLOG). Once CORE answers the owner reads
    on, the client is told ``ok``, every frame is stored and acked and every utterance becomes
    its block, in order: nothing is refused or lost, and the session's Redis holds at most about
    the bound of unread audio meanwhile. An owner that dies meanwhile is replaced, and the
    frames held do not count as the instance's ingest pressure. Review: a hold longer than the
    console's 45 s of silence had it reconnect (its pings wait unread behind its audio) and took
    it off the presence list: the status is said again while the hold lasts (here every 0.4 s),
    and the held client stays listed past presence_ttl (here 1 s)."""
    import server.endpoint as endpoint

    monkeypatch.setattr(endpoint, "BACKLOG_STATUS_EVERY", 0.4)
    monkeypatch.setattr(endpoint, "BACKLOG_POLL", 0.1)
    bound = 2.0
    limits = Limits(max_audio_in_flight=4.0, max_audio_backlog=bound, presence_ttl=1.0)
    with stuck_core(settings, make_token, limits) as stuck:
        client, orch, core, token = stuck.client, stuck.orch, stuck.core, stuck.token
        session_id, api = stuck.session_id, stuck.api
        with client.websocket_connect(f"{api}/stream") as ws:
            last = stuck.stream(ws)
            acked: set[int] = set()
            told: list[tuple[str, str | None]] = []

            def take(message: dict[str, Any]) -> None:
                if message["type"] == "ack":
                    acked.add(message["seq"])
                elif message["type"] == "status":
                    told.append((message["state"], message.get("code")))
                elif message["type"] == "error":
                    raise AssertionError(f"refused: {message}")

            while not told:
                take(recv(ws))
            assert told[0] == ("degraded", "AUDIO_BACKLOG")
            _wait_held_at_the_bound(client, session_id, bound)
            # held on purpose: its waiting frames do not make the instance's owners defer
            assert client.app.state.astra.pressure.backlog == 0  # type: ignore[attr-defined]
            assert client.app.state.astra.pressure.waiting > 0  # type: ignore[attr-defined]
            # The owner is stuck within the second utterance (about 10 s in), the bound reached
            # past it: the end of the 18 s is not stored yet, and what is unread stays near it.
            last_seq = client.portal.call(orch.buffer.last_seq, session_id, "mic")  # type: ignore[union-attr]
            assert last_seq < last - 1  # not every frame before the audio_end
            backlog = _backlog(client, session_id)
            assert bound * 32_000 <= backlog < (bound + 6.4) * 32_000  # at most one window more
            # The owner paused, the hold lasts: longer than presence_ttl, told again and again
            # (every 0.4 s here), and still listed.
            while told[-6:] != [("degraded", "AUDIO_BACKLOG")] * 6:
                take(recv(ws))
            listed = client.portal.call(orch.buffer.presence, session_id, "get", "-")  # type: ignore[union-attr]
            assert [c["client_id"] for c in msgpack.unpackb(listed)["clients"]] == ["mic"]
            # Its owner dies (a Redis outage ends it): the held recorder's wait has it replaced,
            # as its next audio would (nothing else reads the backlog down).
            owner = orch.audio._running[session_id][1]
            client.portal.call(cancel_and_wait, [owner])  # type: ignore[union-attr]

            client.portal.call(core.gate.set)  # type: ignore[union-attr]
            while len(acked) < last or told[-1][0] != "ok":
                take(recv(ws))
            # held and let go, maybe more than once, each told (the hold, maybe more than once)
            changes = [state for state, _ in itertools.groupby(told)]
            assert changes == [("degraded", "AUDIO_BACKLOG"), ("ok", None)] * (len(changes) // 2)
        assert acked == set(range(1, last + 1))
        wait_for_metric(client, "astra_audio_backlog_held_connections", lambda v: v == 0, 30)
        deadline = time.monotonic() + 60 * TIME_UNIT
        while len(blocks := client.get(f"{api}/blocks", headers=bearer(token)).json()["blocks"]) < 3:
            assert time.monotonic() < deadline, "the three utterances' blocks"
            time.sleep(0.1)
        assert [b["type"] for b in blocks] == ["TEMPLATE"] * 3
        starts = [b["audio_metadata"]["time_start"] for b in blocks]
        assert starts == sorted(starts)
        assert _backlog(client, session_id) == 0  # all of it read


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_held_recorder_that_reconnects_stores_nothing_more_until_the_owner_catches_up(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """A recorder held at the bound reconnects (the network flaked: its old connection is not
    closed yet) and sends the frames it has no ack for: the new connection asks for the backlog
    before it stores any and is held at once, so the session's unread audio cannot grow by a
    window with every reconnection (it learned of the bound only from storing its first batch);
    another console is told at once that the recording is elsewhere, not held. Once CORE
    answers, every frame is stored and acked."""
    with stuck_core(settings, make_token, Limits(max_audio_in_flight=4.0, max_audio_backlog=2.0)) as stuck:
        client, orch, core, token = stuck.client, stuck.orch, stuck.core, stuck.token
        session_id, api = stuck.session_id, stuck.api
        orch.buffer.recording_hold = 600.0  # "mic" keeps the recording however slow the test
        # All of sesion.wav (47 s): with its first 18 s, an owner that paused late had taken so
        # much that the rest fitted under the bound, and no recorder was left held to reconnect.
        with wave.open(str(AUDIO / "sesion.wav")) as w:
            stuck.pcm = w.readframes(w.getnframes())
        frames = [stuck.pcm[i : i + 3200] for i in range(0, len(stuck.pcm), 3200)]
        with client.websocket_connect(f"{api}/stream") as held:
            last = stuck.stream(held)
            until(held, lambda m: m["type"] == "status" and m.get("code") == "AUDIO_BACKLOG")
            _wait_held_at_the_bound(client, session_id, 2.0)
            stored = client.portal.call(orch.buffer.last_seq, session_id, "mic")  # type: ignore[union-attr]
            backlog = _backlog(client, session_id)
            with client.websocket_connect(f"{api}/stream") as ws:
                ws.send_bytes(msgpack.packb({"type": "hello", "client_id": "mic", "token": token}))
                assert until(ws, lambda m: m["type"] == "welcome")["last_seq"] == stored
                for seq in range(stored + 1, last):
                    frame = {"type": "audio", "seq": seq, "format": "pcm16", "data": frames[seq - 1]}
                    ws.send_bytes(msgpack.packb(frame))
                ws.send_bytes(msgpack.packb({"type": "audio_end", "seq": last}))
                told = until(ws, lambda m: m["type"] in ("status", "ack"))
                assert (told["type"], told.get("code")) == ("status", "AUDIO_BACKLOG")
                now = client.portal.call(orch.buffer.last_seq, session_id, "mic")  # type: ignore[union-attr]
                assert now == stored and _backlog(client, session_id) <= backlog
                # another console meanwhile is told at once that "mic" records, not held
                with client.websocket_connect(f"{api}/stream") as desk:
                    desk.send_bytes(msgpack.packb({"type": "hello", "client_id": "desk", "token": token}))
                    until(desk, lambda m: m["type"] == "synced")
                    first = {"type": "audio", "seq": 1, "format": "pcm16", "data": frames[0]}
                    desk.send_bytes(msgpack.packb(first))
                    told = until(desk, lambda m: m["type"] in ("status", "ack", "error"))
                    assert (told["type"], told.get("code")) == ("error", "RECORDING_ELSEWHERE")

                client.portal.call(core.gate.set)  # type: ignore[union-attr]
                acked: set[int] = set()
                while len(acked) < last - stored:
                    message = recv(ws)
                    assert message["type"] != "error", message
                    if message["type"] == "ack":
                        acked.add(message["seq"])
        assert acked == set(range(stored + 1, last + 1))


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_an_http_append_is_refused_while_the_sessions_unread_audio_is_at_the_bound(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """Over HTTP the same bound answers 429 AUDIO_BACKLOG with Retry-After, nothing stored, so
    that parallel appends of long chunks cannot fill Redis while CORE is stuck; the same append
    goes through once the owner has caught up. An owner that has died meanwhile (a Redis outage
    ends it) is replaced by the refused append: nothing else would read the backlog down."""
    with stuck_core(settings, make_token, Limits(max_audio_in_flight=4.0, max_audio_backlog=2.0)) as stuck:
        client, orch, core, token = stuck.client, stuck.orch, stuck.core, stuck.token
        session_id, api = stuck.session_id, stuck.api
        chunk = {"audio_chunk": base64.b64encode(stuck.pcm).decode(), "format": "pcm16", "sample_rate": 16000}
        assert client.post(f"{api}/append", json=chunk, headers=bearer(token)).status_code == 202
        stored = client.portal.call(orch.buffer.meta, session_id)  # type: ignore[union-attr]
        wait_for_metric(client, "astra_audio_paused_sessions", lambda v: v == 1, 60)
        owner = orch.audio._running[session_id][1]
        client.portal.call(cancel_and_wait, [owner])  # type: ignore[union-attr]
        refused = client.post(f"{api}/append", json=chunk, headers=bearer(token))
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "AUDIO_BACKLOG"
        assert refused.json()["error"]["details"]["limit"] == "max_audio_backlog"
        assert int(refused.headers["retry-after"]) > 0
        after = client.portal.call(orch.buffer.meta, session_id)  # type: ignore[union-attr]
        assert after.audio_last_at == stored.audio_last_at  # nothing stored
        assert metric(client, 'astra_limit_refusals_total{limit="max_audio_backlog"}') == 1

        client.portal.call(core.gate.set)  # type: ignore[union-attr]
        deadline = time.monotonic() + 60 * TIME_UNIT
        while _backlog(client, session_id) >= 2.0 * 32_000:
            assert time.monotonic() < deadline, "the owner never caught up"
            time.sleep(0.1)
        assert client.post(f"{api}/append", json=chunk, headers=bearer(token)).status_code == 202
