"""Signing in and out: ``/``, ``/login`` and ``/logout``."""

from __future__ import annotations

import re
import secrets

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from neurodose.service import accounts
from neurodose.service.api import client_address
from neurodose.service.models import Clinician
from neurodose.service.pages.common import COOKIE, PRE, check_csrf, page, session, state
from neurodose.service.security import issue_token, same

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_LOCAL_PATH = re.compile(r"/[A-Za-z0-9/_.-]{0,200}")


def _local_path(text: str) -> str:
    """``text`` if it is a plain path on this site (where to go after signing in),
    else ``/patients``: no other site, no query string carried into the page.

    >>> _local_path("/patients/p1"), _local_path("//evil.example"), _local_path("/x?y=1")
    ('/patients/p1', '/patients', '/patients')
    """
    ok = _LOCAL_PATH.fullmatch(text) and not text.startswith("//")
    return text if ok else "/patients"


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/patients", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/patients", expired: int = 0) -> Response:
    pre = secrets.token_urlsafe(24)
    next = _local_path(next)
    resp = page(request, "login.html", pre=pre, next=next, expired=expired, error=None)
    resp.set_cookie(
        PRE,
        pre,
        httponly=True,
        samesite="strict",
        secure=state(request).settings.secure_cookies,
        max_age=1800,
    )
    return resp


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    csrf: str = Form(""),
    next: str = Form("/patients"),
) -> Response:
    """Sign in: failed sign-ins are counted per address and per name (``service/login.py``);
    a locked address or name gets the form again with the wait (``429``)."""
    st = state(request)
    pre = request.cookies.get(PRE, "")
    if not pre or not same(pre, csrf):
        return page(
            request,
            "login.html",
            400,
            pre=pre,
            next=next,
            expired=1,
            error="The form expired; please sign in again.",
        )
    out = await st.login.attempt(username, password, client_address(request), "login.browser")
    if out.status != 200:
        error = {
            401: "Name or password not recognised.",
            429: f"Too many failed sign-ins; try again in {out.retry_after} seconds.",
            503: "The service is busy; please try again in a moment.",
        }[out.status]
        form = page(request, "login.html", out.status, pre=pre, next=next, expired=0, error=error)
        if out.retry_after:
            form.headers["Retry-After"] = str(out.retry_after)
        return form
    token, _ = issue_token(
        st.settings.secret_key,
        str(out.user_id),
        "session",
        st.settings.token_minutes,
        csrf=secrets.token_urlsafe(24),
        **out.claims,
    )
    dest = _local_path(next)
    resp = RedirectResponse(dest, status_code=303)
    resp.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=st.settings.secure_cookies,
        max_age=st.settings.token_minutes * 60,
    )
    resp.delete_cookie(PRE)
    return resp


@router.post("/logout")
def logout(request: Request, csrf: str = Form("")) -> Response:
    user, token = session(request)
    check_csrf(request, csrf, token)
    # the session ends on the server, not only in this browser: the account's token
    # version moves on (this ends its other sessions and API tokens too)
    with state(request).db.session() as s:
        row = s.get(Clinician, user.id)
        if row is not None:
            accounts.revoke_tokens(s, row, row.name, "signed out")
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE)
    return resp
