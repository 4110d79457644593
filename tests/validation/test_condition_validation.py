"""Efficacy by condition and dose-response against cited trials (issue 20 item 4).

The same run as ``calibration/condition_validation.py`` (docs/validation.md, "Efficacy by
condition and dose-response"). Each test names whether its data are training (of the efficacy
calibration or of a condition modifier) or held out. Tolerance: the cited 95 % CI. Known
contradictions are strict xfails with the reason, so a fix shows up as an XPASS.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
N = 1000


def _script() -> ModuleType:
    path = ROOT / "calibration" / "condition_validation.py"
    spec = importlib.util.spec_from_file_location("condition_validation", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def res() -> dict[str, Any]:
    return _script().run(N)


def _rows(
    res: dict[str, Any], table: str, regimen: str, condition: str, outcome: str | None = None
) -> list[dict[str, Any]]:
    return [
        r
        for r in res[table]
        if r["regimen"] == regimen
        and r["condition"] == condition
        and (outcome is None or r["outcome"] == outcome)
    ]


@pytest.mark.validation
def test_condition_modifiers_reproduce_the_nnts_they_were_derived_from(res: dict) -> None:
    # training (condition modifier): Wiffen 2017 SoF 1 and Cochrane 2009 PHN / central
    for reg, cond in (
        ("pgb600", "postherpetic_neuralgia"),
        ("pgb600", "spinal_cord_injury_pain"),
    ):
        (row,) = _rows(res, "per_condition", reg, cond, "nnt_50")
        assert row["simulated"]["efficacy_basis"] == "effect_sized"
        assert row["within_ci"] is True, row


@pytest.mark.validation
@pytest.mark.xfail(
    reason="merged model of session 5: with fewer gabapentin AE withdrawals (issue 20 item 6) "
    "the PHN trial simulates NNT 4.9 (condition output 5.2 after the Wiffen 2017 modifier) "
    "against the cited 6.9 (5.5-9.4); gabapentin's DPN NNT 5.8 is inside its CI (6.6)",
    strict=True,
)
def test_gabapentin_phn_modifier_reproduces_wiffen(res: dict) -> None:
    (row,) = _rows(res, "per_condition", "gbp1800", "postherpetic_neuralgia", "nnt_50")
    assert row["simulated"]["efficacy_basis"] == "effect_sized"
    assert row["within_ci"] is True, row


@pytest.mark.validation
def test_pregabalin_600_in_dpn_within_arezzo_2008(res: dict) -> None:
    # held out: 49 % vs 23 % responders, NNT 3.8 (2.5-8.3) derived
    row = next(r for r in res["per_condition"] if r["source"] == "arezzo2008_dpn_pgb")
    assert row["within_ci"] is True, row


@pytest.mark.validation
def test_pregabalin_dose_gradient(res: dict) -> None:
    # NeuPSIG: pregabalin shows a dose-response gradient; Richter 2005: 150 mg ~ placebo
    nnt = {
        r["regimen"]: r["simulated"]["nnt_50"]
        for r in res["dose_response"]
        if r["condition"] == "diabetic_neuropathy" and r["drug"] == "pregabalin"
    }
    assert nnt["pgb150"] > nnt["pgb300"] > nnt["pgb600"]


def _xfail(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(reason=reason, strict=True)


@pytest.mark.validation
@pytest.mark.parametrize(
    ("table", "regimen", "condition", "outcome"),
    [
        # held out: Moore 2009 via Bandolier 2010, PHN >= 30 % relief NNT per dose
        ("dose_response", "pgb150", "postherpetic_neuralgia", "nnt_30"),
        ("dose_response", "pgb300", "postherpetic_neuralgia", "nnt_30"),
        pytest.param(
            "dose_response", "pgb600", "postherpetic_neuralgia", "nnt_30",
            marks=_xfail(
                "pregabalin 600 mg in PHN: >= 30 % relief NNT about 5 against 2.7 (2.2-3.4); the "
                "PHN modifier acts on the >= 50 % NNT only and the placebo multiplier is assumed"
            ),
        ),
        pytest.param(
            "per_condition", "dul30to60", "chemotherapy_neuropathy", "placebo_fall",
            marks=_xfail(
                "condition placebo multipliers are assumptions (direction cited, Cepeda 2012): "
                "placebo fall in CIPN ~1.4 vs 0.34 (0.01-0.66), Smith 2013"
            ),
        ),
    ],
)  # fmt: skip
def test_held_out_rows_within_the_cited_ci(
    res: dict, table: str, regimen: str, condition: str, outcome: str
) -> None:
    (row,) = _rows(res, table, regimen, condition, outcome)
    assert row["within_ci"] is True, row


@pytest.mark.validation
def test_duloxetine_120_no_better_than_60(res: dict) -> None:
    nnt = {r["regimen"]: r["simulated"]["nnt_50"] for r in res["dose_response"]}
    assert nnt["dul120"] >= 0.85 * nnt["dul60"]


@pytest.mark.validation
@pytest.mark.parametrize(
    ("regimen", "condition"),
    [
        ("pgb400", "hiv_neuropathy"),
        ("ami50", "hiv_neuropathy"),
        ("pgb300", "central_post_stroke_pain"),
    ],
)
def test_no_effect_conditions_are_reported_not_supported(
    res: dict, regimen: str, condition: str
) -> None:
    # held out: trials found no benefit; the condition output must not print an NNT for them
    (row,) = _rows(res, "per_condition", regimen, condition, "mean_diff")
    assert row["simulated"]["efficacy_basis"] == "no_effect"
    assert row["simulated"]["nnt_50_condition"] is None


@pytest.mark.validation
@pytest.mark.xfail(
    reason="the raw physiology in HIV neuropathy and CPSP is the diabetic-neuropathy one: it "
    "predicts a 0.9-1.7 point benefit where the trials found none; only the condition layer "
    "(no_effect) corrects it",
    strict=True,
)
def test_raw_physiology_matches_null_trials(res: dict) -> None:
    for reg, cond in (("pgb400", "hiv_neuropathy"), ("pgb300", "central_post_stroke_pain")):
        (row,) = _rows(res, "per_condition", reg, cond, "mean_diff")
        assert row["simulated"]["mean_diff"] <= 0.7, row


def test_committed_coverage_is_the_current_file() -> None:
    """The coverage matrix in the committed JSON is the efficacy file as it is now."""
    committed = json.loads(
        (ROOT / "calibration" / f"condition_validation_n{N}.json").read_text(encoding="utf-8")
    )
    assert committed["coverage"] == _script().coverage()


@pytest.mark.validation
def test_docs_table_is_the_committed_run() -> None:
    """docs/validation.md shows the numbers of the committed JSON (re-run the script and paste
    its --markdown output when the model changes)."""
    committed = json.loads(
        (ROOT / "calibration" / f"condition_validation_n{N}.json").read_text(encoding="utf-8")
    )
    doc = (ROOT / "docs" / "validation.md").read_text(encoding="utf-8")
    section = doc.split("## Efficacy by condition and dose-response (issue 20 item 4)", 1)[1]
    script = _script()
    text = script.markdown(committed) + "\n" + script.coverage_markdown(committed["coverage"])
    table = [line for line in text.splitlines() if line]
    missing = [line for line in table if line not in section.splitlines()]
    assert not missing, missing
