"""Security headers on every response (pages, API, errors, static files).

- ``Content-Security-Policy``: scripts only from this server (no inline script, no
  ``eval``), no plug-ins, no ``<base>``, forms post only here, and
  ``frame-ancestors 'none'`` (no page can be framed: clickjacking). Styles allow
  ``'unsafe-inline'`` because Plotly sets ``style`` attributes on the charts it draws;
  an inline style cannot run code.
- ``X-Frame-Options: DENY`` for browsers that ignore ``frame-ancestors``.
- ``X-Content-Type-Options: nosniff``.
- ``Referrer-Policy: no-referrer``: a diary link carries its token in the path, so no
  page sends its address to another site.
- ``Cache-Control: no-store`` on everything except the static assets (pages and API
  responses carry patient data; a shared computer's cache must not keep them).

Two pages keep inline script and get a looser policy, both outside the clinic pages:
the interactive API docs (``/docs``, ``/redoc``: FastAPI's Swagger UI and ReDoc,
loaded from jsDelivr) and the mock EHR (``/ehr-demo``, only in ``--dev-insecure`` mode).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["CSP", "LOOSE_CSP", "SecurityHeaders", "headers_for"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: the clinic's policy: nothing inline, nothing from elsewhere
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: the API docs and the dev-only mock EHR (inline script; the docs load from jsDelivr)
LOOSE_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
_LOOSE = ("/docs", "/redoc", "/ehr-demo")
_CACHEABLE = ("/static/", "/static-plotly/")


def headers_for(path: str) -> dict[str, str]:
    """The security headers of a response to ``path``.

    >>> h = headers_for("/patients")
    >>> h["Cache-Control"], "frame-ancestors 'none'" in h["Content-Security-Policy"]
    ('no-store', True)
    >>> "Cache-Control" in headers_for("/static/clinic.css")
    False
    """
    loose = path == "/docs/oauth2-redirect" or any(
        path == p or path.startswith(p + "/") for p in _LOOSE
    )
    out = {
        "Content-Security-Policy": LOOSE_CSP if loose else CSP,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if not path.startswith(_CACHEABLE):
        out["Cache-Control"] = "no-store"
    return out


class SecurityHeaders:
    """ASGI middleware adding :func:`headers_for` to every HTTP response (replacing
    any header of the same name the route set)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = [(k.lower().encode(), v.encode()) for k, v in headers_for(scope["path"]).items()]
        names = {k for k, _ in extra}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message["headers"] = kept + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)
