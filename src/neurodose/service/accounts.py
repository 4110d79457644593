"""Accounts that end: list, disable, enable, remove, reset a password; tokens bound
to the account's current state.

Every bearer token and browser session carries the account's **token version**
(``tv``). Disabling, removing, a password reset and "Sign out" move the version on,
so every token issued before stops working at its next request (each request looks
the account up; nothing waits for the token to expire). A new account starts at a
random version, so a token can never match an account it was not issued for.

Account ids are never reused: "remove" keeps the row as a tombstone (no password,
inactive, renamed ``removed-<id>-<random>`` so the name is free again), because
patients, plans and the audit trail refer to it. The functions take an open session
(one transaction) and write an audit event; the caller commits.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neurodose.errors import InputError, UnknownNameError
from neurodose.service.models import Clinician, utcnow
from neurodose.service.security import hash_password

__all__ = [
    "MIN_PASSWORD",
    "check_password",
    "disable",
    "enable",
    "find_user",
    "first_version",
    "list_users",
    "remove",
    "reset_password",
    "revoke_tokens",
    "token_claims",
    "user_for_claims",
]

#: shortest password accepted (characters)
MIN_PASSWORD = 8
#: the password field's longest value (the login form's limit)
MAX_PASSWORD = 256


def check_password(password: str) -> None:
    """The password policy: 8-256 characters, not only spaces. An InputError otherwise."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD or not password.strip():
        raise InputError(
            "password", "(hidden)", f"{MIN_PASSWORD}-{MAX_PASSWORD} characters, not only spaces"
        )


def first_version() -> int:
    """A new account's token version: random, so no old token can match it."""
    return secrets.randbelow(2**31 - 1) + 1


def token_claims(user: Clinician) -> dict[str, Any]:
    """The claims every token of ``user`` carries (role, token version)."""
    return {"role": user.role, "tv": user.token_version}


def user_for_claims(s: Session, claims: Mapping[str, Any]) -> Clinician | None:
    """The account a valid token's claims name, if it is still active and the token
    carries its current token version; ``None`` otherwise."""
    try:
        uid = int(claims["sub"])
    except (KeyError, TypeError, ValueError):
        return None
    user = s.get(Clinician, uid)
    if user is None or not user.active or user.removed_at is not None:
        return None
    if claims.get("tv") != user.token_version:
        return None
    return user


def revoke_tokens(s: Session, user: Clinician, actor: str, why: str) -> None:
    """End every token and session of ``user`` now (the token version moves on)."""
    from neurodose.service.store import audit

    user.token_version = (user.token_version % (2**31 - 1)) + 1
    audit(s, actor, "user.sessions_revoked", None, f"{user.name}: {why}")


def find_user(s: Session, name: str) -> Clinician:
    """The account called ``name`` (removed ones are not found); an error with close
    matches otherwise."""
    user = s.scalar(select(Clinician).where(Clinician.name == name))
    if user is None or user.removed_at is not None:
        names = s.scalars(select(Clinician.name).where(Clinician.removed_at.is_(None))).all()
        raise UnknownNameError("user", name, names)
    return user


def list_users(s: Session, *, removed: bool = False) -> list[dict[str, Any]]:
    """The accounts, oldest first (``removed``: the tombstones too)."""
    q = select(Clinician).order_by(Clinician.id)
    if not removed:
        q = q.where(Clinician.removed_at.is_(None))
    return [
        {
            "id": u.id,
            "name": u.name,
            "role": u.role,
            "clinic": u.clinic,
            "active": u.active,
            "created_at": u.created_at.isoformat(),
            "removed_at": u.removed_at.isoformat() if u.removed_at else None,
        }
        for u in s.scalars(q)
    ]


def disable(s: Session, name: str, actor: str = "cli") -> Clinician:
    """Refuse sign-in to ``name`` and end its sessions and tokens now."""
    from neurodose.service.store import audit

    user = find_user(s, name)
    user.active = False
    revoke_tokens(s, user, actor, "disabled")
    audit(s, actor, "user.disable", None, user.name)
    return user


def enable(s: Session, name: str, actor: str = "cli") -> Clinician:
    """Allow ``name`` to sign in again (old tokens stay void)."""
    from neurodose.service.store import audit

    user = find_user(s, name)
    user.active = True
    audit(s, actor, "user.enable", None, user.name)
    return user


def remove(s: Session, name: str, actor: str = "cli") -> Clinician:
    """Remove ``name``: a tombstone keeps the id (never reused) for the records that
    name it; the name is free for a new account; every token ends now."""
    from neurodose.service.store import audit

    user = find_user(s, name)
    old = user.name
    revoke_tokens(s, user, actor, "removed")
    user.active = False
    user.removed_at = utcnow()
    user.password_hash = "!"  # never a valid Argon2 hash: no password matches
    user.name = f"removed-{user.id}-{secrets.token_hex(4)}"
    audit(s, actor, "user.remove", None, f"{old} (id {user.id}, now {user.name})")
    return user


def reset_password(s: Session, name: str, password: str, actor: str = "cli") -> Clinician:
    """Set a new password for ``name`` and end its sessions and tokens now."""
    from neurodose.service.store import audit

    check_password(password)
    user = find_user(s, name)
    user.password_hash = hash_password(password)
    revoke_tokens(s, user, actor, "password reset")
    audit(s, actor, "user.reset_password", None, user.name)
    return user
