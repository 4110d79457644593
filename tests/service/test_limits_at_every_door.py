"""One set of bounds (:mod:`neurodose.limits`) at every door: the same bad dates and the
same oversized work are refused, with the same allowed range, at the command line, the
library workflow, the REST API and the clinic's forms (a real server over HTTP); never
a crash or a 500, and never an error that contradicts itself."""

from __future__ import annotations

import datetime as dt
import json
import re
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from neurodose.cli.main import app
from neurodose.errors import InputError
from neurodose.limits import MAX_DAYS, MAX_TRIAL_PATIENTS, latest_date

from .conftest import PASSWORD


def _bad_dates() -> list[str]:
    past_horizon = latest_date() + dt.timedelta(days=1)
    return ["9999-12-31", past_horizon.isoformat(), "1899-12-31", "0001-01-01"]


BAD = _bad_dates()
ALLOWED = "at most 10 years from today"


@pytest.mark.parametrize("bad", BAD)
def test_cli_refuses_far_dates(bad: str, tmp_path: Path, sample_profile: dict) -> None:
    prof = tmp_path / "p.json"
    prof.write_text(json.dumps(sample_profile), encoding="utf-8")
    for args in (
        ["assess", str(prof), "--start-date", bad],
        ["plan", "titrate", "--drug", "amitriptyline", "--start-date", bad],
        ["plan", "taper", "--drug", "pregabalin", "--current-dose", "300", "--start-date", bad],
        [
            *("plan", "switch", "--from", "amitriptyline", "--to", "duloxetine"),
            *("--current-dose", "50", "--start-date", bad),
        ],
    ):
        res = CliRunner().invoke(app, args)
        assert res.exit_code == 2, (args, res.output)
        assert "Traceback" not in res.output
        assert bad in res.output and ALLOWED in res.output, res.output


@pytest.mark.parametrize("bad", BAD)
def test_workflow_refuses_far_dates(bad: str) -> None:
    from neurodose.workflows import PlanRequest, make_plan

    with pytest.raises(InputError, match=ALLOWED):
        make_plan(PlanRequest("titration", "amitriptyline", dt.date.fromisoformat(bad)))


def test_api_and_forms_refuse_far_dates(sqlite_clinic, sample_profile) -> None:
    api = sqlite_clinic.api()
    pid = api.post("/api/v1/patients", json=sample_profile).json()["id"]
    for bad in BAD:
        for route, body in (
            ("regimen", {"drug": "amitriptyline", "start_date": bad}),
            ("plan/taper", {"drug": "pregabalin", "current_daily_mg": 300, "start_date": bad}),
        ):
            r = api.post(f"/api/v1/patients/{pid}/{route}", json=body)
            assert r.status_code == 422, (route, bad, r.status_code, r.text)
            item = r.json()["detail"][0]
            assert item["loc"][-1] == "start_date" and ALLOWED in item["allowed"], item

    # the forms: sign in as a browser would, then post the start form
    web = sqlite_clinic.server.client()
    pre = re.search(r'name="csrf" value="([^"]+)"', web.get("/login").text)
    assert pre is not None
    r = web.post("/login", data={"username": "alice", "password": PASSWORD, "csrf": pre.group(1)})
    assert r.status_code in (200, 303), r.text
    page = web.get(f"/patients/{pid}")
    assert page.status_code == 200, page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    for bad in BAD:
        r = web.post(
            f"/patients/{pid}/start",
            data={"drug": "amitriptyline", "start_date": bad, "csrf": csrf.group(1)},
        )
        assert r.status_code == 422, (bad, r.status_code, r.text[-2000:])
        assert ALLOWED in r.text, r.text[-2000:]


ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "trials" / "demo.toml"


def _not_contradicting(msg: str) -> None:
    """'X is not allowed; expected ... at most N ...': X must be larger than N."""
    m = re.search(r"'?([\d.]+)'? is not allowed; expected (?:a regimen of )?at most ([\d,]+)", msg)
    assert m is not None, msg
    assert float(m.group(1)) > float(m.group(2).replace(",", "")), msg


#: the population cap for 10 years of hourly points (neurodose.limits.population_allowed)
POP_CAP_10Y = "at most 17,109 virtual subjects for 87,673 time points"


def _trial_text(n_per_arm: int) -> str:
    text = DEMO.read_text(encoding="utf-8")
    return re.sub(r"(?m)^n_per_arm\s*=.*$", f"n_per_arm = {n_per_arm}", text)


def test_cli_caps_work(tmp_path: Path) -> None:
    from neurodose.limits import population_allowed

    run = CliRunner().invoke
    sim = ["simulate", "--drug", "duloxetine", "--dose", "60 mg"]
    res = run(app, [*sim, "--days", "100000"])
    assert res.exit_code == 2 and f"{MAX_DAYS}" in res.output, res.output
    res = run(app, [*sim, "--every", "1 h", "--days", "3000"])
    assert res.exit_code == 2, res.output
    _not_contradicting(res.output)
    # a population the subject cap allows but the subject-time cap does not: one cap stated
    res = run(app, [*sim, "--days", "56", "--hours", "87672", "--population", "200000"])
    assert res.exit_code == 2, res.output
    _not_contradicting(res.output)
    assert POP_CAP_10Y in " ".join(res.output.split()), res.output
    with pytest.raises(InputError) as exc:
        population_allowed(2_000_000, 1_000)
    _not_contradicting(str(exc.value))
    arms = len(tomllib.loads(_trial_text(10))["arms"])
    f = tmp_path / "big.toml"
    for n in (10**9, MAX_TRIAL_PATIENTS // arms + 1):
        f.write_text(_trial_text(n), encoding="utf-8")
        res = run(app, ["trial", str(f)])
        assert res.exit_code == 2, res.output
        assert "Traceback" not in res.output, res.output
        _not_contradicting(res.output)


def test_api_caps_work(sqlite_clinic) -> None:
    api = sqlite_clinic.api()
    body = {"drug": "duloxetine", "regimen": {"dose": "60 mg", "every": "24 h", "days": 100000}}
    r = api.post("/api/v1/simulate", json=body)
    assert r.status_code == 422, r.text
    item = r.json()["detail"][0]
    assert f"{MAX_DAYS:,} days" in item["allowed"], item
    _not_contradicting(item["msg"])
    ok = {**body, "regimen": {"dose": "60 mg", "every": "24 h", "days": 3}}
    r = api.post("/api/v1/simulate", json={**ok, "hours": 10**6})
    assert r.status_code == 422, r.text
    # the population cap of the command line, in the same words
    r = api.post("/api/v1/simulate", json={**ok, "hours": 87672, "population": 200_000})
    assert r.status_code == 422, r.text
    item = r.json()["detail"][0]
    assert POP_CAP_10Y in item["allowed"] and item["loc"][-1] == "population", item
    _not_contradicting(item["msg"])
    r = api.post("/api/v1/simulate", json={**ok, "population": 40, "seed": 2})
    assert r.status_code == 200, r.text
    data = r.json()
    band = data["analytes"]["duloxetine"]
    assert len(band["p05"]) == len(band["p95"]) == len(band["time_h"])
    assert all(a <= b <= c for a, b, c in zip(band["p05"], band["p50"], band["p95"], strict=True))
    assert data["population"] == {"n": 40, "seed": 2, "percentiles": [5, 50, 95]}
    # the same path as the command line: the same bands
    cli = CliRunner().invoke(
        app,
        [
            *("simulate", "--drug", "duloxetine", "--dose", "60 mg", "--every", "24 h"),
            *("--days", "3", "--population", "40", "--seed", "2", "--json"),
        ],
    )
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.output)["analytes"] == data["analytes"]
    r = api.post(
        "/api/v1/explain", json={"drug": "duloxetine", "dose": "60 mg", "days": MAX_DAYS + 1}
    )
    assert r.status_code == 422, r.text
    # the library's cap, then the clinic's own lower one (2,000 in these tests)
    for n in (MAX_TRIAL_PATIENTS, 10**6 // 1000):
        design = tomllib.loads(_trial_text(n))
        r = api.post("/api/v1/trials", json=design)
        assert r.status_code == 422, r.text
        _not_contradicting(r.json()["detail"][0]["msg"])
