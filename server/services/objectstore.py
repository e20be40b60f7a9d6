"""The object store: audio, images, skeleton snapshots, documents and audit reports.

Two implementations behind :class:`ObjectStore`: a local directory (embedded mode) whose
download links are HMAC-signed and expire, served by the orchestrator at ``/v1/objects/…``; and
any S3 endpoint through boto3 (presigned URLs, optional Object Lock in compliance mode). boto3
is blocking, so every S3 call runs in a worker thread.

Keys are built only by :func:`session_key` and :func:`tenant_key`, always under the tenant, so a
request of one tenant can never name another tenant's object.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import hashlib
import hmac
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from stat import S_ISREG
from typing import Any, BinaryIO, Protocol, TypeVar
from urllib.parse import quote, urlencode

from ..errors import AuthError, ConfigError, Forbidden, InvalidInput, NotFound, ServiceUnavailable
from ..settings import Settings

T = TypeVar("T")

log = logging.getLogger("astra.objectstore")

_KEY_PART = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}")
"""One segment of an object key: no separator, no NUL, nothing that starts with a dot."""


def tenant_key(tenant_id: str, *parts: str) -> str:
    """``tenants/<tenant_id>/<parts…>``; every part must be a plain segment, so no caller (nor a
    tenant id or session id from a request) can climb out of the tenant's prefix."""
    for part in (tenant_id, *parts):
        if not _KEY_PART.fullmatch(part):
            raise InvalidInput("unsafe object key part", code="UNSAFE_KEY", part=part[:80])
    return "/".join(("tenants", tenant_id, *parts))


def session_key(tenant_id: str, session_id: str, *parts: str) -> str:
    return tenant_key(tenant_id, "sessions", session_id, *parts)


class ObjectStore(Protocol):
    async def put_bytes(
        self,
        key: str,
        data: bytes | Iterable[bytes],
        content_type: str,
        *,
        durable: bool = False,
        sealed: bool = False,
    ) -> str | None:
        """Store ``data`` under ``key``: bytes, or the object's pieces in order, taken one by one
        in a worker thread and never joined in memory (a sealed session's evidence, ~9 MB for
        six hours; a generator of them is not run on the event loop). ``durable``: the object
        must outlive an OS crash or power loss as soon as this returns (a pinned skeleton), not
        only a crash of the server. ``sealed``: part of a sealed acta (the document, its audit
        report): durable, and where the store has Object Lock, locked in compliance mode.
        The version the store gave what it stored (S3 with versioning, as Object Lock has), else
        None: a later write to the same key makes another version and leaves this one as it was."""
        ...

    async def put_file(self, key: str, fileobj: BinaryIO, content_type: str) -> None: ...
    async def get_bytes(self, key: str, version: str | None = None) -> bytes:
        """The object's bytes: that ``version`` of it where given (and the store keeps versions)."""
        ...

    async def exists(self, key: str) -> bool: ...
    async def version_readable(self, key: str, version: str) -> bool:
        """Whether this store's credentials may read that version of the object (S3 asks for
        ``s3:GetObjectVersion`` besides ``s3:GetObject``)."""
        ...

    async def latest_version(self, key: str) -> str | None:
        """The version a read of the key without one gets (None where there are no versions)."""
        ...

    async def first_version(self, key: str) -> str | None:
        """The key's oldest version still kept (None where there are no versions): under Object
        Lock, the one sealed, which nobody can delete or replace before its retention ends."""
        ...

    async def download_url(self, key: str, ttl: int, version: str | None = None) -> str:
        """An expiring link to the object (to that ``version`` of it, as :meth:`get_bytes`)."""
        ...

    def uri(self, key: str) -> str:
        """The object's URI as API answers give it (``s3_url``)."""
        ...

    def location(self, key: str) -> str:
        """Where an operator finds the object (``astra verify`` says where it looked)."""
        ...


def _fsync_directory(directory: Path) -> None:
    """Make the names in ``directory`` durable (a renamed file's new name above all)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalObjectStore:
    """Objects as files under a directory; links signed with HMAC-SHA256 and an expiry."""

    def __init__(self, root: Path, secret: bytes, base_url: str) -> None:
        self.root = root
        self._real_root = root.resolve()  # resolved once: every key is checked against it
        self._secret = hashlib.sha256(b"astra-objects:" + secret).digest()
        self._base = base_url.rstrip("/")

    def _path(self, key: str) -> Path:
        """The file of a key, checked by its text alone: relative, '/'-separated names, none empty,
        '.' or '..' (no backslash, no NUL). Resolving the path instead cost an lstat per component
        and ~2 % of a live server's samples, in pure Python holding the GIL; the server writes
        plain files only, so there are no symlinks under the root to follow."""
        names = key.split("/")
        if "\\" in key or "\0" in key or any(name in ("", ".", "..") for name in names):
            raise NotFound("no such object")
        return self._real_root.joinpath(*names)

    def _write(self, key: str, write: Callable[[BinaryIO], object], durable: bool = False) -> None:
        """Write (``write`` fills the file) through a temporary file, fsync it and rename it into
        place: a crash of the server never leaves a partial object.

        Only a ``durable`` object has its directory fsynced after the rename (and any directory
        made for it, up to one that existed): otherwise an OS crash or power loss may lose the
        last seconds of new names, the same order as Redis's own ``appendfsync everysec``.
        Fsyncing the directory of every object (evidence audio above all) forced a journal commit
        per object that stalled Redis's AOF writes (ingest 0.34 -> 0.25 of the echo server, one
        process); a sealed acta is one object per session."""
        path = self._path(key)
        existing = path.parent
        while durable and not existing.is_dir() and existing != self._real_root:
            existing = existing.parent
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                write(out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        if durable:
            directory = path.parent
            while True:
                _fsync_directory(directory)
                if directory == existing:
                    break
                directory = directory.parent

    async def put_bytes(
        self,
        key: str,
        data: bytes | Iterable[bytes],
        content_type: str,
        *,
        durable: bool = False,
        sealed: bool = False,
    ) -> str | None:
        pieces = (data,) if isinstance(data, bytes | bytearray | memoryview) else data
        await asyncio.to_thread(self._write, key, lambda out: out.writelines(pieces), durable or sealed)
        return None  # files have no versions

    async def put_file(self, key: str, fileobj: BinaryIO, content_type: str) -> None:
        await asyncio.to_thread(self._write, key, lambda out: shutil.copyfileobj(fileobj, out, 1 << 20))

    async def get_bytes(self, key: str, version: str | None = None) -> bytes:
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError as exc:
            raise NotFound("no such object") from exc

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def file(self, key: str) -> tuple[Path, os.stat_result]:
        """The file of a key and its ``stat``, for a download streamed from it rather than read
        into memory whole (an acta with its pictures is tens of MB; a link is fetched by anyone
        who holds it, as often as they like). NotFound when there is none."""
        path = self._path(key)
        try:
            stat = await asyncio.to_thread(path.stat)
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise NotFound("no such object") from exc
        if not S_ISREG(stat.st_mode):
            raise NotFound("no such object")
        return path, stat

    async def version_readable(self, key: str, version: str) -> bool:
        return False  # files have no versions

    async def latest_version(self, key: str) -> str | None:
        return None

    async def first_version(self, key: str) -> str | None:
        return None

    def sign(self, key: str, expires: int) -> str:
        return hmac.new(self._secret, f"{key}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def verify(self, key: str, expires: str, signature: str) -> None:
        """Raise unless the link is authentic and unexpired."""
        # isdigit() alone takes '²', which int() refuses; 20 digits is beyond any real expiry.
        if not (expires.isascii() and expires.isdigit() and len(expires) <= 20) or int(expires) < time.time():
            raise AuthError("download link expired")
        if not hmac.compare_digest(self.sign(key, int(expires)).encode(), signature.encode()):
            raise AuthError("download link is not valid")

    async def download_url(self, key: str, ttl: int, version: str | None = None) -> str:
        expires = int(time.time()) + ttl
        query = urlencode({"expires": expires, "signature": self.sign(key, expires)})
        return f"{self._base}/v1/objects/{quote(key)}?{query}"

    def uri(self, key: str) -> str:
        """``local:<key>``: it names the object, not where the server keeps its files (a
        ``file://`` URI gave every uploader the data directory's path)."""
        self._path(key)  # (a key it could not hold is not named either)
        return f"local:{key}"

    def location(self, key: str) -> str:
        return f"file://{self._path(key)}"


class S3Unavailable(ServiceUnavailable):
    """S3 failed a call that botocore had already tried ``retry.attempts`` times (its legacy
    retry mode: time-outs, lost connections, throttling, 5xx), or refused for good: not tried
    again around it (``with_retries``), which multiplied the tries. A hung S3 held a finalize
    through four seals of five tries each, each try a read time-out (~10 min); now one seal's
    four (~2 min). Still 503 SERVICE_UNAVAILABLE to the caller, who may call again."""

    retryable = False


_READS = frozenset({"get_object", "head_object"})
_READ_FORBIDDEN = frozenset({"AccessDenied", "403"})
"""A read refused by policy: GET says AccessDenied, HEAD has no body and only its status. Bad
credentials (InvalidAccessKeyId, SignatureDoesNotMatch, ExpiredToken…) stay an outage; a HEAD
cannot tell them apart, but its caller's next write can.

S3 answers 403 both to a read of a key that is gone, from credentials without s3:ListBucket
(404 needs it), and to a read of an object that is there but may not be read now (a KMS key
disabled or its grant missing, a bucket policy changed): the first is a gap to review
(AUDIO_MISSING), the second an outage to retry. The refused read is told apart by listing the
key (ListObjectsV2, the key as prefix): listed, the object is there and the 403 is an outage
(ServiceUnavailable); not listed, it is gone (NotFound). Credentials that may not list either
leave no way to tell: the 403 is then taken as missing or not readable (NotFound, logged), the
trade-off the README's S3 paragraph states (grant s3:ListBucket to keep a denial retryable)."""


_NO_LOCK = (
    "ASTRA_S3_OBJECT_LOCK_DAYS={days} but bucket {bucket!r} does not have Object Lock enabled: "
    "S3 would refuse every sealed acta. Use a bucket created with Object Lock, or set "
    "ASTRA_S3_OBJECT_LOCK_DAYS=0"
)


async def _in_daemon_thread(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a thread of its own that does not hold up the process's exit:
    the startup check of a black-holed S3 waits minutes for its answer, and ``asyncio.run``
    waits for the default executor's threads, so a SIGTERM then stopped ``astra serve`` only
    after them."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(outcome: Callable[[], None]) -> None:
        if not future.done():
            outcome()

    def run() -> None:
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the awaiting task, as to_thread would
            outcome: Callable[[], None] = functools.partial(future.set_exception, exc)
        else:
            outcome = functools.partial(future.set_result, result)
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits
            loop.call_soon_threadsafe(settle, outcome)

    threading.Thread(target=run, name="astra-s3-check", daemon=True).start()
    return await future


class S3ObjectStore:
    """Any S3 API endpoint through boto3, every call in a worker thread."""

    def __init__(self, client: Any, bucket: str, prefix: str = "", *, object_lock_days: int = 0) -> None:
        self._s3 = client
        self.bucket = bucket
        self._prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._lock_days = object_lock_days

    def _key(self, key: str) -> str:
        return self._prefix + key

    async def check(self) -> None:
        """At startup: the bucket exists and, when sealed objects are to be locked, has Object
        Lock enabled. S3 refuses every locked PUT to a bucket without it, so the server would
        record sessions for hours and fail every finalize. A wrong bucket is a ConfigError (the
        server does not start); an answer that settles nothing (S3 down, credentials that may
        not ask) is logged, and the server starts: S3 may come back, and only the acta needs it."""
        from botocore.exceptions import BotoCoreError, ClientError

        checks = [("head_bucket", "the bucket")]
        if self._lock_days > 0:
            checks.append(("get_object_lock_configuration", "its Object Lock configuration"))
        for name, what in checks:
            try:
                answer = await _in_daemon_thread(getattr(self._s3, name), Bucket=self.bucket)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code in ("NoSuchBucket", "404", "NotFound"):
                    raise ConfigError(f"ASTRA_S3_BUCKET: no bucket {self.bucket!r} in this S3 store") from exc
                if code == "ObjectLockConfigurationNotFoundError":
                    raise ConfigError(_NO_LOCK.format(bucket=self.bucket, days=self._lock_days)) from exc
                # a refusal settles this check only (HeadBucket needs s3:ListBucket, which the
                # README lets credentials go without): the Object Lock check is still asked
                log.warning("object store: could not check %s of %r: %s", what, self.bucket, exc)
                continue
            except BotoCoreError as exc:  # S3 not reached: the next check would not be either
                log.warning("object store: could not check %s of %r: %s", what, self.bucket, exc)
                return
            if name == "get_object_lock_configuration":
                enabled = answer.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled")
                if enabled != "Enabled":
                    raise ConfigError(_NO_LOCK.format(bucket=self.bucket, days=self._lock_days))

    async def _call(self, name: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return await asyncio.to_thread(getattr(self._s3, name), **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "NoSuchVersion", "404", "NotFound"):
                raise NotFound("no such object") from exc
            if name in _READS and code in _READ_FORBIDDEN:
                raise await self._refused_read(name, str(kwargs.get("Key")), code) from exc
            log.warning("object store: %s %s failed: %s", name, kwargs.get("Key"), exc)
            raise S3Unavailable(f"object store: {code or exc}", service="s3") from exc
        except BotoCoreError as exc:
            log.warning("object store: %s %s failed: %s", name, kwargs.get("Key"), exc)
            raise S3Unavailable(f"object store: {exc}", service="s3") from exc

    async def _refused_read(self, name: str, key: str, code: str) -> NotFound | ServiceUnavailable:
        """What a read answered 403 means (see _READ_FORBIDDEN): an outage when the key is listed
        (there, but not readable now), NotFound when it is not (gone) or cannot be listed."""
        answer = "403" if code == "403" else f"403 {code}"
        listed = await self._listed(key)
        if listed:
            log.warning("object store: %s %s answered %s for an object that is there", name, key, answer)
            return ServiceUnavailable(
                f"object store: {code}: the object is there but may not be read (S3 answered {answer})",
                service="s3",
            )
        said = "gone" if listed is False else "missing or not readable"
        log.warning("object store: %s %s answered %s: %s", name, key, answer, said)
        return NotFound(f"no such object: {said} (S3 answered {answer})")

    async def _listed(self, key: str) -> bool | None:
        """Whether the bucket lists the key; None when the store will not list it for us (any
        4xx: no s3:ListBucket, a store without ListObjectsV2). A 5xx or no answer is an outage."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = await asyncio.to_thread(
                self._s3.list_objects_v2, Bucket=self.bucket, Prefix=key, MaxKeys=1
            )
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
            if 400 <= status < 500:
                return None
            raise S3Unavailable(f"object store: {exc}", service="s3") from exc
        except BotoCoreError as exc:
            raise S3Unavailable(f"object store: {exc}", service="s3") from exc
        return any(entry.get("Key") == key for entry in response.get("Contents") or ())

    async def put_bytes(
        self,
        key: str,
        data: bytes | Iterable[bytes],
        content_type: str,
        *,
        durable: bool = False,  # S3 answers a PUT once the object is stored durably
        sealed: bool = False,
    ) -> str | None:
        extra: dict[str, Any] = {}
        if sealed and self._lock_days > 0:  # only the acta and its report: evidence audio of
            # a session never finalized, skeletons and LEARN records stay deletable
            retain_until = dt.datetime.now(dt.UTC) + dt.timedelta(days=self._lock_days)
            extra = {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": retain_until}
        put = functools.partial(
            self._call,
            "put_object",
            Bucket=self.bucket,
            Key=self._key(key),
            ContentType=content_type,
            ChecksumAlgorithm="SHA256",
            **extra,
        )
        if isinstance(data, bytes | bytearray | memoryview):
            stored = await put(Body=data)
        else:
            # Pieces: spooled to a temporary file in a thread; boto3 reads it (and again on a retry).
            with await asyncio.to_thread(_spooled, data) as body:
                stored = await put(Body=body)
        return _version_of(stored)

    async def put_file(self, key: str, fileobj: BinaryIO, content_type: str) -> None:
        await self._call(
            "upload_fileobj",
            Fileobj=fileobj,
            Bucket=self.bucket,
            Key=self._key(key),
            ExtraArgs={"ContentType": content_type},
        )

    async def get_bytes(self, key: str, version: str | None = None) -> bytes:
        from botocore.exceptions import BotoCoreError

        response = await self._call("get_object", Bucket=self.bucket, Key=self._key(key), **_which(version))
        try:
            body: bytes = await asyncio.to_thread(response["Body"].read)
        except BotoCoreError as exc:  # the body cut short or timed out: an outage, as for the call
            log.warning("object store: reading %s failed: %s", key, exc)
            raise ServiceUnavailable(f"object store: {exc}", service="s3") from exc
        return body

    async def exists(self, key: str) -> bool:
        try:
            await self._call("head_object", Bucket=self.bucket, Key=self._key(key))
        except NotFound:
            return False
        return True

    async def version_readable(self, key: str, version: str) -> bool:
        """A read of that version's first byte, as a link or ``astra verify`` reads it: refused
        (403) without ``s3:GetObjectVersion``. Any other failure is not taken for a refusal."""
        from botocore.exceptions import BotoCoreError, ClientError

        def first_byte() -> None:
            answer = self._s3.get_object(
                Bucket=self.bucket, Key=self._key(key), VersionId=version, Range="bytes=0-0"
            )
            answer["Body"].close()

        try:
            await asyncio.to_thread(first_byte)
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 403:
                log.warning(
                    "object store: reading a version of %s is refused (s3:GetObjectVersion): links "
                    "and astra verify read the key's latest version, not the one sealed",
                    self._key(key),
                )
                return False
            log.warning("object store: get_object %s (version %s) failed: %s", self._key(key), version, exc)
        except BotoCoreError as exc:
            log.warning("object store: get_object %s (version %s) failed: %s", self._key(key), version, exc)
        return True

    async def latest_version(self, key: str) -> str | None:
        return _version_of(await self._call("head_object", Bucket=self.bucket, Key=self._key(key)))

    async def first_version(self, key: str) -> str | None:
        """ListObjectVersions of the key (``s3:ListBucketVersions``; refused, Forbidden: the
        versions cannot be told apart). S3 lists a key's versions newest first."""
        from botocore.exceptions import BotoCoreError, ClientError

        full = self._key(key)

        def versions() -> list[dict[str, Any]]:
            listed: list[dict[str, Any]] = []
            for page in self._s3.get_paginator("list_object_versions").paginate(
                Bucket=self.bucket, Prefix=full
            ):
                listed.extend(v for v in page.get("Versions") or () if v.get("Key") == full)
            return listed

        try:
            listed = await asyncio.to_thread(versions)
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
            if status == 403:
                raise Forbidden(
                    f"object store: listing the versions of {full} is refused (s3:ListBucketVersions)"
                ) from exc
            raise S3Unavailable(f"object store: {exc}", service="s3") from exc
        except BotoCoreError as exc:
            raise S3Unavailable(f"object store: {exc}", service="s3") from exc
        if not listed:
            return None
        # the oldest; of versions written in the same second, the one listed last
        oldest = min(enumerate(listed), key=lambda item: (item[1]["LastModified"], -item[0]))[1]
        return _version_of(oldest)

    async def download_url(self, key: str, ttl: int, version: str | None = None) -> str:
        url: str = await asyncio.to_thread(
            self._s3.generate_presigned_url,
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._key(key), **_which(version)},
            ExpiresIn=ttl,
        )
        return url

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def location(self, key: str) -> str:
        return self.uri(key)


def _which(version: str | None) -> dict[str, str]:
    """The S3 parameters that name one version of an object (none: the latest)."""
    return {"VersionId": version} if version else {}


def _version_of(answer: Mapping[str, Any]) -> str | None:
    """The version an S3 answer names; None without versioning (no id, or "null")."""
    version = answer.get("VersionId")
    return str(version) if version and version != "null" else None


def _spooled(pieces: Iterable[bytes]) -> BinaryIO:
    """``pieces`` written one after another to a temporary file, rewound: a body for boto3 of
    any size that holds no more than one piece in memory."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115  # the caller closes it (``with``)
    try:
        spool.writelines(pieces)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool


def make_object_store(settings: Settings, secret: bytes) -> ObjectStore:
    """The store ``settings`` name: S3 when ``ASTRA_S3_BUCKET`` is set, else ``<data dir>/objects``
    (links signed with ``secret``). The orchestrator, ``astra verify`` and ``astra guard`` all
    take theirs here, so a sealed acta is where each of them looks for it."""
    if settings.s3_bucket:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError

        # Bounded like every other collaborator call (botocore's own default is 60 s per read).
        config = Config(
            connect_timeout=settings.retry.timeout,
            read_timeout=settings.retry.timeout,
            # Tries in all, as ``retry.attempts`` counts them (its ``max_attempts`` counts
            # retries), in botocore's legacy mode: the standard mode's retry quota (500 units, 14
            # a retry, refilled by 1 a success) ran dry in an outage, and every call then had one try.
            retries={"mode": "legacy", "total_max_attempts": settings.retry.attempts},
        )
        try:
            client = boto3.client(
                "s3", endpoint_url=settings.s3_endpoint_url, region_name=settings.s3_region, config=config
            )
        except (ValueError, BotoCoreError) as exc:  # "Invalid endpoint: …" (no scheme), a region's format
            raise ConfigError(f"ASTRA_S3_ENDPOINT_URL / ASTRA_S3_REGION: {exc}") from exc
        return S3ObjectStore(
            client, settings.s3_bucket, settings.s3_prefix, object_lock_days=settings.s3_object_lock_days
        )
    return LocalObjectStore(settings.data_dir / "objects", secret, settings.base_url)
