"""``neurodose simulate``: concentrations over time for one patient or a population."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from neurodose.cli import options as opt
from neurodose.errors import InputError
from neurodose.inputs import writing

__all__ = ["register"]


def _plot(result: Any, path: Path) -> None:
    import numpy as np

    suffix = path.suffix.lower()
    t_days = result.times_h / 24.0
    if suffix == ".html":
        import plotly.graph_objects as go

        fig = go.Figure()
        if result.tdm_range is not None:
            fig.add_hrect(
                y0=result.tdm_range[0],
                y1=result.tdm_range[1],
                opacity=0.15,
                fillcolor="green",
                annotation_text="TDM reference range (sum)",
            )
        for a, c in result.concentrations.items():
            band = result.population.get(a)
            if band:
                fig.add_trace(
                    go.Scatter(
                        x=np.r_[t_days, t_days[::-1]],
                        y=np.r_[band["p95"], band["p05"][::-1]],
                        fill="toself",
                        opacity=0.3,
                        name=f"{a} 5-95 %",
                        line={"width": 0},
                    )
                )
            fig.add_trace(go.Scatter(x=t_days, y=c, name=a))
        fig.update_layout(
            xaxis_title="time (days)", yaxis_title="concentration (ng/mL)", title=f"{result.drug}"
        )
        with writing(path, "--plot"):
            fig.write_html(str(path), include_plotlyjs=True)
    elif suffix == ".png":
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(8, 4.5))
        if result.tdm_range is not None:
            ax.axhspan(
                *result.tdm_range,
                color="green",
                alpha=0.12,
                label="TDM reference range (" + "+".join(result.tdm_analytes) + ")",
            )
        for a, c in result.concentrations.items():
            band = result.population.get(a)
            if band:
                ax.fill_between(t_days, band["p05"], band["p95"], alpha=0.25, label=f"{a} 5-95 %")
            ax.plot(t_days, c, label=a)
        ax.set_xlabel("time (days)")
        ax.set_ylabel("concentration (ng/mL)")
        ax.set_title(result.drug)
        ax.legend(fontsize=8)
        fig.tight_layout()
        try:
            with writing(path, "--plot"):
                fig.savefig(path, dpi=110)
        finally:
            plt.close(fig)
    else:
        raise InputError("--plot", str(path), "a file ending in .png or .html")


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` command to ``app``."""

    @app.command()
    def simulate(
        drug: opt.Drug,
        dose: opt.Dose = None,
        every: opt.Every = "24 h",
        doses: Annotated[int | None, typer.Option(help="number of doses")] = None,
        days: Annotated[float | None, typer.Option(help="days of dosing")] = None,
        regimen: Annotated[
            Path | None, typer.Option("--regimen", help="TOML/JSON regimen (titration steps)")
        ] = None,
        hours: Annotated[
            float | None, typer.Option(help="simulate to H hours (default last dose + 5 t1/2)")
        ] = None,
        age: opt.Age = None,
        sex: opt.Sex = None,
        weight: opt.Weight = None,
        smoker: opt.Smoker = False,
        crcl: opt.Crcl = None,
        cyp2d6: opt.Cyp2d6 = None,
        cyp2c19: opt.Cyp2c19 = None,
        with_: opt.With = None,
        population: Annotated[int | None, typer.Option(help="virtual subjects for bands")] = None,
        seed: Annotated[int | None, typer.Option(help="random seed")] = None,
        as_json: opt.AsJson = False,
        plot: Annotated[
            Path | None,
            typer.Option(help="write a .png or .html plot (HTML works offline: plotly.js inside)"),
        ] = None,
        mkdir: opt.Mkdir = False,
    ) -> None:
        """Simulate concentrations (total and unbound) with sources."""
        import numpy as np

        from neurodose.simulation import simulate as run

        plot = opt.out_path(plot, "--plot", (".png", ".html"), mkdir)
        reg = opt.regimen_from_options(dose, every, doses, days, regimen)
        patient = opt.patient_from_options(age, sex, weight, smoker, crcl, cyp2d6, cyp2c19)
        comeds = opt.comedications_from_options(with_)
        times = None
        if hours is not None:
            if not hours > 0:
                raise InputError("--hours", hours, "a positive number of hours")
            times = np.arange(0.0, hours + 1e-9, 1.0)
        res = run(drug, reg, patient, comeds, times_h=times, population=population, seed=seed)
        if plot is not None:
            _plot(res, plot)
        if as_json:
            typer.echo(res.to_json_text())
            return
        from rich.console import Console
        from rich.table import Table

        console = Console()
        tab = Table(title=f"{res.drug}: {reg!r}")
        for col in ("analyte", "Cmax ng/mL", "Tmax h", "AUC ng*h/mL", "t1/2 h", "Cmin,ss ng/mL"):
            tab.add_column(col)
        for a, s in res.summary.items():
            cmin = s["cmin_ss_ng_per_ml"]
            tab.add_row(
                a,
                f"{s['cmax_ng_per_ml']:.3g}",
                f"{s['tmax_h']:.3g}",
                f"{s['auc_ng_h_per_ml']:.4g}",
                f"{s['half_life_h']:.3g}",
                "-" if cmin is None else f"{cmin:.3g}",
            )
        console.print(tab)
        if res.tdm_range is not None:
            console.print(
                f"TDM reference range ({'+'.join(res.tdm_analytes)}): "
                f"{res.tdm_range[0]:g}-{res.tdm_range[1]:g} ng/mL"
            )
        for n in res.notes:
            console.print(f"note: {n}")
        console.print("sources: " + ", ".join(res.sources))
