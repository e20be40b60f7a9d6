"""Serve the embedded collaborators over HTTP (``astra core|builder|guard|tenants|registry``).

A deployment can run each as its own service; our HTTP clients are tested against these apps
over real sockets, so both implementations of every interface run the same logic.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import msgpack
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..auth import load_or_create_secret
from ..errors import AstraError, AuthError, BuildFailed, ConfigError, InvalidInput
from ..log_redaction import install as redact_signed_links
from ..settings import is_loopback
from .asr import Transcriber
from .builder import DOCX_TYPE, BuildRequest, build_sync
from .core import AudioRequest, EmbeddedCore, TextRequest
from .guard import EmbeddedGuard, SealRequest, sealed_at_of
from .objectstore import LocalObjectStore, S3ObjectStore, make_object_store
from .tenants import DirectoryTenants, FileRegistry

KINDS = ("core", "builder", "guard", "tenants", "registry")

log = logging.getLogger("astra.service")


async def _msgpack(request: Request) -> dict[str, Any]:
    try:
        body = msgpack.unpackb(await request.body(), raw=False)
    except Exception as exc:
        raise InvalidInput("body is not valid msgpack") from exc
    if not isinstance(body, dict):
        raise InvalidInput("body must be a msgpack map")
    return body


def _packed_blocks(body: dict[str, Any]) -> dict[str, Any]:
    """The request with its block list encoded again, as BuildRequest and SealRequest hold it."""
    blocks = body.get("blocks")
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        raise InvalidInput("blocks must be an array of maps")
    return {**body, "blocks": msgpack.packb(blocks, use_bin_type=True)}


async def _error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AstraError)
    return JSONResponse({"error": exc.to_dict()}, status_code=exc.http_status)


OPEN_PATHS = ("/healthz", "/v1/objects/")
"""What a collaborator answers without the service token: its health, and GUARD's links to the
documents it stored (signed and expiring, for the people the orchestrator gives them to)."""


class ServiceTokenRequired:
    """Every request but :data:`OPEN_PATHS` must carry ``Authorization: Bearer <token>``, the
    secret the orchestrators share with their collaborators (``ASTRA_SERVICE_TOKEN``): without it,
    anyone who reaches GUARD could have it seal a document or sign a link to any stored acta, and
    anyone who reaches CORE could use its recognizer. A missing or wrong token is a 401 with the
    ``UNAUTHORIZED`` code, compared in constant time."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(OPEN_PATHS):
            given = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
            if not hmac.compare_digest(given, self.expected):
                error = AuthError("this collaborator needs the service token (ASTRA_SERVICE_TOKEN)")
                response = JSONResponse(
                    {"error": error.to_dict()},
                    status_code=error.http_status,
                    headers={"www-authenticate": "Bearer"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def check_exposure(host: str, service_token: str | None) -> None:
    """A collaborator that listens beyond this machine (any interface but loopback) without a
    service token would serve anyone who reaches it: refuse to start, and say what to set."""
    if not service_token and not is_loopback(host):
        raise ConfigError(
            f"listening on {host} needs ASTRA_SERVICE_TOKEN (the secret the orchestrators send); "
            "without one, listen on 127.0.0.1"
        )


async def check_startup(kind: str, settings: Any) -> None:
    """What a collaborator cannot run without, checked before it serves (as ``astra serve``
    does): GUARD's S3 bucket as configured. ConfigError names the setting."""
    if kind == "guard":
        store = make_object_store(settings, load_or_create_secret(settings.secret_path))
        if isinstance(store, S3ObjectStore):
            await store.check()


def create_service_app(kind: str, settings: Any) -> Starlette:
    """One collaborator as an HTTP app. ``settings`` is a :class:`server.settings.Settings`."""
    routes: list[Route] = []
    at_startup: list[Callable[[], Awaitable[None]]] = []
    if kind == "core":
        transcriber = Transcriber.from_settings(settings)
        core = EmbeddedCore(transcriber)
        if settings.asr_warmup:  # as the embedded CORE does: the first utterance waits for none

            async def warm_up() -> None:
                transcriber.warm_up_soon()

            at_startup.append(warm_up)

        async def core_text(request: Request) -> Response:
            body = await request.json()
            try:
                req = TextRequest(**body)
            except TypeError as exc:
                raise InvalidInput(f"bad CORE request: {exc}") from exc
            result = await core.process_text(req)
            return JSONResponse({f: getattr(result, f) for f in result.__dataclass_fields__})

        async def core_audio(request: Request) -> Response:
            body = await _msgpack(request)
            try:
                req = AudioRequest(**body)
            except TypeError as exc:
                raise InvalidInput(f"bad CORE request: {exc}") from exc
            if len(req.pcm16) % 2:
                raise InvalidInput("pcm16 must hold whole 16-bit samples")
            result = await core.process_audio(req)
            return JSONResponse({f: getattr(result, f) for f in result.__dataclass_fields__})

        routes += [
            Route("/v1/core/text", core_text, methods=["POST"]),
            Route("/v1/core/audio", core_audio, methods=["POST"]),
        ]
    elif kind == "builder":

        async def build(request: Request) -> Response:
            body = await _msgpack(request)
            try:
                req = BuildRequest(**_packed_blocks(body))
            except TypeError as exc:
                raise InvalidInput(f"bad BUILDER request: {exc}") from exc
            try:
                document = await asyncio.to_thread(build_sync, req)
            except BuildFailed as exc:
                # These inputs cannot be built from: 422, which the client does not retry (a
                # 5xx would be retried, each try failing the same way).
                raise InvalidInput(exc.message, code=exc.code) from exc
            except Exception as exc:
                # python-docx failing on these inputs in a way build_docx did not anticipate
                # fails every try the same way too: the same refusal, with the reason.
                log.error("build failed", exc_info=exc)
                reason = f"{type(exc).__name__}: {exc}"[:300]
                raise InvalidInput(reason, code=BuildFailed.code) from exc
            return Response(document, media_type=DOCX_TYPE)

        routes.append(Route("/v1/builder/build", build, methods=["POST"]))
    elif kind == "guard":
        # The orchestrators' store (S3 with Object Lock in production), not this machine's disk.
        store = make_object_store(settings, load_or_create_secret(settings.secret_path))
        if isinstance(store, S3ObjectStore):
            at_startup.append(store.check)
        guard = EmbeddedGuard(store, settings.download_url_ttl)

        async def seal(request: Request) -> Response:
            body = await _msgpack(request)
            body["events"] = [tuple(e) for e in body.get("events", [])]
            try:
                req = SealRequest(**_packed_blocks(body))
            except TypeError as exc:
                raise InvalidInput(f"bad GUARD request: {exc}") from exc
            sealed_at_of(req)  # a bad time is the request's fault (422), not a failed seal
            result = await guard.seal(req)
            return JSONResponse({f: getattr(result, f) for f in result.__dataclass_fields__})

        async def url(request: Request) -> Response:
            body = await request.json()
            version = body.get("version")
            url = await guard.download_url(str(body["key"]), str(version) if version else None)
            return JSONResponse({"download_url": url})

        routes += [
            Route("/v1/guard/seal", seal, methods=["POST"]),
            Route("/v1/guard/url", url, methods=["POST"]),
        ]
        if isinstance(store, LocalObjectStore):  # its own disk: the links it signs lead here
            local = store

            async def stored(request: Request) -> Response:
                key = request.path_params["key"]
                local.verify(
                    key, request.query_params.get("expires", ""), request.query_params.get("signature", "")
                )
                return Response(await local.get_bytes(key), media_type="application/octet-stream")

            routes.append(Route("/v1/objects/{key:path}", stored, methods=["GET"]))
    elif kind == "tenants":
        tenants = DirectoryTenants(settings.tenants_dir)

        async def tenant(request: Request) -> Response:
            config = await tenants.config(request.path_params["tenant_id"])
            return JSONResponse(config.to_dict())

        async def skeleton(request: Request) -> Response:
            sk = await tenants.skeleton(request.path_params["tenant_id"], request.path_params["skeleton_id"])
            return Response(
                sk.content,
                media_type=DOCX_TYPE,
                headers={"x-skeleton-version": sk.version, "x-skeleton-sha256": sk.sha256},
            )

        routes += [
            Route("/v1/tenants/{tenant_id}", tenant, methods=["GET"]),
            Route("/v1/tenants/{tenant_id}/skeletons/{skeleton_id}", skeleton, methods=["GET"]),
        ]
    elif kind == "registry":
        registry = FileRegistry(settings.tenants_dir / "registry.json")

        async def adapter(request: Request) -> Response:
            pin = await registry.adapter_for(request.path_params["tenant_id"])
            return JSONResponse(
                {"adapter_id": pin.adapter_id, "adapter_version": pin.adapter_version, "model": pin.model}
            )

        routes.append(Route("/v1/registry/{tenant_id}", adapter, methods=["GET"]))
    else:
        raise ValueError(f"unknown service {kind!r}; one of {', '.join(KINDS)}")

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "service": kind})

    routes.append(Route("/healthz", healthz, methods=["GET"]))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        redact_signed_links()  # a guard on its own disk serves signed links (credentials)
        for step in at_startup:  # a misconfigured service does not start (it says why)
            await step()
        yield

    token = settings.service_token
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={AstraError: _error},
        middleware=[Middleware(ServiceTokenRequired, token=token)] if token else [],
    )
