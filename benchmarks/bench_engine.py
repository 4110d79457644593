"""Benchmark: the PK engine now against a baseline commit, in the same run (A/B).

The population PK, trial and MAP figures of docs/performance.md come from
benchmarks that take minutes each and have no baseline of their own. This one runs
the hot paths behind them, smaller, on the current tree and on the ``src/`` of a
baseline commit (extracted with ``git archive`` and put first on ``PYTHONPATH``),
alternating tree by tree for ``--rounds`` rounds in fresh interpreters, so that
both see the same machine load; it reports the median of each workload per tree
and the ratio now / baseline (< 1: faster now). Workloads (public API only):

- ``population``: ``pk.population.sample`` + ``simulate_population`` for 20,000
  amitriptyline subjects (AMI -> NT, IIV), 25 mg daily x 28 days, hourly 0-672 h
  (the numba exact kernel; bench_pk S1/S3's engine);
- ``summaries``: ``pk.population.summarize`` for 20,000 subjects with drawn
  CYP2D6/CYP2C19 phenotypes and paroxetine from day 28 (time-varying parameters),
  summaries in the kernel (bench_pk S3);
- ``map_predict``: 2,000 calls of ``pk.solve.predict_at`` (``check=False``) for 15
  parameter rows at 3 trough times: the MAP estimator's inner loop (bench_mipd S4);
- ``trial``: ``trial.run_trial`` on examples/trials/demo.toml with 2,000 patients
  per arm (bench_trial);
- ``simulate_warm``: ``simulation.simulate`` for one patient, repeated in a warm
  process (per call).

Run::

    .venv/bin/python benchmarks/bench_engine.py --baseline 27c595c [--rounds 3]

``main()`` writes docs/performance_engine.md (without ``--baseline`` or
``NEURODOSE_ENGINE_BASELINE`` it notes that there is nothing to compare and times
the current tree only).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "performance_engine.md"

WORKLOADS = ("population", "summaries", "map_predict", "trial", "simulate_warm")

#: the workload runner, executed in a fresh interpreter per tree and round
RUNNER = r"""
import json, sys, time
from dataclasses import replace
from pathlib import Path
import numpy as np
from neurodose.case import Regimen

which = sys.argv[1]
examples = Path(sys.argv[2])
out = {}

def best_of(f, k):
    ts = []
    for _ in range(k):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return statistics_median(ts)

def statistics_median(ts):
    ts = sorted(ts); n = len(ts)
    return ts[n // 2] if n % 2 else 0.5 * (ts[n // 2 - 1] + ts[n // 2])

reg = Regimen.oral("25 mg", every="24 h", days=28)
t = np.arange(0.0, 673.0)
if which == "population":
    from neurodose.pk import population as pop
    pp = pop.sample("amitriptyline", 20_000, 1, horizon_h=672.0)
    pop.simulate_population(pop.sample("amitriptyline", 10, 1, horizon_h=672.0), reg, t)
    out[which] = best_of(lambda: pop.simulate_population(pp, reg, t), 3)
elif which == "summaries":
    from neurodose.case import Comedication
    from neurodose.pk import population as pop
    reg8 = Regimen.oral("25 mg", every="24 h", days=56)
    t8 = np.arange(0.0, 56 * 24 + 1.0)
    kw = dict(times_h=t8, comedications=[Comedication("paroxetine", 20.0, 24.0, start_h=28 * 24.0)],
              draw_genotypes=True, tdm_range=(80.0, 200.0))
    pop.summarize("amitriptyline", reg8, 200, 3, **kw)
    out[which] = best_of(lambda: pop.summarize("amitriptyline", reg8, 20_000, 3, **kw), 3)
elif which == "map_predict":
    from neurodose.pk.individual import individual_parameters
    from neurodose.pk.solve import predict_at
    ps = individual_parameters("amitriptyline")
    doses = reg.expand()
    ts = np.array([6 * 24 + 23.0, 13 * 24 + 23.0, 20 * 24 + 23.0])
    rng = np.random.default_rng(2)
    rows = {k: np.asarray(v, dtype=float) * np.exp(0.1 * rng.standard_normal(15))
            for k, v in ps.values.items()}
    predict_at(ps.model, rows, doses, ts, check=False)
    def many():
        for _ in range(2000):
            predict_at(ps.model, rows, doses, ts, check=False)
    out[which] = best_of(many, 3) / 2000
elif which == "trial":
    from neurodose.trial.design import load_design
    from neurodose.trial.run import run_trial
    design = replace(load_design(examples / "trials" / "demo.toml"), n_per_arm=2000)
    run_trial(replace(design, n_per_arm=50))
    out[which] = best_of(lambda: run_trial(design), 3)
elif which == "simulate_warm":
    from neurodose.simulation import simulate
    simulate("amitriptyline", reg)
    def many():
        for _ in range(20):
            simulate("amitriptyline", reg)
    out[which] = best_of(many, 3) / 20
print(json.dumps(out))
"""


def _env(src: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # users' installs have bytecode
    if src is not None:
        env["PYTHONPATH"] = str(src) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _extract(ref: str, into: Path) -> Path:
    archive = into / "src.tar"
    with archive.open("wb") as fh:
        subprocess.run(["git", "archive", ref, "src"], cwd=ROOT, stdout=fh, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def _run(workload: str, src: Path | None) -> float | None:
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, workload, str(ROOT / "examples")],
        env=_env(src),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        print(f"{workload} ({src or 'now'}) failed: {proc.stderr[-1500:]}", file=sys.stderr)
        return None
    return float(json.loads(proc.stdout.strip().splitlines()[-1])[workload])


def measure(rounds: int, baseline: str | None) -> dict[str, dict[str, list[float]]]:
    """Timings per workload and tree (``now``, ``baseline``), one per round."""
    res: dict[str, dict[str, list[float]]] = {w: {"now": [], "baseline": []} for w in WORKLOADS}
    with tempfile.TemporaryDirectory() as tmp:
        base = _extract(baseline, Path(tmp)) if baseline else None
        trees: list[tuple[str, Path | None]] = [("now", None)]
        if base is not None:
            trees.append(("baseline", base))
        for _name, src in trees:  # warm-up: bytecode and numba caches filled, not timed
            _run("map_predict", src)
        for _ in range(rounds):
            for w in WORKLOADS:
                for name, src in trees:
                    v = _run(w, src)
                    if v is not None:
                        res[w][name].append(v)
    return res


_LABEL = {
    "population": "population concentrations, 20,000 x 673 (s)",
    "summaries": "population summaries in the kernel, 20,000, time-varying (s)",
    "map_predict": "MAP inner loop: predict_at, 15 rows x 3 times (ms per call)",
    "trial": "virtual trial, demo design, 4 x 2,000 patients (s)",
    "simulate_warm": "one patient, simulate() in a warm process (ms per call)",
}
_SCALE = {"map_predict": 1e3, "simulate_warm": 1e3}


def render(res: dict[str, dict[str, list[float]]], rounds: int, baseline: str | None) -> str:
    """The Markdown fragment."""
    now = dt.datetime.now(dt.UTC)
    lines = [
        "## PK engine now vs a baseline commit (A/B, same run)",
        "",
        f"Measured {now:%Y-%m-%d %H:%M} UTC on {platform.machine()} ({os.cpu_count()} CPUs; "
        f"load average {os.getloadavg()[0]:.1f} at the end), Python "
        f"{platform.python_version()}; numba threads: "
        f"{os.environ.get('NUMBA_NUM_THREADS', 'default (all cores)')}. Command: "
        "`python benchmarks/bench_engine.py "
        f"--rounds {rounds}" + (f" --baseline {baseline}`." if baseline else "`."),
        "",
        "Each workload runs in a fresh interpreter per tree and round (median of 3 in-process "
        "repeats after a warm-up call), the trees alternating so that both see the same load; "
        "the table gives the median over rounds and the ratio now / baseline (< 1: faster "
        "now), and the fastest round of each (on a shared machine the fastest round is the "
        "least disturbed one). Workloads and what they stand for: see the docstring of "
        "benchmarks/bench_engine.py.",
        "",
    ]
    if baseline:
        lines += [
            f"| workload | now | at {baseline} | now / before | fastest now | fastest before "
            "| ratio of fastest |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
    else:
        lines += ["No baseline given (`--baseline REV`): current tree only.", ""]
        lines += ["| workload | now |", "|---|---:|"]
    for w in WORKLOADS:
        k = _SCALE.get(w, 1.0)
        a = res[w]["now"]
        b = res[w]["baseline"]
        now_s = f"{statistics.median(a) * k:.3f}" if a else "failed"
        if baseline:
            before = f"{statistics.median(b) * k:.3f}" if b else "failed"
            ratio = f"{statistics.median(a) / statistics.median(b):.2f}" if a and b else ""
            fa = f"{min(a) * k:.3f}" if a else ""
            fb = f"{min(b) * k:.3f}" if b else ""
            fr = f"{min(a) / min(b):.2f}" if a and b else ""
            lines.append(f"| {_LABEL[w]} | {now_s} | {before} | {ratio} | {fa} | {fb} | {fr} |")
        else:
            lines.append(f"| {_LABEL[w]} | {now_s} |")
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    """Run the A/B workloads and write docs/performance_engine.md."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--baseline", default=os.environ.get("NEURODOSE_ENGINE_BASELINE"))
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    res = measure(args.rounds, args.baseline)
    text = render(res, args.rounds, args.baseline)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
