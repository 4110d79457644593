"""`neurodose tdm` and `neurodose response`: JSON contract, errors naming the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from neurodose.cli.main import app

EX = Path(__file__).resolve().parents[3] / "examples" / "tdm"
runner = CliRunner()


def _run(*args):
    return runner.invoke(app, list(args))


def test_tdm_json_contract(tmp_path):
    png = tmp_path / "fit.png"
    r = _run(
        "tdm",
        "--drug",
        "amitriptyline",
        "--dose",
        "25 mg",
        "--days",
        "28",
        "--levels",
        str(EX / "levels.csv"),
        "--indication",
        "depression",
        "--json",
        "--plot",
        str(png),
    )
    assert r.exit_code == 0, r.output
    j = json.loads(r.stdout)
    for key in ("individual", "prior", "predicted", "recommendation", "sources"):
        assert key in j
    for a in ("amitriptyline", "nortriptyline", "amitriptyline+nortriptyline"):
        assert {"time_h", "concentration_ng_per_ml", "p05", "p95"} <= set(j["predicted"][a])
    rec = j["recommendation"]
    assert {"dose_mg", "every_h", "predicted_trough_ng_per_ml"} <= set(rec)
    assert rec["target"] == [80.0, 200.0]
    assert png.stat().st_size > 1000


def test_tdm_datetime_levels_and_lower_target():
    r = _run(
        "tdm",
        "--drug",
        "amitriptyline",
        "--dose",
        "25 mg",
        "--days",
        "28",
        "--levels",
        str(EX / "levels_datetime.csv"),
        "--first-dose",
        "2026-03-02 21:00",
        "--target",
        "50-150",
        "--json",
    )
    assert r.exit_code == 0, r.output
    j = json.loads(r.stdout)
    assert j["recommendation"]["target"] == [50.0, 150.0]
    assert [lv["blq"] for lv in j["levels"]] == [False, False, False, True]


def test_tdm_text_output_mentions_sources():
    r = _run(
        "tdm", "--drug", "amitriptyline", "--dose", "10 mg", "--days", "7", "--target", "50-150"
    )
    assert r.exit_code == 0, r.output
    assert "a-priori" in r.stdout and "sources:" in r.stdout


def test_tdm_pain_dose_without_target_says_why():
    r = _run("tdm", "--drug", "amitriptyline", "--dose", "10 mg", "--days", "7")
    assert r.exit_code == 2
    assert "--target" in r.stderr and "depression" in r.stderr


@pytest.mark.parametrize(
    ("csv", "needle"),
    [
        ("time_h,analyte,value,unit\n-5,AMI,10,ng/mL\n", "time_h"),
        ("time_h,analyte,value,unit\n100,AMI,-1,ng/mL\n", "value"),
        ("time_h,analyte,value,unit\n100,AMI,10,ng/dl\n", "unit"),
        ("time_h,analyte,value,unit\n100,clomipramine,10,ng/mL\n", "analyte"),
    ],
)
def test_tdm_bad_levels_name_the_field(tmp_path, csv, needle):
    p = tmp_path / "levels.csv"
    p.write_text(csv, encoding="utf-8")
    r = _run(
        "tdm",
        "--drug",
        "amitriptyline",
        "--dose",
        "25 mg",
        "--days",
        "14",
        "--levels",
        str(p),
        "--target",
        "50-150",
    )
    assert r.exit_code == 2
    assert needle in r.stderr and "row 1" in r.stderr


def test_response_json(tmp_path):
    png = tmp_path / "resp.png"
    r = _run(
        "response",
        "--diary",
        str(EX / "diary.csv"),
        "--drug",
        "amitriptyline",
        "--regimen",
        str(EX / "regimen_titration.toml"),
        "--json",
        "--plot",
        str(png),
    )
    assert r.exit_code == 0, r.output
    j = json.loads(r.stdout)
    names = [s["scenario"] for s in j["scenarios"]]
    assert names[:2] == ["keep", "raise"] and names[2].startswith("switch to")
    for s in j["scenarios"]:
        assert 0.0 <= s["p_relief_30_week8"] <= 1.0
    assert any(f["kind"] == "possible_withdrawal" for f in j["findings"])
    assert j["fit"]["gap_days"] == 3
    assert "dworkin2008_immpact" in j["sources"]
    assert png.stat().st_size > 1000


def test_response_bad_diary(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("date,pain\n2026-03-01,12\n", encoding="utf-8")
    r = _run(
        "response", "--diary", str(p), "--drug", "amitriptyline", "--dose", "10 mg", "--days", "7"
    )
    assert r.exit_code == 2
    assert "pain" in r.stderr and "0-10" in r.stderr


def test_response_with_levels_individualises_pk():
    r = _run(
        "response",
        "--diary",
        str(EX / "diary.csv"),
        "--drug",
        "amitriptyline",
        "--regimen",
        str(EX / "regimen_titration.toml"),
        "--levels",
        str(EX / "levels.csv"),
        "--json",
    )
    assert r.exit_code == 0, r.output
    j = json.loads(r.stdout)
    assert j["notes"][0].startswith("PK individualised from 4 level(s)")


def test_library_errors_name_fields_and_the_cli_names_flags():
    """mipd names its fields (``stop_drugs``); ``neurodose tdm`` maps them to flags."""
    from typer.testing import CliRunner

    from neurodose.cli.main import app

    res = CliRunner().invoke(
        app,
        [
            "tdm",
            "--drug",
            "amitriptyline",
            "--levels",
            "examples/tdm/levels.csv",
            "--dose",
            "50 mg",
            "--days",
            "28",
            "--what-if-stop",
            "paroxetine",
            "--target",
            "50-150",
        ],
    )
    assert res.exit_code == 2
    assert "--what-if-stop: 'paroxetine'" in res.output
    assert "stop_drugs" not in res.output


@pytest.mark.parametrize(
    ("values", "action", "first_reason"),
    [
        ((400.0, 300.0), "hold or reduce the dose; do not raise it", "adherence: doses taken"),
        ((0.5, 0.4), "do not raise the dose on this level alone", "adherence: missed doses"),
    ],
)
def test_tdm_text_prints_the_far_level_advice(tmp_path, values, action, first_reason):
    """A level 10x or more from the prediction: the text output gives the same advice as
    the JSON and the clinic page (the safe direction, then the explanations), in a marked
    block; a level near the prediction prints no such block."""
    csv = tmp_path / "levels.csv"
    csv.write_text(
        "time_h,analyte,value,unit\n"
        f"647,amitriptyline,{values[0]},ng/mL\n647,nortriptyline,{values[1]},ng/mL\n",
        encoding="utf-8",
    )
    args = ["tdm", "--drug", "amitriptyline", "--dose", "25 mg", "--days", "28"]
    args += ["--levels", str(csv), "--target", "50-150"]
    r = _run(*args)
    assert r.exit_code == 0, r.output
    out = " ".join(r.stdout.split())  # the console wraps long lines
    assert "=== LEVEL FAR FROM THE PREDICTION ===" in out
    block = out.split("=== LEVEL FAR FROM THE PREDICTION ===")[1].split("=== end of")[0]
    far = json.loads(_run(*args, "--json").stdout)["far_from_prediction"]
    assert action in block and far["safe_action"] in block
    assert f"times the {far['predicted_ng_per_ml']:g} ng/mL predicted" in block
    for e in far["explanations"]:
        assert f"- {' '.join(e.split())}" in block, (e, block)
    assert first_reason in far["explanations"][0]
    assert "poor-metaboliser" in block or "ultrarapid-metaboliser" in block
    near = _run(
        "tdm", "--drug", "amitriptyline", "--dose", "25 mg", "--days", "28",
        "--levels", str(EX / "levels.csv"), "--indication", "depression",
    )  # fmt: skip
    assert near.exit_code == 0, near.output
    assert "FAR FROM THE PREDICTION" not in near.stdout


def test_tdm_scr_reaches_gabapentins_clearance_model():
    """``--scr`` (as on simulate and explain) sets the prior of gabapentin's renal model."""
    base = ("tdm", "--drug", "gabapentin", "--dose", "300 mg", "--every", "8h", "--days", "14")
    args = (*base, "--age", "70", "--target", "2000-20000", "--json")
    normal = _run(*args)
    renal = _run(*args, "--scr", "3.0")
    assert normal.exit_code == 0 and renal.exit_code == 0, renal.output
    cl_normal = json.loads(normal.stdout)["prior"]["CL"]
    cl_renal = json.loads(renal.stdout)["prior"]["CL"]
    assert cl_renal < 0.6 * cl_normal
    bad = _run(*args, "--scr", "-1")
    assert bad.exit_code != 0 and "scr: -1.0 is not allowed" in bad.output
