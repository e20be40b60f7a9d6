"""Redis killed and restarted under a live session: clients are told the server is degraded,
nothing acked is lost, frames sent meanwhile are stored once Redis is back, the session goes on.

The test owns its Redis (AOF with ``appendfsync always``, so an acked write is on disk before
the ack leaves) and restarts it on the same Unix socket; the server under test reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgpack
import pytest
from playwright.sync_api import Browser, expect
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from server.protocol import SUBPROTOCOL
from server.redis_server import EmbeddedRedis

from .chromium import chromium, ms
from .conftest import TENANT, ServerProcess
from .faultkit import fake_core
from .resumable import ResumableClient

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def start_session(server: ServerProcess, token: str) -> str:
    response = httpx.post(
        f"{server.url}/v1/orchestrator/session/start",
        json={"tenant_id": TENANT, "metadata": {"title": "Sesión con Redis reiniciado"}},
        headers={"authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    session_id: str = response.json()["session_id"]
    return session_id


def all_events(server: ServerProcess, token: str, session_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while True:
        response = httpx.get(
            f"{server.url}/v1/orchestrator/session/{session_id}/events",
            params={"after": events[-1]["id"] if events else 0, "limit": 500},
            headers={"authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        page: list[dict[str, Any]] = response.json()["events"]
        events += page
        if len(page) < 500:
            return events


async def hello_during_outage(
    server: ServerProcess, session_id: str, token: str
) -> tuple[dict[str, Any], int]:
    """A client connecting while Redis is down: its coded error frame and the close code."""
    url = f"{server.ws_url}/v1/orchestrator/session/{session_id}/stream"
    async with connect(url, subprotocols=[SUBPROTOCOL], open_timeout=10) as ws:  # type: ignore[list-item]
        await ws.send(msgpack.packb({"type": "hello", "v": 1, "token": token, "client_id": "late"}))
        error = msgpack.unpackb(await asyncio.wait_for(ws.recv(), 30))
        with contextlib.suppress(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 30)
        assert ws.close_code is not None
        return error, ws.close_code


@pytest.mark.timeout(240)
def test_redis_restart_mid_session_degrades_then_recovers_losing_nothing(spawn: Any, tmp_path: Path) -> None:
    """Redis is SIGKILLed mid-session and restarted on the same socket: every client gets
    ``status degraded STORE_UNAVAILABLE``, /healthz answers 503, a new connection is refused
    with STORE_UNAVAILABLE and close 1013; frames sent meanwhile stay unacked, then are stored
    and acked once, in order, after ``status ok``; everything acked before is still there; the
    live hub resyncs every client (events contiguous, equal to the log); the session goes on."""
    store = EmbeddedRedis(tmp_path / "store", appendfsync="always")
    store.start()
    try:
        with fake_core(tmp_path) as core:
            server = spawn("serve", env={"REDIS_URL": store.url, "ASTRA_CORE_URL": core.url})
            token = server.token()
            viewer_token = server.token(role="viewer", sub="viewer")
            session_id = start_session(server, token)
            asyncio.run(_scenario(server, store, session_id, token, viewer_token))
            assert httpx.get(server.url + "/healthz").status_code == 200
    finally:
        store.stop()


async def _scenario(
    server: ServerProcess, store: EmbeddedRedis, session_id: str, token: str, viewer_token: str
) -> None:
    recorder = ResumableClient([server.ws_url], session_id, token, "rec").start()
    viewer = ResumableClient([server.ws_url], session_id, viewer_token, "viewer").start()
    try:
        for n in range(1, 11):
            await recorder.send({"type": "text", "text": f"Antes del corte, intervención número {n}."})
        await recorder.all_acked()
        before = {a["seq"]: a for a in recorder.acks}
        assert sorted(before) == list(range(1, 11))

        assert store.process is not None
        store.process.kill()  # SIGKILL: no shutdown, no final AOF rewrite
        store.process.wait(10)
        for client in (recorder, viewer):
            await client.wait_until(
                lambda c=client: any(s["state"] == "degraded" for s in c.statuses), 30, "degraded status"
            )
            degraded = next(s for s in client.statuses if s["state"] == "degraded")
            assert degraded["code"] == "STORE_UNAVAILABLE"
        health = await asyncio.to_thread(httpx.get, server.url + "/healthz", timeout=10)
        assert health.status_code == 503 and health.json()["error"]["code"] == "STORE_UNAVAILABLE"
        refused, close_code = await hello_during_outage(server, session_id, token)
        assert refused["type"] == "error" and refused["code"] == "STORE_UNAVAILABLE"
        assert close_code == 1013

        for n in range(11, 21):  # sent while Redis is down: held, not acked, not refused
            await recorder.send({"type": "text", "text": f"Durante el corte, intervención número {n}."})
        await recorder.wait_until(lambda: recorder._sent_upto == 20, 30, "frames sent during the outage")
        assert len(recorder.acks) == 10 and not recorder.errors

        await asyncio.to_thread(store.start)
        for client in (recorder, viewer):
            await client.wait_until(lambda c=client: c.statuses[-1]["state"] == "ok", 60, "status ok")
        await recorder.all_acked(60)
        for n in range(21, 31):  # the session goes on
            await recorder.send({"type": "text", "text": f"Después del corte, intervención número {n}."})
        await recorder.all_acked()
        head = 1 + 30  # session.started + one block.added per text
        for client in (recorder, viewer):
            await client.wait_until(lambda c=client: c.last_event_id == head, 60, "every event")
    finally:
        await recorder.stop()
        await viewer.stop()

    assert recorder.applied() == list(range(1, 31))
    assert not recorder.errors and not viewer.errors
    assert [s["state"] for s in recorder.statuses] == ["degraded", "ok"]
    blocks = await asyncio.to_thread(
        lambda: httpx.get(
            f"{server.url}/v1/orchestrator/session/{session_id}/blocks",
            headers={"authorization": f"Bearer {token}"},
        ).json()["blocks"]
    )
    assert [b["source"]["seq"] for b in blocks] == list(range(1, 31))
    for block, seq in zip(blocks, range(1, 31), strict=True):
        assert f"número {seq}." in block["text"]
    for seq, ack in before.items():  # acked before the kill: the very same block survived
        assert blocks[seq - 1]["block_id"] == ack["block_id"]
    log = await asyncio.to_thread(all_events, server, token, session_id)
    assert [e["id"] for e in log] == list(range(1, head + 1))
    for client in (recorder, viewer):
        client.check_events()
        assert [(e["id"], e["kind"], e["data"]) for e in client.events] == [
            (e["id"], e["kind"], e["data"]) for e in log
        ]


# -- the console ----------------------------------------------------------------------------------


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.mark.timeout(240)
def test_console_shows_degraded_banner_and_keeps_its_queue(
    spawn: Any, tmp_path: Path, browser: Browser, shot: Any
) -> None:
    """In the recording console, a Redis outage shows a banner with the STORE_UNAVAILABLE
    explanation while texts typed meanwhile wait in the outbox (pending count); when Redis is
    back the banner goes away, the queue drains, and every text is a block once."""
    store = EmbeddedRedis(tmp_path / "store", appendfsync="always")
    store.start()
    try:
        with fake_core(tmp_path) as core:
            server = spawn("serve", env={"REDIS_URL": store.url, "ASTRA_CORE_URL": core.url})
            token = server.token()
            session_id = start_session(server, token)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.set_default_timeout(ms(30))
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{server.url}/#token={token}&session={session_id}")
            expect(page.locator("#conn-text")).to_have_text("en línea")
            banner = page.locator("#store-banner")
            expect(banner).to_be_hidden()

            def send_text(text: str) -> None:
                page.get_by_label("Texto de la intervención").fill(text)
                page.get_by_role("button", name="Enviar").click()

            send_text("Antes del corte, intervención número 1.")
            expect(page.locator("#pending")).to_have_text("Pendientes de confirmar: 0")

            assert store.process is not None
            store.process.kill()
            store.process.wait(10)
            send_text("Durante el corte, intervención número 2.")
            send_text("Durante el corte, intervención número 3.")
            expect(banner).to_be_visible()
            expect(banner).to_contain_text("no puede guardar por ahora")
            expect(banner).to_contain_text("[STORE_UNAVAILABLE]")
            expect(page.locator("#pending")).to_have_text("Pendientes de confirmar: 2")
            shot(page, "degraded")

            store.start()
            expect(banner).to_be_hidden(timeout=ms(60))
            expect(page.locator("#pending")).to_have_text("Pendientes de confirmar: 0", timeout=ms(60))
            shot(page, "recovered")
            blocks = httpx.get(
                f"{server.url}/v1/orchestrator/session/{session_id}/blocks",
                headers={"authorization": f"Bearer {token}"},
            ).json()["blocks"]
            assert [b["text"] for b in blocks] == [
                "Antes del corte, intervención número 1.",
                "Durante el corte, intervención número 2.",
                "Durante el corte, intervención número 3.",
            ]
            assert not errors
            context.close()
    finally:
        store.stop()
