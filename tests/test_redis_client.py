"""The Redis client's socket timeout (``redis_socket_timeout``) bounds calls, not listening: the
live hub's pub/sub link, quiet for many times the timeout, still carries the next doorbell.

How a hung Redis fails calls within the timeout is pinned end to end, on a real server with its
Redis SIGSTOPped, in ``tests/test_redis_restart.py``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio
import redis.exceptions
from hiredis import pack_command
from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio.connection import AbstractConnection

from server import protocol
from server.buffer import SessionBuffer
from server.fanout import RESYNC, STORE_DOWN, LiveHub
from server.redis_client import (
    OWN_BUFFER,
    TurnBatchedScript,
    cluster_seeds,
    evicting_policies,
    is_cluster_url,
    make_redis,
    packed,
)
from server.redis_server import EmbeddedRedis
from server.settings import Settings

from .conftest import TIME_UNIT, ServerProcess
from .test_redis_restart import frozen

pytestmark = pytest.mark.anyio

SOCKET_TIMEOUT = 0.5
QUIET = 2
"""Seconds (CLIENT LIST counts whole ones) the hub's link must stay quiet: four timeouts."""


def payload(kind: str) -> bytes:
    return protocol.encode_event_payload(kind, 1.0, "tester", {})


async def quietest_subscriber(url: str) -> int | None:
    """The smallest ``idle`` (seconds since its last command) of the pub/sub connections on the
    Redis (every node of a cluster); None while there is none."""
    urls = [f"redis://{h}:{p}" for h, p in cluster_seeds(url)[1]] if is_cluster_url(url) else [url]
    idle: list[int] = []
    for node_url in urls:
        async with redis.asyncio.Redis.from_url(node_url) as node:
            idle += [int(c["idle"]) for c in await node.client_list() if int(c.get("sub", 0)) > 0]
    return min(idle) if idle else None


@pytest.mark.cluster
async def test_a_quiet_hub_outlives_the_socket_timeout(redis_url: str) -> None:
    """A hub whose pub/sub connection has read nothing for four socket timeouts is still
    subscribed on that same connection (no STORE_DOWN, no reconnect and RESYNC): the next event
    arrives as its doorbell."""
    client = make_redis(Settings(redis_url=redis_url, redis_socket_timeout=SOCKET_TIMEOUT))
    hub = LiveHub(client, queue_size=100)
    buffer = SessionBuffer(client)
    sid = f"ses_{uuid.uuid4().hex}"
    try:
        await hub.start()
        async with hub.subscribe(sid) as sub:
            await buffer.create(
                sid, tenant_id="T", pinned={}, metadata={}, created_by="t", event_payload=payload("s")
            )
            first = await asyncio.wait_for(sub.get(), 10 * TIME_UNIT)
            if first == RESYNC:  # the hub's first connection
                first = await asyncio.wait_for(sub.get(), 10 * TIME_UNIT)
            assert first[0] == 1
            # Only now can the link be quiet: every subscriber's last command is this long ago
            # (a hub cut by the timeout would reconnect, subscribing anew, again and again).
            deadline = asyncio.get_running_loop().time() + 30 * TIME_UNIT
            while (await quietest_subscriber(redis_url) or 0) < QUIET:
                assert asyncio.get_running_loop().time() < deadline, "the hub's link never stayed quiet"
                await asyncio.sleep(0.1)
            assert sub.queue.empty()  # nothing meanwhile: no STORE_DOWN, no RESYNC
            assert await buffer.emit(sid, payload("block.added")) == 2
            item = await asyncio.wait_for(sub.get(), 10 * TIME_UNIT)
            assert item not in (STORE_DOWN, RESYNC)
            assert item == (2, payload("block.added"))
    finally:
        await hub.stop()
        await client.aclose()


async def test_a_session_left_while_the_hub_reconnects_takes_no_connection_for_good(redis_url: str) -> None:
    """The hub's pub/sub link is lost and, before it is back, the last local client of a session
    leaves: its unsubscribe does not go out on the closed link (redis-py then takes a connection
    from the pool for it, which nothing gives back: one per outage, until the pool is empty and
    every command waits for one)."""
    client = make_redis(Settings(redis_url=redis_url))
    pool = client.connection_pool
    hub = LiveHub(client, queue_size=100)
    connect = hub._connect
    reconnecting = asyncio.Event()
    back = asyncio.Event()

    async def held_connect() -> Any:
        if hub._failures:  # after the loss: held until the test lets it
            reconnecting.set()
            await back.wait()
        return await connect()

    hub._connect = held_connect  # type: ignore[method-assign]
    try:
        await hub.start()
        async with hub.subscribe(f"ses_{uuid.uuid4().hex}") as sub:
            while await asyncio.wait_for(sub.get(), 10 * TIME_UNIT) != RESYNC:
                pass
            async with redis.asyncio.Redis.from_url(redis_url) as admin:
                await admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
            assert await asyncio.wait_for(sub.get(), 10 * TIME_UNIT) == STORE_DOWN
            await asyncio.wait_for(reconnecting.wait(), 10 * TIME_UNIT)
            in_use = len(pool._in_use_connections)  # type: ignore[union-attr]
        assert len(pool._in_use_connections) == in_use  # type: ignore[union-attr]
    finally:
        back.set()
        await hub.stop()
        await client.aclose()


ECHO_OR_FAIL = """
if ARGV[1] == 'fail' then return redis.error_reply('ERR asked to fail') end
if ARGV[1] == 'slow' then  -- busy for 200 ms: Redis answers nothing else meanwhile
  local t = redis.call('TIME')
  local until_us = t[1] * 1000000 + t[2] + 200000
  repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] >= until_us
end
redis.call('INCR', KEYS[1])
return {ARGV[1], redis.call('GET', KEYS[1])}
"""


def count_script_writes(monkeypatch: pytest.MonkeyPatch, written: Callable[[bytes], None]) -> None:
    """Call ``written`` with each socket write (every redis-py connection writes through its
    ``StreamWriter.writelines``, and so do the batches) that carries an ``EVALSHA``."""
    real = asyncio.StreamWriter.writelines

    def counting(self: asyncio.StreamWriter, data: Any) -> None:
        data = list(data)
        real(self, data)
        if b"EVALSHA" in b"".join(data):
            written(b"".join(data))

    monkeypatch.setattr(asyncio.StreamWriter, "writelines", counting)


@pytest.mark.cluster
async def test_calls_in_one_loop_turn_share_a_pipeline_and_each_get_their_reply(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fifty calls made in the same turn reach a standalone Redis as one pipeline (a cluster gets
    them one by one); each gets its own reply, one failing script does not fail the others, and
    after SCRIPT FLUSH (a restarted Redis) every call still succeeds."""
    client = make_redis(Settings(redis_url=redis_url))
    script = TurnBatchedScript(client, ECHO_OR_FAIL)
    key = f"{{t{uuid.uuid4().hex}}}:n"
    writes: list[bytes] = []
    count_script_writes(monkeypatch, writes.append)
    try:
        # A cold cluster client fails some of many first concurrent calls (redis-py 8.1: "'NoneType'
        # object has no attribute 'writelines'", seen without any batching); a server has made
        # calls long before it is busy.
        await script(keys=[key], args=["warm"])
        writes.clear()
        words = [f"w{i}" if i != 7 else "fail" for i in range(50)]
        replies = await asyncio.gather(*(script(keys=[key], args=[w]) for w in words), return_exceptions=True)
        assert isinstance(replies[7], redis.exceptions.ResponseError)
        ok = [r for i, r in enumerate(replies) if i != 7]
        assert [r[0].decode() for r in ok] == [w for w in words if w != "fail"]  # type: ignore[index]
        assert sorted(int(r[1]) for r in ok) == list(range(2, 51))  # type: ignore[index]
        assert len(writes) == (50 if is_cluster_url(redis_url) else 1)  # one write for all 50 calls

        await client.script_flush()  # on every node of a cluster
        again = await asyncio.gather(*(script(keys=[key], args=[f"x{i}"]) for i in range(5)))
        assert [r[0].decode() for r in again] == [f"x{i}" for i in range(5)]
    finally:
        await client.aclose()


_ARGS = st.one_of(
    st.text(max_size=20),
    st.integers(-(2**63), 2**63 - 1),
    st.binary(max_size=40),
    st.builds(lambda n, b: bytes([b]) * n, st.integers(OWN_BUFFER - 1, OWN_BUFFER + 3), st.integers(0, 255)),
)


@given(st.lists(_ARGS, min_size=1, max_size=12))
def test_a_packed_command_is_hiredis_packing_with_large_arguments_left_as_they_are(
    command: list[Any],
) -> None:
    """The buffers of a command, written one after the other, are what hiredis packs; each bytes
    argument of OWN_BUFFER bytes or more is one of them, the same object (not copied)."""
    buffers = packed(command)
    assert b"".join(buffers) == pack_command(tuple(command))
    large = [arg for arg in command if isinstance(arg, bytes) and len(arg) >= OWN_BUFFER]
    assert [b for b in buffers if any(b is arg for arg in large)] == large


async def test_large_arguments_reach_redis_whole_through_scripts_and_transactions(redis_url: str) -> None:
    """Large binary arguments (every byte value, CR LF inside) of a script call and of a
    transaction's commands in one batch are stored byte for byte, with the small arguments
    around them."""
    if is_cluster_url(redis_url):
        pytest.skip("batches and transactions go to a standalone Redis only")
    client = make_redis(Settings(redis_url=redis_url))
    script = TurnBatchedScript(client, "redis.call('SET', KEYS[1], ARGV[2]) return ARGV[1]")
    base = f"t{uuid.uuid4().hex}"
    big = bytes(range(256)) * (OWN_BUFFER // 256 + 3) + b"\r\n"
    other = b"\r\n" + big[::-1]
    try:
        replies = await asyncio.gather(
            script(keys=[f"{base}:a"], args=["first", big]),
            script.transaction(
                [("SET", f"{base}:b", other), ("APPEND", f"{base}:b", big), ("GET", f"{base}:c")]
            ),
            script(keys=[f"{base}:d"], args=[7, b"small"]),
        )
        assert replies == [b"first", [b"OK", len(other) + len(big), None], b"7"]
        assert await client.get(f"{base}:a") == big
        assert await client.get(f"{base}:b") == other + big
        assert await client.get(f"{base}:d") == b"small"
    finally:
        await client.aclose()


async def test_a_call_that_cannot_be_sent_fails_with_its_batch_and_the_client_goes_on(redis_url: str) -> None:
    """An argument Redis cannot be sent (here None) fails the calls of its turn at once, none
    waits for a reply that will never come, and the next turn's calls succeed."""
    client = make_redis(Settings(redis_url=redis_url))
    script = TurnBatchedScript(client, ECHO_OR_FAIL)
    key = f"{{t{uuid.uuid4().hex}}}:n"
    try:
        bad, fine = await asyncio.wait_for(
            asyncio.gather(
                script(keys=[key], args=[None]), script(keys=[key], args=["a"]), return_exceptions=True
            ),
            10 * TIME_UNIT,
        )
        assert isinstance(bad, Exception) and isinstance(fine, Exception)
        assert (await script(keys=[key], args=["b"]))[0] == b"b"
    finally:
        await client.aclose()


async def test_a_batch_is_read_by_its_own_reader_and_a_hung_redis_fails_it_within_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A standalone Redis's batches are read with the connection's hiredis reader, not redis-py's
    ``read_response``, so the batch bounds its own wait: a Redis that stops answering (SIGSTOPped,
    its socket open) fails the batch's calls with redis-py's ``TimeoutError`` rather than holding
    them, even a batch of more audio than the socket takes (its close must not wait for the rest
    to drain into a Redis that reads nothing), and once it answers again the next call goes
    through."""
    reads = 0
    real_read = AbstractConnection.read_response

    async def counting_read(self: AbstractConnection, *args: Any, **kwargs: Any) -> Any:
        nonlocal reads
        reads += 1
        return await real_read(self, *args, **kwargs)

    monkeypatch.setattr(AbstractConnection, "read_response", counting_read)
    with EmbeddedRedis(tmp_path / "store") as store:
        client = make_redis(Settings(redis_url=store.url, redis_socket_timeout=SOCKET_TIMEOUT))
        script = TurnBatchedScript(client, ECHO_OR_FAIL)
        key = f"{{t{uuid.uuid4().hex}}}:n"
        try:
            await script(keys=[key], args=["warm"])  # NOSCRIPT: loaded and run through redis-py
            reads = 0
            replies = await asyncio.gather(*(script(keys=[key], args=[f"w{i}"]) for i in range(3)))
            assert [r[0] for r in replies] == [b"w0", b"w1", b"w2"]
            assert reads == 0
            with frozen(store.process):
                failed = await asyncio.wait_for(  # one batch; the second call fills the socket's buffers
                    asyncio.gather(
                        script(keys=[key], args=["hung"]),
                        script(keys=[key], args=[bytes(8 << 20)]),
                        return_exceptions=True,
                    ),
                    10 * SOCKET_TIMEOUT * TIME_UNIT,
                )
                for error in failed:  # redis-py's timeout, not a close that timed out after it
                    assert isinstance(error, redis.exceptions.TimeoutError), repr(error)
                    assert str(error).startswith("Timeout reading"), error
            assert (await script(keys=[key], args=["after"]))[0] == b"after"
        finally:
            await client.aclose()


async def test_a_redis_killed_while_a_batch_is_out_fails_it_at_once_and_a_restarted_one_serves_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection closing under a batch (Redis killed after the batch was written) fails its
    calls with ``ConnectionError`` as soon as the socket says so (as redis-py's own read did), not
    after the socket timeout (a minute here); the next call, once Redis is back, opens a new
    connection and succeeds."""
    store = EmbeddedRedis(tmp_path / "store", appendfsync="always")
    store.start()
    client = make_redis(Settings(redis_url=store.url, redis_socket_timeout=60))
    script = TurnBatchedScript(client, ECHO_OR_FAIL)
    key = f"{{t{uuid.uuid4().hex}}}:n"
    written = asyncio.Event()
    try:
        await script(keys=[key], args=["warm"])
        count_script_writes(monkeypatch, lambda _: written.set())
        assert store.process is not None
        os.kill(store.process.pid, signal.SIGSTOP)  # the batch goes out, unanswered
        call = asyncio.create_task(script(keys=[key], args=["lost"]))
        await asyncio.wait_for(written.wait(), 10 * TIME_UNIT)
        store.process.kill()
        with pytest.raises(redis.exceptions.ConnectionError):
            await asyncio.wait_for(call, 10 * TIME_UNIT)
        await asyncio.to_thread(store.start)
        assert (await script(keys=[key], args=["back"]))[0] == b"back"
        assert int(await client.get(key)) == 2  # "warm" (fsynced before the kill), then "back"
    finally:
        if store.process is not None and store.process.poll() is None:
            os.kill(store.process.pid, signal.SIGCONT)  # stopped if the test failed in between
        await client.aclose()
        store.stop()


async def test_a_connection_cut_cleanly_under_a_batch_fails_it_at_once(tmp_path: Path) -> None:
    """A proxy in front of Redis that closes the connection (a clean end of stream, not a reset)
    once a batch has reached it, unanswered: the batch's call fails with ``ConnectionError`` at
    once, as with redis-py's own read, rather than reading an empty stream again and again until
    the socket timeout, and the next call goes through on a new connection."""
    cut = asyncio.Event()

    async def relay(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        redis_r, redis_w = await asyncio.open_unix_connection(str(store.socket))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, upstream: bool) -> None:
            while data := await src.read(1 << 16):
                if upstream and b"cut-here" in data:
                    cut.set()
                    break  # the batch goes no further: the client's side is closed below
                dst.write(data)
                await dst.drain()
            client_w.close()
            redis_w.close()

        await asyncio.gather(pipe(client_r, redis_w, True), pipe(redis_r, client_w, False))

    with EmbeddedRedis(tmp_path / "store") as store:
        proxy = await asyncio.start_server(relay, "127.0.0.1", 0)
        port = proxy.sockets[0].getsockname()[1]
        client = make_redis(Settings(redis_url=f"redis://127.0.0.1:{port}", redis_socket_timeout=60))
        script = TurnBatchedScript(client, ECHO_OR_FAIL)
        key = f"{{t{uuid.uuid4().hex}}}:n"
        try:
            await script(keys=[key], args=["warm"])
            with pytest.raises(redis.exceptions.ConnectionError):
                await asyncio.wait_for(script(keys=[key], args=["cut-here"]), 10 * TIME_UNIT)
            assert cut.is_set()
            assert (await script(keys=[key], args=["after"]))[0] == b"after"
        finally:
            await client.aclose()
            proxy.close()
            await proxy.wait_closed()


async def test_calls_made_while_a_batch_is_out_go_together_as_the_next(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One batch in flight at a time: ten calls made in ten different turns while a slow one is
    answered reach Redis as one more write, each with its own reply."""
    if is_cluster_url(redis_url):
        pytest.skip("a cluster gets its calls one by one")
    client = make_redis(Settings(redis_url=redis_url))
    script = TurnBatchedScript(client, ECHO_OR_FAIL)
    key = f"{{t{uuid.uuid4().hex}}}:n"
    writes: list[bytes] = []
    written = asyncio.Event()

    def counted(write: bytes) -> None:
        writes.append(write)
        written.set()

    try:
        await script(keys=[key], args=["warm"])
        count_script_writes(monkeypatch, counted)
        slow = asyncio.create_task(script(keys=[key], args=["slow"]))
        await asyncio.wait_for(written.wait(), 10 * TIME_UNIT)  # the slow call is out
        later = []
        for i in range(10):
            later.append(asyncio.create_task(script(keys=[key], args=[f"w{i}"])))
            await asyncio.sleep(0)  # a turn of its own
        assert not slow.done()
        assert (await slow)[0] == b"slow"
        assert [(await call)[0] for call in later] == [f"w{i}".encode() for i in range(10)]
        assert len(writes) == 2
    finally:
        await client.aclose()


BUSY_FOR_A_WHILE = """
local t = redis.call('TIME')
local start = t[1] * 1000000 + t[2]
repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] - start > tonumber(ARGV[1])
return 1
"""


async def test_a_busy_redis_leaves_transactions_unknown_and_asked_again(tmp_path: Path) -> None:
    """Asked whether it runs transactions while a long script holds it (BUSY to every command),
    Redis gives no answer for good: five callers at once ask once and all get None (their bursts
    go through the ingest script), and the next caller, once the script is over, asks again and
    gets its block run."""
    key = f"t{uuid.uuid4().hex}"
    with EmbeddedRedis(tmp_path / "redis") as server:
        client = make_redis(Settings(redis_url=server.url))
        other = redis.asyncio.Redis.from_url(server.url, socket_timeout=60)
        probe = redis.asyncio.Redis.from_url(server.url)
        script = TurnBatchedScript(client, ECHO_OR_FAIL)
        try:
            await other.config_set("lua-time-limit", 10)  # BUSY after 10 ms of a script
            await client.ping()
            await probe.ping()
            busy = asyncio.create_task(other.eval(BUSY_FOR_A_WHILE, 0, int(5 * TIME_UNIT * 1e6)))
            deadline = asyncio.get_running_loop().time() + 10 * TIME_UNIT
            while True:
                try:
                    await probe.ping()
                except redis.exceptions.ResponseError as exc:
                    assert "BUSY" in str(exc)
                    break
                assert asyncio.get_running_loop().time() < deadline, "the script never made Redis busy"
                await asyncio.sleep(0.01)
            asked = 0
            ask = script._transactions_run

            async def counted() -> bool | None:
                nonlocal asked
                asked += 1
                return await ask()

            script._transactions_run = counted  # type: ignore[method-assign]
            during = [script.transaction([("SET", key, "during")]) for _ in range(5)]
            assert await asyncio.gather(*during) == [None] * 5
            assert script._transactions is None and asked == 1  # the others waited for that answer
            assert await asyncio.wait_for(busy, 60 * TIME_UNIT) == 1
            assert await script.transaction([("SET", key, "after")]) == [b"OK"]
            assert script._transactions is True and await client.get(key) == b"after"
        finally:
            for c in (client, other, probe):
                await c.aclose()


@pytest.mark.cluster
async def test_a_redis_without_a_memory_limit_evicts_nothing(redis_url: str) -> None:
    """No maxmemory, no eviction, whatever the policy: on one server and on every cluster node
    (INFO answered per node)."""
    client = make_redis(Settings(redis_url=redis_url))
    try:
        assert await evicting_policies(client) == set()
    finally:
        await client.aclose()


def test_a_redis_that_may_evict_keys_is_named_at_startup(
    own_redis: tuple[str, Path], spawn: Callable[..., ServerProcess]
) -> None:
    """The README asks for ``maxmemory-policy noeviction`` (an evicted key is lost minute
    content); a server started on a Redis with a memory limit and another policy says so in its
    log (it said nothing), and says nothing once the policy is noeviction."""
    url, _ = own_redis
    with redis.Redis.from_url(url) as own:
        own.config_set("maxmemory", "512mb")
        own.config_set("maxmemory-policy", "allkeys-lru")
        evicting = spawn("serve", env={"REDIS_URL": url})
        assert (
            "Redis may evict keys under its memory limit (maxmemory-policy allkeys-lru)"
            in evicting.log_tail()
        )
        evicting.stop()
        own.config_set("maxmemory-policy", "noeviction")
        assert "may evict" not in spawn("serve", env={"REDIS_URL": url}).log_tail()
