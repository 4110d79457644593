"""Access matrix: every route of ``/openapi.json`` x {no token, wrong token, another
patient's diary token, clinician token}, plus another clinic's clinician.

Documented rules (docs/clinic.md): ``/health`` and ``/ready`` are public; clinician
routes give a bare ``401`` without a valid clinician bearer token (a diary token is not
one); ``/diary/{token}/...`` routes give ``401`` for anything but a live diary token and
only ever show that token's patient; another clinic's clinician gets ``404`` for this
clinic's patients and jobs.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest


def _ago(n: int) -> str:
    return (dt.date.today() - dt.timedelta(days=n)).isoformat()


def _entry(n: int) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "date": _ago(n), "pain": 6, "sleep": 4, "side_effects": 1}


#: (method, path template) -> (request kwargs factory, success status); in run order
def _cases(sample: dict[str, Any]) -> dict[tuple[str, str], tuple[Any, int]]:
    lv = {
        "rows": [
            {
                "datetime": f"{_ago(1)} 09:00",
                "analyte": "amitriptyline",
                "value": 30,
                "unit": "ng/mL",
            }
        ]
    }
    return {
        ("GET", "/health"): (lambda: {}, 200),
        # readiness: public, no patient data (database, migrations, knowledge base)
        ("GET", "/ready"): (lambda: {}, 200),
        ("GET", "/api/v1/drugs"): (lambda: {}, 200),
        ("GET", "/api/v1/drugs/{name}"): (lambda: {}, 200),
        ("GET", "/api/v1/sources/{key}"): (lambda: {}, 200),
        ("GET", "/api/v1/conditions"): (lambda: {}, 200),
        ("POST", "/api/v1/patients"): (lambda: {"json": sample}, 201),
        ("GET", "/api/v1/patients"): (lambda: {}, 200),
        ("GET", "/api/v1/patients/{pid}"): (lambda: {}, 200),
        ("PUT", "/api/v1/patients/{pid}"): (lambda: {"json": sample}, 200),
        ("GET", "/api/v1/patients/{pid}/assessment"): (lambda: {}, 200),
        ("GET", "/api/v1/patients/{pid}/plan"): (lambda: {}, 200),
        ("GET", "/api/v1/patients/{pid}/plan.ics"): (lambda: {}, 200),
        ("POST", "/api/v1/patients/{pid}/levels"): (lambda: {"json": lv}, 201),
        ("GET", "/api/v1/patients/{pid}/tdm"): (lambda: {}, 200),
        ("GET", "/api/v1/patients/{pid}/diary"): (lambda: {}, 200),
        ("GET", "/api/v1/patients/{pid}/response"): (lambda: {}, 200),
        ("GET", "/api/v1/diary/{token}/entries"): (lambda: {}, 200),
        ("POST", "/api/v1/diary/{token}/entries"): (lambda: {"json": _entry(0)}, 201),
        ("GET", "/api/v1/diary/{token}/plan"): (lambda: {}, 200),
        ("POST", "/api/v1/patients/{pid}/regimen"): (
            lambda: {"json": {"drug": "amitriptyline", "start_date": _ago(20)}},
            201,
        ),
        ("POST", "/api/v1/patients/{pid}/plan/taper"): (lambda: {"json": {}}, 201),
        ("POST", "/api/v1/patients/{pid}/plan/switch"): (
            lambda: {"json": {"to": "duloxetine", "current_daily_mg": 20}},
            201,
        ),
        ("GET", "/api/v1/patients/{pid}/fhir/assessment"): (lambda: {}, 200),
        ("GET", "/api/v1/patients/{pid}/fhir/careplan"): (lambda: {}, 200),
        ("GET", "/api/v1/patients/{pid}/fhir/observations"): (lambda: {}, 200),
        # admins only: a clinician's token is refused with 403
        ("GET", "/api/v1/cds/feedback"): (lambda: {}, 403),
        ("POST", "/api/v1/simulate"): (
            lambda: {"json": {"drug": "nortriptyline", "regimen": {"dose": "10 mg", "days": 2}}},
            200,
        ),
        ("POST", "/api/v1/explain"): (
            lambda: {"json": {"drug": "nortriptyline", "dose": "10 mg", "days": 3}},
            200,
        ),
        ("POST", "/api/v1/trials"): (lambda: {"json": {"bad": 1}}, 422),
        ("GET", "/api/v1/trials/{job}"): (lambda: {}, 200),
        ("DELETE", "/api/v1/trials/{job}"): (lambda: {}, 200),
        ("POST", "/api/v1/trials/{job}/retry"): (lambda: {}, 202),
        ("GET", "/api/v1/patients/{pid}/audit"): (lambda: {}, 200),
        ("POST", "/api/v1/patients/{pid}/diary-link"): (lambda: {}, 201),
        ("DELETE", "/api/v1/patients/{pid}/diary-link"): (lambda: {}, 204),
    }


@pytest.fixture(scope="module")
def world(sqlite_clinic):
    from neurodose.cli.assess import SAMPLE_PATIENT

    api = sqlite_clinic.api("alice")
    pids = []
    tokens = []
    for _ in range(2):
        pid = api.post("/api/v1/patients", json=SAMPLE_PATIENT).json()["id"]
        api.post(
            f"/api/v1/patients/{pid}/regimen",
            json={"drug": "amitriptyline", "start_date": _ago(14)},
        )
        tok = api.post(f"/api/v1/patients/{pid}/diary-link").json()["token"]
        for i in range(1, 9):
            r = sqlite_clinic.server.client().post(f"/api/v1/diary/{tok}/entries", json=_entry(i))
            assert r.status_code == 201
        pids.append(pid)
        tokens.append(tok)
    design = {
        "name": "t",
        "weeks": 2,
        "condition": "diabetic_neuropathy",
        "n_per_arm": 20,
        "seed": 1,
        "arms": [{"name": "placebo", "drug": "placebo"}],
    }
    job = api.post("/api/v1/trials", json=design).json()["job"]
    key = api.get(f"/api/v1/patients/{pids[0]}/assessment").json()["sources"][0]
    key = key["key"] if isinstance(key, dict) else key
    return {
        "pid": pids[0],
        "token": tokens[0],
        "other_token": tokens[1],
        "other_pid": pids[1],
        "job": job,
        "key": key,
        "name": "amitriptyline",
    }


def _path(tpl: str, w: dict[str, str], token: str) -> str:
    return tpl.format(pid=w["pid"], job=w["job"], key=w["key"], name=w["name"], token=token)


def test_every_route_has_a_rule(sqlite_clinic, world):
    spec = sqlite_clinic.server.client().get("/openapi.json").json()
    routes = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    tested = set(_cases({})) | {("POST", "/api/v1/token")}  # login: test_api
    assert routes <= tested, f"routes without an access rule: {sorted(routes - tested)}"


def test_access_matrix(sqlite_clinic, world):
    from neurodose.cli.assess import SAMPLE_PATIENT

    srv = sqlite_clinic.server
    cases = _cases(SAMPLE_PATIENT)
    wrong = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.bad"
    seen: dict[tuple[str, str, str], int] = {}
    for (method, tpl), (kwargs, ok) in cases.items():
        diary = tpl.startswith("/api/v1/diary/")
        public = tpl in ("/health", "/ready")
        variants = {
            "none": (None, "-"),
            "wrong": (wrong, wrong),
            "other_diary": (world["other_token"], world["other_token"]),
            "clinician": (sqlite_clinic.tokens["alice"], sqlite_clinic.tokens["alice"]),
        }
        for who, (bearer, path_token) in variants.items():
            client = srv.client(bearer)
            r = client.request(method, _path(tpl, world, path_token), **kwargs())
            seen[(method, tpl, who)] = r.status_code
            if public:
                expected = 200
            elif diary:
                expected = ok if who == "other_diary" else 401
            else:
                expected = ok if who == "clinician" else 401
            assert r.status_code == expected, (method, tpl, who, r.text[:300])
            if r.status_code == 401:
                assert r.json() == {"detail": "not authenticated"}
            if diary and who == "other_diary" and method == "GET" and tpl.endswith("entries"):
                mine = (
                    srv.client(sqlite_clinic.tokens["alice"])
                    .get(f"/api/v1/patients/{world['other_pid']}/diary")
                    .json()
                )
                assert {e["id"] for e in r.json()} == {e["id"] for e in mine}
    # the other patient's token wrote only to the other patient's diary
    a = srv.client(sqlite_clinic.tokens["alice"]).get(f"/api/v1/patients/{world['pid']}/diary")
    assert len(a.json()) == 8
    assert len(seen) == 4 * len(cases)


def test_other_clinic_sees_404(sqlite_clinic, world):
    from neurodose.cli.assess import SAMPLE_PATIENT

    bob = sqlite_clinic.api("bob")
    for (method, tpl), (kwargs, _ok) in _cases(SAMPLE_PATIENT).items():
        if "{pid}" not in tpl and "{job}" not in tpl:
            continue
        r = bob.request(method, _path(tpl, world, "-"), **kwargs())
        assert r.status_code == 404, (method, tpl, r.text[:200])
    assert world["pid"] not in {p["id"] for p in bob.get("/api/v1/patients").json()["items"]}


def test_revoked_diary_link_is_401(sqlite_clinic, world):
    api = sqlite_clinic.api("alice")
    pid = world["other_pid"]
    tok = api.post(f"/api/v1/patients/{pid}/diary-link").json()["token"]
    pat = sqlite_clinic.server.client()
    assert pat.get(f"/api/v1/diary/{tok}/entries").status_code == 200
    assert api.delete(f"/api/v1/patients/{pid}/diary-link").status_code == 204
    assert pat.get(f"/api/v1/diary/{tok}/entries").status_code == 401
    assert pat.post(f"/api/v1/diary/{tok}/entries", json=_entry(30)).status_code == 401


#: the SMART App Launch pages (service/smart_pages.py) and what each gives a request
#: with no launch cookie and no session: the launch needs a registered ``iss`` (none is
#: registered here), the callback, resume and link a launch of this browser, create a
#: session, the EHR links page and its remove form a session (the form also its CSRF
#: token and a link of the signed-in account: tests/service/test_smart_http.py)
SMART_RULES = {
    ("GET", "/smart/launch"): (400, "not registered"),
    ("GET", "/smart/callback"): (400, "not known"),
    ("GET", "/smart/resume"): (400, "No launch is waiting"),
    ("POST", "/smart/link"): (400, "No launch is waiting"),
    ("POST", "/smart/create"): (303, "/login"),
    ("GET", "/smart/links"): (303, "/login"),
    ("POST", "/smart/links/{link_id}/remove"): (303, "/login"),
}


def test_smart_routes_have_a_rule(sqlite_clinic):
    from neurodose.service.smart_pages import router

    routes = {(m, r.path) for r in router.routes for m in getattr(r, "methods", ())}
    assert routes == set(SMART_RULES)
    for who in (None, sqlite_clinic.tokens["alice"]):  # a bearer token is no session
        c = sqlite_clinic.server.client(who)
        for (method, path), (status, says) in SMART_RULES.items():
            url = path.format(link_id=1)
            r = c.request(method, url, params={"iss": "https://ehr.example.org/fhir"})
            assert r.status_code == status, (method, path, r.text[:200])
            assert says in (r.headers.get("location", "") if status == 303 else r.text)
            assert "nd_session" not in r.headers.get("set-cookie", "")


#: the admin page (service/pages/admin.py): admins only. Without a session the browser
#: goes to the login page (a bearer token is no session); a clinician's session gets 403;
#: an admin's session: the page (a POST also needs the session's CSRF token). The target
#: is a throwaway account: disabling one ends its tokens, and other tests use carol's
ADMIN_RULES = {
    ("GET", "/admin"): {},
    ("POST", "/admin/users/{name}/disable"): {"name": "dora"},
    ("POST", "/admin/users/{name}/enable"): {"name": "dora"},
}


def test_admin_routes_have_a_rule_and_non_admins_get_403(sqlite_clinic):
    from neurodose.service.pages.admin import router

    from .test_admin_page import admin_session, ensure_user
    from .test_hardening import sign_in

    routes = {(m, r.path) for r in router.routes for m in getattr(r, "methods", ())}
    assert routes == set(ADMIN_RULES)
    ensure_user(sqlite_clinic, "dora")
    clinician, c_csrf = sign_in(sqlite_clinic.server.url, "alice")
    admin, a_csrf = admin_session(sqlite_clinic)
    try:
        for (method, tpl), fill in ADMIN_RULES.items():
            path = tpl.format(**fill)
            for who in (None, sqlite_clinic.tokens["alice"]):  # nobody; a bearer token
                r = sqlite_clinic.server.client(who).request(method, path, data={"csrf": "x"})
                assert r.status_code == 303 and r.headers["location"].startswith("/login")
            r = clinician.request(method, path, data={"csrf": c_csrf})
            assert r.status_code == 403 and "Admins only" in r.text, (method, path)
            if method == "POST":  # the admin without the CSRF token: to the login page
                r = admin.request(method, path, data={})
                assert r.status_code == 303 and r.headers["location"] == "/login?expired=1"
        # dora (clinic a) still signs in: the clinician's and the forged posts changed nothing
        assert sqlite_clinic.server.token("dora")
        for (method, tpl), fill in ADMIN_RULES.items():
            r = admin.request(method, tpl.format(**fill), data={"csrf": a_csrf})
            assert r.status_code == 200, (method, tpl, r.text[-500:])
    finally:
        clinician.close()
        admin.close()
