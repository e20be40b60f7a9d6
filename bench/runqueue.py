"""How long the benchmark's processes run and how long they wait for a core, per second (Linux).

psutil's CPU share counts only the time a thread runs. ``/proc/PID/schedstat`` (the main
thread's) also counts the time it was runnable and not running: on the run queue, from each
wake-up until it runs. An event loop can show 77 % of a core and be runnable 95 % of the time.
Run it beside a live step:

    .venv/bin/python bench/runqueue.py 60 > runqueue.log &
    .venv/bin/python bench/bench_load.py live --sessions 312

Each line is one second: every process of the run (the astra servers, their VAD child, Redis,
the load generators, fake CORE; ``vad`` is any child the servers spawned, so finalize workers
too if they run) by its main thread, a role's processes added up, as ``role run R wait W`` in %
of the wall clock. The end prints each role's mean over the seconds when the load generator
was sending.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from pathlib import Path

ROLES = {
    "astra": re.compile(r"-m server serve|astra serve"),
    "vad": re.compile(r"multiprocessing.*spawn_main"),
    "redis": re.compile(r"redis-server"),
    "generator": re.compile(r"bench/loadgen\.py"),
    "core": re.compile(r"tools/fake_core\.py"),
}


def processes() -> dict[int, str]:
    """Pid → role of the processes of a benchmark run."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        for role, pattern in ROLES.items():
            if pattern.search(command):
                found[int(entry.name)] = role
                break
    return found


def run_and_wait(pid: int) -> tuple[int, int] | None:
    """Nanoseconds the process's main thread has run and waited for a core, since it started."""
    try:
        run, wait, _ = (int(x) for x in Path(f"/proc/{pid}/schedstat").read_text().split())
    except (OSError, ValueError):
        return None
    return run, wait


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("seconds", type=float, help="how long to sample")
    args = parser.parse_args()
    before: dict[int, tuple[int, int]] = {}
    loaded: dict[str, list[tuple[float, float]]] = {}
    last = time.monotonic()
    end = last + args.seconds
    while time.monotonic() < end:
        time.sleep(1.0)
        now = time.monotonic()
        elapsed, last = now - last, now
        row: dict[str, tuple[float, float]] = {}
        current: dict[int, tuple[int, int]] = {}
        for pid, role in sorted(processes().items()):
            sample = run_and_wait(pid)
            if sample is None:
                continue
            current[pid] = sample
            if pid in before:
                run = (sample[0] - before[pid][0]) / 1e9 / elapsed * 100
                wait = (sample[1] - before[pid][1]) / 1e9 / elapsed * 100
                summed = row.get(role, (0.0, 0.0))  # a role's processes added up (two generators)
                row[role] = (summed[0] + run, summed[1] + wait)
        before = current
        if not row:
            continue
        print(time.strftime("%T"), " | ".join(f"{r} run {v[0]:.0f} wait {v[1]:.0f}" for r, v in row.items()))
        if row.get("generator", (0.0, 0.0))[0] > 5:  # the generator is sending: a loaded second
            for role, value in row.items():
                loaded.setdefault(role, []).append(value)
    print("\nmean over the loaded seconds (% of the wall clock):")
    for role, values in loaded.items():
        run = statistics.mean(v[0] for v in values)
        wait = statistics.mean(v[1] for v in values)
        print(f"  {role:9} run {run:3.0f}  wait {wait:3.0f}  runnable {run + wait:3.0f}  ({len(values)} s)")


if __name__ == "__main__":
    main()
