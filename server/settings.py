"""Settings: read from the environment once, at the edge, into one frozen object.

Every limit and timeout has a name, a finite default and a line saying what it bounds.
``create_app(settings)`` and the CLI are the only readers of the environment.
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

PACKAGE_TENANTS_DIR = Path(__file__).parent / "tenants_data"


N = TypeVar("N", int, float)


def is_loopback(host: str) -> bool:
    """Whether listening on ``host`` reaches this machine only (a host name may resolve to
    anything: not taken for loopback, but ``localhost``)."""
    try:
        return host == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


APPENDFSYNC = ("always", "everysec", "no")
"""Redis's ``appendfsync`` policies."""


class SettingsError(ValueError):
    """An environment variable with a value the server cannot run with; the message names it."""


def _number(env: Mapping[str, str], name: str, default: N, parse: Callable[[str], N], what: str) -> N:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return parse(raw)
    except ValueError:
        raise SettingsError(f"{name} must be {what}, not {raw!r}") from None


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    return _number(env, name, default, int, "a whole number")


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    value = _number(env, name, default, float, "a number")
    if not math.isfinite(value):  # float() takes "nan" and "inf": every bound and timer broke on them
        raise SettingsError(f"{name} must be a finite number, not {env.get(name)!r}")
    return value


_TRUE, _FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw not in _TRUE | _FALSE:
        raise SettingsError(f"{name} must be 1/true/yes/on or 0/false/no/off, not {env.get(name)!r}")
    return raw in _TRUE


PRESIGNED_URL_MAX_SECONDS = 7 * 24 * 3600
"""The longest an S3 presigned link may live (S3 refuses a longer one when it is used)."""


def _secret(env: Mapping[str, str], name: str) -> str | None:
    """A shared secret sent in a header: printable ASCII, without the whitespace around it that
    a secrets file leaves (a newline would make every call fail as if the service were down)."""
    raw = (env.get(name) or "").strip()
    if raw and not (raw.isascii() and raw.isprintable()):
        raise SettingsError(f"{name} must be printable ASCII (it is sent in an HTTP header)")
    return raw or None


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = env.get(name, "")
    return tuple(item.strip() for item in raw.split(",") if item.strip())


PCM_BYTES_PER_SECOND = 32_000
"""16 kHz PCM16, mono: the audio the server cuts, and the unit of its audio bounds."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what one client or session may do; each is documented in protocol.md."""

    max_frame_bytes: int = 1 << 20
    """Largest WebSocket message accepted; bigger ones get FRAME_TOO_LARGE and are dropped."""
    max_text_chars: int = 20_000
    """Longest text utterance accepted in one frame or append."""
    hello_timeout: float = 10.0
    """Seconds a new WebSocket has to send its hello frame before it is closed (4408)."""
    ping_interval: float = 20.0
    """Seconds between the server's WebSocket pings (keepalive)."""
    idle_timeout: float = 20.0
    """Seconds after a ping within which something (a pong or any frame) must arrive; a silent
    connection is closed with 4408 IDLE_TIMEOUT, so a dead peer is gone within
    ``ping_interval + idle_timeout``."""
    frame_rate: float = 100.0
    """Frames per second one connection may send on average (token bucket). Beyond it the
    server stops reading that socket until tokens are available (TCP backpressure): nothing is
    refused or lost, the client's frames just wait."""
    frame_burst: int = 500
    """Frames a connection may send at once above ``frame_rate`` (the bucket's size): enough for
    a reconnecting console resending its unacked frames without waiting."""
    max_connections_per_session: int = 100
    """WebSocket connections one session may have at once, over all instances; one more is
    refused with 4429 TOO_MANY_CONNECTIONS."""
    max_connections_per_user: int = 10
    """Of those, the connections of one person (one token ``sub``): one person's tabs, scripts or
    a loop reconnecting cannot take every place of a session and keep its recording team out
    (4429 TOO_MANY_CONNECTIONS, ``details.limit`` "max_connections_per_user")."""
    send_timeout: float = 30.0
    """Seconds one frame may wait to be taken by a client's socket (its TCP window is full: it
    stopped reading); then the client is closed with 4503 SLOW_CONSUMER and resumes later."""
    max_lag_events: int = 10_000
    """Events a live client may fall behind the session's newest one before it is closed with
    4503 SLOW_CONSUMER (below it, it catches up from the log)."""
    send_queue_events: int = 2_000
    """Live events buffered per client; a slower client is switched to catch-up reads from the
    event log (nothing is lost), never allowed to grow memory without bound."""
    replay_page: int = 500
    """Events read from the log per round trip when a client resumes or catches up."""
    max_json_bytes: int = 8 << 20
    """Largest JSON body accepted by the HTTP API (an ``audio_chunk`` travels in one)."""
    idle_resync: float = 15.0
    """Seconds without live events after which a client's sender re-reads the log tail, so an
    event whose pub/sub doorbell was lost is delivered anyway."""
    presence_ttl: float = 45.0
    """Seconds a silent connection stays in the presence list (its soft lock with it); also how
    long the connections of a killed instance still count against ``max_connections_per_session``."""
    max_asset_bytes: int = 20 << 20
    """Largest upload accepted by upload-asset."""
    max_session_asset_bytes: int = 100 << 20
    """Bytes of images one session may take (all its uploads, deleted ones included): the acta's
    build reads every image it places into memory, so without a bound a few hundred uploads made
    each preview and finalize of the session run the server out of memory. One more upload gets
    429 LIMIT_EXCEEDED."""
    max_image_pixels: int = 36_000_000
    """Most pixels (width × height) an uploaded image may declare; more is IMAGE_TOO_LARGE, refused
    before any pixel is decoded (decoding memory is bounded by this)."""
    finalize_wait: float = 120.0
    """Seconds a finalize call waits for a concurrent finalize of the same session to finish; and
    the longest one job of a finalize worker (a build, GUARD's hashing) may run there before it
    is interrupted and the finalize fails (a tenant's template looping for ever held the session
    closed for good)."""
    max_open_sessions: int = 1_000
    """Sessions one tenant may have open (started, finalize not begun) at once, over all
    instances; one more ``session/start`` gets 429 TOO_MANY_SESSIONS."""
    max_session_seconds: float = 12 * 3600.0
    """Age after which a session refuses new recorded input (text, audio, uploads) with
    SESSION_TOO_LONG; corrections, reads and finalize still work."""
    max_audio_in_flight: float = 60.0
    """Seconds of utterance audio of one session sent to CORE and not answered yet; beyond it
    the session's audio owner pauses reading its durable audio until CORE answers."""
    max_audio_backlog: float = 1800.0
    """Seconds of audio (counted as 16 kHz PCM16 bytes, 32,000 a second; a compressed stream by
    its bytes) a session may hold in Redis that its audio owner has not read yet: a CORE outage
    (the owner stops reading, ``max_audio_in_flight``) or a client sending faster than real time.
    Beyond it the server stores no more of the recording console's frames until the owner has
    read it under three quarters of this (TCP backpressure, the console keeps them) and an HTTP
    append gets 429 AUDIO_BACKLOG: without it one session's audio could fill the Redis every
    session shares."""
    finalize_lock_ttl: float = 30.0
    """Seconds the lock of a finalize in progress lives unless renewed: a finalize whose
    instance died is taken over by the next finalize call after this."""
    store_outage: float = 30.0
    """Seconds a connection holds its unacked frames while Redis is unreachable (the client is
    told it is degraded) before it is closed with 1013 so the client reconnects later."""
    session_retention: float = 90 * 86400.0
    """Seconds a finalized or discarded session stays in Redis (its blocks, events, result),
    after which all its keys expire: without it every session ever held made Redis grow until
    it refused writes (``noeviction``), live sessions' acks with them. The sealed acta and the
    evidence stay in the object store (``astra verify`` reads them without Redis)."""

    @property
    def max_audio_backlog_bytes(self) -> int:
        return int(self.max_audio_backlog * PCM_BYTES_PER_SECOND)


@dataclass(frozen=True, slots=True)
class Retry:
    """Retry policy for calls to collaborators (CORE over HTTP, BUILDER, GUARD)."""

    attempts: int = 4
    """Tries in all, the first included."""
    base_delay: float = 0.2
    """First backoff in seconds; doubles each try, with full jitter."""
    max_delay: float = 3.0
    """Ceiling of one backoff."""
    timeout: float = 30.0
    """Seconds one call may take."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the server needs to know about its environment."""

    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = 8000
    redis_url: str | None = None
    """Production Redis; without it ``astra serve`` starts a private one in the data dir.
    ``redis+cluster://host:port[,host:port…]`` (``rediss+cluster://`` with TLS) selects Redis Cluster."""
    redis_max_connections: int = 256
    """Size of the Redis connection pool (per node on a cluster); callers wait when it is exhausted."""
    redis_pool_timeout: float = 10.0
    """Seconds a Redis call waits for a free pooled connection before it fails."""
    redis_socket_timeout: float = 5.0
    """Seconds Redis may take to accept a connection or to answer a command before the call fails
    with STORE_UNAVAILABLE (a hung or partitioned Redis that keeps its sockets open); on a cluster
    it bounds a command's whole attempt, redirects and retries included. The live hub's pub/sub
    connection waits for messages without it."""
    redis_appendfsync: str = "everysec"
    """AOF fsync policy of the embedded Redis: ``always`` trades throughput for power-loss safety."""
    redis_ack_replicas: int = 0
    """Replicas that must confirm a batch of live audio (Redis ``WAIT``) before its frames are
    acked (0: the primary's copy is enough). Redis replicates asynchronously: a failover to a
    replica that had not received the last writes loses acked audio, which the console has
    forgotten. A standalone ``REDIS_URL`` with replicas only."""
    redis_ack_timeout: float = 1.0
    """Seconds ``WAIT`` gives the replicas; fewer confirmed is STORE_UNAVAILABLE, and the client
    keeps the frames, unacked, and the server tries again."""
    tenants_dir: Path = PACKAGE_TENANTS_DIR
    """Directory of tenant folders (tenant.json, skeletons/) and registry.json."""
    public_url: str | None = None
    """Base URL clients reach this server at (for download links); defaults to http://host:port."""
    allowed_origins: tuple[str, ...] = ()
    """Browser origins allowed on the WebSocket besides this server's own."""
    jwt_secret_file: Path | None = None
    """HS256 secret; defaults to <data_dir>/jwt-secret, generated on first use."""
    jwks_url: str | None = None
    """When set, RS256/ES256 tokens are verified against this JWKS."""
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    jwt_leeway: float = 30.0
    """Seconds a token's ``nbf``/``iat`` may lie in the future (clock skew); ``exp`` gets none."""
    jwks_cache_ttl: float = 300.0
    """Seconds the JWKS key set is cached; a key withdrawn from it stops verifying after this."""
    core_url: str | None = None
    builder_url: str | None = None
    guard_url: str | None = None
    tenants_url: str | None = None
    registry_url: str | None = None
    learn_url: str | None = None
    """Each collaborator runs embedded unless its URL is set."""
    learn_retry: float = 300.0
    """Seconds between tries of an export of corrections that LEARN did not take (any instance
    tries it again, until it is taken or the session expires)."""
    service_token: str | None = field(default=None, repr=False)
    """The shared secret between the orchestrators and the collaborators they reach by URL: sent
    as ``Authorization: Bearer`` on every call, and required by ``astra core|builder|guard|
    tenants|registry`` on every route but ``/healthz`` and GUARD's signed links. A collaborator
    started on an interface other than loopback refuses to start without it."""
    s3_bucket: str | None = None
    s3_prefix: str = ""
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_object_lock_days: int = 0
    """When > 0, sealed actas and their audit reports are stored with S3 Object Lock in
    compliance mode for this many days."""
    download_url_ttl: int = 3600
    """Seconds a signed download URL stays valid."""
    model_cache_dir: Path | None = None
    """Where the Whisper weights are assembled once; defaults to <data_dir>/models."""
    asr_concurrency: int = 1
    """Utterances transcribed at once per process (each uses ``asr_cpu_threads`` cores)."""
    asr_cpu_threads: int = 0
    """CTranslate2 threads per transcription; 0 = all cores."""
    asr_beam_size: int = 5
    """Beam width of the decoder (1 = greedy: ~25 % faster, slightly less accurate)."""
    asr_device: str = "cpu"
    """Where CTranslate2 runs the recognizer: ``cpu``, or ``cuda`` on a CORE machine with a GPU."""
    asr_compute_type: str = "int8"
    """CTranslate2 compute type: ``int8`` on CPU; ``float16`` (or ``int8_float16``) on a GPU."""
    asr_warmup: bool = True
    """Load the speech model in the background at startup instead of on the first utterance."""
    audio_lease_ttl: float = 10.0
    """Seconds a dead owner instance keeps a session's audio before another takes over."""
    finalize_workers: int = 1
    """Worker processes that decode, build and seal at finalize, off the event loop and its GIL;
    more finalize at once, each holding one session's document in memory while it works. They
    also check a new skeleton configuration at session start and each uploaded image, which
    wait behind a running build when every worker is busy."""
    core_breaker_threshold: int = 5
    """Consecutive transient CORE failures that open its circuit (calls then fail fast)."""
    core_breaker_cooldown: float = 30.0
    """Seconds an open CORE circuit stays open before one trial call is let through."""
    inflight_lease_ttl: float = 10.0
    """Seconds an input being stored by an instance that died keeps finalize waiting for it (a
    live instance renews the lease while CORE works on the input)."""
    limits: Limits = field(default_factory=Limits)
    retry: Retry = field(default_factory=Retry)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("ASTRA_DATA_DIR", "data"))
        settings = cls(
            data_dir=data_dir,
            host=env.get("ASTRA_HOST", "127.0.0.1"),
            port=_int(env, "ASTRA_PORT", 8000),
            redis_url=env.get("REDIS_URL") or None,
            redis_max_connections=_int(env, "ASTRA_REDIS_MAX_CONNECTIONS", 256),
            redis_pool_timeout=_float(env, "ASTRA_REDIS_POOL_TIMEOUT", 10.0),
            redis_socket_timeout=_float(env, "ASTRA_REDIS_SOCKET_TIMEOUT", 5.0),
            redis_appendfsync=env.get("ASTRA_REDIS_APPENDFSYNC", "everysec").lower(),
            redis_ack_replicas=_int(env, "ASTRA_REDIS_ACK_REPLICAS", 0),
            redis_ack_timeout=_float(env, "ASTRA_REDIS_ACK_TIMEOUT", 1.0),
            tenants_dir=Path(env.get("ASTRA_TENANTS_DIR") or PACKAGE_TENANTS_DIR),
            public_url=env.get("ASTRA_PUBLIC_URL") or None,
            allowed_origins=_list(env, "ASTRA_ALLOWED_ORIGINS"),
            jwt_secret_file=Path(env["ASTRA_JWT_SECRET_FILE"]) if env.get("ASTRA_JWT_SECRET_FILE") else None,
            jwks_url=env.get("ASTRA_JWKS_URL") or None,
            jwt_audience=env.get("ASTRA_JWT_AUDIENCE") or None,
            jwt_issuer=env.get("ASTRA_JWT_ISSUER") or None,
            jwt_leeway=_float(env, "ASTRA_JWT_LEEWAY", 30.0),
            jwks_cache_ttl=_float(env, "ASTRA_JWKS_CACHE_TTL", 300.0),
            core_url=env.get("ASTRA_CORE_URL") or None,
            builder_url=env.get("ASTRA_BUILDER_URL") or None,
            guard_url=env.get("ASTRA_GUARD_URL") or None,
            tenants_url=env.get("ASTRA_TENANTS_URL") or None,
            registry_url=env.get("ASTRA_REGISTRY_URL") or None,
            learn_url=env.get("ASTRA_LEARN_URL") or None,
            learn_retry=_float(env, "ASTRA_LEARN_RETRY", 300.0),
            service_token=_secret(env, "ASTRA_SERVICE_TOKEN"),
            s3_bucket=env.get("ASTRA_S3_BUCKET") or None,
            s3_prefix=env.get("ASTRA_S3_PREFIX", ""),
            s3_endpoint_url=env.get("ASTRA_S3_ENDPOINT_URL") or None,
            s3_region=env.get("ASTRA_S3_REGION", "us-east-1"),
            s3_object_lock_days=_int(env, "ASTRA_S3_OBJECT_LOCK_DAYS", 0),
            download_url_ttl=_int(env, "ASTRA_DOWNLOAD_URL_TTL", 3600),
            model_cache_dir=Path(env["ASTRA_MODEL_CACHE"]) if env.get("ASTRA_MODEL_CACHE") else None,
            asr_concurrency=_int(env, "ASTRA_ASR_CONCURRENCY", 1),
            asr_cpu_threads=_int(env, "ASTRA_ASR_CPU_THREADS", 0),
            asr_beam_size=_int(env, "ASTRA_ASR_BEAM_SIZE", 5),
            asr_device=env.get("ASTRA_ASR_DEVICE") or "cpu",
            asr_compute_type=env.get("ASTRA_ASR_COMPUTE_TYPE") or "int8",
            asr_warmup=_bool(env, "ASTRA_ASR_WARMUP", True),
            audio_lease_ttl=_float(env, "ASTRA_AUDIO_LEASE_TTL", 10.0),
            finalize_workers=_int(env, "ASTRA_FINALIZE_WORKERS", 1),
            inflight_lease_ttl=_float(env, "ASTRA_INFLIGHT_LEASE_TTL", 10.0),
            core_breaker_threshold=_int(env, "ASTRA_CORE_BREAKER_THRESHOLD", 5),
            core_breaker_cooldown=_float(env, "ASTRA_CORE_BREAKER_COOLDOWN", 30.0),
            limits=Limits(
                max_frame_bytes=_int(env, "ASTRA_MAX_FRAME_BYTES", 1 << 20),
                max_text_chars=_int(env, "ASTRA_MAX_TEXT_CHARS", 20_000),
                hello_timeout=_float(env, "ASTRA_HELLO_TIMEOUT", 10.0),
                ping_interval=_float(env, "ASTRA_PING_INTERVAL", 20.0),
                idle_timeout=_float(env, "ASTRA_IDLE_TIMEOUT", 20.0),
                frame_rate=_float(env, "ASTRA_FRAME_RATE", 100.0),
                frame_burst=_int(env, "ASTRA_FRAME_BURST", 500),
                max_connections_per_session=_int(env, "ASTRA_MAX_CONNECTIONS_PER_SESSION", 100),
                max_connections_per_user=_int(env, "ASTRA_MAX_CONNECTIONS_PER_USER", 10),
                send_timeout=_float(env, "ASTRA_SEND_TIMEOUT", 30.0),
                max_lag_events=_int(env, "ASTRA_MAX_LAG_EVENTS", 10_000),
                send_queue_events=_int(env, "ASTRA_SEND_QUEUE_EVENTS", 2_000),
                max_json_bytes=_int(env, "ASTRA_MAX_JSON_BYTES", 8 << 20),
                idle_resync=_float(env, "ASTRA_IDLE_RESYNC", 15.0),
                presence_ttl=_float(env, "ASTRA_PRESENCE_TTL", 45.0),
                max_asset_bytes=_int(env, "ASTRA_MAX_ASSET_BYTES", 20 << 20),
                max_session_asset_bytes=_int(env, "ASTRA_MAX_SESSION_ASSET_BYTES", 100 << 20),
                max_image_pixels=_int(env, "ASTRA_MAX_IMAGE_PIXELS", 36_000_000),
                finalize_wait=_float(env, "ASTRA_FINALIZE_WAIT", 120.0),
                max_open_sessions=_int(env, "ASTRA_MAX_OPEN_SESSIONS", 1_000),
                max_session_seconds=_float(env, "ASTRA_MAX_SESSION_SECONDS", 12 * 3600.0),
                max_audio_in_flight=_float(env, "ASTRA_MAX_AUDIO_IN_FLIGHT", 60.0),
                max_audio_backlog=_float(env, "ASTRA_MAX_AUDIO_BACKLOG", 1800.0),
                finalize_lock_ttl=_float(env, "ASTRA_FINALIZE_LOCK_TTL", 30.0),
                store_outage=_float(env, "ASTRA_STORE_OUTAGE", 30.0),
                session_retention=_float(env, "ASTRA_SESSION_RETENTION", 90 * 86400.0),
            ),
            retry=Retry(
                attempts=_int(env, "ASTRA_RETRY_ATTEMPTS", 4),
                base_delay=_float(env, "ASTRA_RETRY_BASE_DELAY", 0.2),
                max_delay=_float(env, "ASTRA_RETRY_MAX_DELAY", 3.0),
                timeout=_float(env, "ASTRA_SERVICE_TIMEOUT", 30.0),
            ),
        )
        settings = replace(settings, **overrides) if overrides else settings  # type: ignore[arg-type]
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse combinations that would run but not as the operator meant (SettingsError):
        an acta believed locked for years that is not, links S3 would refuse."""
        if self.s3_object_lock_days < 0:
            raise SettingsError("ASTRA_S3_OBJECT_LOCK_DAYS must be 0 (no lock) or more days")
        # counts the server cannot run with fewer than one of: each failed later, deep in the
        # startup (a traceback after Redis and S3 were up) or at the first finalize
        for name, count in (
            ("ASTRA_FINALIZE_WORKERS", self.finalize_workers),
            ("ASTRA_ASR_CONCURRENCY", self.asr_concurrency),
            ("ASTRA_ASR_BEAM_SIZE", self.asr_beam_size),
            ("ASTRA_REDIS_MAX_CONNECTIONS", self.redis_max_connections),
            ("ASTRA_RETRY_ATTEMPTS", self.retry.attempts),
        ):
            if count < 1:
                raise SettingsError(f"{name} must be 1 or more (it is {count})")
        # times and rates of none: each was taken and broke every connection or session later
        # (a token bucket refusing a rate of 0 on each connection, a pong awaited 0 s, keepalive
        # silently off, every recorded input SESSION_TOO_LONG, leases that lapse at once)
        limits = self.limits
        for name, value in (
            ("ASTRA_FRAME_RATE", limits.frame_rate),
            ("ASTRA_FRAME_BURST", limits.frame_burst),
            ("ASTRA_HELLO_TIMEOUT", limits.hello_timeout),
            ("ASTRA_PING_INTERVAL", limits.ping_interval),
            ("ASTRA_IDLE_TIMEOUT", limits.idle_timeout),
            ("ASTRA_SEND_TIMEOUT", limits.send_timeout),
            ("ASTRA_SEND_QUEUE_EVENTS", limits.send_queue_events),
            ("ASTRA_MAX_LAG_EVENTS", limits.max_lag_events),
            ("ASTRA_FINALIZE_WAIT", limits.finalize_wait),
            ("ASTRA_IDLE_RESYNC", limits.idle_resync),
            ("ASTRA_PRESENCE_TTL", limits.presence_ttl),
            ("ASTRA_MAX_SESSION_SECONDS", limits.max_session_seconds),
            ("ASTRA_MAX_AUDIO_IN_FLIGHT", limits.max_audio_in_flight),
            ("ASTRA_FINALIZE_LOCK_TTL", limits.finalize_lock_ttl),
            ("ASTRA_SESSION_RETENTION", limits.session_retention),
            ("ASTRA_MAX_FRAME_BYTES", limits.max_frame_bytes),
            ("ASTRA_MAX_TEXT_CHARS", limits.max_text_chars),
            ("ASTRA_MAX_JSON_BYTES", limits.max_json_bytes),
            ("ASTRA_AUDIO_LEASE_TTL", self.audio_lease_ttl),
            ("ASTRA_INFLIGHT_LEASE_TTL", self.inflight_lease_ttl),
            ("ASTRA_REDIS_SOCKET_TIMEOUT", self.redis_socket_timeout),
            ("ASTRA_REDIS_POOL_TIMEOUT", self.redis_pool_timeout),
            ("ASTRA_SERVICE_TIMEOUT", self.retry.timeout),
            ("ASTRA_LEARN_RETRY", self.learn_retry),
            ("ASTRA_REDIS_ACK_TIMEOUT", self.redis_ack_timeout),
        ):
            if not value > 0:
                raise SettingsError(f"{name} must be more than 0 (it is {value:g})")
        if not self.limits.max_audio_backlog > 0:
            raise SettingsError(
                "ASTRA_MAX_AUDIO_BACKLOG must be more than 0 seconds "
                f"(it is {self.limits.max_audio_backlog:g})"
            )
        if not self.redis_url and self.redis_appendfsync.lower() not in APPENDFSYNC:
            # redis-server exits on it before its log file is open: the start said nothing useful
            raise SettingsError(
                f"ASTRA_REDIS_APPENDFSYNC must be one of {', '.join(APPENDFSYNC)} "
                f"(it is {self.redis_appendfsync!r})"
            )
        if self.redis_ack_replicas < 0:
            raise SettingsError(
                f"ASTRA_REDIS_ACK_REPLICAS must be 0 or more (it is {self.redis_ack_replicas})"
            )
        from .redis_client import is_cluster_url  # (it imports this module)

        cluster = bool(self.redis_url) and is_cluster_url(self.redis_url or "")
        if self.redis_ack_replicas and self.redis_ack_timeout * 2 > self.redis_socket_timeout:
            raise SettingsError(
                "ASTRA_REDIS_ACK_TIMEOUT may be at most half ASTRA_REDIS_SOCKET_TIMEOUT: a wait for "
                "replicas that ran into it would fail as a lost connection, not as replicas behind"
            )
        if self.redis_ack_replicas and (not self.redis_url or cluster):
            raise SettingsError(
                "ASTRA_REDIS_ACK_REPLICAS needs REDIS_URL to a standalone Redis with replicas: the "
                "embedded Redis has none, and on a Redis Cluster the wait is not built in yet"
            )
        if self.s3_object_lock_days and not self.s3_bucket:
            raise SettingsError(
                "ASTRA_S3_OBJECT_LOCK_DAYS needs ASTRA_S3_BUCKET: the local object store cannot lock "
                "what it stores (set the bucket, or leave the lock at 0)"
            )
        if self.download_url_ttl < 1:
            raise SettingsError("ASTRA_DOWNLOAD_URL_TTL must be 1 second or more")
        if self.s3_bucket and self.download_url_ttl > PRESIGNED_URL_MAX_SECONDS:
            raise SettingsError(
                f"ASTRA_DOWNLOAD_URL_TTL may be at most {PRESIGNED_URL_MAX_SECONDS} s (7 days) with "
                "S3: a presigned link living longer is refused by S3 when it is used"
            )

    @property
    def secret_path(self) -> Path:
        return self.jwt_secret_file or self.data_dir / "jwt-secret"

    @property
    def model_cache(self) -> Path:
        return self.model_cache_dir or self.data_dir / "models"

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")
