"""knowledge/pdmodels/*.toml: one schema per file (PDFile), loaded through load_validated."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from neurodose.errors import KnowledgeBaseError
from neurodose.pd.params import PD_DIR, load_pd_parameters


def _copy(tmp_path: Path) -> Path:
    d = tmp_path / "pdmodels"
    shutil.copytree(PD_DIR, d)
    return d


def test_a_copy_of_the_packaged_files_loads_to_the_same_parameters(tmp_path: Path) -> None:
    here, there = load_pd_parameters(), load_pd_parameters(_copy(tmp_path))
    assert here.quantities == there.quantities
    assert here.adverse_effects == there.adverse_effects
    assert here.conditions == there.conditions


def test_a_bad_pd_file_names_the_file_and_field(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    ae = d / "adverse_effects.toml"
    text = ae.read_text(encoding="utf-8")
    ae.write_text(text.replace("group =", "grup =", 1), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match=r"adverse_effects\.toml: adverse_effects\..*grou"):
        load_pd_parameters(d)


def test_a_parameter_defined_twice_and_an_unknown_source_are_rejected(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    extra = d / "zz_extra.toml"
    extra.write_text(
        'schema_version = 1\n[parameters.serotonin_weight]\nvalue = 0.5\nunit = "1"\n'
        'source = "neurodose_pd_assumption"\nlocator = "test"\nverified = false\n',
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeBaseError, match=r"zz_extra\.toml: parameter 'serotonin_weight'"):
        load_pd_parameters(d)
    extra.write_text(
        'schema_version = 1\n[parameters.zz_new]\nvalue = 0.5\nunit = "1"\n'
        'source = "no_such_key"\nlocator = "test"\n',
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeBaseError, match=r"zz_extra\.toml: parameters\.zz_new.*no_such"):
        load_pd_parameters(d)
