"""HTTP errors: library errors and pydantic validation as ``422`` with field, value, allowed.

Every ``422`` body is ``{"detail": [{"loc", "msg", "type", "value", "allowed",
"suggestions"}]}``; ``msg`` is the same sentence the command line prints after
``error:``. Missing or wrong credentials are a bare ``401``; a record the caller
may not see is ``404``, exactly as one that does not exist.
"""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from neurodose.errors import InputError, NeurodoseError, UnknownNameError, json_pointer

__all__ = [
    "ERROR_RESPONSES",
    "NotFound",
    "Problem",
    "ProblemItem",
    "Unauthorized",
    "ValidationProblem",
    "input_error",
    "install",
    "library_response",
    "validation_response",
]


class ProblemItem(BaseModel):
    """One invalid field: where, the message, the value given and what is allowed."""

    loc: list[str | int]
    msg: str
    type: str
    value: Any = None
    allowed: str | None = None
    suggestions: list[str] = []
    pointer: str | None = None
    """The field as a JSON pointer (RFC 6901) into the request body, e.g.
    ``/regimen/dose`` (the library names it by its path, ``regimen.dose``)."""


class ValidationProblem(BaseModel):
    """The ``422`` body."""

    detail: list[ProblemItem]


class Problem(BaseModel):
    """A ``401``, ``404`` or ``409`` body."""

    detail: str


#: documented error responses of every authenticated route
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "a body that is not valid JSON or form data"},
    401: {"model": Problem, "description": "missing or wrong credentials"},
    404: {"model": Problem, "description": "no such record, or not yours"},
    422: {"model": ValidationProblem, "description": "invalid input (field, value, allowed)"},
}


class Unauthorized(HTTPException):
    """A bare ``401`` (never says which credential was wrong)."""

    def __init__(self) -> None:
        super().__init__(401, "not authenticated", headers={"WWW-Authenticate": "Bearer"})


class NotFound(HTTPException):
    """``404``: the record does not exist or belongs to someone else."""

    def __init__(self, what: str = "record") -> None:
        super().__init__(404, f"{what} not found")


def _jsonable(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    try:
        json.dumps(v, allow_nan=False)
        return v
    except (TypeError, ValueError):
        return str(v)


def input_error(exc: NeurodoseError, prefix: tuple[str | int, ...] = ("body",)) -> ProblemItem:
    """The problem item of a library error (the field becomes the ``loc`` path)."""
    if isinstance(exc, UnknownNameError):
        return ProblemItem(
            loc=[*prefix, exc.field],
            pointer=json_pointer(exc.field),
            msg=str(exc),
            type="unknown_name",
            value=_jsonable(exc.name),
            allowed=f"a known {exc.field}",
            suggestions=list(exc.suggestions),
        )
    if isinstance(exc, InputError):
        loc = [p for p in str(exc.field).replace("[", ".").replace("]", "").split(".") if p]
        return ProblemItem(
            loc=[*prefix, *loc],
            pointer=json_pointer(exc.field),
            msg=str(exc),
            type="invalid",
            value=_jsonable(exc.value),
            allowed=exc.allowed,
        )
    return ProblemItem(loc=list(prefix), msg=str(exc), type="invalid")


_BOUNDS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def validation_response(_r: Request, exc: Exception) -> JSONResponse:
    """The ``422`` body of a request that failed validation."""
    assert isinstance(exc, RequestValidationError)
    items = []
    for e in exc.errors():
        ctx = e.get("ctx") or {}
        allowed = e.get("msg", "")
        if "expected" in ctx:
            allowed = f"one of {ctx['expected']}"
        bounds = [f"{op} {ctx[k]}" for k, op in _BOUNDS.items() if k in ctx]
        if bounds:
            allowed = "a number " + " and ".join(bounds)
        items.append(
            ProblemItem(
                loc=[x if isinstance(x, int) else str(x) for x in e.get("loc", ())],
                pointer=json_pointer(".".join(str(x) for x in e.get("loc", ())[1:])),
                msg=f"{'.'.join(str(x) for x in e.get('loc', ())[1:])}: {e.get('msg', '')}",
                type=str(e.get("type", "invalid")),
                value=_jsonable(e.get("input")),
                allowed=str(allowed),
            ).model_dump()
        )
    return JSONResponse({"detail": items}, status_code=422)


def library_response(_r: Request, exc: Exception) -> JSONResponse:
    """The ``422`` body of a library error."""
    assert isinstance(exc, NeurodoseError)
    return JSONResponse({"detail": [input_error(exc).model_dump()]}, status_code=422)


def install(app: Any) -> None:
    """Register the handlers on a FastAPI app."""
    app.add_exception_handler(RequestValidationError, validation_response)
    app.add_exception_handler(NeurodoseError, library_response)
