"""CLI: `neurodose trial` JSON contract and errors; `neurodose explain` JSON (real PK)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from neurodose.cli.main import app

DESIGN = """
name = "cli"
weeks = 2
condition = "diabetic_neuropathy"
n_per_arm = 60
seed = 5

[[arms]]
name = "placebo"
drug = "placebo"

[[arms]]
name = "dlx"
drug = "duloxetine"
regimen = [{ start_day = 1, dose_mg = 60, every_h = 24 }]
"""


def test_trial_json_contract(tmp_path: Path) -> None:
    f = tmp_path / "d.toml"
    f.write_text(DESIGN)
    png = tmp_path / "t.png"
    r = CliRunner().invoke(app, ["trial", str(f), "--json", "--plot", str(png)])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    a = d["arms"]["dlx"]
    assert a["n"] == 60 and len(a["weekly_mean_pain"]) == 3
    assert set(a["adverse_events"]) >= {"nausea", "dry_mouth", "dizziness"}
    c = d["comparisons"]["dlx_vs_placebo"]
    assert {"nnt_50", "nnt_50_ci", "nnt_30", "nnh_withdrawal"} <= set(c)
    assert "bymaster2001" in d["sources"]
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_trial_bad_design_is_a_clear_error(tmp_path: Path) -> None:
    f = tmp_path / "d.toml"
    f.write_text(DESIGN.replace('"diabetic_neuropathy"', '"diabetic_neurophaty"'))
    r = CliRunner().invoke(app, ["trial", str(f)])
    assert r.exit_code != 0
    text = r.output + str(r.exception)
    assert "condition" in text and "diabetic_neuropathy" in text


def test_explain_json(tmp_path: Path) -> None:
    r = CliRunner().invoke(
        app, ["explain", "--drug", "duloxetine", "--dose", "60 mg", "--days", "7", "--json"]
    )
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert {"SERT", "NET", "sodium_channel"} <= set(d["occupancy"])
    occ = d["occupancy"]["SERT"]
    assert len(occ["time_h"]) == len(occ["fraction"]) == 7 * 24
    assert 0.3 < max(occ["fraction"]) < 1.0
    assert "muscarinic" in d["unavailable_targets"]  # duloxetine has no muscarinic affinity
    assert "descending_serotonergic" in d["pathways"] and d["sources"]


def test_explain_flags_low_trust_inputs_and_applies_age() -> None:
    def run(age: str) -> dict:
        r = CliRunner().invoke(
            app,
            [
                "explain",
                "--drug",
                "amitriptyline",
                "--dose",
                "25 mg",
                "--days",
                "7",
                "--age",
                age,
                "--json",
            ],
        )
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout)

    old, young = run("78"), run("45")
    # the amitriptyline H1/alpha1 affinities are low trust (vendor summary): shown as such
    assert {a["low_trust"] for a in old["affinities"]["H1"]} == {True}
    assert any("H1" in x for x in old["low_trust_inputs"])
    assert "H1" in old["side_effect_drivers"]["drowsiness"]["low_trust_targets"]
    assert old["affinities"]["SERT"][0]["low_trust"] is False
    # age raises the anticholinergic intensity, not the serotonergic one
    for eff in ("confusion", "orthostatic_hypotension"):
        assert (
            old["side_effect_drivers"][eff]["peak_intensity"]
            > young["side_effect_drivers"][eff]["peak_intensity"]
        )
    assert old["side_effect_drivers"]["nausea"] == young["side_effect_drivers"]["nausea"]
    # the plain-text view marks them too
    r = CliRunner().invoke(
        app, ["explain", "--drug", "amitriptyline", "--dose", "25 mg", "--days", "7"]
    )
    assert r.exit_code == 0 and "LOW TRUST" in r.output
