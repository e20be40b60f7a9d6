"""The ``astra`` command as operators use it."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import httpx
import jwt
import psutil
import pytest

from server import cli
from server.auth import ROLES, Authenticator, Principal, load_or_create_secret
from server.settings import Settings

from .conftest import MODEL_CACHE, ROOT, TENANT, ServerProcess, free_port, gone, popen_tied, wait_until


def astra(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_token_command_prints_a_token_of_the_data_dir(tmp_path: Path) -> None:
    """`astra token` signs with the data dir's secret and carries tenant, role and sub."""
    done = astra("token", "--data-dir", str(tmp_path), "--tenant", TENANT, "--role", "viewer", "--sub", "ana")
    assert done.returncode == 0, done.stderr
    secret = load_or_create_secret(tmp_path / "jwt-secret")
    principal = anyio.run(Authenticator(secret=secret).verify, done.stdout.strip())
    assert principal == Principal(TENANT, "viewer", "ana")
    refused = astra("token", "--data-dir", str(tmp_path), "--tenant", TENANT, "--role", "king")
    assert refused.returncode == 2 and "recorder" in refused.stderr


def test_token_command_uses_astra_data_dir(tmp_path: Path) -> None:
    """Without --data-dir, `astra token` signs with the secret of $ASTRA_DATA_DIR, the one the
    server started with that variable verifies (not a new ./data/jwt-secret)."""
    env = {**os.environ, "ASTRA_DATA_DIR": str(tmp_path)}
    done = astra("token", "--tenant", TENANT, "--role", "viewer", env=env)
    assert done.returncode == 0, done.stderr
    secret = load_or_create_secret(tmp_path / "jwt-secret")
    assert anyio.run(Authenticator(secret=secret).verify, done.stdout.strip()).role == "viewer"


def test_token_command_refuses_where_the_server_takes_tokens_from_a_jwks(tmp_path: Path) -> None:
    """With ``ASTRA_JWKS_URL`` set (production), ``astra token`` says the server would refuse an
    HS256 development token and where tokens come from, instead of printing one that gets 401."""
    env = {
        **os.environ,
        "ASTRA_DATA_DIR": str(tmp_path),
        "ASTRA_JWKS_URL": "https://idp.example/jwks.json",
        "ASTRA_JWT_AUDIENCE": "astra",
    }
    done = astra("token", "--tenant", TENANT, "--role", "viewer", env=env)
    assert done.returncode == 2 and done.stdout == ""
    assert "ASTRA_JWKS_URL (https://idp.example/jwks.json)" in done.stderr
    assert not (tmp_path / "jwt-secret").exists()


def test_serve_listens_where_the_environment_says_unless_a_flag_says_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ASTRA_PORT / ASTRA_HOST / ASTRA_DATA_DIR reach `astra serve`; its flags override them; a
    collaborator keeps its own port (ASTRA_PORT is the orchestrator's)."""
    monkeypatch.setenv("ASTRA_PORT", "8399")
    monkeypatch.setenv("ASTRA_HOST", "0.0.0.0")
    monkeypatch.setenv("ASTRA_DATA_DIR", "/srv/astra")

    def settings(*argv: str) -> Settings:
        result: Settings = cli._settings(cli.build_parser().parse_args(argv))
        return result

    served = settings("serve")
    assert (served.port, served.host, served.data_dir) == (8399, "0.0.0.0", Path("/srv/astra"))
    flagged = settings("serve", "--port", "9001", "--host", "127.0.0.1", "--data-dir", "here")
    assert (flagged.port, flagged.host, flagged.data_dir) == (9001, "127.0.0.1", Path("here"))
    assert settings("core").port == 8101
    monkeypatch.delenv("ASTRA_PORT")
    assert settings("serve").port == 8000


@pytest.mark.e2e
def test_serve_prints_console_url_with_token_in_fragment(spawn: Callable[..., ServerProcess]) -> None:
    """`astra serve` with no REDIS_URL starts its own Redis, answers /healthz, serves the
    console, and prints the console URL with the token after '#', never in a query."""
    server = spawn("serve")
    lines = [line for line in server.log_tail().splitlines() if "console" in line]
    assert lines and f"{server.url}/#token=" in lines[0] and "?" not in lines[0]
    # More links, one per person: two stenographers to join from other windows, an admin.
    links = re.findall(rf"{re.escape(server.url)}/#token=(\S+)", server.log_tail())
    secret = load_or_create_secret(server.data_dir / "jwt-secret")
    claims = [jwt.decode(t, secret, algorithms=["HS256"]) for t in links]
    people = [(c["role"], c["sub"]) for c in claims]
    assert people == [
        ("recorder", "demo"),
        ("stenographer", "luis"),
        ("stenographer", "marta"),
        ("admin", "admin"),
    ]
    import redis

    private = redis.Redis(unix_socket_path=str(server.data_dir / "redis" / "redis.sock"))
    assert private.config_get("appendonly") == {"appendonly": "yes"}
    private.close()
    page = httpx.get(server.url + "/")
    assert page.status_code == 200 and "<html" in page.text.lower()


@pytest.mark.e2e
def test_a_second_serve_on_a_data_dir_in_use_refuses_to_start_and_the_first_goes_on(
    spawn: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    """Two ``astra serve`` on one data dir without ``REDIS_URL`` (the Procfile's web process run
    twice): the second used to shut the first's embedded Redis down and start its own, and
    stopping it left the first without a store (503). Now it refuses, saying why, and the first
    keeps its Redis; once the first has stopped, the data dir is free again."""
    first = spawn("serve", data_dir=tmp_path / "shared")
    with pytest.raises(RuntimeError, match="is in use by another astra serve"):
        spawn("serve", data_dir=tmp_path / "shared")
    auth = {"authorization": f"Bearer {first.token()}"}
    started = httpx.post(
        f"{first.url}/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=auth
    )
    assert started.status_code == 201, started.text
    first.stop()
    again = spawn("serve", data_dir=tmp_path / "shared")
    assert httpx.get(f"{again.url}/healthz").status_code == 200


def test_second_tenant_is_data_only(spawn: Callable[..., ServerProcess], tmp_path: Path) -> None:
    """A tenant added as a folder plus a registry entry works with no code change, and its
    tokens cannot see the first tenant's sessions."""
    from server.settings import PACKAGE_TENANTS_DIR

    tenants = tmp_path / "tenants"
    shutil.copytree(PACKAGE_TENANTS_DIR, tenants)
    shutil.copytree(tenants / TENANT, tenants / "CONCEJO_PALMIRA")
    config = json.loads((tenants / "CONCEJO_PALMIRA" / "tenant.json").read_text())
    config.update(tenant_id="CONCEJO_PALMIRA", name="Concejo Municipal de Palmira")
    (tenants / "CONCEJO_PALMIRA" / "tenant.json").write_text(json.dumps(config))
    registry = json.loads((tenants / "registry.json").read_text())
    registry["tenants"]["CONCEJO_PALMIRA"] = {
        "adapter_id": "adapter_palmira_v1",
        "adapter_version": "1.0.0",
        "model": "m",
    }
    (tenants / "registry.json").write_text(json.dumps(registry))

    server = spawn("serve", env={"ASTRA_TENANTS_DIR": str(tenants)})
    palmira = {"authorization": f"Bearer {server.token(tenant='CONCEJO_PALMIRA')}"}
    cali = {"authorization": f"Bearer {server.token()}"}
    api = f"{server.url}/v1/orchestrator/session"
    started = httpx.post(f"{api}/start", json={"tenant_id": "CONCEJO_PALMIRA"}, headers=palmira)
    assert started.status_code == 201 and started.json()["pinned"]["adapter_id"] == "adapter_palmira_v1"
    cali_session = httpx.post(f"{api}/start", json={"tenant_id": TENANT}, headers=cali).json()["session_id"]
    assert httpx.get(f"{api}/{cali_session}", headers=palmira).status_code == 404
    assert httpx.get(f"{api}/{started.json()['session_id']}", headers=cali).status_code == 404


@contextlib.contextmanager
def serving_with_embedded_redis(
    tmp_path: Path, *, group_leader: bool = False
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """``astra serve`` on a data dir of its own (its embedded Redis), up with its Redis and its
    finalize worker: the process and its log file; killed on the way out if still running."""
    port, data = free_port(), tmp_path / "data"
    log_path = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL" and not k.startswith("ASTRA_")}
    env |= {"ASTRA_MODEL_CACHE": str(MODEL_CACHE), "ASTRA_ASR_WARMUP": "0"}
    with open(log_path, "wb") as log:
        server = popen_tied(
            [sys.executable, "-m", "server", "serve", "--port", str(port), "--data-dir", str(data)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=group_leader,  # as a terminal's foreground job
        )
    try:

        def up() -> bool:
            assert server.poll() is None, log_path.read_text(errors="replace")
            try:
                healthy = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False
            children = psutil.Process(server.pid).children(recursive=True)
            # The embedded Redis and the finalize worker (started with the app) are both running.
            return healthy and len(children) >= 2

        wait_until(up, 30, "astra serve with its Redis and finalize worker")
        yield server, log_path
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)


def test_ctrl_c_stops_serve_quietly_and_completely(tmp_path: Path) -> None:
    """Ctrl-C in a terminal sends SIGINT to the whole foreground process group: the server, its
    finalize worker and its embedded Redis. The server alone acts on it and stops the others in
    order: no worker's KeyboardInterrupt traceback, no "lost its pub/sub connection" from a Redis
    that went first (both were printed on every interrupted ``make run``), nothing left running."""
    with serving_with_embedded_redis(tmp_path, group_leader=True) as (server, log_path):
        children = psutil.Process(server.pid).children(recursive=True)
        os.killpg(server.pid, signal.SIGINT)
        assert server.wait(30) == 0
        wait_until(lambda: all(gone(child.pid) for child in children), 10, "the server's children to exit")
    output = log_path.read_text(errors="replace")
    assert "Application shutdown complete" in output
    for noise in ("Traceback", "KeyboardInterrupt", "lost its pub/sub connection"):
        assert noise not in output, output[-3000:]


def test_sigterm_stops_serve_and_its_redis_before_it_exits(tmp_path: Path) -> None:
    """Review: on SIGTERM (systemd, Docker) uvicorn shut down and then raised the signal again
    under Python's default handler, which ended the process before the `finally` that stops the
    embedded Redis: Redis was stopped only by its parent-death signal, after the data dir's lock
    was let go. Now the server exits 0 once it has stopped its Redis itself."""
    with serving_with_embedded_redis(tmp_path) as (server, log_path):
        (redis,) = [c for c in psutil.Process(server.pid).children() if "redis" in c.name()]
        server.send_signal(signal.SIGTERM)  # to the server alone, as Docker does
        assert server.wait(30) == 0, log_path.read_text(errors="replace")[-3000:]
        assert gone(redis.pid), "the embedded Redis outlived the server"
    output = log_path.read_text(errors="replace")
    assert "Application shutdown complete" in output and "Traceback" not in output, output[-3000:]


def test_sigterm_while_the_s3_check_waits_stops_serve_at_once(tmp_path: Path) -> None:
    """The startup's S3 check waits on an endpoint that takes the connection and never answers
    (a firewall's black hole): a SIGTERM then stops `astra serve` (exit 0, its Redis stopped)
    without waiting for the check's thread, which botocore keeps for minutes (its read timeout,
    times its attempts): asyncio.run waited for it, the platform's kill came first."""
    import socket

    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen()
        hole.settimeout(60)
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL" and not k.startswith("ASTRA_")}
        env |= {
            "ASTRA_MODEL_CACHE": str(MODEL_CACHE),
            "ASTRA_ASR_WARMUP": "0",
            "ASTRA_S3_BUCKET": "actas",
            "ASTRA_S3_ENDPOINT_URL": f"http://127.0.0.1:{hole.getsockname()[1]}",
            "ASTRA_S3_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "astra",
            "AWS_SECRET_ACCESS_KEY": "astra-secret",
        }
        log_path, data = tmp_path / "serve.log", str(tmp_path / "data")
        with open(log_path, "wb") as log:
            server = popen_tied(
                [sys.executable, "-m", "server", "serve", "--port", str(free_port()), "--data-dir", data],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            asked, _ = hole.accept()  # the check's request: never answered
            with asked:
                (redis,) = [c for c in psutil.Process(server.pid).children() if "redis" in c.name()]
                server.send_signal(signal.SIGTERM)
                assert server.wait(60) == 0, log_path.read_text(errors="replace")[-3000:]
                assert gone(redis.pid), "the embedded Redis outlived the server"
        finally:
            if server.poll() is None:
                server.kill()
                server.wait(10)


def test_urls_that_are_not_urls_stop_astra_in_one_line_naming_the_variable(redis_url: str) -> None:
    """Review: a REDIS_URL without its scheme, or a cluster URL without ports, and an S3 endpoint
    without its scheme ended `astra serve` in a traceback (exit 1); `astra verify` took a cluster
    that no node of answers for a mismatch (exit 1, the code for a hash that does not hold)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("ASTRA_") and k != "REDIS_URL"}
    for env, says in (
        ({"REDIS_URL": "localhost:6379"}, "astra: REDIS_URL: "),
        (
            {"REDIS_URL": "redis+cluster://h1,h2"},
            "astra: REDIS_URL: Redis Cluster URL: 'h1' is not host:port",
        ),
        (
            {"REDIS_URL": redis_url, "ASTRA_S3_BUCKET": "actas", "ASTRA_S3_ENDPOINT_URL": "minio:9000"},
            "astra: ASTRA_S3_ENDPOINT_URL / ASTRA_S3_REGION: Invalid endpoint: minio:9000",
        ),
    ):
        done = astra("serve", "--port", str(free_port()), env={**base, **env})
        assert done.returncode == 2 and done.stderr.startswith(says), done.stderr[-2000:]
        assert "Traceback" not in done.stderr
    done = astra("verify", "--session", "ses_x", env={**base, "REDIS_URL": "redis+cluster://127.0.0.1:1"})
    assert done.returncode == 2 and "cannot verify ses_x: Redis: " in done.stderr, done.stderr[-2000:]


def test_token_command_lists_the_roles_it_takes(tmp_path: Path) -> None:
    """The roles are in ``--help`` and a wrong one is refused with the list (a new user had to
    guess "stenographer"); they are exactly the roles the server knows."""
    assert cli.TOKEN_ROLES == ROLES
    helped = astra("token", "--help")
    assert helped.returncode == 0 and "{recorder,stenographer,viewer,admin}" in helped.stdout
    refused = astra("token", "--data-dir", str(tmp_path), "--tenant", TENANT, "--role", "relator")
    assert refused.returncode == 2 and "stenographer" in refused.stderr and not refused.stdout


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"ASTRA_S3_OBJECT_LOCK_DAYS": "-30", "ASTRA_S3_BUCKET": "actas"}, "0 (no lock) or more"),
        ({"ASTRA_S3_OBJECT_LOCK_DAYS": "3650"}, "needs ASTRA_S3_BUCKET"),
        ({"ASTRA_S3_BUCKET": "actas", "ASTRA_DOWNLOAD_URL_TTL": "864000"}, "at most 604800"),
        ({"ASTRA_DOWNLOAD_URL_TTL": "0"}, "1 second or more"),
        ({"ASTRA_PORT": "ocho mil"}, "ASTRA_PORT must be a whole number"),
        ({"ASTRA_ASR_WARMUP": "False "}, None),  # a boolean as people write it: off
        ({"ASTRA_ASR_WARMUP": "nunca"}, "ASTRA_ASR_WARMUP must be"),
        # review: a traceback inside the startup, after Redis and S3 were up
        ({"ASTRA_FINALIZE_WORKERS": "0"}, "ASTRA_FINALIZE_WORKERS must be 1 or more"),
        ({"ASTRA_RETRY_ATTEMPTS": "0"}, "ASTRA_RETRY_ATTEMPTS must be 1 or more"),
        # review: redis-server exited on it before opening its log, and the start said nothing
        ({"ASTRA_REDIS_APPENDFSYNC": "every-sec"}, "ASTRA_REDIS_APPENDFSYNC must be one of"),
        # a bound of none would hold every recorder at its first frame
        ({"ASTRA_MAX_AUDIO_BACKLOG": "0"}, "ASTRA_MAX_AUDIO_BACKLOG must be more than 0 seconds"),
        # review: each was taken and broke every connection or session later: a token bucket
        # refusing a rate of 0 on each connection, a pong awaited 0 s, every recorded input
        # SESSION_TOO_LONG, int(nan) on every utterance
        ({"ASTRA_FRAME_RATE": "0"}, "ASTRA_FRAME_RATE must be more than 0 (it is 0)"),
        ({"ASTRA_FRAME_BURST": "0"}, "ASTRA_FRAME_BURST must be more than 0"),
        ({"ASTRA_IDLE_TIMEOUT": "0"}, "ASTRA_IDLE_TIMEOUT must be more than 0"),
        ({"ASTRA_MAX_SESSION_SECONDS": "-1"}, "ASTRA_MAX_SESSION_SECONDS must be more than 0"),
        (
            {"ASTRA_MAX_AUDIO_IN_FLIGHT": "nan"},
            "ASTRA_MAX_AUDIO_IN_FLIGHT must be a finite number, not 'nan'",
        ),
        ({"ASTRA_PING_INTERVAL": "inf"}, "ASTRA_PING_INTERVAL must be a finite number"),
        # review: a send queue of 0 was unbounded (a slow reader's events grew the server's memory),
        # a lag of 0 cut every connection at its first catch-up, and a finalize wait of 0 stopped
        # every finalize worker's job at once
        ({"ASTRA_SEND_QUEUE_EVENTS": "0"}, "ASTRA_SEND_QUEUE_EVENTS must be more than 0"),
        ({"ASTRA_MAX_LAG_EVENTS": "-5"}, "ASTRA_MAX_LAG_EVENTS must be more than 0"),
        ({"ASTRA_FINALIZE_WAIT": "0"}, "ASTRA_FINALIZE_WAIT must be more than 0"),
    ],
)
def test_settings_the_server_cannot_run_as_meant_are_refused_naming_the_variable(
    env: dict[str, str], says: str | None
) -> None:
    """Review: a negative or bucketless Object Lock ran with no lock at all (actas believed
    locked were not), a link lifetime S3 refuses was taken, "False" for a boolean meant on, and a
    number that was not one ended in a bare traceback. Each is refused naming the variable, and
    `astra` says so in one line (exit 2)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("ASTRA_") and k != "REDIS_URL"}
    if says is None:
        assert Settings.from_env({**base, **env}).asr_warmup is False
        return
    with pytest.raises(ValueError, match=re.escape(says)):
        Settings.from_env({**base, **env})
    done = astra(
        "token",
        "--tenant",
        TENANT,
        "--role",
        "viewer",
        "--data-dir",
        "/tmp/astra-settings",
        env={**base, **env},
    )
    assert done.returncode == 2 and done.stderr.startswith("astra: ") and "Traceback" not in done.stderr


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "127.0.0.1", "::1", "localhost"])
def test_serve_prints_working_links_only_where_no_one_else_can_reach_it(
    host: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Review: `astra serve` printed four 12-hour bearer links (an administrator's among them) on
    every start without a JWKS, and behind the Procfile's `--host 0.0.0.0` that output is the
    platform's log, readable by whoever reads logs. Listening beyond this machine it now says how
    to make a link; the demo's links are printed for a loopback address only (`make run`)."""
    import uvicorn

    from server import app

    async def ready(settings: Settings) -> None:
        pass

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1")  # not reached: no checks, no uvicorn
    monkeypatch.setattr(app, "check_startup", ready)
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    assert cli.main(["serve", "--host", host, "--port", "8411", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    local = host in ("127.0.0.1", "::1", "localhost")
    assert ("#token=ey" in out) is local, out
    assert ("astra token --data-dir" in out) is not local, out
    # behind a reverse proxy on the same machine: bound to loopback, reached by the public
    monkeypatch.setenv("ASTRA_PUBLIC_URL", "https://actas.example.gov.co")
    assert cli.main(["serve", "--host", host, "--port", "8411", "--data-dir", str(tmp_path)]) == 0
    assert "#token=ey" not in capsys.readouterr().out


def test_a_secret_file_too_short_stops_astra_in_one_line(tmp_path: Path) -> None:
    """Review: the refusal of a secret file too short (ConfigError) reached the operator as a
    traceback and exit 1 from `astra serve`, `astra token` and `astra guard`; like a setting the
    server cannot run with, it is now one line saying what to do, exit 2."""
    (tmp_path / "jwt-secret").write_bytes(b"short")
    done = astra("token", "--tenant", TENANT, "--role", "viewer", "--data-dir", str(tmp_path))
    assert done.returncode == 2 and done.stderr.startswith("astra: the secret file"), done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.e2e
def test_a_wheel_carries_the_console_and_the_tenants_data(tmp_path: Path) -> None:
    """Review: the console (static/) lay outside the package, so any install that was not
    editable (a wheel, a container image) answered 500 on `/` and 404 under `/static`. The wheel
    carries it as server/static (and the demo tenant's data), where the app looks first."""
    source = tmp_path / "source"  # what the package is made of, and no build/ left by another
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in ("server", "static"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("astra_orchestrator-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    console = {p.relative_to(ROOT / "static").as_posix() for p in (ROOT / "static").rglob("*") if p.is_file()}
    assert {f"server/static/{name}" for name in console} <= names
    assert "server/tenants_data/registry.json" in names and "server/py.typed" in names
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    found = subprocess.run(
        [sys.executable, "-c", "from server.app import STATIC_DIR; print(STATIC_DIR)"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(unpacked)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert found.stdout.strip() == str(unpacked / "server" / "static"), found.stderr


def test_a_redis_that_does_not_answer_stops_serve_in_one_line(tmp_path: Path) -> None:
    """Review: a REDIS_URL where no Redis answers (and the S3 bucket checks) failed inside the
    app's startup: a traceback and uvicorn's exit 3. `astra serve` checks them before serving and
    says what is wrong in one line naming the variable, exit 2, without the URL's password."""
    env = {**os.environ, "REDIS_URL": "redis://:s3cret@127.0.0.1:1/0"}
    done = astra("serve", "--port", str(free_port()), "--data-dir", str(tmp_path), env=env)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("astra: REDIS_URL: no Redis answers at 127.0.0.1:1"), done.stderr
    assert "Traceback" not in done.stderr and "s3cret" not in done.stderr


def test_a_jwks_without_its_audience_stops_serve_in_one_line(tmp_path: Path) -> None:
    """Review: with ASTRA_JWKS_URL and no ASTRA_JWT_AUDIENCE the server started (a warning), and
    accepted any token the identity provider made for another application with these claims.
    `astra serve` refuses to start, naming the setting; the collaborators, which take no tokens,
    are not held to it."""
    env = {
        **os.environ,
        "ASTRA_JWKS_URL": "https://idp.example/jwks.json",
        "REDIS_URL": "redis://127.0.0.1:1",
    }
    env.pop("ASTRA_JWT_AUDIENCE", None)
    done = astra("serve", "--port", str(free_port()), "--data-dir", str(tmp_path), env=env)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("astra: ASTRA_JWKS_URL needs ASTRA_JWT_AUDIENCE"), done.stderr
    assert Settings.from_env(env).jwks_url  # `astra core` and the others read the same settings
