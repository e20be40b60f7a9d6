"""Runtime state of one app instance: the clients and services built by the lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .auth import Authenticator
from .fanout import LiveHub
from .metrics import Metrics
from .orchestrator import Orchestrator
from .pressure import IngestPressure
from .redis_client import RedisClient
from .services.objectstore import LocalObjectStore, ObjectStore
from .settings import Settings


@dataclass(eq=False)
class AppState:
    settings: Settings
    redis: RedisClient
    auth: Authenticator
    hub: LiveHub
    metrics: Metrics
    store: ObjectStore
    orchestrator: Orchestrator
    pressure: IngestPressure
    """Inputs received here and not answered yet (the audio owners defer while there are many)."""
    background: set[asyncio.Task[Any]] = field(default_factory=set)

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run ``work`` detached from the caller (kept referenced until done; errors logged)."""
        task = asyncio.get_running_loop().create_task(work)
        self.background.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self.background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logging.getLogger("astra").warning("background task failed: %r", task.exception())

    @property
    def local_store(self) -> LocalObjectStore | None:
        return self.store if isinstance(self.store, LocalObjectStore) else None

    def origin_allowed(self, origin: str | None, host: str | None) -> bool:
        return origin_allowed(self.settings, origin, host)


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of a URL as a browser writes it in ``Origin`` (lower case, no
    default port), or None for anything that is not an http(s) URL with a host."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{scheme}://{host}" if port in (None, _DEFAULT_PORTS[scheme]) else f"{scheme}://{host}:{port}"


def origin_allowed(settings: Settings, origin: str | None, host: str | None) -> bool:
    """Browsers send Origin; non-browser clients do not. Allow our own origin (the request's
    ``Host``, or ``ASTRA_PUBLIC_URL``'s origin: behind a balancer that rewrites ``Host`` that is
    the console's page) and the configured ones; refuse any other page trying to use a visitor's
    token."""
    if origin is None:
        return True
    if origin in settings.allowed_origins or "*" in settings.allowed_origins:
        return True
    if settings.public_url and (own := _origin_of(settings.public_url)) and _origin_of(origin) == own:
        return True
    try:
        return host is not None and urlsplit(origin).netloc == host
    except ValueError:  # "https://[::1": not a URL (urlsplit raises), not ours
        return False
