"""PK engine benchmarks (S1 mrgsolve workload, S3 AMI+NT population summaries).

Run: ``.venv/bin/python benchmarks/bench_pk.py`` (writes docs/performance_pk.md).
Quick check: ``--quick``. Each scenario that reports peak RSS runs in its own
subprocess (``resource.getrusage`` max RSS of that process).

S1 (= mrgsolve #372): 1-cmt oral, CL ~ U(0.5, 1.5) L/h, V 20 L, ka 1/h, 100 mg q24h x 28,
hourly 0-672 h (673 rows/subject). Exact solver (eigen + superposition, numba) against a
per-subject ``scipy.integrate.solve_ivp(LSODA, rtol=atol=1e-8)`` loop, both gated on max
relative error vs the analytic Bateman superposition < 1e-6 (points with C > 1e-6 x Cmax).
S3: AMI -> NT with drawn CYP2D6/CYP2C19 phenotypes, IIV, paroxetine started on day 28
(time-varying inhibition), 25 mg daily for 8 weeks, hourly grid, summaries only.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _s1_setup(n: int, seed: int = 1):  # type: ignore[no-untyped-def]
    import numpy as np

    from neurodose.case import Regimen

    rng = np.random.default_rng(seed)
    cl = rng.uniform(0.5, 1.5, n)
    params = {"F": 1.0, "ka": 1.0, "tlag": 0.0, "CL": cl, "V": 20.0}
    reg = Regimen.oral("100 mg", every="24 h", doses=28)
    t = np.arange(0.0, 673.0)
    return params, reg, t


def _analytic(cl, t):  # type: ignore[no-untyped-def]
    import numpy as np

    k = np.asarray(cl)[:, None] / 20.0
    out = np.zeros((k.shape[0], t.size))
    for d in range(28):
        dt = np.maximum(t - 24.0 * d, 0.0)[None, :]
        out += np.where(dt > 0, 100.0 / (20.0 * (1 - k)) * (np.exp(-k * dt) - np.exp(-dt)), 0.0)
    return out * 1000.0


def _max_rel_err(c, ref):  # type: ignore[no-untyped-def]
    import numpy as np

    mask = ref > 1e-6 * ref.max()
    return float(np.max(np.abs(c[mask] - ref[mask]) / ref[mask]))


def _lsoda_subject(cl: float, t):  # type: ignore[no-untyped-def]
    import numpy as np
    from scipy.integrate import solve_ivp

    def rhs(_t, x):  # type: ignore[no-untyped-def]
        return [-1.0 * x[0], 1.0 * x[0] - cl / 20.0 * x[1]]

    out = np.zeros(t.size)
    x = np.zeros(2)
    for d in range(28):
        x[0] += 100.0
        t0, t1 = 24.0 * d, 24.0 * (d + 1) if d < 27 else 672.0
        sel = (t >= t0) & (t <= t1)
        sol = solve_ivp(rhs, (t0, t1), x, method="LSODA", rtol=1e-8, atol=1e-8, t_eval=t[sel])
        out[sel] = sol.y[1] / 20.0 * 1000.0
        x = sol.y[:, -1].copy()
    return out


def s1(threads: int, sizes: list[int], repeats: int, n_lsoda: int) -> dict:  # type: ignore[type-arg]
    import numba
    import numpy as np

    from neurodose.pk.model import get_structure
    from neurodose.pk.solve import concentrations

    numba.set_num_threads(threads)
    model = get_structure("one_compartment", ("drug",))
    res: dict = {"threads": threads}  # type: ignore[type-arg]
    p, reg, t = _s1_setup(10)
    t0 = time.perf_counter()
    concentrations(model, p, reg, t)
    res["first_call_s"] = time.perf_counter() - t0
    # correctness gate
    p, reg, t = _s1_setup(1000)
    c = concentrations(model, p, reg, t)["drug"]
    res["exact_max_rel_err"] = _max_rel_err(c, _analytic(p["CL"], t))
    chunk = 10_000
    rates = {}
    for n in sizes:
        p, reg, t = _s1_setup(n)
        times = []
        for _ in range(repeats):
            buf = np.empty((min(chunk, n), 1, t.size))
            buf.fill(0.0)  # fault the pages once; reused by every chunk
            t0 = time.perf_counter()
            for s in range(0, n, chunk):
                sub = {**p, "CL": p["CL"][s : s + chunk]}
                m = sub["CL"].shape[0]
                concentrations(model, sub, reg, t, out=buf[:m])
            times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        rates[n] = {"median_s": med, "subjects_per_s": n / med, "repeats": repeats}
    res["exact"] = rates
    if n_lsoda:
        p, reg, t = _s1_setup(n_lsoda)
        ref = _analytic(p["CL"], t)
        t0 = time.perf_counter()
        ls = np.array([_lsoda_subject(float(c), t) for c in p["CL"]])
        dt = time.perf_counter() - t0
        res["lsoda"] = {
            "n": n_lsoda,
            "seconds": dt,
            "subjects_per_s": n_lsoda / dt,
            "max_rel_err": _max_rel_err(ls, ref),
        }
    res["peak_rss_mb"] = _rss_mb()
    return res


def s3(threads: int, n: int, chunk: int) -> dict:  # type: ignore[type-arg]
    import numba
    import numpy as np

    from neurodose.case import Comedication, Regimen
    from neurodose.pk import population

    numba.set_num_threads(threads)
    reg = Regimen.oral("25 mg", every="24 h", days=56)
    t = np.arange(0.0, 56 * 24 + 1.0)
    comed = [Comedication("paroxetine", 20.0, 24.0, start_h=28 * 24.0)]
    t0 = time.perf_counter()
    population.summarize(
        "amitriptyline",
        reg,
        n=min(n, 200),
        seed=1,
        times_h=t,
        comedications=comed,
        draw_genotypes=True,
        chunk=chunk,
        tdm_range=(80.0, 200.0),
    )
    warm = time.perf_counter() - t0
    c0 = time.process_time()
    t0 = time.perf_counter()
    s = population.summarize(
        "amitriptyline",
        reg,
        n=n,
        seed=1,
        times_h=t,
        comedications=comed,
        draw_genotypes=True,
        chunk=chunk,
        tdm_range=(80.0, 200.0),
    )
    dt = time.perf_counter() - t0
    cpu = time.process_time() - c0
    tot = s["total"]
    return {
        "threads": threads,
        "n": n,
        "chunk": chunk,
        "warmup_s": warm,
        "seconds": dt,
        "cpu_seconds": cpu,
        "subjects_per_s": n / dt,
        "peak_rss_mb": _rss_mb(),
        "load_avg_1min": os.getloadavg()[0],
        "median_cmin_last_total": float(np.median(tot["cmin_last_ng_per_ml"])),
        "median_fraction_in_range": float(np.median(tot["fraction_time_in_range"])),
    }


def _sub(args: list[str], threads: int) -> dict:  # type: ignore[type-arg]
    env = {
        **os.environ,
        "NUMBA_NUM_THREADS": str(threads),
        "OMP_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    out = subprocess.run(
        [sys.executable, __file__, *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(quick: bool = False) -> str:
    """Run all scenarios in subprocesses and write docs/performance_pk.md."""
    sizes = [1000, 10_000] if quick else [1000, 10_000, 100_000]
    reps = 3 if quick else 5
    n_ls = 20 if quick else 100
    s1r = [
        _sub(["--s1", str(th), ",".join(map(str, sizes)), str(reps), str(n_ls)], th)
        for th in (1, 2)
    ]
    s3_sizes = [10_000] if quick else [10_000, 100_000, 1_000_000]
    s3r = [_sub(["--s3", str(th), str(n), "20000"], th) for th in (1, 2) for n in s3_sizes]
    lines = [
        "## PK engine (benchmarks/bench_pk.py)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} logical CPUs, Python "
        f"{platform.python_version()}; shared and noisy (medians). Command: "
        f"`.venv/bin/python benchmarks/bench_pk.py{' --quick' if quick else ''}`.",
        "",
        "### S1: 1-cmt oral, 100 mg q24h x 28, hourly 0-672 h (673 rows/subject), CL ~ U(0.5,1.5)",
        "",
        "Exact solver = eigen-decomposition + superposition in numba, output generated in chunks "
        "of 10,000 subjects (n x 673 float64) and discarded; baseline = per-subject "
        "`solve_ivp(LSODA, rtol=atol=1e-8)` loop restarted at each dose (same run, same machine). "
        "Accuracy gate: max relative error vs the analytic Bateman superposition (C > 1e-6 Cmax).",
        "",
        "| threads | N | median s | subjects/s | repeats |",
        "|---|---|---|---|---|",
    ]
    for r in s1r:
        for n, v in r["exact"].items():
            lines.append(
                f"| {r['threads']} | {int(n):,} | {v['median_s']:.3f} | "
                f"{v['subjects_per_s']:,.0f} | {v['repeats']} |"
            )
    lines += [
        "",
        "| threads | first call s (JIT compile or cache load) | exact max rel err | "
        "LSODA N | LSODA subjects/s | LSODA max rel err | speed-up (largest N) | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in s1r:
        big = r["exact"][max(r["exact"], key=int)]["subjects_per_s"]
        ls = r["lsoda"]
        lines.append(
            f"| {r['threads']} | {r['first_call_s']:.2f} | {r['exact_max_rel_err']:.1e} | "
            f"{ls['n']} "
            f"(1 run) | {ls['subjects_per_s']:.1f} | {ls['max_rel_err']:.1e} | "
            f"{big / ls['subjects_per_s']:,.0f}x | {r['peak_rss_mb']:.0f} |"
        )
    lines += [
        "",
        "### S3: AMI -> NT, drawn CYP2D6/CYP2C19 phenotypes, IIV, paroxetine from day 28 "
        "(time-varying), 25 mg daily x 8 weeks, hourly grid, summaries only (chunks of 20,000)",
        "",
        "One timed run per row (after a 200-subject warm-up that loads/compiles the kernels); wall "
        "and process CPU time are both given because the 2 cores are shared with other jobs "
        "(1-min load average in the table). Summaries (Cmax, Tmax, AUC, Cmin over the last 24 h, "
        "time to 90 % steady state, fraction of time in range) are computed inside the kernel; "
        "no n x T matrix is kept, so peak RSS does not grow with N beyond the "
        "20,000-subject chunk.",
        "",
        "| threads | N | warm-up s (200 subjects) | wall s | CPU s | subjects/s | peak RSS MB | "
        "load avg | median Cmin total | median fraction of time in 80-200 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in s3r:
        lines.append(
            f"| {r['threads']} | {r['n']:,} | {r['warmup_s']:.2f} | {r['seconds']:.2f} | "
            f"{r['cpu_seconds']:.2f} | {r['subjects_per_s']:,.0f} | {r['peak_rss_mb']:.0f} | "
            f"{r['load_avg_1min']:.1f} | {r['median_cmin_last_total']:.1f} | "
            f"{r['median_fraction_in_range']:.2f} |"
        )
    text = "\n".join(lines) + "\n"
    (ROOT / "docs" / "performance_pk.md").write_text(text, encoding="utf-8")
    (ROOT / "docs" / "performance_pk.json").write_text(
        json.dumps({"s1": s1r, "s3": s3r}, indent=1), encoding="utf-8"
    )
    return text


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    if len(sys.argv) > 1 and sys.argv[1] == "--s1":
        th, sizes, reps, nls = sys.argv[2:6]
        print(json.dumps(s1(int(th), [int(x) for x in sizes.split(",")], int(reps), int(nls))))
    elif len(sys.argv) > 1 and sys.argv[1] == "--s3":
        th, n, chunk = sys.argv[2:5]
        print(json.dumps(s3(int(th), int(n), int(chunk))))
    else:
        print(main(quick="--quick" in sys.argv))
