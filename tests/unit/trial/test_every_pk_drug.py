"""Every drug with a PK model runs as a trial arm, and simulate/explain work for it
(issue 14: the round-2 drugs paroxetine, fluoxetine, sertraline, citalopram,
escitalopram, imipramine, tramadol and milnacipran). Real PK engine, small arms."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from neurodose.cli.main import app
from neurodose.errors import DesignError
from neurodose.pk.parameters import get_pkmodel, pkmodel_names
from neurodose.trial.design import parse_design
from neurodose.trial.run import run_trial

ROUND2 = (
    "paroxetine",
    "fluoxetine",
    "sertraline",
    "citalopram",
    "escitalopram",
    "imipramine",
    "tramadol",
    "milnacipran",
)
runner = CliRunner()


def _design(drug: str, dose: float = 20.0) -> dict:
    return {
        "name": f"arm_{drug}",
        "weeks": 2,
        "condition": "diabetic_neuropathy",
        "n_per_arm": 6,
        "seed": 3,
        "arms": [
            {"name": "placebo", "drug": "placebo"},
            {
                "name": drug,
                "drug": drug,
                "regimen": [{"start_day": 1, "dose_mg": dose, "every_h": 24}],
            },
        ],
    }


def test_round2_drugs_all_have_a_pk_model() -> None:
    assert set(ROUND2) <= set(pkmodel_names())


@pytest.mark.parametrize("drug", ROUND2)
def test_trial_arm_runs_on_the_real_pk_model(drug: str) -> None:
    out = run_trial(parse_design(_design(drug)), chunk_size=6).to_dict()
    arm = out["arms"][drug]
    assert arm["n"] == 6
    if drug == "tramadol":
        # no target data: relief is not computable, never the placebo response as a number
        assert arm["weekly_mean_pain"] is None and arm["responders_50"] is None
        assert "not computable" in arm["efficacy_not_computable"]
    else:
        assert len(arm["weekly_mean_pain"]) == 3
        assert 0 <= arm["responders_50"] <= arm["responders_30"] <= 1
    # the arm's concentrations came from this drug's PK model: its clearance source is cited
    spec = get_pkmodel(drug)
    cl = spec.parameters.get("CL") or spec.parameters["CL_other"]
    assert cl.source in out["sources"], (drug, cl.source)


def test_design_rejects_a_kb_drug_without_pk_model_naming_the_field() -> None:
    with pytest.raises(DesignError) as e:
        parse_design(_design("bupropion"))
    msg = str(e.value)
    assert "arms[1].drug" in msg and "no PK model" in msg and "milnacipran" in msg


def test_design_suggests_a_drug_with_pk_model_for_a_misspelling() -> None:
    with pytest.raises(DesignError, match="did you mean 'milnacipran'"):
        parse_design(_design("milnacipram"))


@pytest.mark.parametrize("drug", ROUND2)
def test_simulate_and_explain_cli(drug: str) -> None:
    r = runner.invoke(
        app, ["simulate", "--drug", drug, "--dose", "20 mg", "--every", "24 h", "--json"]
    )
    assert r.exit_code == 0, r.stderr
    sim = json.loads(r.stdout)
    first = get_pkmodel(drug).analytes[0]
    assert sim["summary"][first]["cmax_ng_per_ml"] > 0
    r = runner.invoke(
        app,
        ["explain", "--drug", drug, "--dose", "20 mg", "--every", "24 h", "--days", "14", "--json"],
    )
    assert r.exit_code == 0, r.stderr
    ex = json.loads(r.stdout)
    assert ex["drug"] == drug


def test_milnacipran_renal_share_scales_with_crcl() -> None:
    """Milnacipran's renal share of clearance (Puozzo 1998: 50 % of the dose unchanged / F 0.90)
    scales with creatinine clearance; the non-renal share does not."""
    from neurodose.case.patient import Patient
    from neurodose.pk.individual import individual_parameters

    spec = get_pkmodel("milnacipran")
    (cov,) = [c for c in spec.covariates if c.kind == "renal_fraction"]
    f, ref = cov.fraction.point, cov.reference.point  # type: ignore[union-attr]
    cl = {x: individual_parameters("milnacipran", Patient(crcl=x)).values["CL"] for x in (10, 50)}
    base = individual_parameters("milnacipran").values["CL"]
    for x, v in cl.items():
        assert v == pytest.approx(base * ((1 - f) + f * x / ref))
    assert cl[10] < cl[50] < base
    # and it reaches the command line: a lower CrCl raises the trough
    lo = runner.invoke(app, ["simulate", "--drug", "milnacipran", "--dose", "50 mg", "--every",
                             "12 h", "--days", "7", "--crcl", "15", "--json"])  # fmt: skip
    hi = runner.invoke(app, ["simulate", "--drug", "milnacipran", "--dose", "50 mg", "--every",
                             "12 h", "--days", "7", "--crcl", "100", "--json"])  # fmt: skip
    assert lo.exit_code == 0 and hi.exit_code == 0, lo.stderr + hi.stderr
    t_lo = json.loads(lo.stdout)["summary"]["milnacipran"]["cmin_ss_ng_per_ml"]
    t_hi = json.loads(hi.stdout)["summary"]["milnacipran"]["cmin_ss_ng_per_ml"]
    assert t_lo > 1.5 * t_hi
