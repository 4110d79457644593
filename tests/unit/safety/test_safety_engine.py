"""Engine: tags, phenoconversion, PK quantification, and properties (hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurodose.case.patient import load_patient
from neurodose.knowledge import get_drug
from neurodose.safety.engine import (
    drug_tags,
    effective_phenotypes,
    screen,
    severity_rank,
    total_acb,
    worst_severity,
)

OPTIONS = [
    "amitriptyline",
    "nortriptyline",
    "duloxetine",
    "venlafaxine",
    "pregabalin",
    "gabapentin",
    "lidocaine_plaster",
    "capsaicin_patch",
]
INTERACTING = [
    "phenelzine",
    "tranylcypromine",
    "moclobemide",
    "linezolid",
    "bupropion",
    "paroxetine",
    "fluvoxamine",
    "ciprofloxacin",
    "tramadol",
    "oxycodone",
    "diazepam",
    "st_johns_wort",
    "sotalol",
    "oxybutynin",
    "terbinafine",
    "rifampicin",
    "lithium",
    "methadone",
    "quetiapine",
    "alcohol",
]


def test_tags_follow_the_records() -> None:
    t = drug_tags(get_drug("methadone"))
    assert t["opioid"] is True and t["serotonergic"] is False  # unverified flag
    assert drug_tags(get_drug("bupropion"))["cyp2d6_inhibitor_strong"]
    assert "anticholinergic_definite" in drug_tags(get_drug("amitriptyline"))
    assert "anticholinergic_definite" not in drug_tags(get_drug("venlafaxine"))


def test_total_acb_counts_each_drug_once() -> None:
    p = load_patient({"age": 50, "medications": ["oxybutynin", "amitriptyline"]})
    assert total_acb(p, "amitriptyline") == 6


def test_phenoconversion_strong_inhibitor_gives_pm() -> None:
    p = load_patient({"age": 50, "medications": ["bupropion"], "genotypes": {"CYP2D6": "*1/*1"}})
    ph = effective_phenotypes(p, p.medications)
    assert ph["CYP2D6"].genotype_phenotype == "NM"
    assert ph["CYP2D6"].effective == "PM"
    assert ph["CYP2D6"].perpetrator == "bupropion"
    assert ph["CYP2C19"].effective is None


def test_phenoconversion_never_improves_a_phenotype() -> None:
    p = load_patient({"age": 50, "medications": ["terbinafine"], "genotypes": {"CYP2D6": "PM"}})
    assert effective_phenotypes(p, p.medications)["CYP2D6"].effective == "PM"


def test_pk_interaction_is_quantified_by_the_pk_engine() -> None:
    p = load_patient({"age": 50, "medications": ["paroxetine"]})
    f = next(f for f in screen(p, "nortriptyline") if f.code == "enzyme_inhibition")
    d = dict(f.details)
    assert d["basis"] == "pk_engine"
    assert d["predicted_ratio"] > 1.5
    assert "PK engine" in f.message


def test_class_band_when_pk_engine_has_no_effect() -> None:
    p = load_patient({"age": 50, "medications": ["terbinafine"]})
    fs = [f for f in screen(p, "nortriptyline") if f.code == "enzyme_inhibition"]
    assert fs
    d = dict(fs[0].details)
    assert d["basis"] in ("pk_engine", "fda_class_band")
    if d["basis"] == "fda_class_band":
        assert "FDA class band" in fs[0].message


def test_maoi_gap_is_a_window() -> None:
    inside = load_patient(
        {"age": 50, "medications": [{"name": "phenelzine", "stopped_days_ago": 13}]}
    )
    outside = load_patient(
        {"age": 50, "medications": [{"name": "phenelzine", "stopped_days_ago": 14}]}
    )
    assert "maoi_irreversible_gap" in {f.code for f in screen(inside, "duloxetine")}
    assert "maoi_irreversible_gap" not in {f.code for f in screen(outside, "duloxetine")}


def test_findings_are_frozen_values() -> None:
    import dataclasses

    import pytest

    f = screen(load_patient({"age": 70}), "amitriptyline")[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.severity = "info"  # type: ignore[misc]
    d = f.to_dict()
    assert set(d) >= {"severity", "code", "message", "sources"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    drug=st.sampled_from(OPTIONS),
    base=st.lists(st.sampled_from(INTERACTING), max_size=2, unique=True),
    extra=st.sampled_from(INTERACTING),
    age=st.integers(min_value=30, max_value=90),
)
def test_adding_an_interacting_drug_never_lowers_the_worst_severity(
    drug: str, base: list[str], extra: str, age: int
) -> None:
    meds = [m for m in base if m != drug]
    p1 = load_patient({"age": age, "medications": meds})
    p2 = load_patient({"age": age, "medications": sorted({*meds, extra} - {drug})})
    w1 = worst_severity(screen(p1, drug))
    w2 = worst_severity(screen(p2, drug))
    assert severity_rank(w2) <= severity_rank(w1)


@settings(max_examples=40, deadline=None)
@given(
    drug=st.sampled_from(OPTIONS),
    age=st.integers(min_value=25, max_value=64),
    sex=st.sampled_from([None, "female", "male"]),
    pain=st.sampled_from(["diabetic_neuropathy", "postherpetic_neuralgia", "hiv_neuropathy"]),
    crcl=st.one_of(st.none(), st.integers(min_value=60, max_value=150)),
)
def test_no_risk_factors_no_contraindicated_or_avoid(
    drug: str, age: int, sex: str | None, pain: str, crcl: int | None
) -> None:
    data: dict = {"age": age, "conditions": [pain]}
    if sex:
        data["sex"] = sex
    if crcl is not None:
        data["labs"] = {"crcl_ml_min": crcl}
    fs = screen(load_patient(data), drug)
    assert all(f.severity not in ("contraindicated", "avoid") for f in fs), [
        (f.severity, f.code) for f in fs
    ]
