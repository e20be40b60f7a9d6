"""The ``astra`` command: ``serve``, ``token``, and each collaborator as its own HTTP service."""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .settings import Settings

DEMO_TENANT = "CONCEJO_CALI"
TOKEN_ROLES = ("recorder", "stenographer", "viewer", "admin")
"""``astra token --role`` choices: server.auth.ROLES, named here so the command's help is built
without importing the server (a test keeps the two equal)."""


def _common(parser: argparse.ArgumentParser, port: int | None) -> None:
    """``--host``, ``--port`` and ``--data-dir``; each overrides its ``ASTRA_*`` variable. A
    ``port`` of None leaves the port to ``ASTRA_PORT`` (the orchestrator's; default 8000)."""
    parser.add_argument(
        "--host", default=None, help="interface to listen on (default $ASTRA_HOST or 127.0.0.1)"
    )
    help_port = f"default {port}" if port is not None else "default $ASTRA_PORT or 8000"
    parser.add_argument("--port", type=int, default=port, help=help_port)
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="data directory (default $ASTRA_DATA_DIR or ./data)"
    )


def _settings(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from .settings import Settings

    settings = Settings.from_env()
    changes: dict[str, object] = {}
    if args.port is not None:
        changes["port"] = args.port
    if args.host:
        changes["host"] = args.host
    if args.data_dir:
        changes["data_dir"] = args.data_dir
    return dataclasses.replace(settings, **changes)  # type: ignore[arg-type]


def logging_config() -> dict[str, Any]:
    """uvicorn's logging, plus the server's own loggers (``astra.*``: an audio owner that lost
    its lease, a VAD child restarted, a LEARN export that failed) on the same stream, at INFO,
    each line with its level and logger. Without this they had no handler: INFO was dropped and
    a warning reached stderr bare, with nothing to tell it from a print."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["astra"] = {
        "()": "uvicorn.logging.DefaultFormatter",
        "fmt": "%(levelprefix)s %(name)s: %(message)s",
    }
    config["filters"] = {"redact": {"()": "server.log_redaction.RedactSecrets"}}
    config["handlers"]["astra"] = {
        "formatter": "astra",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
        "filters": ["redact"],  # an error's text may carry a signed link
    }
    config["loggers"]["astra"] = {"handlers": ["astra"], "level": "INFO", "propagate": False}
    return config


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How ``astra serve`` runs uvicorn (the load benchmark's echo server uses the same)."""
    from .wsprotocol import KeepaliveProtocol

    return {
        "host": settings.host,
        "port": settings.port,
        # Any bytes after a ping (not only the pong) keep a connection alive; see wsprotocol.py.
        "ws": KeepaliveProtocol,
        # What uvicorn's "auto" picks when uvicorn[standard] is installed, named so that a missing
        # one fails at startup instead of silently running on the slower pure-Python pair.
        "loop": "uvloop",
        "http": "httptools",
        "ws_max_size": settings.limits.max_frame_bytes * 4,
        "ws_ping_interval": settings.limits.ping_interval,
        "ws_ping_timeout": settings.limits.idle_timeout,
        # No permessage-deflate: PCM audio hardly compresses and acks are a few bytes, while
        # deflating every message in and out was the largest cost on the event loop under load.
        "ws_per_message_deflate": False,
        "lifespan": "on",
        "log_level": "info",
        "log_config": logging_config(),
        "timeout_graceful_shutdown": 10,
    }


def _claim_data_dir(data_dir: Path) -> bool:
    """Lock ``<data dir>/serve.lock`` for the rest of this process's life (the kernel lets go
    when it ends, however it ends); False when another ``astra serve`` holds it. Its embedded
    Redis is the data dir's: a second server would shut it down and start its own."""
    import fcntl
    import os

    fd = os.open(data_dir / "serve.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    return True  # the descriptor stays open (not inherited by children) until the process ends


def serve(args: argparse.Namespace) -> int:
    # SIGTERM (systemd, Docker, a platform's stop) ends it as Ctrl-C does. uvicorn shuts down
    # gracefully, then raises the signal again under the handler it found: Python's default ended
    # the process there, before the `finally` that stops the embedded Redis, which then stopped
    # only by its parent-death signal, after the data dir's lock was let go (a restart could
    # start a second Redis on the AOF the first was still writing).
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        return _serve(args)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _serve(args: argparse.Namespace) -> int:
    import asyncio

    import uvicorn

    from .app import check_startup, create_app
    from .auth import issue_token, load_or_create_secret
    from .malloc import SERVER_MMAP_THRESHOLD, tune_malloc
    from .redis_server import EmbeddedRedis
    from .settings import is_loopback

    tune_malloc(SERVER_MMAP_THRESHOLD)
    settings = _settings(args)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    embedded: EmbeddedRedis | None = None
    if not settings.redis_url:
        if not _claim_data_dir(settings.data_dir):
            print(
                f"astra serve: {settings.data_dir} is in use by another astra serve (or an astra "
                "verify reading its Redis), whose embedded Redis this one would take over; run more "
                "instances with REDIS_URL naming one shared Redis (README, Running in production), "
                "or give each its own --data-dir",
                file=sys.stderr,
            )
            return 2
        embedded = EmbeddedRedis(settings.data_dir, appendfsync=settings.redis_appendfsync)
    try:  # from its start on: a SIGTERM at any moment after it stops it (finally)
        if embedded is not None:
            try:
                embedded.start()  # stops the redis-server it started when it fails
            except (RuntimeError, TimeoutError) as exc:
                print(f"astra serve: the embedded Redis did not start: {exc}", file=sys.stderr)
                return 2
            settings = dataclasses.replace(settings, redis_url=embedded.url)
        asyncio.run(check_startup(settings))  # a wrong setting: one line naming it (main), exit 2
        if not settings.jwks_url:
            secret = load_or_create_secret(settings.secret_path)
        if not settings.jwks_url and (settings.public_url or not is_loopback(settings.host)):
            # Links printed here go to a platform's logs: working 12-hour bearer tokens (an
            # administrator's among them) for anyone who reads the logs. Reachable from other
            # machines (or behind a proxy: a public URL), the server says how to make one instead.
            print(
                f"\nASTRA listening on {settings.host}:{settings.port}; make a console link with "
                f"`astra token --data-dir {settings.data_dir} --tenant TENANT --role ROLE --sub NAME` "
                f"and open {settings.base_url}/#token=TOKEN\n",
                flush=True,
            )
        elif not settings.jwks_url:
            # One link per person: two people on one link are one person to the console (the
            # same name in the presence list, their edits told apart only as "another window").
            def link(role: str, sub: str) -> str:
                token = issue_token(secret, tenant_id=DEMO_TENANT, role=role, sub=sub, ttl=12 * 3600)
                return f"{settings.base_url}/#token={token}"

            print(
                f"\nASTRA demo console: {link('recorder', 'demo')}"
                "\n  stenographers, each in another window (join the session from the list):"
                f"\n    luis:  {link('stenographer', 'luis')}"
                f"\n    marta: {link('stenographer', 'marta')}"
                f"\n  an administrator (may also discard a session with blocks): {link('admin', 'admin')}\n",
                flush=True,
            )
        uvicorn.run(create_app(settings), **uvicorn_options(settings))
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)  # a stop asked for, as Ctrl-C's: the `finally` blocks run


def token(args: argparse.Namespace) -> int:
    from .auth import issue_token, load_or_create_secret
    from .settings import Settings

    settings = Settings.from_env()
    if settings.jwks_url:  # the server would refuse the token: say so rather than print one
        print(
            "astra token signs development HS256 tokens with the data dir's secret, and a server "
            f"with ASTRA_JWKS_URL ({settings.jwks_url}) accepts only RS256/ES256 tokens from that "
            "identity provider: get the token from it (or unset ASTRA_JWKS_URL in development)",
            file=sys.stderr,
        )
        return 2
    path = settings.jwt_secret_file or (args.data_dir or settings.data_dir) / "jwt-secret"
    secret = load_or_create_secret(path)
    print(issue_token(secret, tenant_id=args.tenant, role=args.role, sub=args.sub, ttl=args.ttl))
    return 0


def _print_checks(checks: list[Any]) -> int:
    """Print each check; 0 when all hold, 1 when one does not (2, used by the callers: the checks
    could not be made, so an audit script does not take an outage for tampering)."""
    for check in checks:
        mark = "OK" if check.ok else "MISMATCH"
        print(f"{mark}: {check.name}: expected {check.expected}, recomputed {check.actual}")
    return 0 if all(c.ok for c in checks) else 1


def verify_files(args: argparse.Namespace) -> int:
    """Check a sealed acta, its audit report and its evidence against one another (no servers)."""
    from .errors import InvalidInput
    from .verify import verify_files as check

    try:
        document, report, evidence = (Path(name).read_bytes() for name in args.files)
        return _print_checks(check(document, report, evidence))
    except OSError as exc:
        print(f"cannot verify: {exc}", file=sys.stderr)
    except InvalidInput as exc:
        print(f"cannot verify: {exc.message}", file=sys.stderr)
    return 2


def verify(args: argparse.Namespace) -> int:
    """Recompute a finalized session's hashes from what is stored and compare."""
    if args.files:
        return verify_files(args)
    import asyncio
    import contextlib

    from redis.exceptions import RedisClusterException, RedisError

    from .auth import load_or_create_secret
    from .buffer import SessionBuffer
    from .errors import AstraError
    from .redis_client import make_redis
    from .redis_server import EmbeddedRedis, redis_alive
    from .services.objectstore import make_object_store
    from .verify import verify_session

    settings = _settings(args)
    embedded: EmbeddedRedis | None = None
    if not settings.redis_url:
        if not (settings.data_dir / "redis").is_dir():  # not a server's data dir: say so, make none
            print(
                f"cannot verify {args.session}: {settings.data_dir} is not a data directory of "
                "astra serve (no redis/ in it); give --data-dir, or REDIS_URL for an external Redis",
                file=sys.stderr,
            )
            return 2
        socket_path = settings.data_dir.resolve() / "redis" / "redis.sock"
        if redis_alive(socket_path):  # a running server's Redis: read it, leave it running
            settings = dataclasses.replace(settings, redis_url=f"unix://{socket_path}")
        elif not _claim_data_dir(settings.data_dir):  # a server starting or stopping holds it
            print(
                f"cannot verify {args.session}: {settings.data_dir} is in use by an astra serve "
                "whose Redis does not answer yet (starting, or stopping): try again in a moment",
                file=sys.stderr,
            )
            return 2
        else:  # held until verify ends: a server started meanwhile would take this Redis over
            embedded = EmbeddedRedis(settings.data_dir, appendfsync=settings.redis_appendfsync)
            try:
                embedded.start()
            except (RuntimeError, TimeoutError) as exc:  # not a mismatch (1): nothing was checked
                print(
                    f"cannot verify {args.session}: the data dir's Redis did not start: {exc}",
                    file=sys.stderr,
                )
                return 2
            settings = dataclasses.replace(settings, redis_url=embedded.url)

    async def run() -> int:
        redis = make_redis(settings)
        try:
            # the local store's link key comes from the data dir's secret; S3 needs none made
            secret = b"" if settings.s3_bucket else load_or_create_secret(settings.secret_path)
            store = make_object_store(settings, secret)
            try:
                checks = await verify_session(SessionBuffer(redis), store, args.session)
            except AstraError as exc:  # not found, not finalized, the store or S3 unavailable
                print(f"cannot verify {args.session}: {exc.message}", file=sys.stderr)
                return 2
            except (RedisError, RedisClusterException) as exc:  # the second: no cluster node answers
                print(f"cannot verify {args.session}: Redis: {exc}", file=sys.stderr)
                return 2
            except (KeyError, TypeError, ValueError) as exc:  # a stored result of another shape
                print(
                    f"cannot verify {args.session}: its stored result cannot be read ({exc!r})",
                    file=sys.stderr,
                )
                return 2
        finally:
            with contextlib.suppress(Exception):
                await redis.aclose()
        return _print_checks(checks)

    try:
        return asyncio.run(run())
    finally:
        if embedded is not None:
            embedded.stop()


def service(args: argparse.Namespace) -> int:
    import asyncio

    import uvicorn

    from .errors import ConfigError
    from .services.http_service import check_exposure, check_startup, create_service_app

    settings = _settings(args)
    try:
        check_exposure(settings.host, settings.service_token)
        asyncio.run(check_startup(args.command, settings))
    except ConfigError as exc:
        print(f"astra {args.command}: {exc.message}", file=sys.stderr)
        return 2
    uvicorn.run(
        create_service_app(args.command, settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        log_config=logging_config(),
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="astra", description="ASTRA Orchestrator")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the orchestrator (embedded Redis and services by default)")
    _common(p, None)
    p.set_defaults(func=serve)

    p = sub.add_parser("token", help="print a development JWT signed with the data dir's secret")
    p.add_argument(
        "--data-dir", type=Path, default=None, help="data directory (default $ASTRA_DATA_DIR or ./data)"
    )
    p.add_argument("--tenant", required=True)
    p.add_argument("--role", required=True, choices=TOKEN_ROLES, help="what the token may do (see README)")
    p.add_argument("--sub", default="dev")
    p.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    p.set_defaults(func=token)

    p = sub.add_parser("verify", help="recompute a finalized session's hashes and compare them")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--session", help="a finalized session, read from Redis and the object store")
    which.add_argument(
        "--files",
        nargs=3,
        metavar=("ACTA", "AUDIT", "EVIDENCE"),
        help="the sealed acta (.docx), its audit report (.audit.json) and evidence (.evidence.msgpack)",
    )
    p.add_argument(
        "--data-dir", type=Path, default=None, help="data directory (default $ASTRA_DATA_DIR or ./data)"
    )
    p.add_argument("--host", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=verify, port=None)

    for kind, port in (
        ("core", 8101),
        ("builder", 8102),
        ("guard", 8103),
        ("tenants", 8104),
        ("registry", 8105),
    ):
        p = sub.add_parser(kind, help=f"serve the embedded {kind.upper()} over HTTP")
        _common(p, port)
        p.set_defaults(func=service)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from .errors import ConfigError
    from .settings import SettingsError

    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
    except SettingsError as exc:  # a variable the server cannot run with, named: no traceback
        print(f"astra: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:  # a file it cannot run with (a secret too short), said why
        print(f"astra: {exc.message}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    raise SystemExit(main())
