"""Benchmark: the client CPU of a CORE call, the server's HTTP client against httpx's own pool.

    .venv/bin/python bench/bench_http_client.py [--seconds 3] [--rounds 2]

Every utterance of a live session is a CORE call made on the server's event loop (every text
frame too), so what the HTTP client costs per call comes out of the loop's budget. This measures
it in CPU microseconds per call (this process's CPU time: the fake CORE runs in a process of its
own, so neither its work nor other load on the machine counts), with 1 and 8 calls in flight,
for the server's client (``server.services.http_client.collaborators_client``: httpx over
aiohttp) against the baseline of ``httpx.AsyncClient`` with its default transport (httpcore),
which the server used before. Both send the same requests through the same ``HttpCore`` to the
benchmark's fake CORE (``tools/fake_core.py``), alternated round by round.

Each call is an utterance of 2 s (64,000 bytes of PCM16), as the live benchmark's speech gives.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import TENANT
from stack import Stack

from server.services.core import AudioRequest, HttpCore
from server.services.http_client import collaborators_client

IN_FLIGHT = (1, 8)
REQUEST = AudioRequest(TENANT, "adapter_cali_v2", os.urandom(64_000), {})
CLIENTS: dict[str, Callable[[], httpx.AsyncClient]] = {
    "httpx with httpcore (baseline)": lambda: httpx.AsyncClient(timeout=30),
    "collaborators_client": lambda: collaborators_client(30),
}


async def cpu_per_call(call: Callable[[], Awaitable[object]], in_flight: int, seconds: float) -> float:
    """CPU microseconds per call while ``in_flight`` calls are made together, again and again."""
    calls = 0
    start, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        await asyncio.gather(*(call() for _ in range(in_flight)))
        calls += in_flight
    return (time.process_time() - cpu) / calls * 1e6


async def measure(url: str, seconds: float, rounds: int) -> dict[tuple[str, int], list[float]]:
    results: dict[tuple[str, int], list[float]] = {}
    for _ in range(rounds):
        for name, make in CLIENTS.items():
            async with make() as http:
                core = HttpCore(http, url)
                await asyncio.gather(*(core.process_audio(REQUEST) for _ in range(max(IN_FLIGHT))))  # connect
                call = functools.partial(core.process_audio, REQUEST)
                for in_flight in IN_FLIGHT:
                    cost = await cpu_per_call(call, in_flight, seconds)
                    results.setdefault((name, in_flight), []).append(cost)
    return results


def main(seconds: float, rounds: int) -> None:
    stack = Stack()
    try:
        core = stack.start_fake_core()
        results = uvloop.run(measure(f"http://127.0.0.1:{core.port}", seconds, rounds))
    finally:
        stack.close()
    baseline, ours = CLIENTS
    print(f"\nClient CPU per CORE audio call (2 s of PCM16), µs (best of {rounds} rounds of {seconds:g} s)\n")
    print(f"| calls in flight | {baseline} | {ours} (httpx over aiohttp) | ratio |")
    print("|---:|---:|---:|---:|")
    for in_flight in IN_FLIGHT:
        base, ours_us = min(results[(baseline, in_flight)]), min(results[(ours, in_flight)])
        print(f"| {in_flight} | {base:.0f} | {ours_us:.0f} | {ours_us / base:.2f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()
    main(options.seconds, options.rounds)
