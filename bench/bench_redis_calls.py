"""Benchmark: the client CPU of the live ingest's Redis calls, ours against redis-py's pipeline.

    .venv/bin/python bench/bench_redis_calls.py [--seconds 3] [--rounds 2]

Live audio makes one ``EVALSHA`` of the ingest script per 100 ms frame per session; the calls of
one event-loop turn go to Redis together (``server.redis_client.TurnBatchedScript``). This
measures what that costs the event loop, in CPU microseconds per call (this process's CPU time,
so other load on the machine hardly moves it), with 1, 3 and 10 calls made together, against
the baseline of the same calls through redis-py's own pipeline (``Redis.pipeline`` with one
``evalsha`` per call, which is what ``TurnBatchedScript`` did before it packed its commands
itself). Both run in the same process against one private Redis, alternated round by round.

The script is a stand-in with the ingest script's shape: 2 keys, 15 arguments of which one is
3,200 bytes of audio (100 ms of 16 kHz PCM16), an ``XADD`` of that audio and a 5-item reply.

Second table: an audio owner's look at a stream that holds nothing new, which each owner whose
recording paused makes every ``poll_interval`` (0.25 s) until it lets the session go (30 s), with
1 and 100 owners looking together: ``SessionBuffer.audio_look`` (the entries and the session's
status in one round trip) against the baseline of the two calls it replaced (``XRANGE``, then
``SessionBuffer.audio_state``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT  # noqa: F401  (puts the project on sys.path)

from server.buffer import SessionBuffer
from server.keys import SessionKeys
from server.redis_client import TurnBatchedScript, make_redis
from server.redis_server import EmbeddedRedis
from server.settings import Settings

SCRIPT = """
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', 1000, '*', 'f', ARGV[3], 'd', ARGV[4])
return {'frames', '0-0', 'ok', id, 0}
"""
AUDIO = os.urandom(3200)
GROUPS = (1, 3, 10)
OWNERS = (1, 100)

Call = Callable[[Sequence[Any], Sequence[Any]], Awaitable[Any]]


class RedisPyPipeline:
    """The baseline: each turn's calls as one redis-py pipeline (a lone call as ``evalsha``)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._sha = ""
        self._pending: list[tuple[Sequence[Any], Sequence[Any], asyncio.Future[Any]]] = []

    async def load(self) -> None:
        self._sha = await self._client.script_load(SCRIPT)

    async def __call__(self, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((keys, args, future))
        if len(self._pending) == 1:
            loop.call_soon(lambda: asyncio.ensure_future(self._send()))
        return await future

    async def _send(self) -> None:
        batch, self._pending = self._pending, []
        if len(batch) == 1:
            keys, args, future = batch[0]
            future.set_result(await self._client.evalsha(self._sha, len(keys), *keys, *args))
            return
        async with self._client.pipeline(transaction=False) as pipe:
            for keys, args, _ in batch:
                pipe.evalsha(self._sha, len(keys), *keys, *args)
            replies = await pipe.execute(raise_on_error=False)
        for (_, _, future), reply in zip(batch, replies, strict=True):
            future.set_result(reply)


async def cpu_per_call(call: Call, group: int, seconds: float) -> float:
    """CPU microseconds per call while ``group`` calls are made together, again and again."""
    args = ["producer", 1, "pcm16", AUDIO, "", "3200", 12000, "a", "b", "c", "d", "e", "f", "g", "h"]
    keys = ["{bench}:meta", "{bench}:audio"]
    calls = 0
    start, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        await asyncio.gather(*(call(keys, args) for _ in range(group)))
        calls += group
    return (time.process_time() - cpu) / calls * 1e6


async def cpu_per_look(look: Callable[[str], Awaitable[Any]], owners: int, seconds: float) -> float:
    """CPU microseconds per look while ``owners`` owners look at their streams together."""
    sessions = [f"bench{i}" for i in range(owners)]
    looks = 0
    start, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        await asyncio.gather(*(look(sid) for sid in sessions))
        looks += owners
    return (time.process_time() - cpu) / looks * 1e6


async def looks(client: Any, seconds: float, rounds: int) -> dict[tuple[str, int], list[float]]:
    """Each way of looking, alternated round by round, at streams whose last entry was read."""
    buffer = SessionBuffer(client)
    cursors = {}
    for i in range(max(OWNERS)):
        k = SessionKeys(f"bench{i}")
        await client.hset(k.meta, mapping={"status": "OPEN"})
        cursors[f"bench{i}"] = (await client.xadd(k.audio, {"f": "pcm16", "d": AUDIO})).decode()

    async def two_calls(sid: str) -> Any:
        k = SessionKeys(sid)
        entries = await client.xrange(k.audio, min=f"({cursors[sid]}", max="+", count=8)
        assert not entries
        return await buffer.audio_state(sid)

    async def one_look(sid: str) -> Any:
        entries, status = await buffer.audio_look(sid, cursors[sid], 8)
        assert not entries and status == "OPEN"
        return status

    results: dict[tuple[str, int], list[float]] = {}
    for _ in range(rounds):
        for name, look in (("XRANGE, then HMGET", two_calls), ("audio_look", one_look)):
            for owners in OWNERS:
                results.setdefault((name, owners), []).append(await cpu_per_look(look, owners, seconds))
    return results


async def main(seconds: float, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="astra-bench-redis-") as tmp:
        redis = EmbeddedRedis(Path(tmp))
        redis.start()
        try:
            client = make_redis(Settings(redis_url=redis.url))
            ours = TurnBatchedScript(client, SCRIPT)
            baseline = RedisPyPipeline(client)
            await baseline.load()
            await ours(["{bench}:meta", "{bench}:audio"], ["w", 1, "pcm16", AUDIO])  # connect, load
            results: dict[tuple[str, int], list[float]] = {}
            for _ in range(rounds):
                for name, call in (("redis-py pipeline", baseline), ("TurnBatchedScript", ours)):
                    for group in GROUPS:
                        results.setdefault((name, group), []).append(await cpu_per_call(call, group, seconds))
            look_results = await looks(client, seconds, rounds)
            await client.aclose()
        finally:
            redis.stop()
    print(f"\nClient CPU per ingest-script call, µs (best of {rounds} rounds of {seconds:g} s)\n")
    print("| calls together | redis-py pipeline (baseline) | TurnBatchedScript | ratio |")
    print("|---:|---:|---:|---:|")
    for group in GROUPS:
        base, ours_us = min(results[("redis-py pipeline", group)]), min(results[("TurnBatchedScript", group)])
        print(f"| {group} | {base:.0f} | {ours_us:.0f} | {ours_us / base:.2f} |")
    print(f"\nClient CPU per look of an owner at a stream with nothing new, µs (best of {rounds} rounds)\n")
    print("| owners looking together | XRANGE, then HMGET (baseline) | audio_look | ratio |")
    print("|---:|---:|---:|---:|")
    for owners in OWNERS:
        base = min(look_results[("XRANGE, then HMGET", owners)])
        ours_us = min(look_results[("audio_look", owners)])
        print(f"| {owners} | {base:.0f} | {ours_us:.0f} | {ours_us / base:.2f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()
    asyncio.run(main(options.seconds, options.rounds))
