"""FastAPI routes of the CDS Hooks services, every one behind the client JWT check.

=========================================  ===========================================
``GET  /cds-services``                     discovery (JWT, aud = this URL)
``POST /cds-services/{id}``                a hook call (JWT, aud = this URL)
``POST /cds-services/{id}/feedback``       card outcomes (JWT, aud = this URL)
=========================================  ===========================================

A request without an acceptable JWT gets a bare ``401`` (no body). Bad input gets
``400`` with ``{"error": "<one line>"}`` (malformed JSON, or JSON nested deeper than
``max_json_depth``); a body over ``max_body_bytes`` (1 MiB by default) gets ``413``
as ``application/problem+json`` (RFC 9457); a missing prefetch that cannot be fetched
gets ``412``. With ``dev_insecure`` every request is accepted and a warning is
logged for each.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from functools import partial
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool

from neurodose.errors import NeurodoseError
from neurodose.service.cds.config import CdsConfig
from neurodose.service.cds.hooks import HookError, discovery, handle_hook, service
from neurodose.service.cds.security import JwtRejectedError, TokenChecker
from neurodose.service.cds.store import CdsStore

__all__ = ["cds_router"]

log = logging.getLogger("neurodose.cds")
#: one line per hook call (client, jti, hook, patient hash, status, cards, latency; no PHI)
audit = logging.getLogger("neurodose.cds.audit")
_OUTCOMES = ("accepted", "overridden")


def _bad(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": " ".join(message.split())}, status_code=status)


class _TooLargeError(Exception):
    """The request body is over ``max_body_bytes``."""


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse(
        {
            "type": "about:blank",
            "title": "Content Too Large",
            "status": 413,
            "detail": f"request body over {limit} bytes (the service's limit)",
        },
        status_code=413,
        media_type="application/problem+json",
    )


def _depth_over(value: Any, limit: int) -> bool:
    """Whether ``value`` nests objects/arrays deeper than ``limit`` (iterative)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            children: Any = v.values()
        elif isinstance(v, list):
            children = v
        else:
            continue
        if d > limit:
            return True
        stack.extend((c, d + 1) for c in children if isinstance(c, dict | list))
    return False


def _patient_hash(body: Any) -> str:
    """A short SHA-256 of the request's ``context.patientId`` (never the id itself)."""
    ctx = body.get("context") if isinstance(body, dict) else None
    pid = ctx.get("patientId") if isinstance(ctx, dict) else None
    if not isinstance(pid, str) or not pid:
        return "-"
    return hashlib.sha256(pid.encode("utf-8")).hexdigest()[:16]


def _audit(
    service_id: str, claims: dict[str, Any], body: Any, status: int, n_cards: int, t0: float
) -> None:
    """The audit line of one CDS call (logger ``neurodose.cds.audit``, INFO): client
    (``iss``), ``jti``, hook, service, a hash of the patient id, HTTP status, card
    count and latency. No PHI: no patient id, names, codes or card text."""
    svc = service(service_id)
    audit.info(
        "cds-call client=%s jti=%s hook=%s service=%s patient_sha256=%s status=%d cards=%d "
        "latency_ms=%.1f",
        claims.get("iss") or "-",
        claims.get("jti") or "-",
        svc.hook if svc is not None else "-",
        svc.id if svc is not None else "-",
        _patient_hash(body),
        status,
        n_cards,
        1000 * (time.perf_counter() - t0),
    )


def _denied(ok: bool | None) -> Response | None:
    """The answer to a request whose token check did not pass (None when it passed)."""
    if ok is None:
        return _bad(503, "the replay cache is unavailable; retry")
    return None if ok else Response(status_code=401)


def _parse_time(v: Any) -> dt.datetime | None:
    if not isinstance(v, str):
        return None
    try:
        t = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo is not None else None


def cds_router(config: CdsConfig, store: CdsStore) -> APIRouter:
    """The router (mount it with ``app.include_router``)."""
    router = APIRouter(tags=["cds-hooks"])
    checker = TokenChecker(config, store)

    def authorised(request: Request) -> bool | None:
        """True/False for a good/bad token; None when the replay cache is unavailable."""
        return check(request)[0]

    def check(request: Request) -> tuple[bool | None, dict[str, Any]]:
        """:func:`authorised`, with the token's claims (empty when not verified)."""
        if config.dev_insecure:
            log.warning(
                "CDS Hooks --dev-insecure: %s %s accepted WITHOUT a verified JWT (demo only)",
                request.method,
                request.url.path,
            )
            return True, {}
        try:
            claims = checker.check(
                request.headers.get("authorization"), config.public_url + request.url.path
            )
        except JwtRejectedError as exc:
            log.info("CDS Hooks JWT rejected: %s", exc.reason)
            return False, {}
        except OperationalError:
            log.error("CDS Hooks replay cache unavailable (database busy or down)")
            return None, {}
        log.info("CDS Hooks call from iss=%s jti=%s", claims.get("iss"), claims.get("jti"))
        return True, dict(claims)

    async def body_json(request: Request) -> Any:
        limit = config.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _TooLargeError
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _TooLargeError
            chunks.append(chunk)
        try:
            data = json.loads(b"".join(chunks))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise HookError(400, "request body: malformed JSON") from None
        except RecursionError:
            data = None
            deep = True
        else:
            deep = _depth_over(data, config.max_json_depth)
        if deep:
            raise HookError(
                400, f"request body: JSON nested deeper than {config.max_json_depth} levels"
            )
        return data

    @router.get("/cds-services")
    async def cds_discovery(request: Request) -> Response:
        """Discovery: the three services and their prefetch templates."""
        if (denied := _denied(await run_in_threadpool(authorised, request))) is not None:
            return denied
        return JSONResponse(discovery())

    @router.post("/cds-services/{service_id}")
    async def cds_call(service_id: str, request: Request) -> Response:
        """One hook call: cards for the draft orders (or the patient summary).

        Every call, answered or refused, writes one audit line (:func:`_audit`)."""
        t0 = time.perf_counter()
        ok, claims = await run_in_threadpool(check, request)
        body: Any = None
        cards: list[dict[str, Any]] = []
        response: Response
        if (denied := _denied(ok)) is not None:
            response = denied
        else:
            try:
                body = await body_json(request)
                cards, sid = await run_in_threadpool(
                    partial(handle_hook, client=claims.get("iss")), service_id, body, config
                )
            except _TooLargeError:
                response = _too_large(config.max_body_bytes)
            except HookError as exc:
                response = _bad(exc.status, exc.message)
            except NeurodoseError as exc:
                response = _bad(400, str(exc))
            else:
                try:
                    await run_in_threadpool(
                        store.record_cards,
                        sid,
                        [(c["uuid"], c["source"]["topic"]["code"], c["indicator"]) for c in cards],
                    )
                except OperationalError:  # cards still go out; feedback cannot be counted
                    log.error("CDS Hooks: could not record issued cards (database busy or down)")
                response = JSONResponse({"cards": cards})
        _audit(service_id, claims, body, response.status_code, len(cards), t0)
        return response

    @router.post("/cds-services/{service_id}/feedback")
    async def cds_feedback(service_id: str, request: Request) -> Response:
        """Card outcomes (accepted / overridden with a reason), stored per rule."""
        if (denied := _denied(await run_in_threadpool(authorised, request))) is not None:
            return denied
        if service(service_id) is None:
            return _bad(404, f"service {service_id!r} not found")
        try:
            body = await body_json(request)
        except _TooLargeError:
            return _too_large(config.max_body_bytes)
        except HookError as exc:
            return _bad(exc.status, exc.message)
        items = body.get("feedback") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            return _bad(400, "feedback: expected a non-empty list")
        rows: list[dict[str, Any]] = []
        for i, f in enumerate(items):
            where = f"feedback[{i}]"
            if not isinstance(f, dict) or not isinstance(f.get("card"), str):
                return _bad(400, f"{where}.card: expected the card uuid")
            if f.get("outcome") not in _OUTCOMES:
                return _bad(
                    400, f"{where}.outcome: {f.get('outcome')!r}; expected accepted or overridden"
                )
            when = _parse_time(f.get("outcomeTimestamp"))
            if when is None:
                return _bad(400, f"{where}.outcomeTimestamp: expected an RFC 3339 time with zone")
            acc = f.get("acceptedSuggestions")
            if f["outcome"] == "accepted" and not (
                isinstance(acc, list)
                and all(isinstance(a, dict) and isinstance(a.get("id"), str) for a in acc)
            ):
                return _bad(
                    400, f"{where}.acceptedSuggestions: required list of {{id}} when accepted"
                )
            reason = f.get("overrideReason") or {}
            if not isinstance(reason, dict):
                return _bad(400, f"{where}.overrideReason: expected an object")
            coding = reason.get("reason") or {}
            if not isinstance(coding, dict):
                return _bad(400, f"{where}.overrideReason.reason: expected a Coding")
            hit = await run_in_threadpool(store.card_rule, f["card"])
            if hit is None or hit[0] != service_id:
                return _bad(400, f"{where}.card: {f['card']!r} was not issued by {service_id}")
            rows.append(
                {
                    "service": service_id,
                    "card": f["card"],
                    "rule": hit[1],
                    "outcome": f["outcome"],
                    "override_code": coding.get("code"),
                    "override_display": coding.get("display"),
                    "user_comment": reason.get("userComment"),
                    "accepted_suggestions": json.dumps([a["id"] for a in acc]) if acc else None,
                    "outcome_time": when,
                }
            )
        try:
            await run_in_threadpool(store.add_feedback, rows)
        except OperationalError:
            return _bad(503, "feedback could not be stored now; retry")
        return JSONResponse({"stored": len(rows)})

    return router
