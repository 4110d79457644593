"""A small CDS Hooks service for testing the conformance kit, defective on request.

One FastAPI app serves a service set under ``/{defect}/cds-services``: the base URL
``http://HOST:PORT/{defect}`` is a service with exactly that defect (``none``: a
conformant one). Its ids, hooks and prefetch keys are not neurodose's. Each defect is a
CDS Hooks 2.0 requirement broken on purpose; :data:`DEFECTS` maps it to the group of
kit checks that must catch it.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import jwt
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

#: the conformant service set: ids and prefetch keys unlike neurodose's
SERVICES = [
    {
        "hook": "order-sign",
        "id": "acme-rx-sign-review",
        "title": "ACME prescription review",
        "description": "Reviews the orders being signed.",
        "prefetch": {
            "pt": "Patient/{{context.patientId}}",
            "activeMeds": "MedicationRequest?patient={{context.patientId}}&status=active",
        },
    },
    {
        "hook": "order-select",
        "id": "acme-rx-select",
        "description": "Looks at the order being chosen.",
        "prefetch": {"pt": "Patient/{{context.patientId}}"},
    },
    {
        "hook": "patient-view",
        "id": "acme.chart_summary",
        "description": "A summary card for the chart.",
    },
]


def _med_request(pid: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "status": "draft",
        "intent": "proposal",
        "subject": {"reference": f"Patient/{pid}"},
        "medicationCodeableConcept": {"text": "paracetamol 500 mg tablet"},
    }


def _cards(pid: str) -> dict[str, Any]:
    """A conformant response: an info card with links, a warning with a suggestion, and a
    system action."""
    return {
        "cards": [
            {
                "uuid": str(uuid.uuid4()),
                "summary": "Chart reviewed",
                "detail": "Nothing to add.",
                "indicator": "info",
                "source": {
                    "label": "ACME",
                    "url": "https://acme.test/about",
                    "topic": {"system": "https://acme.test/topics", "code": "review"},
                },
                "links": [
                    {"label": "About", "url": "https://acme.test/guide", "type": "absolute"},
                    {
                        "label": "Open the app",
                        "url": "https://acme.test/launch",
                        "type": "smart",
                        "appContext": "x=1",
                    },
                ],
            },
            {
                "uuid": str(uuid.uuid4()),
                "summary": "Consider paracetamol",
                "indicator": "warning",
                "source": {"label": "ACME"},
                "selectionBehavior": "at-most-one",
                "overrideReasons": [
                    {"system": "https://acme.test/reasons", "code": "na", "display": "N/A"}
                ],
                "suggestions": [
                    {
                        "label": "Order paracetamol",
                        "uuid": str(uuid.uuid4()),
                        "actions": [
                            {
                                "type": "create",
                                "description": "Order paracetamol",
                                "resource": _med_request(pid),
                            },
                            {
                                "type": "delete",
                                "description": "Cancel the draft",
                                "resourceId": ["MedicationRequest/draft-1"],
                            },
                        ],
                    }
                ],
            },
        ],
        "systemActions": [
            {"type": "update", "description": "Annotate", "resource": _med_request(pid)}
        ],
    }


_CARD_DEFECTS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "card_missing_summary": lambda r: r["cards"][0].pop("summary"),
    "summary_too_long": lambda r: r["cards"][0].update(summary="x" * 141),
    "indicator_invalid": lambda r: r["cards"][0].update(indicator="severe"),
    "indicator_missing": lambda r: r["cards"][0].pop("indicator"),
    "source_missing": lambda r: r["cards"][0].pop("source"),
    "source_label_missing": lambda r: r["cards"][0]["source"].pop("label"),
    "source_url_relative": lambda r: r["cards"][0]["source"].update(url="/about"),
    "source_topic_not_coding": lambda r: r["cards"][0]["source"].update(topic="review"),
    "card_uuid_missing": lambda r: r["cards"][0].pop("uuid"),
    "detail_not_string": lambda r: r["cards"][0].update(detail={"text": "x"}),
    "link_type_invalid": lambda r: r["cards"][0]["links"][0].update(type="relative"),
    "link_missing_url": lambda r: r["cards"][0]["links"][0].pop("url"),
    "link_url_relative": lambda r: r["cards"][0]["links"][0].update(url="guide.html"),
    "link_appcontext_on_absolute": lambda r: r["cards"][0]["links"][0].update(appContext="x"),
    "suggestions_without_selection_behavior": lambda r: r["cards"][1].pop("selectionBehavior"),
    "selection_behavior_invalid": lambda r: r["cards"][1].update(selectionBehavior="all"),
    "suggestion_missing_label": lambda r: r["cards"][1]["suggestions"][0].pop("label"),
    "suggestion_missing_uuid": lambda r: r["cards"][1]["suggestions"][0].pop("uuid"),
    "action_type_invalid": lambda r: r["cards"][1]["suggestions"][0]["actions"][0].update(
        type="insert"
    ),
    "action_missing_description": lambda r: r["cards"][1]["suggestions"][0]["actions"][0].pop(
        "description"
    ),
    "action_create_without_resource": lambda r: r["cards"][1]["suggestions"][0]["actions"][0].pop(
        "resource"
    ),
    "action_resource_invalid_fhir": lambda r: r["cards"][1]["suggestions"][0]["actions"][0][
        "resource"
    ].update(authoredOn="yesterday"),
    "action_delete_resource_id_not_a_list": lambda r: r["cards"][1]["suggestions"][0]["actions"][
        1
    ].update(resourceId="MedicationRequest/draft-1"),
    "action_delete_without_resource_id": lambda r: r["cards"][1]["suggestions"][0]["actions"][
        1
    ].pop("resourceId"),
    "system_action_invalid_fhir": lambda r: r["systemActions"][0]["resource"].update(
        resourceType="NoSuchResource"
    ),
    "system_action_type_invalid": lambda r: r["systemActions"][0].update(type="upsert"),
    "override_reason_without_display": lambda r: r["cards"][1]["overrideReasons"][0].pop("display"),
    "no_cards_list": lambda r: r.pop("cards"),
}

_DISCOVERY_DEFECTS: dict[str, Callable[[list[dict[str, Any]]], Any]] = {
    "discovery_no_services": lambda s: s.clear(),
    "discovery_missing_id": lambda s: s[2].pop("id"),
    "discovery_missing_hook": lambda s: s[2].pop("hook"),
    "discovery_wrong_hook": lambda s: s[0].update(hook="order_sign"),
    "discovery_missing_description": lambda s: s[1].pop("description"),
    "discovery_prefetch_not_object": lambda s: s[1].update(prefetch=["Patient/{{context.id}}"]),
    "discovery_prefetch_template_not_string": lambda s: s[1]["prefetch"].update(pt=7),
    "discovery_prefetch_absolute_url": lambda s: s[1]["prefetch"].update(
        pt="https://fhir.test/Patient/{{context.patientId}}"
    ),
    "discovery_duplicate_ids": lambda s: s[2].update(id=s[1]["id"]),
    "discovery_id_not_url_safe": lambda s: s[2].update(id="chart summary!"),
}

#: what a broken but otherwise working service does, by defect: the kit group to catch it
DEFECTS: dict[str, str] = {
    **dict.fromkeys(_DISCOVERY_DEFECTS, "discovery"),
    **dict.fromkeys(_CARD_DEFECTS, "cards"),
    **dict.fromkeys(
        (
            "accepts_no_token",
            "accepts_unsigned",
            "accepts_expired",
            "accepts_wrong_audience",
            "accepts_wrong_issuer",
            "accepts_wrong_key",
            "accepts_replayed_jti",
        ),
        "security",
    ),
    **dict.fromkeys(
        (
            "no_412_without_prefetch",
            "ignores_fhir_server",
            "fetch_without_token",
            "echoes_fhir_token",
        ),
        "prefetch",
    ),
    **dict.fromkeys(
        ("bad_json_500", "accepts_missing_fields", "accepts_wrong_hook", "unknown_service_200"),
        "errors",
    ),
    **dict.fromkeys(("no_cors", "cors_without_authorization"), "cors"),
    **dict.fromkeys(("no_feedback_endpoint", "feedback_accepts_bad_outcome"), "feedback"),
}


class Defective:
    """The app's state: the client's public key and issuer, the origin, seen ``jti``."""

    def __init__(self, public_jwk: dict[str, Any], iss: str, origin: str) -> None:
        self.key = jwt.PyJWK(public_jwk, algorithm="ES384").key
        self.iss, self.origin = iss, origin
        self.seen: set[str] = set()
        self.lock = threading.Lock()

    def authorised(self, request: Request, defect: str) -> bool:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return defect == "accepts_no_token"
        tok = auth[7:]
        try:
            alg = jwt.get_unverified_header(tok).get("alg")
            verify = not (
                defect == "accepts_wrong_key" or (defect == "accepts_unsigned" and alg == "none")
            )
            claims = jwt.decode(
                tok,
                self.key if verify else None,
                algorithms=["ES384"],
                audience=str(request.url).split("?")[0],
                options={
                    "verify_signature": verify,
                    "verify_exp": defect != "accepts_expired",
                    "verify_aud": defect != "accepts_wrong_audience",
                    "require": ["exp", "jti", "iss"],
                },
            )
        except jwt.PyJWTError:
            return False
        if claims["iss"] != self.iss and defect != "accepts_wrong_issuer":
            return False
        with self.lock:
            if claims["jti"] in self.seen and defect != "accepts_replayed_jti":
                return False
            self.seen.add(claims["jti"])
        return True


def _services(defect: str) -> list[dict[str, Any]]:
    s = copy.deepcopy(SERVICES)
    if defect in _DISCOVERY_DEFECTS:
        _DISCOVERY_DEFECTS[defect](s)
    return s


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


_TOKEN = re.compile(r"\{\{\s*context\.(\w+)\s*\}\}")


async def _fetch(
    body: dict[str, Any], templates: dict[str, str], missing: list[str], defect: str
) -> dict[str, Any]:
    auth = body.get("fhirAuthorization") or {}
    headers = (
        {}
        if defect == "fetch_without_token"
        else {"Authorization": f"Bearer {auth.get('access_token', '')}"}
    )
    out = {}
    async with httpx.AsyncClient(timeout=10) as client:
        for k in missing:
            q = _TOKEN.sub(lambda m: str(body["context"].get(m.group(1), "")), str(templates[k]))
            r = await client.get(f"{body['fhirServer'].rstrip('/')}/{q}", headers=headers)
            out[k] = r.json() if r.status_code == 200 else None
    return out


async def _hook(state: Defective, defect: str, sid: str, request: Request) -> Response:
    svc = next((s for s in _services(defect) if s.get("id") == sid), None)
    if svc is None:
        return JSONResponse({"cards": []}) if defect == "unknown_service_200" else _error(404, "no")
    raw = await request.body()
    try:
        body = json.loads(raw)
    except ValueError:
        if defect == "bad_json_500":
            return Response("Internal Server Error", status_code=500)
        return _error(400, "body: not JSON")
    lax = defect == "accepts_missing_fields"
    if not isinstance(body, dict) or any(
        k not in body for k in ("hook", "hookInstance", "context")
    ):
        if not lax:
            return _error(400, "hook, hookInstance and context are required")
        body = {"context": {}, **(body if isinstance(body, dict) else {})}
    if body.get("hook") != svc.get("hook") and defect != "accepts_wrong_hook" and not lax:
        return _error(400, "hook does not match the service")
    templates = svc.get("prefetch") if isinstance(svc.get("prefetch"), dict) else {}
    pre = dict(body.get("prefetch") or {})
    missing = [k for k in templates if k not in pre]
    if missing and defect != "no_412_without_prefetch":
        if not body.get("fhirServer") or defect == "ignores_fhir_server":
            return _error(412, "prefetch missing and no fhirServer")
        pre.update(await _fetch(body, templates, missing, defect))
    resp = _cards(str(body["context"].get("patientId", "unknown")))
    if defect in _CARD_DEFECTS:
        _CARD_DEFECTS[defect](resp)
    if defect == "echoes_fhir_token" and body.get("fhirAuthorization"):
        resp["cards"][0]["detail"] = f"read with {body['fhirAuthorization']['access_token']}"
    return JSONResponse(resp)


async def _feedback(defect: str, request: Request) -> Response:
    if defect == "no_feedback_endpoint":
        return _error(404, "no feedback here")
    try:
        items = json.loads(await request.body())["feedback"]
        ok = all(
            isinstance(i.get("card"), str) and i.get("outcome") in ("accepted", "overridden")
            for i in items
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        ok = False
    if not ok and defect != "feedback_accepts_bad_outcome":
        return _error(400, "feedback: card and outcome accepted|overridden required")
    return JSONResponse({})


def create_app(public_jwk: dict[str, Any], iss: str, origin: str) -> FastAPI:
    """The app: every defect of :data:`DEFECTS` (and ``none``) under its own base path."""
    state = Defective(public_jwk, iss, origin)
    app = FastAPI()

    @app.middleware("http")
    async def cors_and_auth(request: Request, call_next: Any) -> Response:
        defect = request.url.path.strip("/").split("/")[0]
        if request.method == "OPTIONS":
            if defect == "no_cors":
                return Response(status_code=405)
            allow = (
                "content-type"
                if defect == "cors_without_authorization"
                else ("authorization, content-type")
            )
            return Response(
                status_code=204,
                headers={
                    "Access-Control-Allow-Origin": state.origin,
                    "Access-Control-Allow-Methods": "GET, POST",
                    "Access-Control-Allow-Headers": allow,
                },
            )
        if not state.authorised(request, defect):
            return Response(status_code=401)
        return await call_next(request)

    @app.get("/{defect}/cds-services")
    async def discovery(defect: str) -> Response:
        if defect == "discovery_no_services":
            return JSONResponse({"service": []})
        return JSONResponse({"services": _services(defect)})

    @app.post("/{defect}/cds-services/{sid}")
    async def hook(defect: str, sid: str, request: Request) -> Response:
        return await _hook(state, defect, sid, request)

    @app.post("/{defect}/cds-services/{sid}/feedback")
    async def feedback(defect: str, sid: str, request: Request) -> Response:
        return await _feedback(defect, request)

    return app


@contextmanager
def serve(app: FastAPI, port: int) -> Iterator[str]:
    """Run ``app`` on a real uvicorn server at 127.0.0.1:``port``; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the defective service did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        t.join(10)
