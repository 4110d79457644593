"""The API contract: the OpenAPI document is snapshotted, and every route of the app
has a response model (or is a listed page, redirect, download or framework route).

The snapshot is ``tests/service/openapi_snapshot.json``, the document a real server
serves at ``/openapi.json`` (CDS Hooks not configured), with ``info.version`` blanked
so a release does not change it. After a deliberate API change, regenerate it with::

    NEURODOSE_UPDATE_OPENAPI=1 PYTHONPATH=src python -m pytest tests/service/test_openapi.py

and commit the new file with the change (the diff is the API change to review).
"""

from __future__ import annotations

import difflib
import json
import os
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

SNAPSHOT = Path(__file__).with_name("openapi_snapshot.json")
REGENERATE = (
    "NEURODOSE_UPDATE_OPENAPI=1 PYTHONPATH=src python -m pytest tests/service/test_openapi.py"
)


def _canonical(doc: dict[str, Any]) -> str:
    doc = json.loads(json.dumps(doc))
    doc["info"]["version"] = "<version>"
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _operations(doc: dict[str, Any]) -> dict[str, str]:
    return {
        f"{method.upper()} {path}": json.dumps(op, sort_keys=True)
        for path, ops in doc.get("paths", {}).items()
        for method, op in ops.items()
    }


def _summary(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The operations and schemas added, removed or changed, one line each."""
    lines = []
    for what, a, b in (
        ("operation", _operations(old), _operations(new)),
        (
            "schema",
            {k: json.dumps(v, sort_keys=True) for k, v in old["components"]["schemas"].items()},
            {k: json.dumps(v, sort_keys=True) for k, v in new["components"]["schemas"].items()},
        ),
    ):
        lines += [f"  {what} added:   {k}" for k in sorted(set(b) - set(a))]
        lines += [f"  {what} removed: {k}" for k in sorted(set(a) - set(b))]
        lines += [f"  {what} changed: {k}" for k in sorted(set(a) & set(b)) if a[k] != b[k]]
    return lines


def test_openapi_document_matches_the_snapshot(sqlite_clinic):
    r = sqlite_clinic.server.client().get("/openapi.json")
    assert r.status_code == 200, r.text
    live = _canonical(r.json())
    if os.environ.get("NEURODOSE_UPDATE_OPENAPI") == "1":
        SNAPSHOT.write_text(live, encoding="utf-8")
    assert SNAPSHOT.exists(), f"no OpenAPI snapshot at {SNAPSHOT}: create it with\n  {REGENERATE}"
    stored = SNAPSHOT.read_text(encoding="utf-8")
    if live == stored:
        return
    diff = list(
        difflib.unified_diff(
            stored.splitlines(), live.splitlines(), "openapi_snapshot.json", "live", lineterm=""
        )
    )
    pytest.fail(
        "the live OpenAPI document differs from tests/service/openapi_snapshot.json:\n"
        + "\n".join(_summary(json.loads(stored), json.loads(live)))
        + f"\nIf the API change is meant, regenerate the snapshot and commit it:\n  {REGENERATE}"
        + "\nFirst lines of the diff:\n"
        + "\n".join(diff[:80]),
        pytrace=False,
    )


# ------------------------------------------------------------------ every route typed
#: routes that answer no JSON body, by (method, path): the reason is the category
NON_JSON: dict[tuple[str, str], str] = {
    # framework: the document itself and its viewers
    ("GET", "/openapi.json"): "framework",
    ("GET", "/docs"): "framework page",
    ("GET", "/docs/oauth2-redirect"): "framework page",
    ("GET", "/redoc"): "framework page",
    ("MOUNT", "/static"): "static files",
    # API: a download and an empty answer
    ("GET", "/api/v1/patients/{pid}/plan.ics"): "download (text/calendar)",
    ("DELETE", "/api/v1/patients/{pid}/diary-link"): "204, no body",
    # clinic pages (HTML), their form posts (redirects) and assets
    ("GET", "/static-plotly/plotly.min.js"): "file download",
    ("GET", "/"): "redirect",
    ("GET", "/login"): "page",
    ("POST", "/login"): "page or redirect",
    ("POST", "/logout"): "redirect",
    ("GET", "/patients"): "page",
    ("GET", "/patients/new"): "page",
    ("POST", "/patients/new"): "page or redirect",
    ("GET", "/patients/{pid}"): "page",
    ("POST", "/patients/{pid}/start"): "redirect",
    ("GET", "/patients/{pid}/plan"): "page",
    ("GET", "/patients/{pid}/plan.ics"): "download (text/calendar)",
    ("POST", "/patients/{pid}/diary-link"): "redirect",
    ("POST", "/patients/{pid}/taper"): "redirect",
    ("POST", "/patients/{pid}/switch"): "redirect",
    ("GET", "/patients/{pid}/levels"): "page",
    ("POST", "/patients/{pid}/levels"): "page or redirect",
    ("GET", "/patients/{pid}/diary"): "page",
    ("GET", "/patients/{pid}/audit"): "page",
    ("GET", "/sources/{key}"): "page",
    ("GET", "/d/{token}"): "page (patient diary)",
    ("GET", "/trials"): "page",
    ("POST", "/trials"): "page or redirect",
    ("POST", "/trials/form"): "page or redirect",
    ("GET", "/trials/{job}"): "page",
    ("POST", "/trials/{job}/cancel"): "redirect",
    ("POST", "/trials/{job}/retry"): "page or redirect",
    ("GET", "/trials/{job}/results.csv"): "download (text/csv)",
    ("GET", "/admin"): "page",
    ("POST", "/admin/users/{name}/disable"): "page",
    ("POST", "/admin/users/{name}/enable"): "page",
    ("POST", "/d/{token}"): "page or redirect",
    ("GET", "/ehr-demo"): "page (CDS Hooks demo)",
    ("GET", "/ehr-demo/samples"): "page (CDS Hooks demo)",
    # SMART App Launch (service/smart_pages.py)
    ("GET", "/smart/launch"): "redirect or page",
    ("GET", "/smart/callback"): "page",
    ("GET", "/smart/resume"): "redirect or page",
    ("POST", "/smart/link"): "redirect or page",
    ("POST", "/smart/create"): "redirect or page",
    ("GET", "/smart/links"): "page",
    ("POST", "/smart/links/{link_id}/remove"): "redirect or page",
}

#: JSON routes of the CDS package that do not declare a response model yet; that package
#: is typed in its own change. Remove an entry when its route gets one (the test says so).
UNTYPED_CDS: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/cds/feedback"): "neurodose.service.cds.admin",
    ("GET", "/cds-services"): "neurodose.service.cds.routes",
    ("POST", "/cds-services/{service_id}"): "neurodose.service.cds.routes",
    ("POST", "/cds-services/{service_id}/feedback"): "neurodose.service.cds.routes",
}


def _is_model(tp: Any) -> bool:
    """A pydantic model, or a list of one (not ``dict``, ``Any`` or a bare type)."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return True
    if typing.get_origin(tp) is list:
        (arg,) = typing.get_args(tp)
        return _is_model(arg)
    return False


def _routes(app: Any) -> list[tuple[str, str, Any]]:
    """(method, path, route) for every route of the app, included routers flattened."""
    import fastapi.routing

    flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    routes = list(flatten(app.routes)) if flatten else list(app.routes)
    out = []
    for r in routes:
        methods = getattr(r, "methods", None)
        for m in sorted(methods - {"HEAD"} if methods else {"MOUNT"}):
            out.append((m, r.path, r))
    return out


@pytest.fixture
def full_app(tmp_path, monkeypatch):
    """The clinic app with every part mounted (CDS Hooks included), not served."""
    monkeypatch.setenv("NEURODOSE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NEURODOSE_SECRET_KEY", "route-test-" + "x" * 40)
    monkeypatch.setenv("NEURODOSE_CDS_DEV_INSECURE", "1")
    monkeypatch.setenv("NEURODOSE_PUBLIC_URL", "http://127.0.0.1:1")
    monkeypatch.delenv("NEURODOSE_CDS_CLIENTS", raising=False)
    from neurodose.service.app import create_app

    app = create_app()
    yield app
    app.state.clinic.db.dispose()


def test_every_route_has_a_response_model_or_is_listed(full_app):
    routes = _routes(full_app)
    seen = {(m, p) for m, p, _ in routes}
    untyped = []
    for method, path, r in routes:
        key = (method, path)
        if key in NON_JSON or key in UNTYPED_CDS:
            continue
        if not _is_model(getattr(r, "response_model", None)):
            untyped.append(
                f"  {method} {path} ({getattr(r.endpoint, '__module__', '?')}): "
                f"response_model={getattr(r, 'response_model', None)!r}"
            )
    assert not untyped, (
        "routes without a pydantic response model (declare response_model= with a model "
        "from neurodose.service.schemas, or add a page, redirect or download to NON_JSON "
        "in tests/service/test_openapi.py):\n" + "\n".join(untyped)
    )
    stale = sorted(set(NON_JSON) - seen)
    assert not stale, f"NON_JSON names routes the app does not have: {stale}"
    gone = sorted(set(UNTYPED_CDS) - seen)
    assert not gone, f"UNTYPED_CDS names routes the app does not have: {gone}"
    typed_now = sorted(
        (m, p)
        for m, p, r in routes
        if (m, p) in UNTYPED_CDS and _is_model(getattr(r, "response_model", None))
    )
    assert not typed_now, (
        f"these routes have a response model now: remove from UNTYPED_CDS {typed_now}"
    )


def test_json_routes_in_the_document_name_a_response_schema(sqlite_clinic):
    """Every documented JSON answer (2xx) refers to a named schema (a model, or a list of
    one), not an inline ``object``; only the listed routes lack one."""
    doc = sqlite_clinic.server.client().get("/openapi.json").json()
    missing = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if (method.upper(), path) in NON_JSON:
                continue
            for code, resp in op["responses"].items():
                if not code.startswith("2"):
                    continue
                schema = resp.get("content", {}).get("application/json", {}).get("schema")
                named = schema and ("$ref" in schema or "$ref" in schema.get("items", {}))
                if (method.upper(), path) not in UNTYPED_CDS and not named:
                    missing.append(f"{method.upper()} {path} {code}")
    assert not missing, "documented without a response schema:\n" + "\n".join(missing)
