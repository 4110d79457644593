"""The audit trail of a patient: ``/patients/{pid}/audit``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from neurodose.service import store
from neurodose.service.pages.common import SignedIn

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/patients/{pid}/audit", response_class=HTMLResponse)
def audit_page(v: SignedIn, pid: str) -> Response:
    with v.db() as s:
        _rec, out = v.patient(s, pid)
        trail = store.audit_trail(s, v.user, pid)
    return v.page("audit.html", p=out, trail=trail)
