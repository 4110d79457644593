"""Hardening of the clinic over HTTP (a real server, as the other service tests):
security headers on every page and API response, no text from a query string in a
page, errors inside the page (never raw JSON, never 500) for malformed values in
every form, a friendly page for a dead diary link.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import httpx
import pytest

from .conftest import PASSWORD

MARK = "zq-INJECTED-7x"


def _ago(n: int) -> str:
    return (dt.date.today() - dt.timedelta(days=n)).isoformat()


def _hidden(html: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert m, f"no hidden {name} in the page"
    return m.group(1)


def sign_in(url: str, name: str) -> tuple[httpx.Client, str]:
    """A browser-like client signed in as ``name`` and the session's CSRF token."""
    c = httpx.Client(base_url=url, timeout=120)
    pre = _hidden(c.get("/login").text, "csrf")
    r = c.post(
        "/login", data={"username": name, "password": PASSWORD, "csrf": pre, "next": "/patients"}
    )
    assert r.status_code == 303, r.text
    csrf = _hidden(c.get("/patients").text, "csrf")
    return c, csrf


@pytest.fixture(scope="module")
def site(sqlite_clinic) -> Any:
    """A patient on amitriptyline with a plan, levels and diary; a diary token; a
    signed-in browser client."""
    from neurodose.cli.assess import SAMPLE_PATIENT

    api = sqlite_clinic.api("alice")
    pid = api.post("/api/v1/patients", json=SAMPLE_PATIENT).json()["id"]
    r = api.post(
        f"/api/v1/patients/{pid}/regimen", json={"drug": "amitriptyline", "start_date": _ago(20)}
    )
    assert r.status_code == 201, r.text
    tok = api.post(f"/api/v1/patients/{pid}/diary-link").json()["token"]
    pat = sqlite_clinic.server.client()
    for i in range(1, 6):
        e = {"id": str(uuid.uuid4()), "date": _ago(i), "pain": 6, "sleep": 3}
        assert pat.post(f"/api/v1/diary/{tok}/entries", json=e).status_code == 201
    lv = {
        "rows": [
            {
                "datetime": f"{_ago(1)} 09:00",
                "analyte": "amitriptyline",
                "value": 40,
                "unit": "ng/mL",
            }
        ]
    }
    assert api.post(f"/api/v1/patients/{pid}/levels", json=lv).status_code == 201
    key = api.get(f"/api/v1/patients/{pid}/assessment").json()["sources"][0]
    key = key["key"] if isinstance(key, dict) else key
    design = {
        "name": "hardening",
        "weeks": 2,
        "condition": "diabetic_neuropathy",
        "n_per_arm": 20,
        "seed": 1,
        "arms": [{"name": "placebo", "drug": "placebo"}],
    }
    job = api.post("/api/v1/trials", json=design).json()["job"]
    client, csrf = sign_in(sqlite_clinic.server.url, "alice")
    yield {"pid": pid, "token": tok, "key": key, "client": client, "csrf": csrf, "job": job}
    client.close()


#: every page route (GET) of the clinic -> how to fill its path
PAGES = {
    "/login": "/login",
    "/patients": "/patients",
    "/patients/new": "/patients/new",
    "/patients/{pid}": "/patients/{pid}",
    "/patients/{pid}/plan": "/patients/{pid}/plan",
    "/patients/{pid}/levels": "/patients/{pid}/levels",
    "/patients/{pid}/diary": "/patients/{pid}/diary",
    "/patients/{pid}/audit": "/patients/{pid}/audit",
    "/sources/{key}": "/sources/{key}",
    "/d/{token}": "/d/{token}",
    "/trials": "/trials",
    "/trials/{job}": "/trials/{job}",
    "/admin": "/admin",  # as the clinic's admin (test_admin_page.py)
}
#: API responses with patient data (and two without), checked the same way
API = [
    "/api/v1/patients",
    "/api/v1/patients/{pid}",
    "/api/v1/patients/{pid}/assessment",
    "/api/v1/patients/{pid}/diary",
    "/api/v1/patients/{pid}/tdm",
    "/api/v1/patients/{pid}/plan",
    "/api/v1/diary/{token}/entries",
    "/api/v1/drugs",
    "/health",
    "/api/v1/patients/no-such-patient",  # an error response too
]


def test_every_page_route_is_checked(sqlite_clinic):
    """The list above is the app's list: a new page cannot miss the header checks."""
    from neurodose.service.app import create_app
    from neurodose.service.settings import Settings

    app = create_app(
        Settings.from_env(database_url=sqlite_clinic.server.db_url, secret_key="k" * 40),
        migrate_db=False,
    )
    pages = {
        r.path
        for r in app.routes
        if "GET" in getattr(r, "methods", set())
        and not getattr(r, "include_in_schema", True)
        and r.path not in ("/", "/static-plotly/plotly.min.js", "/ehr-demo", "/ehr-demo/samples")
        and not r.path.startswith(("/docs", "/redoc", "/openapi"))
        and not r.path.endswith((".ics", ".csv"))
        # SMART launch pages: headers checked in test_smart_http.py
        and not r.path.startswith("/smart/")
    }
    assert pages <= set(PAGES), f"pages without header checks: {sorted(pages - set(PAGES))}"


def _responses(sqlite_clinic, site) -> list[tuple[str, httpx.Response]]:
    fill = {"pid": site["pid"], "token": site["token"], "key": site["key"], "job": site["job"]}
    from .test_admin_page import admin_session

    out = []
    admin, _ = admin_session(sqlite_clinic)
    for tpl in PAGES.values():
        path = tpl.format(**fill)
        r = (admin if path.startswith("/admin") else site["client"]).get(path)
        assert r.status_code == 200 and "text/html" in r.headers["content-type"], (path, r.text)
        out.append((path, r))
    admin.close()
    api = sqlite_clinic.api("alice")
    for tpl in API:
        path = tpl.format(**fill)
        r = api.get(path)
        assert r.status_code in (200, 404), (path, r.status_code, r.text[:200])
        out.append((path, r))
    return out


def _csp(r: httpx.Response) -> dict[str, list[str]]:
    policy = r.headers.get("content-security-policy", "")
    return {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}


HEADER_CHECKS = {
    "csp-no-inline-script": lambda r: (
        _csp(r).get("script-src") == ["'self'"]
        and "'unsafe-inline'" not in _csp(r).get("default-src", [])
        and _csp(r).get("object-src") == ["'none'"]
    ),
    "csp-frame-ancestors-none": lambda r: (
        _csp(r).get("frame-ancestors") == ["'none'"] and r.headers.get("x-frame-options") == "DENY"
    ),
    "nosniff": lambda r: r.headers.get("x-content-type-options") == "nosniff",
    "referrer-policy": lambda r: r.headers.get("referrer-policy") == "no-referrer",
    "cache-control-no-store": lambda r: r.headers.get("cache-control") == "no-store",
}


@pytest.mark.parametrize("check", sorted(HEADER_CHECKS))
def test_security_header_on_every_page_and_api_response(sqlite_clinic, site, check):
    bad = [p for p, r in _responses(sqlite_clinic, site) if not HEADER_CHECKS[check](r)]
    assert not bad, f"{check} missing on {bad}"


def test_static_assets_are_cacheable_but_hardened(sqlite_clinic):
    c = sqlite_clinic.server.client()
    for path in ("/static/clinic.css", "/static/plot.js", "/static/htmx.min.js"):
        r = c.get(path)
        assert r.status_code == 200
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "no-store" not in r.headers.get("cache-control", "")


def test_pages_have_no_inline_script(sqlite_clinic, site):
    """Every <script> of every page loads a file or holds data (JSON), never code;
    no inline event handlers (the CSP would block them)."""
    for path, r in _responses(sqlite_clinic, site):
        if "text/html" not in r.headers["content-type"]:
            continue
        for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", r.text, re.S):
            assert "src=" in attrs or 'type="application/json"' in attrs, (path, attrs)
            assert "src=" not in attrs or not body.strip(), (path, body[:80])
        assert not re.search(r"\son[a-z]+\s*=", r.text), path
        assert "style=" not in r.text, path


def test_query_text_is_not_reflected(sqlite_clinic, site):
    """Crafted links cannot put text in a page (the old levels ``error=`` and diary
    ``saved=``/``error=`` boxes, the login ``next``)."""
    c = site["client"]
    for path in (
        f"/patients/{site['pid']}/levels?error={MARK}",
        f"/patients/{site['pid']}/plan?link={MARK}",
        f"/d/{site['token']}?saved={MARK}&error={MARK}",
        f"/login?next=/{MARK}%22%3E%3Cb%3E",
        f"/login?next=https://evil.example/{MARK}",
    ):
        r = c.get(path)
        assert r.status_code == 200, path
        assert "%22" not in r.text and "evil.example" not in r.text, path
        if not path.startswith("/login"):
            assert MARK not in r.text, path


def test_diary_saved_box_shows_the_stored_entry(sqlite_clinic, site):
    pat = httpx.Client(base_url=sqlite_clinic.server.url, timeout=60)
    page = pat.get(f"/d/{site['token']}").text
    eid = _hidden(page, "entry_id")
    r = pat.post(
        f"/d/{site['token']}", data={"entry_id": eid, "date": _ago(9), "pain": "4", "notes": ""}
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/d/{site['token']}?saved={eid}"
    shown = pat.get(r.headers["location"]).text
    assert f"Saved for {_ago(9)}" in shown
    # another id (or none of this patient's) shows no box
    assert "Saved for" not in pat.get(f"/d/{site['token']}?saved={uuid.uuid4()}").text
    pat.close()


# ---------------------------------------------------------------- errors inside the page
BAD_DATES = ["2026-02-30", "31/01/2026", "yesterday", "2026-1-1x", "9" * 60]


def _is_page_with(r: httpx.Response, status: int, *texts: str) -> None:
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("text/html"), r.text[:300]
    for t in texts:
        assert t in r.text, (t, r.text[:2000])


def test_start_a_topical_option_shows_its_plan(sqlite_clinic):
    """ "Start" on a capsaicin patch or a lidocaine plaster gives the plan page (the
    application schedule, no mg dose, no level chart), never raw JSON."""
    from neurodose.cli.assess import SAMPLE_PATIENT

    api = sqlite_clinic.api("alice")
    c, csrf = sign_in(sqlite_clinic.server.url, "alice")
    for drug in ("capsaicin_patch", "lidocaine_plaster"):
        pid = api.post("/api/v1/patients", json=SAMPLE_PATIENT).json()["id"]
        r = c.post(
            f"/patients/{pid}/start",
            data={"drug": drug, "start_date": _ago(0), "csrf": csrf},
            follow_redirects=True,
        )
        _is_page_with(r, 200, "No blood-level chart", "on the painful area")
        assert " mg every " not in r.text
    c.close()


def test_start_with_a_bad_date_or_drug_reenders_the_assessment(sqlite_clinic, site):
    c, csrf, pid = site["client"], site["csrf"], site["pid"]
    for bad in BAD_DATES:
        r = c.post(
            f"/patients/{pid}/start",
            data={"drug": "nortriptyline", "start_date": bad, "csrf": csrf},
        )
        _is_page_with(r, 422, 'id="start-nortriptyline-error"', "YYYY-MM-DD")
    r = c.post(f"/patients/{pid}/start", data={"drug": "nortriptylin", "csrf": csrf})
    _is_page_with(r, 422, "Nothing was started", "nortriptyline")


def test_switch_typo_and_bad_dates_on_the_plan_page(sqlite_clinic, site):
    c, csrf, pid = site["client"], site["csrf"], site["pid"]
    r = c.post(f"/patients/{pid}/switch", data={"to": "dulox", "csrf": csrf})
    _is_page_with(r, 422, 'id="to-error"', "duloxetine", 'value="dulox"')
    for bad in BAD_DATES:
        r = c.post(
            f"/patients/{pid}/switch", data={"to": "duloxetine", "start_date": bad, "csrf": csrf}
        )
        _is_page_with(r, 422, 'id="switch-start-error"', "YYYY-MM-DD")
        r = c.post(f"/patients/{pid}/taper", data={"start_date": bad, "csrf": csrf})
        _is_page_with(r, 422, 'id="taper-start-error"', "YYYY-MM-DD")
    r = c.post(f"/patients/{pid}/taper", data={"method": "sudden", "csrf": csrf})
    _is_page_with(r, 422, "No new plan was made", "sudden")


#: every form of the pages -> malformed bodies (each must give a page, not JSON or 500)
def _malformed(pid: str) -> dict[str, list[dict[str, str]]]:
    junk = ["", " ", "-1", "1e309", "NaN", "<script>x</script>", "\u00e9" * 300, "9" * 400]
    return {
        "/login": [{"username": j, "password": j, "next": j} for j in junk],
        f"/patients/{pid}/start": [{"drug": j, "start_date": j} for j in junk + BAD_DATES],
        f"/patients/{pid}/taper": [{"method": j, "start_date": j} for j in junk + BAD_DATES],
        f"/patients/{pid}/switch": [{"to": j, "start_date": j} for j in junk + BAD_DATES],
        f"/patients/{pid}/levels": [
            {"csv_text": j}
            for j in [
                *junk,
                "datetime,analyte,value,unit\n2026-02-30 09:00,amitriptyline,40,ng/mL",
                "datetime,analyte,value,unit\nyesterday,amitriptyline,40,ng/mL",
                "datetime,analyte,value,unit\n2026-01-01 09:00,amitriptyline,abc,ng/mL",
                "time_h,analyte,value,unit\n-5,amitriptyline,40,furlongs",
                "a,b\n1,2,3,4,5",
            ]
        ],
        "/trials": [{"design": j} for j in [*junk, 'name = "x"\nweeks = 400', "[[arms]"]],
        "/trials/form": [
            {"name": j, "condition": j, "weeks": j, "n_per_arm": j, "seed": j}
            | {f"arm{r}_{k}": j for r in (0, 1) for k in ("name", "drug", "dose", "every")}
            for j in junk
        ],
        "/patients/new": [
            {"age": j, "weight_kg": j, "height_cm": j, "sex": j, "pain_score": j}
            for j in junk + BAD_DATES
        ]
        + [{"age": "60", "conditions": j, "medications": j, "cyp2d6": j} for j in junk],
    }


def test_malformed_values_in_every_form_give_the_form_again(sqlite_clinic, site):
    c, csrf, pid = site["client"], site["csrf"], site["pid"]
    for path, bodies in _malformed(pid).items():
        for body in bodies:
            if path != "/login":
                body = {**body, "csrf": csrf}
            r = c.post(path, data=body)
            assert r.status_code < 500, (path, body, r.text[:300])
            if r.status_code == 303:  # accepted (e.g. an empty field that has a default)
                continue
            assert r.headers["content-type"].startswith("text/html"), (path, body, r.text[:300])
            assert r.status_code in (400, 401, 422), (path, body, r.status_code)
            assert 'class="error' in r.text, (path, body)
    # the patient's diary form
    pat = httpx.Client(base_url=sqlite_clinic.server.url, timeout=60)
    for bad in [*BAD_DATES, "", "2999-01-01"]:
        for body in (
            {"entry_id": str(uuid.uuid4()), "date": bad, "pain": "5"},
            {"entry_id": "not-a-uuid", "date": _ago(40), "pain": bad or "x"},
            {"entry_id": str(uuid.uuid4()), "date": _ago(41), "pain": "11", "sleep": bad},
        ):
            r = pat.post(f"/d/{site['token']}", data=body)
            assert r.status_code in (303, 422), (body, r.status_code, r.text[:300])
            if r.status_code == 422:
                _is_page_with(r, 422, 'id="diary-error"', "Nothing was saved")
    # query strings of the pages
    for path in (
        "/patients?offset=abc",
        "/patients/new?sample=x",
        f"/patients/{pid}/levels?target=abc",
        f"/patients/{pid}/levels?target=150-50",
    ):
        r = c.get(path)
        assert r.status_code in (200, 422), (path, r.status_code)
        assert r.headers["content-type"].startswith("text/html"), (path, r.text[:300])
    pat.close()


def test_dead_diary_link_gets_a_friendly_page(sqlite_clinic, site):
    pat = httpx.Client(base_url=sqlite_clinic.server.url, timeout=60)
    for tok in ("no-such-token", "x" * 300):
        for r in (pat.get(f"/d/{tok}"), pat.post(f"/d/{tok}", data={"pain": "3"})):
            _is_page_with(r, 404, "This diary link does not work", "ask your clinic")
    # a revoked link (a new one replaces it) gives the same page
    api = sqlite_clinic.api("alice")
    tok = api.post(f"/api/v1/patients/{site['pid']}/diary-link").json()["token"]
    assert pat.get(f"/d/{tok}").status_code == 200
    assert api.delete(f"/api/v1/patients/{site['pid']}/diary-link").status_code == 204
    _is_page_with(pat.get(f"/d/{tok}"), 404, "This diary link does not work")
    # the API keeps its documented bare 401
    assert pat.get(f"/api/v1/diary/{tok}/entries").status_code == 401
    pat.close()
    # the module's own token (revoked above) is made again for later tests
    site["token"] = api.post(f"/api/v1/patients/{site['pid']}/diary-link").json()["token"]


def test_page_errors_are_pages_and_api_errors_stay_json(sqlite_clinic, site):
    c = site["client"]
    r = c.get("/patients/no-such-patient")
    _is_page_with(r, 404, "Not found")
    r = c.get("/sources/no-such-source")
    _is_page_with(r, 404, "Not found")
    r = sqlite_clinic.api("alice").get("/api/v1/patients/no-such-patient")
    assert r.status_code == 404 and r.json() == {"detail": "patient not found"}
    r = sqlite_clinic.api("alice").post("/api/v1/patients", json={"age": "x"})
    assert r.status_code == 422 and isinstance(r.json()["detail"], list)


# ---------------------------------------------------------------- files
def _mode(p: Any) -> int:
    import stat

    return stat.S_IMODE(p.stat().st_mode)


def test_sqlite_database_and_folder_are_owner_only(tmp_path):
    """``neurodose serve`` on a new data folder: the folder 0700, the database and its
    WAL 0600 (whatever the umask), the signing key 0600."""
    import os

    from .conftest import Server

    data = tmp_path / "fresh" / "clinic-data"
    old = os.umask(0o022)
    try:
        data.parent.mkdir()

        class Fresh(Server):
            def env(self) -> dict[str, str]:
                return {**super().env(), "NEURODOSE_DATA_DIR": str(data)}

        server = Fresh("", data.parent)  # no --database: SQLite in NEURODOSE_DATA_DIR
        server.start()
        try:
            r = httpx.get(server.url + "/health", timeout=30)
            assert r.json()["database"] == "sqlite"
        finally:
            server.stop()
    finally:
        os.umask(old)
    db = data / "neurodose.sqlite3"
    assert db.exists()
    assert _mode(data) == 0o700
    assert _mode(db) == 0o600
    for extra in (data / "neurodose.sqlite3-wal", data / "neurodose.sqlite3-shm"):
        if extra.exists():
            assert _mode(extra) & 0o077 == 0, (extra, oct(_mode(extra)))


def test_existing_world_readable_database_is_tightened(tmp_path):
    from neurodose.service.db import Database, migrate

    db = tmp_path / "made-by-hand" / "clinic.sqlite3"
    db.parent.mkdir(mode=0o755)
    db.touch(mode=0o644)
    db.chmod(0o644)
    d = Database(f"sqlite:///{db}")
    migrate(d.engine)
    d.dispose()
    assert _mode(db) == 0o600
    assert _mode(db.parent) == 0o755  # an existing folder is the owner's choice
    new = tmp_path / "a" / "b" / "c.sqlite3"
    Database(f"sqlite:///{new}").dispose()
    assert _mode(new) == 0o600
    assert _mode(tmp_path / "a") == _mode(tmp_path / "a" / "b") == 0o700


def test_unknown_medicine_is_a_banner_on_the_assessment_page(sqlite_clinic):
    """Safety round 3: a medicine the knowledge base does not know is kept, and the
    clinic's assessment page names it first, with what was not checked."""
    from neurodose.cli.assess import SAMPLE_PATIENT

    api = sqlite_clinic.api("alice")
    profile = {**SAMPLE_PATIENT, "medications": ["omeprazole", "Zorblax 5 mg"]}
    pid = api.post("/api/v1/patients", json=profile).json()["id"]
    c, _ = sign_in(sqlite_clinic.server.url, "alice")
    r = c.get(f"/patients/{pid}")
    assert r.status_code == 200
    assert 'id="unchecked"' in r.text and "Zorblax 5 mg" in r.text
    assert "not checked" in r.text
    assert r.text.index('id="unchecked"') < r.text.index("Options for this patient")
    c.close()


def test_every_source_link_of_the_assessment_opens_its_page(sqlite_clinic, site):
    """Each finding's and reason's source links to ``/sources/<key>``; that page links
    to the publication (its URL, else its DOI at doi.org), as the API's CSL item says."""
    from markupsafe import escape

    c = site["client"]
    html = c.get(f"/patients/{site['pid']}").text
    keys = sorted(set(re.findall(r'href="/sources/([^"]+)"', html)))
    assert site["key"] in keys, keys
    api = sqlite_clinic.api("alice")
    for key in keys:
        r = c.get(f"/sources/{key}")
        assert r.status_code == 200, (key, r.text[:300])
        assert f"<h1>Source {key}</h1>" in r.text
        csl = api.get(f"/api/v1/sources/{key}").json()
        url = csl.get("URL") or (f"https://doi.org/{csl['DOI']}" if csl.get("DOI") else None)
        if url is None:
            assert "Open the reference" not in r.text, key
        else:
            link = f'<a href="{escape(url)}" rel="noopener">Open the reference</a>'
            assert link in r.text, key
