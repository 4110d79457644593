"""The FastAPI application: :func:`create_app` (used by ``neurodose serve`` and tests).

Other parts mount their routers on the app it returns (``app.include_router``);
the shared state is ``app.state.clinic`` (:class:`neurodose.service.api.ClinicState`:
settings, database). Routes and their auth rules: ``docs/clinic.md``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from neurodose import __version__
from neurodose.service import problems
from neurodose.service.api import ClinicState
from neurodose.service.api import router as api_router
from neurodose.service.db import Database, migrate
from neurodose.service.headers import SecurityHeaders
from neurodose.service.readiness import router as ready_router
from neurodose.service.readiness import warm_up
from neurodose.service.schemas import Health
from neurodose.service.settings import Settings

__all__ = ["RedactTokens", "create_app", "serve", "worker_app"]

_TOKEN_PATH = re.compile(r"(/d/|/api/v1/diary/)[^/\s?\"]+")
# single-use or secret values that arrive as query parameters (SMART launch and callback)
_TOKEN_QUERY = re.compile(r"([?&](?:code|state|launch|token|access_token|id_token)=)[^&\s\"]+")


class RedactTokens(logging.Filter):
    """Replaces diary tokens and secret query values in logged request paths by ``***``.

    >>> RedactTokens().redact('"GET /api/v1/diary/abc123/entries HTTP/1.1" 200')
    '"GET /api/v1/diary/***/entries HTTP/1.1" 200'
    >>> RedactTokens().redact("GET /smart/callback?code=s3cr3t&state=xyz HTTP/1.1")
    'GET /smart/callback?code=***&state=*** HTTP/1.1'
    """

    def redact(self, text: str) -> str:
        """``text`` with diary tokens and SMART ``code``/``state``/``launch`` values replaced."""
        return _TOKEN_QUERY.sub(r"\1***", _TOKEN_PATH.sub(r"\1***", text))

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's arguments (uvicorn logs the path as an argument)."""
        if isinstance(record.args, tuple):
            record.args = tuple(self.redact(a) if isinstance(a, str) else a for a in record.args)
        record.msg = self.redact(str(record.msg))
        return True


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactTokens) for f in access.filters):
        access.addFilter(RedactTokens())
    # before the first request: knowledge base, indexes, FHIR models (``GET /ready``)
    app.state.warm = warm_up()
    yield
    app.state.clinic.login.close()
    app.state.clinic.db.dispose()


def create_app(settings: Settings | None = None, *, migrate_db: bool = True) -> FastAPI:
    """Build the clinic app on ``settings`` (default :meth:`Settings.from_env`).

    Parameters
    ----------
    settings : Settings, optional
        Database URL, data folder, signing key, lifetimes.
    migrate_db : bool
        Bring the schema to the newest revision first (creates it on a new database).
    """
    settings = settings or Settings.from_env()
    db = Database(settings.database_url, settings.db_pool)
    if migrate_db:
        migrate(db.engine)
    app = FastAPI(
        title="neurodose clinic",
        version=__version__,
        description="Decision support for neuropathic-pain pharmacotherapy, not a substitute "
        "for clinical judgement. Every patient route needs a clinician's bearer token "
        "(POST /api/v1/token); /api/v1/diary/{token}/... takes a patient's diary token.",
        lifespan=_lifespan,
    )
    app.state.clinic = ClinicState(settings, db)
    app.add_middleware(SecurityHeaders)
    problems.install(app)

    @app.get("/health", response_model=Health, tags=["service"])
    def health() -> dict[str, Any]:
        """Liveness and the database kind (no auth)."""
        return {"status": "ok", "database": db.dialect, "version": __version__}

    app.include_router(ready_router)  # GET /ready (service/readiness.py)
    app.include_router(api_router)
    from neurodose.service.cds.admin import router as cds_admin_router
    from neurodose.service.cds.app import mount_cds_if_configured
    from neurodose.service.fhir_api import router as fhir_router

    app.include_router(fhir_router)
    app.include_router(cds_admin_router)
    # CDS Hooks services when configured (NEURODOSE_CDS_CLIENTS or --dev-insecure)
    mount_cds_if_configured(app, db.engine, settings.public_url)
    from neurodose.service.ui import mount_ui

    mount_ui(app)
    from neurodose.service.smart_pages import router as smart_router

    app.include_router(smart_router)  # SMART App Launch (service/smart.py)
    return app


def worker_app() -> FastAPI:
    """The app of one worker process of ``serve --workers N`` (uvicorn's factory): settings
    from the environment, no migration (:func:`serve` migrated once before the workers).
    Workers share nothing in memory: sessions, diary links, sign-in limits, the CDS replay
    cache and trial jobs are in the database; caches are per process and only save work."""
    return create_app(Settings.from_env(), migrate_db=False)


def _warm_kernels() -> None:
    """With ``NEURODOSE_WARM_KERNELS=1``: compile the PK engine's numba kernels into the
    on-disk cache (tens of seconds the first time, about 1 s of CPU from the cache) before
    any worker serves, so that TDM and trial jobs load them instead of compiling them in
    a request. Off by default: ``make venv`` (``neurodose warmup``) fills the cache at
    install, and most starts (tests, the clinic without TDM) do not need the kernels."""
    import os

    if os.environ.get("NEURODOSE_WARM_KERNELS", "") != "1":
        return
    from neurodose.pk import kernels

    kernels.warm_up()


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Migrate the database once, then run the clinic on ``host:port`` with ``workers``
    processes (uvicorn; more than one needs PostgreSQL: SQLite's one writer would make
    them queue on the file). Trial jobs run on ``settings.dask_scheduler`` when set."""
    import os

    import uvicorn

    from neurodose.errors import InputError

    if workers > 1 and settings.dialect == "sqlite":
        raise InputError("workers", workers, "1 with SQLite (use PostgreSQL for more)")
    db = Database(settings.database_url)
    migrate(db.engine)
    db.dispose()
    _warm_kernels()
    if workers == 1:
        uvicorn.run(create_app(settings, migrate_db=False), host=host, port=port, log_level="info")
        return
    # the worker processes read their settings from the environment
    env = {
        "NEURODOSE_DATABASE_URL": settings.database_url,
        "NEURODOSE_SECRET_KEY": settings.secret_key,
        "NEURODOSE_DB_POOL": str(settings.db_pool),
        "NEURODOSE_DASK_SCHEDULER": settings.dask_scheduler or "",
    }
    os.environ.update(env)
    uvicorn.run(
        "neurodose.service.app:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )
