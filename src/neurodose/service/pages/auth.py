"""Signing in and out: ``/``, ``/login`` and ``/logout``."""

from __future__ import annotations

import re
import secrets

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from neurodose.service import accounts, store
from neurodose.service.models import Clinician
from neurodose.service.pages.common import COOKIE, PRE, check_csrf, page, session, state
from neurodose.service.security import issue_token, same, verify_password

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
def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    csrf: str = Form(""),
    next: str = Form("/patients"),
) -> Response:
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
    with st.db.session() as s:
        user = s.scalar(select(Clinician).where(Clinician.name == username))
        ok = verify_password(user.password_hash if user else None, password)
        if user is None or not ok or not user.active:
            return page(
                request,
                "login.html",
                401,
                pre=pre,
                next=next,
                expired=0,
                error="Name or password not recognised.",
            )
        store.audit(s, user.name, "login.browser", None)
        uid, claims = user.id, accounts.token_claims(user)
    token, _ = issue_token(
        st.settings.secret_key,
        str(uid),
        "session",
        st.settings.token_minutes,
        csrf=secrets.token_urlsafe(24),
        **claims,
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
