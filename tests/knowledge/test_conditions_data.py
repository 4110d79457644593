"""knowledge/conditions.toml: one schema (ConditionsFile), loaded through load_validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurodose.errors import KnowledgeBaseError
from neurodose.knowledge.conditions import PATH, condition, condition_ids, load_conditions


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "conditions.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_the_packaged_file_loads_to_the_same_vocabulary() -> None:
    loaded = load_conditions(PATH)
    assert sorted(loaded) == condition_ids()
    assert loaded["postherpetic_neuralgia"] == condition("postherpetic_neuralgia")
    for c in loaded.values():
        assert c.source and c.locator


def test_a_bad_conditions_file_names_the_file_and_field(tmp_path: Path) -> None:
    text = PATH.read_text(encoding="utf-8")
    bad_kind = text.replace('kind = "pain"', 'kind = "painful"', 1)
    with pytest.raises(KnowledgeBaseError, match=r"conditions\.toml: conditions\.0\.kind"):
        load_conditions(_write(tmp_path, bad_kind))
    bad_source = text.replace('source = "finnerup2018_bja"', 'source = "no_such_key"', 1)
    with pytest.raises(KnowledgeBaseError, match=r"conditions\.toml.*no_such_key"):
        load_conditions(_write(tmp_path, bad_source))


def test_duplicate_and_dangling_ids_are_rejected(tmp_path: Path) -> None:
    text = PATH.read_text(encoding="utf-8")
    dup = text.replace('id = "postherpetic_neuralgia"', 'id = "diabetic_neuropathy"', 1)
    with pytest.raises(KnowledgeBaseError, match="duplicate condition id 'diabetic_neuropathy'"):
        load_conditions(_write(tmp_path, dup))
    dangling = text + (
        '\n[[conditions]]\nid = "x_test"\nlabel = "X"\nkind = "comorbidity"\n'
        'implies = ["no_such_condition"]\nsource = "finnerup2018_bja"\nlocator = "t"\n'
    )
    with pytest.raises(KnowledgeBaseError, match="implies unknown id 'no_such_condition'"):
        load_conditions(_write(tmp_path, dangling))
