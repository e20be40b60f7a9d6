"""Shared plumbing of the HTTP clients of collaborators: one error translation for all.

httpx is imported on first use, not with this module: the modules of BUILDER, GUARD and LEARN
import this one, and finalize's worker processes import those for their pure functions; httpx
(with the command-line tools it loads) would add ~6 MB to every worker for nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgpack

from ..errors import ServiceError, ServiceUnavailable

if TYPE_CHECKING:
    import httpx


_TRANSPORT_PACKAGES = ("anyio", "httpcore")


def raised_in_transport(exc: BaseException) -> bool:
    """Whether ``exc`` was raised inside the socket layer under httpx (anyio, httpcore)."""
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    parts = tb.tb_frame.f_code.co_filename.replace("\\", "/").split("/")
    return any(package in parts for package in _TRANSPORT_PACKAGES)


def collaborators_client(timeout: float, service_token: str | None = None) -> httpx.AsyncClient:
    """The one HTTP client of the collaborators (CORE, BUILDER, GUARD, LEARN, tenants): httpx's
    API over aiohttp's connection pool and C parser (``httpx-aiohttp``).

    Every utterance and text frame is a CORE call on the event loop. Through httpcore's pool (which
    re-checks every connection on each request) a CORE call of 2 s of audio cost the loop ~930 µs
    of CPU with eight in flight; through aiohttp ~430 µs (``bench/bench_http_client.py``;
    docs/performance.md, "The collaborators' HTTP client"). aiohttp's errors come back as
    httpx's (the transport maps most of them); :func:`request` turns those and the rest into ours.
    Every request carries ``service_token``, when given, as ``Authorization: Bearer`` (the
    collaborators' shared secret, ``ASTRA_SERVICE_TOKEN``).
    """
    import httpx
    from httpx_aiohttp import AiohttpTransport

    headers = {"authorization": f"Bearer {service_token}"} if service_token else None
    return httpx.AsyncClient(timeout=timeout, transport=AiohttpTransport(), headers=headers)


PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


def ignored_proxies(environ: Mapping[str, str]) -> list[str]:
    """The proxy variables set in ``environ`` (either case), which :func:`collaborators_client`
    does not follow: httpx reads them only for its own transport, and the collaborators are
    reached directly (README, Configuration)."""
    return [name for name in PROXY_VARIABLES if environ.get(name) or environ.get(name.lower())]


async def request(
    client: httpx.AsyncClient, method: str, url: str, *, service: str, **kwargs: Any
) -> httpx.Response:
    """Send a request; transport errors, timeouts, 429 and 5xx become ServiceUnavailable
    (retryable), other non-2xx answers ServiceError (not retryable).

    The whole call is bounded by the client's timeout (``Retry.timeout``: "seconds one call may
    take"), not only each read and connect: aiohttp has no write timeout, so a collaborator that
    stopped reading a request's body would otherwise hold the call, and a pooled connection, for
    ever."""
    import httpx

    try:
        async with asyncio.timeout(client.timeout.read):
            response = await client.request(method, url, **kwargs)
    except TimeoutError as exc:
        raise ServiceUnavailable(f"{service} timed out", service=service) from exc
    except httpx.TimeoutException as exc:
        if _timed_out(exc):
            raise ServiceUnavailable(f"{service} timed out", service=service) from exc
        raise ServiceUnavailable(f"{service} unreachable: {exc}", service=service) from exc
    except httpx.TransportError as exc:
        raise ServiceUnavailable(f"{service} unreachable: {exc}", service=service) from exc
    except AttributeError as exc:
        if not raised_in_transport(exc):
            raise
        # A connection reset while it is being set up can leave uvloop's transport without its
        # socket, and anyio then fails on None (seen against a collaborator refusing connections):
        # the collaborator is unreachable, and the call is retried like any other such failure.
        raise ServiceUnavailable(f"{service} unreachable: {exc}", service=service) from exc
    except Exception as exc:
        import aiohttp

        if not isinstance(exc, aiohttp.ClientError):
            raise
        # One httpx-aiohttp does not map to httpx's errors (an answer that is not HTTP): through
        # httpcore it was a TransportError, and so it is treated here.
        raise ServiceUnavailable(f"{service} unreachable: {exc}", service=service) from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise ServiceUnavailable(
            f"{service} answered {response.status_code}", service=service, status=response.status_code
        )
    if response.status_code >= 400:
        raise ServiceError(
            f"{service} refused the request ({response.status_code}): {_reason(response)}",
            service=service,
            status=response.status_code,
        )
    return response


def _timed_out(exc: httpx.TimeoutException) -> bool:
    """Whether time ran out. httpx-aiohttp hands every aiohttp connection error (refused, closed
    before the answer) to httpx as ``ConnectTimeout``; the aiohttp error under it says which."""
    import aiohttp

    cause = exc.__cause__
    return not isinstance(cause, aiohttp.ClientError) or isinstance(cause, TimeoutError)


def _reason(response: httpx.Response) -> str:
    """Why a collaborator refused: the code and message of its coded error (the ``astra``
    services answer ``{"error": {"code", "message"}}``), else the start of its answer."""
    try:
        error = response.json()["error"]
        return f"{error['code']}: {error['message']}"[:300]
    except Exception:
        return response.text[:200]


def pack_body(request_object: Any, *, packed: tuple[str, ...] = (), optional: tuple[str, ...] = ()) -> bytes:
    """A dataclass as a msgpack map; the fields named in ``packed`` already hold msgpack bytes
    and are spliced in as they are (a big block list is not decoded just to be encoded again);
    those named in ``optional`` are left out when None (a service older than the field then
    still takes every request that does not use it)."""
    packer = msgpack.Packer(use_bin_type=True)
    fields = [
        f
        for f in dataclasses.fields(request_object)
        if not (f.name in optional and getattr(request_object, f.name) is None)
    ]
    parts = [packer.pack_map_header(len(fields))]
    for f in fields:
        value = getattr(request_object, f.name)
        parts += [packer.pack(f.name), value if f.name in packed else packer.pack(value)]
    return b"".join(parts)
