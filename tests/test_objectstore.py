"""The object store: local signed links, and S3 through boto3 against moto's server."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import io
import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import boto3
import httpx
import msgpack
import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.buffer import pack
from server.errors import (
    AuthError,
    ConfigError,
    Forbidden,
    InvalidInput,
    NotFound,
    ServiceError,
    ServiceUnavailable,
)
from server.keys import SessionKeys
from server.services import objectstore
from server.services.core import AudioRequest, CoreResult
from server.services.guard import DOCX_TYPE as DOCX
from server.services.guard import EmbeddedGuard, SealRequest, bin_header, canonical_json, evidence_chunks
from server.services.objectstore import LocalObjectStore, S3ObjectStore, session_key
from server.settings import Settings
from server.verify import verify_session

from .conftest import TENANT, SettledTestClient, with_settings, ws_until
from .faultkit import make_timeline


def test_local_links_are_signed_expiring_and_bound_to_the_key(tmp_path: Path) -> None:
    """A link verifies only for its key and before its expiry; keys cannot escape the root."""
    root = tmp_path / "objects"
    store = LocalObjectStore(root, b"secret", "http://x")
    key = session_key("T", "ses_1", "acta.docx")
    expires = int(time.time()) + 60
    signature = store.sign(key, expires)
    store.verify(key, str(expires), signature)
    with pytest.raises(AuthError):
        store.verify(session_key("OTHER", "ses_1", "acta.docx"), str(expires), signature)
    with pytest.raises(AuthError):
        store.verify(key, str(int(time.time()) - 1), store.sign(key, int(time.time()) - 1))
    with pytest.raises(AuthError):
        store.verify(key, "soon", signature)
    (tmp_path / "outside").write_bytes(b"secret")
    hostile = [
        "../../etc/passwd",
        "../outside",
        "/etc/passwd",
        "T/../../outside",
        "a//b",
        "a/./b",
        "a\\..\\b",
        "a\0b",
        "",
    ]
    for bad in hostile:
        with pytest.raises(NotFound):
            anyio.run(store.get_bytes, bad)
        with pytest.raises(NotFound):
            anyio.run(store.put_bytes, bad, b"x", "text/plain")
    assert not root.exists()  # nothing written anywhere
    anyio.run(store.put_bytes, key, b"acta", "application/octet-stream")
    assert anyio.run(store.get_bytes, key) == b"acta" and (root / key).read_bytes() == b"acta"
    assert [p.name for p in (root / key).parent.iterdir()] == ["acta.docx"]  # no temporary left


def test_local_durable_objects_fsync_the_directories_that_name_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A durable object (a sealed acta, its report) has its new name fsynced, with every
    directory made for it; evidence audio and other objects do not pay for a journal commit."""
    synced: list[Path] = []
    real = objectstore._fsync_directory

    def spy(directory: Path) -> None:
        synced.append(directory)
        real(directory)

    monkeypatch.setattr(objectstore, "_fsync_directory", spy)
    root = tmp_path / "objects"
    store = LocalObjectStore(root, b"secret", "http://x")
    real_root = root.resolve()
    anyio.run(store.put_bytes, session_key("T", "ses_1", "audio", "u1.wav"), b"RIFF", "audio/wav")
    assert synced == []
    put = functools.partial(store.put_bytes, durable=True)
    anyio.run(put, session_key("T", "ses_1", "acta.docx"), b"acta", DOCX)
    assert synced == [real_root / "tenants/T/sessions/ses_1"]  # it existed: its name is durable
    synced.clear()
    anyio.run(put, session_key("T", "ses_2", "acta.docx"), b"acta", DOCX)
    assert synced == [real_root / "tenants/T/sessions/ses_2", real_root / "tenants/T/sessions"]
    synced.clear()
    anyio.run(
        functools.partial(store.put_bytes, sealed=True), session_key("U", "ses_3", "acta.docx"), b"acta", DOCX
    )
    assert synced == [
        real_root / p for p in ("tenants/U/sessions/ses_3", "tenants/U/sessions", "tenants/U", "tenants")
    ]
    assert anyio.run(store.get_bytes, session_key("U", "ses_3", "acta.docx")) == b"acta"


def pieces_made_by(threads: list[int], count: int = 40) -> Iterator[bytes]:
    """``count`` pieces of 64 KiB, each noting the thread that asked for it."""
    for i in range(count):
        threads.append(threading.get_ident())
        yield bytes([i]) * (64 << 10)


@pytest.mark.parametrize("store_kind", ["local", "s3"])
def test_an_object_in_pieces_is_stored_whole_and_its_pieces_made_off_the_event_loop(
    store_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """``put_bytes`` with an object's pieces (GUARD's evidence: the blocks and the event log of a
    session, ~9 MB for six hours) stores them in order as one object, taking them one by one in
    the store's thread: the pieces are neither joined in the server's memory nor made on its
    event loop. On S3 they are spooled to a temporary file that boto3 sends, sealed as bytes are."""
    store: LocalObjectStore | S3ObjectStore
    client: Any = None
    if store_kind == "local":
        store = LocalObjectStore(tmp_path / "objects", b"secret", "http://x")
    else:
        s3_env = request.getfixturevalue("s3_env")
        client = boto3.client("s3", endpoint_url=s3_env["ASTRA_S3_ENDPOINT_URL"], region_name="us-east-1")
        store = S3ObjectStore(client, s3_env["ASTRA_S3_BUCKET"], "astra", object_lock_days=30)
    key = session_key(TENANT, "ses_p", "acta.evidence.msgpack")
    threads: list[int] = []

    async def scenario() -> int:
        await store.put_bytes(key, pieces_made_by(threads), "application/msgpack", sealed=True)
        return threading.get_ident()

    loop_thread = anyio.run(scenario)
    assert anyio.run(store.get_bytes, key) == b"".join(bytes([i]) * (64 << 10) for i in range(40))
    assert len(threads) == 40 and loop_thread not in threads
    if client is not None:
        assert client.head_object(Bucket=store.bucket, Key="astra/" + key)["ObjectLockMode"] == "COMPLIANCE"


def test_guard_stores_the_acta_and_its_report_durably(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GUARD's three objects (the acta, its evidence, its report) are written sealed: durable
    (before Redis records the session FINALIZED), and locked where the store has Object Lock;
    the report last, so a report found names evidence that is there."""
    sealed_keys: dict[str, bool] = {}
    store = LocalObjectStore(tmp_path / "objects", b"secret", "http://x")
    real_put = store.put_bytes

    async def put_bytes(key: str, data: bytes, content_type: str, **kwargs: Any) -> None:
        sealed_keys[key] = kwargs.get("sealed", False)
        await real_put(key, data, content_type, **kwargs)

    monkeypatch.setattr(store, "put_bytes", put_bytes)
    request = SealRequest(
        tenant_id="T", session_id="ses_1", document=b"PK docx", blocks=msgpack.packb([]), events=[]
    )
    sealed = anyio.run(EmbeddedGuard(store, 60).seal, request)
    evidence_key = sealed.audit_report["evidence"]["storage_key"]
    assert sealed_keys == {sealed.document_key: True, evidence_key: True, sealed.report_key: True}
    assert list(sealed_keys)[-1] == sealed.report_key


def test_a_seal_asked_again_later_names_and_writes_the_same_objects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A seal request carries when it was sealed: GUARD asked again with it seconds later (a
    retry) writes the same objects, the same bytes under the same keys, with the same report;
    without it, each seal is named by GUARD's clock; a value that is not a time is refused."""
    import server.services.guard as guard

    clock = iter(range(2_000_000_000, 2_100_000_000, 7))
    monkeypatch.setattr(guard, "time", type("Clock", (), {"time": staticmethod(lambda: next(clock))}))
    store = LocalObjectStore(tmp_path / "objects", b"secret", "http://x")
    request = SealRequest(
        tenant_id="T",
        session_id="ses_1",
        document=b"PK docx",
        blocks=msgpack.packb([]),
        events=[],
        session={"sealed_at": 1_900_000_000.5},
    )
    first, again = (anyio.run(EmbeddedGuard(store, 60).seal, request) for _ in range(2))
    assert (again.document_key, again.report_key) == (first.document_key, first.report_key)
    assert again.audit_report == first.audit_report
    assert first.audit_report["timeline"]["finalized_at"].startswith("2030-03-17T17:46:40")
    assert len(list((tmp_path / "objects").rglob("acta-*"))) == 3
    unstamped = dataclasses.replace(request, session={})
    keys = {anyio.run(EmbeddedGuard(store, 60).seal, unstamped).document_key for _ in range(2)}
    assert len(keys) == 2
    for bad in ("2030-03-17", True, -1, float("nan")):
        with pytest.raises(InvalidInput):
            anyio.run(EmbeddedGuard(store, 60).seal, dataclasses.replace(request, session={"sealed_at": bad}))


def test_the_evidence_carries_the_blocks_as_they_are_behind_a_bin_header() -> None:
    """GUARD's evidence, in pieces, puts the session's blocks in as they are (not a copy of a
    6-hour session's ~4 MB), behind a header that msgpack reads as a bin of their size, for each
    of its three widths; joined, the pieces are the evidence map."""
    for size in (0, 1, 255, 256, 65535, 65536, 1 << 20):
        assert bin_header(size) + b"x" * size == msgpack.packb(b"x" * size, use_bin_type=True)
    blocks = msgpack.packb([{"block_id": "b1", "text": "Se abre la sesión."}])
    request = SealRequest(
        tenant_id="T", session_id="ses_1", document=b"PK", blocks=blocks, events=[(1, b"\x80")]
    )
    pieces = list(evidence_chunks(request))
    assert any(piece is request.blocks for piece in pieces)
    assert msgpack.unpackb(b"".join(pieces), raw=False) == {
        "evidence_version": 1,
        "tenant_id": "T",
        "session_id": "ses_1",
        "blocks": blocks,
        "events": [[1, b"\x80"]],
    }


def test_s3_store_puts_gets_and_presigns_with_object_lock(s3_env: dict[str, str]) -> None:
    """Bytes and streamed files round-trip through S3; presigned URLs fetch the exact bytes;
    with Object Lock configured, sealed objects (an acta, its report) are stored in compliance
    mode and the others (evidence audio, skeletons) are not."""
    client = boto3.client("s3", endpoint_url=s3_env["ASTRA_S3_ENDPOINT_URL"], region_name="us-east-1")
    store = S3ObjectStore(client, s3_env["ASTRA_S3_BUCKET"], "astra", object_lock_days=30)
    key = session_key(TENANT, "ses_x", "acta.docx")
    data = b"PK\x03\x04 acta" * 1000

    async def scenario() -> None:
        await store.put_bytes(key, data, "application/octet-stream", sealed=True)
        await store.put_bytes(key + ".wav", b"RIFF", "audio/wav", durable=True)
        assert await store.get_bytes(key) == data
        assert await store.exists(key) and not await store.exists(key + ".nope")
        await store.put_file(key + ".img", io.BytesIO(b"\x89PNG data"), "image/png")
        assert await store.get_bytes(key + ".img") == b"\x89PNG data"
        async with httpx.AsyncClient() as http:
            assert (await http.get(await store.download_url(key, 60))).content == data
        with pytest.raises(NotFound):
            await store.get_bytes(key + ".missing")

    anyio.run(scenario)
    head = client.head_object(Bucket=s3_env["ASTRA_S3_BUCKET"], Key="astra/" + key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    for unsealed in (key + ".wav", key + ".img"):
        assert "ObjectLockMode" not in client.head_object(
            Bucket=s3_env["ASTRA_S3_BUCKET"], Key="astra/" + unsealed
        )
    assert store.uri(key) == store.location(key) == f"s3://{s3_env['ASTRA_S3_BUCKET']}/astra/{key}"


def test_an_s3_body_cut_short_is_an_outage_not_a_crash() -> None:
    """Review: a body read that failed after S3 answered (a read timeout, a connection cut in the
    middle: botocore's own retries do not cover the body) escaped as a botocore error, a 500. It
    is SERVICE_UNAVAILABLE (call again), as a failed call is. (A stand-in for boto3's client: the
    failure is the body's, after a real answer.)"""
    from botocore.exceptions import ReadTimeoutError

    class CutBody:
        def read(self) -> bytes:
            raise ReadTimeoutError(endpoint_url="https://s3.example")

    class Client:
        def get_object(self, **kwargs: Any) -> dict[str, Any]:
            return {"Body": CutBody()}

    store = S3ObjectStore(Client(), "actas", "")
    with pytest.raises(ServiceUnavailable):
        anyio.run(store.get_bytes, "tenants/T/sessions/ses_x/acta.docx")


@contextlib.contextmanager
def hung_s3() -> Iterator[tuple[str, list[bytes]]]:
    """An endpoint that takes connections and requests and never answers: its URL, and the
    request lines it was sent."""
    import socket

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    requests: list[bytes] = []
    connections: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(5)
            with contextlib.suppress(OSError):
                requests.append(conn.recv(65536).split(b"\r\n", 1)[0])
            connections.append(conn)  # kept open, unanswered

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", requests
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in [*connections, listener]:
            conn.close()


def test_a_hung_s3_is_tried_as_often_as_botocore_tries_not_that_many_times_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Review: a seal (and every call of ours retried around an object store call) retried an S3
    failure that botocore had already tried, and botocore tried once more than ``retry.attempts``
    (its ``max_attempts`` counts retries): a hung S3 held a finalize through 4 x 5 read time-outs
    (~10 min) before its 503. Now S3 sees ``retry.attempts`` tries in all, and the caller still
    gets SERVICE_UNAVAILABLE (a 503: call again)."""
    from server.services.resilience import with_retries
    from server.settings import Retry

    for name, value in {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}.items():
        monkeypatch.setenv(name, value)
    retry = Retry(attempts=3, base_delay=0.01, max_delay=0.02, timeout=0.3)
    with hung_s3() as (url, requests):
        settings = Settings(s3_bucket="actas", s3_endpoint_url=url, s3_region="us-east-1", retry=retry)
        store = objectstore.make_object_store(settings, b"secret")
        request = SealRequest(
            tenant_id="T", session_id="ses_1", document=b"PK", blocks=msgpack.packb([]), events=[]
        )
        with pytest.raises(ServiceUnavailable) as failed:
            anyio.run(with_retries, lambda: EmbeddedGuard(store, 60).seal(request), retry)
        assert failed.value.http_status == 503
        assert len(requests) == 3 and all(line.startswith(b"PUT ") for line in requests), requests
        with pytest.raises(ServiceUnavailable):
            anyio.run(with_retries, lambda: store.get_bytes("tenants/T/x.wav"), retry)
        assert len(requests) == 6 and all(line.startswith(b"GET ") for line in requests[3:])


@pytest.mark.parametrize("service", ["serve", "guard"])
def test_a_bucket_that_cannot_hold_locked_actas_stops_startup_saying_why(
    service: str, s3_env: dict[str, str], spawn: Callable[..., Any], redis_url: str
) -> None:
    """``ASTRA_S3_OBJECT_LOCK_DAYS`` with a bucket made without Object Lock, or a bucket that does
    not exist: ``astra serve`` and ``astra guard`` refuse to start and say why. They used to start
    ready, record sessions, and fail every finalize with 503 ``object store: InvalidRequest``
    (nothing logged); a bucket with Object Lock starts."""
    plain = f"astra-plain-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=s3_env["ASTRA_S3_ENDPOINT_URL"], region_name="us-east-1").create_bucket(
        Bucket=plain
    )
    env = {**s3_env, "REDIS_URL": redis_url, "ASTRA_S3_OBJECT_LOCK_DAYS": "30"}
    # said in one line before serving, exit 2 (review: a traceback from the startup, exit 3)
    no_lock = r"exited with 2: (?s:.)*does not have Object Lock enabled"
    with pytest.raises(RuntimeError, match=no_lock) as refused:
        spawn(service, env={**env, "ASTRA_S3_BUCKET": plain})
    assert "Traceback" not in str(refused.value)
    with pytest.raises(RuntimeError, match=r"exited with 2: (?s:.)*ASTRA_S3_BUCKET: no bucket 'astra-none'"):
        spawn(service, env={**env, "ASTRA_S3_BUCKET": "astra-none"})
    assert spawn(service, env=env).process.poll() is None


@pytest.mark.parametrize("locked", [False, True], ids=["no-object-lock", "object-lock"])
def test_the_object_lock_check_is_made_by_credentials_that_may_not_head_the_bucket(
    s3_env: dict[str, str], locked: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """Review: HeadBucket needs s3:ListBucket, which the README lets credentials go without; its
    403 ended the startup check, so the Object Lock check was never asked and a bucket without
    Object Lock started ready, to fail every finalize after hours of recording."""
    endpoint = s3_env["ASTRA_S3_ENDPOINT_URL"]
    admin = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    bucket = f"astra-check-{uuid.uuid4().hex[:8]}"
    admin.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=locked)
    # On S3: the lock's read is s3:GetBucketObjectLockConfiguration, HeadBucket needs s3:ListBucket.
    # moto's server asks s3:ListBucket for the lock's read and "s3:HeadBucket" for HeadBucket, so
    # this policy gets there the answers S3 gives credentials with the first permission only.
    lock_actions = ["s3:GetBucketObjectLockConfiguration", "s3:ListBucket"]
    may = {"Effect": "Allow", "Action": lock_actions, "Resource": f"arn:aws:s3:::{bucket}"}
    with s3_user(endpoint, may) as credentials:
        store = S3ObjectStore(_s3_client(endpoint, credentials), bucket, object_lock_days=30)
        with caplog.at_level(logging.WARNING, logger="astra.objectstore"):
            if locked:
                anyio.run(store.check)
            else:
                with pytest.raises(ConfigError, match="does not have Object Lock enabled"):
                    anyio.run(store.check)
    assert any("could not check the bucket" in r.getMessage() for r in caplog.records)


def test_finalize_on_s3_stores_document_and_report(
    s3_env: dict[str, str], settings: Settings, make_token: Callable[..., str]
) -> None:
    """With S3 configured, finalize stores the DOCX and the audit report under the tenant's
    prefix, and its presigned URL returns the bytes whose SHA-256 is the integrity hash."""
    s3_settings = with_settings(
        settings,
        s3_bucket=s3_env["ASTRA_S3_BUCKET"],
        s3_endpoint_url=s3_env["ASTRA_S3_ENDPOINT_URL"],
        s3_prefix="actas",
    )
    auth = {"authorization": f"Bearer {make_token()}"}
    with TestClient(create_app(s3_settings)) as client:
        started = client.post(
            "/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=auth
        ).json()
        api = f"/v1/orchestrator/session/{started['session_id']}"
        client.post(f"{api}/append", json={"text": "Se abre la sesión ordinaria."}, headers=auth)
        result = client.post(f"{api}/finalize", headers=auth).json()
    document = httpx.get(result["download_url"]).content
    assert hashlib.sha256(document).hexdigest() == result["integrity_hash"]
    assert result["document_key"].startswith(f"tenants/{TENANT}/sessions/{started['session_id']}/")
    s3 = boto3.client("s3", endpoint_url=s3_env["ASTRA_S3_ENDPOINT_URL"], region_name="us-east-1")
    report = s3.get_object(Bucket=s3_env["ASTRA_S3_BUCKET"], Key="actas/" + result["report_key"])[
        "Body"
    ].read()
    assert json.loads(report)["document"]["integrity_hash"] == result["integrity_hash"]
    named = json.loads(report)["evidence"]
    evidence = s3.get_object(Bucket=s3_env["ASTRA_S3_BUCKET"], Key="actas/" + named["storage_key"])[
        "Body"
    ].read()
    assert hashlib.sha256(evidence).hexdigest() == named["sha256"] and len(evidence) == named["size_bytes"]


@contextlib.contextmanager
def finalized_on_locked_s3(
    s3_env: dict[str, str], settings: Settings, make_token: Callable[..., str]
) -> Iterator[tuple[TestClient, str, dict[str, Any]]]:
    """A server on moto's Object-Locked bucket with one session finalized: (its client, the
    session's id, the finalize result), while the server runs."""
    s3_settings = with_settings(
        settings,
        s3_bucket=s3_env["ASTRA_S3_BUCKET"],
        s3_endpoint_url=s3_env["ASTRA_S3_ENDPOINT_URL"],
        s3_object_lock_days=1,
    )
    auth = {"authorization": f"Bearer {make_token()}"}
    with TestClient(create_app(s3_settings)) as client:
        sid = client.post("/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=auth).json()[
            "session_id"
        ]
        api = f"/v1/orchestrator/session/{sid}"
        client.post(f"{api}/append", json={"text": "Se abre la sesión ordinaria."}, headers=auth)
        yield client, sid, client.post(f"{api}/finalize", headers=auth).json()


def test_an_acta_written_over_on_s3_is_not_what_its_links_and_verify_read(
    s3_env: dict[str, str], settings: Settings, make_token: Callable[..., str]
) -> None:
    """An Object-Locked bucket keeps versions: a later PUT to the acta's key (anyone holding
    s3:PutObject) adds a version and leaves the sealed one locked. The download links and
    ``astra verify`` read the key's latest version, so they served the forged bytes and called the
    sealed acta modified. They read the version GUARD sealed now (``object_versions``): the link
    still returns the sealed bytes, verify finds them and the report unchanged, and says that
    their keys now serve something else (or nothing, past a delete marker)."""
    s3 = boto3.client("s3", endpoint_url=s3_env["ASTRA_S3_ENDPOINT_URL"], region_name="us-east-1")
    with finalized_on_locked_s3(s3_env, settings, make_token) as (client, sid, result):
        api, auth = f"/v1/orchestrator/session/{sid}", {"authorization": f"Bearer {make_token()}"}
        sealed = {
            result["document_key"],
            result["report_key"],
            result["audit_report"]["evidence"]["storage_key"],
        }
        assert set(result["object_versions"]) == sealed
        for key in (result["document_key"], result["report_key"]):
            s3.put_object(Bucket=s3_env["ASTRA_S3_BUCKET"], Key=key, Body=b"{}")  # written over
        evidence_key = result["audit_report"]["evidence"]["storage_key"]
        s3.delete_object(Bucket=s3_env["ASTRA_S3_BUCKET"], Key=evidence_key)  # a delete marker on top
        assert (
            s3.get_object(Bucket=s3_env["ASTRA_S3_BUCKET"], Key=result["document_key"])["Body"].read()
            == b"{}"
        )
        fresh = client.get(api, headers=auth).json()["result"]
        orchestrator = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        checks = client.portal.call(verify_session, orchestrator.buffer, orchestrator.store, sid)  # type: ignore[union-attr]
    for link in (result["download_url"], fresh["download_url"]):
        assert hashlib.sha256(httpx.get(link).content).hexdigest() == result["integrity_hash"]
    # the sealed files are intact; what was written over them is reported, not taken for them

    def s3_version(key: str) -> str:
        return str(s3.head_object(Bucket=s3_env["ASTRA_S3_BUCKET"], Key=key)["VersionId"])

    assert [(c.name, c.actual) for c in checks if not c.ok] == [
        ("acta's key still serves the sealed version", s3_version(result["document_key"])),
        ("audit report's key still serves the sealed version", s3_version(result["report_key"])),
        ("evidence's key still serves the sealed version", "deleted (a delete marker)"),
    ]


def test_verify_holds_the_named_versions_to_the_keys_first_locked_ones(
    s3_env: dict[str, str], settings: Settings, make_token: Callable[..., str]
) -> None:
    """Review: the session's result in Redis names the versions verify reads, and Redis is not
    locked. Whoever could write Redis and put new versions in the bucket (a forged acta and a
    report naming its hash) and name them in the result had the forgery verify: every hash agreed
    and the keys served the versions named. Verify now compares each version named with the key's
    first one, locked at the seal; a finalize taken over, which wrote the same bytes again as a
    second version, still verifies."""
    bucket = s3_env["ASTRA_S3_BUCKET"]
    s3 = boto3.client("s3", endpoint_url=s3_env["ASTRA_S3_ENDPOINT_URL"], region_name="us-east-1")
    with finalized_on_locked_s3(s3_env, settings, make_token) as (client, sid, result):
        orchestrator = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        buffer, store = orchestrator.buffer, orchestrator.store

        def verified() -> list[tuple[str, bool]]:
            checks = client.portal.call(verify_session, buffer, store, sid)
            return [(c.name, c.ok) for c in checks]

        def name_in_redis(changed: dict[str, Any]) -> None:
            client.portal.call(buffer.redis.hset, SessionKeys(sid).meta, "result", pack(changed))

        document_key, report_key = result["document_key"], result["report_key"]
        # a takeover's second write of the same bytes: a second version, named in the result
        again = {
            key: s3.put_object(
                Bucket=bucket, Key=key, Body=s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            )["VersionId"]
            for key in (document_key, report_key)
        }
        name_in_redis({**result, "object_versions": {**result["object_versions"], **again}})
        takeover = verified()
        # the forgery: an acta, and a report naming its hash, as new versions named in Redis
        forged = b"PK forged acta"
        report = {**result["audit_report"]}
        report["document"] = {**report["document"], "integrity_hash": hashlib.sha256(forged).hexdigest()}
        forged_versions = {
            document_key: s3.put_object(Bucket=bucket, Key=document_key, Body=forged)["VersionId"],
            report_key: s3.put_object(Bucket=bucket, Key=report_key, Body=canonical_json(report))[
                "VersionId"
            ],
        }
        name_in_redis(
            {
                **result,
                "integrity_hash": hashlib.sha256(forged).hexdigest(),
                "object_versions": {**result["object_versions"], **forged_versions},
            }
        )
        forgery = verified()
        # the same forgery with no version named: the latest versions are read (review)
        name_in_redis({**result, "integrity_hash": hashlib.sha256(forged).hexdigest(), "object_versions": {}})
        unnamed = verified()
    assert all(ok for _, ok in takeover) and any("first version, locked" in name for name, _ in takeover)
    assert [name for name, ok in forgery if not ok] == [
        "acta: the bytes verified are the key's first version, locked at the seal",
        "audit report: the bytes verified are the key's first version, locked at the seal",
    ]
    assert [name for name, ok in unnamed if not ok] == [name for name, ok in forgery if not ok]


@contextlib.contextmanager
def s3_user(endpoint: str, *statements: dict[str, Any]) -> Iterator[dict[str, str]]:
    """Credentials of a new IAM user of moto's server with ``statements`` as its policy, while
    the server enforces IAM (moto then checks every request's signature and permissions, as S3
    does). Enforcement is server-wide: it is turned off again on leaving."""
    admin = {"endpoint_url": endpoint, "region_name": "us-east-1"}
    iam = boto3.client("iam", **admin)
    name = f"astra-{uuid.uuid4().hex[:12]}"
    iam.create_user(UserName=name)
    policy = {"Version": "2012-10-17", "Statement": list(statements)}
    iam.put_user_policy(UserName=name, PolicyName="astra", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    httpx.post(f"{endpoint}/moto-api/reset-auth", content=b"0").raise_for_status()
    try:
        yield {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
    finally:
        httpx.post(f"{endpoint}/moto-api/reset-auth", content=b"inf").raise_for_status()


def _s3_client(endpoint: str, credentials: dict[str, str]) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
    )


@pytest.mark.parametrize("may_read_versions", [True, False], ids=["GetObjectVersion", "GetObject-only"])
def test_guard_names_the_sealed_versions_only_where_its_credentials_may_read_them(
    s3_env: dict[str, str], may_read_versions: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """Review: a link or a read naming a version needs s3:GetObjectVersion besides s3:GetObject.
    With credentials holding only the latter (the README's list before), every link to an acta
    sealed with its version would have answered 403. GUARD reads the document's version back
    once: where that is refused it names no versions (links read the key, as before) and logs
    what to grant; where it may, the link names the version and returns the sealed bytes."""
    endpoint, bucket = s3_env["ASTRA_S3_ENDPOINT_URL"], s3_env["ASTRA_S3_BUCKET"]
    actions = ["s3:PutObject", "s3:GetObject", *(["s3:GetObjectVersion"] if may_read_versions else [])]
    allow = {"Effect": "Allow", "Action": actions, "Resource": f"arn:aws:s3:::{bucket}/astra/*"}
    request = SealRequest(
        tenant_id="T", session_id="ses_1", document=b"PK docx", blocks=msgpack.packb([]), events=[]
    )
    with s3_user(endpoint, allow) as credentials:
        store = S3ObjectStore(_s3_client(endpoint, credentials), bucket, "astra")
        with caplog.at_level(logging.WARNING, logger="astra.objectstore"):
            sealed = anyio.run(EmbeddedGuard(store, 60).seal, request)
        version = sealed.object_versions.get(sealed.document_key)
        # what links and verify read, with these credentials (moto's server cannot answer a
        # presigned link while it checks permissions: the link itself is fetched after)
        assert anyio.run(store.get_bytes, sealed.document_key, version) == b"PK docx"
    fetched = httpx.get(sealed.download_url)
    assert fetched.status_code == 200 and fetched.content == b"PK docx"
    assert bool(sealed.object_versions) is may_read_versions
    assert ("versionId=" in sealed.download_url) is may_read_versions
    warned = [r.getMessage() for r in caplog.records if "s3:GetObjectVersion" in r.getMessage()]
    assert len(warned) == (0 if may_read_versions else 1)


@pytest.mark.parametrize("may_list_versions", [True, False], ids=["ListBucketVersions", "no-listing"])
def test_a_keys_first_version_is_the_oldest_or_refused_saying_what_to_grant(
    s3_env: dict[str, str], may_list_versions: bool
) -> None:
    """``first_version`` (what verify holds a named version to) is the key's oldest version, not
    one of another key it prefixes; credentials that may not list versions get Forbidden naming
    the permission, not an answer verify would take for the sealed version."""
    endpoint, bucket = s3_env["ASTRA_S3_ENDPOINT_URL"], s3_env["ASTRA_S3_BUCKET"]
    admin = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    key = f"first-{uuid.uuid4().hex[:8]}/acta.docx"
    written = [
        admin.put_object(Bucket=bucket, Key=f"astra/{key}", Body=body)["VersionId"] for body in (b"1", b"2")
    ]
    admin.put_object(Bucket=bucket, Key=f"astra/{key}.audit.json", Body=b"{}")  # a key it prefixes
    actions = ["s3:GetObject", *(["s3:ListBucketVersions"] if may_list_versions else ["s3:ListBucket"])]
    allow = [
        {"Effect": "Allow", "Action": actions, "Resource": f"arn:aws:s3:::{bucket}/astra/*"},
        {"Effect": "Allow", "Action": actions, "Resource": f"arn:aws:s3:::{bucket}"},
    ]
    with s3_user(endpoint, *allow) as credentials:
        store = S3ObjectStore(_s3_client(endpoint, credentials), bucket, "astra")
        if may_list_versions:
            assert anyio.run(store.first_version, key) == written[0]
            assert anyio.run(store.first_version, "first-none/acta.docx") is None
        else:
            with pytest.raises(Forbidden, match="s3:ListBucketVersions"):
                anyio.run(store.first_version, key)


def test_s3_reads_answered_403_are_missing_or_not_readable(
    s3_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """S3 answers a read of a missing key 403 AccessDenied, not 404, to credentials without
    s3:ListBucket. A read (GET, HEAD) answered 403 is taken as missing or not readable (NotFound,
    logged), so the callers' coded paths (AUDIO_MISSING, a skeleton written again) run instead of
    an outage retried in vain. A refused write and bad credentials stay an outage, logged with
    S3's message (they were not logged at all).

    moto's server does not answer a missing key 403 for want of s3:ListBucket (it checks the
    permission first); it is made to answer 403 AccessDenied to the same requests by a policy
    that lets the user write under ``astra/`` and read nothing: the same answer on the wire."""
    endpoint, bucket = s3_env["ASTRA_S3_ENDPOINT_URL"], s3_env["ASTRA_S3_BUCKET"]
    writes = {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": f"arn:aws:s3:::{bucket}/astra/*"}
    key = session_key(TENANT, "ses_x", "audio", "u1.wav")
    with s3_user(endpoint, writes) as credentials:
        client = _s3_client(endpoint, credentials)
        store = S3ObjectStore(client, bucket, "astra")
        wrong_secret = S3ObjectStore(
            _s3_client(endpoint, {**credentials, "AWS_SECRET_ACCESS_KEY": "wrong"}), bucket, "astra"
        )

        async def scenario() -> None:
            await store.put_bytes(key, b"RIFF", "audio/wav")
            for unreadable in (key + ".missing", key):  # gone, or there but not ours to read
                with pytest.raises(NotFound, match="missing or not readable"):
                    await store.get_bytes(unreadable)
            assert not await store.exists(key + ".missing")
            with pytest.raises(ServiceUnavailable, match="AccessDenied"):
                await S3ObjectStore(client, bucket, "elsewhere").put_bytes(key, b"RIFF", "audio/wav")
            with pytest.raises(ServiceUnavailable, match="SignatureDoesNotMatch"):
                await wrong_secret.get_bytes(key)

        with caplog.at_level(logging.WARNING, logger="astra.objectstore"):
            anyio.run(scenario)
    warned = [r.getMessage() for r in caplog.records if r.name == "astra.objectstore"]
    assert len(warned) == 5 and f"get_object astra/{key}.missing answered 403 AccessDenied" in warned[0]
    # the outages are logged with S3's own words too: the operator sees why finalize waits
    assert "put_object elsewhere/" in warned[3] and "(AccessDenied)" in warned[3]
    assert f"get_object astra/{key} failed" in warned[4] and "(SignatureDoesNotMatch)" in warned[4]


def test_s3_a_read_refused_for_an_object_that_is_there_stays_an_outage(
    s3_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """A 403 on a read is told apart by listing the key, when the credentials may list: an object
    that is there but may not be read now (a KMS key or a bucket policy refusing it) is an outage
    (ServiceUnavailable, retried), not a missing object (it became NotFound, so a re-transcription
    during such an outage left a permanent AUDIO_MISSING gap for review); a key the bucket does
    not list is gone (NotFound). Credentials that may not list keep NotFound (the test above)."""
    endpoint, bucket = s3_env["ASTRA_S3_ENDPOINT_URL"], s3_env["ASTRA_S3_BUCKET"]
    writes = {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": f"arn:aws:s3:::{bucket}/astra/*"}
    lists = {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": f"arn:aws:s3:::{bucket}"}
    key = session_key(TENANT, "ses_x", "audio", "u1.wav")
    with s3_user(endpoint, writes, lists) as credentials:
        store = S3ObjectStore(_s3_client(endpoint, credentials), bucket, "astra")

        async def scenario() -> None:
            await store.put_bytes(key, b"RIFF", "audio/wav")
            with pytest.raises(ServiceUnavailable, match="there but may not be read"):
                await store.get_bytes(key)
            with pytest.raises(ServiceUnavailable, match="there but may not be read"):
                await store.exists(key)
            for gone in (key + ".missing", key[:-1]):  # a longer key listed is not this one
                with pytest.raises(NotFound, match="gone"):
                    await store.get_bytes(gone)
            assert not await store.exists(key + ".missing")

        with caplog.at_level(logging.WARNING, logger="astra.objectstore"):
            anyio.run(scenario)
    warned = [r.getMessage() for r in caplog.records if r.name == "astra.objectstore"]
    assert f"get_object astra/{key} answered 403 AccessDenied for an object that is there" in warned[0]


class DownCore:
    """CORE refusing every utterance at once (not worth retrying): each becomes a block pending
    review that keeps its audio reference."""

    async def process_audio(self, req: AudioRequest) -> CoreResult:
        raise ServiceError("CORE is down", service="core")


def reprocess_lost_audio(client: TestClient, token: str, lose: Callable[[str], None]) -> httpx.Response:
    """Record one utterance while CORE is down (a block pending review that keeps its audio),
    ``lose(audio_ref)``, then ask for the block to be re-processed: the answer."""
    auth = {"authorization": f"Bearer {token}"}
    client.app.state.astra.orchestrator.core = DownCore()  # type: ignore[attr-defined]
    started = client.post("/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=auth)
    api = f"/v1/orchestrator/session/{started.json()['session_id']}"
    frames = [*make_timeline(random.Random(3), pieces=1).frames()]
    with client.websocket_connect(f"{api}/stream") as ws:
        ws.send_bytes(msgpack.packb({"type": "hello", "client_id": "mic", "token": token}))
        for seq, frame in enumerate(frames, 1):
            ws.send_bytes(msgpack.packb({"type": "audio", "seq": seq, "format": "pcm16", "data": frame}))
        ws.send_bytes(msgpack.packb({"type": "audio_end", "seq": len(frames) + 1}))
        block = ws_until(ws, lambda m: m["type"] == "event" and m["kind"] == "block.added")["data"]["block"]
    assert block["type"] == "ERROR_PENDING_REVIEW" and block["audio_metadata"]["audio_ref"]
    lose(block["audio_metadata"]["audio_ref"])
    return client.post(f"{api}/blocks/{block['block_id']}/reprocess", headers=auth)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("lost", "status", "code"), [("gone", 404, "AUDIO_MISSING"), ("damaged", 422, "AUDIO_UNREADABLE")]
)
def test_reprocess_of_audio_gone_or_damaged_is_coded(
    settings: Settings, make_token: Callable[..., str], lost: str, status: int, code: str
) -> None:
    """Re-processing a block pending review whose stored WAV is gone or damaged answers the same
    codes as the transcription that found it so (404 AUDIO_MISSING, 422 AUDIO_UNREADABLE), not
    a bare NOT_FOUND as if the block did not exist, nor a 500."""
    with SettledTestClient(create_app(settings), raise_server_exceptions=False) as client:
        root = client.app.state.astra.orchestrator.store.root  # type: ignore[attr-defined]

        def lose(audio_ref: str) -> None:
            wav = root / audio_ref
            if lost == "gone":
                wav.unlink()
            else:
                wav.write_bytes(wav.read_bytes()[:30])  # a header cut short

        refused = reprocess_lost_audio(client, make_token(), lose)
    assert refused.status_code == status, refused.text
    assert refused.json()["error"]["code"] == code


@pytest.mark.timeout(120)
def test_reprocess_on_s3_of_audio_that_cannot_be_read_is_audio_missing(
    s3_env: dict[str, str],
    settings: Settings,
    make_token: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On S3 with credentials that may not read the evidence audio back (as a missing key is
    answered without s3:ListBucket: 403), re-processing a block pending review whose audio is
    gone answers 404 AUDIO_MISSING saying it is missing or not readable, not 503 (an outage the
    client would retry for ever)."""
    endpoint, bucket = s3_env["ASTRA_S3_ENDPOINT_URL"], s3_env["ASTRA_S3_BUCKET"]
    objects = f"arn:aws:s3:::{bucket}/astra/*"
    allow = {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": objects}
    audio = f"arn:aws:s3:::{bucket}/astra/tenants/*/sessions/*/audio/*"
    deny = {"Effect": "Deny", "Action": ["s3:GetObject"], "Resource": audio}
    s3_settings = with_settings(settings, s3_bucket=bucket, s3_endpoint_url=endpoint, s3_prefix="astra")
    with s3_user(endpoint, allow, deny) as credentials:
        for name, value in credentials.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # it keeps the credentials it first read
        with SettledTestClient(create_app(s3_settings)) as client:
            refused = reprocess_lost_audio(client, make_token(), lambda audio_ref: None)
    assert refused.status_code == 404, refused.text
    error = refused.json()["error"]
    assert error["code"] == "AUDIO_MISSING" and "missing or not readable" in error["message"]
