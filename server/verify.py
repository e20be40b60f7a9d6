"""``astra verify``: recompute a finalized session's integrity values and compare them.

* the document hash — SHA-256 of the DOCX bytes as stored in the object store;
* the content hash — over the session's blocks;
* the event-chain head — over the session's event log, up to the last event the seal covered;
* the evidence hash — SHA-256 of the evidence GUARD sealed beside the acta (the blocks and the
  event log the seal covered; reports sealed before it existed have none);

each against the values recorded at finalize: the session's result, and the stored audit report,
which is sealed where the result is not (and must name this session). Where the store keeps
versions, the files read are the versions sealed (the result's ``object_versions``).
:func:`verify_session` reads the blocks and the log both as stored in Redis now and as sealed in
the evidence; :func:`verify_files` needs only the three sealed files (the acta, its audit report
and its evidence), for an auditor once the session's keys are archived or gone. Any later change
to the stored document, a block or an event shows up as a mismatch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgpack

from .buffer import FINALIZED, SessionBuffer
from .errors import InvalidInput, NotFound
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
    versions: dict[str, str] = result.get("object_versions") or {}  # the versions sealed, if kept

    read: dict[str, bytes] = {}

    async def sealed(key: str, what: str) -> bytes:  # each read once (the checks below read again)
        if key not in read:
            read[key] = await _sealed(store, key, what, versions.get(key))
        return read[key]

    try:
        report: dict[str, Any] = json.loads(await sealed(result["report_key"], "audit report"))
        sealed_for = (str(report["tenant_id"]), str(report["session_id"]))
        last = int(report["event_chain"]["last_event_id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"the sealed audit report cannot be read: {exc!r}") from exc
    document = await sealed(result["document_key"], "acta")
    blocks = [b for b in await buffer.blocks(session_id) if not b.get("deleted")]
    events: list[dict[str, Any]] = []
    while len(events) < last:
        page = await buffer.events_after(session_id, events[-1]["id"] if events else 0, 1000)
        if not page:
            break
        events.extend(decode_event(i, p) for i, p in page if i <= last)
        if page[-1][0] >= last:
            break
    checks = [
        Check("document (integrity_hash)", result["integrity_hash"], sha256_hex(document)),
        Check("report's integrity_hash", report["document"]["integrity_hash"], sha256_hex(document)),
        # The report is Object-Locked, the session's result is not: a block changed in Redis
        # together with the result's content_hash must still show against the report, and a
        # result pointing at another session's sealed files must not verify as this one's.
        Check("report's session (tenant, session)", f"{meta.tenant_id} {session_id}", " ".join(sealed_for)),
        Check("blocks (content_hash)", result["content_hash"], content_hash(blocks)),
        Check("report's content_hash", str(report.get("content_hash")), content_hash(blocks)),
        Check("event log (chain_head)", result["chain_head"], chain_head(events)),
        Check("report's chain_head", report["event_chain"]["head"], chain_head(events)),
    ]
    named = {result["document_key"]: "acta", result["report_key"]: "audit report"}
    if "evidence" in report:
        evidence_key = report["evidence"]["storage_key"]
        named[evidence_key] = "evidence"
        checks += _evidence_checks(report, await sealed(evidence_key, "evidence"))
    for key, what in named.items():
        # Redis is not locked: whoever can write it and put a new version of each key (a forged
        # acta, its report and evidence, all agreeing) could name those in the result, or name
        # none so that the latest are read, and have them verify. The key's first version is the
        # one locked at the seal, which no one can delete or replace; a finalize taken over
        # writes the same bytes again. (Forged files under new keys are their own first
        # versions: what tells them is the integrity_hash given out with the acta.)
        version = versions.get(key)
        first = await store.first_version(key)
        if first is not None and first != version:
            verified, first_bytes = await sealed(key, what), await _sealed(store, key, what, first)
            checks.append(
                Check(
                    f"{what}: the bytes verified are the key's first version, locked at the seal",
                    sha256_hex(first_bytes),
                    sha256_hex(verified),
                )
            )
        if version:
            # the sealed version is intact (checked above), but a read of the key without a
            # version (a copy made from the bucket, a backup) gets what was written over it, or
            # nothing past a delete marker
            try:
                latest = await store.latest_version(key) or "none"
            except NotFound:
                latest = "deleted (a delete marker)"
            checks.append(Check(f"{what}'s key still serves the sealed version", version, latest))
    return checks


def verify_files(document: bytes, report_json: bytes, evidence: bytes) -> list[Check]:
    """The sealed acta, its audit report and its evidence checked against one another, with no
    Redis and no object store: the report's hashes against the document and the evidence, and
    the evidence's blocks and event log against the report's content hash and chain head. The
    report is not signed: three files forged together agree with one another. What ties them
    to the acta the council received is its ``integrity_hash``, recorded outside them (the
    finalize result, the copy given out, the store's Object Lock)."""
    try:
        report: dict[str, Any] = json.loads(report_json)
        expected = report["document"]["integrity_hash"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"not an audit report: {exc!r}") from exc
    if "evidence" not in report:
        raise InvalidInput("this audit report was sealed before the evidence was kept beside the acta")
    return [
        Check("document (report's integrity_hash)", expected, sha256_hex(document)),
        *_evidence_checks(report, evidence),
    ]


def _evidence_checks(report: dict[str, Any], evidence: bytes) -> list[Check]:
    """The sealed evidence's own hash, and the blocks and event log in it, against the report."""
    try:
        expected = (report["evidence"]["sha256"], report["content_hash"], report["event_chain"]["head"])
    except (KeyError, TypeError) as exc:
        raise InvalidInput(f"the audit report does not name its evidence's hashes: {exc!r}") from exc
    try:
        sealed = msgpack.unpackb(evidence, raw=False)
        blocks = msgpack.unpackb(sealed["blocks"], raw=False)
        events: Iterable[dict[str, Any]] = (decode_event(i, p) for i, p in sealed["events"])
        chain = chain_head(events)
    except (ValueError, KeyError, TypeError, msgpack.UnpackException) as exc:
        raise InvalidInput(f"the evidence cannot be read: {exc!r}") from exc
    return [
        Check("evidence (report's sha256)", expected[0], sha256_hex(evidence)),
        Check("evidence's blocks (content_hash)", expected[1], content_hash(blocks)),
        Check("evidence's event log (chain_head)", expected[2], chain),
    ]


async def _sealed(store: ObjectStore, key: str, what: str, version: str | None) -> bytes:
    """A sealed object's bytes (the version sealed, where the store keeps versions: an object
    written to the same key later is not the sealed one); when it is not there, where it was
    looked for, since a verify run without the servers' object-store settings looks in another
    store than theirs."""
    try:
        return await store.get_bytes(key, version)
    except NotFound as exc:
        at = f"{store.location(key)} (version {version})" if version else store.location(key)
        raise NotFound(
            f"the sealed {what} is not at {at} (astra verify reads the store the "
            "servers use only with their ASTRA_S3_* settings; without them, <data dir>/objects)"
        ) from exc
