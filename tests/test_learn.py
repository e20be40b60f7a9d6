"""LEARN: human corrections exported after finalize, without delaying it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import anyio
import httpx
import msgpack
from starlette.testclient import TestClient

from server.app import create_app
from server.keys import SessionKeys
from server.services.learn import HttpLearn, correction_records
from server.settings import Settings

from .conftest import TENANT


def test_corrected_blocks_are_exported_as_jsonl_after_finalize(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """A block a human changed (marked as the editing flow marks it) yields one JSONL record
    pairing the machine output with the final text, the adapter, zone and audio reference; the
    export is announced by a learn.exported event."""
    token = make_token()
    auth = {"authorization": f"Bearer {token}"}
    with TestClient(create_app(settings)) as client:
        sid = client.post("/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=auth).json()[
            "session_id"
        ]
        api = f"/v1/orchestrator/session/{sid}"
        first = client.post(
            f"{api}/append", json={"text": "Tiene la palabra el concejal Pedro Gomes."}, headers=auth
        )
        client.post(f"{api}/append", json={"text": "Se levanta la sesión."}, headers=auth)
        block = first.json()["block"]
        machine = {
            k: block[k] for k in ("text", "label", "template_id", "structured_data", "target_placeholder")
        }
        edited = block | {
            "text": "Tiene la palabra el concejal Pedro Gómez.",
            "human_edited": True,
            "machine": machine,
            "edited_by": "ana",
            "edited_at": 1.0,
            "version": 2,
        }

        async def edit() -> None:
            redis = client.app.state.astra.redis  # type: ignore[attr-defined]
            await redis.hset(SessionKeys(sid).blocks, block["block_id"], msgpack.packb(edited))

        client.portal.call(edit)  # type: ignore[union-attr]
        assert client.post(f"{api}/finalize", headers=auth).status_code == 200
        deadline = time.monotonic() + 30
        exported = None
        while exported is None and time.monotonic() < deadline:
            events = client.get(f"{api}/events", headers=auth).json()["events"]
            exported = next((e for e in events if e["kind"] == "learn.exported"), None)
        assert exported is not None and exported["data"]["records"] == 1
        store = client.app.state.astra.store  # type: ignore[attr-defined]
        lines = client.portal.call(store.get_bytes, exported["data"]["location"]).splitlines()  # type: ignore[union-attr]
    record = json.loads(lines[0])
    assert len(lines) == 1 and record["adapter_id"] == "adapter_cali_v2" and record["zone"] == "ZONE_DEBATE"
    assert record["machine"]["text"] == "Tiene la palabra el concejal Pedro Gomes."
    assert (
        record["human"]["text"] == "Tiene la palabra el concejal Pedro Gómez."
        and record["edited_by"] == "ana"
    )


def test_http_learn_posts_ndjson() -> None:
    """The LEARN client sends one JSON object per line with the session's tenant and id."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202)

    records = correction_records(
        TENANT,
        "ses_x",
        {"adapter_id": "a"},
        [{"block_id": "b", "human_edited": True, "text": "t"}, {"block_id": "c"}],
    )

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            await HttpLearn(http, "http://learn").export(TENANT, "ses_x", records)

    anyio.run(scenario)
    body = seen[0].content.decode().splitlines()
    assert seen[0].url.path == "/v1/learn/corrections" and seen[0].headers["x-astra-session"] == "ses_x"
    assert [json.loads(line)["block_id"] for line in body] == ["b"]
