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

    d = parse_design(_DESIGN)
    con = Console(record=True, width=200)
    print_trial(run_trial(d, exposure=exposure), con)
    text = " ".join(con.export_text().split())
    assert "Efficacy by condition" in text
    assert "extrapolated from diabetic neuropathy" in text
    d2 = parse_design({**_DESIGN, "condition": "hiv_neuropathy"})
    con = Console(record=True, width=200)
    print_trial(run_trial(d2, exposure=exposure), con)
    assert "not supported here" in " ".join(con.export_text().split())
