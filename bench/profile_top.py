"""Summarize py-spy's collapsed stacks (``py-spy record --format raw``): where the time goes.

    .venv/bin/python bench/profile_top.py profile/astra-0-live.txt [--top 25]

Prints the functions with the most samples on top of the stack (*self*: the code that ran) and
the most samples anywhere in the stack (*total*: the code and what it called), as percentages of
all samples of the process's busy threads (py-spy leaves idle threads out).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_LINENO = re.compile(r":\d+\)$")


def frame_name(frame: str) -> str:
    """``func (path/file.py:123)`` → ``func (path/file.py)``: functions, not lines."""
    return _LINENO.sub(")", frame.strip())


def summarize(path: Path, only: str | None = None) -> tuple[int, Counter[str], Counter[str]]:
    total = 0
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit() or (only is not None and only not in stack):
            continue
        count = int(count_text)
        frames = [frame_name(f) for f in stack.split(";") if f]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    return total, own, inclusive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", type=Path, nargs="+")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--only", help="keep stacks containing this (e.g. 'server/cli.py': the event loop)")
    args = parser.parse_args()
    for path in args.paths:
        total, own, inclusive = summarize(path, args.only)
        print(f"\n## {path}{f' ({args.only})' if args.only else ''} — {total} samples\n")
        for title, counter in (("self", own), ("total", inclusive)):
            print(f"| {title} % | function |\n|---:|---|")
            for name, count in counter.most_common(args.top):
                print(f"| {100 * count / max(1, total):.1f} | `{name}` |")
            print()


if __name__ == "__main__":
    main()
