"""What the benchmarks share: a real ``astra serve`` process on a free port, and percentiles."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
TENANT = "CONCEJO_CALI"
sys.path.insert(0, str(ROOT))

from server.auth import issue_token, load_or_create_secret  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """``astra serve`` with its own data dir and embedded Redis; ``env`` adds settings."""

    def __init__(self, env: dict[str, str] | None = None, port: int | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="astra-bench-"))
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        base = {k: v for k, v in os.environ.items() if not k.startswith("ASTRA_") and k != "REDIS_URL"}
        env = base | {"ASTRA_ASR_WARMUP": "0"} | (env or {})
        self.log = (self.dir / "server.log").open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server",
                "serve",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.dir / "data"),
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"server did not start; see {self.dir / 'server.log'}")
            time.sleep(0.1)
        secret = load_or_create_secret(self.dir / "data" / "jwt-secret")
        self.token = issue_token(secret, tenant_id=TENANT, role="recorder", sub="bench", ttl=3600)
        self.http = httpx.Client(
            base_url=f"{self.base}/v1/orchestrator/session",
            headers={"authorization": f"Bearer {self.token}"},
            timeout=300,
        )

    def session(self, metadata: dict[str, Any] | None = None) -> str:
        response = self.http.post("/start", json={"tenant_id": TENANT, "metadata": metadata or {}})
        response.raise_for_status()
        session_id: str = response.json()["session_id"]
        return session_id

    def stop(self, *, keep: bool = False) -> None:
        self.http.close()
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()
        if keep:
            print(f"server data and log kept in {self.dir}", file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
