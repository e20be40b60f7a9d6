"""``astra verify``: recompute a finalized session's three integrity values and compare them.

* the document hash — SHA-256 of the DOCX bytes as stored in the object store;
* the content hash — over the session's blocks as stored in Redis now;
* the event-chain head — over the session's event log as stored in Redis now, up to the last
  event the seal covered;

each against the values recorded at finalize (the session's result and the stored audit report).
Any later change to the stored document, a block or an event shows up as a mismatch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .buffer import FINALIZED, SessionBuffer
from .errors import NotFound
from .protocol import decode_event
from .services.guard import chain_head, content_hash, sha256_hex
from .services.objectstore import ObjectStore


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    expected: str
    actual: str

    @property
    def ok(self) -> bool:
        return self.expected == self.actual


async def verify_session(buffer: SessionBuffer, store: ObjectStore, session_id: str) -> list[Check]:
    meta = await buffer.meta(session_id)
    if meta is None:
        raise NotFound("no such session")
    if meta.status != FINALIZED or meta.result is None:
        raise NotFound(f"session is {meta.status}, not finalized")
    result: dict[str, Any] = meta.result
    report: dict[str, Any] = json.loads(await _sealed(store, result["report_key"], "audit report"))
    document = await _sealed(store, result["document_key"], "acta")
    blocks = [b for b in await buffer.blocks(session_id) if not b.get("deleted")]
    last = int(report["event_chain"]["last_event_id"])
    events: list[dict[str, Any]] = []
    while len(events) < last:
        page = await buffer.events_after(session_id, events[-1]["id"] if events else 0, 1000)
        if not page:
            break
        events.extend(decode_event(i, p) for i, p in page if i <= last)
        if page[-1][0] >= last:
            break
    return [
        Check("document (integrity_hash)", result["integrity_hash"], sha256_hex(document)),
        Check("report's integrity_hash", report["document"]["integrity_hash"], sha256_hex(document)),
        Check("blocks (content_hash)", result["content_hash"], content_hash(blocks)),
        Check("event log (chain_head)", result["chain_head"], chain_head(events)),
        Check("report's chain_head", report["event_chain"]["head"], chain_head(events)),
    ]


async def _sealed(store: ObjectStore, key: str, what: str) -> bytes:
    """A sealed object's bytes; when it is not there, where it was looked for, since a verify run
    without the servers' object-store settings looks in another store than theirs."""
    try:
        return await store.get_bytes(key)
    except NotFound as exc:
        raise NotFound(
            f"the sealed {what} is not at {store.uri(key)} (astra verify reads the store the "
            "servers use only with their ASTRA_S3_* settings; without them, <data dir>/objects)"
        ) from exc
