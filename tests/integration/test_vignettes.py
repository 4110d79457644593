"""Vignette suite: clinical scenarios with hand-written expectations.

Each ``vignettes/*.json`` holds a patient and what a clinician expects: verdicts per
option, findings that must (``present``) or must not (``absent``) appear for an
option, findings about the current medicines (``current``), and a ceiling on the
worst severity per option (``worst_max``). A meta-test checks that every rule is
exercised by at least one ``present`` expectation.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from pathlib import Path

import pytest

from neurodose.advice.assess import Assessment, assess
from neurodose.case.patient import load_patient
from neurodose.safety.engine import severity_rank
from neurodose.safety.rules import load_rules

HERE = Path(__file__).parent / "vignettes"
FILES = sorted(HERE.glob("*.json"))


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _assessed(name: str) -> Assessment:
    v = _load(HERE / f"{name}.json")
    return assess(load_patient(v["patient"]), start_date=dt.date(2026, 1, 5))


def test_suite_size() -> None:
    assert len(FILES) >= 40


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_vignette(path: Path) -> None:
    v = _load(path)
    exp = v["expect"]
    a = _assessed(path.stem)
    problems: list[str] = []
    for drug, verdict in exp["verdicts"].items():
        got = a.option(drug).verdict
        if got != verdict:
            codes = [(f.severity, f.code) for f in a.option(drug).findings][:6]
            problems.append(f"{drug}: verdict {got!r}, expected {verdict!r} ({codes})")
    for drug, code in exp["present"]:
        codes = {c for f in a.option(drug).findings for c in f.codes}
        if code not in codes:
            problems.append(f"{drug}: missing finding {code!r} (have {sorted(codes)})")
    for drug, code in exp["absent"]:
        codes = {c for f in a.option(drug).findings for c in f.codes}
        if code in codes:
            problems.append(f"{drug}: unexpected finding {code!r}")
    current = {c for f in a.findings for c in f.codes}
    for code in exp["current"]:
        if code not in current:
            problems.append(f"current medicines: missing {code!r} (have {sorted(current)})")
    for drug, ceiling in exp["worst_max"].items():
        for f in a.option(drug).findings:
            if severity_rank(f.severity) < severity_rank(ceiling):
                problems.append(f"{drug}: {f.code} is {f.severity}, worse than {ceiling}")
    assert not problems, f"{path.stem}: {v['why']}\n" + "\n".join(problems)


def test_every_rule_is_exercised() -> None:
    covered = {code for p in FILES for _, code in _load(p)["expect"]["present"]}
    covered |= {code for p in FILES for code in _load(p)["expect"]["current"]}
    round2 = sorted((HERE.parents[1] / "safety" / "vignettes").glob("*.json"))
    covered |= {req["code"] for p in round2 for req in _load(p)["require"]}
    missing = sorted({r.id for r in load_rules()} - covered)
    assert not missing, f"rules without a vignette: {missing}"


def test_every_finding_has_resolvable_sources() -> None:
    from neurodose.knowledge import get_reference

    a = _assessed("60_everything_older")
    for o in a.options:
        for f in o.findings:
            assert f.sources, f.code
            for s in f.sources:
                get_reference(s)
    assert {s for s in a.sources}
