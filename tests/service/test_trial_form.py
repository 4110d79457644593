"""The clinic's trial design form (``POST /trials/form``) over HTTP on a real server: a
valid form starts a job with the same design as the equivalent TOML, through the same
start path (the per-user job limit); a malformed value in any field gives the form again
(4xx page) with the message beside that field, never JSON or 500."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from neurodose.service.pages.trials import EXAMPLE_DESIGN, EXAMPLE_FORM

from .test_hardening import sign_in

#: the form of EXAMPLE_DESIGN with a longer trial (so two jobs are still running when
#: a third is asked for) and a third, empty arm row (left out)
FORM = {**EXAMPLE_FORM, "weeks": "104", "n_per_arm": "1000", "arm2_every": "24"}
TOML = EXAMPLE_DESIGN.replace("weeks = 8", "weeks = 104").replace(
    "n_per_arm = 200", "n_per_arm = 1000"
)


def _stored_design(db_url: str, job: str) -> dict[str, Any]:
    eng = sa.create_engine(db_url)
    try:
        with eng.connect() as c:
            raw = c.execute(sa.text("SELECT design FROM trial_jobs WHERE id = :j"), {"j": job})
            value = raw.scalar_one()
    finally:
        eng.dispose()
    return value if isinstance(value, dict) else json.loads(value)


@pytest.fixture(scope="module")
def carol(sqlite_clinic) -> Iterator[tuple[httpx.Client, str]]:
    c, csrf = sign_in(sqlite_clinic.server.url, "carol")
    yield c, csrf
    c.close()


def test_the_form_starts_the_same_trial_as_the_toml(sqlite_clinic, carol):
    c, csrf = carol
    page = c.get("/trials").text
    assert 'id="trial-fields-form"' in page and 'value="diabetic_neuropathy"' in page
    r = c.post("/trials/form", data={**FORM, "csrf": csrf})
    assert r.status_code == 303, r.text[:500]
    by_form = r.headers["location"].rsplit("/", 1)[1]
    r = c.post("/trials", data={"design": TOML, "csrf": csrf})
    assert r.status_code == 303, r.text[:500]
    by_toml = r.headers["location"].rsplit("/", 1)[1]
    db = sqlite_clinic.server.db_url
    try:
        assert _stored_design(db, by_form) == _stored_design(db, by_toml) == tomllib.loads(TOML)
        # the same start path: the per-user limit (2 in these tests) holds for the form
        r = c.post("/trials/form", data={**FORM, "csrf": csrf})
        assert r.status_code == 429, r.text[:300]
        assert r.headers["content-type"].startswith("text/html")
        assert 'id="design-error"' in r.text and 'value="amitriptyline_25"' in r.text
    finally:
        api = sqlite_clinic.api("carol")
        for job in (by_form, by_toml):
            assert api.delete(f"/api/v1/trials/{job}").status_code == 200


BAD = [
    ("name", {"name": " "}),
    ("condition", {"condition": "migraine_with_aura"}),
    ("condition", {"condition": ""}),
    ("condition", {"condition": "radiculopathy"}),  # refused: no cited placebo response
    ("weeks", {"weeks": "eight"}),
    ("weeks", {"weeks": "8.5"}),
    ("weeks", {"weeks": "0"}),
    ("weeks", {"weeks": ""}),
    ("n_per_arm", {"n_per_arm": "-3"}),
    ("n_per_arm", {"n_per_arm": "1e309"}),
    ("n_per_arm", {"n_per_arm": "5000"}),  # above the clinic's cap
    ("seed", {"seed": "NaN"}),
    ("seed", {"seed": "-1"}),
    ("arm0_name", {"arm0_name": ""}),
    ("arm1_name", {"arm1_name": "amitriptyline_25"}),  # used by another arm
    ("arm0_drug", {"arm0_drug": "amitryptiline"}),
    ("arm0_drug", {"arm0_drug": "<script>x</script>"}),
    ("arm0_dose", {"arm0_dose": "lots"}),
    ("arm0_dose", {"arm0_dose": "-25"}),
    ("arm0_dose", {"arm0_dose": ""}),
    ("arm0_every", {"arm0_every": "daily"}),
    ("arm0_every", {"arm0_every": ""}),
    ("arm1_dose", {"arm1_dose": "10"}),  # a dose for the placebo arm
    ("arms", {"arm1_name": "", "arm1_drug": ""}),  # one arm row only
]


@pytest.mark.parametrize(("field", "change"), BAD, ids=[f"{f}={v}" for f, v in BAD])
def test_a_malformed_field_gives_the_form_with_the_message_beside_it(carol, field, change):
    c, csrf = carol
    r = c.post("/trials/form", data={**EXAMPLE_FORM, **change, "csrf": csrf})
    assert r.status_code == 422, (field, r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    # the message sits beside the field, the field is marked, the typed values are kept
    assert f'<p class="error" id="{field}-error">' in html, (field, html[:2000])
    msg = html.split(f'id="{field}-error">', 1)[1].split("</p>", 1)[0]
    named = field if field in ("name", "condition", "weeks", "n_per_arm", "seed") else ""
    assert named in msg or field.startswith("arm"), (field, msg)
    if field.startswith("arm") and field != "arms":
        assert "arms[" in msg, (field, msg)
        assert f'aria-describedby="{field}-error"' in html
    assert 'value="amitriptyline_vs_placebo"' in html or field == "name"
