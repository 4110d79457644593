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
from neurodose.cli.common import make_console, print_json, print_sources
from neurodose.inputs import output_path, writing
from neurodose.trial.design import load_design
from neurodose.trial.run import TrialResult, run_trial

__all__ = ["DEMO_DESIGN", "demo_section", "plot_trial", "print_trial", "register"]

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


def print_trial(result: TrialResult, console: Console) -> None:
    """Rich tables of a trial result."""
    d = result.to_dict()
    des = d["design"]
    console.print(
        f"[bold]Virtual trial {des['name']}[/bold]: {des['condition']}, {des['weeks']} weeks, "
        f"{des['n_per_arm']:,} per arm, seed {des['seed']}, ITT with {des['imputation']}"
    )
    t = Table(title="Arms (end of trial)")
    for c in (
        "arm",
        "baseline",
        "mean change",
        "≥30 %",
        "≥50 %",
        "worse",
        "AE withdrawal",
        *(a.replace("_", " ") for a in _MAIN_AES),
    ):
        t.add_column(c, justify="right" if c != "arm" else "left")
    for name, a in d["arms"].items():
        t.add_row(
            name,
            f"{a['mean_baseline']:.2f}",
            f"{a['mean_change']:+.2f}",
            _pct(a["responders_30"]),
            _pct(a["responders_50"]),
            _pct(a["worse_at_end"]),
            _pct(a["withdrawal_ae"]),
            *(_pct(a["adverse_events"].get(k)) for k in _MAIN_AES),
        )
    console.print(t)
    if d["comparisons"]:
        cmp = Table(title="Versus placebo (95 % CI; ∞ = unbounded)")
        for col in ("comparison", "NNT ≥50 %", "NNT ≥30 %", "NNH (AE withdrawal)"):
            cmp.add_column(col)
        for name, v in d["comparisons"].items():
            cmp.add_row(
                name,
                _ci(v["nnt_50"], v["nnt_50_ci"]),
                _ci(v["nnt_30"], v["nnt_30_ci"]),
                _ci(v["nnh_withdrawal"], v["nnh_withdrawal_ci"]),
            )
        console.print(cmp)
    console.print(
        "[dim]Model: docs/model.md. Calibrated parameters are fits to published trials "
        "(calibration is not validation; docs/claims.md).[/dim]"
    )


def plot_trial(result: TrialResult, path: Path) -> Path:
    """Write a 3-panel figure (weekly pain, responders, AE prevalence) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = result.to_dict()
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.5))
    for name, a in d["arms"].items():
        w = a["weekly_mean_pain"]
        ax[0].plot(range(len(w)), w, marker="o", ms=3, label=name)
    ax[0].set_xlabel("week")
    ax[0].set_ylabel("mean pain (0-10), ITT " + d["design"]["imputation"])
    ax[0].set_title("Weekly mean pain")
    ax[0].legend(fontsize=8)
    names = list(d["arms"])
    x = range(len(names))
    r30 = [d["arms"][n]["responders_30"] for n in names]
    r50 = [d["arms"][n]["responders_50"] for n in names]
    ax[1].bar([i - 0.2 for i in x], r30, 0.4, label="≥30 %")
    ax[1].bar([i + 0.2 for i in x], r50, 0.4, label="≥50 %")
    ax[1].set_xticks(list(x), names, rotation=20, fontsize=8)
    ax[1].set_ylabel("fraction of patients")
    ax[1].set_title("Responders (IMMPACT)")
    ax[1].legend(fontsize=8)
    for name, a in d["arms"].items():
        prev = a["weekly_ae_prevalence"]
        tot = [sum(v[i] for v in prev.values()) for i in range(len(a["weekly_mean_pain"]))]
        ax[2].plot(range(len(tot)), tot, marker="o", ms=3, label=name)
    ax[2].set_xlabel("week")
    ax[2].set_ylabel("drug-induced adverse effects present (mean per patient)")
    ax[2].set_title("Adverse-effect burden over time")
    ax[2].legend(fontsize=8)
    fig.suptitle(f"neurodose virtual trial: {d['design']['name']} ({d['design']['condition']})")
    fig.tight_layout()
    path = Path(path)
    try:
        with writing(path, "--plot"):
            fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path


def demo_section(console: Console) -> None:
    """Run the demo trial (examples/trials/demo.toml), print its summary, write its figure."""
    console.print(
        "[bold]Virtual trial: amitriptyline vs duloxetine vs pregabalin vs placebo[/bold]"
    )
    if not DEMO_DESIGN.exists():
        console.print(f"[red]demo design not found at {DEMO_DESIGN}[/red]")
        return
    design = load_design(DEMO_DESIGN)
    result = run_trial(design, progress=console.is_terminal)
    print_trial(result, console)
    out = Path(os.environ.get("NEURODOSE_OUTPUT_DIR", ".")) / "neurodose_demo_trial.png"
    plot_trial(result, output_path(out, "NEURODOSE_OUTPUT_DIR"))
    console.print(f"figure: {out}")
    print_sources(console, result.sources, title="Sources (virtual trial)", compact=True)


def register(app: typer.Typer) -> None:
    """Add the ``trial`` command to ``app``."""

    @app.command("trial")
    def trial(
        design: Annotated[Path, typer.Argument(help="trial design TOML (examples/trials/)")],
        as_json: Annotated[bool, typer.Option("--json", help="print the JSON result")] = False,
        plot: opt.PngFigure = None,
        scheduler: Annotated[
            str | None, typer.Option(help="Dask scheduler address, e.g. tcp://host:8786")
        ] = None,
        chunk_size: Annotated[int, typer.Option(help="patients per chunk")] = 20_000,
        mkdir: opt.Mkdir = False,
    ) -> None:
        """Run a virtual trial from a TOML design (ITT, BOCF; NNT/NNH vs placebo)."""
        plot = opt.out_path(plot, "--plot", (".png",), mkdir)
        des = load_design(design)
        console = make_console(stderr=as_json)
        result = run_trial(
            des, chunk_size=chunk_size, scheduler=scheduler, progress=console.is_terminal
        )
        if as_json:
            print_json(result.to_dict())
        else:
            print_trial(result, console)
            print_sources(console, result.sources)
        if plot is not None:
            plot_trial(result, plot)
            if not as_json:
                console.print(f"figure: {plot}")
