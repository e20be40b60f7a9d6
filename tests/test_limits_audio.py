"""The audio owner facing a slow CORE (protocol.md, "Limits": ``max_audio_in_flight``)."""

from __future__ import annotations

import asyncio
import re
import time
import wave
from collections.abc import Callable
from typing import Any

import msgpack
import pytest
from starlette.testclient import TestClient

from server.app import create_app
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


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_audio_owner_stops_reading_while_core_has_too_much_audio(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """With CORE stuck, the audio owner hands it no more than max_audio_in_flight seconds and
    stops cutting: the rest of the audio waits in Redis, yet every frame is acked, and
    ``astra_audio_lag_seconds`` says how far behind it is. Once CORE answers, every utterance
    becomes its block, in order, and the lag is back to 0."""
    limited = with_settings(
        settings,
        limits=Limits(max_audio_in_flight=4.0),
        retry=Retry(attempts=2, base_delay=0.01, max_delay=0.05, timeout=300),
    )
    token = make_token()
    with wave.open(str(AUDIO / "sesion.wav")) as w:
        pcm = w.readframes(18 * w.getframerate())  # three utterances: 5.5 s, 3.7 s and 5.2 s
    with SettledTestClient(create_app(limited)) as client:
        orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        core = GatedCore(orch.core)
        orch.core = core
        started = client.post(
            "/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=bearer(token)
        )
        api = f"/v1/orchestrator/session/{started.json()['session_id']}"
        with client.websocket_connect(f"{api}/stream") as ws:
            ws.send_bytes(msgpack.packb({"type": "hello", "client_id": "mic", "token": token}))
            frames = [pcm[i : i + 3200] for i in range(0, len(pcm), 3200)]
            for seq, data in enumerate(frames, start=1):
                ws.send_bytes(msgpack.packb({"type": "audio", "seq": seq, "format": "pcm16", "data": data}))
            ws.send_bytes(msgpack.packb({"type": "audio_end", "seq": len(frames) + 1}))
            until(ws, lambda m: m["type"] == "ack" and m["seq"] == len(frames) + 1)  # all durable

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
