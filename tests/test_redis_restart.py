"""Redis killed and restarted, or hung (SIGSTOPped), under a live session: clients are told the
server is degraded, nothing acked is lost, frames sent meanwhile are stored once Redis is back,
the session goes on.

The test owns its Redis (AOF with ``appendfsync always``, so an acked write is on disk before
the ack leaves) and restarts it on the same Unix socket; the server under test reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgpack
import pytest
import redis
from playwright.sync_api import Browser, expect
from redis.crc import key_slot
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from server.keys import SessionKeys
from server.protocol import SUBPROTOCOL
from server.redis_server import EmbeddedRedis

from . import faultkit
from .chromium import chromium, ms
from .conftest import TIME_UNIT, ServerProcess, free_port
from .faultkit import (
    Timeline,
    auth,
    check_audio_blocks,
    exported_log,
    fake_core,
    make_timeline,
    session_blocks,
)
from .redis_cluster import LocalCluster
from .resumable import ResumableClient

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def start_session(server: ServerProcess, token: str) -> str:
    return faultkit.start_session(server.url, token, "Sesión con Redis reiniciado")


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


@pytest.mark.timeout(300)
def test_redis_restart_mid_session_degrades_then_recovers_losing_nothing(spawn: Any, tmp_path: Path) -> None:
    """Redis is SIGKILLed mid-session (text and speech streaming) and restarted on the same
    socket: every client gets ``status degraded STORE_UNAVAILABLE``, /healthz answers 503, a new
    connection is refused with STORE_UNAVAILABLE and close 1013; frames sent meanwhile stay
    unacked, then are stored and acked once, in order, after ``status ok``; everything acked
    before is still there; the live hub resyncs every client (events contiguous, equal to the
    log); the session goes on and its acta holds every text and every utterance."""
    store = EmbeddedRedis(tmp_path / "store", appendfsync="always")
    store.start()
    try:
        with fake_core(tmp_path) as core:
            server = spawn("serve", env={"REDIS_URL": store.url, "ASTRA_CORE_URL": core.url})
            token = server.token()
            viewer_token = server.token(role="viewer", sub="viewer")
            session_id = start_session(server, token)
            timeline = make_timeline(random.Random(3), 3)
            asyncio.run(_scenario(server, store, session_id, token, viewer_token, timeline))
            assert httpx.get(server.url + "/healthz").status_code == 200
            # The viewer, which sends nothing, caught up through the live hub's reconnect.
            metrics = httpx.get(server.url + "/metrics").text
            assert re.search(r'astra_resyncs_total\{reason="resync"\} [1-9]', metrics), metrics
    finally:
        store.stop()


def text(phase: str, n: int) -> dict[str, Any]:
    return {"type": "text", "text": f"{phase}, intervención número {n}."}


def audio(frames: list[bytes]) -> list[dict[str, Any]]:
    return [{"type": "audio", "format": "pcm16", "data": f} for f in frames]


async def _scenario(
    server: ServerProcess,
    store: EmbeddedRedis,
    session_id: str,
    token: str,
    viewer_token: str,
    timeline: Timeline,
) -> None:
    frames = timeline.frames()
    # Cut the audio in the silences after the first and the second utterance.
    first, second = (
        (end + start) // 2 // 1600 for (_, end), (start, _) in itertools.pairwise(timeline.speech)
    )
    recorder = ResumableClient([server.ws_url], session_id, token, "rec").start()
    viewer = ResumableClient([server.ws_url], session_id, viewer_token, "viewer").start()
    try:
        for frame in [text("Antes del corte", n) for n in range(1, 11)] + audio(frames[:first]):
            await recorder.send(frame)
        await recorder.all_acked()
        before = {a["seq"]: a for a in recorder.acks}

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
        listing = await asyncio.to_thread(
            httpx.get, f"{server.url}/v1/orchestrator/session/{session_id}/blocks", headers=auth(token)
        )
        assert listing.status_code == 503 and listing.json()["error"]["code"] == "STORE_UNAVAILABLE"
        refused, close_code = await hello_during_outage(server, session_id, token)
        assert refused["type"] == "error" and refused["code"] == "STORE_UNAVAILABLE"
        assert close_code == 1013

        # Sent while Redis is down (fewer than the window): held, not acked, not refused.
        during = [text("Durante el corte", n) for n in range(11, 21)] + audio(frames[first : first + 40])
        for frame in during:
            await recorder.send(frame)
        await recorder.wait_until(lambda: recorder._sent_upto == recorder.next_seq - 1, 30, "all sent")
        assert len(recorder.acks) == len(before) and not recorder.errors

        # From this thread, not a worker: Redis is tied to the thread that started it (its
        # parent-death signal fires when that thread ends, and asyncio.run ends its workers).
        store.start()
        for client in (recorder, viewer):
            await client.wait_until(lambda c=client: c.statuses[-1]["state"] == "ok", 60, "status ok")
        await recorder.all_acked(60)
        after = (
            audio(frames[first + 40 : second])
            + [text("Después del corte", n) for n in range(21, 31)]
            + audio(frames[second:])
            + [{"type": "audio_end"}]
        )
        for frame in after:  # the session goes on
            await recorder.send(frame)
        await recorder.all_acked()

        response = await asyncio.to_thread(
            httpx.post,
            f"{server.url}/v1/orchestrator/session/{session_id}/finalize",
            headers=auth(token),
            timeout=120,
        )
        assert response.status_code == 200, response.text
        log = await asyncio.to_thread(exported_log, server.url, token, session_id)
        for client in (recorder, viewer):
            await client.wait_until(lambda c=client: c.last_event_id == log[-1]["id"], 60, "every event")
    finally:
        await recorder.stop()
        await viewer.stop()

    assert recorder.applied() == list(range(1, recorder.next_seq))
    assert not recorder.errors and not viewer.errors
    assert [s["state"] for s in recorder.statuses] == ["degraded", "ok"]
    blocks = await asyncio.to_thread(session_blocks, server.url, token, session_id)
    text_blocks = [b for b in blocks if b["source"]["kind"] == "text"]
    assert [b["text"].split("número ")[1] for b in text_blocks] == [f"{n}." for n in range(1, 31)]
    by_id = {b["block_id"]: b for b in blocks}
    for ack in before.values():  # acked before the kill: the very same block survived
        assert ack["block_id"] is None or ack["block_id"] in by_id
    check_audio_blocks(timeline, log, blocks)
    assert [e["id"] for e in log] == list(range(1, len(log) + 1))
    for client in (recorder, viewer):
        client.check_events()
        assert [(e["id"], e["kind"], e["data"]) for e in client.events] == [
            (e["id"], e["kind"], e["data"]) for e in log
        ]


@pytest.mark.timeout(120)
def test_outage_longer_than_the_limit_closes_with_1013_and_the_client_resumes(
    spawn: Any, tmp_path: Path
) -> None:
    """Redis down for longer than ASTRA_STORE_OUTAGE: a connection holding an unacked frame is
    told STORE_UNAVAILABLE and closed with 1013 (not left hanging); the client keeps the frame,
    reconnects with backoff, and once Redis is back the frame is stored and acked, once."""
    store = EmbeddedRedis(tmp_path / "store", appendfsync="always")
    store.start()
    try:
        with fake_core(tmp_path) as core:
            server = spawn(
                "serve",
                env={"REDIS_URL": store.url, "ASTRA_CORE_URL": core.url, "ASTRA_STORE_OUTAGE": "1"},
            )
            token = server.token()
            session_id = start_session(server, token)

            async def scenario() -> ResumableClient:
                client = ResumableClient([server.ws_url], session_id, token, "rec").start()
                try:
                    await client.send(text("Antes del corte", 1))
                    await client.all_acked()
                    assert store.process is not None
                    store.process.kill()
                    store.process.wait(10)
                    await client.send(text("Durante el corte", 2))
                    await client.wait_until(lambda: (1013, "STORE_UNAVAILABLE") in client.closes, 30, "1013")
                    # (each reconnect meanwhile is refused the same way)
                    assert {e["code"] for e in client.errors} == {"STORE_UNAVAILABLE"}
                    assert all("seq" not in e for e in client.errors)  # the frame is kept, unanswered
                    assert client.unacked and client.applied() == [1]
                    store.start()  # from this thread (see above)
                    await client.all_acked(60)
                finally:
                    await client.stop()
                return client

            client = asyncio.run(scenario())
            assert client.applied() == [1, 2] and client.connections >= 2
            blocks = session_blocks(server.url, token, session_id)
            assert [b["source"]["seq"] for b in blocks] == [1, 2]
    finally:
        store.stop()


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


# -- a Redis that accepts connections but stops answering ------------------------------------------

HUNG_TIMEOUT = 2.0
"""ASTRA_REDIS_SOCKET_TIMEOUT of the hung-Redis test: each call it makes must fail well within
ten times this (the bound it polls with), where a server without it waits for ever (or, on a
cluster, through every retry of the client)."""


@contextlib.contextmanager
def frozen(process: subprocess.Popen[bytes] | None) -> Iterator[None]:
    """SIGSTOP a redis-server (a hung primary: its sockets stay open, nothing answers) for the
    duration of the block; SIGCONT it on the way out, whatever happened."""
    assert process is not None and process.poll() is None
    os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(process.pid, signal.SIGCONT)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("kind", ["standalone", "cluster"])
def test_hung_redis_fails_calls_with_store_unavailable_then_recovers_losing_nothing(
    spawn: Any, tmp_path: Path, kind: str
) -> None:
    """The Redis holding the session is SIGSTOPped (it keeps its connections open and answers
    nothing; on a cluster, the primary of the session's slot): an HTTP read gets 503
    STORE_UNAVAILABLE, a new WebSocket's hello gets STORE_UNAVAILABLE and close 1013, and a
    text frame on an open connection gets ``status degraded STORE_UNAVAILABLE`` and waits
    unacked, each within a bound instead of hanging; after SIGCONT the server serves again, the
    held frame is stored and acked once, and every block accepted before is still there."""
    with contextlib.ExitStack() as stack:
        if kind == "standalone":
            store = EmbeddedRedis(tmp_path / "store", appendfsync="always")
            store.start()
            stack.callback(store.stop)
            url = store.url
        else:
            cluster = LocalCluster(tmp_path / "cluster", full_coverage=False)
            stack.callback(cluster.stop)
            url = cluster.start(timeout=30 * TIME_UNIT).url
        core = stack.enter_context(fake_core(tmp_path))
        server = spawn(
            "serve",
            env={
                "REDIS_URL": url,
                "ASTRA_CORE_URL": core.url,
                "ASTRA_REDIS_SOCKET_TIMEOUT": str(HUNG_TIMEOUT),
            },
        )
        token = server.token()
        session_id = start_session(server, token)
        if kind == "standalone":
            holder = store.process
        else:
            holder = cluster.node_of_slot(key_slot(SessionKeys(session_id).meta.encode())).process
        bound = 10 * HUNG_TIMEOUT * TIME_UNIT
        blocks_url = f"{server.url}/v1/orchestrator/session/{session_id}/blocks"

        async def scenario() -> ResumableClient:
            client = ResumableClient([server.ws_url], session_id, token, "rec").start()
            try:
                for n in range(1, 6):
                    await client.send(text("Antes del bloqueo", n))
                await client.all_acked()
                with frozen(holder):
                    # Bounded by the client's own timeout: a server that hangs fails here.
                    listing = await asyncio.to_thread(
                        httpx.get, blocks_url, headers=auth(token), timeout=bound
                    )
                    assert listing.status_code == 503, listing.text
                    assert listing.json()["error"]["code"] == "STORE_UNAVAILABLE"
                    refused, close_code = await asyncio.wait_for(
                        hello_during_outage(server, session_id, token), bound
                    )
                    assert refused["type"] == "error" and refused["code"] == "STORE_UNAVAILABLE"
                    assert close_code == 1013
                    await client.send(text("Durante el bloqueo", 6))
                    await client.wait_until(
                        lambda: any(s["state"] == "degraded" for s in client.statuses),
                        bound / TIME_UNIT,
                        "degraded status",
                    )
                    degraded = next(s for s in client.statuses if s["state"] == "degraded")
                    assert degraded["code"] == "STORE_UNAVAILABLE"
                    assert client.applied() == [1, 2, 3, 4, 5]  # the new frame waits, unacked
                await client.all_acked(60)
                await client.wait_until(lambda: client.statuses[-1]["state"] == "ok", 60, "status ok")
            finally:
                await client.stop()
            return client

        client = asyncio.run(scenario())
        assert client.applied() == [1, 2, 3, 4, 5, 6] and not client.errors
        blocks = session_blocks(server.url, token, session_id)
        assert [b["source"]["seq"] for b in blocks] == [1, 2, 3, 4, 5, 6]
        assert [b["text"].split("número ")[1] for b in blocks] == [f"{n}." for n in range(1, 7)]
        assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200


# -- a Redis that answers, but cannot serve the session now ----------------------------------------


def hello_during(server: ServerProcess, session_id: str, token: str) -> tuple[dict[str, Any], int]:
    return asyncio.run(asyncio.wait_for(hello_during_outage(server, session_id, token), 60 * TIME_UNIT))


@pytest.mark.timeout(120)
def test_a_primary_demoted_under_the_server_is_store_unavailable(spawn: Any, tmp_path: Path) -> None:
    """The server's Redis made the replica of a primary it cannot reach (what a failover does to
    a demoted primary): a write refused with READONLY, then (told not to serve stale data) a
    read refused with MASTERDOWN, each 503 STORE_UNAVAILABLE over HTTP, and a WebSocket hello
    error STORE_UNAVAILABLE with close 1013, not a bare 500 / 4500. Made a primary again, the
    session goes on with nothing lost."""
    store = EmbeddedRedis(tmp_path / "store")
    store.start()
    admin = redis.Redis.from_url(store.url)
    try:
        server = spawn("serve", env={"REDIS_URL": store.url})
        token = server.token()
        session_id = start_session(server, token)
        api = f"{server.url}/v1/orchestrator/session/{session_id}"

        def append(text: str) -> httpx.Response:
            return httpx.post(f"{api}/append", json={"text": text}, headers=auth(token), timeout=30)

        assert append("Antes.").status_code == 200
        admin.execute_command("REPLICAOF", "127.0.0.1", str(free_port()))  # nothing listens there
        refused = append("Durante.")
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "STORE_UNAVAILABLE" and "read only" in refused.text
        admin.config_set("replica-serve-stale-data", "no")
        listing = httpx.get(f"{api}/blocks", headers=auth(token), timeout=30)
        assert listing.status_code == 503, listing.text
        assert listing.json()["error"]["code"] == "STORE_UNAVAILABLE" and "MASTER" in listing.text
        error, close_code = hello_during(server, session_id, token)
        assert (error["type"], error["code"], close_code) == ("error", "STORE_UNAVAILABLE", 1013)

        admin.execute_command("REPLICAOF", "NO", "ONE")
        assert append("Después.").status_code == 200
        assert [b["text"] for b in session_blocks(server.url, token, session_id)] == ["Antes.", "Después."]
    finally:
        admin.close()
        store.stop()


@pytest.mark.timeout(120)
def test_a_cluster_down_for_the_session_is_store_unavailable(spawn: Any, tmp_path: Path) -> None:
    """The Redis Cluster node holding the session reports the cluster down (CLUSTERDOWN: here a
    slot of its own left unassigned, with full coverage required); redis-py retries, then raises
    ClusterDownError: an HTTP read is 503 STORE_UNAVAILABLE and a WebSocket hello gets error
    STORE_UNAVAILABLE with close 1013, not a bare 500 / 4500. The slot assigned again, the
    session is served again."""
    cluster = LocalCluster(tmp_path / "cluster", full_coverage=True)
    try:
        url = cluster.start(timeout=30 * TIME_UNIT).url
        server = spawn("serve", env={"REDIS_URL": url})
        token = server.token()
        session_id = start_session(server, token)
        blocks_url = f"{server.url}/v1/orchestrator/session/{session_id}/blocks"
        slot = key_slot(SessionKeys(session_id).meta.encode())
        holder = cluster.node_of_slot(slot)
        other_slot = slot + 1 if cluster.node_of_slot(slot + 1) is holder else slot - 1
        with holder.client() as node:
            node.execute_command("CLUSTER", "DELSLOTS", other_slot)
            try:
                listing = httpx.get(blocks_url, headers=auth(token), timeout=60)
                assert listing.status_code == 503, listing.text
                assert listing.json()["error"]["code"] == "STORE_UNAVAILABLE" and "down" in listing.text
                error, close_code = hello_during(server, session_id, token)
                assert (error["type"], error["code"], close_code) == ("error", "STORE_UNAVAILABLE", 1013)
            finally:
                node.execute_command("CLUSTER", "ADDSLOTS", other_slot)
        assert session_blocks(server.url, token, session_id) == []
    finally:
        cluster.stop()


async def hello_welcomed(server: ServerProcess, session_id: str, token: str) -> dict[str, Any]:
    """The first frame a client connecting now gets (a ``welcome`` when all is well)."""
    url = f"{server.ws_url}/v1/orchestrator/session/{session_id}/stream"
    async with connect(url, subprotocols=[SUBPROTOCOL], open_timeout=10) as ws:  # type: ignore[list-item]
        await ws.send(msgpack.packb({"type": "hello", "v": 1, "token": token, "client_id": "later"}))
        frame: dict[str, Any] = msgpack.unpackb(await asyncio.wait_for(ws.recv(), 30 * TIME_UNIT))
        return frame


@pytest.mark.timeout(120)
def test_a_store_failing_between_the_hellos_redis_calls_closes_with_1013(spawn: Any, tmp_path: Path) -> None:
    """Redis answers reads but holds writes (CLIENT PAUSE WRITE, what it does during a failover):
    a hello's read of the session succeeds and its first write, taking a connection slot, gets
    no answer within ASTRA_REDIS_SOCKET_TIMEOUT. The client is told STORE_UNAVAILABLE and closed
    with 1013 (try again later), not 4500 (internal error); writes resumed, it is welcomed."""
    store = EmbeddedRedis(tmp_path / "store")
    store.start()
    admin = redis.Redis.from_url(store.url)
    try:
        server = spawn("serve", env={"REDIS_URL": store.url, "ASTRA_REDIS_SOCKET_TIMEOUT": "0.5"})
        token = server.token()
        session_id = start_session(server, token)
        admin.execute_command("CLIENT", "PAUSE", int(120_000 * TIME_UNIT), "WRITE")
        try:
            # The session is there to read: what refuses the hello is the slot's write.
            assert (
                httpx.get(
                    f"{server.url}/v1/orchestrator/session/{session_id}", headers=auth(token)
                ).status_code
                == 200
            )
            error, close_code = hello_during(server, session_id, token)
        finally:
            admin.execute_command("CLIENT", "UNPAUSE")
        assert (error["type"], error["code"], close_code) == ("error", "STORE_UNAVAILABLE", 1013)
        assert asyncio.run(hello_welcomed(server, session_id, token))["type"] == "welcome"
    finally:
        admin.close()
        store.stop()
