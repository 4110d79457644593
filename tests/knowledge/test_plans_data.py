"""knowledge/plans.toml: one schema (PlanData), loaded through load_validated."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from neurodose.errors import KnowledgeBaseError
from neurodose.knowledge.plans import PATH, plan_data
from neurodose.knowledge.registry import load_validated
from neurodose.knowledge.schema import PlanData


def test_plan_data_lives_in_the_knowledge_base_and_every_value_is_cited() -> None:
    assert PATH.parent.name == "knowledge"
    d = plan_data()
    assert d.titration["capsaicin_patch"].repeat_days == 90
    assert d.switch["maoi_after_tca"].source
    for t in d.titration.values():
        assert t.source and t.locator


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "plans.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_a_bad_plans_file_names_the_file_and_field(tmp_path: Path) -> None:
    text = PATH.read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    assert "reviews" in raw
    bad_source = text.replace('source = "dworkin2008_immpact"', 'source = "no_such_key"', 1)
    with pytest.raises(KnowledgeBaseError, match="no_such_key"):
        load_validated(_write(tmp_path, bad_source), PlanData)
    bad_field = text.replace("doses_per_day = 2", "doses_per_dya = 2", 1)
    with pytest.raises(KnowledgeBaseError, match=r"plans\.toml.*doses_per_d"):
        load_validated(_write(tmp_path, bad_field), PlanData)
