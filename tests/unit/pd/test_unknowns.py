"""Unknown is not zero (issue 20 item 1): a missing affinity is carried as unknown and
every output that depends on it says so; relief with no known pathway is not computable.

Real CLI, real PK and PD models (no mocks of our own parts)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from neurodose.cli.main import app
from neurodose.pd.occupancy import TARGETS
from neurodose.pd.unknowns import PATHWAY_TARGET
from neurodose.pk.parameters import pkmodel_names
from neurodose.trial.design import parse_design
from neurodose.trial.run import run_trial

runner = CliRunner()


def _explain(drug: str, *extra: str) -> dict[str, Any]:
    r = runner.invoke(
        app,
        [
            "explain",
            "--drug",
            drug,
            "--dose",
            "50 mg",
            "--every",
            "24 h",
            "--days",
            "10",
            "--json",
            *extra,
        ],
    )
    assert r.exit_code == 0, r.output
    data: dict[str, Any] = json.loads(r.stdout)
    return data


def _trial(drug: str) -> dict[str, Any]:
    design = {
        "name": f"u_{drug}",
        "weeks": 2,
        "condition": "diabetic_neuropathy",
        "n_per_arm": 8,
        "seed": 5,
        "arms": [
            {"name": "placebo", "drug": "placebo"},
            {
                "name": drug,
                "drug": drug,
                "regimen": [{"start_day": 1, "dose_mg": 50, "every_h": 24}],
            },
        ],
    }
    return run_trial(parse_design(design), chunk_size=8).to_dict()


def _unknown_targets(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {u["target"]: u for u in items}


def test_nortriptyline_explain_lists_its_unknown_targets() -> None:
    d = _explain("nortriptyline")
    unk = _unknown_targets(d["rests_on_unknown"])
    for t in ("sodium_channel", "H1", "muscarinic", "alpha1", "NMDA"):
        assert unk[t]["status"] == "unknown" and "nortriptyline" in unk[t]["analytes"], t
    # the Na-channel pathway has no value (None), not a share of 0
    assert d["pathways"]["sodium_channel"]["share_of_relief"] is None
    assert d["pathways"]["sodium_channel"]["status"] == "unknown"
    # relief is computed from SERT/NET and labelled a lower bound
    assert d["relief"]["drug_attributable_fraction"] is not None
    assert "sodium_channel" in d["relief"]["rests_on_unknown"]
    assert "lower bound" in d["relief"]["caveat"]
    # dry mouth has only a muscarinic driver: not computable, not "no dry mouth"
    assert d["side_effect_drivers"]["dry_mouth"]["peak_intensity"] is None
    assert "muscarinic" in d["side_effect_drivers"]["dry_mouth"]["not_computable"]


def test_tramadol_explain_says_relief_is_not_computable() -> None:
    d = _explain("tramadol")
    assert d["relief"]["drug_attributable_fraction"] is None
    assert d["relief"]["pain_without_placebo"] is None
    assert "not computable" in d["relief"]["not_computable"]
    unk = _unknown_targets(d["rests_on_unknown"])
    assert {"SERT", "NET", "sodium_channel"} <= set(unk)
    assert "o_desmethyltramadol" in unk["SERT"]["analytes"]
    assert all(v["share_of_relief"] is None for v in d["pathways"].values())


def test_tramadol_explain_text_says_not_computable() -> None:
    r = runner.invoke(
        app, ["explain", "--drug", "tramadol", "--dose", "50 mg", "--days", "7"], terminal_width=200
    )
    assert r.exit_code == 0, r.output
    assert "NOT COMPUTABLE" in r.output and "rests on unknown" in r.output


def test_trial_json_tramadol_nnt_is_null_with_a_reason() -> None:
    out = _trial("tramadol")
    c = out["comparisons"]["tramadol_vs_placebo"]
    assert c["nnt_50"] is None and c["nnt_30"] is None
    assert "not computable" in c["nnt_not_computable"]
    assert c["nnh_withdrawal"] is None and c["nnh_withdrawal_not_computable"]
    arm = out["arms"]["tramadol"]
    assert arm["responders_50"] is None and arm["efficacy_not_computable"]
    assert {u["target"] for u in arm["rests_on_unknown"]} >= {"SERT", "NET"}
    assert all(u["arm"] == "tramadol" for u in out["rests_on_unknown"])


def test_trial_json_nortriptyline_shows_its_unknowns() -> None:
    out = _trial("nortriptyline")
    c = out["comparisons"]["nortriptyline_vs_placebo"]
    assert c["nnt_not_computable"] is None
    assert "lower bound" in c["nnt_caveat"]
    targets = {u["target"] for u in out["rests_on_unknown"]}
    assert {"sodium_channel", "H1", "muscarinic", "alpha1"} <= targets
    arm = out["arms"]["nortriptyline"]
    assert arm["adverse_events"]["dry_mouth"] is None
    assert "dry_mouth" in arm["adverse_events_not_computable"]
    assert arm["weekly_relief_share"]["sodium_channel"] is None


def test_simulate_pd_json_carries_rests_on_unknown() -> None:
    r = runner.invoke(
        app,
        [
            "simulate",
            "--drug",
            "tramadol",
            "--dose",
            "50 mg",
            "--days",
            "7",
            "--hours",
            "168",
            "--pd",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    pd = json.loads(r.stdout)["pd"]
    assert pd["relief"]["drug_attributable_fraction"] is None
    assert pd["relief"]["not_computable"]
    assert {u["target"] for u in pd["rests_on_unknown"]} >= {"SERT", "NET"}


@pytest.mark.parametrize("drug", pkmodel_names())
def test_no_pathway_or_target_is_silently_zero(drug: str) -> None:
    d = _explain(drug)
    unk = _unknown_targets(d["rests_on_unknown"])
    for pathway, v in d["pathways"].items():
        target = PATHWAY_TARGET[pathway]
        if v["share_of_relief"] is None:
            assert v["status"] == "unknown" and unk[target]["status"] == "unknown", pathway
        elif v["status"] == "partial":
            assert unk[target]["status"] == "partial", pathway
        else:
            # modelled from known affinities, or known negligible (only lower bounds)
            assert v["status"] in ("modelled", "negligible"), (pathway, v["status"])
            assert target not in unk, pathway
    for t in TARGETS:
        if t not in d["occupancy"]:
            # a target without an occupancy is either unknown (listed) or known negligible
            assert t in unk or any(
                "lower bound" in why for k, why in d["unavailable_targets"].items() if k == t
            ), t
    for effect, v in d["side_effect_drivers"].items():
        if v["peak_intensity"] is None:
            assert v["not_computable"], effect
        for t in v.get("rests_on_unknown", []):
            assert t in unk, (effect, t)
    if all(v["share_of_relief"] is None for v in d["pathways"].values()):
        assert d["relief"]["drug_attributable_fraction"] is None and d["relief"]["not_computable"]
