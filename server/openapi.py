"""The HTTP API as an OpenAPI 3.1 document, served at ``GET /openapi.json``.

Written by hand, next to the handlers it describes (:mod:`server.http_api`), rather than
generated from YAML docstrings: the handlers parse their bodies by hand (there are no models to
derive a schema from), and a docstring schema is just as hand-written, only harder to check and
to share between routes. Two tests keep it honest: ``tests/test_openapi.py`` checks that every
HTTP route of the app is in the document and every operation in the document is a route, and
runs schemathesis against a real server, which sends generated (and deliberately invalid)
requests and checks each response's status, content type and body against this document.

Request schemas say what the handlers accept; a handler may refuse more (an unknown session is
404 whatever its id looks like). Response schemas are exact at the top level and open
(``additionalProperties``) below it, where blocks and reports carry data of the tenant's.
"""

from __future__ import annotations

import functools
from typing import Any

from .audio import ACCEPTED
from .protocol import MAX_DATA_BYTES, MAX_EVENT_ID, MAX_LABEL_CHARS, MAX_UTTERANCE_ID

PREFIX = "/v1/orchestrator/session"

JSON = "application/json"
Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def _object(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    """An object with these properties (more may follow: clients must ignore unknown keys)."""
    return {"type": "object", "required": list(required), "properties": {**required, **(optional or {})}}


def _json_response(description: str, schema: Schema) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
NUMBER = {"type": "number"}
BOOLEAN = {"type": "boolean"}
OBJECT = {"type": "object"}

_ERROR_WHEN = {
    400: "The body is not the JSON object (BAD_JSON) or multipart form (BAD_MULTIPART) expected.",
    401: "Missing, invalid or expired bearer token (UNAUTHORIZED).",
    403: "The token's role may not do this (FORBIDDEN).",
    404: "No such session for this tenant, or no such block (NOT_FOUND).",
    409: (
        "The session takes no more input (SESSION_CLOSED, SESSION_TOO_LONG), the block changed"
        " first (STALE_VERSION), or a block not deleted already holds the audio of the utterance"
        " an insert is written for (UTTERANCE_WRITTEN; details.block_id and details.current name it)"
        " or the recognizer is still transcribing it (UTTERANCE_PENDING)."
    ),
    413: "The body or upload is over its limit (TOO_LARGE).",
    415: "The upload is not a whole PNG or JPEG image the acta can hold (UNSUPPORTED_MEDIA).",
    429: (
        "A limit was reached: the tenant's open sessions (TOO_MANY_SESSIONS), the session's"
        " images (LIMIT_EXCEEDED), the session's audio not processed yet (AUDIO_BACKLOG: send"
        " the same chunk again after Retry-After), or the place of a block kept changing under"
        " other changes (PLACE_CONTENDED: send it again) or has no position left"
        " (POSITIONS_EXHAUSTED)."
    ),
    422: "A well-formed request with bad content (INVALID_INPUT, UNSUPPORTED_AUDIO, CONFIG_ERROR, ...).",
    502: "A collaborator failed (SERVICE_ERROR, BUILD_FAILED).",
    503: (
        "A collaborator or the session store is unavailable for now; retry later"
        " (SERVICE_UNAVAILABLE, STORE_UNAVAILABLE)."
    ),
}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(s): _json_response(_ERROR_WHEN[s], _ref("Error")) for s in statuses}


_SESSION_ID = {
    "name": "session_id",
    "in": "path",
    "required": True,
    "description": "The id `start` returned (another tenant's session is 404, like a missing one).",
    "schema": STRING,
}
_BLOCK_ID = {"name": "block_id", "in": "path", "required": True, "schema": STRING}
_UTTERANCE_ID = {
    "name": "utterance_id",
    "in": "path",
    "required": True,
    "description": "The id of `utterance.detected` / `utterance.discarded` (`utt_` and 12 digits).",
    "schema": STRING,
}
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Repeating a request with the same key applies it once; the repeat answers "
    "`duplicate: true`. A key starting with `utterance:` (the utterances' own keys) is a 422. A key "
    "already applied in the session for another request (another body, route, block or sender) "
    "is a 422 `IDEMPOTENCY_KEY_REUSED`, and nothing is applied.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 128},
}
_BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


def _operation(
    operation_id: str,
    summary: str,
    responses: dict[str, Any],
    *,
    parameters: tuple[Schema, ...] = (),
    body: Schema | None = None,
    body_type: str = JSON,
    public: bool = False,
    tag: str = "sessions",
) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": operation_id, "summary": summary, "tags": [tag]}
    if parameters:
        operation["parameters"] = list(parameters)
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {body_type: {"schema": body}}}
    if public:
        operation["security"] = []
    # Every authenticated route reads or writes the session store: 503 STORE_UNAVAILABLE while
    # Redis is unreachable or refuses writes.
    operation["responses"] = responses if public else {**responses, **_errors(401, 403, 503)}
    return operation


_SCHEMAS: dict[str, Schema] = {
    "Error": {
        **_object(
            {
                "error": {
                    **_object(
                        {"code": STRING, "message": STRING},
                        {"details": {**OBJECT, "description": "e.g. `field`, `current`, `limit`"}},
                    ),
                    "additionalProperties": False,
                }
            }
        ),
        "additionalProperties": False,
    },
    "Block": _object(
        {
            "block_id": STRING,
            "type": {"enum": ["TEMPLATE", "IMAGE", "ERROR_PENDING_REVIEW"]},
            "version": INTEGER,
            "text": STRING,
        },
        {
            "intent": STRING,
            "label": STRING,
            "template_id": _nullable(STRING),
            "target_placeholder": _nullable(STRING),
            "structured_data": OBJECT,
            "confidence": NUMBER,
            "audio_metadata": _nullable(OBJECT),
            "created_at": NUMBER,
            "created_by": STRING,
            "source": OBJECT,
            "human_edited": BOOLEAN,
            "position": NUMBER,
            "deleted": BOOLEAN,
            "asset": OBJECT,
            "error": OBJECT,
            "machine": OBJECT,
            "reading": OBJECT,
            "edited_by": STRING,
            "edited_at": NUMBER,
        },
    ),
    "Session": _object(
        {
            "session_id": STRING,
            "tenant_id": STRING,
            "status": {"enum": ["OPEN", "CLOSING", "FINALIZED", "FINALIZE_FAILED", "DISCARDED"]},
            "metadata": OBJECT,
            "pinned": _object(
                {
                    "tenant_id": STRING,
                    "skeleton_id": STRING,
                    "skeleton_version": STRING,
                    "skeleton_sha256": STRING,
                    "adapter_id": STRING,
                    "adapter_version": STRING,
                    "style_map": OBJECT,
                    "placeholder_map": OBJECT,
                    "entities_dictionary": OBJECT,
                },
                {"model": STRING, "templates": OBJECT, "mark_human_edits": BOOLEAN, "empty_zones": OBJECT},
            ),
            "block_count": {
                **INTEGER,
                "description": "Blocks stored, deleted ones included (finalize's block_count is the acta's).",
            },
            "head_event_id": INTEGER,
            "created_at": NUMBER,
            "created_by": STRING,
        },
        {
            "result": _ref("FinalizeResult"),
            "finalize_error": _ref("ErrorBody"),
            "recording": {
                **_object({"client_id": STRING, "until": NUMBER}),
                "description": "the client recording the open session now, and until when its hold lasts",
            },
            "discarded": {
                **_object({"at": NUMBER, "by": STRING, "reason": STRING}),
                "description": "when, by whom and why the session was discarded (status DISCARDED)",
            },
        },
    ),
    "ErrorBody": _object({"code": STRING, "message": STRING}, {"details": OBJECT, "at": NUMBER}),
    "FinalizeResult": _object(
        {
            "integrity_hash": STRING,
            "content_hash": STRING,
            "chain_head": STRING,
            "document_key": STRING,
            "download_url": {**STRING, "description": "A signed link; it expires."},
            "audit_report": OBJECT,
            "block_count": INTEGER,
        },
        {
            "report_key": STRING,
            "object_versions": {
                **OBJECT,
                "description": "The object store's version of each sealed file, by key (S3 with "
                "versioning): links and `astra verify` read these versions.",
            },
        },
    ),
    "Ingested": _object(
        {
            "block_id": _nullable(STRING),
            "event_id": _nullable(INTEGER),
            "duplicate": BOOLEAN,
            "block": _nullable(_ref("Block")),
        }
    ),
    "Event": _object(
        {
            "id": {**INTEGER, "minimum": 1},
            "kind": STRING,
            "at": NUMBER,
            "actor": STRING,
            "data": OBJECT,
        }
    ),
}

_BLOCK_ID_OR_NULL = _nullable({**STRING, "minLength": 1, "maxLength": 64})


def _block_fields(text: Schema, *, required: tuple[str, ...], move: bool) -> Schema:
    """The editable fields of a block: an inserted block's (text required; ``utterance_id`` names
    the utterance it is written for) or an edit's changes (at least one field; ``after_block_id``
    moves the block)."""
    fields: dict[str, Schema] = {
        "text": text,
        "label": {**STRING, "maxLength": MAX_LABEL_CHARS},
        "template_id": {**STRING, "description": "a key of the session's placeholder_map"},
        "target_placeholder": {**STRING, "description": "a zone of the session's skeleton"},
        "structured_data": {
            **OBJECT,
            "description": "plain data: string keys, finite numbers within 64 bits, nested at most 32 "
            f"deep, at most {MAX_DATA_BYTES} bytes as msgpack",
        },
    }
    if move:
        fields["after_block_id"] = {**_BLOCK_ID_OR_NULL, "description": "move the block after this one"}
    else:
        fields["utterance_id"] = {
            **STRING,
            "minLength": 1,
            "maxLength": MAX_UTTERANCE_ID,
            "description": "write the block for this utterance of the session (one the recognizer "
            "heard no words in): it carries its audio; one with no stored audio is a 422, one a "
            "block not deleted already holds a 409 UTTERANCE_WRITTEN, one the recognizer is still "
            "transcribing a 409 UTTERANCE_PENDING",
        }
    schema = _object({k: fields.pop(k) for k in required}, fields)
    return {**schema, "additionalProperties": False, **({} if required else {"minProperties": 1})}


_AUDIO_APPEND: Schema = {
    **_object(
        {"audio_chunk": {**STRING, "contentEncoding": "base64"}},
        {
            "format": {"enum": list(ACCEPTED), "description": "recognised by its header when absent"},
            "sample_rate": {**INTEGER, "description": "for raw PCM16: 8000 to 48000"},
            "continues": {**BOOLEAN, "description": "true: the utterance goes on in the next chunk"},
        },
    ),
    "additionalProperties": False,
}
_AUDIO_ACCEPTED = _object({"accepted": {"const": True}, "duplicate": BOOLEAN, "audio_seconds": NUMBER})
_BASE_VERSION = {**INTEGER, "minimum": 1}


@functools.lru_cache(maxsize=4)
def build(max_text_chars: int) -> dict[str, Any]:
    """The document for a server whose texts may be up to ``max_text_chars`` long."""
    text = {**STRING, "pattern": r"\S", "maxLength": max_text_chars, "description": "not blank"}
    new_block = _block_fields(text, required=("text",), move=False)
    changes = _block_fields(text, required=(), move=True)
    text_append = {**_object({"text": text}), "additionalProperties": False}
    append = _operation(
        "append",
        "Add one utterance: text (classified now) or audio (transcribed; blocks follow as events)",
        {
            "200": _json_response("The text's block", _ref("Ingested")),
            "202": _json_response("The audio is durable; its blocks follow as events", _AUDIO_ACCEPTED),
            **_errors(400, 404, 409, 413, 422, 429, 502, 503),
        },
        parameters=(_SESSION_ID, _IDEMPOTENCY_KEY),
        body={"oneOf": [text_append, _AUDIO_APPEND]},
    )
    paths: dict[str, dict[str, Any]] = {
        f"{PREFIX}/start": {
            "post": _operation(
                "startSession",
                "Open a session with the tenant's configuration pinned",
                {
                    "201": _json_response("The new session", _ref("Session")),
                    **_errors(400, 404, 413, 422, 429, 502, 503),
                },
                body=_object(
                    {"tenant_id": {**STRING, "minLength": 1}},
                    {"skeleton_id": _nullable(STRING), "metadata": OBJECT},
                ),
            )
        },
        f"{PREFIX}s": {
            "get": _operation(
                "listOpenSessions",
                "The caller's tenant's open sessions, newest first (at most 50), to join one; a"
                " session whose finalize failed is listed too (status FINALIZE_FAILED) until a retry"
                " seals it",
                {
                    "200": _json_response(
                        "The open sessions",
                        _object(
                            {
                                "sessions": {
                                    "type": "array",
                                    "items": _object(
                                        {
                                            "session_id": STRING,
                                            "status": {"enum": ["OPEN", "FINALIZE_FAILED"]},
                                            "metadata": OBJECT,
                                            "created_at": NUMBER,
                                            "created_by": STRING,
                                        }
                                    ),
                                }
                            }
                        ),
                    )
                },
            )
        },
        f"{PREFIX}/{{session_id}}": {
            "get": _operation(
                "getSession",
                "Status, pinned configuration, block count, and the result once finalized",
                {"200": _json_response("The session", _ref("Session")), **_errors(404)},
                parameters=(_SESSION_ID,),
            )
        },
        f"{PREFIX}/{{session_id}}/blocks": {
            "get": _operation(
                "listBlocks",
                "All blocks in acta order (deleted ones as tombstones)",
                {
                    "200": _json_response(
                        "The blocks",
                        _object(
                            {
                                "session_id": STRING,
                                "head_event_id": INTEGER,
                                "blocks": {"type": "array", "items": _ref("Block")},
                            }
                        ),
                    ),
                    **_errors(404),
                },
                parameters=(_SESSION_ID,),
            ),
            "post": _operation(
                "insertBlock",
                "Insert a block written by a person right after another one (null: first)",
                {
                    "201": _json_response("The block", _ref("Ingested")),
                    **_errors(400, 404, 409, 413, 422, 429),
                },
                parameters=(_SESSION_ID, _IDEMPOTENCY_KEY),
                body=_object(
                    {"block": new_block},
                    {"after_block_id": _BLOCK_ID_OR_NULL},
                ),
            ),
        },
        f"{PREFIX}/{{session_id}}/events": {
            "get": _operation(
                "listEvents",
                "The session's event log after an event id (the events the WebSocket carries)",
                {
                    "200": _json_response(
                        "Up to `limit` events, oldest first; fewer past 8 MiB of stored events, so "
                        "read on from the last id until a page is empty",
                        _object({"events": {"type": "array", "items": _ref("Event")}}),
                    ),
                    **_errors(404, 422),
                },
                parameters=(
                    _SESSION_ID,
                    {
                        "name": "after",
                        "in": "query",
                        "required": False,
                        "schema": {**INTEGER, "minimum": 0, "maximum": MAX_EVENT_ID, "default": 0},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {**INTEGER, "minimum": 1, "maximum": 5000, "default": 500},
                    },
                ),
            )
        },
        f"{PREFIX}/{{session_id}}/append": {"post": append},
        # the product specification's flow (its section 5) sends audio to …/chunk: the same
        f"{PREFIX}/{{session_id}}/chunk": {
            "post": {
                **append,
                "operationId": "chunk",
                "summary": "The same as …/append (the name the product specification's flow gives it)",
            }
        },
        f"{PREFIX}/{{session_id}}/upload-asset": {
            "post": _operation(
                "uploadAsset",
                "Store a PNG or JPEG image and add it as an IMAGE block",
                {
                    "200": _json_response(
                        "The image block",
                        {
                            "allOf": [
                                _ref("Ingested"),
                                _object({"asset_id": _nullable(STRING), "s3_url": STRING}),
                            ]
                        },
                    ),
                    **_errors(400, 404, 409, 413, 415, 422, 429, 502, 503),
                },
                parameters=(_SESSION_ID, _IDEMPOTENCY_KEY),
                body=_object(
                    {"file": {**STRING, "contentMediaType": "application/octet-stream"}},
                    {"zone": STRING, "caption": STRING},
                ),
                body_type="multipart/form-data",
            )
        },
        f"{PREFIX}/{{session_id}}/finalize": {
            "post": _operation(
                "finalize",
                "Close the session and build, hash and store the acta (idempotent)",
                {
                    "200": _json_response("The sealed acta", _ref("FinalizeResult")),
                    **_errors(404, 409, 422, 502, 503),
                },
                parameters=(_SESSION_ID,),
            )
        },
        f"{PREFIX}/{{session_id}}/discard": {
            "post": _operation(
                "discardSession",
                "Close a session that will never have an acta (started by mistake, a rehearsal)"
                " without sealing one: unlisted, closed to input and corrections, everything it stored"
                " kept, who and why in its event log (session.discarded). An admin may discard any open"
                " session or one whose finalize failed; a recorder only one with no block and no audio"
                " (403 otherwise). Discarding again returns the same; 409 once finalize began",
                {
                    "200": _json_response(
                        "The discarded session",
                        _object(
                            {
                                "session_id": STRING,
                                "status": {"enum": ["DISCARDED"]},
                                "discarded": _object({"at": NUMBER, "by": STRING, "reason": STRING}),
                            }
                        ),
                    ),
                    **_errors(400, 403, 404, 409, 413, 422, 503),
                },
                parameters=(_SESSION_ID,),
                body=_object({"reason": {**STRING, "minLength": 1, "maxLength": 500}}),
            )
        },
        f"{PREFIX}/{{session_id}}/preview": {
            "get": _operation(
                "previewActa",
                "The acta as BUILDER writes it from the blocks stored now, marked BORRADOR on its first"
                " line: not sealed, not stored (open sessions and after a failed finalize; 409 once"
                " the acta is sealed or being sealed)",
                {
                    "200": {
                        "description": "The draft acta",
                        "content": {
                            "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {
                                "schema": {**STRING, "format": "binary"}
                            }
                        },
                    },
                    **_errors(403, 404, 409, 502, 503),
                },
                parameters=(_SESSION_ID,),
            )
        },
        f"{PREFIX}/{{session_id}}/blocks/{{block_id}}": {
            "patch": _operation(
                "editBlock",
                "A human edit, applied only if the block is still at base_version",
                {
                    "200": _json_response("The edited block", _ref("Ingested")),
                    **_errors(400, 404, 409, 413, 422, 429),
                },
                parameters=(_SESSION_ID, _BLOCK_ID, _IDEMPOTENCY_KEY),
                body=_object(
                    {
                        "base_version": _BASE_VERSION,
                        "changes": changes,
                    }
                ),
            ),
            "delete": _operation(
                "deleteBlock",
                "Delete a block that is still at base_version (a tombstone the acta skips)",
                {"200": _json_response("The tombstone", _ref("Ingested")), **_errors(404, 409, 422, 429)},
                parameters=(
                    _SESSION_ID,
                    _BLOCK_ID,
                    {"name": "base_version", "in": "query", "required": True, "schema": _BASE_VERSION},
                    _IDEMPOTENCY_KEY,
                ),
            ),
        },
        f"{PREFIX}/{{session_id}}/blocks/{{block_id}}/reprocess": {
            "post": _operation(
                "reprocessBlock",
                "Run CORE again on a block pending review (its stored audio or kept text); a deleted"
                " block is a 404, and a section or label a person gave it while it waited is kept",
                {
                    "200": _json_response("The block now", _object({"block": _ref("Block")})),
                    **_errors(404, 409, 422, 429, 502, 503),
                },
                parameters=(_SESSION_ID, _BLOCK_ID),
            )
        },
        f"{PREFIX}/{{session_id}}/blocks/{{block_id}}/audio": {
            "get": _operation(
                "blockAudio",
                "A signed, expiring link to the block's utterance audio",
                {
                    "200": _json_response("The link", _object({"url": STRING, "audio_ref": STRING})),
                    **_errors(404, 502, 503),
                },
                parameters=(_SESSION_ID, _BLOCK_ID),
            )
        },
        f"{PREFIX}/{{session_id}}/utterances/{{utterance_id}}/audio": {
            "get": _operation(
                "utteranceAudio",
                "A signed, expiring link to an utterance's audio (one discarded as holding no "
                "words has no block)",
                {
                    "200": _json_response("The link", _object({"url": STRING, "audio_ref": STRING})),
                    **_errors(404, 502, 503),
                },
                parameters=(_SESSION_ID, _UTTERANCE_ID),
            )
        },
        "/v1/objects/{key}": {
            "get": _operation(
                "getObject",
                "A signed link of the local object store (embedded mode): the object's bytes",
                {
                    "200": {
                        "description": "The object",
                        "content": {"application/octet-stream": {"schema": {**STRING, "format": "binary"}}},
                    },
                    **_errors(401, 404),
                },
                parameters=(
                    {"name": "key", "in": "path", "required": True, "schema": STRING},
                    {"name": "expires", "in": "query", "required": True, "schema": INTEGER},
                    {"name": "signature", "in": "query", "required": True, "schema": STRING},
                ),
                public=True,
                tag="objects",
            )
        },
        "/healthz": {
            "get": _operation(
                "healthz",
                "Readiness: 200 once Redis answers, 503 STORE_UNAVAILABLE while it does not",
                {"200": _json_response("Ready", _object({"status": {"const": "ok"}})), **_errors(503)},
                public=True,
                tag="operations",
            )
        },
        "/metrics": {
            "get": _operation(
                "metrics",
                "Prometheus metrics",
                {"200": {"description": "Metrics", "content": {"text/plain": {"schema": STRING}}}},
                public=True,
                tag="operations",
            )
        },
        "/openapi.json": {
            "get": _operation(
                "openapi",
                "This document",
                {"200": _json_response("OpenAPI 3.1", OBJECT)},
                public=True,
                tag="operations",
            )
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ASTRA Orchestrator",
            "version": "1",
            "description": "Live council sessions into their official minute (acta). Every error is "
            '`{"error": {"code", "message", "details"?}}`; codes are listed in protocol.md. The live '
            "stream is a WebSocket (`/v1/orchestrator/session/{session_id}/stream`), specified in "
            "protocol.md.",
        },
        "security": _BEARER,
        "paths": paths,
        "components": {
            "schemas": _SCHEMAS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "claims `tenant_id`, `role` (recorder/stenographer/viewer/admin), `sub`",
                }
            },
        },
    }
