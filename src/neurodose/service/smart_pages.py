"""The SMART App Launch pages (the sequence: :mod:`neurodose.service.smart`).

=============================  ==============================================================
``GET /smart/launch``          public: the EHR (or a clinician) starts here with ``iss``
                               (a registered FHIR base URL) and, from an EHR, ``launch``;
                               sets the launch cookie, sends the browser to the EHR
``GET /smart/callback``        public, but only the browser holding the launch's cookie
                               gets past it, once, before the launch expires
``GET /smart/resume``          the launch cookie of an authorised launch; the clinician
                               from the linked ``fhirUser``; an unlinked one: a sign-in
                               form that links it; no ``fhirUser``: the session or sign-in
``POST /smart/link``           the launch cookie and a clinic account's name and password
                               (the sign-in's limits and audit): links the ``fhirUser``
``POST /smart/create``         a clinician's session, its CSRF token and the launch cookie:
                               creates the clinic patient from the EHR's FHIR data
``GET /smart/links``           a clinician's session: the EHR users linked to the account
                               (issuer, ``fhirUser``, when linked), each with a remove form
``POST /smart/links/{id}/      a clinician's session and its CSRF token: removes one of
remove``                       the account's own links (another's: 404); audited
=============================  ==============================================================

``/smart/launch`` and ``/smart/callback`` are rate-limited per client address
(``NEURODOSE_SMART_RATE_LIMIT`` per ``NEURODOSE_SMART_RATE_WINDOW_SECONDS``, counted in the
database: :func:`neurodose.service.smart.too_many_launches`): past it, a ``429`` page with
``Retry-After``.

The launch cookie (``nd_smart``: ``HttpOnly``, ``SameSite=Lax`` so that it comes back
with the EHR's redirect, path ``/smart``) binds the ``state`` to the browser that began
the launch. The clinic session is the sign-in's (``SameSite=Strict``), which a browser
does not send on the EHR's redirect: the callback therefore answers with a page that
moves on to ``/smart/resume`` itself, from the clinic's own origin.
"""

from __future__ import annotations

import math
import secrets
import time
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from neurodose.errors import NeurodoseError
from neurodose.service import accounts, smart, smart_keys, store
from neurodose.service.api import client_address
from neurodose.service.models import Clinician
from neurodose.service.pages.common import (
    COOKIE,
    RedirectError,
    check_csrf,
    error_page,
    page,
    session,
    state,
)
from neurodose.service.security import issue_token

__all__ = ["LAUNCH_COOKIE", "router"]

router = APIRouter(include_in_schema=False)

#: the cookie that binds a launch's state to the browser that began it
LAUNCH_COOKIE = "nd_smart"


def _issuers(request: Request) -> tuple[smart.Issuer, ...]:
    cached = getattr(request.app.state, "smart_issuers", None)
    if cached is None:
        cached = smart.load_issuers(state(request).settings.smart_issuers)
        request.app.state.smart_issuers = cached
    return cached


def _keys(request: Request, issuer: smart.Issuer) -> Any:
    """The signing keys of ``issuer`` (one key cache per server process)."""
    cache = getattr(request.app.state, "smart_keys", None)
    if cache is None:
        cache = request.app.state.smart_keys = smart_keys.KeyCache()
    return smart.signing_keys(cache, issuer, state(request).settings.smart_keys_s)


def _problem(request: Request, exc: smart.SmartError) -> Response:
    return error_page(request, exc.status, exc.title, [exc.message])


def _redirect_uri(request: Request) -> str:
    base = state(request).settings.public_url or str(request.base_url)
    return base.rstrip("/") + "/smart/callback"


def _throttled(request: Request) -> Response | None:
    """The 429 page when this address has launched too often (None: go on). A
    refused address is refused again from this process's memory until its window ends."""
    st = state(request)
    address = client_address(request)
    blocked: dict[str, float] | None = getattr(request.app.state, "smart_blocked", None)
    if blocked is None:
        blocked = request.app.state.smart_blocked = {}
    now = time.time()
    wait = math.ceil(blocked.get(address, 0.0) - now)
    if wait <= 0:
        limit, window = st.settings.smart_rate_limit, st.settings.smart_rate_window_s
        wait = smart.too_many_launches(st.db, address, limit, window)
        if len(blocked) > 10_000:
            blocked.clear()
        if wait:
            blocked[address] = now + wait
    if wait <= 0:
        return None
    resp = error_page(
        request,
        429,
        "Too many launches",
        [
            "This computer has started more SMART launches than the clinic allows in a "
            f"short time. Please wait {wait} seconds, then launch again from the EHR."
        ],
    )
    resp.headers["Retry-After"] = str(wait)
    return resp


@router.get("/smart/launch", response_class=HTMLResponse)
def launch(request: Request, iss: str = "", launch: str = "") -> Response:
    """Begin an EHR launch (``iss`` and ``launch``) or a standalone launch (``iss``)."""
    st = state(request)
    too_many = _throttled(request)
    if too_many is not None:
        return too_many
    if len(launch) > 500:
        return _problem(request, smart.SmartError(400, "Not a launch", "The launch is too long."))
    try:
        issuer = smart.registered(_issuers(request), iss)
        url, browser = smart.begin(
            st.db,
            issuer,
            smart.discover(issuer),
            redirect_uri=_redirect_uri(request),
            launch=launch or None,
            lifetime_s=st.settings.smart_launch_s,
        )
    except smart.SmartError as exc:
        return _problem(request, exc)
    resp = RedirectResponse(url, status_code=303)
    resp.set_cookie(
        LAUNCH_COOKIE,
        browser,
        # outlives the state, so that a late callback hears "expired", not "another browser"
        max_age=st.settings.smart_launch_s + 600,
        path="/smart",
        httponly=True,
        samesite="lax",
        secure=st.settings.secure_cookies,
    )
    return resp


@router.get("/smart/callback", response_class=HTMLResponse)
def callback(request: Request, code: str = "", error: str = "") -> Response:
    """The EHR's redirect: take the state once, exchange the code with the verifier."""
    state_ = request.query_params.get("state", "")
    st = state(request)
    too_many = _throttled(request)
    if too_many is not None:
        return too_many
    try:
        if error:
            raise smart.oauth_error(error[:60])
        taken = smart.take(st.db, state_[:200], request.cookies.get(LAUNCH_COOKIE, ""))
        if not code or len(code) > 2000:
            raise smart.SmartError(400, "Not a launch", "The EHR sent no authorisation code.")
        keys = _keys(request, smart.registered(_issuers(request), taken["iss"]))
        smart.authorised(st.db, taken["id"], smart.exchange(taken, code, keys))
    except smart.SmartError as exc:
        return _problem(request, exc)
    return page(request, "smart.html", mode="continue", user=None)


def _signed_in(request: Request) -> Clinician | None:
    try:
        return session(request)[0]
    except RedirectError:
        return None


#: what the link form says when the sign-in fails, by the sign-in's status
_SIGN_IN_ERRORS = {
    401: lambda _s: "Name or password not recognised.",
    429: lambda s: f"Too many failed sign-ins; try again in {s} seconds.",
    503: lambda _s: "The service is busy; please try again in a moment.",
}


class _LinkFirstError(Exception):
    """The EHR user is not linked to a clinic account yet: ask for one's password."""


def _clinician(request: Request, ctx: dict[str, Any]) -> tuple[Clinician, bool]:
    """The clinician of the launch and whether a session must be issued for it."""
    st = state(request)
    here = _signed_in(request)
    with st.db.session() as s:
        uid = smart.linked_user(s, ctx["iss"], ctx.get("fhir_user"))
        user = s.get(Clinician, uid) if uid is not None else None
    if uid is None:
        if ctx.get("fhir_user"):
            raise _LinkFirstError
        if here is None:  # no EHR identity to link: the clinic's own sign-in
            raise RedirectError("/login?next=/smart/resume")
        return here, False
    if user is None or not user.active or user.removed_at is not None:
        raise smart.SmartError(
            403,
            "This clinic account cannot be used",
            "The EHR user is linked to a clinic account that is disabled or removed.",
        )
    if here is not None and here.id != user.id:
        raise smart.SmartError(
            403,
            "Signed in as someone else",
            "The EHR user is linked to another clinic account. Sign out of the clinic "
            "and launch again.",
        )
    return user, here is None


def _link_page(
    request: Request, ctx: dict[str, Any], status: int = 200, error: str = ""
) -> Response:
    return page(request, "smart.html", status, mode="link", user=None, ctx=ctx, error=error)


def _session_cookie(request: Request, resp: Response, user: Clinician) -> None:
    """The clinic session of ``user``, as the sign-in issues it (token version included)."""
    st = state(request).settings
    claims = accounts.token_claims(user)
    token, _ = issue_token(
        st.secret_key,
        str(user.id),
        "session",
        st.token_minutes,
        csrf=secrets.token_urlsafe(24),
        **claims,
    )
    cookie = {"httponly": True, "samesite": "strict", "secure": st.secure_cookies}
    resp.set_cookie(COOKIE, token, max_age=st.token_minutes * 60, **cookie)


@router.get("/smart/resume", response_class=HTMLResponse)
def resume(request: Request) -> Response:
    """Open the clinic's page of the EHR's patient (or say that none is linked)."""
    st = state(request)
    ctx = smart.pending(st.db, request.cookies.get(LAUNCH_COOKIE, ""))
    if ctx is None:
        return _problem(request, smart.refused("No launch is waiting here. Start from the EHR."))
    try:
        user, issue = _clinician(request, ctx)
    except smart.SmartError as exc:
        return _problem(request, exc)
    except _LinkFirstError:
        return _link_page(request, ctx)
    with st.db.session() as s:
        pid = smart.linked_patient(s, ctx["iss"], ctx["patient"], user.clinic)
        action = "login.smart" if issue else "smart.launch"
        store.audit(s, user.name, action, pid, f"{ctx['iss']} Patient/{ctx['patient']}")
    if pid is not None:
        smart.finish(st.db, ctx["id"])
        resp: Response = RedirectResponse(f"/patients/{pid}", status_code=303)
    else:
        csrf = "" if issue else session(request)[1]
        resp = page(request, "smart.html", mode="unlinked", user=user, ctx=ctx, csrf=csrf)
        if issue:  # the new session's CSRF token is on the next page: load it once more
            resp = RedirectResponse("/smart/resume", status_code=303)
    if issue:
        _session_cookie(request, resp, user)
    return resp


@router.post("/smart/link", response_class=HTMLResponse)
async def link(request: Request, username: str = Form(""), password: str = Form("")) -> Response:
    """Link the launch's EHR user to the clinic account whose name and password are
    given (the sign-in's checks, limits and audit), and sign that account in."""
    st = state(request)
    ctx = await run_in_threadpool(smart.pending, st.db, request.cookies.get(LAUNCH_COOKIE, ""))
    if ctx is None or not ctx.get("fhir_user"):
        return _problem(request, smart.refused("No launch is waiting here. Start from the EHR."))
    out = await st.login.attempt(username, password, client_address(request), "login.smart")
    if out.status != 200:
        form = _link_page(request, ctx, out.status, _SIGN_IN_ERRORS[out.status](out.retry_after))
        if out.retry_after:
            form.headers["Retry-After"] = str(out.retry_after)
        return form
    user = await run_in_threadpool(_link_user, st.db, ctx, out.user_id)
    if user is None:
        return _problem(request, smart.refused("The EHR user is already linked. Launch again."))
    resp = RedirectResponse("/smart/resume", status_code=303)
    _session_cookie(request, resp, user)
    return resp


def _link_user(db: Any, ctx: dict[str, Any], uid: int | None) -> Clinician | None:
    """Link the launch's ``fhirUser`` to account ``uid``; None when it was linked meanwhile."""
    with db.session() as s:
        if smart.linked_user(s, ctx["iss"], ctx["fhir_user"]) is not None:
            return None
        user = s.get(Clinician, uid)
        if user is None:
            return None
        smart.link_user(s, ctx["iss"], ctx["fhir_user"], user.id)
        store.audit(s, user.name, "smart.link_user", None, f"{ctx['iss']} {ctx['fhir_user']}")
        return user


@router.post("/smart/create", response_class=HTMLResponse)
def create(request: Request, csrf: str = Form("")) -> Response:
    """Create the clinic patient from the EHR's FHIR data and link it to the EHR patient."""
    from neurodose.fhir.inbound import case_from_resources

    user, expected = session(request)
    check_csrf(request, csrf, expected)
    st = state(request)
    ctx = smart.pending(st.db, request.cookies.get(LAUNCH_COOKIE, ""))
    if ctx is None:
        return _problem(request, smart.refused("No launch is waiting here. Start from the EHR."))
    try:
        profile = case_from_resources(smart.fetch_patient_resources(ctx)).profile
        with st.db.session() as s:
            rec = store.create_patient(s, user, profile)
            smart.link_patient(s, ctx["iss"], ctx["patient"], user.clinic, rec.id)
            store.audit(s, user.name, "smart.create_patient", rec.id, ctx["iss"])
    except smart.SmartError as exc:
        return _problem(request, exc)
    except NeurodoseError as exc:
        return error_page(
            request, 422, "The EHR's data could not make a clinic patient", [str(exc)]
        )
    smart.finish(st.db, ctx["id"])
    return RedirectResponse(f"/patients/{rec.id}", status_code=303)


@router.get("/smart/links", response_class=HTMLResponse)
def links(request: Request, removed: str = "") -> Response:
    """The signed-in clinician's EHR links, each with a form that removes it."""
    user, csrf = session(request)
    with state(request).db.session() as s:
        rows = smart.user_links(s, user.id)
    message = "The EHR link was removed." if removed == "1" else ""
    return page(request, "smart_links.html", user=user, csrf=csrf, links=rows, message=message)


@router.post("/smart/links/{link_id}/remove", response_class=HTMLResponse)
def remove_link(request: Request, link_id: str, csrf: str = Form("")) -> Response:
    """Remove one of the signed-in clinician's EHR links (audited: the issuer and the
    EHR user, no patient); the next launch as that EHR user asks to link again."""
    user, expected = session(request)
    check_csrf(request, csrf, expected)
    with state(request).db.session() as s:
        ok = link_id.isascii() and link_id.isdigit() and len(link_id) < 10
        gone = smart.unlink_user(s, int(link_id), user.id) if ok else None
        if gone is not None:
            store.audit(s, user.name, "smart.unlink_user", None, f"{gone[0]} {gone[1]}")
    if gone is None:
        return error_page(request, 404, "No such EHR link", ["This account has no such EHR link."])
    return RedirectResponse("/smart/links?removed=1", status_code=303)
