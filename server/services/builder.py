"""BUILDER: blocks + pinned skeleton + style map + templates → the acta as DOCX bytes.

The embedded implementation runs :func:`build_sync` through an :class:`~server.workers.Offload`
(in the server: a worker process, see :mod:`server.workers`); the HTTP client talks to
``astra builder``. The blocks travel as one msgpack array, encoded once and never decoded on the
orchestrator's event loop. HTTP contract::

    POST /v1/builder/build   (application/msgpack)
      {"skeleton": bin, "style_map": {..}, "blocks": [..], "images": {asset_id: bin},
       "metadata": {..}, "comment_author": str,
       "templates": {template_id: [element, ..]},   optional; {} = the built-in templates
       "mark_human_edits": bool,                     optional; default false
       "empty_zones": {zone: str | null},            optional; {} = empty zones left empty
       "draft_notice": str | null}                   optional; a preview's notice, written first
    200 the DOCX bytes (application/vnd.openxmlformats-officedocument.wordprocessingml.document)
    422 {"error": {"code": "BUILD_FAILED", "message": ...}}   the skeleton, style map, templates,
        images or blocks cannot be built from (the message says why); not worth retrying
    5xx, or no answer: worth retrying

The client retries only the latter; a 422 is :class:`~server.errors.BuildFailed` at once, as the
embedded builder's failure is.

``templates`` is the tenant's templates object pinned at session start (the element format is
documented in :mod:`server.services.docx_builder`); ``mark_human_edits`` adds a Word comment
"Editado por …" to every block with ``human_edited: true``; ``empty_zones`` writes a sentence in, or
leaves out, each zone it names that no block went to (see ``docx_builder.build_docx``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import msgpack

from ..errors import BuildFailed, ServiceError
from ..workers import InThread, Offload
from .http_client import pack_body, request

if TYPE_CHECKING:  # only the HTTP client uses it; worker processes never import it
    import httpx

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True, slots=True)
class BuildRequest:
    skeleton: bytes
    style_map: dict[str, str]
    blocks: bytes
    """The blocks in final order, as one msgpack array of block maps."""
    images: dict[str, bytes] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    comment_author: str = "ASTRA"
    templates: dict[str, Any] = field(default_factory=dict)
    mark_human_edits: bool = False
    empty_zones: dict[str, str | None] = field(default_factory=dict)
    draft_notice: str | None = None
    """Set for a preview (never for the acta that is sealed): written first, in bold."""


class Builder(Protocol):
    async def build(self, req: BuildRequest) -> bytes: ...


def build_sync(req: BuildRequest) -> bytes:
    """Decode the blocks and build the DOCX (CPU-bound: run it through an Offload). python-docx
    is imported here, where the DOCX is built (a worker process), never by the server's."""
    from . import docx_builder

    blocks = msgpack.unpackb(req.blocks, raw=False)
    if not isinstance(blocks, list):
        raise BuildFailed("blocks must be an array")
    try:
        return docx_builder.build_docx(
            req.skeleton,
            style_map=req.style_map,
            blocks=blocks,
            images=req.images,
            metadata=req.metadata,
            comment_author=req.comment_author,
            templates=req.templates,
            mark_human_edits=req.mark_human_edits,
            empty_zones=req.empty_zones,
            draft_notice=req.draft_notice,
        )
    except docx_builder.BuildError as exc:
        raise BuildFailed(str(exc)) from exc


class EmbeddedBuilder:
    def __init__(self, offload: Offload | None = None) -> None:
        self._offload = offload or InThread()

    async def build(self, req: BuildRequest) -> bytes:
        return await self._offload.run(build_sync, req)


class HttpBuilder:
    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self._client = client
        self._url = base_url.rstrip("/") + "/v1/builder/build"

    async def build(self, req: BuildRequest) -> bytes:
        body = pack_body(req, packed=("blocks",), optional=("draft_notice",))
        try:
            response = await request(
                self._client,
                "POST",
                self._url,
                service="builder",
                content=body,
                headers={"content-type": "application/msgpack"},
            )
        except ServiceError as exc:
            if exc.details.get("status") == 422:
                raise BuildFailed(exc.message) from exc
            raise
        return response.content
