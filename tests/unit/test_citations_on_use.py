"""Citations on use: a result lists the sources of the values that produced it, not every
source of every record it touched (issue 9)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from neurodose import citations
from neurodose.case import Regimen, load_patient
from neurodose.cli.main import app
from neurodose.knowledge import get_drug, record

RUNNER = CliRunner()


def _json(args: list[str]) -> dict:
    res = RUNNER.invoke(app, args)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_tdm_for_amitriptyline_does_not_cite_beers():
    out = _json(
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
            "--target",
            "50-150",
            "--json",
        ]
    )
    srcs = set(out["sources"])
    assert "beers2023" not in srcs  # the whole amitriptyline record cites Beers
    assert "beers2023" in {item.source for _, item in record("amitriptyline").iter_sourced()}
    # ... but what the calculation used is cited: the maximum dose; the KB TDM range is not
    # used when the target is given (a pain dose has no KB target, issue 14), so not cited
    tdm_range = record("amitriptyline").tdm.reference_range
    assert tdm_range.source not in srcs
    maximum = record("amitriptyline").doses["neuropathic_pain"].maximum
    assert maximum.source in srcs


def test_assess_for_an_older_patient_cites_beers():
    from neurodose.advice.assess import assess

    def option_sources(age: float) -> set[str]:
        a = assess(load_patient({"age": age, "conditions": ["diabetic_neuropathy"]}))
        return {s for o in a.to_dict()["options"] for s in o["sources"]}

    assert "beers2023" in option_sources(80)
    assert "beers2023" not in option_sources(40)


def test_a_comedication_cites_the_interaction_used_not_its_whole_record():
    from neurodose.simulation import simulate

    res = simulate(
        "amitriptyline", Regimen.oral("25 mg", days=7), comedications=["paroxetine:20 mg"]
    )
    paroxetine_all = {item.source for _, item in record("paroxetine").iter_sourced()}
    applied = {e.source for e in record("paroxetine").interactions.inhibits if e.enzyme == "CYP2D6"}
    assert applied <= set(res.sources)
    unused = paroxetine_all - applied - set(res.sources)
    assert unused  # the record cites more than the simulation used


def test_record_is_pure_and_get_drug_cites_the_record():
    with citations.tracking() as used:
        record("duloxetine")
    assert not used
    with citations.tracking() as used:
        get_drug("duloxetine")
    assert used == {item.source for _, item in record("duloxetine").iter_sourced()}


def test_assess_and_screen_cite_values_used_not_whole_records():
    """The advice and safety paths read records with ``record()``: a 40-year-old's
    assessment does not cite Beers (every TCA record does), an 80-year-old's does."""
    from neurodose.advice.assess import assess
    from neurodose.safety.engine import screen

    young = load_patient({"age": 40, "conditions": ["diabetic_neuropathy"]})
    with citations.tracking() as used:
        a = assess(young)
    assert "beers2023" not in used and "beers2023" not in a.sources
    assert "beers2023" in {item.source for _, item in record("amitriptyline").iter_sourced()}
    old = load_patient({"age": 80, "conditions": ["diabetic_neuropathy"]})
    with citations.tracking() as used:
        screen(old, "amitriptyline")
    assert "beers2023" in used
    # a medication on the list is resolved without citing its record
    with citations.tracking() as used:
        load_patient({"age": 40, "medications": ["paroxetine"]})
    assert not used
