"""Runtime state of one app instance: the clients and services built by the lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from redis.asyncio import Redis

from .auth import Authenticator
from .fanout import LiveHub
from .metrics import Metrics
from .orchestrator import Orchestrator
from .services.objectstore import LocalObjectStore, ObjectStore
from .settings import Settings


@dataclass(eq=False)
class AppState:
    settings: Settings
    redis: Redis
    auth: Authenticator
    hub: LiveHub
    metrics: Metrics
    store: ObjectStore
    orchestrator: Orchestrator

    @property
    def local_store(self) -> LocalObjectStore | None:
        return self.store if isinstance(self.store, LocalObjectStore) else None

    def origin_allowed(self, origin: str | None, host: str | None) -> bool:
        """Browsers send Origin; non-browser clients do not. Allow our own origin and the
        configured ones, refuse any other page trying to use a visitor's token."""
        if origin is None:
            return True
        if origin in self.settings.allowed_origins or "*" in self.settings.allowed_origins:
            return True
        return host is not None and urlsplit(origin).netloc == host
