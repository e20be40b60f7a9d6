"""GUARD: seals a finished acta — hashes, stores and reports.

* ``integrity_hash``: SHA-256 of the exact stored DOCX bytes.
* ``content_hash``: SHA-256 of the canonical JSON of the ordered block list.
* ``chain_head``: ``h_n = SHA-256(h_{n-1} ‖ canonical(event_n))`` over the session's event log,
  ``h_0`` = 32 zero bytes, so a changed, removed or reordered event changes the head.

Canonical JSON: UTF-8, keys sorted, no insignificant whitespace (``canonical_json``). The
document, the audit report and the evidence (the blocks and the event log the hashes were
computed over, :func:`evidence_chunks`) are stored under the session's key in the object store,
with S3 Object Lock when configured: the three files verify the acta with no Redis
(``astra verify --files``), once the session's keys are archived or gone. The embedded GUARD
computes the hashes and the report in :func:`compute_seal` through an
:class:`~server.workers.Offload` (in the server: a worker process), then stores. HTTP contract
(served by ``astra guard``)::

    POST /v1/guard/seal  (application/msgpack) {"tenant_id", "session_id", "document": bin,
        "blocks": [..], "events": [[id, payload-bin], ..], "session": {..}}
    200 {"integrity_hash", "content_hash", "chain_head", "document_key", "report_key",
         "download_url", "audit_report", "object_versions": {key: version}}
    POST /v1/guard/url  {"key", "version"?}  200 {"download_url"}
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import msgpack

from ..errors import InvalidInput
from ..protocol import decode_event
from ..workers import InThread, Offload
from .builder import DOCX_TYPE
from .http_client import pack_body, request
from .objectstore import ObjectStore, session_key

if TYPE_CHECKING:  # only the HTTP client uses it; worker processes never import it
    import httpx

REPORT_VERSION = 1
EVIDENCE_VERSION = 1
EVIDENCE_TYPE = "application/msgpack"


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _iso(ts: float | None) -> str | None:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat() if ts else None


def content_hash(blocks: Sequence[dict[str, Any]]) -> str:
    return sha256_hex(canonical_json(list(blocks)))


def chain_step(head: bytes, event: dict[str, Any]) -> bytes:
    return hashlib.sha256(head + canonical_json(event)).digest()


def chain_head(events: Iterable[dict[str, Any]]) -> str:
    head = bytes(32)
    for event in events:
        head = chain_step(head, event)
    return head.hex()


EDIT_KINDS = ("block.updated", "block.deleted", "block.inserted")


def _listed_once(into: list[dict[str, Any]], e: dict[str, Any], key: str, fields: tuple[str, ...]) -> None:
    """Add event ``e`` to ``into`` (its id, time, ``key`` and ``fields`` of its data) unless one
    with the same ``key`` is there: two owners of the session's audio (a takeover) may both log
    one utterance or stream, which the report lists once (its first event)."""
    data = e["data"]
    if any(item[key] == data.get(key) for item in into):
        return
    into.append({"event_id": e["id"], "at": _iso(e["at"]), **{k: data.get(k) for k in (key, *fields)}})


@dataclass(slots=True)
class LogFacts:
    """What a seal needs from the event log, gathered in one pass over it (a long session's log,
    decoded, is tens of MB: it is never held whole)."""

    head: bytes = bytes(32)
    count: int = 0
    last_id: int = 0
    first_input: float | None = None
    last_input: float | None = None
    human_edits: list[dict[str, Any]] = field(default_factory=list)
    reprocessed: list[dict[str, Any]] = field(default_factory=list)
    """Blocks pending review that CORE transcribed again (``…/reprocess``): machine output, not
    a human edit; ``who`` asked for it."""
    discarded: list[dict[str, Any]] = field(default_factory=list)
    """Utterances the recognizer heard no words in (``utterance.discarded``): they have no block,
    so the acta does not show them, but their audio is stored and the audit points to it. Each
    once (its first event), though two owners may both have logged it."""
    rejected_audio: list[dict[str, Any]] = field(default_factory=list)
    """Compressed audio streams that could not be decoded (``audio.rejected``): acked audio from
    there to the stream's end became no block, and the acta cannot say so. Each entry once."""

    @classmethod
    def of(cls, events: Iterable[dict[str, Any]]) -> LogFacts:
        facts = cls()
        for event in events:
            facts.add(event)
        return facts

    def add(self, e: dict[str, Any]) -> None:
        self.head = chain_step(self.head, e)
        self.count += 1
        self.last_id = e["id"]
        if e["kind"] == "block.added":
            at = e["at"]
            self.first_input = at if self.first_input is None else min(self.first_input, at)
            self.last_input = at if self.last_input is None else max(self.last_input, at)
        elif e["kind"] == "utterance.discarded":
            _listed_once(self.discarded, e, "utterance_id", ("time_start", "time_end", "audio_ref", "reason"))
        elif e["kind"] == "audio.rejected":
            _listed_once(self.rejected_audio, e, "entry_id", ("reason",))
        elif e["kind"] in EDIT_KINDS and e["data"].get("reason") != "renumbered":
            # A renumbering only spreads inserted blocks out again: no one changed them.
            data = e["data"]
            changes = self.reprocessed if data.get("reason") == "reprocessed" else self.human_edits
            changes.append(
                {
                    "event_id": e["id"],
                    "at": _iso(e["at"]),
                    "who": e["actor"],
                    "block_id": data.get("block_id") or (data.get("block") or {}).get("block_id"),
                    "kind": e["kind"],
                    "before_hash": data.get("before_hash"),
                    "after_hash": data.get("after_hash"),
                }
            )


@dataclass(frozen=True, slots=True)
class SealRequest:
    tenant_id: str
    session_id: str
    document: bytes
    blocks: bytes
    """The blocks of the acta in order, as one msgpack array of block maps."""
    events: list[tuple[int, bytes]]
    session: dict[str, Any] = field(default_factory=dict)
    """status-independent facts: pinned config, metadata, created_at/by, finalized_by, and
    ``sealed_at``: when the finalize that seals it was asked for (the orchestrator reads Redis's
    clock as the session closes, before the last audio is drained and the acta built: a block
    stored in that drain may be dated a moment after it), which names the stored objects and is
    the report's ``finalized_at``. The caller sets it once, so a seal tried again writes the
    same objects again (the same bytes under the same keys), not a second set beside the first:
    each object of a set is locked for years where the store has Object Lock. Without it, the
    time GUARD seals it (a GUARD older than the field ignores it, and so names each try anew)."""


@dataclass(frozen=True, slots=True)
class SealResult:
    integrity_hash: str
    content_hash: str
    chain_head: str
    document_key: str
    report_key: str
    download_url: str
    audit_report: dict[str, Any]
    object_versions: dict[str, str] = field(default_factory=dict)
    """The store's version of each object sealed (document, evidence and report key → version),
    where the store keeps versions (S3 with Object Lock): links and ``astra verify`` read these,
    not whatever was written to the same key later."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SealResult:
        """A GUARD's answer; one that predates ``object_versions`` names none."""
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})


class Guard(Protocol):
    async def seal(self, req: SealRequest) -> SealResult: ...
    async def download_url(self, key: str, version: str | None = None) -> str: ...


def audit_report(
    req: SealRequest,
    blocks: Sequence[dict[str, Any]],
    log: LogFacts,
    *,
    integrity: str,
    content: str,
    document_key: str,
    sealed_at: float,
) -> dict[str, Any]:
    """The audit report (see domain.md): what was pinned, what was produced, who changed what
    (``human_edits``; ``reprocessed``: blocks pending review that CORE transcribed again, at
    whose request), and what was recorded but has no block (``discarded_utterances``: the
    recognizer heard no words; their audio is stored; ``rejected_audio``: a compressed stream
    that could not be decoded, from its entry on). ``blocks`` are the request's, decoded;
    ``log`` sums up its events."""
    pinned = req.session.get("pinned", {})
    by_type = Counter(str(b.get("type")) for b in blocks)
    return {
        "report_version": REPORT_VERSION,
        "tenant_id": req.tenant_id,
        "session_id": req.session_id,
        "pinned": {
            "skeleton_id": pinned.get("skeleton_id"),
            "skeleton_version": pinned.get("skeleton_version"),
            "skeleton_sha256": pinned.get("skeleton_sha256"),
            # the skeleton the acta was built from: another than the pinned one only where an
            # operator replaced the pinned copy in the object store (a repair)
            "skeleton_built_sha256": req.session.get("skeleton_built_sha256", pinned.get("skeleton_sha256")),
            "adapter_id": pinned.get("adapter_id"),
            "adapter_version": pinned.get("adapter_version"),
            "model": pinned.get("model"),
        },
        "metadata": req.session.get("metadata", {}),
        "document": {
            "integrity_hash": integrity,
            "algorithm": "SHA-256",
            "size_bytes": len(req.document),
            "storage_key": document_key,
        },
        "content_hash": content,
        "event_chain": {"head": log.head.hex(), "events": log.count, "last_event_id": log.last_id},
        "blocks": {"total": len(blocks), "by_type": dict(sorted(by_type.items()))},
        "human_edits": log.human_edits,
        "reprocessed": log.reprocessed,
        "discarded_utterances": log.discarded,
        "rejected_audio": log.rejected_audio,
        "pending_review": [
            {
                "block_id": b.get("block_id"),
                "error": b.get("error"),
                "audio_ref": (b.get("audio_metadata") or {}).get("audio_ref"),
                "input_text": b.get("text"),
            }
            for b in blocks
            if b.get("type") == "ERROR_PENDING_REVIEW"
        ],
        "timeline": {
            "started_at": _iso(req.session.get("created_at")),
            "started_by": req.session.get("created_by"),
            "first_audio_at": _iso(req.session.get("audio_first_at")),
            "last_audio_at": _iso(req.session.get("audio_last_at")),
            "first_input_at": _iso(log.first_input),
            "last_input_at": _iso(log.last_input),
            "finalized_at": _iso(sealed_at),
            "finalized_by": req.session.get("finalized_by"),
        },
        "verification": (
            "integrity_hash is the SHA-256 of the stored DOCX bytes (sha256sum acta.docx). "
            "content_hash is the SHA-256 of the canonical JSON (UTF-8, sorted keys, no spaces) of "
            "the ordered block list. event_chain.head is h_n with h_0 = 32 zero bytes and "
            "h_i = SHA-256(h_{i-1} || canonical JSON of event i) over the session's event log."
        ),
    }


def bin_header(size: int) -> bytes:
    """The msgpack header of a bin of ``size`` bytes (bin 8, 16 or 32), which msgpack's packer
    writes only with the bytes behind it."""
    for code, width in ((0xC4, 1), (0xC5, 2), (0xC6, 4)):
        if size < 1 << (8 * width):
            return bytes((code,)) + size.to_bytes(width, "big")
    raise ValueError(f"a msgpack bin holds less than 4 GiB, not {size} bytes")


def evidence_chunks(req: SealRequest) -> Iterator[bytes]:
    """The evidence a seal covers, as GUARD received it, in pieces: together one msgpack map
    ``{"evidence_version", "tenant_id", "session_id", "blocks": bin (the msgpack array of the
    acta's blocks, in order), "events": [[id, bin (the event's msgpack payload)], …]}``. The event
    log is the audit trail (domain.md); sealed beside the acta, it outlives the session's keys in
    Redis. In pieces, so that neither the worker that hashes it nor the store that writes it holds
    a second copy of the blocks or the log: the blocks go as they are, behind their header."""
    packer = msgpack.Packer(use_bin_type=True)
    yield packer.pack_map_header(5)
    for key, value in (
        ("evidence_version", EVIDENCE_VERSION),
        ("tenant_id", req.tenant_id),
        ("session_id", req.session_id),
    ):
        yield packer.pack(key) + packer.pack(value)
    yield packer.pack("blocks") + bin_header(len(req.blocks))
    yield req.blocks
    yield packer.pack("events") + packer.pack_array_header(len(req.events))
    for event_id, payload in req.events:
        yield packer.pack([event_id, payload])


@dataclass(frozen=True, slots=True)
class Sealed:
    """What :func:`compute_seal` works out; the caller stores the document and the report."""

    integrity_hash: str
    content_hash: str
    chain_head: str
    document_key: str
    report_key: str
    audit_report: dict[str, Any]
    report_json: bytes
    """The report as stored (canonical JSON)."""
    evidence_key: str


def sealed_at_of(req: SealRequest) -> float:
    """When the request says the acta was sealed, else now (see ``SealRequest.session``);
    InvalidInput for a value that is not a time."""
    stamp = req.session.get("sealed_at")
    if stamp is None:
        return time.time()
    if isinstance(stamp, bool) or not isinstance(stamp, int | float) or not 0 <= stamp < 1e11:
        raise InvalidInput("session.sealed_at must be seconds since the epoch", field="session.sealed_at")
    return float(stamp)


def compute_seal(req: SealRequest) -> Sealed:
    """Hashes, storage keys and audit report of a seal request (CPU-bound: run it through an
    Offload; hashing a 6-hour session and building its report is ~0.2 s of CPU)."""
    sealed_at = sealed_at_of(req)
    blocks = msgpack.unpackb(req.blocks, raw=False)
    log = LogFacts.of(decode_event(i, p) for i, p in req.events)
    integrity = sha256_hex(req.document)
    content = content_hash(blocks)
    stamp = dt.datetime.fromtimestamp(sealed_at, dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    document_key = session_key(req.tenant_id, req.session_id, f"acta-{stamp}-{integrity[:12]}.docx")
    evidence_key = document_key.removesuffix(".docx") + ".evidence.msgpack"
    evidence_hash, evidence_size = hashlib.sha256(), 0
    for chunk in evidence_chunks(req):
        evidence_hash.update(chunk)
        evidence_size += len(chunk)
    report = audit_report(
        req,
        blocks,
        log,
        integrity=integrity,
        content=content,
        document_key=document_key,
        sealed_at=sealed_at,
    )
    report["evidence"] = {
        "storage_key": evidence_key,
        "sha256": evidence_hash.hexdigest(),
        "size_bytes": evidence_size,
        "format": "msgpack map: evidence_version, tenant_id, session_id, blocks (bin: the msgpack "
        "array of the acta's blocks, in order), events ([id, bin: the event's msgpack payload])",
    }
    return Sealed(
        integrity_hash=integrity,
        content_hash=content,
        chain_head=log.head.hex(),
        document_key=document_key,
        report_key=document_key.removesuffix(".docx") + ".audit.json",
        audit_report=report,
        report_json=canonical_json(report),
        evidence_key=evidence_key,
    )


class EmbeddedGuard:
    def __init__(self, store: ObjectStore, url_ttl: int, offload: Offload | None = None) -> None:
        self._store = store
        self._ttl = url_ttl
        self._offload = offload or InThread()

    async def seal(self, req: SealRequest) -> SealResult:
        sealed = await self._offload.run(compute_seal, req)
        # Sealed (durable, and locked where the store has Object Lock) before the session is
        # marked FINALIZED: Redis must not name an acta a power loss could take back.
        versions = {
            sealed.document_key: await self._store.put_bytes(
                sealed.document_key, req.document, DOCX_TYPE, sealed=True
            ),
            # Its pieces, made and written in the store's thread: never joined, nor on the loop.
            sealed.evidence_key: await self._store.put_bytes(
                sealed.evidence_key, evidence_chunks(req), EVIDENCE_TYPE, sealed=True
            ),
            sealed.report_key: await self._store.put_bytes(
                sealed.report_key, sealed.report_json, "application/json", sealed=True
            ),
        }
        document_version = versions[sealed.document_key]
        if document_version and not await self._store.version_readable(sealed.document_key, document_version):
            # credentials that may not read a version by its id (no s3:GetObjectVersion): a link
            # to the version would be refused, so none is named, and links read the latest
            versions, document_version = {}, None
        return SealResult(
            integrity_hash=sealed.integrity_hash,
            content_hash=sealed.content_hash,
            chain_head=sealed.chain_head,
            document_key=sealed.document_key,
            report_key=sealed.report_key,
            download_url=await self._store.download_url(sealed.document_key, self._ttl, document_version),
            audit_report=sealed.audit_report,
            object_versions={key: version for key, version in versions.items() if version},
        )

    async def download_url(self, key: str, version: str | None = None) -> str:
        return await self._store.download_url(key, self._ttl, version)


class HttpGuard:
    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self._client = client
        self._base = base_url.rstrip("/")

    async def seal(self, req: SealRequest) -> SealResult:
        body = pack_body(req, packed=("blocks",))
        response = await request(
            self._client,
            "POST",
            self._base + "/v1/guard/seal",
            service="guard",
            content=body,
            headers={"content-type": "application/msgpack"},
        )
        return SealResult.from_dict(response.json())

    async def download_url(self, key: str, version: str | None = None) -> str:
        body = {"key": key, "version": version} if version else {"key": key}
        response = await request(
            self._client, "POST", self._base + "/v1/guard/url", service="guard", json=body
        )
        return str(response.json()["download_url"])
