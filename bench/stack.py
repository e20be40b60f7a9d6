"""The processes of a load benchmark, each on its own: one Redis, a fake CORE, ``astra serve``
processes (or the bare echo server), and a sampler of their CPU and memory.

Every process gets its own log file in the run's directory; ``Stack.close()`` stops them all.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, TENANT, free_port

from server.auth import issue_token, load_or_create_secret
from server.redis_server import EmbeddedRedis, _die_with_parent, find_redis_server, redis_version

READY_TIMEOUT = 60.0


def _clean_env(extra: dict[str, str]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ASTRA_") and k != "REDIS_URL"}
    return base | extra


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{url} did not come up:\n{tail}")
        time.sleep(0.1)


@dataclass
class Child:
    """A started process, with its log."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    port: int = 0

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@dataclass
class Stack:
    """One Redis, one fake CORE, and ``astra serve`` processes sharing them (or an echo server)."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="astra-load-")))
    redis: EmbeddedRedis | None = None
    replica: subprocess.Popen[bytes] | None = None
    """A replica of ``redis`` (``BENCH_REDIS_REPLICA=1``), for ``ASTRA_REDIS_ACK_REPLICAS``."""
    core: Child | None = None
    servers: list[Child] = field(default_factory=list)
    call_stats: list[Path] = field(default_factory=list)
    """Where each server's cProfile stats go (``start_astra(calls=…)``), in server order."""

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def _spawn(self, name: str, args: list[str], env: dict[str, str], port: int) -> Child:
        log = self.root / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                args,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,  # no stray servers if the benchmark is killed
            )
        child = Child(name, proc, log, port)
        _wait_http(f"http://127.0.0.1:{port}/healthz", proc, log)
        return child

    def start_fake_core(self) -> Child:
        """The fast fake CORE (``tools/fake_core.py``) on a port of its own, ready."""
        port = free_port()
        args = [sys.executable, "tools/fake_core.py", "--port", str(port)]
        self.core = self._spawn("fake-core", args, _clean_env({}), port)
        return self.core

    def start_astra(
        self, processes: int, env: dict[str, str] | None = None, *, calls: Path | None = None
    ) -> None:
        """Redis, the fake CORE and ``processes`` instances of ``astra serve`` on their own ports;
        with ``calls`` (a directory), each under ``bench/callcount.py``, whose cProfile window
        :meth:`count_calls` opens and closes."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.redis = EmbeddedRedis(self.root)
        self.redis.start()
        if os.environ.get("BENCH_REDIS_REPLICA") == "1":
            self._start_replica()
        self.core = self.start_fake_core()
        server_env = _clean_env(
            {
                "REDIS_URL": self.redis.url,
                "ASTRA_CORE_URL": f"http://127.0.0.1:{self.core.port}",
                "ASTRA_ASR_WARMUP": "0",
                "ASTRA_JWT_SECRET_FILE": str(self.data_dir / "jwt-secret"),
            }
        ) | (env or {})
        if acks := os.environ.get("BENCH_ACK_REPLICAS"):  # how many must confirm live audio
            server_env["ASTRA_REDIS_ACK_REPLICAS"] = acks
        load_or_create_secret(self.data_dir / "jwt-secret")  # shared by every instance
        for i in range(processes):
            port = free_port()
            args = [sys.executable, "-m", "server", "serve", "--port", str(port)]
            if calls is not None:
                calls.mkdir(parents=True, exist_ok=True)
                out = calls / f"astra-{i}.prof"
                out.unlink(missing_ok=True)
                args[1:3] = [str(ROOT / "bench" / "callcount.py"), str(out), "--"]
                self.call_stats.append(out)
            self.servers.append(
                self._spawn(f"astra-{i}", [*args, "--data-dir", str(self.data_dir)], server_env, port)
            )

    def _start_replica(self) -> None:
        """A replica of the benchmark's Redis on this machine, in sync: the primary also listens
        on a TCP port (set at run time, Redis 7), which replicas need."""
        import redis

        assert self.redis is not None
        port = free_port()
        admin = redis.Redis.from_url(self.redis.url)
        try:
            admin.config_set("port", port)
            folder = self.root / "replica"
            folder.mkdir()
            args = [self.redis.binary, "--port", "0", "--unixsocket", str(folder / "redis.sock")]
            args += ["--dir", str(folder), "--save", "", "--replicaof", "127.0.0.1", str(port)]
            with (folder / "replica.log").open("wb") as log:
                self.replica = subprocess.Popen(
                    args, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
                )
            deadline = time.monotonic() + READY_TIMEOUT
            while (admin.info("replication").get("slave0") or {}).get("state") != "online":
                if self.replica.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the replica did not come in sync; see {folder / 'replica.log'}")
                time.sleep(0.05)
        finally:
            admin.close()

    def start_echo(self) -> None:
        port = free_port()
        self.servers.append(
            self._spawn(
                "echo",
                [sys.executable, "bench/echo_server.py", "--port", str(port)],
                _clean_env({}),
                port,
            )
        )

    def count_calls(self, on: bool) -> None:
        """Open (``on``) or close the cProfile window of servers started with ``calls``; closing
        waits (bounded) until each has written its stats."""
        if not self.call_stats:
            return
        for server in self.servers:
            server.proc.send_signal(signal.SIGUSR1 if on else signal.SIGUSR2)
        if on:
            return
        deadline = time.monotonic() + 60
        for out in self.call_stats:
            while not out.exists() and time.monotonic() < deadline:
                time.sleep(0.1)

    def token(self, role: str, sub: str) -> str:
        secret = load_or_create_secret(self.data_dir / "jwt-secret")
        return issue_token(secret, tenant_id=TENANT, role=role, sub=sub, ttl=3600)

    def redis_counts(self) -> tuple[int, int] | None:
        """Commands Redis has processed so far, and the reads it made from its clients' sockets
        (INFO stats: a read takes whatever a client sent together), or None without our own Redis."""
        if self.redis is None:
            return None
        import redis

        client = redis.Redis.from_url(self.redis.url)
        try:
            stats = client.info("stats")
            return int(stats["total_commands_processed"]), int(stats["total_reads_processed"])
        finally:
            client.close()

    @property
    def redis_pid(self) -> int | None:
        return self.redis.process.pid if self.redis and self.redis.process else None

    def close(self, *, keep: bool = False) -> None:
        for child in [*self.servers, *([self.core] if self.core else [])]:
            child.stop()
        if self.replica is not None:
            self.replica.terminate()
            self.replica.wait(timeout=30)
        if self.redis is not None:
            self.redis.stop()
        if keep:
            print(f"logs kept in {self.root}", file=sys.stderr)
        else:
            shutil.rmtree(self.root, ignore_errors=True)


class Usage:
    """CPU (percent of one core, averaged over a window) and RSS (sampled) of some processes, each
    counted with its children (a server's VAD and finalize worker processes); for the main thread
    (a server's event loop) also the time it was runnable and not running (Linux's schedstat: on
    the run queue, from each wake-up until it ran), which its CPU share does not show."""

    PERIOD = 0.25

    def __init__(self, pids: dict[str, int]) -> None:
        self._procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self._start: dict[str, tuple[float, float, float]] = {}
        self._rss: dict[str, list[int]] = {name: [] for name in pids}
        self._began = 0.0
        self._machine_start = (0.0, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.result: dict[str, dict[str, float]] = {}

    @staticmethod
    def _cpu(proc: psutil.Process) -> tuple[float, float, float]:
        """CPU seconds of the process and its children, and of its main thread (a server's event
        loop); seconds the main thread waited to run (0 where the kernel does not say)."""
        used = 0.0
        for one in [proc, *proc.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = one.cpu_times()
                used += times.user + times.system
        main = next((t for t in proc.threads() if t.id == proc.pid), None)
        try:  # run time, run-queue wait (ns), timeslices
            waited = int(Path(f"/proc/{proc.pid}/schedstat").read_text().split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            waited = 0.0
        return used, float(main.user_time + main.system_time) if main else 0.0, waited

    @staticmethod
    def _rss_of(proc: psutil.Process) -> int:
        rss = proc.memory_info().rss
        for child in proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                rss += child.memory_info().rss
        return int(rss)

    def _sample(self) -> None:
        while not self._stop.wait(self.PERIOD):
            for name, proc in self._procs.items():
                with contextlib.suppress(psutil.Error):
                    self._rss[name].append(self._rss_of(proc))

    @staticmethod
    def _machine() -> tuple[float, float]:
        """(busy, total) CPU seconds of the whole machine so far, all cores."""
        times = psutil.cpu_times()
        idle = times.idle + getattr(times, "iowait", 0.0)
        total = sum(times)
        return total - idle, total

    def start(self) -> None:
        self._machine_start = self._machine()
        self._began = time.monotonic()
        self._start = {name: self._cpu(p) for name, p in self._procs.items()}
        self._thread.start()

    def stop(self) -> dict[str, dict[str, float]]:
        elapsed = time.monotonic() - self._began
        self._stop.set()
        self._thread.join()
        for name, proc in self._procs.items():
            try:
                now = self._cpu(proc)
                used, loop, waited = (now[i] - self._start[name][i] for i in range(3))
            except psutil.Error:
                used = loop = waited = float("nan")
            rss = self._rss[name] or [0]
            self.result[name] = {
                "cpu_percent": round(100 * used / elapsed, 1),
                "main_thread_cpu_percent": round(100 * loop / elapsed, 1),
                "main_thread_wait_percent": round(100 * waited / elapsed, 1),
                "rss_mb_max": round(max(rss) / 2**20, 1),
                "rss_mb_mean": round(sum(rss) / len(rss) / 2**20, 1),
            }
        busy, total = self._machine()
        cores = psutil.cpu_count() or 1
        self.result["machine"] = {
            # Every process of the machine, ours and others': 100 % per core.
            "cpu_percent": round(
                100 * cores * (busy - self._machine_start[0]) / max(1e-9, total - self._machine_start[1]), 1
            ),
        }
        return self.result


def redis_server() -> str:
    """The redis-server the benchmark's Redis runs (``EmbeddedRedis`` picks it) and its version:
    it moves the ingest figures (Redis 7 hashes every byte of a Lua script's arguments)."""
    binary = find_redis_server()
    return f"{redis_version(binary) or 'unknown version'} ({binary})"


def machine() -> dict[str, object]:
    """What the numbers were measured on."""
    import platform

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "redis": redis_server(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
    }
