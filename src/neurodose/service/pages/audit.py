"""The audit trail of a patient: ``/patients/{pid}/audit``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from neurodose.service import store
from neurodose.service.pages.common import page, session, state

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/patients/{pid}/audit", response_class=HTMLResponse)
def audit_page(request: Request, pid: str) -> Response:
    user, csrf = session(request)
    with state(request).db.session() as s:
        rec = store.get_patient(s, user, pid)
        out = store.patient_out(s, rec)
        trail = store.audit_trail(s, user, pid)
    return page(request, "audit.html", user=user, csrf=csrf, p=out, trail=trail)
