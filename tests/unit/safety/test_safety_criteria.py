"""The criteria table: one registered criterion per clause field, registered once."""

from __future__ import annotations

import pytest

from neurodose.case.patient import load_patient
from neurodose.errors import SafetyRuleError
from neurodose.safety.criteria import CRITERIA, MODIFIERS, criterion, match
from neurodose.safety.engine import screen
from neurodose.safety.rules import Match, load_rules, rule


def test_every_clause_field_has_exactly_one_criterion_or_is_a_modifier() -> None:
    fields = set(Match.model_fields)
    assert set(CRITERIA) | set(MODIFIERS) == fields
    assert not set(CRITERIA) & set(MODIFIERS)
    for target in MODIFIERS.values():
        assert target in CRITERIA


def test_a_criterion_cannot_be_registered_twice() -> None:
    with pytest.raises(SafetyRuleError, match="registered twice"):
        criterion("drug_any")(lambda ctx, r, v, acc: True)


def test_a_criterion_must_name_a_clause_field() -> None:
    with pytest.raises(SafetyRuleError, match="not a field"):
        criterion("no_such_field")(lambda ctx, r, v, acc: True)


def test_every_rule_clause_uses_only_registered_criteria() -> None:
    for r in load_rules():
        for name in r.when.model_fields_set:
            assert name in CRITERIA or name in MODIFIERS, (r.id, name)


def test_match_fails_on_the_first_failing_criterion_and_collects_values() -> None:
    from neurodose.knowledge import get_drug
    from neurodose.safety.context import Ctx, drug_tags

    p = load_patient({"age": 80, "conditions": ["falls_history"]})
    rec = get_drug("pregabalin")
    ctx = Ctx(p, "pregabalin", rec, drug_tags(rec), (), None, False)
    vals = match(ctx, rule("beers_falls_anticholinergic_antiepileptic"))
    assert vals is not None and vals["_conditions"] == ["falls_history"]
    young = load_patient({"age": 30})
    ctx2 = Ctx(young, "pregabalin", rec, drug_tags(rec), (), None, False)
    assert match(ctx2, rule("beers_falls_anticholinergic_antiepileptic")) is None
    assert match(ctx2, rule("gabapentinoid_older_adult")) is None
    assert match(ctx, rule("gabapentinoid_older_adult")) is not None


def test_window_modifier_keeps_a_recently_stopped_comedication() -> None:
    p = load_patient({"age": 50, "medications": [{"name": "phenelzine", "stopped_days_ago": 13}]})
    assert "maoi_irreversible_gap" in {f.code for f in screen(p, "duloxetine")}
    p2 = load_patient({"age": 50, "medications": [{"name": "phenelzine", "stopped_days_ago": 15}]})
    assert "maoi_irreversible_gap" not in {f.code for f in screen(p2, "duloxetine")}
