"""What every page router shares: the templates, the session and its CSRF token, form
helpers, error pages and :class:`Reference` (how a page links to a source).

Clinicians sign in with a session cookie (signed, ``HttpOnly``, ``SameSite=Strict``,
``Secure`` unless ``NEURODOSE_SECURE_COOKIES=0``); every form carries a CSRF token bound
to the session. A route that needs a clinician takes :data:`SignedIn` (a form post:
:data:`Posted`, which also checks the token) or calls :func:`session`; a missing or
expired session, or a form whose token does not match, sends the browser to the login
page (:class:`RedirectError`, turned into a ``303`` by the handler that
:func:`neurodose.service.ui.mount_ui` installs).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from sqlalchemy.orm import Session

from neurodose.errors import InputError
from neurodose.service import accounts, store
from neurodose.service.api import ClinicState
from neurodose.service.models import Clinician, PatientRecord
from neurodose.service.security import read_token, same

__all__ = [
    "COOKIE",
    "PRE",
    "SERVICE_DIR",
    "SEVERITIES",
    "Feedback",
    "Posted",
    "RedirectError",
    "Reference",
    "SignedIn",
    "Viewer",
    "check_csrf",
    "choices",
    "error_page",
    "form_date",
    "is_page",
    "num",
    "page",
    "session",
    "state",
    "templates",
]

#: the service package: ``templates/`` and ``static/`` are here
SERVICE_DIR = Path(__file__).parent.parent
#: the session cookie (a signed token with the session's CSRF token in it)
COOKIE = "nd_session"
#: the login form's cookie (the CSRF token of the form before there is a session)
PRE = "nd_login"
SEVERITIES = ("contraindicated", "avoid", "caution", "monitor", "info")
templates = Jinja2Templates(directory=str(SERVICE_DIR / "templates"))


@dataclass(frozen=True)
class Reference:
    """A source of the knowledge base as the pages link to it: its page here
    (:attr:`href`, ``/sources/<key>``) and the publication itself (:attr:`url`).

    >>> r = Reference("Doe2020", {"DOI": "10.1/x"})
    >>> r.href, r.url
    ('/sources/Doe2020', 'https://doi.org/10.1/x')
    >>> Reference("Roe2021", {"URL": "https://example.org/r", "DOI": "10.1/y"}).url
    'https://example.org/r'
    >>> Reference("Poe2019", {"PMID": "1"}).url is None
    True
    """

    key: str
    #: the CSL-JSON item (``knowledge/references``)
    csl: Mapping[str, Any]

    @classmethod
    def of(cls, key: str) -> Reference:
        """The source ``key``; an unknown key raises
        :class:`~neurodose.errors.UnknownNameError`."""
        from neurodose.knowledge.registry import get_reference

        return cls(key, dict(get_reference(key)))

    @staticmethod
    def page(key: str) -> str:
        """The path of the page of source ``key`` (also a template global, ``source_page``).

        >>> Reference.page("Finnerup2015")
        '/sources/Finnerup2015'
        """
        return "/sources/" + quote(key, safe="")

    @property
    def href(self) -> str:
        """The path of this source's page."""
        return self.page(self.key)

    @property
    def url(self) -> str | None:
        """Where the publication is: its ``URL``, else its DOI as a link, else ``None``."""
        url = self.csl.get("URL")
        if url:
            return str(url)
        return f"https://doi.org/{self.csl['DOI']}" if self.csl.get("DOI") else None


templates.env.globals["source_page"] = Reference.page


def _svgchart(spec_json: str, key: str, label: str) -> Markup:
    """A chart's figure (``charts.fig`` JSON) drawn as SVG on the server."""
    import json

    from neurodose.service.pages.svgchart import render

    return Markup(render(json.loads(spec_json), label, key))  # every text escaped in render


templates.env.filters["svgchart"] = _svgchart


class RedirectError(Exception):
    """Send the browser elsewhere (to the login page)."""

    def __init__(self, url: str) -> None:
        self.url = url


def state(request: Request) -> ClinicState:
    """The app's settings and database."""
    st: ClinicState = request.app.state.clinic
    return st


def session(request: Request) -> tuple[Clinician, str]:
    """The signed-in clinician and the session's CSRF token, else to the login page."""
    st = state(request)
    claims = read_token(st.settings.secret_key, request.cookies.get(COOKIE, ""), "session")
    if claims is not None:
        with st.db.session() as s:
            user = accounts.user_for_claims(s, claims)
            if user is not None:
                return user, str(claims["csrf"])
    raise RedirectError("/login?next=" + quote(request.url.path))


def check_csrf(request: Request, csrf: str, expected: str) -> None:
    """A form's CSRF token must be the session's, else to the login page."""
    if not csrf or not same(csrf, expected):
        raise RedirectError("/login?expired=1")


def page(request: Request, name: str, status: int = 200, **ctx: object) -> HTMLResponse:
    """The template ``name`` rendered with ``ctx``."""
    return templates.TemplateResponse(request, name, ctx, status_code=status)


@dataclass(frozen=True)
class Viewer:
    """A signed-in clinician on a page: the request, the clinician, the session's CSRF
    token (:func:`session`)."""

    request: Request
    user: Clinician
    csrf: str

    @classmethod
    def of(cls, request: Request) -> Viewer:
        """The signed-in clinician of ``request``, else to the login page."""
        user, csrf = session(request)
        return cls(request, user, csrf)

    def posted(self, csrf: str) -> Viewer:
        """Check a posted form's CSRF token (else to the login page)."""
        check_csrf(self.request, csrf, self.csrf)
        return self

    def db(self) -> AbstractContextManager[Session]:
        """One transaction on the clinic's database (:meth:`Database.session`)."""
        return state(self.request).db.session()

    def patient(self, s: Session, pid: str) -> tuple[PatientRecord, dict[str, Any]]:
        """Patient ``pid`` of the clinician's clinic (else ``404``) and its page summary."""
        rec = store.get_patient(s, self.user, pid)
        return rec, store.patient_out(s, rec)

    def page(self, name: str, status: int = 200, **ctx: object) -> HTMLResponse:
        """The template ``name`` for this clinician (``user`` and ``csrf`` added to ``ctx``)."""
        return page(self.request, name, status, user=self.user, csrf=self.csrf, **ctx)


def _posted(request: Request, csrf: Annotated[str, Form()] = "") -> Viewer:
    return Viewer.of(request).posted(csrf)


#: a page route's clinician (a FastAPI dependency: not signed in, to the login page)
SignedIn = Annotated[Viewer, Depends(Viewer.of)]
#: a form post's clinician, its ``csrf`` form field checked (else to the login page)
Posted = Annotated[Viewer, Depends(_posted)]


@dataclass(frozen=True)
class Feedback:
    """What a refused form sends back to its page: the messages by field, the form as
    it was typed, the status."""

    errors: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] = field(default_factory=dict)
    status: int = 200


#: the paths of the browser pages (errors there are pages, never JSON)
_PAGES = ("/login", "/logout", "/patients", "/sources/", "/d/", "/admin")


def is_page(path: str) -> bool:
    """Whether ``path`` is a browser page (its errors are pages, not problem JSON)."""
    return path == "/" or path.startswith(_PAGES)


def error_page(request: Request, status: int, title: str, messages: list[str]) -> Response:
    """An error as a page (the clinic's look, a way back), for the browser routes."""
    return page(request, "error.html", status, title=title, messages=messages)


def num(text: str) -> float | str | None:
    """A number field of a form: ``None`` when empty, the text when not a number (the
    validator names it)."""
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return text  # the validator names it


def form_date(field: str, text: str) -> str | None:
    """A date field of a form: ``None`` when empty, else ISO ``YYYY-MM-DD`` or an
    :class:`~neurodose.errors.InputError` naming the field."""
    text = text.strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise InputError(field, text[:40], "a date as YYYY-MM-DD, e.g. 2026-01-31") from None


def choices() -> dict[str, list[str]]:
    """The names the forms offer: drugs, conditions, pain conditions."""
    from neurodose.knowledge.conditions import condition, condition_ids
    from neurodose.knowledge.registry import drug_names

    return {
        "drugs": list(drug_names()),
        "conditions": list(condition_ids()),
        "pain_conditions": [c for c in condition_ids() if condition(c).kind == "pain"],
    }
