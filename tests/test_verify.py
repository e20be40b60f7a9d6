"""``astra verify`` against a running server's data dir: all match, then each kind of tampering."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from hashlib import sha256
from typing import Any

import httpx
import msgpack
import pytest
import redis

from server.keys import SessionKeys
from server.services.guard import content_hash

from .conftest import TENANT, ServerProcess
from .test_cli import astra

pytestmark = pytest.mark.e2e


def test_verify_recomputes_hashes_and_detects_tampering(spawn: Callable[..., ServerProcess]) -> None:
    """Right after finalize every value matches; changing the stored DOCX, a stored block or
    removing a logged event each makes `astra verify` report that value as a mismatch; a DOCX
    that is not there is named with where it was looked for (it once said "no such object")."""
    server = spawn("serve")
    auth = {"authorization": f"Bearer {server.token()}"}
    api = f"{server.url}/v1/orchestrator/session"
    session_id = httpx.post(f"{api}/start", json={"tenant_id": TENANT}, headers=auth).json()["session_id"]
    for text in ("Se abre la sesión.", "Tiene la palabra el concejal Pedro Gómez.", "Se levanta la sesión."):
        httpx.post(f"{api}/{session_id}/append", json={"text": text}, headers=auth)
    result: dict[str, Any] = httpx.post(f"{api}/{session_id}/finalize", headers=auth, timeout=60).json()

    def run() -> tuple[int, str]:
        done = astra("verify", "--session", session_id, "--data-dir", str(server.data_dir))
        return done.returncode, done.stdout

    code, out = run()
    assert code == 0 and out.count("OK: ") == 10 and "MISMATCH" not in out, out
    assert "OK: evidence's event log (chain_head)" in out

    keys = SessionKeys(session_id)
    db = redis.Redis(unix_socket_path=str(server.data_dir / "redis" / "redis.sock"))
    block_id = db.zrange(keys.order, 0, 0)[0]
    original_block = db.hget(keys.blocks, block_id)
    assert original_block is not None
    changed = msgpack.unpackb(original_block) | {"text": "Se abre la sesión (alterado)."}
    db.hset(keys.blocks, block_id, msgpack.packb(changed))
    code, out = run()
    assert code == 1 and "MISMATCH: blocks (content_hash)" in out and "OK: document" in out
    # Review: the session's result is not locked. A block changed together with the result's
    # content_hash verified as OK; the sealed report's content_hash still tells.
    original_result = db.hget(keys.meta, "result")
    assert original_result is not None
    forged = msgpack.unpackb(original_result) | {
        "content_hash": content_hash(
            [
                msgpack.unpackb(raw) if raw is not None else {}
                for raw in db.hmget(keys.blocks, db.zrange(keys.order, 0, -1))
            ]
        )
    }
    db.hset(keys.meta, "result", msgpack.packb(forged))
    code, out = run()
    assert code == 1 and "OK: blocks (content_hash)" in out, out
    assert "MISMATCH: report's content_hash" in out, out
    db.hset(keys.meta, "result", original_result)
    db.hset(keys.blocks, block_id, original_block)

    db.xdel(keys.events, "2-0")
    code, out = run()
    assert code == 1 and "MISMATCH: event log (chain_head)" in out and "OK: blocks" in out

    # Review: a sealed report of another shape ended in a traceback and exit 1, the code of a
    # mismatch: an audit script took it for tampering. It cannot be verified: exit 2, said why.
    report_file = server.data_dir / "objects" / result["report_key"]
    sealed_report = report_file.read_bytes()
    report_file.write_text(
        json.dumps({k: v for k, v in json.loads(sealed_report).items() if k != "document"})
    )
    odd = astra("verify", "--session", session_id, "--data-dir", str(server.data_dir))
    assert odd.returncode == 2 and "cannot verify" in odd.stderr and "Traceback" not in odd.stderr, odd.stderr
    report_file.write_bytes(sealed_report)

    document = server.data_dir / "objects" / result["document_key"]
    document.write_bytes(document.read_bytes() + b"\0")
    code, out = run()
    assert code == 1 and "MISMATCH: document (integrity_hash)" in out
    document.unlink()  # gone, or (the same to verify) looked for in another store: says where
    gone = astra("verify", "--session", session_id, "--data-dir", str(server.data_dir))
    assert gone.returncode == 2 and f"the sealed acta is not at file://{document}" in gone.stderr
    db.close()
    assert (
        astra("verify", "--session", "ses_nope00000000", "--data-dir", str(server.data_dir)).returncode == 2
    )
    elsewhere = server.data_dir.parent / "not-a-data-dir"  # a wrong --data-dir: said, nothing made
    wrong = astra("verify", "--session", session_id, "--data-dir", str(elsewhere))
    assert wrong.returncode == 2 and "not a data directory" in wrong.stderr and not elsewhere.exists()


def test_the_three_sealed_files_verify_the_acta_with_no_redis(spawn: Callable[..., ServerProcess]) -> None:
    """Review: the event log is the audit trail (domain.md), and it lived only in Redis: once the
    session's keys were archived or lost, nothing could show which edits made the acta. GUARD
    now seals the blocks and the event log beside the acta (the audit report names the evidence
    and its hash), and `astra verify --files` checks the acta, its report and its evidence
    against one another with no server. A changed event in the evidence is a mismatch, and so
    is a report whose evidence hash alone was rewritten to match it (one whose every hash was
    rewritten agrees with itself: the report is not signed, the integrity_hash given out with
    the acta is what ties them to it)."""
    server = spawn("serve")
    auth = {"authorization": f"Bearer {server.token()}"}
    api = f"{server.url}/v1/orchestrator/session"
    session_id = httpx.post(f"{api}/start", json={"tenant_id": TENANT}, headers=auth).json()["session_id"]
    for text in ("Se abre la sesión.", "Tiene la palabra el concejal Pedro Gómez."):
        httpx.post(f"{api}/{session_id}/append", json={"text": text}, headers=auth)
    result: dict[str, Any] = httpx.post(f"{api}/{session_id}/finalize", headers=auth, timeout=60).json()
    server.stop()  # no Redis, no server: the files alone
    objects = server.data_dir / "objects"
    sealed = result["audit_report"]["evidence"]
    acta, report = objects / result["document_key"], objects / result["report_key"]
    evidence = objects / sealed["storage_key"]
    assert sealed["sha256"] == sha256(evidence.read_bytes()).hexdigest()
    ok = astra("verify", "--files", str(acta), str(report), str(evidence))
    assert ok.returncode == 0 and ok.stdout.count("OK: ") == 4 and "MISMATCH" not in ok.stdout, ok.stdout

    kept = msgpack.unpackb(evidence.read_bytes(), raw=False)
    assert [b["text"] for b in msgpack.unpackb(kept["blocks"], raw=False)] == [
        "Se abre la sesión.",
        "Tiene la palabra el concejal Pedro Gómez.",
    ]
    forged = server.data_dir.parent / "forged.evidence.msgpack"
    forged.write_bytes(msgpack.packb({**kept, "events": kept["events"][1:]}, use_bin_type=True))
    changed = astra("verify", "--files", str(acta), str(report), str(forged))
    assert changed.returncode == 1, changed.stdout
    assert "MISMATCH: evidence (report's sha256)" in changed.stdout
    assert "MISMATCH: evidence's event log (chain_head)" in changed.stdout
    assert "OK: evidence's blocks (content_hash)" in changed.stdout
    rewritten = json.loads(report.read_bytes())
    rewritten["evidence"]["sha256"] = sha256(forged.read_bytes()).hexdigest()
    forged_report = server.data_dir.parent / "forged.audit.json"
    forged_report.write_text(json.dumps(rewritten))
    still = astra("verify", "--files", str(acta), str(forged_report), str(forged))
    assert still.returncode == 1 and "MISMATCH: evidence's event log (chain_head)" in still.stdout

    rewritten["evidence"] = {}  # names no hash: said, not a traceback
    forged_report.write_text(json.dumps(rewritten))
    broken = astra("verify", "--files", str(acta), str(forged_report), str(evidence))
    assert broken.returncode == 2 and "does not name its evidence's hashes" in broken.stderr
    del rewritten["evidence"]  # a report sealed before the evidence was kept
    forged_report.write_text(json.dumps(rewritten))
    old = astra("verify", "--files", str(acta), str(forged_report), str(evidence))
    assert old.returncode == 2 and "sealed before the evidence" in old.stderr


def test_verify_of_a_stopped_servers_data_dir_holds_it_as_a_server_does(
    spawn: Callable[..., ServerProcess],
) -> None:
    """Review: with no server running, `astra verify` starts the data dir's Redis itself, and did
    so without the lock `astra serve` takes: a server starting meanwhile shut that Redis down
    and started its own on the same files. Verify takes the lock too; held by a server whose
    Redis does not answer yet, it says so and exits 2 instead of starting a second Redis."""
    server = spawn("serve")
    auth = {"authorization": f"Bearer {server.token()}"}
    api = f"{server.url}/v1/orchestrator/session"
    session_id = httpx.post(f"{api}/start", json={"tenant_id": TENANT}, headers=auth).json()["session_id"]
    httpx.post(f"{api}/{session_id}/append", json={"text": "Se abre la sesión."}, headers=auth)
    assert httpx.post(f"{api}/{session_id}/finalize", headers=auth, timeout=60).status_code == 200
    server.stop()
    holder = os.open(server.data_dir / "serve.lock", os.O_RDWR)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a server starting, its Redis not up
        busy = astra("verify", "--session", session_id, "--data-dir", str(server.data_dir))
    finally:
        os.close(holder)
    assert busy.returncode == 2 and "in use by an astra serve" in busy.stderr, busy.stderr
    assert not (server.data_dir / "redis" / "redis.sock").exists()  # no Redis started
    done = astra("verify", "--session", session_id, "--data-dir", str(server.data_dir))
    assert done.returncode == 0 and "MISMATCH" not in done.stdout, done.stdout + done.stderr
