"""knowledge/options.toml: the default options and the fit reasons are cited data; the
ranking code reads them by drug class, with no drug names of its own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from neurodose.errors import KnowledgeBaseError
from neurodose.knowledge import drug_names
from neurodose.knowledge import options as options_mod
from neurodose.knowledge.options import PATH, fit_reasons, options_data

SRC = Path(__file__).resolve().parents[2] / "src" / "neurodose"


def test_options_and_fit_reasons_are_cited() -> None:
    d = options_data()
    assert d.options.source and d.options.locator
    from neurodose.advice.assess import OPTIONS

    assert tuple(d.options.drugs) == OPTIONS
    for f in d.fit:
        assert f.source and f.locator and all(a.locator for a in f.also)
    assert {f.when for f in d.fit} == {"mood", "sleep", "always"}
    assert any(f.not_first_line for f in fit_reasons("always"))


def _load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    p = tmp_path / "options.toml"
    p.write_text(text, encoding="utf-8")
    monkeypatch.setattr(options_mod, "PATH", p)
    options_mod.options_data.cache_clear()
    try:
        options_mod.options_data()
    finally:
        options_mod.options_data.cache_clear()


def test_a_bad_options_file_names_the_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = PATH.read_text(encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match=r"fit sleep_pregabalin\.drug.*pregabalinn"):
        _load(tmp_path, monkeypatch, text.replace('drug = "pregabalin"', 'drug = "pregabalinn"'))
    with pytest.raises(KnowledgeBaseError, match=r"fit mood_snri\.tag: 'snrii'"):
        _load(tmp_path, monkeypatch, text.replace('tag = "snri"', 'tag = "snrii"'))
    with pytest.raises(KnowledgeBaseError, match="exactly one of 'drug' or 'tag'"):
        _load(
            tmp_path,
            monkeypatch,
            text.replace('tag = "tca"', 'tag = "tca"\ndrug = "nortriptyline"'),
        )
    with pytest.raises(KnowledgeBaseError, match="no_such_source"):
        _load(
            tmp_path,
            monkeypatch,
            text.replace('source = "boyle2012_sleep"', 'source = "no_such_source"'),
        )


def _drug_literals(path: Path) -> list[str]:
    """String constants naming a knowledge-base drug, outside docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef)
        and n.body
        and isinstance(n.body[0], ast.Expr)
        and isinstance(n.body[0].value, ast.Constant)
    }
    names = set(drug_names())
    return [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and id(n) not in docs and n.value in names
    ]


def test_the_ranking_code_names_no_drug() -> None:
    assert _drug_literals(SRC / "advice" / "assess.py") == []


def test_the_drug_name_check_can_fail(tmp_path: Path) -> None:
    p = tmp_path / "x.py"
    p.write_text('"""doc naming amitriptyline"""\nif drug == "venlafaxine":\n    pass\n')
    assert _drug_literals(p) == ["venlafaxine"]
