"""A virtual trial says on what its efficacy in a condition rests (issue 20 item 4)."""

from __future__ import annotations

from typing import Any

from neurodose.trial.design import parse_design
from neurodose.trial.run import run_trial


def _run(condition: str, drug: str, exposure: Any) -> dict[str, Any]:
    d = parse_design(
        {
            "name": "t",
            "weeks": 2,
            "condition": condition,
            "n_per_arm": 60,
            "seed": 3,
            "arms": [
                {"name": "placebo", "drug": "placebo"},
                {
                    "name": "a",
                    "drug": drug,
                    "regimen": [
                        {
                            "start_day": 1,
                            "dose_mg": 50 if drug == "amitriptyline" else 60,
                            "every_h": 24,
                        }
                    ],
                },
            ],
        }
    )
    out = run_trial(d, exposure=exposure).to_dict()
    return {**out["comparisons"]["a_vs_placebo"], "_sources": out["sources"]}


def test_amitriptyline_in_hiv_neuropathy_states_its_basis(exposure) -> None:
    c = _run("hiv_neuropathy", "amitriptyline", exposure)
    assert "dinat2015_hiv_ami" in c["_sources"]
    ebc = c["efficacy_by_condition"]
    assert c["efficacy_basis"] == "no_effect"
    assert ebc["nnt_50_condition"] is None
    assert "no benefit" in ebc["note"]
    assert "dinat2015_hiv_ami" in {e["source"] for e in ebc["evidence"]}


def test_extrapolated_efficacy_is_in_the_top_level_rests_on_unknown(exposure) -> None:
    d = parse_design({**_DESIGN, "condition": "hiv_neuropathy", "arms": [
        _DESIGN["arms"][0], {**_DESIGN["arms"][1], "drug": "duloxetine"}]})  # fmt: skip
    out = run_trial(d, exposure=exposure).to_dict()
    cond = [u for u in out["rests_on_unknown"] if u.get("comparison") == "a_vs_placebo"]
    assert cond and cond[0]["what"] == "condition effect modifier"
    assert cond[0]["arm"] == "a" and cond[0]["drug"] == "duloxetine"
    d2 = parse_design({**_DESIGN, "condition": "hiv_neuropathy"})  # amitriptyline: no effect
    out2 = run_trial(d2, exposure=exposure).to_dict()
    assert not [u for u in out2["rests_on_unknown"] if "comparison" in u]


def test_a_condition_without_data_says_extrapolated(exposure) -> None:
    c = _run("hiv_neuropathy", "duloxetine", exposure)
    ebc = c["efficacy_by_condition"]
    assert c["efficacy_basis"] == "extrapolated"
    assert ebc["modifier"] is None and ebc["rests_on_unknown"]
    assert ebc["nnt_50_condition"] == c["nnt_50"]
    assert "extrapolated from diabetic neuropathy" in ebc["note"]


def test_diabetic_neuropathy_is_the_reference(exposure) -> None:
    c = _run("diabetic_neuropathy", "duloxetine", exposure)
    assert c["efficacy_basis"] == "reference"


_DESIGN: dict[str, Any] = {
    "name": "t",
    "weeks": 2,
    "condition": "chemotherapy_neuropathy",
    "n_per_arm": 40,
    "seed": 3,
    "arms": [
        {"name": "placebo", "drug": "placebo"},
        {
            "name": "a",
            "drug": "amitriptyline",
            "regimen": [{"start_day": 1, "dose_mg": 50, "every_h": 24}],
        },
    ],
}


def test_text_output_says_extrapolated(exposure) -> None:
    from rich.console import Console

    from neurodose.cli.trial import print_trial

    d = parse_design(_DESIGN)  # amitriptyline in CIPN: no effect (Kautio 2008)
    con = Console(record=True, width=200)
    print_trial(run_trial(d, exposure=exposure), con)
    text = " ".join(con.export_text().split())
    assert "Efficacy by condition" in text
    assert "not supported here" in text
    arms = [_DESIGN["arms"][0], {**_DESIGN["arms"][1], "drug": "duloxetine"}]
    d2 = parse_design({**_DESIGN, "condition": "hiv_neuropathy", "arms": arms})
    con = Console(record=True, width=200)
    print_trial(run_trial(d2, exposure=exposure), con)
    assert "extrapolated from diabetic neuropathy" in " ".join(con.export_text().split())


def test_radiculopathy_and_trigeminal_neuralgia_are_refused_with_the_reason() -> None:
    import pytest

    from neurodose.errors import DesignError

    cases = (
        ("radiculopathy", "PRECISE"),
        ("sciatica", "sciatica (radiculopathy) cannot be simulated"),
        ("trigeminal_neuralgia", "carbamazepine"),
    )
    for cond, why in cases:
        with pytest.raises(DesignError) as exc:
            parse_design({**_DESIGN, "condition": cond})
        msg = str(exc.value)
        assert "cannot be simulated" in msg and why in msg
        assert "diabetic_neuropathy" in msg  # what is allowed


def test_extrapolated_comparison_names_what_it_is_extrapolated_from(exposure) -> None:
    c = _run("hiv_neuropathy", "duloxetine", exposure)
    src = c["efficacy_by_condition"]["extrapolated_from"]
    assert src["condition"] == "diabetic_neuropathy" and "calibrated_to" in src


def test_pregabalin_in_spinal_cord_injury_pain_is_effect_sized() -> None:
    c = _run("spinal_cord_injury_pain", "pregabalin", None)  # the real PK engine
    ebc = c["efficacy_by_condition"]
    assert c["efficacy_basis"] == "effect_sized"
    assert ebc["modifier"] == 0.893 and ebc["modifier_upper"] == 1.429
    if c["nnt_50"] is not None:  # risk difference scaled by 0.893 (never above 1.429x)
        scaled = ebc["nnt_50_condition"]
        assert abs(1 / scaled) <= 1.429 * abs(1 / c["nnt_50"])
        assert abs(scaled) > abs(c["nnt_50"])
