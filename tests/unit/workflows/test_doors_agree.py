"""The doors call the same workflows: the CLI's ``--json`` and the clinic API's body are
the workflow's result (plus, on the CLI, the defaults it applied)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from neurodose.case import Regimen, parse_comedication
from neurodose.cli.main import app
from neurodose.errors import InputError
from neurodose.service import library
from neurodose.workflows import (
    ExplainRequest,
    PlanRequest,
    SimulateRequest,
    explain,
    make_plan,
    simulate,
)


def _cli(*args: str) -> dict:
    res = CliRunner().invoke(app, list(args), prog_name="neurodose")
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_simulate_cli_api_and_workflow_agree():
    reg = {"dose": "25 mg", "every": "24 h", "days": 5}
    wf = simulate(SimulateRequest("amitriptyline", Regimen.from_mapping(reg), hours=72.0))
    api = library.simulate_json("amitriptyline", reg, {}, [], 72.0)
    cli = _cli(
        "simulate",
        "--drug",
        "amitriptyline",
        "--dose",
        "25 mg",
        "--days",
        "5",
        "--hours",
        "72",
        "--json",
    )
    cli.pop("defaults_applied")
    assert json.loads(json.dumps(wf.to_json())) == api == cli


def test_explain_api_and_workflow_agree():
    reg = Regimen.oral("60 mg", every="24 h", days=7)
    wf = explain(ExplainRequest("duloxetine", reg, days=7))
    api = library.explain_json("duloxetine", "60 mg", "24 h", 7, {}, [])
    assert json.loads(json.dumps(wf.to_json(), default=str)) == api


def test_plan_cli_api_and_workflow_agree():
    start = dt.date(2026, 1, 5)
    wf = make_plan(PlanRequest("taper", "venlafaxine", start, current_daily_mg=150))
    api = library.make_plan(
        None,
        {
            "kind": "taper",
            "drug": "venlafaxine",
            "start_date": "2026-01-05",
            "current_daily_mg": 150,
        },
    )
    cli = _cli(
        "plan",
        "taper",
        "--drug",
        "venlafaxine",
        "--current-dose",
        "150",
        "--start-date",
        "2026-01-05",
        "--json",
        "--patient-text",
    )
    for k in ("warnings", "defaults_applied"):
        cli.pop(k)
    assert wf.to_json() == api == cli


def test_a_dose_above_the_maximum_names_the_field_of_each_door():
    with pytest.raises(InputError) as exc:
        simulate(SimulateRequest("amitriptyline", Regimen.oral("500 mg", every="24 h", days=2)))
    assert exc.value.field == "regimen.dose"
    with pytest.raises(InputError) as exc:
        library.explain_json("amitriptyline", "500 mg", "24 h", 2, {}, [])
    assert exc.value.field == "dose"
    res = CliRunner().invoke(
        app, ["simulate", "--drug", "amitriptyline", "--dose", "500 mg", "--json"]
    )
    assert res.exit_code == 2 and "error: --dose: " in res.stderr
    with pytest.raises(InputError) as exc:
        simulate(
            SimulateRequest(
                "duloxetine",
                Regimen.oral("60 mg", every="24 h", days=2),
                comedications=(parse_comedication("amitriptyline:900 mg"),),
            )
        )
    assert exc.value.field == "comedications"
