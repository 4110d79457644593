"""Sign-in that cannot starve the service and cannot be brute-forced.

Both doors (``POST /api/v1/token`` and the ``/login`` form) go through
:meth:`LoginGate.attempt`:

1. **Lockout first, cheaply.** A client address or an account name (as typed) that
   is locked is refused before any password is checked: ``429`` with the seconds
   left (``Retry-After``).
2. **Argon2 in a bounded pool.** The verification (tens of milliseconds of CPU and
   64 MiB) runs in a pool of ``login_workers`` threads of its own, awaited by the
   event loop, so a flood of sign-ins never holds the threads that serve every other
   route; with more than four times that many waiting, a sign-in is refused at once
   (``503``, ``Retry-After: 1``) instead of queueing without bound.
3. **Counting failures where every worker sees them.** Each failure adds one to its
   address's and its name's count in the ``login_throttle`` table (a fixed window of
   ``login_window_s``); the count reaching ``login_address_failures`` or
   ``login_account_failures`` locks that address or name for ``login_lockout_s``.
   A success clears the name's count. Names are counted by their SHA-256, never kept.
4. **Every failure audited** (``login.failed`` / ``login.browser.failed``, the address
   and the reason in the detail; a lockout as ``login.locked``). The actor is the
   account's name when such an account exists; otherwise ``?`` and the first 12 hex
   digits of the typed name's SHA-256 (a name that is no account may be a password
   typed into the wrong field). Never the password.

Counts may let a few extra attempts through when several arrive at the same moment
(each is checked before its verification, counted after); the limits are a brake on
guessing, not an exact quota.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from neurodose.service import accounts, store
from neurodose.service.models import Clinician, LoginThrottle
from neurodose.service.security import sha256, verify_password

__all__ = ["LoginGate", "Outcome", "counted", "name_actor"]

#: sign-ins allowed to wait for the Argon2 pool, per pool thread
_QUEUE_PER_WORKER = 4


@dataclass(frozen=True)
class Outcome:
    """The result of a sign-in attempt.

    ``status`` is 200 (signed in: ``user_id``, ``name``, ``claims``), 401 (wrong
    credentials), 429 (locked: ``retry_after`` s) or 503 (too many waiting:
    ``retry_after`` s).
    """

    status: int
    retry_after: int = 0
    user_id: int | None = None
    name: str = ""
    claims: dict[str, Any] = field(default_factory=dict)


def name_actor(name: str) -> str:
    """How the audit names a typed name that is no account.

    >>> name_actor("mallory")
    '?c0a497761b17'
    """
    return "?" + sha256(name)[:12]


def _keys(address: str, name: str) -> tuple[str, str]:
    return "a:" + address[:70], "u:" + sha256(name)


def _locks(s: Session, keys: Sequence[str], now: float) -> dict[str, float]:
    """The lockouts in force among ``keys``: key -> locked until (epoch seconds)."""
    rows = s.execute(
        select(LoginThrottle.key, LoginThrottle.locked_until).where(
            LoginThrottle.key.in_(keys), LoginThrottle.locked_until > now
        )
    ).all()
    return {str(k): float(u) for k, u in rows}


def _seconds_left(untils: Sequence[float], now: float) -> int:
    """Seconds until every lockout in ``untils`` is over (0: none is in force)."""
    until = max(untils, default=0.0)
    return max(1, math.ceil(until - now)) if until > now else 0


def _insert_missing(s: Session, key: str, now: float) -> None:
    row = {"key": key, "failures": 0, "window_start": now, "locked_until": 0.0}
    if s.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        s.execute(pg_insert(LoginThrottle).values(**row).on_conflict_do_nothing())
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        s.execute(sqlite_insert(LoginThrottle).values(**row).on_conflict_do_nothing())


def counted(s: Session, key: str, now: float, window_s: float) -> LoginThrottle:
    """The ``login_throttle`` row of ``key`` with one more event counted in its fixed
    window of ``window_s`` (a new window when the last one is over), locked for update
    so that every worker counts on the same row. Also what the SMART launch's rate
    limit counts with (keys ``s:<address>``)."""
    _insert_missing(s, key, now)
    row = s.execute(
        select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()
    ).scalar_one()
    if now - row.window_start >= window_s:
        row.failures, row.window_start = 0, now
    row.failures += 1
    return row


#: lockouts one process remembers before it forgets those that are over
_MAX_REMEMBERED = 10_000


class LoginGate:
    """The sign-in checks of one process: the limits (shared through the database)
    and its Argon2 pool.

    Parameters
    ----------
    settings : neurodose.service.settings.Settings
        The ``login_*`` limits.
    db : neurodose.service.db.Database
        Where the counts and the audit live.
    """

    def __init__(self, settings: Any, db: Any) -> None:
        self.settings = settings
        self.db = db
        self.pool = ThreadPoolExecutor(settings.login_workers, thread_name_prefix="argon2")
        self.capacity = settings.login_workers * (1 + _QUEUE_PER_WORKER)
        self.in_flight = 0  # touched on the event loop only
        #: lockouts this process has seen in the database (key -> until): a locked
        #: address or name is refused again without a database round trip until its
        #: lockout ends (the database stays the one place that decides a lockout)
        self.locks: dict[str, float] = {}

    def close(self) -> None:
        """Stop the pool's threads."""
        self.pool.shutdown(wait=False, cancel_futures=True)

    async def attempt(self, name: str, password: str, address: str, action: str) -> Outcome:
        """Check ``name`` and ``password`` from ``address``; ``action`` names the audit
        event of a success (``login`` or ``login.browser``; a failure adds ``.failed``)."""
        keys = _keys(address, name)
        retry = _seconds_left([self.locks.get(k, 0.0) for k in keys], time.time())
        if retry:  # known locked here: no database work for a flood
            return Outcome(429, retry_after=retry)
        if self.in_flight >= self.capacity:  # before any database work, too
            return Outcome(503, retry_after=1)
        self.in_flight += 1
        try:
            retry, found = await run_in_threadpool(self._before, keys, name)
            if retry:
                return Outcome(429, retry_after=retry)
            loop = asyncio.get_running_loop()
            stored = found["hash"] if found else None
            ok = await loop.run_in_executor(self.pool, verify_password, stored, password)
        finally:
            self.in_flight -= 1
        if found and ok and found["active"]:
            await run_in_threadpool(self._success, keys, found["name"], action)
            return Outcome(200, user_id=found["id"], name=found["name"], claims=found["claims"])
        reason = "no such account" if not found else "wrong password" if not ok else "disabled"
        actor = found["name"] if found else name_actor(name)
        await run_in_threadpool(self._failure, keys, actor, address, f"{action}.failed", reason)
        return Outcome(401)

    def _before(self, keys: Sequence[str], name: str) -> tuple[int, dict[str, Any] | None]:
        now = time.time()
        with self.db.session() as s:
            locks = _locks(s, keys, now)
            if locks:
                self._remember(locks, now)
                return _seconds_left(list(locks.values()), now), None
            user = s.scalar(select(Clinician).where(Clinician.name == name))
            if user is None:
                return 0, None
            return 0, {
                "id": user.id,
                "name": user.name,
                "hash": user.password_hash,
                "active": user.active and user.removed_at is None,
                "claims": accounts.token_claims(user),
            }

    def _remember(self, locks: dict[str, float], now: float) -> None:
        if len(self.locks) > _MAX_REMEMBERED:  # forget the lockouts that are over
            self.locks = {k: u for k, u in self.locks.items() if u > now}
        self.locks.update(locks)

    def _success(self, keys: Sequence[str], name: str, action: str) -> None:
        with self.db.session() as s:
            s.execute(delete(LoginThrottle).where(LoginThrottle.key == keys[1]))
            store.audit(s, name, action, None)

    def _failure(
        self, keys: Sequence[str], actor: str, address: str, action: str, reason: str
    ) -> None:
        st = self.settings
        now = time.time()
        limits = (st.login_address_failures, st.login_account_failures)
        locked: dict[str, float] = {}
        with self.db.session() as s:
            store.audit(s, actor, action, None, f"from {address}: {reason}")
            for key, limit, what in zip(keys, limits, ("address " + address, "name"), strict=True):
                row = counted(s, key, now, st.login_window_s)
                if row.failures >= limit:
                    row.failures, row.window_start = 0, now
                    row.locked_until = now + st.login_lockout_s
                    locked[key] = row.locked_until
                    store.audit(
                        s,
                        actor,
                        "login.locked",
                        None,
                        f"{what} locked for {st.login_lockout_s} s after {limit} failed sign-ins",
                    )
            # rows whose window and lockout are both over say nothing any more
            s.execute(
                delete(LoginThrottle).where(
                    LoginThrottle.window_start < now - st.login_window_s,
                    LoginThrottle.locked_until < now,
                )
            )
        if locked:  # committed: remember it here too
            self._remember(locked, now)
