"""SMART App Launch over HTTP against a real clinic server and the test EHR
(:mod:`tests.service.smart_ehr`): the authorization request the clinic makes, and every
way a launch must fail (wrong, foreign, expired or replayed state, a code bound to
another PKCE challenge, a missing or wrong verifier, an unregistered issuer, an EHR
error) without a session and without a 500.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from .conftest import PASSWORD
from .smart_ehr import CLIENT_ID, SmartWorld, s256, smart_world

#: the launch lifetime of this module's clinic: long enough for a launch on a loaded
#: machine, short enough for the expiry test to wait it out
LIFETIME_S = 15


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmartWorld]:
    w = smart_world(
        tmp_path_factory.mktemp("smart-http"), NEURODOSE_SMART_LAUNCH_SECONDS=str(LIFETIME_S)
    )
    try:
        yield w
    finally:
        w.stop()


def _browser(world: SmartWorld) -> httpx.Client:
    return world.clinic.client()


def _launch(world: SmartWorld, c: httpx.Client, **extra: str) -> dict[str, str]:
    """Start an EHR launch in ``c``; the authorization request's parameters."""
    chart = httpx.get(
        world.ehr.base + "/ehr",
        params={"patient": "p01", "app": world.clinic.url + "/smart/launch"},
    )
    href = chart.text.split('id="launch-neurodose" href="', 1)[1].split('"', 1)[0]
    q = {k: v[0] for k, v in parse_qs(urlsplit(href.replace("&amp;", "&")).query).items()}
    r = c.get("/smart/launch", params={**q, **extra})
    assert r.status_code == 303, r.text[:300]
    loc = r.headers["location"]
    assert loc.startswith(world.ehr.base + "/auth/authorize?")
    return {k: v[0] for k, v in parse_qs(urlsplit(loc).query).items()}


def _approve(world: SmartWorld, params: dict[str, str], **override: str) -> str:
    """The user approves at the EHR; the code from its redirect."""
    r = httpx.post(world.ehr.base + "/auth/approve", data={**params, **override})
    assert r.status_code == 302, r.text
    q = parse_qs(urlsplit(r.headers["location"]).query)
    assert q["state"] == [params["state"]]
    return q["code"][0]


def _no_session(c: httpx.Client) -> None:
    assert "nd_session" not in c.cookies
    r = c.get("/patients")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_authorization_request_follows_the_specification(world):
    c = _browser(world)
    p = _launch(world, c)
    assert p["response_type"] == "code" and p["client_id"] == CLIENT_ID
    assert p["redirect_uri"] == world.clinic.url + "/smart/callback"
    assert p["aud"] == world.ehr.iss and p["launch"] in world.ehr.launches
    assert p["code_challenge_method"] == "S256" and len(p["code_challenge"]) == 43
    assert len(p["state"]) >= 43  # 256 random bits
    scopes = p["scope"].split()
    assert {"launch", "openid", "fhirUser", "patient/Patient.rs"} <= set(scopes)
    cookie = next(x for x in c.cookies.jar if x.name == "nd_smart")
    assert cookie.path == "/smart" and cookie.has_nonstandard_attr("HttpOnly")
    # standalone: no launch parameter, the patient is picked at the EHR
    s = _launch(world, _browser(world), launch="")
    assert "launch" not in s and "launch/patient" in s["scope"].split()
    assert s["state"] != p["state"] and s["code_challenge"] != p["code_challenge"]


def test_happy_path_then_replay_is_refused(world):
    c = _browser(world)
    p = _launch(world, c)
    code = _approve(world, p)
    r = c.get("/smart/callback", params={"code": code, "state": p["state"]})
    assert r.status_code == 200 and 'http-equiv="refresh"' in r.text
    assert "Content-Security-Policy" in r.headers
    # the EHR user is not linked yet: the page asks for a clinic account's password
    r = c.get("/smart/resume")
    assert r.status_code == 200 and "Link your EHR user" in r.text
    _no_session(c)
    # the same code and state again: the state is taken once
    again = c.get("/smart/callback", params={"code": code, "state": p["state"]})
    assert again.status_code == 400 and "already been used" in again.text
    # and the EHR does not take the code twice either
    replay = httpx.post(
        world.ehr.base + "/auth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": p["redirect_uri"],
            "client_id": CLIENT_ID,
            "code_verifier": "x" * 43,
        },
    )
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    # the single-use code and state never reach the server's access log
    log = world.clinic.log()
    assert "/smart/callback?code=***&state=***" in log
    assert code not in log and p["state"] not in log


def test_wrong_or_foreign_state_is_refused(world):
    c = _browser(world)
    p = _launch(world, c)
    code = _approve(world, p)
    r = c.get("/smart/callback", params={"code": code, "state": p["state"] + "x"})
    assert r.status_code == 400 and "state does not match" in r.text
    r = c.get("/smart/callback", params={"code": code})
    assert r.status_code == 400
    # the right state in another browser (no launch cookie): refused, and not used up
    other = _browser(world)
    r = other.get("/smart/callback", params={"code": code, "state": p["state"]})
    assert r.status_code == 400 and "another browser" in r.text
    _no_session(other)
    ok = c.get("/smart/callback", params={"code": code, "state": p["state"]})
    assert ok.status_code == 200


def test_code_bound_to_another_pkce_challenge_is_refused(world):
    """The EHR issues the code for a challenge that is not our verifier's: the token
    endpoint refuses our verifier, and the clinic says so."""
    c = _browser(world)
    p = _launch(world, c)
    code = _approve(world, p, code_challenge=s256("a-verifier-that-the-clinic-never-made-" * 2))
    r = c.get("/smart/callback", params={"code": code, "state": p["state"]})
    assert r.status_code == 400 and "refused the authorisation code" in r.text
    assert c.get("/smart/resume").status_code == 400
    _no_session(c)


@pytest.mark.parametrize("verifier", [None, "short", "y" * 60])
def test_token_endpoint_wants_the_right_verifier(world, verifier):
    """The test EHR is a conformant PKCE server: no, a malformed or a wrong verifier is
    ``invalid_grant`` (so the clinic's successful exchanges prove its verifier)."""
    p = _launch(world, _browser(world))
    code = _approve(world, p)
    form: dict[str, Any] = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": p["redirect_uri"],
        "client_id": CLIENT_ID,
    }
    if verifier is not None:
        form["code_verifier"] = verifier
    r = httpx.post(world.ehr.base + "/auth/token", data=form)
    assert r.status_code == 400 and r.json() == {"error": "invalid_grant"}


def test_unregistered_issuer_is_never_contacted(world):
    before = len(world.ehr.requests)
    c = _browser(world)
    for iss in (world.ehr.base + "/other-fhir", "http://10.0.0.5/fhir", ""):
        r = c.get("/smart/launch", params={"iss": iss, "launch": "abc"})
        assert r.status_code == 400 and "not registered" in r.text, iss
    assert world.ehr.requests[before:] == []
    assert "nd_smart" not in c.cookies


def test_expired_state_is_refused(world):
    c = _browser(world)
    p = _launch(world, c)
    code = _approve(world, p)
    time.sleep(LIFETIME_S + 1)
    r = c.get("/smart/callback", params={"code": code, "state": p["state"]})
    assert r.status_code == 400 and "expired" in r.text
    _no_session(c)


def test_ehr_error_and_no_launch(world):
    c = _browser(world)
    p = _launch(world, c)
    r = c.get("/smart/callback", params={"error": "access_denied", "state": p["state"]})
    assert r.status_code == 400 and "access_denied" in r.text
    r = c.get("/smart/callback", params={"error": "<script>x</script>", "state": p["state"]})
    assert r.status_code == 400 and "<script>x" not in r.text
    assert _browser(world).get("/smart/resume").status_code == 400


def test_create_needs_a_session_and_its_csrf_token(world):
    c = _browser(world)
    r = c.post("/smart/create", data={"csrf": "x"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    # signed in (by linking), a launch waiting, but a wrong CSRF token: to the sign-in page
    assert _callback(world, c).status_code == 200
    r = c.post("/smart/link", data={"username": "gp", "password": PASSWORD})
    assert r.status_code == 303 and r.headers["location"] == "/smart/resume"
    page = c.get("/smart/resume")
    assert page.status_code == 200 and "No clinic patient" in page.text
    r = c.post("/smart/create", data={"csrf": "wrong"})
    assert r.status_code == 303 and r.headers["location"] == "/login?expired=1"


def test_registration_file_errors_name_the_field(tmp_path):
    import json

    from neurodose.errors import InputError
    from neurodose.service.smart import load_issuers

    f = tmp_path / "reg.json"
    assert load_issuers(None) == ()
    cases = {
        "[]": "issuers",
        '{"issuers": [{"iss": "http://ehr.example.org/fhir", "client_id": "a"}]}': "iss",
        '{"issuers": [{"iss": "https://ehr.example.org/fhir"}]}': "client_id",
        '{"issuers": [{"iss": "https://e.org/fhir?x=1", "client_id": "a"}]}': "iss",
        '{"issuers": [{"iss": "https://e.org/fhir", "client_id": "a", "x": 1}]}': "x",
        "{not json": "issuers",
    }
    for text, field in cases.items():
        f.write_text(text)
        with pytest.raises(InputError) as err:
            load_issuers(f)
        assert field in str(err.value), (text, str(err.value))
    one = {"iss": "https://e.org/fhir/", "client_id": "a"}
    f.write_text(json.dumps({"issuers": [one]}))
    assert load_issuers(f)[0].iss == "https://e.org/fhir"
    f.write_text(json.dumps({"issuers": [one, one]}))
    with pytest.raises(InputError, match="each iss once"):
        load_issuers(f)
    with pytest.raises(InputError, match="existing JSON file"):
        load_issuers(tmp_path / "missing.json")


def _callback(world: SmartWorld, c: httpx.Client) -> httpx.Response:
    p = _launch(world, c)
    return c.get("/smart/callback", params={"code": _approve(world, p), "state": p["state"]})


@pytest.mark.parametrize(
    ("token", "claims", "says"),
    [
        ({"patient": None}, {}, "no patient in context"),
        ({"patient": ".."}, {}, "no patient in context"),
        ({"patient": "a/b"}, {}, "no patient in context"),
        ({"token_type": "mac"}, {}, "no bearer access token"),
        ({"access_token": None}, {}, "no bearer access token"),
        ({}, {"aud": "someone-else"}, "not for this clinic"),
        ({}, {"exp": 1000}, "not for this clinic"),
        ({"id_token": "not-a-jwt"}, {}, "could not be read"),
    ],
)
def test_token_response_is_checked(world, token, claims, says):
    world.ehr.token_extra, world.ehr.claims_extra = token, claims
    try:
        c = _browser(world)
        r = _callback(world, c)
        assert r.status_code == 400 and says in r.text, r.text[-600:]
        assert c.get("/smart/resume").status_code == 400
        _no_session(c)
    finally:
        world.ehr.token_extra, world.ehr.claims_extra = {}, {}


@pytest.mark.parametrize(
    "config",
    [
        {"code_challenge_methods_supported": ["plain"]},
        {"code_challenge_methods_supported": None},
        {"token_endpoint": "http://127.0.0.2:9/token"},
        {"authorization_endpoint": "https://evil.example/authorize"},
        {"authorization_endpoint": None},
    ],
)
def test_discovery_is_checked(world, config):
    world.ehr.config_extra = config
    try:
        c = _browser(world)
        r = c.get("/smart/launch", params={"iss": world.ehr.iss, "launch": "x"})
        assert r.status_code == 502 and "not usable" in r.text
        assert "nd_smart" not in c.cookies and "location" not in r.headers
    finally:
        world.ehr.config_extra = {}


def test_another_process_answers_the_callback(world, tmp_path):
    """The launch begun at one server process is finished at another (the state and
    verifier are in the shared database, not in a process)."""
    from .conftest import Server

    other = Server(world.clinic.db_url, world.clinic.data_dir, env_extra=world.clinic.env_extra)
    other.start()
    try:
        c = _browser(world)  # cookies are per host, not per port: both see nd_smart
        p = _launch(world, c)
        code = _approve(world, p)
        r = c.get(other.url + "/smart/callback", params={"code": code, "state": p["state"]})
        assert r.status_code == 200, r.text[-500:]
        again = c.get("/smart/callback", params={"code": code, "state": p["state"]})
        assert again.status_code == 400 and "already been used" in again.text
    finally:
        other.stop()


def test_linked_session_follows_the_token_version(world):
    """The session a launch issues is the sign-in's: disabling the account ends it, and
    its EHR user is then refused."""
    import subprocess
    import sys

    world.clinic.add_user("bea")
    world.ehr.practitioner = "Practitioner/dr-bea"
    try:
        c = _browser(world)
        assert _callback(world, c).status_code == 200
        c.post("/smart/link", data={"username": "bea", "password": PASSWORD})
        assert "No clinic patient" in c.get("/smart/resume").text  # dr-bea is bea now
        fresh = _browser(world)  # no clinic session: the linked EHR user signs in
        assert _callback(world, fresh).status_code == 200
        r = fresh.get("/smart/resume")
        assert r.status_code == 303 and "nd_session" in r.headers["set-cookie"]
        assert fresh.get("/smart/resume").status_code == 200
        assert fresh.get("/patients").status_code == 200
        db = world.clinic.db_url
        subprocess.run(
            [sys.executable, "-m", "neurodose", "users", "disable", "bea", "--database", db],
            check=True,
            capture_output=True,
            env=world.clinic.env(),
        )
        assert fresh.get("/patients").status_code == 303  # the session ended
        late = _browser(world)
        assert _callback(world, late).status_code == 200
        r = late.get("/smart/resume")
        assert r.status_code == 403 and "disabled" in r.text
        # and linking the EHR user anew needs an account that can sign in
        r = late.post("/smart/link", data={"username": "bea", "password": PASSWORD})
        assert r.status_code == 401
        _no_session(late)
    finally:
        world.ehr.practitioner = "Practitioner/dr-ada"


def test_launch_on_postgresql_across_two_processes(postgres, tmp_path):
    """On PostgreSQL (what several workers need), with two server processes on one
    database: launch at one, callback at the other, resume at the first."""
    from .conftest import Server

    w = smart_world(tmp_path, postgres.new_database())
    other = Server(w.clinic.db_url, tmp_path, env_extra=w.clinic.env_extra)
    try:
        other.start()
        for _ in range(2):
            c = _browser(w)
            p = _launch(w, c)
            code = _approve(w, p)
            r = c.get(other.url + "/smart/callback", params={"code": code, "state": p["state"]})
            assert r.status_code == 200, r.text[-500:]
            r = c.get("/smart/resume")
            assert r.status_code == 200 and "Link your EHR user" in r.text
            again = c.get("/smart/callback", params={"code": code, "state": p["state"]})
            assert again.status_code == 400 and "already been used" in again.text
    finally:
        other.stop()
        w.stop()


def test_linking_needs_the_accounts_password_never_a_session(world):
    """An EHR user is linked only by the password of the account it is linked to: a
    wrong password links nothing; a clinic session already open in the browser (a shared
    workstation) is not linked silently; a linked user meets another account's session
    with a 403."""
    world.clinic.add_user("cy")
    world.ehr.practitioner = "Practitioner/dr-cy"
    try:
        c = _browser(world)
        assert _callback(world, c).status_code == 200
        r = c.post("/smart/link", data={"username": "cy", "password": "wrong password"})
        assert r.status_code == 401 and "not recognised" in r.text
        _no_session(c)
        # gp links dr-cy, so gp's session is open here; then dr-cy2 launches in this
        # browser: asked for a password, not linked to gp
        assert c.post("/smart/link", data={"username": "gp", "password": PASSWORD})
        world.ehr.practitioner = "Practitioner/dr-cy2"
        assert _callback(world, c).status_code == 200
        r = c.get("/smart/resume")
        assert r.status_code == 200 and "Link your EHR user" in r.text
        assert _callback(world, c).status_code == 200
        assert "Link your EHR user" in c.get("/smart/resume").text  # still not linked
        # dr-cy2 links to cy; with gp's session open in this browser, that is a 403
        fresh = _browser(world)
        assert _callback(world, fresh).status_code == 200
        r = fresh.post("/smart/link", data={"username": "cy", "password": PASSWORD})
        assert r.status_code == 303
        assert _callback(world, c).status_code == 200
        r = c.get("/smart/resume")
        assert r.status_code == 403 and "another clinic account" in r.text
        api = world.clinic.client(world.clinic.token("gp"))
        assert api.get("/api/v1/patients").status_code == 200
    finally:
        world.ehr.practitioner = "Practitioner/dr-ada"


def test_ehr_data_that_make_no_patient_is_a_page_not_a_500(world):
    """A Patient without a birth date cannot become a clinic patient: the page names the
    field; nothing is created or linked, and the launch can still be completed later."""
    saved = world.ehr.patients["p03"]
    world.ehr.patients["p03"] = [{k: v for k, v in saved[0].items() if k != "birthDate"}]
    world.ehr.practitioner = "Practitioner/dr-dee"
    try:
        c = _browser(world)
        chart = httpx.get(
            world.ehr.base + "/ehr",
            params={"patient": "p03", "app": world.clinic.url + "/smart/launch"},
        )
        launch = chart.text.split("launch=", 1)[1].split('"', 1)[0]
        p = _launch(world, c, launch=launch)
        r = c.get("/smart/callback", params={"code": _approve(world, p), "state": p["state"]})
        assert r.status_code == 200
        assert c.post("/smart/link", data={"username": "gp", "password": PASSWORD})
        page = c.get("/smart/resume")
        assert "EHR patient <code>p03</code>" in page.text
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        api = world.clinic.client(world.clinic.token("gp"))
        before = api.get("/api/v1/patients").json()["total"]
        r = c.post("/smart/create", data={"csrf": csrf})
        assert r.status_code == 422 and "birthDate" in r.text
        assert api.get("/api/v1/patients").json()["total"] == before
        world.ehr.patients["p03"] = saved
        r = c.post("/smart/create", data={"csrf": csrf})
        assert r.status_code == 303 and r.headers["location"].startswith("/patients/p")
    finally:
        world.ehr.patients["p03"] = saved
        world.ehr.practitioner = "Practitioner/dr-ada"


def test_junk_anywhere_gives_a_page_never_a_500_or_an_echo(world):
    junk = ["", " ", "<script>x</script>", "\u00e9" * 300, "9" * 3000, "a\x00b", "../../x"]
    c = _browser(world)
    _launch(world, c)  # a launch cookie, so the requests get past the first check
    for j in junk:
        for method, path, kw in (
            ("GET", "/smart/launch", {"params": {"iss": j, "launch": j}}),
            ("GET", "/smart/callback", {"params": {"code": j, "state": j, "error": j}}),
            ("GET", "/smart/callback", {"params": {"code": j, "state": j}}),
            ("POST", "/smart/link", {"data": {"username": j, "password": j}}),
            ("POST", "/smart/create", {"data": {"csrf": j}}),
        ):
            r = c.request(method, path, **kw)
            assert r.status_code in (303, 400, 401), (method, path, j[:20], r.text[-400:])
            assert "<script>x" not in r.text
            assert r.status_code == 303 or "text/html" in r.headers["content-type"]
            assert "Content-Security-Policy" in r.headers
    # with an authorised launch waiting, junk at the link form is a failed sign-in
    assert _callback(world, c).status_code == 200
    for j in junk:
        r = c.post("/smart/link", data={"username": j, "password": j})
        assert r.status_code == 401 and "not recognised" in r.text, (j[:20], r.text[-400:])
        assert "<script>x" not in r.text


def _csrf(page: httpx.Response) -> str:
    return page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def _audit(world: SmartWorld, action: str) -> list[tuple[str, str | None, str]]:
    """The audit rows of ``action`` (actor, patient, detail), read from the database."""
    import sqlite3

    path = world.clinic.db_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as con:
        q = "SELECT actor, patient_id, detail FROM audit WHERE action = ?"
        return [tuple(r) for r in con.execute(q, (action,))]


def test_a_clinician_sees_and_removes_their_ehr_links(world):
    """The links page lists the signed-in account's EHR users (issuer, fhirUser, when);
    removing one needs the session's CSRF token and one's own link (another account's:
    404), is audited without a patient, and the next launch as that EHR user asks for
    the clinic password again."""
    world.clinic.add_user("eve")
    world.clinic.add_user("fay")
    world.ehr.practitioner = "Practitioner/dr-eve"
    try:
        c = _browser(world)
        assert _callback(world, c).status_code == 200
        r = c.post("/smart/link", data={"username": "eve", "password": PASSWORD})
        assert r.status_code == 303
        page = c.get("/smart/links")
        assert page.status_code == 200 and "Your EHR links" in page.text
        assert world.ehr.iss in page.text and f"{world.ehr.iss}/Practitioner/dr-eve" in page.text
        assert time.strftime("%Y-%m-%d", time.gmtime()) in page.text
        link_id = page.text.split('action="/smart/links/', 1)[1].split("/", 1)[0]
        assert page.text.count('action="/smart/links/') == 1  # eve's link only
        # fay (another account) sees none of eve's links and cannot remove them
        fay = _browser(world)
        world.ehr.practitioner = "Practitioner/dr-fay"
        assert _callback(world, fay).status_code == 200
        assert fay.post("/smart/link", data={"username": "fay", "password": PASSWORD})
        fay_page = fay.get("/smart/links")
        assert "dr-eve" not in fay_page.text and "dr-fay" in fay_page.text
        r = fay.post(f"/smart/links/{link_id}/remove", data={"csrf": _csrf(fay_page)})
        assert r.status_code == 404 and "No such EHR link" in r.text
        for junk in ("abc", "-1", "9" * 30, "1.5"):
            r = fay.post(f"/smart/links/{junk}/remove", data={"csrf": _csrf(fay_page)})
            assert r.status_code == 404 and "text/html" in r.headers["content-type"], junk
        # eve without the CSRF token: to the sign-in page, nothing removed
        r = c.post(f"/smart/links/{link_id}/remove", data={"csrf": "forged"})
        assert r.status_code == 303 and r.headers["location"] == "/login?expired=1"
        assert "dr-eve" in c.get("/smart/links").text
        # eve removes it
        r = c.post(f"/smart/links/{link_id}/remove", data={"csrf": _csrf(page)})
        assert r.status_code == 303 and r.headers["location"] == "/smart/links?removed=1"
        after = c.get("/smart/links?removed=1")
        assert "The EHR link was removed" in after.text and "dr-eve" not in after.text
        assert "No EHR user is linked" in after.text
        r = c.post(f"/smart/links/{link_id}/remove", data={"csrf": _csrf(page)})
        assert r.status_code == 404
        rows = _audit(world, "smart.unlink_user")
        assert rows == [("eve", None, f"{world.ehr.iss} {world.ehr.iss}/Practitioner/dr-eve")]
        # the next launch as dr-eve, in a browser with no session: link again
        world.ehr.practitioner = "Practitioner/dr-eve"
        fresh = _browser(world)
        assert _callback(world, fresh).status_code == 200
        r = fresh.get("/smart/resume")
        assert r.status_code == 200 and "Link your EHR user" in r.text
        _no_session(fresh)
    finally:
        world.ehr.practitioner = "Practitioner/dr-ada"
