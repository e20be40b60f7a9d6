"""The Redis client: one Redis server, or a Redis Cluster, chosen by the scheme of ``REDIS_URL``.

* ``redis://``, ``rediss://``, ``unix://`` — one server: :class:`redis.asyncio.Redis` over a
  ``BlockingConnectionPool``.
* ``redis+cluster://host:port[,host:port…]`` (``rediss+cluster://`` for TLS) — a Redis Cluster:
  :class:`redis.asyncio.cluster.RedisCluster`, seeded with every listed node (it discovers the
  others). User, password and query options apply to every node, as in a ``redis://`` URL.

The cluster works because no operation spans two hash slots: all keys of a session carry the hash
tag ``{<session_id>}`` (:mod:`server.keys`) and every Lua script gets only keys of one session as
``KEYS``. Live doorbells use classic PUBLISH/SUBSCRIBE (Redis 6.2, not sharded pub/sub): a message
published on any node reaches the subscribers of every node, so :mod:`server.fanout` subscribes on
one node and moves to another when that one fails.

In both modes a command fails (``redis.exceptions.TimeoutError``, which the server reports as
``STORE_UNAVAILABLE``) when Redis has not answered within ``redis_socket_timeout`` seconds: a hung
primary or a partition without a reset keeps the socket open, so only a timeout ends the wait
(redis-py 8 happens to default to 5 s; the setting names it rather than relying on that). On a
cluster the bound covers the command's whole attempt: redis-py retries a timed-out command up to
ten times, each waiting the full timeout again (55 s measured with a SIGSTOPped primary). Nothing
the server sends blocks in Redis on purpose; the one long wait, the live hub's pub/sub
``listen()``, reads with no deadline (redis-py exempts it from the socket timeout), so a quiet hub
is not cut.

In both modes a caller waits, at most ``redis_pool_timeout`` seconds, for a free connection when
``redis_max_connections`` are busy. redis-py's cluster client would fail at once instead
(``MaxConnectionsError``, its pool being per node), so commands pass a gate of that size here.
A script a cluster node does not know yet is sent in full to that node only (redis-py would load
it on every primary, which fails while any primary is down, even one without the script's keys).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Iterable, Sequence
from typing import Any, TypeAlias
from urllib.parse import urlsplit, urlunsplit

from hiredis import PushNotification, pack_command
from redis._parsers.hiredis import NOT_ENOUGH_DATA, _AsyncHiredisParser
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import AbstractConnection
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import (
    MaxConnectionsError,
    NoPermissionError,
    NoScriptError,
    RedisError,
    ResponseError,
)
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.typing import EncodableT, KeyT, ScriptTextT

from .errors import ConfigError, StoreUnavailable
from .keys import REPLICAS_MARK
from .settings import Settings

RedisClient: TypeAlias = Redis | RedisCluster
"""What the server's code talks to; both expose the same data commands and ``register_script``."""

CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


def is_cluster_url(url: str) -> bool:
    return urlsplit(url).scheme.lower() in CLUSTER_SCHEMES


def cluster_seeds(url: str) -> tuple[str, list[tuple[str, int]]]:
    """``redis+cluster://u:p@h1:1,h2:2/?opt=v`` → (``redis://u:p@h1:1/?opt=v``, [(h1, 1), (h2, 2)])."""
    parts = urlsplit(url)
    scheme = CLUSTER_SCHEMES.get(parts.scheme.lower())
    if scheme is None:
        raise ValueError(f"not a Redis Cluster URL: {parts.scheme}://…")
    userinfo, at, hosts = parts.netloc.rpartition("@")
    seeds: list[tuple[str, int]] = []
    for item in hosts.split(","):
        host, colon, port = item.strip().rpartition(":")
        if not colon or not host or not port.isdigit():
            raise ValueError(f"Redis Cluster URL: {item!r} is not host:port")
        seeds.append((host.strip("[]"), int(port)))
    first = f"{userinfo}{at}{hosts.split(',')[0].strip()}"
    return urlunsplit((scheme, first, parts.path, parts.query, "")), seeds


class ClusterScript(AsyncScript):
    """A Lua script run on the node that holds its keys: ``EVALSHA``, and on ``NOSCRIPT`` an
    ``EVAL`` of the full text, which also caches it on that node."""

    async def __call__(
        self,
        keys: Sequence[KeyT] | None = None,
        args: Iterable[EncodableT] | None = None,
        client: Redis | RedisCluster | None = None,
    ) -> Any:
        target = client or self.registered_client
        key_list = list(keys or ())
        everything = [*key_list, *(args or ())]
        try:
            return await target.evalsha(self.sha, len(key_list), *everything)
        except NoScriptError:
            text = self.script if isinstance(self.script, str) else bytes(self.script).decode()
            return await target.eval(text, len(key_list), *everything)


class GatedRedisCluster(RedisCluster):
    """A RedisCluster whose callers wait (bounded) for a connection instead of failing at once.

    One gate slot per command in flight; a command holds at most one connection per node, so a
    gate of ``max_connections - 1`` keeps every node's pool (``max_connections``) from running out,
    with one connection to spare for the live hub's subscription. Everything the server sends goes
    through :meth:`execute_command` (data commands and ``EVALSHA`` alike; it uses no pipelines).
    """

    def __init__(self, *, pool_timeout: float, command_timeout: float | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._gate = asyncio.Semaphore(max(1, int(kwargs.get("max_connections", 100)) - 1))
        self._pool_timeout = pool_timeout
        self._command_timeout = command_timeout

    async def execute_command(self, *args: EncodableT, **kwargs: Any) -> Any:
        try:
            async with asyncio.timeout(self._pool_timeout):
                await self._gate.acquire()
        except TimeoutError:
            raise MaxConnectionsError(f"no Redis connection free within {self._pool_timeout} s") from None
        try:
            # One deadline for the attempt with its redirects and retries: a cancelled read
            # disconnects its connection (redis-py), so no reply can be taken for a later command.
            async with asyncio.timeout(self._command_timeout):
                return await super().execute_command(*args, **kwargs)
        except TimeoutError:  # the deadline (redis-py raises its own TimeoutError, not this one)
            message = f"no answer from the Redis Cluster within {self._command_timeout} s"
            raise RedisTimeoutError(message) from None
        finally:
            self._gate.release()

    def register_script(self, script: ScriptTextT) -> AsyncScript:  # type: ignore[override]  # async one
        return ClusterScript(self, script)


def make_redis(settings: Settings) -> RedisClient:
    """The client for ``settings.redis_url`` (standalone or cluster, by scheme); ConfigError
    naming REDIS_URL for one that is not a Redis URL (redis-py and the seeds' parser raise a bare
    ValueError, which ended ``astra serve`` and ``astra verify`` in a traceback)."""
    url = settings.redis_url
    if not url:
        raise RuntimeError("settings.redis_url is required (astra serve starts an embedded Redis)")
    try:
        return _make_redis(settings, url)
    except ValueError as exc:
        raise ConfigError(f"REDIS_URL: {exc}") from exc


def _make_redis(settings: Settings, url: str) -> RedisClient:
    timeout = settings.redis_socket_timeout
    if is_cluster_url(url):
        first, seeds = cluster_seeds(url)
        return GatedRedisCluster.from_url(
            first,
            startup_nodes=[ClusterNode(host, port) for host, port in seeds[1:]],
            max_connections=settings.redis_max_connections,
            pool_timeout=settings.redis_pool_timeout,
            command_timeout=timeout,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
        )
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=settings.redis_max_connections,
        timeout=settings.redis_pool_timeout,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
    )
    return Redis.from_pool(pool)  # closing the client closes the pool's connections


async def evicting_policies(redis: RedisClient) -> set[str]:
    """The ``maxmemory-policy`` of each node that has a memory limit and may evict keys under it
    (anything but ``noeviction``): an evicted key is lost minute content, an evicted lease a
    second owner of a session's audio. Empty when INFO is not allowed (a managed Redis may
    rename it): then nothing can be said."""
    try:
        info: dict[str, Any] = await redis.info("memory")
    except ResponseError:
        return set()
    nodes = [info] if "maxmemory_policy" in info else list(info.values())  # a cluster: per node
    return {
        str(node.get("maxmemory_policy"))
        for node in nodes
        if int(node.get("maxmemory", 0)) > 0 and node.get("maxmemory_policy") != "noeviction"
    }


_MULTI = pack_command((b"MULTI",))
_EXEC = pack_command((b"EXEC",))
OWN_BUFFER = 16 << 10
"""An argument of at least this many bytes is written as a buffer of its own, not packed."""


def packed(command: Sequence[EncodableT]) -> list[bytes]:
    """``command`` in Redis's protocol, as hiredis packs it, but with each ``bytes`` argument of
    at least OWN_BUFFER bytes (a burst's audio) left as a buffer of its own, to be written as it
    is (uvloop's ``writelines`` is one ``writev``; plain asyncio's joins them, still correct):
    hiredis packs an argument of 64 KiB and more at ~0.6 µs per KiB (62 µs for 100 KiB, where
    copying it takes 2.4), about 5 % of a core while bursts arrive; from 16 KiB on, a buffer of
    its own costs no more than packing it."""
    for arg in command:  # (a loop, not any() over a generator: one live frame's audio each)
        if isinstance(arg, bytes) and len(arg) >= OWN_BUFFER:
            break
    else:
        return [pack_command(tuple(command))]  # type: ignore[arg-type]  # hiredis's stub: one item
    buffers: list[bytes] = []
    small: list[EncodableT] = []
    head = b"*%d\r\n" % len(command)
    for arg in command:
        if isinstance(arg, bytes) and len(arg) >= OWN_BUFFER:
            buffers += (head + _bulk_strings(small) + b"$%d\r\n" % len(arg), arg)
            small, head = [], b"\r\n"
        else:
            small.append(arg)
    buffers.append(head + _bulk_strings(small))
    return buffers


def _bulk_strings(args: list[EncodableT]) -> bytes:
    """``args`` as the bulk strings of a packed command, encoded as hiredis encodes them."""
    if not args:
        return b""
    command: bytes = pack_command(tuple(args))  # type: ignore[arg-type]
    return command[command.index(b"\n") + 1 :]  # without the "*<count>" line


_READ_SIZE = 1 << 16
"""Bytes read from the socket at a time, as redis-py's parser reads."""


async def _hiredis_exchange(connection: AbstractConnection, buffers: list[bytes], count: int) -> list[Any]:
    """Write ``buffers`` on a connected redis-py ``connection`` and read ``count`` replies with
    its own hiredis reader (an error reply as its exception, as redis-py's parser builds it),
    within one ``socket_timeout`` for the whole exchange (write and replies: redis-py bounded the
    write and each reply apart).

    What ``send_packed_command`` and ``read_response`` do for a batch, without their per-call
    wrapping: the first starts a task to bound each write (``wait_for``) and each reply read sets
    a timer of its own, checks the protocol and the connection, ~20 Python calls a reply, a
    quarter of a batched call's cost to the event loop (``bench/bench_redis_calls.py``). This
    reaches into the connection (``_writer``, its parser's ``_stream`` and ``_reader``): redis is
    pinned, and every batched call goes through here, so a change there fails the tests at once.
    A RESP3 push (none is asked for on this connection; a managed Redis's maintenance notices)
    goes to the parser's handlers, as redis-py's read does. The caller closes the connection
    after any error."""
    parser: Any = connection._parser
    stream, reader = parser._stream, parser._reader
    writer: asyncio.StreamWriter = connection._writer  # type: ignore[assignment]  # connected
    replies: list[Any] = []
    try:
        async with asyncio.timeout(connection.socket_timeout):
            writer.writelines(buffers)
            await writer.drain()
            while len(replies) < count:
                reply = reader.gets()
                if reply is NOT_ENOUGH_DATA:
                    data = await stream.read(_READ_SIZE)
                    if not data:
                        raise RedisConnectionError("Connection closed by Redis.")
                    reader.feed(data)
                elif isinstance(reply, RedisConnectionError):
                    raise reply
                elif isinstance(reply, PushNotification):
                    await parser.handle_push_response(reply)
                else:
                    replies.append(reply)
    except TimeoutError:
        raise RedisTimeoutError(f"Timeout reading from {connection._host_error()}") from None
    except OSError as exc:
        raise RedisConnectionError(f"Error while reading from {connection._host_error()}: {exc}") from exc
    return replies


class NotReplicated(StoreUnavailable):
    """Fewer Redis replicas than asked confirmed a batch of writes in time (``WAIT``): the
    writes may be on the primary only, which a failover would lose; not acked, tried again."""


class _Unit:
    """One call of a batch: the script's ``EVALSHA`` (``commands`` None; one reply), or a
    ``MULTI``/``EXEC`` block of ``commands`` (a reply to ``MULTI``, one per queued command, then
    the ``EXEC`` reply, which is the unit's)."""

    __slots__ = ("args", "commands", "future", "keys", "reloaded", "replies")

    def __init__(
        self,
        keys: Sequence[KeyT],
        args: Sequence[EncodableT],
        commands: Sequence[Sequence[EncodableT]] | None,
    ) -> None:
        self.keys = keys
        self.args = args
        self.commands = commands
        self.replies = 1 if commands is None else len(commands) + 2
        self.future: asyncio.Future[Any]
        self.reloaded = False  # sent again once its script was loaded (see wait_for_replicas)


class TurnBatchedScript:
    """A script whose calls made in one turn of the event loop go to a standalone Redis together:
    one pipeline (``EVALSHA`` each, no transaction), so one write and one read for all of them
    instead of one round trip each. Live audio calls the ingest script once per 100 ms frame per
    session, and frames of many sessions arrive in the same turn. Each call still gets its own
    reply or exception; a ``NOSCRIPT`` reply (a restarted Redis) is retried alone through the
    script, which loads it. On a cluster (no cross-node pipelines here) calls go one by one.

    :meth:`transaction` sends a ``MULTI`` … ``EXEC`` block in the same pipeline, for a caller
    that must pair the script's judgement with plain commands atomically (see
    ``SessionBuffer.append_audio_frames``); standalone only.

    One batch is in flight at a time, on a connection the script keeps for itself (taken from
    the pool once, given back to it when the client closes the pool): calls made while a batch
    is out go together as the next one as soon as it is answered, so a busy loop sends fewer,
    bigger batches. The pipeline is written by hand on that redis-py connection: hiredis packs
    the commands (in C) and the connection's own hiredis reader reads the replies
    (:func:`_hiredis_exchange`). redis-py's pipeline
    object cost ~265 Python calls per live frame (its Python command packer encoding each
    argument, the pool's checkout, the command stack, retry and observability wrappers): 41 % of
    the event loop's calls."""

    def __init__(self, redis: RedisClient, script: ScriptTextT) -> None:
        self._redis = redis
        self._script = redis.register_script(script)
        self._source = script
        self.batched = isinstance(redis, Redis)
        """Whether calls share pipelines (a standalone Redis): :meth:`transaction` needs it."""
        self.replicas = 0
        self._wait: list[bytes] | None = None
        self._pending: list[_Unit] = []
        self._in_flight: asyncio.Task[None] | None = None
        self._connection: AbstractConnection | None = None
        self._transactions: bool | None = None
        """Whether this Redis runs ``MULTI``/``EXEC`` (None: not known yet)."""
        self._asking = asyncio.Lock()
        """Held while one caller asks: the others wait for its answer rather than ask too."""
        self._asked = 0
        """How many times it was asked, counted once answered (or not): a caller that waited while
        it was asked takes that answer, even none."""

    def wait_for_replicas(self, replicas: int, timeout: float) -> None:
        """Answer each call only once ``replicas`` replicas confirmed its batch (``WAIT``, at the
        end of the batch, on its connection), else fail it with :class:`NotReplicated`; 0: no wait.
        Standalone only."""
        if replicas and not self.batched:
            raise RuntimeError("the wait for replicas is batched on a standalone Redis only")
        self.replicas = replicas
        # A write of its own first: the wait then covers every earlier write on the primary,
        # whoever made it (a batch of resent frames writes nothing itself, and the first try's
        # writes may have gone out on a connection since closed). Redis 6.2 and 7.0 already
        # count from any command of the connection, but document only its writes.
        wait = (b"INCR", REPLICAS_MARK), (b"WAIT", replicas, max(1, round(timeout * 1000)))
        self._wait = [buffer for command in wait for buffer in packed(command)] if replicas else None

    async def __call__(self, keys: Sequence[KeyT], args: Sequence[EncodableT]) -> Any:
        if not self.batched:
            return await self._script(keys=keys, args=args)
        return await self._submit(_Unit(keys, args, None))

    async def transaction(self, commands: Sequence[Sequence[EncodableT]]) -> list[Any] | None:
        """Run ``commands`` as one ``MULTI``/``EXEC`` block in the next batch: the ``EXEC`` reply,
        one item per command (a command that failed inside it gives its exception as its item),
        or None, nothing sent, where this Redis refuses ``MULTI`` or ``EXEC`` (an ACL, a proxy)
        or it could not be asked whether it does. Raises when the block did not run
        (``EXECABORT``: a command refused while queued, such as an ``OOM``) or the connection
        failed."""
        if not self.batched:
            raise RuntimeError("transactions are batched on a standalone Redis only")
        if self._transactions is None:
            asked = self._asked
            async with self._asking:
                if self._asked == asked:  # nobody asked while this caller waited
                    # Not answered (a proxy hanging up, a busy Redis refusing the connection's
                    # setup, a hung one): still unknown, a later caller asks again; the callers
                    # that waited meanwhile do not (a hung Redis would hold each for a timeout).
                    try:
                        with contextlib.suppress(RedisError, OSError):
                            self._transactions = await self._transactions_run()
                    finally:
                        self._asked += 1
        if not self._transactions:
            return None
        reply: list[Any] = await self._submit(_Unit((), (), commands))
        return reply

    async def _transactions_run(self) -> bool | None:
        """Whether an empty ``MULTI``/``EXEC`` runs, on a connection of its own (closed after an
        error: it may be left inside ``MULTI``): False when refused for good (``NOPERM``, an
        unknown command), None for another error (``BUSY``, ``LOADING``: ask again later). In a
        batch, a refused ``MULTI`` would let a block's commands run one by one, not atomically."""
        pool = self._redis.connection_pool  # type: ignore[union-attr]  # standalone only
        connection = await pool.get_connection()
        try:
            await connection.send_packed_command(_MULTI + _EXEC)
            errors: list[ResponseError] = []
            for _ in range(2):
                try:
                    await connection.read_response()
                except ResponseError as exc:
                    errors.append(exc)
            if not errors:
                return True
            await connection.disconnect()  # it may still be inside MULTI
            for error in errors:  # redis-py takes the code off: NOPERM is its class, or in EXECABORT's text
                text = str(error)
                if isinstance(error, NoPermissionError) or "NOPERM" in text or "unknown command" in text:
                    return False
            return None
        except BaseException:
            await connection.disconnect()
            raise
        finally:
            await pool.release(connection)

    async def _submit(self, unit: _Unit) -> Any:
        loop = asyncio.get_running_loop()
        unit.future = loop.create_future()
        self._pending.append(unit)
        if len(self._pending) == 1 and self._in_flight is None:
            loop.call_soon(self._flush)
        return await unit.future

    def _flush(self) -> None:
        if self._in_flight is not None or not self._pending:
            return
        batch, self._pending = self._pending, []
        self._in_flight = asyncio.ensure_future(self._send(batch))
        self._in_flight.add_done_callback(self._answered)

    def _answered(self, task: asyncio.Task[None]) -> None:
        self._in_flight = None
        if self._pending:  # what was called while the batch was out
            asyncio.get_running_loop().call_soon(self._flush)

    async def _send(self, batch: list[_Unit]) -> None:
        sha = self._script.sha
        wait = self._wait  # (read once: a change during the batch must not shift its replies)
        try:
            # One write of many buffers (uvloop's writev): a burst's audio (MBs a batch) is neither
            # packed (see packed()) nor joined on its way to the socket.
            buffers: list[bytes] = []
            for unit in batch:
                if unit.commands is None:
                    buffers += packed((b"EVALSHA", sha, len(unit.keys), *unit.keys, *unit.args))
                else:
                    buffers.append(_MULTI)
                    for command in unit.commands:
                        buffers += packed(command)
                    buffers.append(_EXEC)
            count = sum(unit.replies for unit in batch)
            if wait is not None:  # covers every write of the batch, and before it
                buffers += wait
                count += 2
            replies = await self._exchange(buffers, count)
        except Exception as exc:  # a bad argument, or the connection failed: every call fails with it
            for unit in batch:
                if not unit.future.done():
                    unit.future.set_exception(exc)
            return
        except BaseException:  # cancelled (shutdown): so are the calls
            for unit in batch:
                unit.future.cancel()
            raise
        if wait is not None:
            confirmed, mark = replies.pop(), replies.pop()
            if isinstance(mark, Exception):  # refused (OOM, NOREPLICAS): the wait covers too little
                confirmed = mark
            if not isinstance(confirmed, int) or confirmed < self.replicas:
                # stored on the primary, maybe: the caller tries again (a resend is judged a
                # duplicate by the script, and the next batch's wait covers the first write)
                shortfall = NotReplicated(
                    f"{confirmed} of {self.replicas} Redis replicas confirmed the write in time"
                    if isinstance(confirmed, int)
                    else f"the wait for Redis replicas failed: {confirmed}"
                )
                for unit in batch:
                    if not unit.future.done():
                        unit.future.set_exception(shortfall)
                return
        at = 0
        again: list[_Unit] = []
        for unit in batch:
            reply, at = replies[at + unit.replies - 1], at + unit.replies
            if unit.future.done():  # its caller was cancelled meanwhile
                continue
            if isinstance(reply, NoScriptError) and unit.commands is None:
                if wait is not None and not unit.reloaded:  # in the next batch, waited for
                    unit.reloaded = True
                    again.append(unit)
                    continue
                if wait is not None:  # loaded, and forgotten again: as redis-py's Script does
                    unit.future.set_exception(reply)
                    continue
                await self._settle(unit.future, self._script(keys=unit.keys, args=unit.args))
            elif isinstance(reply, Exception):  # the script's error, or EXECABORT
                unit.future.set_exception(reply)
            else:
                unit.future.set_result(reply)
        if again:  # (a new or restarted Redis): loaded, then sent again in the next batch
            try:
                await self._redis.script_load(self._source)
            except BaseException as exc:
                for unit in again:
                    if not unit.future.done():
                        if isinstance(exc, Exception):
                            unit.future.set_exception(exc)
                        else:
                            unit.future.cancel()
                if not isinstance(exc, Exception):
                    raise
                return
            self._pending[:0] = again

    async def _exchange(self, buffers: list[bytes], count: int) -> list[Any]:
        """Write ``count`` packed commands (in any number of buffers) at once and read their
        replies, an error reply as its exception. A connection that fails midway is closed (the
        next batch opens it again): its unread replies would answer the next batch's commands."""
        pool = self._redis.connection_pool  # type: ignore[union-attr]  # standalone only (see __call__)
        if self._connection is None:
            self._connection = await pool.get_connection()
        connection = self._connection
        try:
            # As the pool checks a connection it hands out: one a restarted Redis closed while it
            # was idle is opened again rather than failing this batch.
            await pool.ensure_connection(connection)
            if isinstance(connection._parser, _AsyncHiredisParser):
                return await _hiredis_exchange(connection, buffers, count)
            await connection.send_packed_command(buffers)
            replies: list[Any] = []
            for _ in range(count):
                try:
                    replies.append(await connection.read_response())
                except ResponseError as exc:
                    replies.append(exc)
            return replies
        except BaseException:
            # At once (nowait), as redis-py closes after a failed read or write: a plain close
            # waits for the unsent part of a burst to drain, into a Redis that is not reading.
            await connection.disconnect(nowait=True)
            raise

    @staticmethod
    async def _settle(future: asyncio.Future[Any], call: Awaitable[Any]) -> None:
        try:
            reply = await call
        except Exception as exc:
            if not future.done():
                future.set_exception(exc)
            return
        except BaseException:  # cancelled (shutdown): so is the call
            future.cancel()
            raise
        if not future.done():
            future.set_result(reply)
