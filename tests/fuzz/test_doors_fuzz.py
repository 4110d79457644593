"""Fuzzing the doors beyond the command line (issue 24 item 6): REST routes over a real
server, the clinic's start form (signed in as a browser is, with its CSRF token) and FHIR
bundles. Hypothesis draws from pools that mix good values with unit-less, oversized,
micro, negative, duplicated, self-listed and impossible ones. Every case must end in

- a 4xx answer naming a field (REST: problem JSON with ``detail``; form: 422 page), or
  a library error (FHIR), never a 500 or a traceback; or
- an accepted result that passes the plausibility invariants (a dose above the maximum
  only with ``allow_above_max`` and then warned; never a unit-less dose; never a
  duplicated or self-listed co-medication; never an adult under 10 kg or an implausible
  pregnancy; never a plan date beyond the horizon).

``NEURODOSE_DOORS_FUZZ_REPORT=path.json`` writes the counts per door (inputs, refused,
accepted, 5xx, tracebacks); ``NEURODOSE_FUZZ_EXAMPLES`` scales the number of cases.
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import os
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurodose.errors import NeurodoseError
from neurodose.knowledge.limits import max_daily_dose
from neurodose.limits import latest_date
from neurodose.plausibility import MIN_ADULT_WEIGHT_KG, PREGNANCY_AGES

SCALE = float(os.environ.get("NEURODOSE_FUZZ_EXAMPLES", "1"))
COUNTS: dict[str, Counter[str]] = defaultdict(Counter)
TODAY = dt.date.today()


def _report() -> None:  # pragma: no cover - only with NEURODOSE_DOORS_FUZZ_REPORT
    path = os.environ.get("NEURODOSE_DOORS_FUZZ_REPORT")
    if path and COUNTS:
        Path(path).write_text(json.dumps({k: dict(v) for k, v in COUNTS.items()}, indent=2))


atexit.register(_report)


def _settings(n: int) -> Any:
    return settings(
        max_examples=max(1, round(n * SCALE)),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        derandomize=os.environ.get("NEURODOSE_FUZZ_RANDOM") is None,
    )


# --- pools ----------------------------------------------------------------------------

DRUGS = ["duloxetine", "gabapentin", "amitriptyline", "Cymbalta", "placebo", "xyz", "", "a" * 65]
DOSES: list[Any] = ["60 mg", "60", 60, "6000 mg", "240 mg", "25mcg", "0.0001 mg", "-5 mg",
                    "nan mg", "inf mg", "1e308 mg", "", "abc", "60 kg", None]  # fmt: skip
EVERY: list[Any] = ["24 h", "24", 24, "0 h", "-1 h", "1e9 h", "8 h", "1 d", "q12h"]
DAYS: list[Any] = [1, 3, 0, -1, 3653, 3654, 100000, 2.5, "x", None, True]
WITH: list[list[str]] = [[], ["duloxetine:60 mg"], ["fluoxetine:20 mg", "fluoxetine:20 mg"],
                         ["fluoxetine:20 mg", "Prozac:20 mg"], ["fluoxetine"], ["x:1 mg"],
                         ["fluoxetine:20"], ["gabapentin:300 mg"]]  # fmt: skip
AGES: list[Any] = [None, 40, 5, 0, -1, 121, 0.5, 70, "x"]
WEIGHTS: list[Any] = [None, 70, 0.5, 9.9, 401, 0, 3]
SEXES: list[Any] = [None, "male", "female", "x"]


def _outcome(door: str, r: httpx.Response) -> bool:
    """Count the answer; True when accepted. A 5xx or a traceback fails the test."""
    COUNTS[door]["inputs"] += 1
    assert "Traceback" not in r.text, r.text[-2000:]
    if r.status_code >= 500:
        COUNTS[door]["5xx"] += 1
        raise AssertionError((door, r.status_code, r.text[-2000:]))
    if r.status_code >= 400:
        assert r.status_code in (400, 404, 409, 413, 422), (door, r.status_code, r.text[-500:])
        COUNTS[door]["refused"] += 1
        return False
    COUNTS[door]["accepted"] += 1
    return True


def _names_field(r: httpx.Response) -> None:
    detail = r.json().get("detail")
    assert detail, r.text
    if isinstance(detail, list):
        assert all(item.get("loc") or item.get("field") for item in detail), detail


def _bare(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, int | float):
        return True
    try:
        float(str(v).strip())
    except ValueError:
        return False
    return True


def _drug_of(name: str) -> str:
    return "duloxetine" if name.lower() == "cymbalta" else name.lower()


def _check_accepted_simulate(body: dict[str, Any], out: dict[str, Any]) -> None:
    reg = body["regimen"]
    assert not _bare(reg.get("dose")) and not _bare(reg.get("every")), ("unit-less", body)
    drug = _drug_of(body["drug"])
    names = [_drug_of(w.split(":")[0]) for w in body.get("with", [])]
    names = ["fluoxetine" if n == "prozac" else n for n in names]
    assert len(set(names)) == len(names) and drug not in names, ("double count", body)
    lim = max_daily_dose(drug)
    warned = any("ABOVE MAXIMUM" in w for w in out.get("warnings", []))
    m = re.fullmatch(r"\s*([\d.e+]+)\s*mg\s*", str(reg.get("dose")))
    every = re.fullmatch(r"\s*([\d.e+]+)\s*h\s*", str(reg.get("every")))
    once_daily = bool(every) and float(every.group(1)) >= 24 if every else False
    if lim is not None and m and once_daily and float(m.group(1)) > lim.mg * 1.0001:
        assert body.get("allow_above_max") and warned, ("above max", body, out["warnings"])
    age, weight = body.get("age"), body.get("weight")
    if isinstance(age, int | float) and isinstance(weight, int | float) and age >= 18:
        assert weight >= MIN_ADULT_WEIGHT_KG, ("adult weight", body)


GOOD: dict[str, Any] = {"drug": "duloxetine", "dose": "60 mg", "every": "24 h", "days": 3,
                        "with": [], "age": None, "weight": None}  # fmt: skip
POOLS: dict[str, list[Any]] = {"drug": DRUGS, "dose": DOSES, "every": EVERY, "days": DAYS,
                               "with": WITH, "age": AGES, "weight": WEIGHTS}  # fmt: skip


@st.composite
def _simulate_body(draw: Any) -> dict[str, Any]:
    """A good body with one to three fields drawn from their pools (good and bad values)."""
    v = dict(GOOD)
    for key in draw(st.lists(st.sampled_from(sorted(POOLS)), min_size=1, max_size=3)):
        v[key] = draw(st.sampled_from(POOLS[key]))
    reg = {k: v[k] for k in ("dose", "every", "days") if v[k] is not None}
    body: dict[str, Any] = {"drug": v["drug"], "regimen": reg, "with": v["with"]}
    body["allow_above_max"] = draw(st.booleans())
    return body | {k: v[k] for k in ("age", "weight") if v[k] is not None}


@_settings(40)
@given(body=_simulate_body())
def test_rest_simulate(fuzz_server, body) -> None:
    server, token = fuzz_server
    with server.client(token) as c:
        r = c.post("/api/v1/simulate", json=body)
    if _outcome("rest /api/v1/simulate", r):
        _check_accepted_simulate(body, r.json())
    else:
        _names_field(r)


@_settings(30)
@given(
    age=st.sampled_from(AGES),
    weight=st.sampled_from(WEIGHTS),
    sex=st.sampled_from(SEXES),
    pregnant=st.sampled_from([False, True, "yes", None]),
)
def test_rest_patients(fuzz_server, age, weight, sex, pregnant) -> None:
    server, token = fuzz_server
    prof: dict[str, Any] = {"conditions": ["diabetic_neuropathy"], "medications": []}
    for k, v in (("age", age), ("weight_kg", weight), ("sex", sex), ("pregnant", pregnant)):
        if v is not None:
            prof[k] = v
    with server.client(token) as c:
        r = c.post("/api/v1/patients", json=prof)
    if not _outcome("rest /api/v1/patients", r):
        _names_field(r)
        return
    assert isinstance(age, int | float) and age > 0, prof
    if isinstance(weight, int | float) and age >= 18:
        assert weight >= MIN_ADULT_WEIGHT_KG, prof
    if pregnant is True:
        assert sex != "male" and PREGNANCY_AGES[0] <= age <= PREGNANCY_AGES[1], prof


PAST_HORIZON = (latest_date() + dt.timedelta(days=1)).isoformat()
START_DATES = ["2026-01-05", TODAY.isoformat(), "9999-12-31", "1899-12-31", "1950-01-01",
               PAST_HORIZON, "", "31/12/2026", "x"]  # fmt: skip


def _signed_in(server: Any) -> tuple[httpx.Client, str, str]:
    with server.client(server.token("fuzz")) as api:
        pid = api.post("/api/v1/patients", json={"age": 30, "conditions": []}).json()["id"]
    web = server.client()
    pre = re.search(r'name="csrf" value="([^"]+)"', web.get("/login").text)
    assert pre is not None
    web.post("/login", data={"username": "fuzz", "password": "correct horse battery",
                             "csrf": pre.group(1)})  # fmt: skip
    page = web.get(f"/patients/{pid}")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None, page.text[-1000:]
    return web, pid, csrf.group(1)


_FORM: dict[str, Any] = {}


@_settings(20)
@given(drug=st.sampled_from(DRUGS), start=st.sampled_from(START_DATES))
def test_clinic_start_form(fuzz_server, drug, start) -> None:
    server, _ = fuzz_server
    if not _FORM:
        _FORM["web"], _FORM["pid"], _FORM["csrf"] = _signed_in(server)
    web, pid, csrf = _FORM["web"], _FORM["pid"], _FORM["csrf"]
    r = web.post(f"/patients/{pid}/start", data={"drug": drug, "start_date": start, "csrf": csrf})
    if not _outcome("form /patients/{id}/start", r):
        assert "is not allowed" in r.text or "unknown" in r.text, r.text[-1000:]
        return
    assert r.status_code == 303 and r.headers["location"].endswith("/plan"), r.headers
    assert _drug_of(drug) in ("duloxetine", "gabapentin", "amitriptyline"), drug
    d = dt.date.fromisoformat(start) if start else TODAY
    assert TODAY.replace(year=TODAY.year - 31) <= d <= latest_date(), (drug, start)


def _bundle(age: Any, sex: Any, pregnant: bool, weight: Any) -> dict[str, Any]:
    born: Any = age
    if isinstance(age, int | float) and not isinstance(age, bool):
        born = (TODAY - dt.timedelta(days=round(365.25 * age))).isoformat()
    pat: dict[str, Any] = {"resourceType": "Patient", "id": "p1", "birthDate": born}
    if sex is not None:
        pat["gender"] = sex
    entry: list[dict[str, Any]] = [{"resource": pat}]
    subject = {"reference": "Patient/p1"}
    if pregnant:
        code = {"coding": [{"system": "http://snomed.info/sct", "code": "77386006"}]}
        active = {"coding": [{"code": "active"}]}
        cond = {"resourceType": "Condition", "subject": subject, "code": code}
        entry.append({"resource": cond | {"clinicalStatus": active}})
    if weight is not None:
        loinc = {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]}
        obs = {"resourceType": "Observation", "status": "final", "subject": subject}
        obs |= {"code": loinc, "valueQuantity": {"value": weight, "unit": "kg"}}
        entry.append({"resource": obs})
    return {"resourceType": "Bundle", "type": "collection", "entry": entry}


@_settings(40)
@given(
    age=st.sampled_from([40, 5, 0.5, -2, 130, "2099-01-01", "x", None]),
    sex=st.sampled_from(SEXES),
    pregnant=st.booleans(),
    weight=st.sampled_from(WEIGHTS),
)
def test_fhir_bundle(age, sex, pregnant, weight) -> None:
    from neurodose.fhir.inbound import case_from_bundle

    COUNTS["fhir bundle"]["inputs"] += 1
    try:
        patient = case_from_bundle(_bundle(age, sex, pregnant, weight)).patient()
    except NeurodoseError as exc:
        COUNTS["fhir bundle"]["refused"] += 1
        assert getattr(exc, "field", None) or str(exc), exc
        return
    COUNTS["fhir bundle"]["accepted"] += 1
    assert patient.age is not None and 0 < patient.age <= 120, (age, patient.age)
    if pregnant and "pregnancy" in patient.conditions:
        assert patient.sex != "male" and PREGNANCY_AGES[0] <= patient.age <= PREGNANCY_AGES[1]
    if patient.weight is not None and patient.age >= 18:
        assert patient.weight >= MIN_ADULT_WEIGHT_KG
