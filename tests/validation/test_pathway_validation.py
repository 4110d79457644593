"""Pain-pathway structure (issue 20 item 3): training fits and held-out targets.

Every target is cited in ``knowledge/pdmodels/efficacy_targets/pathway_targets.toml`` with its
role; the held-out ones were used by no fit and their acceptance bands were set before the
refit (docs/validation.md, "Pathway structure refit (issue 20 item 3)"). The check itself is
``calibration/pathway_shares.py`` (``verdict``/``validate``), run here at 2000 per arm (the
figures of docs/validation.md).
Known failures of the structure are xfail (strict) with the reason, so a fix shows as XPASS.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from neurodose.pd.params import load_pd_parameters
from neurodose.trial.design import parse_design
from neurodose.trial.run import run_trial

N = 2000
ROOT = Path(__file__).resolve().parents[2]

#: held-out targets the structure does not reproduce, with the reason (docs/validation.md)
KNOWN_MISSES = {
    "venlafaxine_150_225_nnt_50_week6": "venlafaxine's in-vitro SERT occupancy is near "
    "saturation at 75 mg and its NET occupancy stays low up to 225 mg, so the saturable "
    "descending pathway gives 150-225 mg about what 75 mg gives (NNT ~7 vs Rowbotham 4.5)",
    "venlafaxine_75_weaker_than_150_225": "same reason: no venlafaxine dose-response",
    "option_dm_similar_at_week6": "amitriptyline 75 mg, duloxetine 120 mg and pregabalin "
    "600 mg differ by 10.7 points in >= 50 % responders at week 6 against the pre-set 10 "
    "(before the refit 11.8); amitriptyline stays ahead through the NMDA pathway",
}


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "pathway_shares", ROOT / "calibration" / "pathway_shares.py"
    )
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["pathway_shares"] = mod
    spec.loader.exec_module(mod)
    return mod


MOD = _module()
TARGETS = MOD.load_targets()


@pytest.fixture(scope="module", params=["in_vitro"])
def verdicts(request: pytest.FixtureRequest) -> dict[str, dict[str, Any]]:
    params = load_pd_parameters().with_basis(request.param)
    needed = {a for t in TARGETS if int(t["weeks"]) == 12 for a in t["arms"]}
    needed |= {t["reference"] for t in TARGETS if int(t["weeks"]) == 12 and "reference" in t}
    arms = {k: MOD.ARMS[k] for k in ["placebo", *sorted(needed)]}
    rows = MOD.summarise(run_trial(parse_design(MOD.design(N, arms)), params=params).to_dict())
    return {v["name"]: v for v in MOD.validate(N, params, rows)}


def _cases() -> list[Any]:
    out = []
    for t in TARGETS:
        marks = [pytest.mark.validation]
        if t["name"] in KNOWN_MISSES:
            marks.append(pytest.mark.xfail(reason=KNOWN_MISSES[t["name"]], strict=True))
        out.append(pytest.param(t["name"], id=f"{t['role']}-{t['name']}", marks=marks))
    return out


@pytest.mark.parametrize("name", _cases())
def test_pathway_target(verdicts: dict[str, dict[str, Any]], name: str) -> None:
    v = verdicts[name]
    assert v["met"], v


@pytest.mark.validation
def test_every_target_is_cited_and_has_a_role() -> None:
    from neurodose.knowledge.registry import references

    refs = references()
    roles = {t["role"] for t in TARGETS}
    assert roles == {"training", "validation"}
    for t in TARGETS:
        assert t["quantity"]["source"] in refs, t["name"]
    # at least as many held-out targets as training ones
    n_val = sum(t["role"] == "validation" for t in TARGETS)
    assert n_val >= sum(t["role"] == "training" for t in TARGETS)
