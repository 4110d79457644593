"""Admin view of CDS Hooks feedback: ``GET /api/v1/cds/feedback`` (admin bearer token).

Per rule: cards issued, accepted, overridden (most overridden first), and the latest
feedback items (card uuid, outcome, override reason, time). A clinician who is not an
admin gets a bare ``403``; no token a bare ``401``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from neurodose.service.api import State, User
from neurodose.service.cds.store import CdsStore
from neurodose.service.problems import ERROR_RESPONSES

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["cds-hooks"])


def feedback_store(request: Request, st: Any) -> CdsStore:
    """The app's CDS store (the one the services write), or one on the clinic database."""
    store = getattr(request.app.state, "cds_store", None)
    if store is None:
        store = CdsStore(st.db.engine)
        request.app.state.cds_store = store
    return store


@router.get(
    "/cds/feedback",
    responses={**ERROR_RESPONSES, 403: {"description": "the clinician is not an admin"}},
)
def cds_feedback(request: Request, st: State, user: User) -> Response:
    """Feedback counts per rule and the latest items (admins only)."""
    if user.role != "admin":
        return Response(status_code=403)
    store = feedback_store(request, st)
    return JSONResponse({"rules": store.feedback_counts(), "recent": store.recent_feedback(50)})
