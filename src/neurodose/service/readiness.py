"""Readiness (``GET /ready``) and the start-up warm-up of a service process.

``/health`` says the process answers (liveness). ``/ready`` says it can do its work:
the database answers, its schema is at the newest migration, and the knowledge base is
loaded (the warm-up finished). A load balancer sends requests to a process only while
``/ready`` is 200; 503 names each check that failed. Public, like ``/health``: it shows
no patient data, only the checks' names and states.

The warm-up (:func:`warm_up`, run by the app's lifespan before the server accepts
requests) does what the first assessment of a process would otherwise do inside a
request (about 0.2 s of CPU): imports, the knowledge base and its indexes, one assessment of a
fixed profile (screening and the options' titration plans), and the FHIR model classes
the services validate with. The PK engine's numba kernels (TDM, trial jobs) are compiled
into their on-disk cache by ``serve`` before any worker starts when
``NEURODOSE_WARM_KERNELS=1`` (``app._warm_kernels``).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.engine import Engine

__all__ = ["Ready", "WarmUp", "router", "warm_up"]

log = logging.getLogger(__name__)

#: a profile that reaches screening, the options' plans and the PK functions
_PROFILE: dict[str, Any] = {
    "age": 60,
    "sex": "female",
    "weight_kg": 70,
    "conditions": ["diabetic_neuropathy"],
    "medications": [{"name": "tramadol", "dose_mg": 50, "every_h": 8}],
}
#: the FHIR types the CDS services and the FHIR door read and write
_FHIR_TYPES = (
    "Patient",
    "MedicationRequest",
    "MedicationStatement",
    "Medication",
    "Condition",
    "Observation",
    "AllergyIntolerance",
    "Bundle",
    "OperationOutcome",
    "DetectedIssue",
    "CarePlan",
)


@dataclass
class WarmUp:
    """The warm-up's outcome: ``done``, its CPU seconds, and the error that stopped it."""

    done: bool = False
    cpu_s: float = 0.0
    error: str | None = None
    knowledge: str | None = None
    steps: dict[str, float] = field(default_factory=dict)


def warm_up() -> WarmUp:
    """Load what the first request would: never raises (the error is kept, and
    ``/ready`` reports it)."""
    from neurodose.fhir.validate import resource_class
    from neurodose.service import library
    from neurodose.service.store_cache import knowledge_version

    out = WarmUp()
    t0 = time.process_time()
    steps = (
        ("knowledge", knowledge_version),
        ("assessment", lambda: library.assessment(_PROFILE, dt.date.today())),
        ("fhir", lambda: [resource_class(t) for t in _FHIR_TYPES]),
    )
    try:
        for name, step in steps:
            s0 = time.process_time()
            step()
            out.steps[name] = round(time.process_time() - s0, 4)
        out.knowledge = knowledge_version()
        out.done = True
    except Exception as exc:  # a broken knowledge base: not ready, and say why
        out.error = f"{type(exc).__name__}: {exc}"
        log.exception("warm-up failed")
    out.cpu_s = round(time.process_time() - t0, 4)
    return out


class Ready(BaseModel):
    """``GET /ready``: each check ``ok`` or what failed."""

    status: Literal["ready", "not ready"]
    database: str
    migrations: str
    knowledge: str


@functools.cache
def _head() -> tuple[str, ...]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from neurodose.service.db import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return tuple(sorted(ScriptDirectory.from_config(cfg).get_heads()))


def _db_checks(engine: Engine) -> tuple[str, str]:
    """(database, migrations): ``ok`` or what is wrong (no exception text with data)."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            try:
                rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
            except Exception:  # no migration table: an empty database
                return "ok", "no schema"
    except Exception as exc:
        log.warning("readiness: database check failed: %s", exc)
        return f"unreachable ({type(exc).__name__})", "unknown"
    at = tuple(sorted(r[0] for r in rows))
    if at != _head():
        return "ok", f"at {', '.join(at) or 'none'}, newest {', '.join(_head())}"
    return "ok", "ok"


router = APIRouter(tags=["service"])


@router.get(
    "/ready",
    response_model=Ready,
    responses={503: {"model": Ready, "description": "a check failed (named)"}},
)
def ready(request: Request) -> Any:
    """Readiness (no auth, no patient data): database reachable, schema at the newest
    migration, knowledge base loaded. 200 when all hold, else 503 naming the failed ones."""
    clinic = request.app.state.clinic
    database, migrations = _db_checks(clinic.db.engine)
    warm: WarmUp | None = getattr(request.app.state, "warm", None)
    if warm is None:
        knowledge = "loading"
    elif warm.done:
        knowledge = "ok"
    else:
        knowledge = f"failed ({warm.error})"
    ok = database == migrations == knowledge == "ok"
    body = Ready(
        status="ready" if ok else "not ready",
        database=database,
        migrations=migrations,
        knowledge=knowledge,
    )
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
