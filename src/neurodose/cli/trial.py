"""``neurodose trial DESIGN.toml``: run a virtual trial; ``demo_section`` for ``neurodose demo``.

Output: a table per arm (responders, mean change, AE withdrawal, main adverse
effects), NNT/NNH vs placebo with 95 % CIs, and the sources; ``--json`` prints
the JSON contract (see :meth:`neurodose.trial.run.TrialResult.to_dict`);
``--plot FILE`` writes weekly pain, responders and adverse-effect prevalence.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from neurodose.cli import options as opt
from neurodose.cli.common import escape, make_console, print_json, print_sources
from neurodose.inputs import output_path, save_figure, writing
from neurodose.trial.run import TrialResult
from neurodose.workflows.trials import TrialRequest, trial, trial_design

__all__ = [
    "DEMO_DESIGN",
    "demo_section",
    "nn_text",
    "plot_trial",
    "print_trial",
    "register",
    "subjects_csv",
    "trial_csv",
]

#: the demo design (repository examples/trials/demo.toml)
DEMO_DESIGN = Path(__file__).resolve().parents[3] / "examples" / "trials" / "demo.toml"

_MAIN_AES = ("dry_mouth", "drowsiness", "dizziness", "constipation", "nausea")


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f} %"


def _ci(v: Any, ci: list[Any]) -> str:
    if v is None:
        return "–"
    lo, hi = ci
    return f"{v:g} ({'–' if lo is None else f'{lo:g}'} to {'∞' if hi is None else f'{hi:g}'})"


def _arm_label(i: int) -> str:
    return chr(ord("A") + i) if i < 26 else f"A{i}"


def _regimen_text(arm: Any) -> str:
    """``amitriptyline 10 -> 75 mg/day`` (daily doses of the first and last step)."""
    if arm.is_placebo:
        return "placebo"
    steps = list(arm.regimen)
    if not steps:
        return arm.drug
    daily = [round(s.dose_mg * 24.0 / s.every_h, 3) for s in steps]
    dose = (
        f"{daily[0]:g} mg/day" if len(set(daily)) == 1 else f"{daily[0]:g} -> {daily[-1]:g} mg/day"
    )
    return f"{arm.drug} {dose}"


def nn_text(value: float | None, ci: list[Any], *, benefit_outcome: bool) -> str:
    """NNTB/NNTH wording for a signed number needed to treat (Altman 1998).

    ``value`` > 0 means the active arm has the higher rate. For a benefit outcome
    (responders) that is NNTB, for a harm outcome (withdrawal, an adverse effect) NNTH;
    a negative value is the other one. A CI that crosses no difference is written with
    its bounded side and "to ∞".

    >>> nn_text(4.3, [3.1, 7.1], benefit_outcome=True)
    'NNTB 4.3 (3.1 to 7.1)'
    >>> nn_text(-40.0, [None, -14.6], benefit_outcome=False)
    'NNTB 40 (14.6 to ∞)'
    >>> nn_text(None, [None, None], benefit_outcome=True)
    'no difference'
    """
    if value is None:
        return "no difference"
    helps = (value > 0) == benefit_outcome
    label = "NNTB" if helps else "NNTH"
    lo, hi = ci
    if lo is not None and hi is not None:
        a, b = sorted((abs(lo), abs(hi)))
        return f"{label} {abs(value):g} ({a:g} to {b:g})"
    bound = lo if lo is not None else hi
    if bound is None:
        return f"{label} {abs(value):g} (CI unbounded)"
    return f"{label} {abs(value):g} ({abs(bound):g} to ∞)"


def _print_condition_basis(comparisons: dict[str, Any], console: Console) -> None:
    """One sentence per comparison whose efficacy is not the diabetic-neuropathy reference."""
    for v in comparisons.values():
        ebc = v.get("efficacy_by_condition") or {}
        basis = ebc.get("efficacy_basis", "reference")
        if basis == "reference":
            continue
        tail = {
            "no_effect": " The ≥50 % NNT above is the diabetic-neuropathy model: "
            "not supported here.",
            "effect_sized": f" ≥50 % NNT in this condition: {ebc.get('nnt_50_condition')}.",
        }.get(basis, "")
        console.print(f"[yellow]Efficacy by condition[/yellow]: {escape(ebc['note'] + tail)}")


def _comparison_cells(v: dict[str, Any]) -> tuple[str, str, str]:
    """≥50 %, ≥30 % relief and AE withdrawal of one comparison vs placebo."""
    if v.get("nnt_not_computable"):
        relief = ("not computable", "not computable")
    else:
        relief = (
            nn_text(v["nnt_50"], v["nnt_50_ci"], benefit_outcome=True)
            + (" (rests on unknown)" if v.get("nnt_caveat") else ""),
            nn_text(v["nnt_30"], v["nnt_30_ci"], benefit_outcome=True),
        )
    withdrawal = (
        "not computable"
        if v.get("nnh_withdrawal_not_computable")
        else nn_text(v["nnh_withdrawal"], v["nnh_withdrawal_ci"], benefit_outcome=False)
    )
    return (*relief, withdrawal)


def _print_comparisons(d: dict[str, Any], labels: dict[str, str], console: Console) -> None:
    if not d["comparisons"]:
        return
    cmp = Table(title="Versus placebo (95 % CI)")
    for col in ("arm", "≥50 % relief", "≥30 % relief", "AE withdrawal"):
        cmp.add_column(col, no_wrap=col == "arm")
    for key, v in d["comparisons"].items():
        name = key.removesuffix("_vs_placebo")
        cmp.add_row(labels.get(name, name), *_comparison_cells(v))
    console.print(cmp)
    _print_condition_basis(d["comparisons"], console)
    console.print(
        "[dim]NNTB/NNTH: patients to treat for one more to benefit / to be harmed than "
        "on placebo; '... to ∞': the CI includes no difference.[/dim]"
    )


def _print_arm_tables(d: dict[str, Any], labels: dict[str, str], console: Console) -> None:
    t = Table(title="Efficacy at the end of the trial")
    for c in ("arm", "baseline", "change", "≥30 %", "≥50 %", "worse", "AE withdr."):
        t.add_column(c, justify="left" if c == "arm" else "right", no_wrap=True)
    for name, a in d["arms"].items():
        t.add_row(
            labels[name],
            f"{a['mean_baseline']:.2f}",
            "–" if a["mean_change"] is None else f"{a['mean_change']:+.2f}",
            _pct(a["responders_30"]),
            _pct(a["responders_50"]),
            _pct(a["worse_at_end"]),
            _pct(a["withdrawal_ae"]),
        )
    console.print(t)
    ae = Table(title="Adverse effects (share of patients, placebo arm included)")
    ae.add_column("arm", no_wrap=True)
    for k in _MAIN_AES:
        ae.add_column(_AE_SHORT.get(k, k), justify="right", no_wrap=True)
    for name, a in d["arms"].items():
        ae.add_row(labels[name], *(_pct(a["adverse_events"].get(k)) for k in _MAIN_AES))
    console.print(ae)


def _print_arm_caveats(d: dict[str, Any], labels: dict[str, str], console: Console) -> None:
    for name, a in d["arms"].items():
        if a.get("efficacy_not_computable"):
            console.print(
                f"[bold yellow]{labels[name]}: efficacy NOT COMPUTABLE[/bold yellow] "
                f"({escape(a['efficacy_not_computable'])})"
            )
        elif a.get("relief_caveat"):
            console.print(
                f"[yellow]{labels[name]}: rests on unknown[/yellow]: {a['relief_caveat']}"
            )
        nc = a.get("adverse_events_not_computable") or {}
        if nc:
            console.print(
                f"[yellow]{labels[name]}: not computable (no driver with a known affinity or gain)"
                "[/yellow]: " + ", ".join(sorted(nc))
            )


def print_trial(result: TrialResult, console: Console) -> None:
    """Rich tables of a trial result, readable at 80 columns.

    Arms get a letter (A, B, ...) with a legend naming the arm and its regimen, so two
    arms of one drug stay distinguishable; efficacy and adverse effects are separate
    tables; comparisons say NNTB/NNTH instead of signed NNTs.
    """
    d = result.to_dict()
    des = d["design"]
    console.print(
        f"[bold]Virtual trial {escape(des['name'])}[/bold]: {des['condition']}, "
        f"{des['weeks']} weeks, {des['n_per_arm']:,} per arm, seed {des['seed']}, "
        f"ITT with {des['imputation']}"
    )
    for w in d.get("warnings", []):
        console.print(f"[bold red]WARNING: {escape(w)}[/bold red]")
    arms = {a.name: a for a in result.design.arms}
    labels = {name: _arm_label(i) for i, name in enumerate(d["arms"])}
    for name, lab in labels.items():
        console.print(f"  {lab} = {escape(name)}: {escape(_regimen_text(arms[name]))}")
    _print_arm_tables(d, labels, console)
    _print_comparisons(d, labels, console)
    _print_arm_caveats(d, labels, console)
    console.print(
        "[dim]Model: docs/model.md. Calibrated parameters are fits to published trials "
        "(calibration is not validation; docs/claims.md).[/dim]"
    )


#: short column names of the main adverse effects (80-column tables)
_AE_SHORT = {
    "dry_mouth": "dry mouth",
    "drowsiness": "drowsy",
    "dizziness": "dizzy",
    "constipation": "constip.",
    "nausea": "nausea",
}


def trial_csv(result: TrialResult) -> str:
    """Arm summaries as CSV: one row per arm (rates as fractions, changes in 0-10 points),
    with NNT/NNH against placebo where there is a placebo arm."""
    import csv
    import io

    d = result.to_dict()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    aes = sorted({k for a in d["arms"].values() for k in a["adverse_events"]})
    head = [
        "arm", "drug", "regimen", "n", "mean_baseline", "mean_change", "responders_30",
        "responders_50", "worse_at_end", "withdrawal_ae", "withdrawal_other",
        *(f"ae_{k}" for k in aes),
        "nnt_50", "nnt_50_ci_low", "nnt_50_ci_high", "nnh_withdrawal",
        "nnh_withdrawal_ci_low", "nnh_withdrawal_ci_high",
    ]  # fmt: skip
    w.writerow(head)
    arms = {a.name: a for a in result.design.arms}
    for name, a in d["arms"].items():
        c = d["comparisons"].get(f"{name}_vs_placebo", {})

        def num(x: Any) -> str:
            return "" if x is None else f"{x:.6g}"

        w.writerow(
            [
                name, arms[name].drug, _regimen_text(arms[name]), a["n"],
                num(a["mean_baseline"]), num(a["mean_change"]), num(a["responders_30"]),
                num(a["responders_50"]), num(a["worse_at_end"]), num(a["withdrawal_ae"]),
                num(a["withdrawal_other"]),
                *(num(a["adverse_events"].get(k)) for k in aes),
                num(c.get("nnt_50")), *(num(x) for x in c.get("nnt_50_ci", [None, None])),
                num(c.get("nnh_withdrawal")),
                *(num(x) for x in c.get("nnh_withdrawal_ci", [None, None])),
            ]
        )  # fmt: skip
    return buf.getvalue()


def subjects_csv(result: TrialResult) -> str:
    """Per-subject outcomes as CSV (needs ``run_trial(..., per_subject=True)``)."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cols: list[str] = []
    for acc in result.arms.values():
        cols = list(acc.subjects)
        break
    w.writerow(["arm", "subject", *cols])
    for name, acc in result.arms.items():
        n = len(next(iter(acc.subjects.values()))) if acc.subjects else 0
        arrays = [acc.subjects[c] for c in cols]
        for i in range(n):
            row = []
            for c, arr in zip(cols, arrays, strict=True):
                x = float(arr[i])
                if c.startswith(("responder", "withdrawal", "any_")):
                    row.append(str(int(x)))
                else:
                    row.append("" if x != x else f"{x:.6g}")
            w.writerow([name, i + 1, *row])
    return buf.getvalue()


def plot_trial(result: TrialResult, path: Path) -> Path:
    """Write a 3-panel figure (weekly pain, responders, AE prevalence) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = result.to_dict()
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.5))
    for name, a in d["arms"].items():
        w = a["weekly_mean_pain"]
        if w is None:  # relief not computable (unknown affinities)
            continue
        ax[0].plot(range(len(w)), w, marker="o", ms=3, label=name)
    ax[0].set_xlabel("week")
    ax[0].set_ylabel("mean pain (0-10), ITT " + d["design"]["imputation"])
    ax[0].set_title("Weekly mean pain")
    ax[0].legend(fontsize=8)
    names = list(d["arms"])
    x = range(len(names))
    r30 = [d["arms"][n]["responders_30"] or 0.0 for n in names]  # None: not computable
    r50 = [d["arms"][n]["responders_50"] or 0.0 for n in names]
    ax[1].bar([i - 0.2 for i in x], r30, 0.4, label="≥30 %")
    ax[1].bar([i + 0.2 for i in x], r50, 0.4, label="≥50 %")
    ax[1].set_xticks(list(x), names, rotation=20, fontsize=8)
    ax[1].set_ylabel("fraction of patients")
    ax[1].set_title("Responders (IMMPACT)")
    ax[1].legend(fontsize=8)
    for name, a in d["arms"].items():
        prev = [v for v in a["weekly_ae_prevalence"].values() if v is not None]
        if not prev:
            continue
        tot = [sum(v[i] for v in prev) for i in range(len(prev[0]))]
        ax[2].plot(range(len(tot)), tot, marker="o", ms=3, label=name)
    ax[2].set_xlabel("week")
    ax[2].set_ylabel("drug-induced adverse effects present (mean per patient)")
    ax[2].set_title("Adverse-effect burden over time")
    ax[2].legend(fontsize=8)
    fig.suptitle(f"neurodose virtual trial: {d['design']['name']} ({d['design']['condition']})")
    path = Path(path)
    save_figure(fig, path)
    return path


def demo_section(console: Console) -> None:
    """Run the demo trial (examples/trials/demo.toml), print its summary, write its figure."""
    console.print(
        "[bold]Virtual trial: amitriptyline vs duloxetine vs pregabalin vs placebo[/bold]"
    )
    if not DEMO_DESIGN.exists():
        console.print(f"[red]demo design not found at {DEMO_DESIGN}[/red]")
        return
    design = trial_design(DEMO_DESIGN)
    result = trial(TrialRequest(design, chunk_size=20_000, progress=console.is_terminal)).result
    print_trial(result, console)
    out = Path(os.environ.get("NEURODOSE_OUTPUT_DIR", ".")) / "neurodose_demo_trial.png"
    plot_trial(result, output_path(out, "NEURODOSE_OUTPUT_DIR"))
    console.print(f"figure: {out}")
    print_sources(console, result.sources, title="Sources (virtual trial)", compact=True)


def register(app: typer.Typer) -> None:
    """Add the ``trial`` command to ``app``."""

    @app.command("trial")
    def trial_command(
        design: Annotated[Path, typer.Argument(help="trial design TOML (examples/trials/)")],
        as_json: Annotated[bool, typer.Option("--json", help="print the JSON result")] = False,
        plot: opt.PngFigure = None,
        csv: Annotated[Path | None, typer.Option(help="write the arm summaries as CSV")] = None,
        per_subject: Annotated[
            Path | None,
            typer.Option("--per-subject", help="write each patient's outcomes as CSV"),
        ] = None,
        scheduler: Annotated[
            str | None, typer.Option(help="Dask scheduler address, e.g. tcp://host:8786")
        ] = None,
        chunk_size: Annotated[int, typer.Option(help="patients per chunk")] = 20_000,
        mkdir: opt.Mkdir = False,
    ) -> None:
        """Run a virtual trial from a TOML design (ITT, BOCF; NNT/NNH vs placebo)."""
        plot = opt.out_path(plot, "--plot", (".png",), mkdir)
        csv = opt.out_path(csv, "--csv", (".csv",), mkdir)
        per_subject = opt.out_path(per_subject, "--per-subject", (".csv",), mkdir)
        des = trial_design(design)
        console = make_console(stderr=as_json)
        req = TrialRequest(
            des,
            chunk_size=chunk_size,
            scheduler=scheduler,
            progress=make_console(stderr=True).is_terminal,
            per_subject=per_subject is not None,
        )
        result = trial(req).result
        if csv is not None:
            with writing(csv, "--csv"):
                csv.write_text(trial_csv(result), encoding="utf-8")
        if per_subject is not None:
            with writing(per_subject, "--per-subject"):
                per_subject.write_text(subjects_csv(result), encoding="utf-8")
        if as_json:
            print_json(result.to_dict())
        else:
            print_trial(result, console)
            print_sources(console, result.sources)
        if plot is not None:
            plot_trial(result, plot)
            if not as_json:
                console.print(f"figure: {plot}")
