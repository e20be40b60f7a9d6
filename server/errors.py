"""The one exception tree of the orchestrator, and its mapping to HTTP and WebSocket codes.

Every error a client can see has a stable string ``code`` (documented in ``protocol.md``) and
maps in one place to an HTTP status and, for errors that end a WebSocket, a close code::

    AstraError
    ├── ProtocolError          a frame that is not valid msgpack or not a map   (400)
    │   ├── FrameTooLarge      bigger than the frame limit                      (413)
    │   ├── UnknownType        a message type this version does not know
    │   └── InvalidField       a known message with a missing or ill-typed field (422)
    ├── AuthError              missing, bad or expired token           (401, close 4401)
    │   └── Forbidden          valid token, role not allowed           (403, close 4403)
    │       └── ClientIdTaken  a hello with another user's client id          (close 4403)
    ├── NotFound               no such session *for this tenant*       (404, close 4404)
    ├── InvalidInput           a well-formed request with bad content  (422)
    │   ├── MalformedBody      an HTTP body that is not the JSON object expected (400)
    │   ├── PayloadTooLarge    an HTTP body or upload over its limit           (413)
    │   └── UnsupportedMedia   an upload that is not an accepted file type     (415)
    ├── SessionClosed          input after finalize began              (409, close 4409)
    │   └── SessionTooLong     recorded input past max_session_seconds (409)
    ├── LimitExceeded          a configured bound was reached          (429)
    │   ├── TooManySessions    the tenant has max_open_sessions open   (429)
    │   ├── TooManyConnections the session has max_connections_per_session (429, close 4429)
    │   ├── SlowConsumer       a client that does not take its events in time (close 4503)
    │   ├── PlaceContended     a block's place kept changing under concurrent changes (429)
    │   └── PositionsExhausted no position left at the place asked for    (429)
    ├── StaleVersion           an edit based on an old block version     (409)
    │   └── UtteranceWritten   an insert for an utterance a live block already holds (409)
    ├── SequenceGap            a frame skipped a client sequence number
    ├── NotSupported           understood, but not offered by this server yet  (501)
    ├── ConfigError            tenant / skeleton / style map problem   (422)
    └── ServiceError           a collaborator (CORE, BUILDER, GUARD, store) failed
        ├── ServiceUnavailable transient: worth retrying
        │   └── StoreUnavailable  Redis unreachable, loading or down (503, close 1013)
        └── BuildFailed        BUILDER could not produce the document  (502)

Collaborator clients translate their transport errors into these at the boundary
(``raise ServiceUnavailable(...) from exc``) so callers never see httpx or boto3 types.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


class AstraError(Exception):
    """Root of every error the orchestrator raises on purpose."""

    code = "INTERNAL"
    http_status = 500
    close_code: int | None = None
    retry_after: int | None = None
    """Seconds after which the same request may succeed (HTTP ``Retry-After``)."""

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code  # a more specific code within the same class (same status)
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class ProtocolError(AstraError):
    code = "BAD_FRAME"
    http_status = 400
    seq: int | None = None
    """The refused frame's sequence number, when it was numbered and its seq could be read."""


class FrameTooLarge(ProtocolError):
    code = "FRAME_TOO_LARGE"
    http_status = 413


class AuthError(AstraError):
    code = "UNAUTHORIZED"
    http_status = 401
    close_code = 4401


class Forbidden(AuthError):
    code = "FORBIDDEN"
    http_status = 403
    close_code = 4403


class ClientIdTaken(Forbidden):
    """A hello with a client id another user (token ``sub``) already said hello with: its
    sequence numbers are that user's."""

    code = "CLIENT_ID_TAKEN"


class NotFound(AstraError):
    code = "NOT_FOUND"
    http_status = 404
    close_code = 4404


class InvalidInput(AstraError):
    code = "INVALID_INPUT"
    http_status = 422


class IdempotencyKeyReused(InvalidInput):
    """An ``Idempotency-Key`` already used for another request (another body, block, route or
    sender) in the session: nothing is applied, and what the key applied first stands."""

    code = "IDEMPOTENCY_KEY_REUSED"


class MalformedBody(InvalidInput):
    code = "BAD_JSON"
    http_status = 400


class PayloadTooLarge(InvalidInput):
    code = "TOO_LARGE"
    http_status = 413


class UnsupportedMedia(InvalidInput):
    code = "UNSUPPORTED_MEDIA"
    http_status = 415


class SessionClosed(AstraError):
    code = "SESSION_CLOSED"
    http_status = 409
    close_code = 4409


class SessionTooLong(SessionClosed):
    """The session is older than ``max_session_seconds``: it takes no more recorded input."""

    code = "SESSION_TOO_LONG"


class LimitExceeded(AstraError):
    """A configured bound (settings.Limits) was reached; ``details`` name the limit."""

    code = "LIMIT_EXCEEDED"
    http_status = 429


class TooManySessions(LimitExceeded):
    code = "TOO_MANY_SESSIONS"


class TooManyConnections(LimitExceeded):
    code = "TOO_MANY_CONNECTIONS"
    close_code = 4429


class SlowConsumer(LimitExceeded):
    """The client did not take its frames in time (send_timeout) or fell too far behind the
    session's events (max_lag_events): it is closed, and resumes from its last event id."""

    code = "SLOW_CONSUMER"
    close_code = 4503


class AudioBacklog(LimitExceeded):
    """The session holds ``max_audio_backlog`` of audio its audio owner has not read yet (CORE
    down, or audio sent faster than real time): nothing was stored, send the same audio again
    later. Over the WebSocket the server stops reading the recorder's frames instead."""

    code = "AUDIO_BACKLOG"
    retry_after = 10


class PlaceContended(LimitExceeded):
    """The place a change reads for a block (the block it goes after, the block's own position)
    changed before the change was applied, ``placement_attempts`` times in a row; nothing was
    changed, the same change may be sent again."""

    code = "PLACE_CONTENDED"


class PositionsExhausted(LimitExceeded):
    """No position is left at the place asked for, even after renumbering the blocks around it
    (a whole-number unit of positions holds billions of blocks); nothing was changed."""

    code = "POSITIONS_EXHAUSTED"


class StaleVersion(AstraError):
    """A change based on an older version of a block; ``details.current`` is the block now."""

    code = "STALE_VERSION"
    http_status = 409


class UtteranceWritten(StaleVersion):
    """An insert written for an utterance (``utterance_id``) whose audio a block not deleted
    already holds: two stenographers wrote the same audio, or an insert queued offline was
    replayed after a colleague's. Judged in the step that would store it, so one of two inserts
    made at once passes; ``details.block_id`` and ``details.current`` are the block holding it.
    Nothing was stored; once that block is deleted the utterance may be written again."""

    code = "UTTERANCE_WRITTEN"


class UtterancePending(StaleVersion):
    """An insert written for an utterance (``utterance_id``) the recognizer is still transcribing:
    its block is on the way, and both would be stored. Nothing was stored; once the recognizer is
    done, the utterance has its block (add to it) or was heard with no words (write it then)."""

    code = "UTTERANCE_PENDING"


class RecordingElsewhere(AstraError):
    """Another console is recording the session: its audio and this one's would be woven into one
    timeline. Nothing of the refused audio was stored."""

    code = "RECORDING_ELSEWHERE"
    http_status = 409


class SequenceGap(AstraError):
    code = "SEQ_GAP"
    http_status = 409


class ConfigError(AstraError):
    code = "CONFIG_ERROR"
    http_status = 422


class ServiceError(AstraError):
    code = "SERVICE_ERROR"
    http_status = 502


class ServiceUnavailable(ServiceError):
    code = "SERVICE_UNAVAILABLE"
    http_status = 503
    retryable = True
    """Transient: worth another try after a backoff (unless a circuit breaker says otherwise)."""


class StoreUnavailable(ServiceUnavailable):
    """The session store (Redis) cannot be reached, is still loading its data, or cannot serve
    the session's keys now (a cluster down or reconfiguring, a primary demoted by a failover):
    nothing can be stored or read now. Clients are told the server is *degraded* and keep what
    is not acked."""

    code = "STORE_UNAVAILABLE"
    http_status = 503
    close_code = 1013  # "try again later"


class BuildFailed(ServiceError):
    code = "BUILD_FAILED"
    http_status = 502


def error_from_dict(stored: dict[str, Any], fallback: AstraError) -> AstraError:
    """An error kept as :meth:`AstraError.to_dict` with its ``status`` (a finalize's failure, for
    the calls that waited on it), as the failed call was answered: the class of its code (503,
    call again, for a GUARD that was down; 502 for an acta that could not be built), or a code
    of its own with the status kept; the ``fallback`` when neither was kept."""
    code, message = stored.get("code"), str(stored.get("message") or fallback.message)
    details = dict(stored.get("details") or {})
    kind = next((c for c in _error_classes(AstraError) if c.__dict__.get("code") == code), None)
    if kind is not None:
        return kind(message, **details)
    status = stored.get("status")
    if not isinstance(code, str) or not isinstance(status, int):
        return type(fallback)(message, **fallback.details, cause=stored)
    error = AstraError(message, code=code, **details)  # a code given to one error (UNSAFE_KEY)
    error.http_status = status
    return error


def _error_classes(root: type[AstraError]) -> Iterator[type[AstraError]]:
    yield root
    for sub in root.__subclasses__():
        yield from _error_classes(sub)


# WebSocket close codes used by the server (see protocol.md, "Close codes").
CLOSE_BAD_FRAME = 4400
CLOSE_HELLO_TIMEOUT = 4408
CLOSE_IDLE_TIMEOUT = 4408
"""Nothing (no frame, no pong) arrived within idle_timeout after a ping: reconnect."""
CLOSE_TOO_MANY_CONNECTIONS = 4429
CLOSE_INTERNAL = 4500
CLOSE_SLOW_CONSUMER = 4503
CLOSE_TRY_AGAIN = 1013


class UnknownType(ProtocolError):
    code = "UNKNOWN_TYPE"


class InvalidField(ProtocolError):
    code = "INVALID_FIELD"
    http_status = 422


class NotSupported(AstraError):
    code = "NOT_SUPPORTED"
    http_status = 501
