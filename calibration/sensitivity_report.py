"""docs/sensitivity.md, its figure and the ranking file from ``sensitivity_results.json``.

Split from ``calibration/sensitivity.py`` (which runs the analysis); re-render without
re-running with ``PYTHONPATH=src .venv/bin/python calibration/sensitivity_report.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from neurodose.pd.params import load_pd_parameters  # noqa: E402

OUT_JSON = ROOT / "calibration" / "sensitivity_results.json"
DOC = ROOT / "docs" / "sensitivity.md"
FIG = ROOT / "docs" / "figures" / "sensitivity_sobol.png"
RANKING = ROOT / "src" / "neurodose" / "knowledge" / "pdmodels" / "sensitivity_ranking.json"
GAPS = ROOT / "docs" / "evidence_gaps.md"

COMMAND = (
    "PYTHONPATH=src .venv/bin/python calibration/sensitivity.py --n-base {n_base} "
    "--n {n} --morris {morris} --keep {keep} --replicate {rep} --workers 2"
)


def _status(name: str) -> str:
    q = load_pd_parameters().quantities.get(name)
    if q is None:
        return "?"
    return "calibrated" if q.calibrated else "unverified"


def _shown(name: str) -> str:
    q = load_pd_parameters().quantities.get(name)
    if q is None:
        return "?"
    unit = "" if q.unit == "1" else f" {q.unit}"
    return f"{q.point:.4g}{unit}"


def _outputs(res: dict[str, Any]) -> list[str]:
    return list(res["sobol"]["outputs"])


def _st(res: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(outputs, kept params) total indices (clipped at 0) and their CI half-widths."""
    sob = res["sobol"]["outputs"]
    st = np.clip(np.array([sob[o]["ST"] for o in _outputs(res)]), 0.0, None)
    conf = np.array([sob[o]["ST_conf"] for o in _outputs(res)])
    return st, conf


def _morris_best(res: dict[str, Any]) -> dict[str, tuple[float, str]]:
    """Per parameter: the largest normalised mu* over outputs and screens, and its output."""
    best: dict[str, tuple[float, str]] = {}
    for s in res["morris"]:
        for o, v in s["outputs"].items():
            for name, m in zip(res["parameters"], v["mu_star_norm"], strict=True):
                if m >= best.get(name, (-1.0, ""))[0]:
                    best[name] = (float(m), o)
    return best


def ranking(res: dict[str, Any]) -> list[dict[str, Any]]:
    """Kept parameters by their largest total index; then the screened-out ones by mu*."""
    st, conf = _st(res)
    outs, kept = _outputs(res), res["kept"]
    rows = []
    for i in np.argsort(-st.max(axis=0), kind="stable"):
        j = int(np.argmax(st[:, i]))
        rows.append(
            {
                "parameter": kept[i],
                "status": _status(kept[i]),
                "max_ST": round(float(st[j, i]), 4),
                "ST_conf": round(float(conf[j, i]), 4),
                "output": outs[j],
                "screened_out": False,
            }
        )
    best = _morris_best(res)
    rest = sorted((k for k in res["parameters"] if k not in kept), key=lambda k: -best[k][0])
    for k in rest:
        rows.append(
            {
                "parameter": k,
                "status": _status(k),
                "max_ST": None,
                "ST_conf": None,
                "morris_mu_star_norm": round(best[k][0], 4),
                "output": best[k][1] if best[k][0] > 0 else "none (moves no output)",
                "screened_out": True,
            }
        )
    return rows


def write_ranking(res: dict[str, Any]) -> None:
    """The ranking for docs/evidence_gaps.md (rendered by neurodose.knowledge.docgen)."""
    doc = {
        "note": "written by calibration/sensitivity.py; do not edit by hand",
        "method": "Morris screen then Sobol (Saltelli), without recalibration per draw",
        "n_base": res["n_base"],
        "n_per_arm": res["n_per_arm"],
        "keep_threshold": res["keep_threshold"],
        "morris_trajectories": [s["trajectories"] for s in res["morris"]],
        "ranking": ranking(res),
    }
    RANKING.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    from neurodose.knowledge.docgen import render_evidence_gaps

    GAPS.write_text(render_evidence_gaps(), encoding="utf-8")  # ordered by the ranking


def _figure(res: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    st, _ = _st(res)
    kept, outs = res["kept"], _outputs(res)
    order = np.argsort(-st.max(axis=0), kind="stable")
    FIG.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(11, 1.5 + 0.3 * len(kept)))
    im = ax.imshow(st[:, order].T, aspect="auto", cmap="viridis", vmin=0, vmax=max(0.5, st.max()))
    ax.set_yticks(range(len(kept)))
    ax.set_yticklabels([f"{kept[i]} ({_status(kept[i])[:3]})" for i in order], fontsize=7)
    ax.set_xticks(range(len(outs)))
    ax.set_xticklabels(outs, rotation=35, ha="right", fontsize=7)
    fig.colorbar(im, ax=ax, label="total Sobol index ST")
    ax.set_title(
        f"Sobol total indices (Saltelli N={res['n_base']}, {res['sobol']['draws']} draws, "
        f"{res['n_per_arm']} patients/arm; without recalibration per draw)"
    )
    fig.tight_layout()
    fig.savefig(FIG, dpi=100)
    plt.close(fig)


def _ci(x: dict[str, Any]) -> str:
    return f"{x['S1_sum']:.2f} ({x['S1_sum_ci'][0]:.2f} to {x['S1_sum_ci'][1]:.2f})"


def _kept_at(res: dict[str, Any], threshold: float) -> int:
    best = _morris_best(res)
    return sum(1 for k in res["parameters"] if best[k][0] >= threshold)


def _threshold_note(res: dict[str, Any]) -> str:
    n05, t = _kept_at(res, 0.05), res["keep_threshold"]
    none = sum(1 for v in _morris_best(res).values() if v[0] == 0.0)
    if t <= 0.05:
        return f"{none} parameters move no output at all (mu* = 0)."
    return (
        f"**The threshold {t:g} was set by the CPU time this run had, not by the screen**: "
        f"at 0.05, {n05} parameters would go on to Sobol ({none} move no output at all, "
        "mu* = 0); the others are ranked below by their Morris mu* only."
    )


def _convergence_rows(res: dict[str, Any]) -> list[str]:
    sob = res["sobol"]
    rep, crep = sob.get("replicate", {}), sob.get("conv_replicate", {})
    n = res["n_base"]
    lines = [
        f"| output | SD | sum S1, N/2 = {n // 2} (95 % CI) | sum S1, N = {n} | sum S1, "
        f"independent N = {sob.get('n_replicate') or '-'} | S1 sum <= 1 within CI (N, "
        "independent) | "
        "max abs dST, N/2 vs N | max abs dST, "
        "seed vs seed | rank corr. of ST, seeds | largest ST CI half-width |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for o in _outputs(res):
        f, h, c = sob["outputs"][o], sob["half"][o], sob["conv_half"][o]
        r, cr = rep.get(o), crep.get(o)
        ok = all(x["S1_sum_ci"][0] <= 1.0 for x in (f, *([r] if r else [])))  # at N
        seeds = f"{cr['max_abs_dST']:.3f} | {cr['spearman_ST']:.2f}" if cr else "- | -"
        lines.append(
            f"| {o} | {f['sd']:.3f} | {_ci(h)} | {_ci(f)} | {_ci(r) if r else '-'} | "
            f"{'yes' if ok else 'NO'} | {c['max_abs_dST']:.3f} | {seeds} | "
            f"{max(f['ST_conf']):.3f} |"
        )
    return lines


def _assessment(res: dict[str, Any]) -> str:
    """A reading of the convergence table (computed, not hand-written)."""
    sob = res["sobol"]
    outs = [o for o in _outputs(res) if not sob["outputs"][o].get("constant")]
    if not outs:
        return ""
    d_half = max(sob["conv_half"][o]["max_abs_dST"] for o in outs)
    d_rep = max(
        (
            sob["conv_replicate"][o]["max_abs_dST"]
            for o in outs
            if o in sob.get("conv_replicate", {})
        ),
        default=float("nan"),
    )
    over = [o for o in outs if sob["outputs"][o]["S1_sum_ci"][0] > 1.0]
    conf = max(max(sob["outputs"][o]["ST_conf"]) for o in outs)
    ok = d_half < 0.1 and (np.isnan(d_rep) or d_rep < 0.1) and not over
    moved = [
        o
        for o in outs
        if sob["conv_half"][o]["max_abs_dST"] >= 0.1
        or sob.get("conv_replicate", {}).get(o, {}).get("max_abs_dST", 0.0) >= 0.1
    ]
    rep = (
        f" and {d_rep:.3f} between two independent samples (N = {sob['n_replicate']})"
        if not np.isnan(d_rep)
        else " (no independent sample in this run)"
    )
    return (
        f"**Assessment:** the largest change of a total index is {d_half:.3f} from N/2 to N"
        f"{rep}; the largest bootstrap half-width of a total index is {conf:.3f}; "
        + (
            f"{len(over)} output(s) have a first-order sum above 1 beyond its CI. "
            if over
            else "every first-order sum is <= 1 within its CI. "
        )
        + (
            "By these criteria (changes < 0.1, sums <= 1) the indices are converged."
            if ok
            else f"A total index moved by 0.1 or more for {', '.join(moved) or 'no output'}; "
            "there the indices are **not converged** by these criteria (changes < 0.1, "
            "sums <= 1): for those outputs read only the order of the largest indices."
        )
    )


def _timing_rows(res: dict[str, Any]) -> list[str]:
    lines = [
        "| stage | draws | wall s | CPU s (driver + workers) | load average after |",
        "|---|---|---|---|---|",
    ]
    for t in res["timing"]:
        load = " / ".join(f"{x:.1f}" for x in t.get("load_after", [])) or "-"
        lines.append(
            f"| {t['stage']} | {t.get('draws', '-')} | {t['wall_s']} | {t['cpu_s']} | {load} |"
        )
    return lines


def _morris_rows(res: dict[str, Any]) -> list[str]:
    screens = res["morris"]
    best = _morris_best(res)
    head = " | ".join(f"mu* norm. (r = {s['trajectories']}, seed {s['seed']})" for s in screens)
    lines = [
        f"| parameter | status | {head} | kept |",
        "|---|---|" + "---|" * len(screens) + "---|",
    ]
    for k in sorted(res["parameters"], key=lambda k: -best[k][0]):
        i = res["parameters"].index(k)
        vals = " | ".join(
            f"{max(v['mu_star_norm'][i] for v in s['outputs'].values()):.3f}" for s in screens
        )
        lines.append(f"| `{k}` | {_status(k)} | {vals} | {'yes' if k in res['kept'] else 'no'} |")
    return lines


def _ranking_rows(res: dict[str, Any]) -> list[str]:
    lines = [
        "| rank | parameter | status | value | max ST (± 95 % CI half-width) | output where "
        "largest |",
        "|---|---|---|---|---|---|",
    ]
    for rank, r in enumerate(ranking(res), 1):
        k = r["parameter"]
        if r["screened_out"]:
            what = f"Morris only: mu* {r['morris_mu_star_norm']:.3f} of the largest"
        else:
            what = f"{r['max_ST']:.3f} (± {r['ST_conf']:.3f})"
        lines.append(f"| {rank} | `{k}` | {r['status']} | {_shown(k)} | {what} | {r['output']} |")
    return lines


def _output_rows(res: dict[str, Any]) -> list[str]:
    st, _ = _st(res)
    kept = res["kept"]
    lines = ["| output | mean | SD | top parameters (ST) |", "|---|---|---|---|"]
    for k, o in enumerate(_outputs(res)):
        f = res["sobol"]["outputs"][o]
        top = np.argsort(-st[k])[:3]
        tops = ", ".join(f"`{kept[i]}` {st[k, i]:.2f}" for i in top)
        lines.append(f"| {o} | {f['mean']:.3f} | {f['sd']:.3f} | {tops} |")
    return lines


def _intro(res: dict[str, Any]) -> list[str]:
    stab = res.get("morris_stability", {})
    cmd = COMMAND.format(
        n_base=res["n_base"],
        n=res["n_per_arm"],
        morris=" ".join(str(s["trajectories"]) for s in res["morris"]),
        keep=res["keep_threshold"],
        rep=res["sobol"].get("n_replicate", res["n_base"]),
    )
    return [
        "# Global sensitivity of the predictions to unverified and calibrated PD parameters",
        "",
        "Generated by `calibration/sensitivity.py` (issue 20 item 7); re-run after any change "
        f"to the PD knowledge base with `{cmd}`. The parameter set is read from the knowledge "
        "base at run time: every PD parameter marked `calibrated` or `verified = false` "
        f"({len(res['parameters'])} in this run).",
        "",
        "**Without recalibration per draw.** The calibrated parameters are varied around "
        "their fitted values and the fit is not redone for each draw: the indices say how "
        "much the outputs move with each number as stored, not after a refit.",
        "",
        "## Method",
        "",
        "- Outputs (12-week painful-diabetic-neuropathy virtual trials, ITT with BOCF, "
        f"{res['n_per_arm']} patients per arm, one seed): risk differences vs placebo of "
        ">= 50 % relief (1/NNT) for amitriptyline 10 -> 50 mg, duloxetine 60 mg and "
        "pregabalin 300 mg/day, and of AE withdrawal (1/NNH); dose-response as the "
        "responder-rate difference duloxetine 120 vs 60 mg and pregabalin 600 vs 300 mg/day; "
        "sleep first as the week-1 fraction of the week-12 drug-vs-placebo sleep effect minus "
        "that of the pain effect in completers (> 0: sleep improves first; docs/claims.md); "
        "the age effect as the AE-withdrawal and >= 50 % relief risk differences in "
        "75-year-olds minus those at the reference age 60 (amitriptyline).",
        "- Ranges: a parameter stored with a plausible range (`low`..`high`) is drawn "
        "uniformly within it; every other one log-uniformly within x/÷"
        f"{res['spread']} of its value (no source gives a range); structural fractions are "
        "clipped to [0, 1]. PK is not varied (docs/validation.md shows its uncertainty).",
        "- Common random numbers: each arm's PK concentrations are computed once (stored "
        "parameters) and replayed for every draw; every draw sees the same virtual patients. "
        "The PD part runs through the trial engine's own `run_chunk` (no second PD model).",
        f"- Stage 1, Morris screen (SALib, 4 levels): {len(res['morris'])} independent "
        "samples (" + ", ".join(f"r = {s['trajectories']}" for s in res["morris"]) + "). A "
        "parameter is kept when its mu* reaches "
        f"{res['keep_threshold']:g} of the largest mu* of some output in either screen. "
        f"Stability: rank correlation of the mu* {stab.get('spearman_mu_star', float('nan')):.2f}"
        f"; kept {stab.get('kept_a', '-')} and {stab.get('kept_b', '-')} parameters, "
        f"{stab.get('kept_both', '-')} in both (only in the first: "
        f"{', '.join(stab.get('only_a', [])) or 'none'}; only in the second: "
        f"{', '.join(stab.get('only_b', [])) or 'none'}); the union is kept "
        f"({len(res['kept'])}). {_threshold_note(res)}",
        f"- Stage 2, Sobol (Saltelli/SALib, base N = {res['n_base']}, first and total "
        f"order, {res['sobol']['draws']} draws) over the kept parameters; screened-out ones "
        "at their stored values. Convergence: the nested N/2 sample, "
        + (
            f"an independent sample of base N = {res['sobol']['n_replicate']} (another "
            "scramble seed), "
            if res["sobol"].get("n_replicate")
            else "(no independent sample: it did not fit in this run), "
        )
        + "bootstrap 95 % CIs, and the sum of first-order indices with its bootstrap CI.",
        f"- Runs: {res['runner']} on a machine with {res.get('cpu_count')} cores shared "
        "with other work (load averages below).",
        "",
        "## Cost",
        "",
        *_timing_rows(res),
        "",
    ]


def write_doc(res: dict[str, Any]) -> None:
    """docs/sensitivity.md and the figure from the results."""
    _figure(res)
    lines = [
        *_intro(res),
        "## Convergence",
        "",
        *_convergence_rows(res),
        "",
        _assessment(res),
        "",
        "![Sobol](figures/sensitivity_sobol.png)",
        "",
        "## Ranking of the unverified and calibrated numbers",
        "",
        "Kept parameters by their largest total index over the outputs, then the screened-out "
        "ones by their Morris mu*. docs/evidence_gaps.md lists them in this order.",
        "",
        *_ranking_rows(res),
        "",
        "## Outputs across the draws",
        "",
        *_output_rows(res),
        "",
        "## Morris screen",
        "",
        *_morris_rows(res),
    ]
    DOC.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> int:
    res = json.loads(OUT_JSON.read_text(encoding="utf-8"))
    write_doc(res)
    write_ranking(res)
    print(f"wrote {DOC}, {FIG}, {RANKING}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
