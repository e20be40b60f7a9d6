"""JWT authentication and role checks.

Development and embedded mode sign HS256 tokens with a secret generated into the data dir.
Production verifies RS256/ES256 tokens against a JWKS URL (keys cached; the blocking fetch runs
off the event loop). Claims: ``tenant_id``, ``role`` and ``sub``. Tokens are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt

from .errors import AuthError, ConfigError, Forbidden, ServiceUnavailable

log = logging.getLogger("astra.auth")

ROLES = ("recorder", "stenographer", "viewer", "admin")

CAN_START = frozenset({"recorder", "admin"})
CAN_SEND = frozenset({"recorder", "admin"})
CAN_UPLOAD = frozenset({"recorder", "stenographer", "admin"})
CAN_EDIT = frozenset({"recorder", "stenographer", "admin"})
CAN_FINALIZE = frozenset({"recorder", "stenographer", "admin"})
CAN_DISCARD = frozenset({"recorder", "admin"})
"""Discard a session: an admin any open one; the recording team one that holds nothing yet."""
CAN_READ = frozenset(ROLES)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, as the token says."""

    tenant_id: str
    role: str
    sub: str
    expires_at: float | None = field(default=None, compare=False)
    """The token's ``exp`` (Unix seconds): a WebSocket connection is closed then (4401), since
    HTTP requests are judged one by one but a connection lives for hours. Not part of who it is
    (two tokens of one person compare equal)."""

    def require(self, allowed: frozenset[str], action: str) -> None:
        if (refusal := self.refusal(allowed, action)) is not None:
            raise refusal

    def refusal(self, allowed: frozenset[str], action: str) -> Forbidden | None:
        """The FORBIDDEN for ``action`` when this role is not ``allowed``, else None (a caller that
        judges an input on its number first raises it later, see Orchestrator._permitted)."""
        return None if self.role in allowed else Forbidden(f"role '{self.role}' may not {action}")


MIN_SECRET_BYTES = 32
"""The shortest secret accepted: it signs the tokens and (through a derived key) the local store's
download links."""


def load_or_create_secret(path: Path) -> bytes:
    """The HS256 secret of a data dir, created (mode 0600) on first use: written to a temporary
    file, flushed to disk and renamed, so a power cut leaves no file or a whole one. A file
    shorter than :data:`MIN_SECRET_BYTES` (empty after a crash, an empty mounted file) is refused
    with ConfigError: with it every token was refused and the local store's link key, derived from
    it, was a public constant, so anyone could sign a link to any stored acta."""
    try:
        secret = path.read_bytes()
    except FileNotFoundError:
        pass
    else:
        if len(secret) < MIN_SECRET_BYTES:
            raise ConfigError(
                f"the secret file {path} holds {len(secret)} bytes, fewer than {MIN_SECRET_BYTES}: "
                "remove it to have a new one made (tokens and links signed with it stop working), "
                "or put a longer secret there"
            )
        return secret
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_bytes(MIN_SECRET_BYTES)
    partial = path.with_name(f".{path.name}.{os.getpid()}.new")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, secret)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(partial, path)  # not over a secret another process made meanwhile: that one stands
    except FileExistsError:
        return load_or_create_secret(path)
    finally:
        partial.unlink()
    with contextlib.suppress(OSError):  # the new name, on disk too
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    return secret


def issue_token(secret: bytes, *, tenant_id: str, role: str, sub: str, ttl: int) -> str:
    """A development token signed with the data dir's secret."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    now = int(time.time())
    claims = {"tenant_id": tenant_id, "role": role, "sub": sub, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, secret, algorithm="HS256")


JWKS_ALGORITHMS = frozenset({"RS256", "ES256"})
"""Algorithms a JWKS-configured server accepts; each key verifies only its own algorithm."""
NO_AUDIENCE = "the token names an audience (aud) and ASTRA_JWT_AUDIENCE is not set"
"""Why every token of an identity provider that sets ``aud`` (most do) is refused without it."""
_TENANT_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$")
"""The form of a tenant id (a folder name and an object key part): no path, no dot first."""


class Authenticator:
    """Verifies bearer tokens and turns them into principals.

    Refused (``AuthError``, 401 / close 4401): no token; a bad signature; an algorithm other than
    HS256 (secret) or the JWKS key's own RS256/ES256 (so ``none`` and HS/RS confusion fail); an
    unknown key id; ``exp`` past (on our clock, no leeway); ``nbf``/``iat`` more than ``leeway``
    seconds in the future; a wrong or missing ``aud``/``iss`` when configured; a ``tenant_id``
    that is missing or not an id; a ``role`` not in :data:`ROLES`; a missing ``sub``. Only
    ``tenant_id``, ``role`` and ``sub`` are read: any other claim (``roles``, ``scope``, …)
    grants nothing. A JWKS that cannot be fetched is ``ServiceUnavailable`` (503 / close 4500).
    """

    def __init__(
        self,
        *,
        secret: bytes | None,
        jwks_url: str | None = None,
        audience: str | None = None,
        issuer: str | None = None,
        leeway: float = 30.0,
        jwks_cache_ttl: float = 300.0,
        jwks_timeout: float = 30.0,
    ) -> None:
        self._secret = secret
        # The key set is cached for ``jwks_cache_ttl`` (never per key id without expiry, so a key
        # the identity provider withdraws stops verifying); an unknown key id refetches at most
        # once per cooldown, so a flood of forged key ids cannot hammer the provider.
        self._jwks = (
            jwt.PyJWKClient(
                jwks_url,
                cache_keys=False,
                cache_jwk_set=True,
                lifespan=jwks_cache_ttl,
                timeout=jwks_timeout,
                cooldown_duration=min(30.0, jwks_cache_ttl),
            )
            if jwks_url
            else None
        )
        self._audience = audience
        self._issuer = issuer
        self._leeway = leeway
        if jwks_url and audience is None:
            log.warning(
                "ASTRA_JWKS_URL is set without ASTRA_JWT_AUDIENCE (astra serve refuses to start so): "
                "every token that names an audience (aud) is refused and one that names none is "
                "taken, whatever application it was made for; set it to the audience the provider "
                "gives ASTRA's tokens"
            )

    async def verify(self, token: str | None) -> Principal:
        if not token:
            raise AuthError("a bearer token is required")
        try:
            claims = await self._decode(token)
        except jwt.ExpiredSignatureError as exc:
            raise _refused("token expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise _refused("token not yet valid") from exc
        except jwt.InvalidAudienceError as exc:
            # PyJWT refuses any aud claim when no audience is expected: say which setting is missing.
            raise _refused(
                "invalid token", NO_AUDIENCE if self._audience is None else "InvalidAudienceError"
            ) from exc
        except jwt.PyJWKClientConnectionError as exc:
            log.warning("the identity provider's key set could not be fetched: %s", exc)
            raise ServiceUnavailable("the identity provider's key set is unavailable; retry") from exc
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise _refused("invalid token", type(exc).__name__) from exc
        tenant_id, role, sub = claims.get("tenant_id"), claims.get("role"), claims.get("sub")
        if not isinstance(tenant_id, str) or not _TENANT_ID.fullmatch(tenant_id):
            raise _refused("token lacks a valid tenant_id")
        if not isinstance(role, str) or role not in ROLES:
            raise _refused("token has no valid role")
        if not isinstance(sub, str) or not sub:
            raise _refused("token lacks sub")
        return Principal(tenant_id=tenant_id, role=role, sub=sub, expires_at=float(claims["exp"]))

    async def _decode(self, token: str) -> dict[str, Any]:
        options: Any = {"require": ["exp", "sub"]}
        if self._jwks is not None:
            # PyJWKClient fetches over blocking urllib: keep it off the loop.
            key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
            if key.algorithm_name not in JWKS_ALGORITHMS:
                raise jwt.InvalidAlgorithmError(f"key {key.key_id!r} is not an RS256/ES256 key")
            # Only the key's own algorithm: an ES256 token naming an RSA key id (or an HS256 one
            # "signed" with the public key) is refused before any verification is attempted.
            verification_key, algorithms = key.key, [key.algorithm_name]
        else:
            assert self._secret is not None
            verification_key, algorithms = self._secret, ["HS256"]
        claims: dict[str, Any] = jwt.decode(
            token,
            verification_key,
            algorithms=algorithms,
            audience=self._audience,
            issuer=self._issuer,
            leeway=self._leeway,
            options=options,
        )
        # The leeway is for a token minted by a clock slightly ahead of ours; expiry is ours.
        if int(claims["exp"]) <= time.time():
            raise jwt.ExpiredSignatureError("Signature has expired")
        return claims


def _refused(reason: str, detail: str = "") -> AuthError:
    """The 401 for a refused token, logged with its reason (never with the token)."""
    log.warning("token refused: %s%s", reason, f" ({detail})" if detail else "")
    return AuthError(reason)


def bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
