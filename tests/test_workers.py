"""Finalize's worker processes: jobs, errors coming back, a dead worker replaced, and a finalize
that survives one."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgpack
import psutil
import pytest
from starlette.testclient import TestClient

from server import spawn
from server.app import create_app
from server.errors import BuildFailed, ServiceUnavailable
from server.services.builder import BuildRequest, build_sync
from server.services.guard import content_hash
from server.settings import Retry, Settings
from server.workers import WorkerError, WorkerPool, WorkerTimeout, index_blocks, warm_up

from .conftest import ROOT, TENANT, gone, wait_until, with_settings
from .hostile import encoded, photo


class Unpicklable(Exception):
    """Pickles, but cannot be rebuilt from its args (two are required, one is stored)."""

    def __init__(self, a: str, b: str) -> None:
        super().__init__(a)


def raise_unpicklable() -> None:
    raise Unpicklable("a", "b")


def leave_garbage_in_a_cycle(megabytes: int) -> int:
    """A job that leaves ``megabytes`` of small heap objects in a reference cycle (as a built
    python-docx document is left) and returns its worker's pid."""
    held: list[Any] = [bytes(1000 + i % 7) for i in range(megabytes * 1000)]
    held.append(held)
    return os.getpid()


def pack(value: Any) -> bytes:
    data: bytes = msgpack.packb(value, use_bin_type=True)
    return data


@pytest.fixture
async def pool() -> AsyncIterator[WorkerPool]:
    workers = WorkerPool(1)
    yield workers
    await workers.close()


@pytest.mark.anyio
async def test_jobs_run_in_another_process(pool: WorkerPool) -> None:
    """A job runs in a worker process, not this one, and its result comes back."""
    pid = await pool.run(warm_up)
    assert pid != os.getpid()
    assert await pool.run(warm_up) == pid  # the same worker serves the next job


def test_index_blocks_sorts_out_live_images_and_edited() -> None:
    """Deleted blocks are left out of the acta but kept for LEARN when a person changed them;
    images are listed with their object keys; the packed array is the live blocks, in order."""
    blocks = [
        {"block_id": "b1", "type": "TEMPLATE", "text": "uno"},
        {"block_id": "b2", "type": "TEMPLATE", "text": "dos", "deleted": True, "human_edited": True},
        {"block_id": "b3", "type": "IMAGE", "asset": {"asset_id": "ast_1", "key": "k/1.png"}},
        {"block_id": "b4", "type": "TEMPLATE", "text": "cuatro", "human_edited": True},
        {"block_id": "b5", "type": "IMAGE", "asset": {"asset_id": "a2", "key": "k/2.png"}, "deleted": True},
    ]
    raw = [pack(b) for b in blocks]
    index = index_blocks(raw)
    assert index.live == [0, 2, 3]
    assert index.images == [("ast_1", "k/1.png", None)]  # (no SHA-256 recorded in this block)
    assert index.edited == [1, 3]
    assert msgpack.unpackb(index.packed(raw)) == [blocks[0], blocks[2], blocks[3]]
    assert msgpack.unpackb(index_blocks([]).packed([])) == []


@pytest.mark.anyio
async def test_what_a_job_leaves_in_cycles_leaves_the_workers_memory(pool: WorkerPool) -> None:
    """The worker collects and gives back a job's garbage before the next job: 60 MB left in a
    reference cycle stayed in its RSS (until the collector's next full pass) and the next job
    (GUARD's seal after BUILDER's build) peaked on top of it."""
    pid = await pool.run(leave_garbage_in_a_cycle, 0)  # the worker imports this module first
    before = psutil.Process(pid).memory_info().rss
    assert await pool.run(leave_garbage_in_a_cycle, 60) == pid
    grown = psutil.Process(pid).memory_info().rss - before
    assert grown < 20 << 20, f"the worker kept {grown >> 20} MB"


@pytest.mark.anyio
async def test_errors_come_back_and_the_pool_keeps_working(pool: WorkerPool) -> None:
    """An AstraError raised in a worker arrives with its type and message; one that cannot be
    rebuilt from a pickle arrives as a WorkerError instead of breaking the pool."""
    bad = BuildRequest(skeleton=b"not a docx", style_map={}, blocks=pack([]))
    with pytest.raises(BuildFailed) as failed:
        await pool.run(build_sync, bad)
    assert failed.value.code == "BUILD_FAILED" and failed.value.message
    with pytest.raises(WorkerError, match="Unpicklable"):
        await pool.run(raise_unpicklable)
    assert await pool.run(warm_up) != os.getpid()


ORPHAN_SCRIPT = """
import asyncio, sys
from server.workers import WorkerPool, warm_up
async def main():
    pool = WorkerPool(1)
    print(await pool.run(warm_up), flush=True)
    await asyncio.Event().wait()  # until killed
asyncio.run(main())
"""


def test_workers_leave_with_a_killed_server() -> None:
    """A server killed outright (SIGKILL, the OOM killer) takes its finalize worker with it;
    without the watch on the parent the worker, holding both ends of its job queue, stayed."""
    server = subprocess.Popen(
        [sys.executable, "-c", ORPHAN_SCRIPT], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        worker = int(server.stdout.readline())
        assert not gone(worker)
    finally:
        server.kill()
        server.wait(10)
    wait_until(lambda: gone(worker), 30, "the orphaned worker to exit")


@pytest.mark.anyio
async def test_a_dead_worker_is_replaced(pool: WorkerPool) -> None:
    """A worker killed (out of memory, say) fails the call with a retryable ServiceUnavailable;
    the pool starts a new worker for the next one."""
    pid = await pool.run(warm_up)
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: gone(pid), 10, "the worker to die")
    with pytest.raises(ServiceUnavailable) as broken:
        await pool.run(warm_up)
    assert broken.value.retryable
    replacement = await pool.run(warm_up)
    assert replacement not in (pid, os.getpid())


@pytest.mark.anyio
async def test_a_job_past_its_time_is_stopped_and_not_tried_again_and_the_queue_goes_on() -> None:
    """A job that runs on (a tenant's template looping for ever) is stopped once it has run the
    pool's job_timeout in its worker: the call fails with a WorkerTimeout that is not retried.
    The jobs queued behind it wait without their clock running, and run in the same worker."""
    pool = WorkerPool(1, job_timeout=1.5)
    try:
        pid = await pool.run(warm_up)
        endless = asyncio.ensure_future(pool.run(time.sleep, 60))
        queued = [asyncio.ensure_future(pool.run(time.sleep, 1.0)) for _ in range(2)]
        with pytest.raises(WorkerTimeout) as late:
            await endless
        assert not late.value.retryable and "sleep ran for more than 1.5 s" in late.value.message
        assert await asyncio.gather(*queued) == [None, None]  # 1 s each, after 1.5 s of waiting
        assert await pool.run(warm_up) == pid
    finally:
        await pool.close()


def test_a_finalize_whose_build_runs_on_fails_and_the_session_takes_corrections(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """BUILDER's job in the worker never ends: finalize fails once it has run ASTRA_FINALIZE_WAIT
    (it held the session closing for good: no correction, and every finalize waiting on it), and
    the session is FINALIZE_FAILED, its blocks correctable; a finalize with a BUILDER that ends
    then seals it."""
    limits = dataclasses.replace(settings.limits, finalize_wait=2.0)
    with TestClient(create_app(with_settings(settings, limits=limits))) as client:
        token = make_token()
        auth = {"authorization": f"Bearer {token}"}
        api = "/v1/orchestrator/session"
        sid = client.post(f"{api}/start", json={"tenant_id": TENANT}, headers=auth).json()["session_id"]
        client.post(f"{api}/{sid}/append", json={"text": "Se abre la sesión."}, headers=auth)
        orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        builder = orch.builder

        class EndlessBuilder:
            async def build(self, req: BuildRequest) -> bytes:
                await orch.workers.run(time.sleep, 600)
                raise AssertionError("the build ended")

        orch.builder = EndlessBuilder()
        failed = client.post(f"{api}/{sid}/finalize", headers=auth)
        assert failed.status_code == 502 and failed.json()["error"]["code"] == "BUILD_FAILED"
        assert "ran for more than 2 s in a finalize worker" in failed.json()["error"]["message"]
        assert client.get(f"{api}/{sid}", headers=auth).json()["status"] == "FINALIZE_FAILED"
        orch.builder = builder
        sealed = client.post(f"{api}/{sid}/finalize", headers=auth)
        assert sealed.status_code == 200, sealed.text


def _kill_the_apps_worker(client: TestClient) -> None:
    """SIGKILL the app's finalize worker (as the OOM killer would) and wait until it is gone."""
    workers = client.app.state.astra.orchestrator.workers  # type: ignore[attr-defined]
    pid = client.portal.call(workers.run, warm_up)  # type: ignore[union-attr]
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: gone(pid), 10, "the worker to die")


def test_finalize_survives_a_killed_worker(settings: Settings, make_token: Callable[..., str]) -> None:
    """The app's finalize worker is killed before finalize: the call is retried on a new worker,
    the acta is sealed, and its content hash is over the session's blocks."""
    fast = Retry(attempts=3, base_delay=0.001, max_delay=0.01, timeout=30)
    auth = {"authorization": f"Bearer {make_token()}"}
    with TestClient(create_app(with_settings(settings, retry=fast))) as client:
        started = client.post("/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=auth)
        api = f"/v1/orchestrator/session/{started.json()['session_id']}"
        for text in ("Se abre la sesión.", "Tiene la palabra el concejal Pedro Gómez."):
            assert client.post(f"{api}/append", json={"text": text}, headers=auth).status_code == 200
        _kill_the_apps_worker(client)
        response = client.post(f"{api}/finalize", headers=auth)
        assert response.status_code == 200, response.text
        blocks = client.get(f"{api}/blocks", headers=auth).json()["blocks"]
    assert response.json()["content_hash"] == content_hash(blocks)
    assert response.json()["block_count"] == 2


def test_an_upload_survives_a_killed_worker(settings: Settings, make_token: Callable[..., str]) -> None:
    """The image check runs in the finalize worker: with the worker killed before an upload, the
    check is retried on a new worker and the image is stored as a block."""
    fast = Retry(attempts=3, base_delay=0.001, max_delay=0.01, timeout=30)
    auth = {"authorization": f"Bearer {make_token()}"}
    with TestClient(create_app(with_settings(settings, retry=fast))) as client:
        started = client.post("/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=auth)
        api = f"/v1/orchestrator/session/{started.json()['session_id']}"
        _kill_the_apps_worker(client)
        picture = {"file": ("a.png", encoded(photo(), "PNG"), "image/png")}
        response = client.post(f"{api}/upload-asset", files=picture, headers=auth)
        assert response.status_code == 200, response.text
        blocks = client.get(f"{api}/blocks", headers=auth).json()["blocks"]
    assert [b["type"] for b in blocks] == ["IMAGE"]


def test_settings_name_the_pool_size() -> None:
    """ASTRA_FINALIZE_WORKERS sizes the pool; the default is one worker."""
    assert Settings.from_env({}).finalize_workers == 1
    assert Settings.from_env({"ASTRA_FINALIZE_WORKERS": "3"}).finalize_workers == 3
    with pytest.raises(ValueError, match="at least 1"):
        WorkerPool(0)


def test_worker_side_modules_do_not_load_httpx() -> None:
    """What a worker imports to run finalize's jobs leaves httpx out (~6 MB per worker)."""
    check = (
        "import sys, server.workers, server.services.builder, server.services.guard; "
        "sys.exit('httpx' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", check], cwd=ROOT).returncode == 0


def report_sigint(results: Any) -> None:
    """Runs in a spawned child: is SIGINT ignored when its own code first runs?"""
    results.put(signal.getsignal(signal.SIGINT) == signal.SIG_IGN)


def test_a_worker_ignores_ctrl_c_from_its_first_instruction() -> None:
    """Ctrl-C reaches the whole process group; a worker still starting Python and importing its
    modules (before its initializer could ignore it) printed a KeyboardInterrupt traceback on
    every ``make run`` interrupted early (test_cli caught it on a slow machine). The pool's
    workers inherit SIGINT ignored, and the server's own handler is back once they are started."""
    context = spawn.QuietSpawnContext()
    handler = signal.getsignal(signal.SIGINT)
    results = context.SimpleQueue()
    child = context.Process(target=report_sigint, args=(results,))
    child.start()
    try:
        assert signal.getsignal(signal.SIGINT) is handler
        assert results.get() is True
    finally:
        child.join(30)
    assert child.exitcode == 0
