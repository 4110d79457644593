"""The TDM workflow: KB target/strengths/maximum, report JSON contract, what-if."""

from __future__ import annotations

import numpy as np
import pytest

from neurodose.case import Regimen
from neurodose.errors import InputError
from neurodose.mipd.levels import Observations
from neurodose.mipd.tdm import kb_dosing, parse_target, run_tdm, tablet_strengths

AN = ("amitriptyline", "nortriptyline")


def test_kb_dosing_for_amitriptyline():
    dep = kb_dosing("amitriptyline", "depression", max_daily_mg=150.0)
    assert dep.target == (80.0, 200.0)
    assert dep.target_source == "mayo_amtrp"
    k = kb_dosing("amitriptyline", target=(50.0, 150.0))  # pain: no KB target (issue 14)
    assert k.target == (50.0, 150.0) and k.target_source == "user"
    assert {10.0, 25.0, 50.0} <= set(k.strengths)
    assert k.max_daily_mg == 75.0
    assert k.max_source.startswith("nice_cg96")


def test_kb_target_and_simulation_share_the_tdm_range():
    from neurodose import citations
    from neurodose.case import Regimen
    from neurodose.knowledge import get_drug
    from neurodose.simulation import simulate, tdm_reference_range

    for drug in ("amitriptyline", "nortriptyline"):
        with citations.tracking() as used:
            rng = tdm_reference_range(get_drug(drug))
        assert rng is not None and "mayo_amtrp" in used
        k = kb_dosing(drug, "depression", strengths=[10.0], max_daily_mg=100.0)
        assert k.target == rng
        assert simulate(drug, Regimen.oral("25 mg", days=1)).tdm_range == rng
    assert tdm_reference_range(get_drug("pregabalin")) is None
    with pytest.raises(InputError, match="no TDM range for pregabalin"):
        kb_dosing("pregabalin")


def test_strengths_missing_in_kb_is_said():
    assert tablet_strengths("imipramine")[0] == []
    with pytest.raises(InputError, match="lists none for imipramine"):
        kb_dosing("imipramine", target=(1.0, 2.0))
    # given by the user instead
    k = kb_dosing("imipramine", target=(1.0, 2.0), strengths=[10, 25], max_daily_mg=100)
    assert k.strengths_source == "user"


def test_parse_target():
    assert parse_target("50-150") == (50.0, 150.0)
    assert parse_target("0.05-0.15 mg/L") == (50.0, 150.0)
    for bad in ("150-50", "abc", "50-150 mg"):
        with pytest.raises(InputError, match=r"^target:"):
            parse_target(bad)


def test_report_json_contract():
    d = Regimen.oral(25.0, 24.0, doses=28).expand()
    obs = Observations.from_arrays(
        [647, 647, 671, 671], list(AN) * 2, [14.0, 10.0, 13.0, 11.0], analytes=AN
    )
    r = run_tdm(
        "amitriptyline", d, obs, add_drugs=["paroxetine:20 mg"], target=(50.0, 150.0), n_draws=200
    )
    j = r.to_json()
    assert set(j["individual"]) == set(j["prior"]) == {"CL_form", "CL_other", "CL_m", "F"}
    pm = j["predicted"]["amitriptyline+nortriptyline"]
    assert {"time_h", "concentration_ng_per_ml", "p05", "p95"} <= set(pm)
    assert len(pm["time_h"]) == len(pm["p05"]) == len(pm["p95"])
    rec = j["recommendation"]
    for key in ("dose_mg", "every_h", "predicted_trough_ng_per_ml"):
        assert key in rec
    assert rec["daily_dose_mg"] <= 75.0
    assert rec["dose_mg"] in {10, 20, 25, 30, 35, 45, 50, 60, 70, 75} or rec["dose_mg"] <= 75
    assert j["target_applies_to"] == "amitriptyline+nortriptyline"
    assert rec["target"] == [50.0, 150.0] and rec["target_source"] == "user"
    assert "nice_cg96" in j["sources"]
    wi = j["what_if"][0]
    assert wi["scenario"].startswith("add paroxetine")
    # paroxetine (CYP2D6 inhibitor) raises the predicted trough on the current dose
    cur = np.interp(671.0, pm["time_h"], pm["concentration_ng_per_ml"])
    assert wi["predicted_ss_trough"] > cur


def test_a_priori_without_levels():
    d = Regimen.oral(10.0, 24.0, doses=7).expand()
    r = run_tdm("amitriptyline", d, None, target=(20.0, 60.0), n_draws=100)
    j = r.to_json()
    assert j["levels"] == []
    assert j["eta"] == {"CL": 0.0, "CL_m": 0.0, "F": 0.0}
    assert j["recommendation"]["target"] == [20.0, 60.0]


def test_stop_unknown_comedication_errors():
    d = Regimen.oral(10.0, 24.0, doses=7).expand()
    with pytest.raises(InputError, match=r"^stop_drugs:"):
        run_tdm(
            "amitriptyline", d, None, stop_drugs=["paroxetine"], target=(20.0, 60.0), n_draws=50
        )


def test_pain_dose_has_no_default_target_and_says_why():
    """The KB TDM ranges are depression ranges (issue 14): a pain dose needs a target."""
    d = Regimen.oral(10.0, 24.0, doses=7).expand()
    with pytest.raises(InputError, match=r"^target:.*depression.*no neuropathic_pain target"):
        run_tdm("amitriptyline", d, None, n_draws=50)
    # the clinic service fits and forecasts without recommending, and says why
    r = run_tdm("amitriptyline", d, None, n_draws=50, without_target="fit_only").to_json()
    assert r["recommendation"] is None
    assert any("no dose recommendation" in n and "depression" in n for n in r["notes"])
    # for depression the KB range is the default
    dep = run_tdm("amitriptyline", d, None, n_draws=50, indication="depression").to_json()
    assert dep["recommendation"]["target"] == [80.0, 200.0]


def test_a_level_ten_times_too_high_still_states_the_safe_direction():
    """A poor metaboliser's level can be ten times the population prediction: the dose
    search waits for the clinician, but the report says hold or reduce, names the likely
    explanations (adherence, sampling time, genotype, interacting drug), and accepting
    the level gives a recommendation that still carries the warning."""
    d = Regimen.oral(25.0, 24.0, doses=28).expand()
    obs = Observations.from_arrays([647, 647], list(AN), [400.0, 300.0], analytes=AN)
    r = run_tdm("amitriptyline", d, obs, target=(50.0, 150.0), n_draws=100).to_json()
    assert r["recommendation"] is None and not r["consistency"]["consistent"]
    far = r["far_from_prediction"]
    assert far["direction"] == "high" and far["ratio"] >= 10
    assert "hold or reduce" in far["safe_action"] and "do not raise" in far["safe_action"]
    text = " ".join(far["explanations"])
    for word in ("adherence", "sampling time", "poor-metaboliser", "CYP2D6", "interacting"):
        assert word in text, (word, text)
    assert any("accept" in n for n in r["notes"])
    ok = run_tdm(
        "amitriptyline", d, obs, target=(50.0, 150.0), n_draws=100, accept_inconsistent=True
    ).to_json()
    assert ok["recommendation"] is not None and ok["consistency"]["accepted"]
    assert ok["far_from_prediction"]["direction"] == "high"
    # the recommendation follows the safe direction: below the current 25 mg
    assert ok["recommendation"]["daily_dose_mg"] < 25.0


def test_a_low_level_says_do_not_raise_on_it_alone():
    d = Regimen.oral(25.0, 24.0, doses=28).expand()
    obs = Observations.from_arrays([647, 647], list(AN), [0.5, 0.4], analytes=AN)
    far = run_tdm("amitriptyline", d, obs, target=(50.0, 150.0), n_draws=100).to_json()[
        "far_from_prediction"
    ]
    assert far["direction"] == "low" and "do not raise" in far["safe_action"]
    assert "missed doses" in far["explanations"][0]


def test_recorded_missed_doses_enter_the_fit():
    """The diary's missed doses (dose_mg 0) replace the plan's doses of those days: the
    course TDM fits the doses taken, so the population prediction at the level is lower."""
    import datetime as dt

    from neurodose.advice.plans import Plan
    from neurodose.mipd.diary import Diary
    from neurodose.mipd.history import taken_doses

    reg = Regimen.oral(25.0, 24.0, doses=28)
    start = dt.date(2026, 3, 1)
    rows = [
        {"date": (start + dt.timedelta(days=k)).isoformat(), "pain": "6", "dose_mg": "0"}
        for k in range(20, 27)
    ]
    taken, summary = taken_doses(reg, Diary.from_rows(rows), start)
    assert taken is not None and summary.missed_days == 7
    assert len(taken.expand()) == 21 and "7 missed" in (summary.note() or "")
    obs = Observations.from_arrays([647, 647], list(AN), [14.0, 10.0], analytes=AN)
    plan_pred = run_tdm("amitriptyline", reg.expand(), obs, n_draws=50, recommend=False)
    taken_pred = run_tdm("amitriptyline", taken.expand(), obs, n_draws=50, recommend=False)
    assert taken_pred.fit.diagnostics.pred[0] < 0.5 * plan_pred.fit.diagnostics.pred[0]
    assert Plan is not None
