"""Round 3 condition vocabulary: size, implications (risk concepts), ICD-10-CM prefix codes,
aliases, and spelling help that never changes meaning (errors.same_sense)."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurodose.errors import KnowledgeBaseError, UnknownNameError, close_matches, same_sense
from neurodose.knowledge.conditions import (
    PATH,
    condition,
    condition_ids,
    expand_conditions,
    load_conditions,
    resolve_condition,
)
from neurodose.knowledge.terminology import code_tables, condition_for_code

CM = "http://hl7.org/fhir/sid/icd-10-cm"

#: risk concepts that rules read, each implied by specific conditions
RISK_CONCEPTS = {
    "qt_risk_factor": [
        "long_qt_syndrome",
        "bradycardia",
        "heart_failure",
        "hypokalaemia",
        "hypomagnesaemia",
        "structural_heart_disease",
        "recent_myocardial_infarction",
    ],
    "bradycardia": ["sick_sinus_syndrome", "av_block_second_degree", "av_block_third_degree"],
    "arrhythmia": [
        "atrial_fibrillation",
        "atrial_flutter",
        "ventricular_tachycardia",
        "wolff_parkinson_white",
        "brugada_syndrome",
    ],
    "heart_block": [
        "av_block_first_degree",
        "left_bundle_branch_block",
        "right_bundle_branch_block",
    ],
    "ckd": [
        "ckd_stage_1",
        "ckd_stage_2",
        "ckd_stage_3a",
        "ckd_stage_3b",
        "ckd_stage_4",
        "ckd_stage_5",
        "haemodialysis",
        "peritoneal_dialysis",
    ],
    "ckd_stage_5": ["haemodialysis", "peritoneal_dialysis", "end_stage_renal_disease"],
    "respiratory_insufficiency": [
        "copd",
        "obstructive_sleep_apnoea",
        "severe_asthma",
        "neuromuscular_respiratory_weakness",
    ],
    "sleep_apnoea": ["obstructive_sleep_apnoea", "central_sleep_apnoea"],
    "bleeding_risk": [
        "gi_bleed_history",
        "peptic_ulcer_disease",
        "thrombocytopenia",
        "haemophilia",
        "von_willebrand_disease",
        "cirrhosis",
        "oesophageal_varices",
    ],
    "hepatic_impairment": ["cirrhosis"],
    "hyponatraemia": ["siadh"],
    "seizure_risk": [
        "epilepsy",
        "seizures_history",
        "traumatic_brain_injury",
        "alcohol_withdrawal",
    ],
    "cognitive_impairment": [
        "dementia",
        "alzheimers_disease",
        "vascular_dementia",
        "dementia_with_lewy_bodies",
        "mild_cognitive_impairment",
    ],
    "hypertension": ["uncontrolled_hypertension", "resistant_hypertension"],
    "diabetes": ["type_1_diabetes", "type_2_diabetes", "diabetic_neuropathy"],
    "cardiovascular_disease": [
        "ischaemic_heart_disease",
        "myocardial_infarction_history",
        "stroke_history",
        "peripheral_arterial_disease",
        "heart_failure",
    ],
}


def test_at_least_200_conditions_and_every_one_is_cited() -> None:
    ids = condition_ids()
    assert len(ids) >= 200
    for cid in ids:
        c = condition(cid)
        assert c.source and c.locator


def test_existing_ids_are_kept() -> None:
    old = {
        "diabetic_neuropathy",
        "postherpetic_neuralgia",
        "hiv_neuropathy",
        "trigeminal_neuralgia",
        "chemotherapy_neuropathy",
        "central_post_stroke_pain",
        "spinal_cord_injury_pain",
        "localised_peripheral_neuropathic_pain",
        "heart_block",
        "arrhythmia",
        "bleeding_risk",
        "hyponatraemia",
        "falls_history",
        "uncontrolled_hypertension",
        "substance_use_disorder",
    }
    assert old <= set(condition_ids())
    assert condition("trigeminal_neuralgia").kind == "pain"


@pytest.mark.parametrize("concept", sorted(RISK_CONCEPTS))
def test_specific_conditions_imply_their_risk_concept(concept: str) -> None:
    assert condition(concept).kind == "comorbidity"
    for cid in RISK_CONCEPTS[concept]:
        assert concept in expand_conditions([cid]), (cid, concept)


def test_dialysis_implies_stage_5_which_implies_ckd() -> None:
    assert {"ckd_stage_5", "ckd"} <= expand_conditions(["haemodialysis"])
    assert "ckd" in expand_conditions(["ckd_stage_5"])
    assert "ckd_stage_4" not in expand_conditions(["ckd_stage_5"])  # each stage implies ckd only
    assert "qt_risk_factor" in expand_conditions(["hypokalaemia"])
    assert "qt_risk_factor" not in expand_conditions(["brugada_syndrome"])  # its own risk
    assert "epilepsy" not in expand_conditions(["seizure_risk"])  # one direction only


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("I48.91", "atrial_fibrillation"),
        ("I48.0", "atrial_fibrillation"),
        ("I48.92", "atrial_flutter"),
        ("N18.4", "ckd_stage_4"),
        ("N18.5", "ckd_stage_5"),
        ("N18.9", "ckd"),
        ("N18.31", "ckd_stage_3a"),
        ("E11.9", "type_2_diabetes"),
        ("E11.42", "diabetic_neuropathy"),
        ("E11.40", "diabetic_neuropathy"),
        ("E87.6", "hypokalaemia"),
        ("E87.5", "hyperkalaemia"),
        ("I44.2", "av_block_third_degree"),
        ("I44.4", "heart_block"),
        ("I49.5", "sick_sinus_syndrome"),
        ("I49.9", "arrhythmia"),
        ("G30.9", "alzheimers_disease"),
        ("G47.33", "obstructive_sleep_apnoea"),
        ("I10", "hypertension"),
        ("Z99.2", "dialysis"),
        ("I95.1", "orthostatic_hypotension"),
    ],
)
def test_icd10cm_prefix_mapping(code: str, expected: str) -> None:
    hit = condition_for_code(CM, code)
    assert hit is not None and hit.condition == expected, (code, hit)


def test_every_added_code_is_unverified_and_cited() -> None:
    for c in code_tables().conditions:
        if c.source == "snomed_ct_icd10cm_map":
            assert c.verified is False and c.locator


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("AF", "atrial_fibrillation"),
        ("CKD 4", "ckd_stage_4"),
        ("CKD stage 3b", "ckd_stage_3b"),
        ("T2DM", "type_2_diabetes"),
        ("OSA", "obstructive_sleep_apnoea"),
        ("HFrEF", "hfref"),
        ("HFpEF", "hfpef"),
        ("high blood pressure", "hypertension"),
        ("Alzheimer's disease", "alzheimers_disease"),
        ("hypokalemia", "hypokalaemia"),
        ("sciatica", "radiculopathy"),
        ("SIADH", "siadh"),
        ("gi_bleeding", "bleeding_risk"),
        ("opioid use disorder", "opioid_use_disorder"),
    ],
)
def test_aliases(name: str, expected: str) -> None:
    assert resolve_condition(name) == expected


def test_implied_by_aliases_keep_the_old_meaning() -> None:
    # SIADH and opioid use disorder became ids; they still imply the id they used to alias
    assert "hyponatraemia" in expand_conditions([resolve_condition("siadh")])
    assert "substance_use_disorder" in expand_conditions([resolve_condition("opioid_use_disorder")])


def test_an_alias_used_twice_is_rejected(tmp_path: Path) -> None:
    text = PATH.read_text(encoding="utf-8") + (
        '\n[[conditions]]\nid = "x_test"\nlabel = "X"\nkind = "comorbidity"\n'
        'aliases = ["High blood pressure"]\nsource = "finnerup2018_bja"\nlocator = "t"\n'
    )
    p = tmp_path / "conditions.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="already 'hypertension'"):
        load_conditions(p)


OPPOSITES = [
    ("hypotension", "hypertension"),
    ("hypokalaemia", "hyperkalaemia"),
    ("hyperthyroidism", "hypothyroidism"),
    ("tachycardia", "bradycardia"),
    ("hyponatraemia", "hypernatraemia"),
    ("hypocalcaemia", "hypercalcaemia"),
    ("hypoparathyroidism", "hyperparathyroidism"),
    ("inspiratory_stridor", "expiratory_stridor"),
    ("type_1_diabetes", "type_2_diabetes"),
    ("ckd_stage_3", "ckd_stage_4"),
    ("av_block_second_degree", "av_block_third_degree"),
    ("left_bundle_branch_block", "right_bundle_branch_block"),
    ("open_angle_glaucoma", "closed_angle_glaucoma"),
    ("controlled_hypertension", "uncontrolled_hypertension"),
    ("continence", "incontinence"),
    ("hfref", "hfpef"),
]


@pytest.mark.parametrize(("a", "b"), OPPOSITES)
def test_opposites_are_never_the_same_sense(a: str, b: str) -> None:
    assert not same_sense(a, b)
    assert not same_sense(b, a)
    assert close_matches(a, [b], guard=True) == []


@pytest.mark.parametrize(
    ("a", "b"),
    [("hypokalemia", "hypokalaemia"), ("hypotenson", "hypotension"), ("bradycardya", "bradycardia"),
     ("ckd stage 3", "ckd_stage_3a"), ("postherpetic_neuralgy", "postherpetic_neuralgia")],
)  # fmt: skip
def test_spelling_variants_are_the_same_sense(a: str, b: str) -> None:
    assert same_sense(a, b)


@pytest.mark.parametrize(
    ("typo", "never"),
    [
        ("hypotensoin", "hypertension"),
        ("hypokalaemea", "hyperkalaemia"),
        ("hyperkalaemea", "hypokalaemia"),
        ("hyperthyroidsm", "hypothyroidism"),
        ("hypothyroidsm", "hyperthyroidism"),
        ("tachycardya", "bradycardia"),
        ("bradycardya", "tachycardia"),
        ("ckd stage 6", "ckd_stage_5"),
        ("type 3 diabetes", "type_2_diabetes"),
    ],
)
def test_condition_suggestions_never_change_meaning(typo: str, never: str) -> None:
    with pytest.raises(UnknownNameError) as exc:
        resolve_condition(typo)
    assert never not in exc.value.suggestions
    assert never not in str(exc.value)


def test_swapping_a_prefix_of_any_known_name_never_suggests_it() -> None:
    """Every id/alias with hypo/hyper, brady/tachy...: the swapped name, where unknown,
    is never offered the original."""
    from neurodose.knowledge.conditions import _condition_aliases

    names = [*condition_ids(), *_condition_aliases()]
    swaps = [("hypo", "hyper"), ("hyper", "hypo"), ("brady", "tachy"), ("tachy", "brady")]
    checked = 0
    for name in names:
        for x, y in swaps:
            if not name.startswith(x) and f"_{x}" not in name:
                continue
            other = name.replace(x, y, 1)
            try:
                resolve_condition(other)
            except UnknownNameError as exc:
                checked += 1
                assert name not in exc.suggestions, (other, exc.suggestions)
    assert checked >= 5


def test_drug_suggestions_are_unchanged() -> None:
    assert close_matches("nortriptylin", ["nortriptyline", "amitriptyline"]) == [
        "nortriptyline",
        "amitriptyline",
    ]
