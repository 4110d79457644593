"""Passwords (Argon2id), signed bearer tokens and sessions (JWT, HS256), diary tokens.

Nothing here logs a secret. Diary tokens are random (256 bits) and stored only
as their SHA-256; a session cookie carries a CSRF token that every form echoes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = [
    "hash_password",
    "issue_token",
    "new_diary_token",
    "read_token",
    "same",
    "sha256",
    "verify_password",
]

_HASHER = PasswordHasher()
#: a hash of a random password, verified when the user does not exist (same timing)
_DUMMY = _HASHER.hash(secrets.token_urlsafe(16))
_ALG = "HS256"


def hash_password(password: str) -> str:
    """Argon2id hash of ``password`` (argon2-cffi defaults)."""
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``; ``None`` (no such user) costs the same time."""
    try:
        return bool(_HASHER.verify(stored or _DUMMY, password)) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def issue_token(
    key: str, subject: str, kind: str, minutes: int, **claims: Any
) -> tuple[str, dt.datetime]:
    """A signed token for ``subject`` of ``kind`` (``"access"`` or ``"session"``) and its expiry."""
    now = dt.datetime.now(dt.UTC)
    exp = now + dt.timedelta(minutes=minutes)
    body = {"sub": subject, "kind": kind, "iat": now, "exp": exp, **claims}
    return jwt.encode(body, key, algorithm=_ALG), exp


def read_token(key: str, token: str, kind: str) -> dict[str, Any] | None:
    """The claims of a valid, unexpired token of ``kind``; ``None`` otherwise."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token, key, algorithms=[_ALG], options={"require": ["exp", "sub"]}
        )
    except jwt.PyJWTError:
        return None
    return claims if claims.get("kind") == kind else None


def new_diary_token() -> str:
    """A random diary token (43 URL-safe characters, 256 bits)."""
    return secrets.token_urlsafe(32)


def sha256(text: str) -> str:
    """Hex SHA-256 of ``text`` (how diary tokens are stored)."""
    return hashlib.sha256(text.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(a.encode(), b.encode())
