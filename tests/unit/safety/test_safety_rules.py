"""Rule files: schema, cited thresholds, sources that resolve, generated docs current."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from neurodose.errors import SafetyRuleError, UnknownNameError
from neurodose.knowledge import get_reference
from neurodose.knowledge.conditions import condition_ids
from neurodose.safety.docs import render_rules_markdown
from neurodose.safety.rules import (
    INDICATOR,
    RULES_DIR,
    TIERS,
    Rule,
    load_rule_file,
    load_rules,
    rule,
    rules_by_file,
)

ROOT = Path(__file__).resolve().parents[3]

REQUIRED_CONDITIONS = {
    "diabetic_neuropathy", "postherpetic_neuralgia", "hiv_neuropathy", "chemotherapy_neuropathy",
    "central_post_stroke_pain", "spinal_cord_injury_pain", "trigeminal_neuralgia", "depression",
    "anxiety", "insomnia", "bipolar_disorder", "narrow_angle_glaucoma", "urinary_retention",
    "benign_prostatic_hyperplasia", "recent_myocardial_infarction", "heart_block", "arrhythmia",
    "heart_failure", "long_qt_syndrome", "dementia", "delirium", "falls_history", "epilepsy",
    "severe_hepatic_impairment", "uncontrolled_hypertension", "alcohol_use_disorder", "copd",
    "chronic_constipation", "pregnancy", "suicidal_ideation",
}  # fmt: skip


def test_condition_vocabulary_covers_the_required_ids() -> None:
    assert set(condition_ids()) >= REQUIRED_CONDITIONS


def test_every_rule_source_and_threshold_source_resolves() -> None:
    rules = load_rules()
    assert len(rules) >= 40
    for r in rules:
        for key in r.sources:
            assert get_reference(key)["title"]
        assert r.mechanism and r.management and r.message
        assert r.tier in TIERS and r.indicator == INDICATOR[r.tier]


def test_unverified_thresholds_carry_a_reason() -> None:
    for r in load_rules():
        for name, t in r.thresholds.items():
            if not t.verified:
                assert t.note or "not in the evidence" in t.locator or "UNVERIFIED" in t.locator, (
                    r.id,
                    name,
                )


def test_key_thresholds_are_cited_values() -> None:
    assert rule("maoi_irreversible_gap").thresholds["washout"].value == 14
    assert rule("maoi_irreversible_gap").thresholds["washout"].verified
    assert rule("duloxetine_crcl_below_30").thresholds["crcl"].value == 30
    assert rule("moclobemide_gap").thresholds["washout"].value == 1
    assert rule("beers_three_cns_active").thresholds["min_agents"].value == 3
    assert not rule("qtc_above_500").thresholds["qtc_high"].verified


def test_rule_using_an_undeclared_threshold_is_rejected() -> None:
    with pytest.raises(ValidationError, match="threshold 'older'"):
        Rule.model_validate(
            {
                "id": "x",
                "title": "x",
                "tier": "info",
                "mechanism": "m",
                "management": "m",
                "message": "m",
                "source": "beers2023",
                "locator": "l",
                "when": {"age_min": "older"},
            }
        )


def test_rule_with_unknown_tier_is_rejected() -> None:
    with pytest.raises(ValidationError):
        Rule.model_validate(
            {
                "id": "x",
                "title": "x",
                "tier": "deadly",
                "mechanism": "m",
                "management": "m",
                "message": "m",
                "source": "beers2023",
                "locator": "l",
            }
        )


def test_unknown_rule_id_suggests() -> None:
    with pytest.raises(UnknownNameError, match="maoi_irreversible_gap"):
        rule("maoi_irreversible_gab")


def test_rule_files_condition_ids_are_known() -> None:
    known = set(condition_ids())
    for rf in rules_by_file().values():
        for r in rf.rules:
            assert set(r.when.conditions_any) <= known


def test_docs_are_current() -> None:
    doc = ROOT / "docs" / "safety_rules.md"
    assert doc.read_text(encoding="utf-8") == render_rules_markdown(), (
        "docs/safety_rules.md is stale: run python -m neurodose.safety.docs docs/safety_rules.md"
    )


def test_docs_list_every_rule_with_tier_and_source() -> None:
    text = render_rules_markdown()
    for r in load_rules():
        line = next(x for x in text.splitlines() if x.startswith(f"| `{r.id}`"))
        assert f"| {r.tier}" in line and r.source in line


def test_a_bad_rule_file_names_the_file_and_field(tmp_path: Path) -> None:
    src = RULES_DIR / "renal_hepatic.toml"
    text = src.read_text(encoding="utf-8")
    bad = tmp_path / "renal_hepatic.toml"
    bad.write_text(text.replace('tier = "', 'tier = "x', 1), encoding="utf-8")
    with pytest.raises(SafetyRuleError, match=r"renal_hepatic\.toml: rules\.0\.tier"):
        load_rule_file(bad)
    first_source = 'source = "' + text.split('\nsource = "', 1)[1].split('"', 1)[0] + '"'
    bad.write_text(text.replace(first_source, 'source = "no_such_key"', 1), encoding="utf-8")
    with pytest.raises(SafetyRuleError, match=r"renal_hepatic\.toml: rules.*no_such_key"):
        load_rule_file(bad)
    assert load_rule_file(src) == rules_by_file()["renal_hepatic"]
