"""Shared plumbing of the HTTP clients of collaborators: one error translation for all."""

from __future__ import annotations

from typing import Any

import httpx

from ..errors import ServiceError, ServiceUnavailable


async def request(
    client: httpx.AsyncClient, method: str, url: str, *, service: str, **kwargs: Any
) -> httpx.Response:
    """Send a request; transport errors, timeouts, 429 and 5xx become ServiceUnavailable
    (retryable), other non-2xx answers ServiceError (not retryable)."""
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        raise ServiceUnavailable(f"{service} timed out", service=service) from exc
    except httpx.TransportError as exc:
        raise ServiceUnavailable(f"{service} unreachable: {exc}", service=service) from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise ServiceUnavailable(
            f"{service} answered {response.status_code}", service=service, status=response.status_code
        )
    if response.status_code >= 400:
        raise ServiceError(
            f"{service} refused the request ({response.status_code}): {response.text[:200]}",
            service=service,
            status=response.status_code,
        )
    return response
