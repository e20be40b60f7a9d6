"""Benchmark: ingest throughput versus a bare echo server, live sessions, and scaling across processes.

    make bench-load                 (or: .venv/bin/python bench/bench_load.py all)
    .venv/bin/python bench/bench_load.py live --sessions 300
    .venv/bin/python bench/bench_load.py search
    .venv/bin/python bench/bench_load.py ingest
    .venv/bin/python bench/bench_load.py scale --sessions 300
    .venv/bin/python bench/bench_load.py generator

Everything runs on this machine, each part in its own process: one Redis (AOF, ``everysec``,
as ``astra serve`` runs its own), the fake CORE (``tools/fake_core.py``), one or more
``astra serve`` processes pointed at both, and the load generator as ``--workers`` processes of
``bench/loadgen.py`` whose results are merged. Every step starts fresh processes, so one step's
backlog cannot slow the next.

* ``ingest``: durable-ack throughput. Clients (``--clients``, one session each) send 100 ms
  PCM16 ``audio`` frames as fast as the protocol allows (64 in flight each) for
  ``--ingest-seconds``: first against the bare Starlette/uvicorn msgpack echo server
  (``bench/echo_server.py``, same uvicorn options), then against ``astra serve``. Frames acked
  per second and their ratio to the echo (target ≥ 0.5). This machine's throughput drifts by
  tens of percent from one minute to the next, so the pair runs ``--ingest-rounds`` times, each
  round's ratio against its own echo, and the median ratio is the figure.
* ``live``: N sessions, each a recorder sending real speech (``tests/fixtures/audio/sesion.wav``
  from a random offset, looped) at real-time pace and a ``text`` frame every ``--text-every``
  seconds or so; 2 stenographers per 10 sessions, receiving everything and editing a block every
  ``--edit-every`` seconds or so; CORE answered by the fake. After all clients connected and
  ``--settle`` seconds, a ``--seconds`` window is measured.
* ``search``: the largest N whose live run keeps ack p99 under ``--target-ms`` (and no errors,
  nothing unanswered, segmentation never more than ``--max-audio-lag`` seconds behind the acked
  audio, sampled from ``astra_audio_lag_seconds``): doubling from ``--start`` until a step
  fails, then bisection; then the largest N that passed is run again (``--confirm`` runs in
  all), and if it fails there, the next smaller one: N passed every one of its runs.
* ``generator``: the ``live`` clients of ``--generator-sessions`` (1,000) sessions against the
  echo server: the generator's own CPU and punctuality (is the generator the bottleneck?).
* ``scale``: ``live`` at ``--sessions`` (in ``all``: twice the search's result, to see whether
  more processes move the limit) and ``ingest`` with 1, 2 and 4 ``astra serve`` processes
  sharing one Redis, the load split evenly; CPU of each process, of Redis and of the generator.

Prints Markdown tables and writes everything (settings, machine, raw percentiles) to ``--json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import select
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import callcount
from common import ROOT, TENANT, percentile
from stack import Stack, Usage, machine

WINDOW = 64
"""The server's ingest window (protocol.md): frames a client may have unanswered."""
AUDIO = ROOT / "tests" / "fixtures" / "audio" / "sesion.wav"


def pct(values: list[float], q: float) -> float | None:
    return round(percentile(values, q), 2) if values else None


# -- sessions and workers ------------------------------------------------------------------------


async def _create_sessions(bases: list[str], token: str, n: int) -> list[tuple[str, str]]:
    """n sessions, started round-robin on the servers; (server base URL, session id)."""
    limit = asyncio.Semaphore(16)

    async def one(client: httpx.AsyncClient, base: str) -> tuple[str, str]:
        async with limit:
            response = await client.post(
                f"{base}/v1/orchestrator/session/start",
                json={"tenant_id": TENANT, "metadata": {"bench": "load"}},
                headers={"authorization": f"Bearer {token}"},
            )
            response.raise_for_status()
            return base, response.json()["session_id"]

    async with httpx.AsyncClient(timeout=120) as client:
        return await asyncio.gather(*(one(client, bases[i % len(bases)]) for i in range(n)))


def create_sessions(bases: list[str], token: str, n: int) -> list[tuple[str, str]]:
    return asyncio.run(_create_sessions(bases, token, n))


class Workers:
    """``count`` load generator processes sharing the sessions; their results merged."""

    def __init__(self, job: dict[str, Any], sessions: list[dict[str, Any]], count: int) -> None:
        count = max(1, min(count, len(sessions)))
        self.procs: list[subprocess.Popen[str]] = []
        for i in range(count):
            proc = subprocess.Popen(
                [sys.executable, str(ROOT / "bench" / "loadgen.py")],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(job | {"sessions": sessions[i::count], "seed": i}) + "\n")
            proc.stdin.flush()
            self.procs.append(proc)

    @property
    def pids(self) -> dict[str, int]:
        return {f"generator-{i}": p.pid for i, p in enumerate(self.procs)}

    def _line(self, proc: subprocess.Popen[str], deadline: float) -> str:
        assert proc.stdout is not None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(f"load generator {proc.pid} gave no answer in time")
            readable, _, _ = select.select([proc.stdout], [], [], min(remaining, 1.0))
            if readable:
                line = proc.stdout.readline()
                if not line:
                    raise RuntimeError(f"load generator {proc.pid} exited ({proc.wait(10)})")
                return line

    def ready(self, timeout: float) -> tuple[int, int]:
        deadline = time.monotonic() + timeout
        ok = failed = 0
        for proc in self.procs:
            _, a, b = self._line(proc, deadline).split()
            ok, failed = ok + int(a), failed + int(b)
        return ok, failed

    def go(self, start: float, end: float) -> None:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write(f"go {start} {end}\n")
            proc.stdin.flush()

    def results(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        merged: dict[str, Any] = {}
        for proc in self.procs:
            part = json.loads(self._line(proc, deadline))
            for key, value in part.items():
                if isinstance(value, list):
                    merged.setdefault(key, []).extend(value)
                elif isinstance(value, dict):
                    bucket = merged.setdefault(key, {})
                    for k, v in value.items():
                        bucket[k] = bucket.get(k, 0) + v
                else:
                    merged[key] = merged.get(key, 0) + value
            proc.wait(10)
        return merged

    def kill(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


def spy(pid: int, stem: Path, seconds: float) -> subprocess.Popen[bytes]:
    """py-spy on a server for the measurement window: collapsed stacks (``.txt``, summarized by
    ``bench/profile_top.py``); ``--flamegraph`` for an SVG instead."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "200",
            "--nonblocking",
            "--format",
            "raw",
            "--output",
            str(stem.with_suffix(".txt")),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


LAG_BUCKET = "astra_event_loop_lag_seconds_bucket"


def metrics_text(port: int, timeout: float = 10) -> str:
    """A server's /metrics page ('' when it has none, like the echo server, or does not answer)."""
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=timeout).text
    except httpx.HTTPError:
        return ""


def lag_buckets(stack: Stack) -> list[dict[float, float]]:
    """Each astra server's cumulative event-loop lag histogram (upper bound s -> count), from
    /metrics (an empty dict for a server that does not have one, like the echo server)."""
    out = []
    for server in stack.servers:
        buckets: dict[float, float] = {}
        for line in metrics_text(server.port).splitlines():
            if line.startswith(LAG_BUCKET):
                bound = line.split('le="', 1)[1].split('"', 1)[0]
                buckets[float(bound)] = float(line.rsplit(" ", 1)[1])
        out.append(buckets)
    return out


AUDIO_LAG = "astra_audio_lag_seconds"


class AudioLagProbe(threading.Thread):
    """Samples every astra server's ``astra_audio_lag_seconds`` twice a second over the window:
    how far segmentation (the VAD) runs behind the audio it acks. Acks can look fine while it
    falls further behind each second, so a live step passes only if this stays small."""

    def __init__(self, stack: Stack, end: float) -> None:
        super().__init__(daemon=True)
        self.ports = [s.port for s in stack.servers]
        self.end = end
        self.samples: list[float] = []

    def run(self) -> None:
        while time.time() < self.end:
            worst = None
            for port in self.ports:
                for line in metrics_text(port, timeout=5).splitlines():
                    if line.startswith(AUDIO_LAG + " "):
                        value = float(line.rsplit(" ", 1)[1])
                        worst = value if worst is None else max(worst, value)
            if worst is not None:
                self.samples.append(worst)
            time.sleep(min(0.5, max(0.0, self.end - time.time())))

    def result(self) -> dict[str, float | None]:
        """The worst sample and the last one (seconds); None without samples (the echo server)."""
        if not self.samples:
            return {"max": None, "last": None}
        return {"max": round(max(self.samples), 3), "last": round(self.samples[-1], 3)}


def lag_p99_ms(before: list[dict[float, float]], after: list[dict[float, float]]) -> float | None:
    """The worst server's p99 event-loop lag over the window, as the upper bound of its bucket."""
    worst = None
    for b, a in zip(before, after, strict=True):
        counts = {bound: a[bound] - b.get(bound, 0.0) for bound in sorted(a)}
        total = counts.get(float("inf"), 0.0)
        if not total:
            continue
        p99 = next(bound for bound, n in counts.items() if n >= 0.99 * total)
        worst = p99 if worst is None else max(worst, p99)
    return None if worst is None else worst * 1000


def drive(
    stack: Stack,
    sessions: list[dict[str, Any]],
    job: dict[str, Any],
    *,
    workers: int,
    settle: float,
    seconds: float,
    profile: Path | None = None,
) -> dict[str, Any]:
    """Connect every client, wait ``settle`` s, measure ``seconds`` s; merged results + usage."""
    gen = Workers(job, sessions, workers)
    began = time.monotonic()
    try:
        connected, failed = gen.ready(timeout=job["ramp"] + 60)  # a client gives up after 30 s
        print(
            f"  {connected} clients connected ({failed} failed) in {time.monotonic() - began:.1f} s",
            file=sys.stderr,
            flush=True,
        )
        start = time.time() + settle
        end = start + seconds
        gen.go(start, end)
        pids = {s.name: s.pid for s in stack.servers} | gen.pids
        if stack.redis_pid:
            pids["redis"] = stack.redis_pid
        if stack.core:
            pids["fake-core"] = stack.core.pid
        usage = Usage(pids)
        time.sleep(max(0.0, start - time.time()))
        usage.start()
        lag_before = lag_buckets(stack)
        audio_lag = AudioLagProbe(stack, end)
        audio_lag.start()
        counts = stack.redis_counts()
        spies = (
            [spy(s.pid, profile / f"{s.name}-{job['mode']}", seconds) for s in stack.servers]
            if profile
            else []
        )
        stack.count_calls(True)
        time.sleep(max(0.0, end - time.time()))
        stack.count_calls(False)
        used = usage.stop()
        lag = lag_p99_ms(lag_before, lag_buckets(stack))
        audio_lag.join(10)
        if counts is not None and (after := stack.redis_counts()) is not None:
            redis_used = used.setdefault("redis", {})
            redis_used["commands"], redis_used["reads"] = after[0] - counts[0], after[1] - counts[1]
        for proc in spies:
            proc.wait(60)
        raw = gen.results(timeout=60)
    finally:
        gen.kill()
    raw["connected"], raw["failed_to_connect"] = connected, failed
    result = summarize(raw, used, seconds) | {"loop_lag_p99_ms": lag, "audio_lag_s": audio_lag.result()}
    if stack.call_stats and result["acked"]:
        result["calls_per_frame"] = calls_per_frame(stack.call_stats, result["acked"])
    return result


def calls_per_frame(stats: list[Path], acked: int) -> dict[str, Any]:
    """The servers' event loops' Python function calls over the window per acked frame, in all
    and by package (``bench/callcount.py``)."""
    total = 0
    packages: Counter[str] = Counter()
    for path in stats:
        calls, by_package, _ = callcount.by_package(path)
        total += calls
        packages += by_package
    return {
        "all": round(total / acked, 1),
        "packages": {name: round(n / acked, 1) for name, n in packages.most_common()},
        "stats": [str(path) for path in stats],
    }


def summarize(raw: dict[str, Any], usage: dict[str, dict[str, float]], seconds: float) -> dict[str, Any]:
    def dist(name: str) -> dict[str, Any]:
        values = raw.get(name, [])
        return {"n": len(values), "p50": pct(values, 0.5), "p99": pct(values, 0.99), "max": pct(values, 1.0)}

    servers = [v for k, v in usage.items() if k.startswith(("astra", "echo"))]
    ours = sum(v["cpu_percent"] for k, v in usage.items() if k != "machine")
    generators = [v for k, v in usage.items() if k.startswith("generator")]
    server_cpu = sum(s["cpu_percent"] for s in servers)
    loops = sum(s["main_thread_cpu_percent"] for s in servers)
    busiest = max(servers, key=lambda s: s["main_thread_cpu_percent"], default={})
    acked = raw.get("acked", 0)
    return {
        "frames_per_s": round(raw.get("acked", 0) / seconds, 1),
        "sent": raw.get("sent", 0),
        "acked": raw.get("acked", 0),
        "unanswered": raw.get("unanswered", 0),
        "stalled": raw.get("stalled", 0),
        "ack_audio_ms": dist("ack_audio"),
        "ack_text_ms": dist("ack_text"),
        "ack_edit_ms": dist("ack_edit"),
        "send_late_ms": dist("late"),
        "fanout_recorder_ms": dist("fanout_recorder"),
        "fanout_stenographer_ms": dist("fanout_stenographer"),
        "stale_edits": raw.get("stale_edits", 0),
        "events_received": raw.get("events", 0),
        "errors": raw.get("errors", {}),
        "connected": raw.get("connected", 0),
        "failed_to_connect": raw.get("failed_to_connect", 0),
        "dropped": raw.get("dropped", 0),
        "server_cpu_percent": round(server_cpu, 1),
        "busiest_loop_cpu_percent": busiest.get("main_thread_cpu_percent", 0.0),
        # The same loop's time runnable and not running: at "77 %" of CPU it can be busy 95 %.
        "busiest_loop_wait_percent": busiest.get("main_thread_wait_percent", 0.0),
        "machine_cpu_percent": usage.get("machine", {}).get("cpu_percent"),
        "others_cpu_percent": round(usage["machine"]["cpu_percent"] - ours, 1)
        if "machine" in usage
        else None,
        "server_cpu_ms_per_frame": round(10 * server_cpu * seconds / acked, 3) if acked else None,
        # The servers' event loops alone (main threads): the ingest path's own cost per frame,
        # without the segmenter's threads, whose share depends on how much backlog they cleared.
        "loop_cpu_ms_per_frame": round(10 * loops * seconds / acked, 4) if acked else None,
        "redis_commands_per_frame": round(usage.get("redis", {}).get("commands", 0) / acked, 2)
        if acked
        else None,
        # Socket reads Redis made per acked frame: the round trips of every client (the servers'
        # batches, the readers' calls), whatever each carried.
        "redis_reads_per_frame": round(usage.get("redis", {}).get("reads", 0) / acked, 2) if acked else None,
        "server_rss_mb_max": round(sum(s["rss_mb_max"] for s in servers), 1),
        "generator_cpu_percent": round(sum(g["cpu_percent"] for g in generators), 1),
        "usage": usage,
    }


def _job(args: argparse.Namespace, mode: str, recorder: str, stenographer: str) -> dict[str, Any]:
    return {
        "mode": mode,
        "recorder_token": recorder,
        "stenographer_token": stenographer,
        "window": WINDOW,
        "frame_interval": 0.1,
        "text_every": args.text_every,
        "edit_every": args.edit_every,
        "ramp": args.ramp or 5.0,
        "audio": args.audio,
        "audio_path": str(AUDIO),
    }


# -- the parts -----------------------------------------------------------------------------------


def failed_step(reason: str) -> dict[str, Any]:
    """A step that could not be measured (e.g. the clients could not all connect in time)."""
    empty = {"n": 0, "p50": None, "p99": None, "max": None}
    row: dict[str, Any] = {
        key: empty
        for key in (
            "ack_audio_ms",
            "ack_text_ms",
            "ack_edit_ms",
            "send_late_ms",
            "fanout_recorder_ms",
            "fanout_stenographer_ms",
        )
    }
    return row | {
        "frames_per_s": 0.0,
        "sent": 0,
        "acked": 0,
        "unanswered": 0,
        "stalled": 0,
        "stale_edits": 0,
        "events_received": 0,
        "errors": {"not measured": 1},
        "failure": reason,
        "connected": 0,
        "failed_to_connect": 0,
        "dropped": 0,
        "server_cpu_percent": 0.0,
        "busiest_loop_cpu_percent": 0.0,
        "busiest_loop_wait_percent": 0.0,
        "machine_cpu_percent": None,
        "others_cpu_percent": None,
        "server_cpu_ms_per_frame": None,
        "loop_cpu_ms_per_frame": None,
        "redis_commands_per_frame": None,
        "redis_reads_per_frame": None,
        "server_rss_mb_max": 0.0,
        "generator_cpu_percent": 0.0,
        "usage": {},
        "loop_lag_p99_ms": None,
        "audio_lag_s": {"max": None, "last": None},
    }


def live(args: argparse.Namespace, n: int, processes: int = 1, target: str = "astra") -> dict[str, Any]:
    """One live step: fresh processes, n sessions split over ``processes`` servers. With
    ``target="echo"`` the same clients talk to the bare echo server: what the generator itself
    costs and how punctual it stays at n sessions on this machine."""
    stack = Stack()
    try:
        if target == "echo":
            stack.start_echo()
            base = f"http://127.0.0.1:{stack.servers[0].port}"
            pairs = [(base, f"ses_echo{i}") for i in range(n)]
            recorder = stenographer = "none"
        else:
            stack.start_astra(processes, calls=args.calls)
            bases = [f"http://127.0.0.1:{s.port}" for s in stack.servers]
            recorder = stack.token("recorder", "load-recorder")
            stenographer = stack.token("stenographer", "load-stenographer")
            began = time.monotonic()
            pairs = create_sessions(bases, recorder, n)
            print(f"  {n} sessions started in {time.monotonic() - began:.1f} s", file=sys.stderr, flush=True)
        sessions = [
            {
                "url": base.replace("http://", "ws://") + f"/v1/orchestrator/session/{sid}/stream",
                "session_id": sid,
                # 2 stenographers per 10 sessions: both on the first session of each ten.
                "stenographers": 2 if i % 10 == 0 else 0,
            }
            for i, (base, sid) in enumerate(pairs)
        ]
        # Connections are spread over --ramp seconds, by default 1 s per 100 sessions (at least 5).
        job = _job(args, "live", recorder, stenographer) | {"ramp": args.ramp or max(5.0, n / 100)}
        try:
            result = drive(
                stack,
                sessions,
                job,
                workers=args.workers,
                settle=args.settle,
                seconds=args.seconds,
                profile=args.profile if target == "astra" else None,
            )
        except RuntimeError as exc:  # overloaded beyond measuring: a failed step, not a failed run
            result = failed_step(str(exc))
    finally:
        stack.close(keep=args.keep)
    result |= {"sessions": n, "processes": processes, "expected_frames_per_s": n * 10, "target": target}
    result["ok"] = passes(args, result)
    return result


def passes(args: argparse.Namespace, r: dict[str, Any]) -> bool:
    p99 = r["ack_audio_ms"]["p99"]
    return (
        p99 is not None
        and p99 < args.target_ms
        and (r["audio_lag_s"]["max"] or 0.0) < args.max_audio_lag
        and not r["errors"]
        and r["unanswered"] == 0
        and r["failed_to_connect"] == 0
        and r["dropped"] == 0
    )


UNTHROTTLED = {
    "ASTRA_FRAME_RATE": "1000000",
    "ASTRA_FRAME_BURST": "1000000",
    "ASTRA_MAX_AUDIO_BACKLOG": "86400",
}
"""Server settings for the ingest part: no per-connection frame-rate limit, and no bound on a
session's unread audio, which a client sending 150 times faster than real time for the part's
seconds (about 20 minutes of audio per session) could reach on a faster machine: the part
measures how fast frames are made durable, not how fast they are cut."""


def ingest(args: argparse.Namespace, target: str, processes: int = 1) -> dict[str, Any]:
    """As-fast-as-allowed audio frames against the echo server or ``astra serve``."""
    stack = Stack()
    try:
        if target == "echo":
            stack.start_echo()
            pairs = [
                (f"http://127.0.0.1:{stack.servers[0].port}", f"ses_echo{i}") for i in range(args.clients)
            ]
            recorder = "none"
        else:
            # Throughput is the point here: lift the per-connection frame rate (100/s by default,
            # which would cap 16 clients at 1,600 frames/s; live sessions send 10/s).
            stack.start_astra(processes, UNTHROTTLED)
            bases = [f"http://127.0.0.1:{s.port}" for s in stack.servers]
            recorder = stack.token("recorder", "load-ingest")
            pairs = create_sessions(bases, recorder, args.clients)
        sessions = [
            {
                "url": base.replace("http://", "ws://") + f"/v1/orchestrator/session/{sid}/stream",
                "session_id": sid,
            }
            for base, sid in pairs
        ]
        job = _job(args, "blast", recorder, "none") | {"ramp": 0.5}
        result = drive(
            stack,
            sessions,
            job,
            workers=args.workers,
            settle=args.settle,
            seconds=args.ingest_seconds,
            profile=args.profile if target != "echo" else None,
        )
    finally:
        stack.close(keep=args.keep)
    return result | {"target": target, "processes": processes, "clients": args.clients}


def search(args: argparse.Namespace, processes: int = 1) -> dict[str, Any]:
    """Largest N (within ``--max``) whose live step passes in each of ``--confirm`` runs; every
    run is kept."""
    steps: list[dict[str, Any]] = []

    def step(n: int) -> bool:
        result = live(args, n, processes)
        steps.append(result)
        print(f"  search: {_live_line(result)}", file=sys.stderr, flush=True)
        return bool(result["ok"])

    good, bad = 0, None
    n = args.start
    while n <= args.max:
        if not step(n):
            bad = n
            break
        good = n
        n *= 2
    if bad is None and good < args.max:
        if step(args.max):
            good = args.max
        else:
            bad = args.max
    while bad is not None and bad - good > max(args.resolution, good // 10) and len(steps) < args.max_steps:
        middle = (good + bad) // 2
        if step(middle):
            good = middle
        else:
            bad = middle
    return {
        "max_sessions": confirm(steps, step, args.confirm),
        "passed_once": good,
        "first_failing": bad,
        "steps": steps,
    }


def confirm(steps: list[dict[str, Any]], step: Callable[[int], bool], runs: int) -> int:
    """The largest N whose step passed ``runs`` times and never failed, running passed steps again
    from the largest down (at most ``2 * runs`` runs more): near the limit a run passes or fails
    by the machine's run-to-run spread (ack p99 55 to 119 ms in three runs of 300 sessions on
    one morning), so a single pass overstates what an operator can count on. 0 when none is
    confirmed."""
    budget = 2 * runs
    for n in sorted({r["sessions"] for r in steps if r["ok"]}, reverse=True):
        if any(r["sessions"] == n and not r["ok"] for r in steps):
            continue
        passes = sum(1 for r in steps if r["sessions"] == n and r["ok"])
        while passes < runs and budget > 0:
            budget -= 1
            if not step(n):
                break
            passes += 1
        if passes >= runs:
            return n
        if budget == 0:
            break
    return 0


# -- output --------------------------------------------------------------------------------------


def _live_line(r: dict[str, Any]) -> str:
    return (
        f"N={r['sessions']} x{r['processes']}: "
        f"{r['frames_per_s']:.0f}/{r['expected_frames_per_s']} frames/s, "
        f"ack p50/p99 {r['ack_audio_ms']['p50']}/{r['ack_audio_ms']['p99']} ms, "
        f"audio lag max {r['audio_lag_s']['max']} s, "
        f"server CPU {r['server_cpu_percent']}%, generator CPU {r['generator_cpu_percent']}%, "
        f"errors {r['errors'] or 0}, {'ok' if r['ok'] else 'FAIL'}"
        + (f", calls/frame {r['calls_per_frame']['all']}" if "calls_per_frame" in r else "")
    )


def _cpu(r: dict[str, Any], name: str) -> str:
    value = r["usage"].get(name, {}).get("cpu_percent")
    return "—" if value is None else f"{value:.0f}"


def _machine(r: dict[str, Any]) -> str:
    """Busy CPU of the whole machine (100 % per core) and how much of it was not ours."""
    if r.get("machine_cpu_percent") is None:
        return "—"
    return f"{r['machine_cpu_percent']:.0f} ({r['others_cpu_percent']:.0f})"


def _lag(r: dict[str, Any]) -> str:
    """The worst server's event-loop lag p99: ``≤ bucket bound`` (the histogram's resolution)."""
    lag = r.get("loop_lag_p99_ms")
    return "—" if lag is None else f"≤ {lag:g}"


def _audio_lag(r: dict[str, Any]) -> str:
    """Segmentation behind the acked audio: the worst sample of the window and the last one (s)."""
    lag = r.get("audio_lag_s") or {}
    return "—" if lag.get("max") is None else f"{lag['max']:.2f} / {lag['last']:.2f}"


def _ms(d: dict[str, Any]) -> str:
    return "—" if d["p50"] is None else f"{d['p50']:.1f} / {d['p99']:.1f}"


def live_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| sessions | processes | frames/s acked (expected) | ack p50 / p99 (ms) | text ack p50 / p99 (ms) "
        "| fan-out p50 / p99 (ms) | edit ack p50 / p99 (ms) | server CPU % (ms/frame) "
        "| busiest event loop CPU % + waiting to run % (lag p99 ms) | audio lag max / last (s) "
        "| server RSS (MB) "
        "| Redis CPU % (commands, reads per frame) "
        "| generator CPU % (late p99 ms) | machine CPU % (others) | errors | ok |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        errors = ", ".join(f"{k} {v}" for k, v in r["errors"].items()) or "0"
        if r["unanswered"]:
            errors += f"; {r['unanswered']} unanswered"
        lines.append(
            f"| {r['sessions']} | {r['processes']} | {r['frames_per_s']:.0f} ({r['expected_frames_per_s']}) "
            f"| {_ms(r['ack_audio_ms'])} | {_ms(r['ack_text_ms'])} | {_ms(r['fanout_stenographer_ms'])} "
            f"| {_ms(r['ack_edit_ms'])} | {r['server_cpu_percent']:.0f} ({r['server_cpu_ms_per_frame']}) "
            f"| {r['busiest_loop_cpu_percent']:.0f} + {r['busiest_loop_wait_percent']:.0f} ({_lag(r)}) "
            f"| {_audio_lag(r)} "
            f"| {r['server_rss_mb_max']:.0f} "
            f"| {_cpu(r, 'redis')} ({r['redis_commands_per_frame']}, {r.get('redis_reads_per_frame')}) "
            f"| {r['generator_cpu_percent']:.0f} ({r['send_late_ms']['p99']}) | {_machine(r)} "
            f"| {errors} | {'yes' if r['ok'] else 'no'} |"
        )
    return "\n".join(lines)


def ingest_rounds(args: argparse.Namespace, counts: list[int]) -> list[dict[str, Any]]:
    """``args.ingest_rounds`` rounds of the echo, then ``astra serve`` on each process count:
    every row carries its round and its ratios to that round's echo, run minutes apart at most."""
    rows: list[dict[str, Any]] = []
    for round_ in range(1, args.ingest_rounds + 1):
        echo = ingest(args, "echo") | {"round": round_}
        rows.append(echo | {"ratio": 1.0, "loop_ratio": 1.0})
        for processes in counts:
            r = ingest(args, "astra", processes) | {"round": round_}
            per_frame, loop_base = r.get("loop_cpu_ms_per_frame"), echo.get("loop_cpu_ms_per_frame")
            r["ratio"] = r["frames_per_s"] / echo["frames_per_s"] if echo["frames_per_s"] else None
            r["loop_ratio"] = loop_base / per_frame if loop_base and per_frame else None
            rows.append(r)
    return rows


def ingest_medians(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Per process count: the median of the rounds' ratios to their echo, and the range."""
    ratios: dict[int, list[float]] = {}
    for r in rows:
        if r["target"] != "echo" and r.get("ratio") is not None:
            ratios.setdefault(r["processes"], []).append(r["ratio"])
    return {
        p: {"median": statistics.median(v), "min": min(v), "max": max(v), "rounds": len(v)}
        for p, v in ratios.items()
    }


def ingest_table(rows: list[dict[str, Any]]) -> str:
    """Throughput and its ratio to its round's echo server; and, steadier on a busy machine, the
    event loops' CPU per frame and its ratio (what the throughputs would be if both loops were
    full)."""
    lines = [
        "| round | server | processes | clients | frames/s acked | ratio to echo | ack p50 / p99 (ms) "
        "| server CPU % (ms/frame) | busiest event loop CPU % + waiting to run % "
        "| event loops ms/frame (ratio) "
        "| Redis CPU % (commands, reads per frame) | generator CPU % | machine CPU % (others) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ratio = f"{r['ratio']:.2f}" if r.get("ratio") is not None else "—"
        loop_ratio = f"{r['loop_ratio']:.2f}" if r.get("loop_ratio") is not None else "—"
        name = "bare echo (Starlette/uvicorn)" if r["target"] == "echo" else "astra serve"
        lines.append(
            f"| {r.get('round', 1)} | {name} | {r['processes']} | {r['clients']} "
            f"| {r['frames_per_s']:.0f} | {ratio} "
            f"| {_ms(r['ack_audio_ms'])} | {r['server_cpu_percent']:.0f} ({r['server_cpu_ms_per_frame']}) "
            f"| {r['busiest_loop_cpu_percent']:.0f} + {r['busiest_loop_wait_percent']:.0f} "
            f"| {r['loop_cpu_ms_per_frame']} ({loop_ratio}) "
            f"| {_cpu(r, 'redis')} ({r['redis_commands_per_frame']}, {r.get('redis_reads_per_frame')}) "
            f"| {r['generator_cpu_percent']:.0f} | {_machine(r)} |"
        )
    return "\n".join(lines)


# -- main ----------------------------------------------------------------------------------------


def _env(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "part", choices=["all", "ingest", "live", "search", "scale", "generator"], nargs="?", default="all"
    )
    p.add_argument(
        "--sessions",
        type=int,
        default=int(_env("BENCH_SESSIONS", 0)) or None,
        help="live/scale: sessions (default 200; in 'all', scale runs at twice the search's result)",
    )
    p.add_argument("--seconds", type=float, default=_env("BENCH_SECONDS", 10), help="live measurement window")
    p.add_argument(
        "--settle", type=float, default=_env("BENCH_SETTLE", 3), help="after connecting, before measuring"
    )
    p.add_argument(
        "--ramp",
        type=float,
        default=_env("BENCH_RAMP", 0) or None,
        help="seconds the connections are spread over (default: 1 per 100 sessions, at least 5)",
    )
    p.add_argument("--workers", type=int, default=int(_env("BENCH_WORKERS", os.cpu_count() or 2)))
    p.add_argument("--text-every", type=float, default=10.0, help="seconds between a session's text frames")
    p.add_argument("--edit-every", type=float, default=15.0, help="seconds between a stenographer's edits")
    p.add_argument("--audio", choices=["speech", "silence"], default="speech")
    p.add_argument("--target-ms", type=float, default=100.0, help="ack p99 a passing live step stays under")
    p.add_argument(
        "--max-audio-lag",
        type=float,
        default=1.0,
        help="seconds segmentation may run behind the acked audio in a passing live step",
    )
    p.add_argument("--start", type=int, default=int(_env("BENCH_SEARCH_START", 100)))
    p.add_argument("--max", type=int, default=int(_env("BENCH_SEARCH_MAX", 1600)))
    p.add_argument("--max-steps", type=int, default=int(_env("BENCH_SEARCH_STEPS", 7)))
    p.add_argument("--resolution", type=int, default=25, help="search stops when the bracket is this narrow")
    p.add_argument(
        "--confirm",
        type=int,
        default=int(_env("BENCH_SEARCH_CONFIRM", 2)),
        help="search: runs the N found must pass, each (a failure moves to the next smaller N that passed)",
    )
    p.add_argument(
        "--search-processes",
        type=int,
        default=int(_env("BENCH_SEARCH_PROCESSES", 1)),
        help="search: astra serve processes the sessions are split over",
    )
    p.add_argument(
        "--clients", type=int, default=int(_env("BENCH_INGEST_CLIENTS", 16)), help="ingest: connections"
    )
    p.add_argument("--ingest-seconds", type=float, default=_env("BENCH_INGEST_SECONDS", 8))
    p.add_argument(
        "--ingest-rounds",
        type=int,
        default=int(_env("BENCH_INGEST_ROUNDS", 3)),
        help="ingest: rounds of echo then astra serve; the figure is the median ratio",
    )
    p.add_argument(
        "--processes",
        default=os.environ.get("BENCH_PROCESSES", "1,2,4"),
        help="scale: astra serve process counts",
    )
    p.add_argument(
        "--generator-sessions",
        type=int,
        default=int(_env("BENCH_GENERATOR_SESSIONS", 1000)),
        help="generator check: live sessions against the echo server",
    )
    p.add_argument("--json", type=Path, default=Path(os.environ.get("BENCH_JSON", "bench-load.json")))
    p.add_argument("--keep", action="store_true", help="keep each step's logs and data")
    p.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="directory: py-spy each server during the window (see bench/profile_top.py)",
    )
    p.add_argument(
        "--calls",
        type=Path,
        help="directory: live steps count each server's event-loop function calls with cProfile"
        " during the window (bench/callcount.py; slows the server, so its timings do not count)",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    report: dict[str, Any] = {"machine": machine(), "settings": {k: str(v) for k, v in vars(args).items()}}
    began = time.monotonic()
    scale_n = args.sessions or 200
    out: list[str] = [
        f"\n## Load benchmark — {report['machine']['host']}, {report['machine']['cpus']} cores "
        f"({report['machine']['cpu_model']}), Redis {report['machine']['redis']}, "
        f"{report['machine']['date']}\n"
    ]

    if args.part in ("all", "ingest", "scale"):
        counts = [1] if args.part == "ingest" else [int(x) for x in args.processes.split(",")]
        rows = ingest_rounds(args, counts)
        medians = ingest_medians(rows)
        report["ingest"] = rows
        report["ingest_ratio"] = medians
        summary = "; ".join(
            f"{p} process{'es' if p > 1 else ''}: **{m['median']:.2f}** ({m['min']:.2f}–{m['max']:.2f})"
            for p, m in medians.items()
        )
        out += [
            "### Ingest: durable-ack throughput versus a bare echo server\n",
            ingest_table(rows),
            "",
            f"Ratio to the echo of the same round, median of {args.ingest_rounds} (range): {summary}.",
            "",
        ]

    if args.part in ("all", "search"):
        found = search(args, args.search_processes)
        report["search"] = found
        over = f" over {args.search_processes} processes" if args.search_processes > 1 else ""
        out += [
            f"### Live sessions{over}: largest N with ack p99 < {args.target_ms:.0f} ms: "
            f"**{found['max_sessions']}** in each of {args.confirm} runs (largest passing once: "
            f"{found['passed_once']}; first failing: {found['first_failing']})\n",
            live_table(found["steps"]),
            "",
        ]
        # Scale at twice what one process sustained: does a second process move the limit?
        scale_n = args.sessions or 2 * (found["max_sessions"] or args.start)

    if args.part in ("all", "generator"):
        n = args.sessions if args.part == "generator" and args.sessions else args.generator_sessions
        row = live(args, n, target="echo")
        report["generator"] = row
        out += [
            f"### The load generator alone: {n} live sessions against the bare echo server\n",
            "(What the generator costs and how punctual it stays on this machine; a late p99 of "
            "more than a few ms means the generator, not the server, limits the figures above.)\n",
            live_table([row]),
            "",
        ]

    if args.part == "live":
        row = live(args, args.sessions or 200)
        report["live"] = row
        out += ["### Live sessions\n", live_table([row]), ""]
        if "calls_per_frame" in row:
            calls = row["calls_per_frame"]
            parts = ", ".join(f"{name} {n}" for name, n in calls["packages"].items())
            out += [f"Event-loop function calls per acked frame: **{calls['all']}** ({parts}).", ""]

    if args.part in ("all", "scale"):
        n = scale_n
        rows = [live(args, n, int(p)) for p in args.processes.split(",")]
        report["scale"] = rows
        out += [
            f"### Scaling: {n} live sessions over {args.processes} processes, one Redis\n",
            live_table(rows),
            "",
        ]

    report["elapsed_s"] = round(time.monotonic() - began, 1)
    args.json.write_text(json.dumps(report, indent=1))
    print("\n".join(out))
    print(f"({report['elapsed_s']:.0f} s; raw figures in {args.json})")


if __name__ == "__main__":
    main()
