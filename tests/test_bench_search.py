"""bench/bench_load.py's live search: the N it reports passed every one of its confirming runs."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from .conftest import ROOT


@pytest.fixture(scope="module")
def bench_load() -> ModuleType:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        spec = importlib.util.spec_from_file_location("bench_load", ROOT / "bench" / "bench_load.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(ROOT / "bench"))


def runs_of(outcomes: dict[int, list[bool]]) -> tuple[list[dict[str, Any]], Callable[[int], bool], list[int]]:
    """Steps already run (each size's first outcome) and a step function that gives each size's
    next outcomes in turn; the sizes it was asked to run again."""
    steps = [{"sessions": n, "ok": results[0]} for n, results in outcomes.items()]
    queued = {n: list(results[1:]) for n, results in outcomes.items()}
    asked: list[int] = []

    def step(n: int) -> bool:
        asked.append(n)
        ok = queued[n].pop(0)
        steps.append({"sessions": n, "ok": ok})
        return ok

    return steps, step, asked


def test_the_largest_passing_n_counts_once_it_passes_again(bench_load: ModuleType) -> None:
    steps, step, asked = runs_of({100: [True], 200: [True], 300: [True, True], 400: [False]})
    assert bench_load.confirm(steps, step, 2) == 300
    assert asked == [300]


def test_an_n_that_fails_its_second_run_gives_way_to_the_next_smaller_that_passes_twice(
    bench_load: ModuleType,
) -> None:
    steps, step, asked = runs_of({100: [True], 200: [True, True], 300: [True, False], 400: [False]})
    assert bench_load.confirm(steps, step, 2) == 200
    assert asked == [300, 200]


def test_more_runs_each_must_pass(bench_load: ModuleType) -> None:
    steps, step, asked = runs_of({200: [True, True, True], 300: [True, True, False]})
    assert bench_load.confirm(steps, step, 3) == 200
    assert asked == [300, 300, 200, 200]


def test_one_run_confirms_what_the_search_found(bench_load: ModuleType) -> None:
    steps, step, asked = runs_of({100: [True], 200: [True], 300: [False]})
    assert bench_load.confirm(steps, step, 1) == 200
    assert asked == []


def test_runs_are_bounded_and_nothing_unconfirmed_is_reported(bench_load: ModuleType) -> None:
    steps, step, asked = runs_of({n: [True, False] for n in (100, 200, 300, 400, 500)})
    assert bench_load.confirm(steps, step, 2) == 0
    assert asked == [500, 400, 300, 200]  # 2 × 2 runs more at most


def test_an_n_that_ever_failed_is_not_reported(bench_load: ModuleType) -> None:
    steps, step, asked = runs_of({200: [True, True], 300: [True]})
    steps.append({"sessions": 300, "ok": False})
    assert bench_load.confirm(steps, step, 2) == 200
    assert asked == [200]
