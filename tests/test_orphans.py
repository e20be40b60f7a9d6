"""Processes the tests start die with the test run, even when it is killed outright (SIGKILL)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest

from .conftest import ROOT, gone, popen_tied, wait_until

ECHO = "import sys\nfor line in sys.stdin:\n    sys.stdout.write(line)\n    sys.stdout.flush()\n"


def command(process: psutil.Process) -> str:
    """Its command line; empty for one that has ended meanwhile."""
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def test_a_process_started_from_a_worker_thread_outlives_the_thread() -> None:
    """The parent-death signal fires when the thread that forked the child ends: popen_tied
    forks on a thread of its own, so a child started from a worker thread lives on after the
    worker has ended. (Forked by the worker, the child would be sent SIGTERM, whose default action
    ends it, as the thread leaves the kernel: its answer would be end of file.)"""
    started: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        started.append(
            popen_tied([sys.executable, "-c", ECHO], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        )

    worker = threading.Thread(target=start)
    worker.start()
    worker.join()
    task = Path(f"/proc/self/task/{worker.native_id}")
    wait_until(lambda: not task.exists(), 10, "the worker thread to leave the kernel")
    (child,) = started
    assert child.stdin is not None and child.stdout is not None
    try:
        child.stdin.write(b"still here?\n")
        child.stdin.flush()
        assert child.stdout.readline() == b"still here?\n"
    finally:
        child.kill()
        child.wait(10)


@pytest.mark.timeout(240)
def test_servers_of_a_test_run_killed_outright_die_with_it(tmp_path: Path) -> None:
    """A pytest run starts a server (restarted from a worker thread), a fake CORE and moto's
    server (tests/orphan_probe.py), and is SIGKILLed: every process it started ends."""
    ready = tmp_path / "ready"
    log_path = tmp_path / "probe.log"
    with open(log_path, "wb") as log:
        run = popen_tied(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/orphan_probe.py"],
            cwd=ROOT,
            env={**os.environ, "ASTRA_PROBE_READY": str(ready)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    started: list[psutil.Process] = []
    try:
        wait_until(lambda: ready.exists() or run.poll() is not None, 180, "the probe run's servers")
        assert run.poll() is None, log_path.read_text(errors="replace")[-3000:]
        started = psutil.Process(run.pid).children(recursive=True)
        commands = [command(p) for p in started]
        server = int(ready.read_text())
        assert server in {p.pid for p in started}, commands
        assert any("fake_core.py" in c for c in commands) and any("moto_server" in c for c in commands)
        run.kill()
        run.wait(10)
        wait_until(lambda: all(gone(p.pid) for p in started), 60, "the killed run's processes to end")
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(10)
        for process in started:  # a failed check leaves nothing behind either
            with contextlib.suppress(psutil.Error):
                process.kill()
