"""Live fan-out of session events to this instance's WebSocket clients.

The event log (a Redis stream) is the truth; pub/sub is only a doorbell that carries each new
event so that the common case costs no extra read. One pub/sub connection per instance serves
every session that has local clients. Each client has a bounded queue; when it overflows, or
when the pub/sub connection had to be re-established, the client is told to *resync* and reads
what it missed from the log. So a slow client or a dropped pub/sub link delays events but never
loses or reorders them, and no client can make the server's memory grow without bound. (A
client too slow even for that is closed by the endpoint: see ``Subscription.head``.)

On Redis Cluster the doorbells are classic PUBLISH messages, which every node relays to its own
subscribers, so the hub subscribes on any one node; when that link fails it moves to the next node
of the cluster (and everyone resyncs, as on any reconnect).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from redis.asyncio.client import PubSub
from redis.asyncio.cluster import RedisCluster

from .errors import StoreUnavailable
from .keys import SessionKeys
from .protocol import split_live
from .redis_client import RedisClient

log = logging.getLogger("astra.fanout")

HUB_CHANNEL = "astra:hub"
RESYNC = (0, b"")
"""Queue marker: the subscriber must re-read the log from its last delivered event."""
PRESENCE = -1
"""Queue items with this id carry a presence snapshot frame (not an event of the log)."""
PRESENCE_PREFIX = b"p:"
STORE_DOWN = (-2, b"")
"""Queue marker: the pub/sub link to Redis was lost (the store is probably down). A RESYNC
follows once it is back."""


@dataclass(eq=False)
class Subscription:
    """One local client's view of a session's live events."""

    session_id: str
    queue: asyncio.Queue[tuple[int, bytes]]
    overflowed: bool = field(default=False)
    head: int = field(default=0)
    """The newest event id announced to this subscription, queued or not: how far the
    consumer is behind is ``head`` minus what it has delivered."""

    def offer(self, item: tuple[int, bytes]) -> None:
        self.head = max(self.head, item[0])
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            # Drop the backlog and tell the consumer to catch up from the log instead.
            self.overflowed = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(RESYNC)

    async def get(self) -> tuple[int, bytes]:
        item = await self.queue.get()
        if item is RESYNC:
            self.overflowed = False
        return item


class LiveHub:
    """Routes pub/sub doorbells to the local subscriptions of each session."""

    def __init__(self, redis: RedisClient, queue_size: int) -> None:
        self._redis = redis
        self._failures = 0
        self._queue_size = queue_size
        self._subs: dict[str, set[Subscription]] = {}
        self._pubsub: PubSub | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="astra-live-hub")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._pubsub:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    @contextlib.asynccontextmanager
    async def subscribe(self, session_id: str) -> AsyncIterator[Subscription]:
        """Receive the session's live events while the context is open."""
        sub = Subscription(session_id, asyncio.Queue(self._queue_size))
        channel = SessionKeys(session_id).channel
        try:
            async with self._lock:
                first = session_id not in self._subs
                self._subs.setdefault(session_id, set()).add(sub)
                if first:
                    await self._ensure_ready()
                    if self._pubsub is None:  # lost again before this waiter went on
                        raise StoreUnavailable("the live event link to the store is down")
                    await self._pubsub.subscribe(channel)
            yield sub
        finally:
            async with self._lock:
                subs = self._subs.get(session_id)
                if subs is not None:
                    subs.discard(sub)
                    if not subs:
                        del self._subs[session_id]
                        if self._pubsub is not None:
                            with contextlib.suppress(Exception):
                                await self._pubsub.unsubscribe(channel)

    async def _ensure_ready(self) -> None:
        try:
            async with asyncio.timeout(10):
                await self._ready.wait()
        except TimeoutError as exc:
            raise StoreUnavailable("the live event link to the store is down") from exc

    async def _new_pubsub(self) -> PubSub:
        if isinstance(self._redis, RedisCluster):
            await self._redis.initialize()  # no-op unless the client must (re)learn the topology
            nodes = sorted(self._redis.get_nodes(), key=lambda n: n.name)
            node = nodes[self._failures % len(nodes)]  # after a failure, the next node
            log.info("live hub subscribes on cluster node %s", node.name)
            return self._redis.pubsub(node=node, ignore_subscribe_messages=True)
        return self._redis.pubsub(ignore_subscribe_messages=True)

    async def _connect(self) -> PubSub:
        pubsub = await self._new_pubsub()
        channels = [SessionKeys(sid).channel for sid in self._subs]
        # A standing subscription keeps the connection readable when no session is watched.
        await pubsub.subscribe(HUB_CHANNEL, *channels)
        return pubsub

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            try:
                self._pubsub = await self._connect()
                self._ready.set()
                backoff = 0.1
                # Anything published while we were not listening is in the log: resync everyone.
                for subs in self._subs.values():
                    for sub in subs:
                        sub.offer(RESYNC)
                async for message in self._pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    self._dispatch(message["channel"], message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._ready.is_set():  # tell every local client once per outage
                    for subs in self._subs.values():
                        for sub in subs:
                            sub.offer(STORE_DOWN)
                self._ready.clear()
                self._failures += 1
                log.warning("live hub lost its pub/sub connection (%s); reconnecting", exc)
                if self._pubsub is not None:
                    pubsub, self._pubsub = self._pubsub, None  # closed: an unsubscribe meanwhile
                    with contextlib.suppress(Exception):  # would take a connection it never gives back
                        await pubsub.aclose()  # type: ignore[no-untyped-call]
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def _dispatch(self, channel: bytes, data: bytes) -> None:
        # channel is b"astra:{<sid>}:live"
        start, end = channel.find(b"{"), channel.find(b"}")
        session_id = channel[start + 1 : end].decode()
        subs = self._subs.get(session_id)
        if not subs:
            return
        if data.startswith(PRESENCE_PREFIX):  # a presence snapshot, relayed as is
            for sub in subs:
                sub.offer((PRESENCE, data[len(PRESENCE_PREFIX) :]))
            return
        try:
            item = split_live(data)
        except ValueError:
            log.error("malformed live message on %s", channel)
            return
        for sub in subs:
            sub.offer(item)
