"""TENANTS and REGISTRY: a council's configuration and the model version it uses.

Tenants are data, not code: a folder per tenant under the tenants directory::

    <tenants_dir>/registry.json                 tenant -> adapter id/version, model
    <tenants_dir>/<TENANT_ID>/tenant.json       name, skeletons, style_map, placeholder_map,
                                                entities_dictionary, templates, mark_human_edits,
                                                empty_zones
    <tenants_dir>/<TENANT_ID>/skeletons/*.docx  the skeleton documents
    <tenants_dir>/<TENANT_ID>/templates.json    optional: how each template_id is written
                                                (format: ``server.services.docx_builder``)

``"templates"`` in tenant.json names the templates file (``"templates.json"``) or holds the
templates object itself; without it the builder's built-in templates apply. Its content is
validated at session start (``docx_builder.check_templates``). ``"mark_human_edits": true``
makes the acta carry a Word comment on every block a person edited (default false).
``"empty_zones"`` says what the acta does with a section the session did not have: a zone name
mapped to a sentence writes it there ("No se presentaron proposiciones."), mapped to null leaves
the section out, zone and heading (default: the zone left empty under its heading); its zones are
checked against the skeleton at session start (``docx_builder.check_skeleton``).

Both services have an embedded implementation that reads that directory and an HTTP client.
HTTP contract (served by ``astra tenants`` / ``astra registry``)::

    GET /v1/tenants/{tenant_id}                          -> tenant.json (skeleton files omitted,
                                                            templates inlined)
    GET /v1/tenants/{tenant_id}/skeletons/{skeleton_id}  -> the DOCX bytes;
        headers X-Skeleton-Version, X-Skeleton-Sha256
    GET /v1/registry/{tenant_id}                         -> {"adapter_id", "adapter_version", "model"}
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from ..errors import ConfigError, NotFound, ServiceError
from .http_client import request

_SAFE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _check_id(kind: str, value: str) -> str:
    if not _SAFE_ID.fullmatch(value) or value.startswith("."):
        raise NotFound(f"unknown {kind}")
    return value


@dataclass(frozen=True, slots=True)
class TenantConfig:
    tenant_id: str
    name: str
    default_skeleton: str
    skeletons: dict[str, dict[str, Any]]
    style_map: dict[str, str]
    placeholder_map: dict[str, str]
    entities_dictionary: dict[str, str]
    templates: dict[str, Any] = field(default_factory=dict)
    mark_human_edits: bool = False
    empty_zones: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TenantConfig:
        """The configuration from tenant.json's content, with ``templates`` already inlined."""
        templates = data.get("templates") or {}
        if not isinstance(templates, dict):
            raise ConfigError(
                "tenant configuration: templates must be an object (a templates file name is "
                "resolved by the tenants directory)"
            )
        mark_human_edits = data.get("mark_human_edits", False)
        if not isinstance(mark_human_edits, bool):
            raise ConfigError("tenant configuration: mark_human_edits must be true or false")
        empty_zones = data.get("empty_zones") or {}
        if not isinstance(empty_zones, dict) or not all(
            v is None or isinstance(v, str) for v in empty_zones.values()
        ):
            raise ConfigError(
                "tenant configuration: empty_zones must be an object mapping zone names to a sentence or null"
            )
        try:
            return cls(
                tenant_id=str(data["tenant_id"]),
                name=str(data.get("name", data["tenant_id"])),
                default_skeleton=str(data.get("default_skeleton") or next(iter(data["skeletons"]))),
                skeletons={str(k): dict(v) for k, v in data["skeletons"].items()},
                style_map={str(k): str(v) for k, v in data["style_map"].items()},
                placeholder_map={str(k): str(v) for k, v in data["placeholder_map"].items()},
                entities_dictionary={str(k): str(v) for k, v in data.get("entities_dictionary", {}).items()},
                templates=templates,
                mark_human_edits=mark_human_edits,
                empty_zones={str(k): v for k, v in empty_zones.items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError, StopIteration) as exc:
            # ValueError: an entry that is not an object (``dict("a.docx")``)
            raise ConfigError(f"tenant configuration is incomplete: {exc!r}") from exc

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "name": self.name,
            "default_skeleton": self.default_skeleton,
            "skeletons": {k: {"version": v.get("version")} for k, v in self.skeletons.items()},
            "style_map": self.style_map,
            "placeholder_map": self.placeholder_map,
            "entities_dictionary": self.entities_dictionary,
            "templates": self.templates,
            "mark_human_edits": self.mark_human_edits,
            "empty_zones": self.empty_zones,
        }


@dataclass(frozen=True, slots=True)
class Skeleton:
    skeleton_id: str
    version: str
    sha256: str
    content: bytes


@dataclass(frozen=True, slots=True)
class AdapterPin:
    adapter_id: str
    adapter_version: str
    model: str


class Tenants(Protocol):
    async def config(self, tenant_id: str) -> TenantConfig: ...
    async def skeleton(self, tenant_id: str, skeleton_id: str) -> Skeleton: ...


class Registry(Protocol):
    async def adapter_for(self, tenant_id: str) -> AdapterPin: ...


class DirectoryTenants:
    """Tenants read from the tenants directory on each call (so edits apply to new sessions)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _config_sync(self, tenant_id: str) -> TenantConfig:
        path = self.root / _check_id("tenant", tenant_id) / "tenant.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise NotFound("unknown tenant") from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path.name} of {tenant_id} is not valid JSON: {exc}") from exc
        except OSError as exc:  # a folder, unreadable
            raise ConfigError(f"{path.name} of {tenant_id} cannot be read: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"{path.name} of {tenant_id} is not a JSON object")
        if isinstance(data.get("templates"), str):
            data["templates"] = self._templates_sync(tenant_id, data["templates"])
        config = TenantConfig.from_dict(data)
        if config.tenant_id != tenant_id:
            raise ConfigError(f"tenant.json in {tenant_id}/ names tenant {config.tenant_id}")
        return config

    def _tenant_file(self, tenant_id: str, name: str, what: str) -> Path:
        tenant_dir = (self.root / tenant_id).resolve()
        path = (tenant_dir / name).resolve()
        if tenant_dir not in path.parents:
            raise ConfigError(f"{what} of {tenant_id} points outside the tenant's folder")
        return path

    def _templates_sync(self, tenant_id: str, name: str) -> Any:
        path = self._tenant_file(tenant_id, name, "templates file")
        try:
            templates = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"templates file {name} of {tenant_id} is missing") from exc
        except OSError as exc:
            raise ConfigError(f"templates file {name} of {tenant_id} cannot be read: {exc}") from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"templates file {name} of {tenant_id} is not valid JSON: {exc}") from exc
        if not isinstance(templates, dict):
            raise ConfigError(f"templates file {name} of {tenant_id} is not a JSON object")
        return templates

    def _skeleton_sync(self, tenant_id: str, skeleton_id: str) -> Skeleton:
        config = self._config_sync(tenant_id)
        entry = config.skeletons.get(_check_id("skeleton", skeleton_id))
        if entry is None:
            raise NotFound("unknown skeleton")
        if not isinstance(entry.get("file"), str) or not entry["file"]:
            raise ConfigError(f"skeleton {skeleton_id} of {tenant_id} names no 'file'")
        path = self._tenant_file(tenant_id, entry["file"], f"skeleton {skeleton_id}")
        try:
            content = path.read_bytes()
        except FileNotFoundError as exc:
            raise ConfigError(f"skeleton file {entry['file']} of {tenant_id} is missing") from exc
        except OSError as exc:  # a folder, unreadable
            raise ConfigError(f"skeleton file {entry['file']} of {tenant_id} cannot be read: {exc}") from exc
        sha = hashlib.sha256(content).hexdigest()
        return Skeleton(skeleton_id, str(entry.get("version", sha[:12])), sha, content)

    async def config(self, tenant_id: str) -> TenantConfig:
        return await asyncio.to_thread(self._config_sync, tenant_id)

    async def skeleton(self, tenant_id: str, skeleton_id: str) -> Skeleton:
        return await asyncio.to_thread(self._skeleton_sync, tenant_id, skeleton_id)


class FileRegistry:
    """The embedded model registry: ``registry.json`` in the tenants directory."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _adapter_sync(self, tenant_id: str) -> AdapterPin:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError("model registry file is missing") from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"model registry file is not valid JSON: {exc}") from exc
        except OSError as exc:
            raise ConfigError(f"model registry file cannot be read: {exc}") from exc
        tenants = data.get("tenants") if isinstance(data, dict) else None
        if not isinstance(tenants, dict):
            raise ConfigError("model registry file has no 'tenants' object")
        entry = tenants.get(tenant_id)
        if entry is None:
            raise NotFound("unknown tenant")
        return _adapter_pin(entry, f"registry entry of {tenant_id}", ConfigError)

    async def adapter_for(self, tenant_id: str) -> AdapterPin:
        return await asyncio.to_thread(self._adapter_sync, tenant_id)


def _adapter_pin(entry: object, what: str, error: type[ConfigError] | type[ServiceError]) -> AdapterPin:
    if not isinstance(entry, dict):
        raise error(f"{what} is not an object")
    try:
        return AdapterPin(str(entry["adapter_id"]), str(entry["adapter_version"]), str(entry["model"]))
    except KeyError as exc:
        raise error(f"{what} lacks {exc}") from exc


def _json_object(response: httpx.Response, service: str) -> dict[str, Any]:
    """A collaborator's answer as the JSON object it must be, else ServiceError (not a 500)."""
    try:
        data = response.json()
    except ValueError as exc:  # not JSON, or not UTF-8
        raise ServiceError(f"{service} answered something that is not JSON", service=service) from exc
    if not isinstance(data, dict):
        raise ServiceError(f"{service} answered JSON that is not an object", service=service)
    return data


def _not_found_as(kind: str, exc: ServiceError) -> Exception:
    if exc.details.get("status") == 404:
        return NotFound(f"unknown {kind}")
    return exc


class HttpTenants:
    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self._client = client
        self._base = base_url.rstrip("/")

    async def config(self, tenant_id: str) -> TenantConfig:
        url = f"{self._base}/v1/tenants/{_check_id('tenant', tenant_id)}"
        try:
            response = await request(self._client, "GET", url, service="tenants")
        except ServiceError as exc:
            raise _not_found_as("tenant", exc) from exc
        config = TenantConfig.from_dict(_json_object(response, "tenants"))
        if config.tenant_id != tenant_id:  # a misrouted answer: another council's configuration
            raise ServiceError(
                f"tenants answered for tenant {config.tenant_id} when asked for {tenant_id}",
                service="tenants",
            )
        return config

    async def skeleton(self, tenant_id: str, skeleton_id: str) -> Skeleton:
        tenant, skeleton = _check_id("tenant", tenant_id), _check_id("skeleton", skeleton_id)
        url = f"{self._base}/v1/tenants/{tenant}/skeletons/{skeleton}"
        try:
            response = await request(self._client, "GET", url, service="tenants")
        except ServiceError as exc:
            raise _not_found_as("skeleton", exc) from exc
        content = response.content
        sha = hashlib.sha256(content).hexdigest()
        if response.headers.get("x-skeleton-sha256", sha) != sha:
            raise ServiceError("skeleton bytes do not match their announced hash", service="tenants")
        return Skeleton(skeleton_id, response.headers.get("x-skeleton-version", sha[:12]), sha, content)


class HttpRegistry:
    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self._client = client
        self._base = base_url.rstrip("/")

    async def adapter_for(self, tenant_id: str) -> AdapterPin:
        url = f"{self._base}/v1/registry/{_check_id('tenant', tenant_id)}"
        try:
            response = await request(self._client, "GET", url, service="registry")
        except ServiceError as exc:
            raise _not_found_as("tenant", exc) from exc
        return _adapter_pin(
            _json_object(response, "registry"), f"registry's answer for {tenant_id}", ServiceError
        )
