"""The admin page: ``/admin`` (the clinic's accounts, disable and enable them; CDS Hooks
feedback counts per service and card outcome) and ``/admin/users/{name}/disable|enable``.

Admins only: without a session the browser goes to the login page, a clinician who is
not an admin gets a ``403`` page. An admin sees and changes the accounts of their own
clinic only (another clinic's account is "not found") and cannot disable their own
account. Disable and enable are :mod:`neurodose.service.accounts`' functions, the ones
``neurodose users`` calls (the admin is the audit entry's actor).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Engine, func, select

from neurodose.service import accounts
from neurodose.service.models import Clinician
from neurodose.service.pages.common import check_csrf, error_page, page, session, state

__all__ = ["feedback_by_service", "router"]

router = APIRouter(include_in_schema=False)

#: the card outcomes CDS Hooks feedback carries (columns of the counts table)
OUTCOMES = ("accepted", "overridden")


def feedback_by_service(engine: Engine) -> list[dict[str, Any]]:
    """Per CDS Hooks service: cards issued and feedback per card outcome."""
    from neurodose.service.cds.store import card_table, feedback_table

    with engine.connect() as c:
        issued = c.execute(
            select(card_table.c.service, func.count()).group_by(card_table.c.service)
        ).all()
        fb = c.execute(
            select(feedback_table.c.service, feedback_table.c.outcome, func.count()).group_by(
                feedback_table.c.service, feedback_table.c.outcome
            )
        ).all()
    out: dict[str, dict[str, Any]] = {}
    for service, n in issued:
        out[str(service)] = {"service": str(service), "issued": int(n)}
    for service, outcome, n in fb:
        out.setdefault(str(service), {"service": str(service), "issued": 0})[str(outcome)] = int(n)
    return [{**dict.fromkeys(OUTCOMES, 0), **d} for _, d in sorted(out.items())]


def _admin(request: Request) -> tuple[Clinician, str] | Response:
    user, csrf = session(request)
    if user.role != "admin":
        return error_page(request, 403, "Admins only", ["This page is for the clinic's admins."])
    return user, csrf


def _render(
    request: Request, user: Clinician, csrf: str, message: str = "", status: int = 200
) -> Response:
    st = state(request)
    with st.db.session() as s:
        users = [u for u in accounts.list_users(s) if u["clinic"] == user.clinic]
    from neurodose.service.cds.admin import feedback_store

    ctx = {"user": user, "csrf": csrf, "users": users, "outcomes": OUTCOMES}
    ctx["feedback"] = feedback_by_service(feedback_store(request, st).engine)
    return page(request, "admin.html", status, message=message, **ctx)


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request) -> Response:
    who = _admin(request)
    if isinstance(who, Response):
        return who
    return _render(request, *who)


def _set_active(request: Request, name: str, csrf: str, active: bool) -> Response:
    who = _admin(request)
    if isinstance(who, Response):
        return who
    user, token = who
    check_csrf(request, csrf, token)
    with state(request).db.session() as s:
        target = accounts.find_user(s, name)
        if target.clinic != user.clinic:
            return error_page(request, 404, "Not found", [f"no account {name!r} in your clinic"])
        if target.id == user.id:
            return _render(request, user, token, "You cannot disable your own account.", 409)
        (accounts.enable if active else accounts.disable)(s, name, user.name)
    done = "enabled" if active else "disabled: its sessions and tokens ended"
    return _render(request, user, token, f"Account {name} {done}.")


@router.post("/admin/users/{name}/disable", response_class=HTMLResponse)
def disable_user(request: Request, name: str, csrf: str = Form("")) -> Response:
    return _set_active(request, name, csrf, active=False)


@router.post("/admin/users/{name}/enable", response_class=HTMLResponse)
def enable_user(request: Request, name: str, csrf: str = Form("")) -> Response:
    return _set_active(request, name, csrf, active=True)
