"""The cited numbers of the adverse-effect and sleep calibration stage (issue 20 item 6):
every one a valid, sourced quantity whose source is a known reference; roles are named."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from neurodose.knowledge.schema import Quantity

ROOT = Path(__file__).resolve().parents[3]
KB = ROOT / "src" / "neurodose" / "knowledge"
FILE = KB / "pdmodels" / "ae_sleep_data" / "ae_sleep_targets.toml"


def _reference_ids() -> set[str]:
    ids: set[str] = set()
    for f in (KB / "references").glob("*.json"):
        ids |= {r["id"] for r in json.loads(f.read_text(encoding="utf-8"))}
    return ids


def test_every_target_is_a_sourced_quantity_with_a_role() -> None:
    data = tomllib.loads(FILE.read_text(encoding="utf-8"))
    refs = _reference_ids()
    roles = {"training": 0, "held_out": 0}
    for key, t in data["targets"].items():
        assert t["role"] in roles, key
        roles[t["role"]] += 1
        fields = [k for k in ("drug", "placebo", "sleep_or", "pain_or", "bounds") if k in t]
        assert fields, key
        for k in fields:
            q = Quantity.model_validate(t[k])
            assert q.source in refs, (key, k, q.source)
            assert q.locator, (key, k)
        if t["role"] == "held_out":
            b = Quantity.model_validate(t["bounds"])
            assert b.low is not None and b.high is not None and b.low <= b.high, key
    # some cited numbers are kept out of the fit
    assert roles["held_out"] >= 10 and roles["training"] >= 10
