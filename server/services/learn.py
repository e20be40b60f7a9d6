"""LEARN: the human corrections of a session, exported for retraining CORE's adapters.

At finalize, every block a human changed yields one record pairing what the machine produced
with the final human version, plus the pinned adapter, the zone and the audio reference, as
JSON Lines. Embedded: stored beside the acta in the object store. With ``ASTRA_LEARN_URL``:
``POST {url}/v1/learn/corrections`` (``application/x-ndjson``), retried with backoff. The export
runs after finalize has answered: a slow or failing LEARN never delays or fails the acta.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .http_client import request
from .objectstore import ObjectStore, session_key

if TYPE_CHECKING:  # only the HTTP client uses it; worker processes never import it
    import httpx

NDJSON = "application/x-ndjson"


def correction_records(
    tenant_id: str, session_id: str, pinned: dict[str, Any], blocks: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One record per human-edited block: machine output (as first produced) versus final text."""
    records = []
    for block in blocks:
        if not block.get("human_edited"):
            continue
        records.append(
            {
                "tenant_id": tenant_id,
                "session_id": session_id,
                "block_id": block["block_id"],
                "adapter_id": pinned.get("adapter_id"),
                "adapter_version": pinned.get("adapter_version"),
                "model": pinned.get("model"),
                "zone": block.get("target_placeholder"),
                "audio_ref": (block.get("audio_metadata") or {}).get("audio_ref"),
                "machine": block.get("machine"),
                "human": {
                    "text": block.get("text"),
                    "label": block.get("label"),
                    "template_id": block.get("template_id"),
                    "structured_data": block.get("structured_data"),
                    "deleted": bool(block.get("deleted")),
                },
                "edited_by": block.get("edited_by"),
                "edited_at": block.get("edited_at"),
            }
        )
    return records


def to_jsonl(records: Sequence[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r, ensure_ascii=False, sort_keys=True).encode() + b"\n" for r in records)


class Learn(Protocol):
    async def export(self, tenant_id: str, session_id: str, records: Sequence[dict[str, Any]]) -> str: ...


class StoreLearn:
    """Embedded: the corrections as a JSONL object beside the session's acta."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    async def export(self, tenant_id: str, session_id: str, records: Sequence[dict[str, Any]]) -> str:
        key = session_key(tenant_id, session_id, "learn", "corrections.jsonl")
        await self._store.put_bytes(key, to_jsonl(records), NDJSON)
        return key


class HttpLearn:
    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self._client = client
        self._url = base_url.rstrip("/") + "/v1/learn/corrections"

    async def export(self, tenant_id: str, session_id: str, records: Sequence[dict[str, Any]]) -> str:
        await request(
            self._client,
            "POST",
            self._url,
            service="learn",
            content=to_jsonl(records),
            headers={"content-type": NDJSON, "x-astra-tenant": tenant_id, "x-astra-session": session_id},
        )
        return self._url
