"""ASTRA_REDIS_ACK_REPLICAS: live audio is acked only once Redis replicas confirmed it, so that a
failover to a replica cannot lose audio the console was told is safe (and has forgotten)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
import redis
import redis.asyncio

from server.app import create_app
from server.keys import REPLICAS_MARK, SessionKeys
from server.redis_client import NotReplicated, TurnBatchedScript
from server.redis_server import _die_with_parent, find_redis_server
from server.settings import Settings, SettingsError

from .conftest import TENANT, SettledTestClient, free_port, wait_until, with_settings, ws_until

FRAME = bytes(3200)  # 100 ms of PCM16 silence


@contextlib.contextmanager
def primary_and_replica(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A redis-server on TCP and a replica of it, linked and in sync: (the primary's URL, the
    replica's process)."""
    binary = find_redis_server()
    ports = free_port(), free_port()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for port, extra in zip(ports, ([], ["--replicaof", "127.0.0.1", str(ports[0])]), strict=True):
            folder = tmp_path / f"redis-{port}"
            folder.mkdir()
            command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(folder)]
            process = subprocess.Popen(
                [*command, *extra], stdout=subprocess.DEVNULL, preexec_fn=_die_with_parent
            )
            processes.append(process)
        primary = redis.Redis(port=ports[0])

        def linked() -> bool:
            with contextlib.suppress(redis.exceptions.ConnectionError):
                info = primary.info("replication")
                return info.get("connected_slaves") == 1 and info.get("slave0", {}).get("state") == "online"
            return False

        wait_until(linked, 30, "the replica linked to its primary")
        primary.close()
        yield f"redis://127.0.0.1:{ports[0]}", processes[1]
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGCONT)
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)


@pytest.mark.timeout(120)
def test_audio_is_acked_only_once_a_replica_has_it(
    settings: Settings, make_token: Callable[..., str], tmp_path: Path
) -> None:
    """With one replica asked for: with the replica stopped (a link down, a replica hung) frames
    are not acked, and the client is told the store is degraded; once it is back they are acked,
    each stored once, and while it keeps up they are acked as usual. Without the wait they were
    acked with the replica stopped, and a failover to it then would have lost them."""
    token = make_token()
    with primary_and_replica(tmp_path) as (url, replica):
        waited = with_settings(settings, redis_url=url, redis_ack_replicas=1, redis_ack_timeout=0.2)
        with SettledTestClient(create_app(waited)) as client:
            auth = {"authorization": f"Bearer {token}"}
            session_id = client.post(
                "/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=auth
            ).json()["session_id"]
            with client.websocket_connect(f"/v1/orchestrator/session/{session_id}/stream") as ws:
                ws.send_bytes(msgpack.packb({"type": "hello", "client_id": "mic", "token": token}))

                def send(seq: int) -> None:
                    frame = {"type": "audio", "seq": seq, "format": "pcm16", "data": FRAME}
                    ws.send_bytes(msgpack.packb(frame))

                # The replica stopped (a link down, a replica hung) from the first frames: not
                # acked, and the client is told the store is degraded.
                os.kill(replica.pid, signal.SIGSTOP)
                for seq in range(1, 4):
                    send(seq)
                told: dict[str, Any] = ws_until(ws, lambda m: m["type"] in ("ack", "status"))
                assert (told["type"], told.get("state"), told.get("code")) == (
                    "status",
                    "degraded",
                    "STORE_UNAVAILABLE",
                ), told
                os.kill(replica.pid, signal.SIGCONT)  # back: acked (as duplicates, stored before)
                ws_until(ws, lambda m: m["type"] == "ack" and m["seq"] == 3)
                seen: list[dict[str, Any]] = []  # the replica keeping up: acked, nothing else said
                send(4)
                ws_until(ws, lambda m: seen.append(m) is None and m["type"] == "ack" and m["seq"] == 4)
                assert not [m for m in seen if m["type"] == "status" and m["state"] == "degraded"], seen
            r = client.app.state.astra.redis  # type: ignore[attr-defined]
            stored = client.portal.call(r.hget, SessionKeys(session_id).meta, "audio_stored")  # type: ignore[union-attr]
    assert int(stored) == 4 * len(FRAME)  # each once


def test_the_wait_for_replicas_needs_a_standalone_redis_url(settings: Settings) -> None:
    """Refused at start where it cannot work: the embedded Redis has no replicas, and on a
    cluster the wait is not built in."""
    for url in (None, "redis+cluster://127.0.0.1:7000"):
        with pytest.raises(SettingsError, match="ASTRA_REDIS_ACK_REPLICAS"):
            with_settings(settings, redis_url=url, redis_ack_replicas=1).check()
    with pytest.raises(SettingsError, match="ASTRA_REDIS_ACK_REPLICAS"):
        with_settings(settings, redis_ack_replicas=-1).check()
    with_settings(settings, redis_url="redis://127.0.0.1:6379", redis_ack_replicas=1).check()


@pytest.mark.anyio
@pytest.mark.timeout(60)
async def test_the_wait_covers_writes_made_before_it_on_other_connections(tmp_path: Path) -> None:
    """A batch that writes nothing itself (frames resent: duplicates) is confirmed only once the
    replicas have every write made before it, on any connection (the first try's may have gone
    out on one since closed)."""
    with primary_and_replica(tmp_path) as (url, replica):
        client = redis.asyncio.Redis.from_url(url)
        try:
            reads = TurnBatchedScript(client, "return redis.call('GET', KEYS[1])")
            reads.wait_for_replicas(1, 0.2)
            # (the script not loaded yet in this new Redis: loaded, and the call sent again)
            assert await reads(["k"], []) is None  # the replica keeping up: confirmed
            # each wait follows a write of its own: Redis documents a WAIT as covering the
            # connection's writes (6.2 and 7.0 here happen to count from any command)
            marks = await client.get(REPLICAS_MARK)
            assert marks is not None and int(marks) >= 1
            os.kill(replica.pid, signal.SIGSTOP)
            await client.set("k", "on the primary only")  # (another connection: the first try)
            with pytest.raises(NotReplicated):
                await reads(["k"], [])
            os.kill(replica.pid, signal.SIGCONT)
            assert await reads(["k"], []) == b"on the primary only"
            # the mark refused (as OOM or NOREPLICAS would): the wait covers too little, not acked
            await client.delete(REPLICAS_MARK)
            await client.hset(REPLICAS_MARK, "not", "a count")
            with pytest.raises(NotReplicated, match="WRONGTYPE"):
                await reads(["k"], [])
        finally:
            await client.aclose()
