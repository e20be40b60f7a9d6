"""Python function calls a server's event loop makes, counted with cProfile over a window.

Counts hold still on a shared, noisy machine where timings do not, so a change to the per-frame
path is judged by calls per frame first. Used by ``bench_load.py --calls DIR``:

* as a launcher, ``python bench/callcount.py OUT -- serve --port …`` runs ``astra`` (the same
  ``server.cli.main``) with two signal handlers: SIGUSR1 switches cProfile on in the main thread
  (the event loop; the VAD child and other threads are not counted), SIGUSR2 switches it off and
  writes the stats to ``OUT``. Nothing is profiled outside that window, so startup, connecting
  and the ramp are left out;
* as a library, :func:`by_package` sums a stats file's calls per package: each Python function
  by the file it is in, each C function (``len``, ``isinstance``, a socket send…) by the package
  of the functions that called it.

    .venv/bin/python bench/callcount.py --show OUT [--frames N] [--top 30]
    .venv/bin/python bench/callcount.py --show OUT --frames N --against BASE --base-frames M

prints the packages and the functions with the most calls (per frame when ``--frames`` is
given); with ``--against``, the functions whose calls per frame changed most from ``BASE``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import signal
import sys
from collections import Counter
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent

NAMES = {"redis": "redis-py", "hiredis": "redis-py", "server": "ours (server/)"}


_LIBRARIES = ("/site-packages/", "/lib/python3.11/")
_OURS = re.compile(r"^.*?/((?:server|bench|tools)/[^/]+\.py)$")


def normalized(filename: str) -> str:
    """A function's file with the checkout it was run from taken off (``server/endpoint.py``),
    so runs of two worktrees compare."""
    match = _OURS.match(filename)
    if match:
        return match.group(1)
    for marker in _LIBRARIES:
        if marker in filename:
            return marker + filename.split(marker, 1)[1]
    return filename


def package_of(filename: str) -> str:
    """The package a function's file belongs to: ``server`` for ours, the top-level name for
    an installed package or a standard-library module (``asyncio``, ``contextlib``)."""
    for marker in _LIBRARIES:
        if marker in filename:
            top = filename.split(marker, 1)[1].split("/", 1)[0].removesuffix(".py")
            return NAMES.get(top, top)
    top = normalized(filename).split("/", 1)[0]
    return NAMES.get(top, "other")


Func = tuple[str, int, str]
_ADDRESS = re.compile(r" at 0x[0-9a-f]+")


def by_package(path: Path) -> tuple[int, Counter[str], Counter[Func]]:
    """(all calls, calls per package, calls per function) of a cProfile stats file."""
    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    packages: Counter[str] = Counter()
    functions: Counter[Func] = Counter()
    total = 0
    for func, (_, ncalls, _, _, callers) in stats.items():
        filename = func[0]
        total += ncalls
        functions[(normalized(filename), func[1], func[2])] += ncalls
        if filename != "~":
            packages[package_of(filename)] += ncalls
            continue
        # A C function: the package that called it (cProfile records callers with their counts).
        counted = 0
        for caller, counts in callers.items():
            n = counts[0] if isinstance(counts, tuple) else counts
            packages[package_of(caller[0])] += n
            counted += n
        if counted < ncalls:  # called from outside any profiled frame (the loop itself)
            packages["other"] += ncalls - counted
    return total, packages, functions


def _name(func: Func) -> str:
    filename, line, name = func
    if filename == "~":
        return name
    if not line:
        for marker in _LIBRARIES:
            filename = filename.removeprefix(marker)
        return f"{name} ({filename})"
    for marker in ("/site-packages/", "/lib/python3"):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            break
    else:
        filename = filename.replace(str(ROOT) + "/", "")
    return f"{name} ({filename}:{line})"


def show(path: Path, frames: int | None, top: int) -> None:
    total, packages, functions = by_package(path)
    per = frames or 1
    unit = "per frame" if frames else "calls"
    print(f"{total / per:,.1f} {unit} in all")
    for name, n in packages.most_common():
        print(f"  {n / per:9.1f}  {name}")
    print()
    for func, n in functions.most_common(top):
        print(f"  {n / per:9.2f}  {_name(func)}")


def compare(path: Path, frames: int, base: Path, base_frames: int, top: int) -> None:
    """Per-frame calls of ``path`` against ``base``: in all, by package, and the functions that
    changed most."""
    total, packages, functions = by_package(path)
    base_total, base_packages, base_functions = by_package(base)
    print(f"{base_total / base_frames:,.1f} -> {total / frames:,.1f} calls per frame")
    for name in sorted(set(packages) | set(base_packages), key=lambda n: -base_packages[n] - packages[n]):
        before, after = base_packages[name] / base_frames, packages[name] / frames
        if abs(after - before) >= 0.05 or before >= 1:
            print(f"  {before:9.1f} -> {after:9.1f}  {name}")
    print()
    # By file and name, not line: a function moved by an edit is the same function.
    after_by_name: Counter[tuple[str, str]] = Counter()
    before_by_name: Counter[tuple[str, str]] = Counter()
    for counts, into in ((functions, after_by_name), (base_functions, before_by_name)):
        for (filename, _, name), n in counts.items():
            into[filename, _ADDRESS.sub("", name)] += n
    changes = {
        (filename, 0, name): after_by_name[filename, name] / frames
        - before_by_name[filename, name] / base_frames
        for filename, name in set(after_by_name) | set(before_by_name)
    }
    for func, change in sorted(changes.items(), key=lambda item: -abs(item[1]))[:top]:
        print(f"  {change:+9.2f}  {_name(func)}")


def launch(out: Path, argv: list[str]) -> int:
    """Run ``astra`` with the SIGUSR1 / SIGUSR2 window described above."""
    profiler = cProfile.Profile()

    def start(signum: int, frame: FrameType | None) -> None:
        profiler.enable()  # the signal handler runs on the main thread: the event loop's

    def stop(signum: int, frame: FrameType | None) -> None:
        profiler.disable()
        partial = out.with_suffix(".partial")
        profiler.dump_stats(str(partial))
        partial.replace(out)  # whole, for whoever waits for it to appear

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    sys.path.insert(0, str(ROOT))
    from server.cli import main

    return main(argv)


def cli() -> int:
    if len(sys.argv) > 1 and sys.argv[1] != "--show":
        out, sep, *argv = sys.argv[1:]
        if sep != "--":
            raise SystemExit("usage: callcount.py OUT -- ASTRA-ARGS… | callcount.py --show OUT")
        return launch(Path(out), argv)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--show", type=Path, required=True)
    parser.add_argument("--frames", type=int, help="divide by these acked frames")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--against", type=Path, help="another stats file: the baseline")
    parser.add_argument("--base-frames", type=int, help="the baseline's acked frames")
    args = parser.parse_args()
    if args.against is not None:
        if not args.frames or not args.base_frames:
            parser.error("--against needs --frames and --base-frames")
        compare(args.show, args.frames, args.against, args.base_frames, args.top)
    else:
        show(args.show, args.frames, args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(cli())
