"""Service configuration from arguments and environment variables.

Environment (all optional):

``NEURODOSE_DATABASE_URL``
    SQLAlchemy URL, e.g. ``postgresql+psycopg://user@host/neurodose``
    (default: SQLite file ``neurodose.sqlite3`` in the data folder).
``NEURODOSE_DATA_DIR``
    Data folder for the SQLite file and the generated signing key (default ``./neurodose-data``;
    created owner-only, ``0700``; the SQLite file is ``0600``).
``NEURODOSE_SECRET_KEY``
    Key that signs access tokens and session cookies (default: a random key kept
    in ``DATA_DIR/secret.key``; set it to the same value on every server process).
``NEURODOSE_TOKEN_MINUTES``
    Lifetime of API access tokens and browser sessions, minutes (default 30).
``NEURODOSE_DIARY_LINK_DAYS``
    Lifetime of a patient's diary link, days (default 120).
``NEURODOSE_PUBLIC_URL``
    Base URL the clinic is reached at, used in diary links (default: from the request).
``NEURODOSE_SECURE_COOKIES``
    ``1`` (default) marks the session cookie ``Secure``; ``0`` for plain-HTTP local use.
``NEURODOSE_TRIAL_MAX_PATIENTS``
    Largest virtual trial (patients in all arms) a ``POST /api/v1/trials`` job may run
    (default 200000).
``NEURODOSE_LOGIN_ACCOUNT_FAILURES``
    Failed sign-ins of one account name within the window that lock it (default 10).
``NEURODOSE_LOGIN_ADDRESS_FAILURES``
    Failed sign-ins from one client address within the window that lock it (default 50).
``NEURODOSE_LOGIN_WINDOW_SECONDS``
    The window failures are counted in, seconds (default 900).
``NEURODOSE_LOGIN_LOCKOUT_SECONDS``
    How long a locked name or address is refused, seconds (default 900).
``NEURODOSE_LOGIN_WORKERS``
    Argon2 verifications run at once per process (default 2); more waiting than four
    times this are refused with ``503`` and ``Retry-After``.
``NEURODOSE_SMART_ISSUERS``
    The SMART App Launch registration file: the EHR FHIR base URLs this clinic may be
    launched from and its ``client_id`` at each (``service/smart.py``; default none:
    every launch is refused).
``NEURODOSE_SMART_LAUNCH_SECONDS``
    How long a SMART launch may take from its start to the callback, seconds (default 600).
``NEURODOSE_SMART_RATE_LIMIT``, ``NEURODOSE_SMART_RATE_WINDOW_SECONDS``
    SMART launches and callbacks one client address may make per window (default 120
    per 60 s; counted in the database, so across workers); more are answered ``429``
    with ``Retry-After``. Behind a NAT every clinician of a site shares one address.
``NEURODOSE_SMART_KEYS_SECONDS``
    How long the EHR's id_token signing keys (its JWK Set) are kept before they are read
    again, seconds (default 3600; a token with an unknown ``kid`` reads them at once).
``NEURODOSE_DB_POOL``
    PostgreSQL connections per server process (default 8, and as many again at peaks);
    N workers open at most ``2 N`` times this (docs/deployment.md).
``NEURODOSE_DASK_SCHEDULER``
    Address of a Dask scheduler (``tcp://host:8786``) that runs trial jobs (default:
    none, trial jobs run in the server process).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from neurodose.errors import InputError
from neurodose.limits import MAX_TRIAL_PATIENTS

__all__ = ["Settings"]


def _int_env(name: str, default: int, lo: int, hi: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        v = int(raw)
    except ValueError:
        raise InputError(name, raw, f"a whole number {lo}-{hi}") from None
    if not lo <= v <= hi:
        raise InputError(name, raw, f"a whole number {lo}-{hi}")
    return v


#: the SMART App Launch settings: field -> (variable, default, lowest, highest)
_SMART_INTS = {
    "smart_launch_s": ("NEURODOSE_SMART_LAUNCH_SECONDS", 600, 1, 3600),
    "smart_keys_s": ("NEURODOSE_SMART_KEYS_SECONDS", 3600, 0, 86400),
    "smart_rate_limit": ("NEURODOSE_SMART_RATE_LIMIT", 120, 1, 100000),
    "smart_rate_window_s": ("NEURODOSE_SMART_RATE_WINDOW_SECONDS", 60, 1, 86400),
}


def _smart_env() -> dict[str, Any]:
    """The ``smart_*`` settings from the environment (``NEURODOSE_SMART_*``)."""
    out: dict[str, Any] = {k: _int_env(*v) for k, v in _SMART_INTS.items()}
    out["smart_issuers"] = os.environ.get("NEURODOSE_SMART_ISSUERS") or None
    return out


@dataclass(frozen=True)
class Settings:
    """Everything the app needs; build it with :meth:`from_env`.

    Attributes
    ----------
    database_url : str
        SQLAlchemy URL (``sqlite:///...`` or ``postgresql+psycopg://...``).
    data_dir : pathlib.Path
        Data folder (SQLite file, generated key).
    secret_key : str
        Signing key of tokens and cookies.
    token_minutes : int
        Lifetime of access tokens and sessions, min.
    diary_link_days : int
        Lifetime of diary links, d.
    public_url : str or None
        Base URL used in diary links (``None``: from the request).
    secure_cookies : bool
        Whether the session cookie is ``Secure`` (HTTPS only).
    trial_max_patients : int
        Largest ``n_per_arm`` x arms a ``POST /trials`` job may run.
    login_account_failures, login_address_failures : int
        Failed sign-ins of one account name / one client address within
        ``login_window_s`` that lock it for ``login_lockout_s``.
    login_window_s, login_lockout_s : int
        The counting window and the lockout, s.
    login_workers : int
        Argon2 verifications at once per process.
    smart_issuers : str or None
        Path of the SMART registration file (``None``: no SMART launch).
    smart_launch_s : int
        Lifetime of a SMART launch's state and PKCE verifier, s.
    smart_keys_s : int
        How long an EHR's signing keys are kept, s.
    smart_rate_limit, smart_rate_window_s : int
        SMART launches and callbacks per client address per window (s).

    Examples
    --------
    >>> s = Settings.from_env(data_dir="/tmp/nd-doc", secret_key="k" * 32)
    >>> s.database_url.startswith("sqlite:///") and s.dialect
    'sqlite'
    """

    database_url: str
    data_dir: Path
    secret_key: str
    token_minutes: int = 30
    diary_link_days: int = 120
    public_url: str | None = None
    secure_cookies: bool = True
    trial_max_patients: int = MAX_TRIAL_PATIENTS
    login_account_failures: int = 10
    login_address_failures: int = 50
    login_window_s: int = 900
    login_lockout_s: int = 900
    login_workers: int = 2
    smart_issuers: str | None = None
    smart_launch_s: int = 600
    smart_keys_s: int = 3600
    smart_rate_limit: int = 120
    smart_rate_window_s: int = 60
    dask_scheduler: str | None = None
    db_pool: int = 8

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return "postgresql" if self.database_url.startswith("postgresql") else "sqlite"

    @classmethod
    def from_env(
        cls,
        database_url: str | None = None,
        data_dir: str | Path | None = None,
        secret_key: str | None = None,
        **overrides: object,
    ) -> Settings:
        """Settings from arguments, else the environment, else the defaults.

        A missing secret key is generated once and kept in ``DATA_DIR/secret.key``
        (mode 600), so restarts keep sessions and tokens valid.
        """
        folder = Path(data_dir or os.environ.get("NEURODOSE_DATA_DIR") or "neurodose-data")
        url = database_url or os.environ.get("NEURODOSE_DATABASE_URL") or ""
        if url and not url.startswith(("sqlite", "postgresql")):
            raise InputError("database", url, "a URL starting sqlite:/// or postgresql+psycopg://")
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        key = secret_key or os.environ.get("NEURODOSE_SECRET_KEY") or ""
        if not url or not key:
            from neurodose.service.db import private_folder

            private_folder(folder)
        if not url:
            url = f"sqlite:///{(folder / 'neurodose.sqlite3').resolve()}"
        if not key:
            kf = folder / "secret.key"
            if not kf.exists():
                fd = os.open(kf, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as fh:
                    fh.write(secrets.token_urlsafe(48))
            key = kf.read_text().strip()
        if len(key) < 32:
            raise InputError("NEURODOSE_SECRET_KEY", "(hidden)", "at least 32 characters")
        s = cls(
            database_url=url,
            data_dir=folder,
            secret_key=key,
            token_minutes=_int_env("NEURODOSE_TOKEN_MINUTES", 30, 1, 24 * 60),
            diary_link_days=_int_env("NEURODOSE_DIARY_LINK_DAYS", 120, 1, 730),
            public_url=os.environ.get("NEURODOSE_PUBLIC_URL") or None,
            secure_cookies=os.environ.get("NEURODOSE_SECURE_COOKIES", "1") != "0",
            trial_max_patients=_int_env(
                "NEURODOSE_TRIAL_MAX_PATIENTS", MAX_TRIAL_PATIENTS, 1, MAX_TRIAL_PATIENTS
            ),
            login_account_failures=_int_env("NEURODOSE_LOGIN_ACCOUNT_FAILURES", 10, 1, 1000),
            login_address_failures=_int_env("NEURODOSE_LOGIN_ADDRESS_FAILURES", 50, 1, 100000),
            login_window_s=_int_env("NEURODOSE_LOGIN_WINDOW_SECONDS", 900, 1, 86400),
            login_lockout_s=_int_env("NEURODOSE_LOGIN_LOCKOUT_SECONDS", 900, 1, 86400),
            login_workers=_int_env("NEURODOSE_LOGIN_WORKERS", 2, 1, 64),
            **_smart_env(),
            db_pool=_int_env("NEURODOSE_DB_POOL", 8, 1, 200),
            dask_scheduler=os.environ.get("NEURODOSE_DASK_SCHEDULER") or None,
        )
        return replace(s, **overrides)  # type: ignore[arg-type]
