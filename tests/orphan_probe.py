"""Run only by test_orphans.py (the name does not match ``test_*.py``): a test run that starts the
kinds of processes the suite starts, says so, and waits to be killed outright."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from .conftest import wait_until
from .faultkit import fake_core


def test_start_servers_then_wait_to_be_killed(
    spawn: Any, redis_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A server (restarted from a worker thread that then ends, as test_chaos does), a fake
    CORE and moto's server; then ``$ASTRA_PROBE_READY`` names the server's pid."""
    ready = Path(os.environ["ASTRA_PROBE_READY"])
    with fake_core(tmp_path):
        server = spawn("serve", env={"REDIS_URL": redis_url})
        restart = threading.Thread(target=lambda: (server.kill(), server.start()))
        restart.start()
        restart.join()
        request.getfixturevalue("moto_s3")
        assert server.process is not None
        ready.write_text(str(server.process.pid))
        wait_until(lambda: False, 100, "this run to be killed")  # bounded: never left behind
