"""``create_app(settings)``: routes, static console, and the lifespan that owns every client.

Redis, httpx and the embedded services are created when the app starts and closed when it
stops; handlers reach them through ``app.state.astra`` (an :class:`AppState`), never by import.
Each collaborator is embedded unless its URL is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import redis.exceptions
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from .audio_pipeline import TELL_READ_BYTES, AudioService, AudioSettings
from .auth import Authenticator, load_or_create_secret
from .buffer import STORE_ERRORS, SessionBuffer, refusal_error, refuses_writes
from .cancel import cancel_and_wait
from .endpoint import stream_endpoint
from .errors import AstraError, ConfigError, StoreUnavailable
from .fanout import LiveHub
from .http_api import astra_error, http_error, routes
from .log_redaction import install as redact_signed_links
from .metrics import Metrics, watch_loop_lag
from .orchestrator import Orchestrator
from .pressure import IngestPressure
from .redis_client import evicting_policies, make_redis
from .services.asr import Transcriber
from .services.builder import Builder, EmbeddedBuilder, HttpBuilder
from .services.core import CircuitBreaker, Core, EmbeddedCore, HttpCore
from .services.guard import EmbeddedGuard, Guard, HttpGuard
from .services.http_client import collaborators_client, ignored_proxies
from .services.learn import HttpLearn, StoreLearn
from .services.objectstore import S3ObjectStore, make_object_store
from .services.tenants import DirectoryTenants, FileRegistry, HttpRegistry, HttpTenants, Registry, Tenants
from .settings import Settings
from .state import AppState
from .vad_process import VadProcess
from .workers import WorkerPool


def _console_dir() -> Path:
    """The console's files: installed in the package (a wheel, an image), else the checkout's."""
    here = Path(__file__).resolve().parent
    installed = here / "static"
    return installed if (installed / "index.html").is_file() else here.parent / "static"


STATIC_DIR = _console_dir()
GC_YOUNG_THRESHOLD = 7000
"""Allocations between young-generation collections while serving (Python's default: 700)."""

log = logging.getLogger("astra.app")


async def store_unavailable(request: Request, exc: Exception) -> Response:
    """Any HTTP request that found Redis unreachable: 503 STORE_UNAVAILABLE, not a bare 500."""
    return await astra_error(request, StoreUnavailable(f"the session store is unavailable: {exc}"))


async def store_refusing(request: Request, exc: Exception) -> Response:
    """Redis refusing writes (OOM, MISCONF, NOREPLICAS, BUSY): 503 STORE_UNAVAILABLE; any other Redis
    error reply is a bug of ours and stays a 500."""
    if not isinstance(exc, redis.exceptions.ResponseError) or not refuses_writes(exc):
        raise exc
    return await astra_error(request, refusal_error(exc))


async def check_startup(settings: Settings) -> None:
    """What the server cannot run without, checked before it serves (``astra serve``), so that a
    wrong setting is one line naming it (ConfigError) rather than a traceback from the startup:
    a JWKS with its audience, the secret file, Redis answering at ``REDIS_URL``, the S3 bucket.
    The app's startup checks them again (an app started otherwise)."""
    if settings.jwks_url and not settings.jwt_audience:
        # PyJWT checks no audience then for a token without one: any token the provider signs
        # with these claims for another application of the city would be taken
        raise ConfigError(
            "ASTRA_JWKS_URL needs ASTRA_JWT_AUDIENCE, the audience (aud) the identity provider gives "
            "ASTRA's tokens: without it a token made for another application is accepted"
        )
    secret = load_or_create_secret(settings.secret_path)
    client = make_redis(settings)
    try:
        await client.ping()
    except (redis.exceptions.RedisError, redis.exceptions.RedisClusterException, OSError) as exc:
        where = urlsplit(settings.redis_url or "")
        at = where.path if where.scheme == "unix" else where.netloc.rpartition("@")[2]  # no password
        raise ConfigError(f"REDIS_URL: no Redis answers at {at} ({exc})") from exc
    finally:
        await client.aclose()
    store = make_object_store(settings, secret)
    if isinstance(store, S3ObjectStore):
        await store.check()


def create_app(settings: Settings) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        redact_signed_links()  # after the server configured logging: its access log shows paths
        secret = load_or_create_secret(settings.secret_path)
        redis = make_redis(settings)
        await redis.ping()
        if evicting := await evicting_policies(redis):
            log.error(
                "Redis may evict keys under its memory limit (maxmemory-policy %s): an evicted key is "
                "lost minute content; set maxmemory-policy noeviction (README, Running in production)",
                ", ".join(sorted(evicting)),
            )
        metrics = Metrics()
        store = make_object_store(settings, secret)
        if isinstance(store, S3ObjectStore):
            await store.check()
        hub = LiveHub(redis, settings.limits.send_queue_events)
        await hub.start()
        # Finalize's CPU work runs in worker processes (see server.workers); start one now.
        workers = WorkerPool(settings.finalize_workers, job_timeout=settings.limits.finalize_wait)
        workers.start()
        remote = (
            settings.core_url,
            settings.builder_url,
            settings.guard_url,
            settings.learn_url,
            settings.tenants_url,
            settings.registry_url,
        )
        if any(remote) and (proxies := ignored_proxies(os.environ)):
            log.warning(
                "%s set but not used: the collaborators are reached directly (README, Configuration)",
                "/".join(proxies),
            )
        # LEARN is not one of ours (no ``astra learn``): it is not sent the collaborators' secret
        async with (
            collaborators_client(settings.retry.timeout, settings.service_token) as http,
            collaborators_client(settings.retry.timeout) as learn_http,
        ):
            transcriber = Transcriber.from_settings(settings)
            core: Core = (
                HttpCore(
                    http,
                    settings.core_url,
                    CircuitBreaker(settings.core_breaker_threshold, settings.core_breaker_cooldown),
                )
                if settings.core_url
                else EmbeddedCore(transcriber)
            )
            if settings.asr_warmup and not settings.core_url:
                # Load the model off the loop now, so the first utterance does not pay for it.
                transcriber.warm_up_soon()
            builder: Builder = (
                HttpBuilder(http, settings.builder_url) if settings.builder_url else EmbeddedBuilder(workers)
            )
            guard: Guard = (
                HttpGuard(http, settings.guard_url)
                if settings.guard_url
                else EmbeddedGuard(store, settings.download_url_ttl, workers)
            )
            tenants: Tenants = (
                HttpTenants(http, settings.tenants_url)
                if settings.tenants_url
                else DirectoryTenants(settings.tenants_dir)
            )
            registry: Registry = (
                HttpRegistry(http, settings.registry_url)
                if settings.registry_url
                else FileRegistry(settings.tenants_dir / "registry.json")
            )
            orchestrator = Orchestrator(
                settings=settings,
                buffer=SessionBuffer(redis),
                core=core,
                builder=builder,
                guard=guard,
                tenants=tenants,
                registry=registry,
                store=store,
                metrics=metrics,
                workers=workers,
            )
            orchestrator.learn = (
                HttpLearn(learn_http, settings.learn_url) if settings.learn_url else StoreLearn(store)
            )
            orchestrator.buffer.max_audio_backlog = settings.limits.max_audio_backlog_bytes
            if settings.redis_ack_replicas:
                orchestrator.buffer.wait_for_replicas(settings.redis_ack_replicas, settings.redis_ack_timeout)
            pressure = IngestPressure()
            orchestrator.audio = AudioService(
                buffer=orchestrator.buffer,
                vad=VadProcess(),
                settings=AudioSettings(
                    lease_ttl=settings.audio_lease_ttl,
                    max_in_flight=settings.limits.max_audio_in_flight,
                    tell_read_bytes=max(
                        1, min(TELL_READ_BYTES, settings.limits.max_audio_backlog_bytes // 4)
                    ),
                ),
                record=orchestrator.record_utterance,
                transcribe=orchestrator.transcribe_utterance,
                rejected=orchestrator.audio_rejected,
                metrics=metrics,
                pressure=pressure,
            )
            metrics.audio_lag.set_function(orchestrator.audio.lag)
            metrics.ingest_waiting.set_function(lambda: pressure.waiting)
            metrics.ingest_backlog.set_function(lambda: pressure.backlog)
            app.state.astra = AppState(
                settings=settings,
                redis=redis,
                auth=Authenticator(
                    secret=secret,
                    jwks_url=settings.jwks_url,
                    audience=settings.jwt_audience,
                    issuer=settings.jwt_issuer,
                    leeway=settings.jwt_leeway,
                    jwks_cache_ttl=settings.jwks_cache_ttl,
                    jwks_timeout=settings.retry.timeout,
                ),
                hub=hub,
                metrics=metrics,
                store=store,
                orchestrator=orchestrator,
                pressure=pressure,
            )
            # Everything built so far lives as long as the app: move it out of the collector's
            # reach, and collect the young generation less often (one full collection stalled
            # every connection for up to 65 ms under load; docs/performance.md, "What changed").
            gc.collect()
            gc.freeze()
            thresholds = gc.get_threshold()
            gc.set_threshold(GC_YOUNG_THRESHOLD, *thresholds[1:])
            lag_probe = asyncio.create_task(watch_loop_lag(metrics.loop_lag_seconds.observe), name="loop-lag")
            learn_retries = asyncio.create_task(
                orchestrator.retry_learn_exports_forever(), name="learn-retries"
            )
            try:
                yield
            finally:
                lag_probe.cancel()
                await cancel_and_wait([learn_retries])
                await orchestrator.stop_exports()
                gc.set_threshold(*thresholds)
                gc.unfreeze()
                await orchestrator.audio.stop()
                await hub.stop()
                transcriber.close()
                await workers.close()
                await redis.aclose()

    async def console(request: object) -> Response:
        return FileResponse(STATIC_DIR / "index.html")

    all_routes = [
        *routes,
        WebSocketRoute("/v1/orchestrator/session/{session_id}/stream", stream_endpoint),
        Route("/", console, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static"),
    ]
    return Starlette(
        routes=all_routes,
        lifespan=lifespan,
        exception_handlers={
            AstraError: astra_error,
            HTTPException: http_error,
            **dict.fromkeys(STORE_ERRORS, store_unavailable),
            redis.exceptions.ResponseError: store_refusing,
        },
    )
