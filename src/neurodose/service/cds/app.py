"""Mount the CDS Hooks services on an app, or build a standalone app.

:func:`mount_cds` adds the routes and CORS for the configured EHR origins to an
existing FastAPI app (the clinic's); :func:`create_cds_app` builds an app with only
the CDS Hooks services; :func:`app_from_env` is the uvicorn factory
(``uvicorn --factory neurodose.service.cds.app:app_from_env``) configured from the
environment (``NEURODOSE_PUBLIC_URL``, ``NEURODOSE_CDS_CLIENTS``,
``NEURODOSE_DATABASE_URL``, ``NEURODOSE_CDS_DEV_INSECURE``).
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import Engine, create_engine, event

from neurodose import __version__
from neurodose.service.cds.config import CdsConfig
from neurodose.service.cds.routes import cds_router
from neurodose.service.cds.store import CdsStore

__all__ = ["app_from_env", "create_cds_app", "mount_cds", "mount_cds_if_configured"]


def _engine(url: str) -> Engine:
    """SQLite in WAL mode with synchronous=NORMAL: the standalone app stores only the replay
    cache, issued cards and feedback (a power cut may lose the last commits, never corrupt)."""
    if url.startswith("sqlite"):
        eng = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(eng, "connect")
        def _pragmas(conn: object, _rec: object) -> None:
            cur = conn.cursor()  # type: ignore[attr-defined]
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return eng
    return create_engine(url, pool_pre_ping=True)


def mount_cds(app: FastAPI, config: CdsConfig, engine: Engine) -> CdsStore:
    """Add the CDS Hooks routes (and CORS for the configured origins) to ``app``."""
    from neurodose.service.cds.demo import demo_router

    store = CdsStore(engine)
    app.include_router(cds_router(config, store))
    app.include_router(demo_router(config))
    if config.origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=config.origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.state.cds_store = store
    return store


def mount_cds_if_configured(
    app: FastAPI, engine: Engine, public_url: str | None = None
) -> CdsStore | None:
    """Mount the CDS Hooks services on the clinic app when they are configured.

    Configured means ``NEURODOSE_CDS_CLIENTS`` names a clients file, or
    ``NEURODOSE_CDS_DEV_INSECURE=1``; the public URL (``aud``) comes from ``public_url``
    or ``NEURODOSE_PUBLIC_URL`` and is then required. Otherwise nothing is mounted.
    """
    if not (
        os.environ.get("NEURODOSE_CDS_CLIENTS")
        or os.environ.get("NEURODOSE_CDS_DEV_INSECURE") == "1"
    ):
        return None
    return mount_cds(app, CdsConfig.from_env(public_url=public_url), engine)


def create_cds_app(config: CdsConfig, database_url: str) -> FastAPI:
    """A FastAPI app with only the CDS Hooks services."""
    app = FastAPI(
        title="neurodose CDS Hooks",
        version=__version__,
        description="CDS Hooks services for neuropathic-pain pharmacotherapy. Decision support, "
        "not a substitute for clinical judgement.",
    )
    mount_cds(app, config, _engine(database_url))
    return app


def app_from_env() -> FastAPI:
    """The standalone app configured from the environment (uvicorn factory)."""
    url = os.environ.get("NEURODOSE_DATABASE_URL", "sqlite:///neurodose-cds.sqlite3")
    return create_cds_app(CdsConfig.from_env(), url)
