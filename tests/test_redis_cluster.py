"""Redis Cluster: the cluster refuses cross-slot operations, ours stay in one slot, live events
cross nodes, the live hub survives the loss of its node, and the pool makes callers wait."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.commands.core import AsyncScript
from redis.crc import key_slot
from redis.exceptions import ClusterCrossSlotError, MaxConnectionsError

from server import keys, protocol
from server.buffer import Dedupe, SessionBuffer
from server.fanout import RESYNC, STORE_DOWN, LiveHub, Subscription
from server.keys import SessionKeys
from server.redis_client import GatedRedisCluster, cluster_seeds, is_cluster_url, make_redis
from server.settings import Settings

from .conftest import TIME_UNIT
from .redis_cluster import LocalCluster

pytestmark = pytest.mark.anyio


def payload(kind: str = "block.added") -> bytes:
    return protocol.encode_event_payload(kind, 1.0, "tester", {})


def slot_of(session_id: str) -> int:
    return key_slot(SessionKeys(session_id).meta.encode())


def session_on(node_of: Any, wanted: object) -> str:
    """A fresh session id whose keys live on node ``wanted`` (``node_of(slot)`` says where)."""
    while True:
        sid = f"ses_{uuid.uuid4().hex}"
        if node_of(slot_of(sid)) == wanted:
            return sid


async def create(buffer: SessionBuffer, sid: str) -> int:
    return await buffer.create(
        sid, tenant_id="T", pinned={}, metadata={}, created_by="t", event_payload=payload("session.started")
    )


async def next_item(sub: Subscription, within: float = 10) -> tuple[int, bytes]:
    """The subscription's next item (an event, or RESYNC), waiting at most ``within`` units."""
    item: tuple[int, bytes] = await asyncio.wait_for(sub.get(), within * TIME_UNIT)
    return item


async def next_event(sub: Subscription) -> tuple[int, bytes]:
    """The next event, past the RESYNC a subscription made while the hub connects may get."""
    item = await next_item(sub)
    return await next_item(sub) if item == RESYNC else item


@pytest.fixture
async def cluster(redis_cluster: str) -> AsyncIterator[RedisCluster]:
    client = make_redis(Settings(redis_url=redis_cluster))
    assert isinstance(client, RedisCluster)
    await client.ping()
    yield client
    await client.aclose()


# -- configuration -------------------------------------------------------------------------------


def test_cluster_url_names_every_seed_node_and_keeps_credentials_and_options() -> None:
    """``redis+cluster://`` selects the cluster client; each listed node is a seed; user,
    password and query options carry over to a plain URL (``rediss+`` keeps TLS)."""
    assert is_cluster_url("redis+cluster://h:1") and is_cluster_url("rediss+cluster://h:1")
    assert not is_cluster_url("redis://h:6379/0") and not is_cluster_url("unix:///tmp/r.sock")
    first, seeds = cluster_seeds(
        "redis+cluster://u:p%40ss@10.0.0.1:7000, 10.0.0.2:7001,[::1]:7002/?socket_timeout=5"
    )
    assert first == "redis://u:p%40ss@10.0.0.1:7000/?socket_timeout=5"
    assert seeds == [("10.0.0.1", 7000), ("10.0.0.2", 7001), ("::1", 7002)]
    assert cluster_seeds("rediss+cluster://h:6380")[0] == "rediss://h:6380"
    for bad in ("redis+cluster://h", "redis+cluster://h:1,:2", "redis://h:1"):
        with pytest.raises(ValueError):
            cluster_seeds(bad)


# -- one hash slot per operation -----------------------------------------------------------------


async def test_the_cluster_refuses_a_script_whose_keys_are_in_two_slots(cluster: RedisCluster) -> None:
    """Sent straight to a node, a script with keys of two sessions gets CROSSSLOT; with two keys
    of one session it runs. This is what the cluster tier of the suite relies on."""
    one, other = SessionKeys("ses_a"), SessionKeys("ses_b")
    assert key_slot(one.meta.encode()) != key_slot(other.meta.encode())
    node = cluster.get_node_from_key(one.meta)
    script = "return #KEYS"
    with pytest.raises(ClusterCrossSlotError):
        await cluster.execute_command("EVAL", script, 2, one.meta, other.events, target_nodes=node)
    assert await cluster.execute_command("EVAL", script, 2, one.meta, one.events, target_nodes=node) == 2


class RecordingCluster(GatedRedisCluster):
    """The server's cluster client, noting the keys of every script call."""

    scripts: list[tuple[str, tuple[bytes, ...]]]

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        command = str(args[0]).upper()
        if command in ("EVAL", "EVALSHA"):
            keys = tuple(k if isinstance(k, bytes) else str(k).encode() for k in args[3 : 3 + int(args[2])])
            sha = hashlib.sha1(args[1].encode()).hexdigest() if command == "EVAL" else str(args[1])
            self.scripts.append((sha, keys))
        return await super().execute_command(*args, **kwargs)


async def test_every_buffer_script_touches_only_its_own_sessions_slot(redis_cluster: str) -> None:
    """A whole session's life through every Lua script of the buffer: each call's keys all lie
    in the session's own hash slot (the tenant's admission script in the tenant's), and no
    script is left unexercised."""
    first, seeds = cluster_seeds(redis_cluster)
    client = RecordingCluster.from_url(
        first, startup_nodes=[ClusterNode(h, p) for h, p in seeds[1:]], pool_timeout=10 * TIME_UNIT
    )
    assert isinstance(client, RecordingCluster)
    client.scripts = []
    buffer = SessionBuffer(client)
    sid = f"ses_{uuid.uuid4().hex}"
    try:
        assert await create(buffer, sid) == 1
        d = Dedupe.by_seq("c", 1)
        check = await buffer.begin_ingest(sid, d, "tok", 60)
        await buffer.renew_ingest(sid, "tok", 60)
        block = {"block_id": "b1", "type": "TEMPLATE", "text": "t", "version": 1}
        assert (
            await buffer.commit_block(sid, block, d, "tok", payload(), position=check.position)
        ).outcome == "ok"
        assert await buffer.replace_block(sid, "b1", 1, {**block, "version": 2}, payload()) > 0
        edit = {**block, "version": 3, "text": "t2", "position": 1}
        assert (await buffer.change_block(sid, Dedupe.by_key("k"), "edit", edit, 2, payload()))[0] == "ok"
        inserted = {**block, "block_id": "b2", "position": await buffer.position_after(sid, "b1")}
        assert (
            await buffer.change_block(
                sid, Dedupe("none"), "insert", inserted, 0, payload(), placed_after="b1"
            )
        )[0] == "ok"
        assert await buffer.renumber(sid, 1, lambda _: payload()) == "ok"
        assert await buffer.emit(sid, payload()) > 0
        await buffer.presence(sid, "set", "conn", {"sub": "ana"})
        assert await buffer.claim_client_id(sid, "mic", "ana") == "ana"
        audio = await buffer.append_audio(sid, Dedupe.by_seq("mic", 1), [("pcm16", b"\0\0", True)])
        assert audio.outcome == "ok"
        _, checks, _, _ = await buffer.append_audio_frames(sid, "mic", [(2, "pcm16", b"\0\0", False)])
        assert [c.outcome for c in checks] == ["ok"]
        held = await buffer.recording(sid)  # also reads the cluster's clock
        assert held is not None and held[0] == "mic"
        assert await buffer.record_utterance(sid, "u1", {"position": 2, "audio_ref": "k1"}, 1, payload())
        assert await buffer.utterance_audio_ref(sid, "u1") == "k1"
        assert await buffer.record_utterance(sid, "u2", {"position": 3}, 1, payload())
        assert await buffer.discard_utterance(sid, "u2", payload()) > 0  # heard with no words
        await buffer.checkpoint_audio(sid, audio.detail, 1, 2, 4)
        assert await buffer.acquire_lease(sid, "me", 10)
        assert await buffer.renew_lease(sid, "me", 10)
        await buffer.end_audio_carry(sid, "me")
        await buffer.release_lease(sid, "me")
        assert (await buffer.begin_finalize(sid, "o", 30, payload()))[0] == "acquired"
        assert await buffer.renew_finalize(sid, "o", 30)
        assert await buffer.drain(sid) == 0
        assert len(await buffer.raw_blocks(sid)) == 2
        assert await buffer.join_connection(sid, "conn", 2, 10) == "ok"
        await buffer.keep_connection(sid, "conn", 10)
        assert (
            await buffer.end_finalize(sid, "o", ok=True, value={}, event_payload=payload(), retention=60) > 0
        )
        discarded = {"by": "ana", "reason": "prueba"}
        assert (await buffer.discard(sid, discarded, payload(), only_if_empty=False, retention=60))[
            0
        ] == "closed"
        tenant_calls = len(client.scripts)
        assert await buffer.admit_session("TENANT_CLUSTER_TEST", sid, 10)
        learn_calls = len(client.scripts)
        await buffer.owe_learn_export(sid, 60)
        assert sid not in (await buffer.claim_learn_exports(60, 10))[1]  # its try has a minute
        await buffer.retry_learn_export(sid, 0)
        claim, due = await buffer.claim_learn_exports(60, 1000)
        assert sid in due
        await buffer.drop_learn_export(sid, claim)
        assert sid not in (await buffer.claim_learn_exports(0, 1000))[1]
        await buffer.learn_export_done(sid)
    finally:
        await client.aclose()
    registered = {s.sha for s in vars(buffer).values() if isinstance(s, AsyncScript)}
    assert registered and registered <= {sha for sha, _ in client.scripts}, "a script was not exercised"
    slot = slot_of(sid)
    session_calls = client.scripts[:tenant_calls]
    assert all(key_slot(key) == slot for _, keys in session_calls for key in keys), session_calls
    # A tenant's script (admission to the open-session count) stays in the tenant's own slot.
    tenant_slot = key_slot(keys.tenant_open_sessions("TENANT_CLUSTER_TEST").encode())
    tenant_calls_made = client.scripts[tenant_calls:learn_calls]
    assert all(key_slot(key) == tenant_slot for _, ks in tenant_calls_made for key in ks), tenant_calls_made
    # The LEARN exports owed: one key of its own, whatever the session.
    assert {ks for _, ks in client.scripts[learn_calls:]} == {(keys.LEARN_OWED.encode(),)}


# -- live events across nodes --------------------------------------------------------------------


async def test_events_published_on_every_node_reach_a_hub_subscribed_on_one(cluster: RedisCluster) -> None:
    """Sessions whose keys live on each of the three masters: the events their scripts publish
    reach this instance's hub, which listens on a single node."""
    hub = LiveHub(cluster, queue_size=100)
    await hub.start()
    buffer = SessionBuffer(cluster)
    try:
        masters = cluster.get_primaries()
        assert len(masters) == 3
        for node in masters:
            sid = session_on(lambda slot: cluster.nodes_manager.get_node_from_slot(slot).name, node.name)
            async with hub.subscribe(sid) as sub:
                assert await create(buffer, sid) == 1
                event_id, data = await next_event(sub)
                assert event_id == 1 and data == payload("session.started")
    finally:
        await hub.stop()


async def test_the_live_hub_moves_to_another_node_when_its_node_dies(tmp_path: Path) -> None:
    """SIGKILL the node the hub listens on: the hub subscribes on another node, tells its
    clients to resync, and events of sessions on the surviving nodes flow again (their scripts
    run though the dead node can no longer load any)."""
    local = LocalCluster(tmp_path / "cluster", full_coverage=False)
    local.start(timeout=30 * TIME_UNIT)
    client = make_redis(Settings(redis_url=local.url))
    hub = LiveHub(client, queue_size=100)
    try:
        await client.ping()
        await hub.start()
        buffer = SessionBuffer(client)

        async def listeners(channel: str) -> dict[int, int]:
            counts: dict[int, int] = {}
            for node in local.nodes:
                if node.alive():
                    async with redis.asyncio.Redis(host="127.0.0.1", port=node.port) as r:
                        (_, n), *_ = await r.pubsub_numsub(channel)
                        counts[node.port] = int(n)
            return counts

        async def hub_node(channel: str = "astra:hub") -> int:
            """The node the hub listens to ``channel`` on, once it does: the hub sends a
            SUBSCRIBE without waiting for its answer, and an event published before the node
            took it would not reach the hub."""
            deadline = asyncio.get_running_loop().time() + 20 * TIME_UNIT
            while True:
                on = [port for port, n in (await listeners(channel)).items() if n]
                if on:
                    return on[0]
                assert asyncio.get_running_loop().time() < deadline, f"nobody listens to {channel}"
                await asyncio.sleep(0.05)

        first = await hub_node()
        doomed = next(n for n in local.nodes if n.port == first)
        survivors = [n for n in local.nodes if n is not doomed]
        sid = session_on(local.node_of_slot, survivors[-1])  # lives on a node that stays up
        async with hub.subscribe(sid) as sub:
            assert await hub_node(SessionKeys(sid).channel) == first
            assert await create(buffer, sid) == 1
            assert (await next_event(sub))[0] == 1
            local.kill(doomed)
            # The link was lost (clients are told the store may be down), then it is back: read
            # what was missed.
            assert await next_item(sub, 30) == STORE_DOWN
            assert await next_item(sub, 30) == RESYNC
            assert await hub_node() != first
            assert await buffer.emit(sid, payload()) == 2
            assert (await next_item(sub))[0] == 2
    finally:
        await hub.stop()
        await client.aclose()
        local.stop()


# -- connection pool -----------------------------------------------------------------------------


async def test_a_busy_pool_makes_callers_wait_then_fails_with_a_clear_error(redis_cluster: str) -> None:
    """With every connection busy, further calls wait their turn instead of failing at once
    (redis-py's cluster pool would raise MaxConnectionsError); past the pool timeout they fail
    with MaxConnectionsError naming the wait."""
    tag = uuid.uuid4().hex
    lists = [f"astra:test:{{{tag}}}:{n}" for n in range(3)]  # one slot, so one node
    waiting = make_redis(Settings(redis_url=redis_cluster, redis_max_connections=2, redis_pool_timeout=30))
    hurried = make_redis(Settings(redis_url=redis_cluster, redis_max_connections=2, redis_pool_timeout=0.2))
    helper = make_redis(Settings(redis_url=redis_cluster))
    pops: list[asyncio.Task[Any]] = []
    try:
        assert isinstance(helper, RedisCluster)
        await helper.ping()  # learns the slot map
        node = helper.get_node_from_key(lists[0])

        async def blocked(count: int) -> None:
            deadline = asyncio.get_running_loop().time() + 10 * TIME_UNIT
            while (await helper.info("clients", target_nodes=node))["blocked_clients"] < count:
                assert asyncio.get_running_loop().time() < deadline, "the pops never blocked"
                await asyncio.sleep(0.02)

        # Three blocking pops on one node, with two connections: they take turns.
        pops += [asyncio.create_task(waiting.blpop([key], timeout=0)) for key in lists]
        blocker = asyncio.create_task(hurried.blpop([lists[0]], timeout=0))
        pops.append(blocker)
        await blocked(2)
        with pytest.raises(MaxConnectionsError, match=r"within 0\.2 s"):
            await hurried.get(lists[1])
        for key in lists:
            await helper.rpush(key, "x")
        await helper.rpush(lists[0], "y")
        results = await asyncio.wait_for(asyncio.gather(*pops), 20 * TIME_UNIT)
        assert sorted(r[0].decode() for r in results) == sorted([*lists, lists[0]])
    finally:
        for task in pops:
            task.cancel()
        for client in (waiting, hurried, helper):
            await client.aclose()
