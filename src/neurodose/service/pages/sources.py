"""One source of the knowledge base: ``/sources/{key}`` (the pages link each finding
and reason to its sources here, through :class:`~neurodose.service.pages.common.Reference`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from neurodose.errors import UnknownNameError
from neurodose.service.pages.common import Reference, page, session
from neurodose.service.problems import NotFound

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/sources/{key}", response_class=HTMLResponse)
def source_page(request: Request, key: str) -> Response:
    user, csrf = session(request)
    try:
        ref = Reference.of(key)
    except UnknownNameError as exc:
        raise NotFound(f"source ({exc})") from None
    return page(
        request, "source.html", user=user, csrf=csrf, key=key, ref=dict(ref.csl), link=ref.url
    )
