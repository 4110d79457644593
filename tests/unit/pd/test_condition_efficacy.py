"""Efficacy by condition: the file is validated (every row cited), bases and the bound."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neurodose.errors import KnowledgeBaseError
from neurodose.knowledge.registry import references
from neurodose.pd.condition_efficacy import (
    EFFICACY_PATH,
    condition_efficacy,
    condition_nnt,
    load_efficacy_by_condition,
    trial_unavailable,
)

AETIOLOGIES = {
    "diabetic_neuropathy",
    "postherpetic_neuralgia",
    "hiv_neuropathy",
    "chemotherapy_neuropathy",
    "central_post_stroke_pain",
    "spinal_cord_injury_pain",
    "radiculopathy",
    "trigeminal_neuralgia",
}


def test_file_covers_the_aetiologies_and_every_row_is_cited() -> None:
    data = load_efficacy_by_condition()
    assert set(data.aetiologies) == AETIOLOGIES
    refs = references()
    for m in data.modifiers:
        for q in (*m.evidence, *([m.relative_effect] if m.relative_effect else [])):
            assert q.source in refs and q.locator.strip() and q.population
            assert not q.verified  # none of these rows is in a verified evidence pack
    for u in data.unavailable:
        assert u.evidence and all(q.source in refs and not q.verified for q in u.evidence)
    assert {m.finding for m in data.modifiers} == {"no_effect", "effect_shown", "effect_sized"}


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "efficacy_by_condition.toml"
    p.write_text(text, encoding="utf-8")
    return p


_HEAD = (
    'schema_version = 1\nkind = "efficacy_by_condition"\nreference = "diabetic_neuropathy"\n'
    'aetiologies = ["diabetic_neuropathy", "hiv_neuropathy"]\n'
)


def test_a_row_without_a_source_is_refused(tmp_path: Path) -> None:
    bad = _HEAD + (
        '[[modifiers]]\ndrug = "amitriptyline"\ncondition = "hiv_neuropathy"\n'
        'finding = "no_effect"\nsummary = "x"\n'
        '[[modifiers.evidence]]\nvalue = 1\nunit = "1"\nlocator = "abstract"\n'
    )
    with pytest.raises(KnowledgeBaseError, match="source"):
        load_efficacy_by_condition(_write(tmp_path, bad))


def test_an_unknown_source_key_or_condition_is_refused(tmp_path: Path) -> None:
    row = (
        '[[modifiers]]\ndrug = "amitriptyline"\ncondition = "{c}"\n'
        'finding = "no_effect"\nsummary = "x"\n'
        '[[modifiers.evidence]]\nvalue = 1\nunit = "1"\nlocator = "abstract"\nsource = "{s}"\n'
    )
    with pytest.raises(KnowledgeBaseError, match="nosuchkey"):
        load_efficacy_by_condition(
            _write(tmp_path, _HEAD + row.format(c="hiv_neuropathy", s="nosuchkey"))
        )
    with pytest.raises(KnowledgeBaseError, match="gout"):
        load_efficacy_by_condition(
            _write(tmp_path, _HEAD + row.format(c="gout", s="leijon1989_cpsp"))
        )


def test_effect_sized_needs_a_cited_upper_bound(tmp_path: Path) -> None:
    bad = _HEAD + (
        '[[modifiers]]\ndrug = "gabapentin"\ncondition = "hiv_neuropathy"\n'
        'finding = "effect_sized"\nsummary = "x"\n'
        '[[modifiers.evidence]]\nvalue = 1\nunit = "1"\nlocator = "t"\nsource = "leijon1989_cpsp"\n'
    )
    with pytest.raises(KnowledgeBaseError, match="relative_effect"):
        load_efficacy_by_condition(_write(tmp_path, bad))


def test_bases() -> None:
    assert condition_efficacy("amitriptyline", "diabetic_neuropathy").basis == "reference"
    hiv = condition_efficacy("amitriptyline", "hiv_neuropathy")
    assert hiv.basis == "no_effect" and hiv.modifier == 0.0
    assert {q.source for q in hiv.evidence} >= {"dinat2015_hiv_ami"}
    assert condition_efficacy("pregabalin", "radiculopathy").basis == "no_effect"
    assert condition_efficacy("duloxetine", "chemotherapy_neuropathy").basis == "effect_shown"
    unknown = condition_efficacy("duloxetine", "trigeminal_neuralgia")
    assert unknown.basis == "extrapolated" and unknown.modifier is None
    assert "extrapolated from diabetic neuropathy" in unknown.note
    assert unknown.to_json()["rests_on_unknown"]


def test_no_effect_gives_no_nnt_and_extrapolated_keeps_it() -> None:
    assert condition_nnt(4.0, condition_efficacy("pregabalin", "hiv_neuropathy")) is None
    assert condition_nnt(4.0, condition_efficacy("nortriptyline", "hiv_neuropathy")) == 4.0


_ROWS = [(m.drug, m.condition) for m in load_efficacy_by_condition().modifiers] + [
    ("amitriptyline", "diabetic_neuropathy"),
    ("sertraline", "radiculopathy"),
]


@given(nnt=st.floats(1.0, 1e4), row=st.sampled_from(_ROWS))
def test_modifier_never_raises_efficacy_above_the_cited_bound(nnt: float, row: tuple) -> None:
    ce = condition_efficacy(*row)
    out = condition_nnt(nnt, ce)
    if out is None:
        assert ce.basis == "no_effect"
        return
    bound = ce.upper if ce.basis == "effect_sized" else 1.0
    assert bound is not None
    # risk difference 1/NNT never above bound x the simulated one
    assert 1.0 / out <= bound / nnt * (1 + 1e-12)


def test_the_shipped_file_path() -> None:
    assert EFFICACY_PATH.is_file()


def _explain(*extra: str) -> Any:
    from typer.testing import CliRunner

    from neurodose.cli.main import app

    args = ["explain", "--drug", "amitriptyline", "--dose", "25 mg", "--days", "7", *extra]
    r = CliRunner().invoke(app, args, terminal_width=200)
    assert r.exit_code == 0, r.output
    return r.output


def test_explain_json_gives_the_basis_per_aetiology() -> None:
    import json

    ebc = json.loads(_explain("--json"))["efficacy_by_condition"]
    assert set(ebc) == AETIOLOGIES - {"diabetic_neuropathy"}
    assert ebc["hiv_neuropathy"]["efficacy_basis"] == "no_effect"
    assert "dinat2015_hiv_ami" in ebc["hiv_neuropathy"]["sources"]
    assert ebc["trigeminal_neuralgia"]["efficacy_basis"] == "extrapolated"
    assert ebc["trigeminal_neuralgia"]["rests_on_unknown"]


def test_explain_text_says_extrapolated() -> None:
    out = " ".join(_explain().split())  # rich may wrap lines
    assert "extrapolated" in out and "trigeminal neuralgia" in out
    assert "no benefit over placebo" in out


#: drug, condition, basis, a source of its evidence (session 5 rows)
_SESSION5 = """
duloxetine central_post_stroke_pain no_effect vranken2011_central_dlx
duloxetine radiculopathy effect_shown schukro2016_radicular_dlx
amitriptyline chemotherapy_neuropathy no_effect kautio2008_cipn_ami
nortriptyline radiculopathy no_effect khoromi2007_radicular
venlafaxine chemotherapy_neuropathy effect_shown durand2012_effox_ven
pregabalin spinal_cord_injury_pain effect_sized cochrane2009_pregabalin
nortriptyline chemotherapy_neuropathy no_effect hammack2002_cipn_nor
desipramine postherpetic_neuralgia effect_shown kishorekumar1990_phn_dmi
gabapentin chemotherapy_neuropathy no_effect rao2007_cipn_gbp
milnacipran radiculopathy effect_shown pmc4318675_radicular_mil
amitriptyline spinal_cord_injury_pain effect_shown rintala2007_sci
gabapentin spinal_cord_injury_pain no_effect rintala2007_sci
tramadol postherpetic_neuralgia effect_shown hempenstall2005_phn
"""


@pytest.mark.parametrize(
    ("drug", "condition", "basis", "source"), [r.split() for r in _SESSION5.strip().splitlines()]
)
def test_drug_specific_rows(drug: str, condition: str, basis: str, source: str) -> None:
    ce = condition_efficacy(drug, condition)
    assert ce.basis == basis and source in ce.sources


def test_pregabalin_in_central_pain_is_capped_at_its_cited_bound() -> None:
    ce = condition_efficacy("pregabalin", "spinal_cord_injury_pain")
    assert ce.modifier == pytest.approx(0.893) and ce.upper == pytest.approx(1.429)
    assert condition_nnt(5.0, ce) == pytest.approx(5.6, abs=0.1)  # 5.0 / 0.893


def test_json_says_what_an_extrapolated_magnitude_rests_on() -> None:
    ext = condition_efficacy("imipramine", "postherpetic_neuralgia").to_json()
    assert ext["efficacy_basis"] == "extrapolated"
    assert ext["extrapolated_from"]["condition"] == "diabetic_neuropathy"
    assert "no trial of this drug in this condition" in ext["extrapolated_from"]["what"]
    shown = condition_efficacy("duloxetine", "radiculopathy").to_json()
    assert "magnitude" in shown["extrapolated_from"]["what"]
    for drug, cond in (("pregabalin", "hiv_neuropathy"), ("gabapentin", "postherpetic_neuralgia")):
        assert "extrapolated_from" not in condition_efficacy(drug, cond).to_json()


def test_conditions_a_trial_cannot_name_say_why() -> None:
    rad = trial_unavailable("radiculopathy")
    tn = trial_unavailable("trigeminal_neuralgia")
    assert rad is not None and "placebo" in rad.reason
    assert tn is not None and "carbamazepine" in tn.reason
    assert {q.source for q in rad.evidence} >= {"mathieson2017_sciatica_pgb"}
    assert trial_unavailable("postherpetic_neuralgia") is None


def test_an_unavailable_condition_must_be_an_aetiology(tmp_path: Path) -> None:
    bad = _HEAD + ('[[unavailable]]\ncondition = "gout"\nreason = "no placebo data at all here"\n')
    with pytest.raises(KnowledgeBaseError, match="unavailable condition 'gout'"):
        load_efficacy_by_condition(_write(tmp_path, bad))


def test_explain_lists_the_condition_sources_among_its_sources() -> None:
    import json

    out = json.loads(_explain("--json"))
    assert {"dinat2015_hiv_ami", "kautio2008_cipn_ami", "rintala2007_sci"} <= set(out["sources"])
