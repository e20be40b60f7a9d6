"""The object store: local signed links, and S3 through boto3 against moto's server."""

from __future__ import annotations

import functools
import hashlib
import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import boto3
import httpx
import msgpack
import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.errors import AuthError, NotFound
from server.services import objectstore
from server.services.guard import DOCX_TYPE as DOCX
from server.services.guard import EmbeddedGuard, SealRequest
from server.services.objectstore import LocalObjectStore, S3ObjectStore, session_key
from server.settings import Settings

from .conftest import TENANT, with_settings


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


def test_guard_stores_the_acta_and_its_report_durably(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GUARD's two objects are written sealed: durable (before Redis records the session
    FINALIZED), and locked where the store has Object Lock."""
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
    assert sealed_keys == {sealed.document_key: True, sealed.report_key: True}


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
    assert store.uri(key) == f"s3://{s3_env['ASTRA_S3_BUCKET']}/astra/{key}"


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
