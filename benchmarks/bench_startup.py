"""Benchmark: start-up time of the command line and of ``import neurodose`` (issue 9).

Each scenario is a fresh interpreter (a subprocess), run ``--repeat`` times (default 10)
after one untimed warm-up run (which fills the numba and bytecode caches); the median
wall time is compared with the goal from issue 9:

==========================================================================  ======
``neurodose --help``                                                        0.25 s
``neurodose drugs show amitriptyline``                                      0.5 s
``neurodose simulate --drug amitriptyline --dose "25 mg" --days 28 --json``  0.6 s
``python -c "import neurodose"``                                            0.15 s
==========================================================================  ======

With ``--baseline REF`` (a git commit, default: none), the same scenarios are also timed
for that commit's ``src/`` (extracted with ``git archive`` into a temporary folder and
put first on ``PYTHONPATH``), interleaved with the current tree so both see the same
machine load; the report gives both medians and the ratio.

Run::

    .venv/bin/python benchmarks/bench_startup.py [--repeat 10] [--baseline ab22ca1]

``main()`` writes docs/performance_startup.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "performance_startup.md"

# (label, argv after the interpreter, goal in s)
CLI = ["-c", "from neurodose.cli.main import main; main()"]
SCENARIOS: list[tuple[str, list[str], float]] = [
    ("neurodose --help", [*CLI, "--help"], 0.25),
    ("neurodose drugs show amitriptyline", [*CLI, "drugs", "show", "amitriptyline"], 0.5),
    (
        'neurodose simulate --drug amitriptyline --dose "25 mg" --days 28 --json',
        [*CLI, "simulate", "--drug", "amitriptyline", "--dose", "25 mg", "--days", "28", "--json"],
        0.6,
    ),
    ('python -c "import neurodose"', ["-c", "import neurodose"], 0.15),
]


def _env(src: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    env["COLUMNS"] = "100"
    # the warm-up run must leave bytecode behind, as an installed package has it (pip
    # compiles on install); with this variable set every run would recompile the source
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if src is not None:
        env["PYTHONPATH"] = str(src) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _time_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one fresh interpreter running ``argv``."""
    c0 = _cpu_children()
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, *argv], env=env, capture_output=True, text=True, check=False
    )
    dt_s = time.perf_counter() - t0
    cpu = _cpu_children() - c0
    if proc.returncode != 0:
        raise RuntimeError(f"{argv} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return dt_s, cpu


def _extract(ref: str, into: Path) -> Path:
    archive = into / "src.tar"
    with archive.open("wb") as fh:
        subprocess.run(["git", "archive", ref, "src"], cwd=ROOT, stdout=fh, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


#: 1-minute load average when :func:`measure` started (for the report)
LOAD: dict[str, float] = {"start": float("nan")}


def measure(repeat: int, baseline: str | None) -> list[dict[str, object]]:
    """Median start-up times per scenario (and for ``baseline`` when given)."""
    LOAD["start"] = os.getloadavg()[0]
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        base_src = _extract(baseline, Path(tmp)) if baseline else None
        trees: list[tuple[str, Path | None]] = [("now", None)]
        if base_src is not None:
            trees.append(("baseline", base_src))
        for label, argv, goal in SCENARIOS:
            times: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in trees}
            for _name, src in trees:  # warm-up: caches filled, not timed
                _time_once(argv, _env(src))
            for _ in range(repeat):
                for name, src in trees:
                    times[name].append(_time_once(argv, _env(src)))
            row: dict[str, object] = {"scenario": label, "goal": goal}
            for name, ts in times.items():
                row[name] = statistics.median(w for w, _ in ts)
                row[f"{name}_cpu"] = statistics.median(c for _, c in ts)
            rows.append(row)
    return rows


def render(rows: list[dict[str, object]], repeat: int, baseline: str | None) -> str:
    """The Markdown fragment."""
    now = dt.datetime.now(dt.UTC)
    head = "| command | goal (s) | wall now (s) | CPU now (s) | meets goal (wall) |"
    sep = "|---|---:|---:|---:|---|"
    if baseline:
        head = (
            f"| command | goal (s) | wall now (s) | wall at {baseline} (s) | now / before | "
            f"CPU now (s) | CPU at {baseline} (s) | meets goal (wall) |"
        )
        sep = "|---|---:|---:|---:|---:|---:|---:|---|"
    lines = [
        "## Start-up (issue 9): command line and `import neurodose`",
        "",
        f"Measured {now:%Y-%m-%d %H:%M} UTC on {platform.machine()} "
        f"({os.cpu_count()} CPUs; 1-min load average {LOAD['start']:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end), "
        f"Python {platform.python_version()}. Command: "
        f"`python benchmarks/bench_startup.py --repeat {repeat}"
        + (f" --baseline {baseline}`" if baseline else "`")
        + ".",
        "",
        f"Each command runs in a fresh interpreter, {repeat} times after one untimed warm-up "
        "run (bytecode and numba caches filled); the table gives the median wall time of the "
        "subprocess and its median CPU time (user + system, all threads), which a loaded "
        "machine inflates less than the wall time. `neurodose` is run as "
        "`python -c 'from neurodose.cli.main import main; main()'` (what the console "
        "script does, without the wrapper's own start-up)."
        + (
            " The baseline is the same commands on the source of commit "
            f"`{baseline}`, interleaved run by run with the current tree."
            if baseline
            else ""
        ),
        "",
        head,
        sep,
    ]
    for r in rows:
        goal = float(r["goal"])  # type: ignore[arg-type]
        now_s = float(r["now"])  # type: ignore[arg-type]
        cpu = float(r["now_cpu"])  # type: ignore[arg-type]
        verdict = "yes" if now_s <= goal else f"no (+{now_s - goal:.2f} s)"
        if baseline:
            before = float(r["baseline"])  # type: ignore[arg-type]
            before_cpu = float(r["baseline_cpu"])  # type: ignore[arg-type]
            lines.append(
                f"| `{r['scenario']}` | {goal:.2f} | {now_s:.3f} | {before:.3f} | "
                f"{now_s / before:.2f} | {cpu:.3f} | {before_cpu:.3f} | {verdict} |"
            )
        else:
            lines.append(
                f"| `{r['scenario']}` | {goal:.2f} | {now_s:.3f} | {cpu:.3f} | {verdict} |"
            )
    lines += [
        "",
        "Where the time goes (cProfile and `python -X importtime`): `--help` imports typer "
        "and rich and the command table only (no command module, numba, scipy or pydantic; "
        "`tests/unit/cli/test_main.py`). `drugs show` adds pydantic and the knowledge-base "
        "schema (most of its import time), validates the one record asked for (about 10 ms; "
        "records are validated on first use and cached per process, never the whole "
        "knowledge base) and renders rich tables (about a third of its time). `simulate` "
        "adds numpy, the knowledge base, the PK model and the patient; the solve runs on the "
        "plain-Python backend of the exact solver (a few ms for one patient) and numba is "
        "not imported: before the solver split, importing numba and initialising its CPU "
        "target to load the first cached kernel cost about 1 s of CPU "
        "(`tests/unit/pk/test_exact.py` checks that numba stays unimported). Populations "
        "(`--population`), `trial` and `tdm` still load numba; `neurodose warmup` (run by "
        "`make venv`) fills its on-disk cache so that they do not compile.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    """Run the scenarios and write docs/performance_startup.md."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--baseline", default=os.environ.get("NEURODOSE_STARTUP_BASELINE"))
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    rows = measure(args.repeat, args.baseline)
    text = render(rows, args.repeat, args.baseline)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
