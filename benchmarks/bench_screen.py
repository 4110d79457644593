"""Benchmark: screening a 20-medicine list against every option (safety round 3).

Goal (issue 18): screening a 20-medicine list against every option <= 5 ms CPU on one
core. Measured as process CPU time (``time.process_time``), median of ``--rounds``
rounds, after one warm-up round (knowledge base loaded, rule plans and tag caches
filled). The baseline in the same run is the *cold* screen: the per-record caches
(tags, enzyme profile, the rules that can apply) and the per-rule criteria plan
cleared before every option, i.e. what every screen cost before the caches of round 3.

Two option sets: the eight default options (what ``assess`` ranks) and every drug
with a line of therapy (the eight plus tramadol, milnacipran and the SSRIs).

Run::

    .venv/bin/python benchmarks/bench_screen.py [--rounds 30]

``main()`` writes docs/performance_screen.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "performance_screen.md"

#: a realistic 20-medicine list of an older patient (names as written, brands included)
MEDICINES = [
    "bisoprolol",
    "amlodipine",
    "ramipril",
    "atorvastatin",
    "metformin",
    "omeprazole",
    "Eliquis",
    "levothyroxine",
    "tamsulosin",
    "zopiclone",
    "ondansetron",
    "sumatriptan",
    "OxyContin",
    "diazepam",
    "quetiapine",
    "levetiracetam",
    "lithium",
    "clopidogrel",
    "naproxen",
    "co-codamol 30/500",
]


def _patient() -> Any:
    from neurodose.case.patient import load_patient

    return load_patient(
        {
            "age": 74,
            "sex": "female",
            "weight_kg": 62,
            "conditions": ["diabetic_neuropathy", "hypertension", "falls_history"],
            "medications": MEDICINES,
            "labs": {"potassium_mmol_l": 3.3, "sodium_mmol_l": 133, "egfr": 48},
        }
    )


def _options() -> tuple[list[str], list[str]]:
    from neurodose.advice.assess import OPTIONS
    from neurodose.knowledge import drug_names
    from neurodose.knowledge.options import line_of_therapy

    every = sorted({*OPTIONS, *(n for n in drug_names("full") if line_of_therapy(n))})
    return list(OPTIONS), every


def _clear() -> None:
    from neurodose.knowledge import substances
    from neurodose.safety import context, criteria, engine

    context._TAG_CACHE.clear()
    criteria._PLAN.clear()
    engine._RULES_FOR.clear()
    substances._PROFILE_CACHE.clear()


def _round(patient: Any, options: list[str], cold: bool) -> float:
    from neurodose.safety.engine import screen

    t0 = time.process_time()
    for d in options:
        if cold:
            _clear()
        screen(patient, d)
    return (time.process_time() - t0) * 1000.0


def run(rounds: int) -> dict[str, Any]:
    p = _patient()
    default, every = _options()
    assert len(p.medications) >= 20, [m.name for m in p.medications]
    out: dict[str, Any] = {
        "medicines": len(p.medications),
        "unchecked": [u.name for u in p.unchecked],
        "sets": {},
    }
    for label, opts in (("default options", default), ("every assessable option", every)):
        _round(p, opts, cold=False)  # warm-up
        warm, cold = [], []
        for _ in range(rounds):  # interleaved, so both see the same machine load
            cold.append(_round(p, opts, cold=True))
            warm.append(_round(p, opts, cold=False))
        out["sets"][label] = {
            "n_options": len(opts),
            "warm_median_ms": statistics.median(warm),
            "warm_min_ms": min(warm),
            "cold_median_ms": statistics.median(cold),
            "ratio": statistics.median(cold) / statistics.median(warm),
        }
    return out


def to_markdown(r: dict[str, Any]) -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "## Safety screen: a 20-medicine list against every option",
        "",
        f"{dt.date.today().isoformat()}, {platform.python_implementation()} "
        f"{platform.python_version()}, load average {load:.1f}. CPU time "
        "(`time.process_time`) per screen of the whole list against every option, "
        f"median of the rounds; {r['medicines']} medicines after combination products "
        "are split into their ingredients. Goal (issue 18): <= 5 ms.",
        "",
        "| Options | n | warm median (ms) | warm fastest (ms) | cold median (ms) | "
        "cold / warm | goal met |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, s in r["sets"].items():
        ok = "yes" if s["warm_median_ms"] <= 5.0 else "no"
        lines.append(
            f"| {label} | {s['n_options']} | {s['warm_median_ms']:.2f} | "
            f"{s['warm_min_ms']:.2f} | {s['cold_median_ms']:.2f} | {s['ratio']:.1f} | {ok} |"
        )
    lines += [
        "",
        "Cold = the per-record tag cache and the per-rule criteria plan cleared before each "
        "option (the cost before these caches existed); warm = a service or CLI process "
        "after its first screen.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description="safety screen benchmark")
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--out", default=str(OUT))
    a = ap.parse_args([] if argv is None else argv)
    r = run(a.rounds)
    md = to_markdown(r)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(md, encoding="utf-8")
    print(md)
    return r


if __name__ == "__main__":
    main(sys.argv[1:])
