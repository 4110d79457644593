"""``neurodose simulate``: concentrations over time for one patient or a population."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from neurodose.cli import options as opt
from neurodose.cli.common import busy, escape, progress_bar
from neurodose.errors import InputError
from neurodose.inputs import count, finite_number, save_figure, writing
from neurodose.limits import MAX_HOURS, MAX_POPULATION

__all__ = ["MAX_HOURS", "MAX_POPULATION", "register", "simulation_csv"]


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
        save_figure(fig, path)
    else:
        raise InputError("--plot", str(path), "a file ending in .png or .html")


_DAYS = Annotated[float | None, typer.Option(help="days of dosing")]


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` command to ``app``."""

    @app.command()
    @opt.regimen_options(opt.NDoses, _DAYS, opt.RegimenFile)
    @opt.patient_options()
    def simulate(
        drug: opt.Drug,
        rg: opt.RegimenArgs = opt.NO_REGIMEN_OPTIONS,
        hours: opt.Hours = None,
        pt: opt.PatientArgs = opt.NO_PATIENT_OPTIONS,
        population: Annotated[int | None, typer.Option(help="virtual subjects for bands")] = None,
        seed: Annotated[int | None, typer.Option(help="random seed (>= 0)", min=0)] = None,
        as_json: opt.AsJson = False,
        plot: Annotated[
            Path | None,
            typer.Option(help="write a .png or .html plot (HTML works offline: plotly.js inside)"),
        ] = None,
        mkdir: opt.Mkdir = False,
        allow_above_max: opt.AllowAboveMax = False,
        csv: Annotated[
            Path | None, typer.Option(help="write the concentration-time table as CSV")
        ] = None,
        pd: Annotated[
            bool,
            typer.Option(
                "--pd",
                help="go on to occupancy, relief and side-effect drivers (daily grid over "
                "--hours, default 42 days); says what rests on unknown affinities",
            ),
        ] = False,
        formulation: opt.Formulation = None,
    ) -> None:
        """Simulate concentrations (total and unbound) with sources."""
        import json

        import numpy as np

        from neurodose.workflows import SimulateRequest
        from neurodose.workflows import simulate as run

        plot = opt.out_path(plot, "--plot", (".png", ".html"), mkdir)
        csv = opt.out_path(csv, "--csv", (".csv",), mkdir)
        reg = rg.parse()
        regimen, doses, days = rg.regimen, rg.doses, rg.days
        patient = pt.patient()
        comeds = pt.comedications(patient, drug)
        computed: dict[str, str] = {}
        if regimen is None and doses is None and days is None:
            computed["doses"] = "1 (neither --doses nor --days given: a single dose)"
        if hours is not None:
            hours = finite_number(
                hours, "--hours", low=0, low_inclusive=False, high=MAX_HOURS, unit="h"
            )
        else:
            computed["hours"] = "last dose + 5 terminal half-lives (no --hours given)"
        if population is not None:
            count(population, "--population", low=1, high=MAX_POPULATION)
        if not pt.covariates_given():
            computed["patient"] = "typical adult of the population model (no covariates given)"
        if not patient.genotypes:
            computed["genotypes"] = "unknown: population-typical (no --cyp2d6/--cyp2c19 given)"
        what = f"simulating {drug}" + (
            f" for {population:,} virtual subjects" if population else ""
        )
        bar = progress_bar(what, population, "subjects") if population else busy(what)
        with opt.as_flags(opt.WORKFLOW_FLAGS), bar as update:
            req = SimulateRequest(
                drug,
                reg,
                patient,
                tuple(comeds),
                hours,
                population,
                seed,
                allow_above_max,
                pd,
                formulation=formulation,
            )
            out = run(req if update is None else replace(req, progress=update))
        res, warnings, notes = out.result, list(out.warnings), list(out.notes)
        defaults = opt.applied_defaults(**computed)
        if plot is not None:
            _plot(res, plot)
        if csv is not None:
            with writing(csv, "--csv"):
                csv.write_text(simulation_csv(res), encoding="utf-8")
        if as_json:
            data = out.to_json()
            data["defaults_applied"] = defaults
            if population is not None:
                data["population"] = {"n": population, "seed": seed, "percentiles": [5, 50, 95]}
            typer.echo(json.dumps(data, allow_nan=False))
            return
        from rich.table import Table

        from neurodose.cli.common import make_console

        console = make_console()
        for w in warnings:
            console.print(f"[bold red]WARNING: {escape(w)}[/bold red]")
        tab = Table(title=f"{res.drug}: {reg!r}")
        cols = ("analyte", "Cmax ng/mL", "Tmax h after dose", "at h", "AUC ng*h/mL", "t1/2 h")
        for col in (*cols, "Cmin,ss ng/mL"):
            tab.add_column(col)
        for a, s in res.summary.items():
            cmin = s["cmin_ss_ng_per_ml"]
            after = s.get("tmax_after_dose_h")
            tab.add_row(
                a,
                f"{s['cmax_ng_per_ml']:.3g}",
                "-" if after is None else f"{after:.3g}",
                f"{s['tmax_h']:g}",
                f"{s['auc_ng_h_per_ml']:.4g}",
                f"{s['half_life_h']:.3g}",
                "-" if cmin is None else f"{cmin:.3g}",
            )
        console.print(tab)
        if res.population:
            bands = Table(
                title=f"Population: {population:,} virtual subjects (seed {seed}); "
                "percentiles of concentration, ng/mL"
            )
            for col in ("analyte", "at", "p05", "p50", "p95"):
                bands.add_column(col)
            for a, band in res.population.items():
                c = np.asarray(res.concentrations[a])
                i_max = int(np.argmax(c))
                for label, i in (
                    (f"Cmax time ({res.times_h[i_max]:g} h)", i_max),
                    (f"end ({res.times_h[-1]:g} h)", len(c) - 1),
                ):
                    bands.add_row(
                        a,
                        label,
                        *(f"{float(np.asarray(band[k])[i]):.3g}" for k in ("p05", "p50", "p95")),
                    )
            console.print(bands)
        if res.tdm_range is not None:
            console.print(
                f"TDM reference range ({'+'.join(res.tdm_analytes)}): "
                f"{res.tdm_range[0]:g}-{res.tdm_range[1]:g} ng/mL"
            )
        if res.pd is not None:
            pdj = res.pd.to_json()
            rel = pdj["relief"]
            if rel["not_computable"]:
                console.print(
                    "[bold yellow]drug-attributable relief: NOT COMPUTABLE[/bold yellow] "
                    f"({escape(rel['not_computable'])})"
                )
            else:
                last = rel["drug_attributable_fraction"][-1]
                console.print(
                    f"drug-attributable relief, typical patient, day {pdj['days']}: "
                    f"{100 * last:.0f} %"
                )
                if rel["caveat"]:
                    console.print(f"[yellow]rests on unknown:[/yellow] {escape(rel['caveat'])}")
            for k, why in pdj["adverse_not_computable"].items():
                console.print(f"[yellow]not computable[/yellow] {k}: {escape(why)}")
            for u in pdj["rests_on_unknown"]:
                console.print(
                    f"[yellow]rests on unknown[/yellow] {u['target']} "
                    f"({', '.join(u['analytes'])}; {u['status']}): {', '.join(u['affects'])}"
                )
        for d in defaults:
            console.print(f"assumed: {escape(d)}")
        for n in notes:
            console.print(f"note: {escape(n)}")
        for w in warnings:
            console.print(f"[bold red]WARNING: {escape(w)}[/bold red]")
        console.print("sources: " + ", ".join(res.sources))
        if plot is not None:
            console.print(f"plot: {plot}")
        if csv is not None:
            console.print(f"csv: {csv}")


# the caps of --hours and --population: neurodose.limits (the same at every door)


def simulation_csv(res: Any) -> str:
    """The concentration-time table as CSV: one row per time, total and unbound per analyte,
    population percentiles when simulated (``analyte_p05`` ...)."""
    import csv as _csv
    import io

    import numpy as np

    buf = io.StringIO()
    w = _csv.writer(buf, lineterminator="\n")
    header = ["time_h"]
    cols = []
    for a, c in res.concentrations.items():
        header += [f"{a}_ng_per_ml", f"{a}_unbound_ng_per_ml"]
        cols += [np.asarray(c), np.asarray(res.unbound[a])]
        for k, v in res.population.get(a, {}).items():
            header.append(f"{a}_{k}_ng_per_ml")
            cols.append(np.asarray(v))
    w.writerow(header)
    for i, t in enumerate(np.asarray(res.times_h)):
        w.writerow([f"{t:g}", *(f"{float(c[i]):.6g}" for c in cols)])
    return buf.getvalue()
