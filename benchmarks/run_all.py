"""Run every benchmark and assemble ``docs/performance.md``.

Each ``benchmarks/bench_<area>.py`` defines ``main()``, which runs its scenarios
(baselines in the same run) and writes a Markdown fragment
``docs/performance_<area>.md``. This script runs them one after another (never
in parallel: timings on a 2-core machine are noisy enough), then writes
``docs/performance.md``: a header describing the machine, then each fragment.

A fragment not rewritten in this run (its benchmark failed, was skipped, or
wrote nothing) is included with a note giving its age, so stale numbers are
never passed off as fresh ones.

Usage::

    python benchmarks/run_all.py                 # run all, assemble
    python benchmarks/run_all.py --only pk trial # run some, assemble all fragments
    python benchmarks/run_all.py --assemble-only # no runs, just rebuild performance.md

Exit status is 1 when any benchmark raised.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import platform
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "benchmarks"
DOCS = ROOT / "docs"
OUTPUT = DOCS / "performance.md"


@dataclass
class Outcome:
    """What happened to one benchmark module in this run."""

    area: str
    seconds: float | None = None
    error: str | None = None
    skipped: bool = False
    notes: list[str] = field(default_factory=list)


def discover(bench_dir: Path = BENCH_DIR) -> dict[str, Path]:
    """``{area: path}`` for every ``bench_<area>.py``."""
    return {p.stem.removeprefix("bench_"): p for p in sorted(bench_dir.glob("bench_*.py"))}


def fragment_path(area: str, docs: Path = DOCS) -> Path:
    return docs / f"performance_{area}.md"


def _load(area: str, path: Path) -> ModuleType:
    name = f"neurodose_bench_{area}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def run_one(area: str, path: Path, docs: Path = DOCS) -> Outcome:
    """Import ``path`` and call its ``main()``; record time and any error."""
    out = Outcome(area)
    frag = fragment_path(area, docs)
    before = frag.stat().st_mtime if frag.exists() else None
    start = time.perf_counter()
    saved_argv, saved_path = sys.argv, list(sys.path)
    # a bench may pin the process to one core (bench_mipd does, for its 1-core target);
    # restore the affinity afterwards so later benches still see every core
    saved_cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    sys.argv = [str(path)]  # a bench's own argparse must not see run_all's options
    sys.path.insert(0, str(path.parent))  # benches may share helpers in benchmarks/
    try:
        module = _load(area, path)
        entry = getattr(module, "main", None)
        if entry is None:
            raise AttributeError(f"{path.name} defines no main()")
        entry()
    except SystemExit as exc:  # a main() that calls sys.exit
        if exc.code not in (0, None):
            out.error = f"SystemExit: {exc.code}"
    except Exception:
        out.error = traceback.format_exc(limit=6)
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
        if saved_cpus is not None:
            os.sched_setaffinity(0, saved_cpus)
    out.seconds = time.perf_counter() - start
    after = frag.stat().st_mtime if frag.exists() else None
    if out.error is None and (after is None or after == before):
        out.notes.append(f"{path.name} ran but did not (re)write {frag.name}")
    return out


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _mem_total_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return "unknown"


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def _git_commit() -> str:
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    commit = proc.stdout.strip() or "unknown"
    return commit + (" (with uncommitted changes)" if dirty else "")


def machine_header(now: dt.datetime | None = None) -> str:
    """Markdown lines describing the machine, software and date."""
    now = now or dt.datetime.now(dt.UTC)
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 0
    threads = {
        k: os.environ[k] for k in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS") if k in os.environ
    }
    lines = [
        f"- Date: {now:%Y-%m-%d %H:%M} UTC",
        f"- CPU: {_cpu_model()}; {os.cpu_count()} logical cores, {usable} usable by this process",
        f"- Memory: {_mem_total_gib()}",
        f"- OS: {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()} ({platform.python_implementation()}); "
        f"numpy {_version('numpy')}; scipy {_version('scipy')}; numba {_version('numba')}; "
        f"dask {_version('dask')}",
        f"- neurodose {_version('neurodose')} at commit {_git_commit()}",
    ]
    if threads:
        lines.append("- Thread settings: " + ", ".join(f"{k}={v}" for k, v in threads.items()))
    return "\n".join(lines)


def assemble(
    outcomes: dict[str, Outcome],
    areas: list[str],
    docs: Path = DOCS,
    now: dt.datetime | None = None,
) -> str:
    """The text of ``docs/performance.md`` from the fragments on disk."""
    now = now or dt.datetime.now(dt.UTC)
    parts = [
        "# Performance",
        "",
        "Generated by `make bench` (`benchmarks/run_all.py`); do not edit by hand. Each section "
        "below is written by its `benchmarks/bench_<area>.py`, which times its baselines in the "
        "same run. Timings are medians on the machine below; compare ratios, not absolute "
        "numbers across machines.",
        "",
        "## Machine",
        "",
        machine_header(now),
        "",
    ]
    if outcomes and all(o.skipped for o in outcomes.values()):
        parts += [
            "Assembled from the fragments on disk; no benchmark was re-run. Each fragment "
            "states when and how it was measured.",
            "",
        ]
    elif outcomes:
        parts += ["## This run", "", "| benchmark | wall time (s) | status |", "|---|---:|---|"]
        for area in areas:
            o = outcomes.get(area)
            if o is None or o.skipped:
                parts.append(f"| {area} | | not run |")
            elif o.error:
                last = o.error.strip().splitlines()[-1]
                parts.append(f"| {area} | {o.seconds:.1f} | FAILED: `{last}` |")
            else:
                status = "ok" if not o.notes else "; ".join(o.notes)
                parts.append(f"| {area} | {o.seconds:.1f} | {status} |")
        parts.append("")
    fragments = sorted(docs.glob("performance_*.md"))
    if not fragments:
        parts += ["No benchmark fragments yet (`docs/performance_<area>.md`).", ""]
    for frag in fragments:
        area = frag.stem.removeprefix("performance_")
        text = frag.read_text(encoding="utf-8").strip()
        o = outcomes.get(area)
        fresh = o is not None and not o.skipped and o.error is None and not o.notes
        if not fresh:
            written = dt.datetime.fromtimestamp(frag.stat().st_mtime, dt.UTC)
            text = (
                f"> Not regenerated in this run: written {written:%Y-%m-%d %H:%M} UTC.\n\n" + text
            )
        parts += [text, ""]
    return "\n".join(parts).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="AREA", help="run only these areas")
    parser.add_argument(
        "--assemble-only", action="store_true", help="run nothing; rebuild performance.md"
    )
    args = parser.parse_args(argv)

    found = discover()
    if args.only:
        unknown = sorted(set(args.only) - set(found))
        if unknown:
            parser.error(f"unknown benchmark area(s) {unknown}; available: {sorted(found)}")
    outcomes: dict[str, Outcome] = {}
    for area, path in found.items():
        if args.assemble_only or (args.only and area not in args.only):
            outcomes[area] = Outcome(area, skipped=True)
            continue
        print(f"== bench {area} ({path.name})", flush=True)
        outcomes[area] = o = run_one(area, path)
        if o.error:
            print(o.error, file=sys.stderr)
        print(f"== bench {area}: {'FAILED' if o.error else 'ok'} in {o.seconds:.1f} s", flush=True)
        for note in o.notes:
            print(f"   note: {note}")
    DOCS.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(assemble(outcomes, list(found)), encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 1 if any(o.error for o in outcomes.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
