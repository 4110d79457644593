"""The browser pages: Jinja2 templates with htmx, every asset served from the package.

Clinicians sign in with a session cookie (signed, ``HttpOnly``, ``SameSite=Strict``,
``Secure`` unless ``NEURODOSE_SECURE_COOKIES=0``); every form carries a CSRF token bound
to the session. Patients open ``/d/{token}`` (their diary link): no account, no cookie.
The pages call the same store functions as the API; no clinical logic here.

:func:`mount_ui` adds the static assets, the error pages and the page routers of
:mod:`neurodose.service.pages` to the app.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from neurodose.errors import NeurodoseError
from neurodose.service.pages import ROUTERS
from neurodose.service.pages.common import SERVICE_DIR, RedirectError, error_page, is_page

__all__ = ["mount_ui"]


def _plotly_path() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _install_error_pages(app: FastAPI) -> None:
    """Errors on a page route are pages (``error.html``); elsewhere problem JSON as before."""
    from fastapi.exception_handlers import http_exception_handler
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    from neurodose.service import problems

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: Exception) -> Response:
        if not is_page(request.url.path):
            return problems.validation_response(request, exc)
        assert isinstance(exc, RequestValidationError)
        msgs = [
            f"{'.'.join(str(x) for x in e.get('loc', ())[1:])}: {e.get('msg', '')}"
            for e in exc.errors()
        ]
        return error_page(request, 422, "Something in the request is not valid", msgs)

    @app.exception_handler(NeurodoseError)
    async def _library_error(request: Request, exc: Exception) -> Response:
        if not is_page(request.url.path):
            return problems.library_response(request, exc)
        return error_page(request, 422, "This could not be done", [str(exc)])

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if not is_page(request.url.path) or exc.status_code not in (400, 404, 405, 409):
            return await http_exception_handler(request, exc)
        title = "Not found" if exc.status_code == 404 else "This could not be done"
        return error_page(request, exc.status_code, title, [str(exc.detail)])

    @app.exception_handler(RedirectError)
    async def _redirect(_r: Request, exc: Exception) -> Response:
        assert isinstance(exc, RedirectError)
        return RedirectResponse(exc.url, status_code=303)


def mount_ui(app: FastAPI) -> None:
    """Add the pages and static assets to ``app``."""
    app.mount("/static", StaticFiles(directory=str(SERVICE_DIR / "static")), name="static")
    _install_error_pages(app)

    @app.get("/static-plotly/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(_plotly_path(), media_type="text/javascript")

    for router in ROUTERS:
        app.include_router(router)
