"""Tools for fault tests: a fault-injecting TCP proxy, the fake CORE as its own process, and
the resident memory of a process.

``FaultProxy`` sits between the server and one HTTP collaborator (CORE, BUILDER, GUARD, S3) and
can, from one moment to the next:

* ``pass``: forward bytes both ways;
* ``refuse``: reset every connection at once (the collaborator is down);
* ``delay``: hold each answer ``delay`` seconds (slower than the server's timeout, say);
* ``blackhole``: accept and read, never answer (a hung collaborator);
* ``flap``: reset one request in ``every`` (a flapping link), forward the others.

Changing the mode also cuts the connections already open, so a pooled keep-alive connection
cannot carry on in the old mode. The proxy runs its own event loop in a thread of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx

from .conftest import ROOT, free_port, wait_until

Mode = Literal["pass", "refuse", "delay", "blackhole", "flap"]


@dataclass
class ProxyStats:
    connections: int = 0
    reset: int = 0
    forwarded_requests: int = 0


class FaultProxy:
    """A TCP proxy on 127.0.0.1:``port`` to ``target`` with switchable faults."""

    def __init__(self, target_host: str, target_port: int, port: int | None = None) -> None:
        self.target = (target_host, target_port)
        self.port = port or free_port()
        self.mode: Mode = "pass"
        self.delay = 0.0
        self.every = 2
        self.stats = ProxyStats()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._requests = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)
        return self

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    def set_mode(self, mode: Mode, *, delay: float = 0.0, every: int = 2) -> None:
        """Switch behaviour now; connections already open are cut."""

        async def switch() -> None:
            self.mode, self.delay, self.every = mode, delay, every
            for writer in list(self._writers):
                _reset(writer)
            self._writers.clear()

        asyncio.run_coroutine_threadsafe(switch(), self._loop).result(10)

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._writers):
                _reset(writer)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        if self.mode == "refuse":
            self.stats.reset += 1
            _reset(writer)
            return
        self._writers.add(writer)
        if self.mode == "blackhole":
            with contextlib.suppress(Exception):
                while await reader.read(65536):
                    pass
            self._writers.discard(writer)
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            self._writers.discard(writer)
            _reset(writer)
            return
        self._writers.add(up_writer)
        try:
            await asyncio.gather(
                self._pipe(reader, up_writer, requests=True), self._pipe(up_reader, writer, requests=False)
            )
        finally:
            for w in (writer, up_writer):
                self._writers.discard(w)
                with contextlib.suppress(Exception):
                    w.close()

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, *, requests: bool) -> None:
        with contextlib.suppress(Exception):
            while data := await src.read(65536):
                if requests:
                    self._requests += 1
                    if self.mode == "flap" and self._requests % self.every == 0:
                        self.stats.reset += 1
                        _reset(dst)
                        return
                    self.stats.forwarded_requests += 1
                elif self.mode == "delay" and self.delay:
                    await asyncio.sleep(self.delay)
                dst.write(data)
                await dst.drain()
        with contextlib.suppress(Exception):
            dst.write_eof()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0): the peer sees 'connection reset', not a clean end."""
    sock = writer.get_extra_info("socket")
    with contextlib.suppress(Exception):
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()


@contextlib.contextmanager
def fault_proxy(target_url: str) -> Iterator[FaultProxy]:
    """A proxy in front of ``http://host:port``; stopped on exit."""
    host, port = target_url.removeprefix("http://").rstrip("/").split(":")
    proxy = FaultProxy(host, int(port)).start()
    try:
        yield proxy
    finally:
        proxy.stop()


# -- the fake CORE, as its own process -------------------------------------------------------------


class FakeCore:
    """``tools/fake_core.py`` running on a free port (see its docstring for the fault modes)."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.log_path = log_dir / f"fake-core-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeCore:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "tools" / "fake_core.py"), "--port", str(self.port)],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"fake CORE exited: {self.log_path.read_text(errors='replace')}")
            try:
                return httpx.get(self.url + "/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, 30, "the fake CORE")
        return self

    def mode(self, **mode: Any) -> None:
        httpx.post(self.url + "/fake/mode", json=mode, timeout=10).raise_for_status()

    def stats(self) -> dict[str, int]:
        stats: dict[str, int] = httpx.get(self.url + "/fake/stats", timeout=10).json()
        return stats

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@contextlib.contextmanager
def fake_core(log_dir: Path) -> Iterator[FakeCore]:
    core = FakeCore(log_dir).start()
    try:
        yield core
    finally:
        core.stop()


# -- memory ------------------------------------------------------------------------------------------


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from ``/proc/<pid>/status`` (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def has_proc() -> bool:
    return os.path.exists(f"/proc/{os.getpid()}/status")
