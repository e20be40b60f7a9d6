"""The OpenAPI document of the HTTP API (server/openapi.py): complete, and true of a real server.

``test_every_route_is_documented_and_every_operation_is_a_route`` compares the document with the
app's route table, in process. ``test_real_server_conforms_to_the_document`` runs schemathesis
against a real ``astra serve`` process (real Redis, embedded services) with a valid bearer token
and a real session, so the session routes are exercised beyond 401/404: every operation gets
generated valid and invalid requests, and every response must be a non-5xx whose status, content
type and body the document describes; routes that need a token must refuse requests without one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.testclient import TestClient

from server.app import create_app
from server.settings import Settings

from .conftest import TENANT, ServerProcess

SCALE = float(os.environ.get("ASTRA_FUZZ_SCALE", "1"))
EXAMPLES = max(1, int(12 * SCALE))
"""Generated requests per operation and generation mode (valid / invalid)."""
NOT_API = {"/": "the console page", "/static": "the console's files"}
"""Routes of the app that are not part of the HTTP API (the WebSocket is specified in protocol.md)."""


def _documented(path: str) -> str:
    """A Starlette route path as OpenAPI writes it (``{key:path}`` -> ``{key}``)."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)


def test_every_route_is_documented_and_every_operation_is_a_route(settings: Settings) -> None:
    """The served document lists exactly the app's HTTP routes and methods, no more, no less."""
    app = create_app(settings)
    routes: set[tuple[str, str]] = set()
    for route in app.routes:
        if isinstance(route, WebSocketRoute) or route.path in NOT_API:
            continue
        assert isinstance(route, Route) and not isinstance(route, Mount), route
        routes |= {(_documented(route.path), m.lower()) for m in route.methods or () if m != "HEAD"}
    with TestClient(app) as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    document = response.json()
    operations = {(path, method) for path, item in document["paths"].items() for method in item}
    assert operations == routes
    assert document["openapi"].startswith("3.1")
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    # What every route answers while Redis is unreachable is documented: 503 STORE_UNAVAILABLE.
    for path, item in document["paths"].items():
        for method, op in item.items():
            if op.get("security") != [] or path == "/healthz":
                assert "503" in op["responses"], (method, path)


def test_the_insert_and_edit_bodies_document_the_fields_the_server_takes(settings: Settings) -> None:
    """An inserted block takes the editable fields and ``utterance_id`` (the utterance whose audio
    its words were written from: protocol.validate_changes); an edit's changes take the editable
    fields and ``after_block_id``. Both schemas forbid anything else, so each must list them all."""
    from server.protocol import EDITABLE_FIELDS

    with TestClient(create_app(settings)) as client:
        document = client.get("/openapi.json").json()
    blocks = document["paths"]["/v1/orchestrator/session/{session_id}/blocks"]["post"]
    body = blocks["requestBody"]["content"]["application/json"]["schema"]
    block = body["properties"]["block"]
    assert block["additionalProperties"] is False
    assert set(block["properties"]) == {*EDITABLE_FIELDS, "utterance_id"}
    assert block["properties"]["utterance_id"]["type"] == "string"
    assert (
        block["properties"]["utterance_id"]["minLength"],
        block["properties"]["utterance_id"]["maxLength"],
    ) == (
        1,
        64,
    )
    edit = document["paths"]["/v1/orchestrator/session/{session_id}/blocks/{block_id}"]["patch"]
    changes = edit["requestBody"]["content"]["application/json"]["schema"]["properties"]["changes"]
    assert set(changes["properties"]) == {*EDITABLE_FIELDS, "after_block_id"}


def test_document_is_a_valid_openapi_schema(settings: Settings) -> None:
    """schemathesis loads the document and finds every operation well-formed."""
    with TestClient(create_app(settings)) as client:
        schema = schemathesis.openapi.from_dict(client.get("/openapi.json").json())
    schema.validate()
    results = list(schema.get_all_operations())
    assert results and all(isinstance(result, Ok) for result in results), results


def test_unknown_routes_and_methods_answer_in_the_error_shape(settings: Settings) -> None:
    """A path no route matches, or a method a route does not take, answers the API's JSON error
    (not Starlette's plain text), as the document promises for every error."""
    with TestClient(create_app(settings)) as client:
        missing = client.get("/v1/orchestrator/session/a/b/c/d/e")
        wrong = client.put("/healthz")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert "GET" in wrong.headers["allow"]


# -- schemathesis against a real server ----------------------------------------------------------


def _checks() -> list[Callable[..., Any]]:
    from schemathesis import checks

    return [
        checks.not_a_server_error,
        checks.status_code_conformance,
        checks.content_type_conformance,
        checks.response_schema_conformance,
        checks.ignored_auth,
    ]


FINALIZE = "POST /v1/orchestrator/session/{session_id}/finalize"


def _run(
    operation: Any,
    mode: GenerationMode,
    base_url: str,
    bearer: dict[str, str],
    session_id: str,
    block_ids: list[str],
) -> str | None:
    """Up to EXAMPLES generated requests to one operation; the failure found, if any. Path ids
    are the real session's (always for invalid requests, so their bodies reach the handler) or
    generated ones, and a real block id or a generated one."""
    negative = mode is GenerationMode.NEGATIVE

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(
        case=operation.as_strategy(mode),
        real_session=st.booleans(),
        block=st.sampled_from([None, *block_ids]),
    )
    def run(case: Any, real_session: bool, block: str | None) -> None:
        params = case.path_parameters or {}
        if "session_id" in params and (real_session or negative):
            params["session_id"] = session_id
        if "block_id" in params and block is not None:
            params["block_id"] = block
        response = case.call(base_url=base_url, headers=bearer, timeout=60)
        case.validate_response(response, checks=_checks(), headers=bearer)

    try:
        run()
    except Unsatisfiable:
        if not negative:
            raise
        return None  # nothing to make invalid: no parameters, no body
    except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup is the latter
        return f"{operation.label} [{mode.value}]: {exc}"
    return None


@pytest.mark.e2e
@pytest.mark.slow
def test_real_server_conforms_to_the_document(spawn: Callable[..., ServerProcess]) -> None:
    """Generated valid and invalid requests to every operation, with a valid token and a real
    session (blocks made by earlier operations are used as block ids), get no 5xx and only
    responses the document describes; the server logs no unhandled exception. Finalize runs
    last, on everything the other operations stored."""
    server = spawn("serve")
    token = server.token()
    bearer = {"Authorization": f"Bearer {token}"}
    api = f"{server.url}/v1/orchestrator/session"
    started = httpx.post(f"{api}/start", json={"tenant_id": TENANT}, headers=bearer, timeout=30)
    session_id = started.json()["session_id"]
    for text in ("Siendo las nueve se abre la sesión.", "Interviene el concejal Pérez."):
        httpx.post(f"{api}/{session_id}/append", json={"text": text}, headers=bearer, timeout=30)

    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    operations.sort(key=lambda op: op.label == FINALIZE)  # finalize last: it closes the session
    failures: list[str] = []
    for operation in operations:
        blocks = httpx.get(f"{api}/{session_id}/blocks", headers=bearer, timeout=30).json()["blocks"]
        block_ids = [b["block_id"] for b in blocks]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failure = _run(operation, mode, server.url, bearer, session_id, block_ids)
            if failure is not None:
                failures.append(failure)
    assert not failures, "\n\n".join(failures)
    log = (server.data_dir.parent / f"server-{server.port}.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-5000:]
    status = httpx.get(f"{api}/{session_id}", headers=bearer, timeout=30).json()["status"]
    assert status == "FINALIZED"
