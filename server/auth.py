"""JWT authentication and role checks.

Development and embedded mode sign HS256 tokens with a secret generated into the data dir.
Production verifies RS256/ES256 tokens against a JWKS URL (keys cached; the blocking fetch runs
off the event loop). Claims: ``tenant_id``, ``role`` and ``sub``. Tokens are never logged.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from .errors import AuthError, Forbidden

ROLES = ("recorder", "stenographer", "viewer", "admin")

CAN_START = frozenset({"recorder", "admin"})
CAN_SEND = frozenset({"recorder", "admin"})
CAN_UPLOAD = frozenset({"recorder", "stenographer", "admin"})
CAN_EDIT = frozenset({"recorder", "stenographer", "admin"})
CAN_FINALIZE = frozenset({"recorder", "stenographer", "admin"})
CAN_READ = frozenset(ROLES)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, as the token says."""

    tenant_id: str
    role: str
    sub: str

    def require(self, allowed: frozenset[str], action: str) -> None:
        if self.role not in allowed:
            raise Forbidden(f"role '{self.role}' may not {action}")


def load_or_create_secret(path: Path) -> bytes:
    """The HS256 secret of a data dir, created (mode 0600) on first use."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, secret)
    finally:
        os.close(fd)
    return secret


def issue_token(secret: bytes, *, tenant_id: str, role: str, sub: str, ttl: int) -> str:
    """A development token signed with the data dir's secret."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    now = int(time.time())
    claims = {"tenant_id": tenant_id, "role": role, "sub": sub, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, secret, algorithm="HS256")


class Authenticator:
    """Verifies bearer tokens and turns them into principals."""

    def __init__(
        self,
        *,
        secret: bytes | None,
        jwks_url: str | None = None,
        audience: str | None = None,
        issuer: str | None = None,
    ) -> None:
        self._secret = secret
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300) if jwks_url else None
        self._audience = audience
        self._issuer = issuer

    async def verify(self, token: str | None) -> Principal:
        if not token:
            raise AuthError("a bearer token is required")
        options: Any = {"require": ["exp", "sub"]}
        try:
            if self._jwks is not None:
                # PyJWKClient fetches over blocking urllib: keep it off the loop.
                key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
                claims = jwt.decode(
                    token,
                    key.key,
                    algorithms=["RS256", "ES256"],
                    audience=self._audience,
                    issuer=self._issuer,
                    options=options,
                )
            else:
                assert self._secret is not None
                claims = jwt.decode(
                    token,
                    self._secret,
                    algorithms=["HS256"],
                    audience=self._audience,
                    issuer=self._issuer,
                    options=options,
                )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("token expired") from exc
        except (jwt.PyJWTError, ValueError) as exc:
            raise AuthError("invalid token") from exc
        tenant_id, role, sub = claims.get("tenant_id"), claims.get("role"), claims.get("sub")
        if not isinstance(tenant_id, str) or not tenant_id:
            raise AuthError("token lacks tenant_id")
        if role not in ROLES:
            raise AuthError("token has no valid role")
        return Principal(tenant_id=tenant_id, role=str(role), sub=str(sub))


def bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
