"""``neurodose explain``: why a drug relieves pain and what drives its side effects.

For one patient and regimen (same options as ``neurodose simulate``) it shows,
over time, the occupancy of every target the drug reaches (free concentration
and knowledge-base affinity, parent + active metabolite), each pathway's share
of the modelled relief (descending serotonergic/noradrenergic, sodium channel,
NMDA, alpha2delta), and the intensity of each adverse-effect driver. Targets
with no affinity in the knowledge base are listed as unavailable, never
invented, and never taken as zero: a pathway or side effect that rests on an
unknown affinity says so (``rests_on_unknown`` in the JSON; docs/model.md §2.3), and
relief with no known pathway is reported as not computable.

The calculation is :func:`neurodose.simulation.explain` (the PK -> PD pipeline,
:func:`neurodose.simulation.simulate` with ``pd``); this module only prints it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from neurodose.cli import options as opt
from neurodose.errors import InputError
from neurodose.inputs import save_figure

__all__ = ["register"]


def _plot(data: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(15, 4.5))
    for t, v in data["occupancy"].items():
        ax[0].plot(np.array(v["time_h"]) / 24.0, v["fraction"], label=t)
    ax[0].set_xlabel("day")
    ax[0].set_ylabel("occupancy (fraction)")
    ax[0].set_title(f"{data['drug']}: target occupancy")
    ax[0].legend(fontsize=8)
    for k, v in data["pathways"].items():
        if v["share_of_relief"] is not None and max(v["share_of_relief"]) > 0.005:
            ax[1].plot(v["day"], v["share_of_relief"], label=k)
    ax[1].set_xlabel("day")
    ax[1].set_ylabel("share of modelled relief")
    ax[1].set_title("Pathway contributions")
    ax[1].legend(fontsize=8)
    r = data["relief"]
    if r["not_computable"]:
        ax[2].text(0.5, 0.5, "relief not computable:\naffinities unknown", ha="center")
    else:
        ax[2].plot(r["day"], r["pain_without_placebo"], label="pain (no placebo)")
        ax[2].plot(r["day"], r["sleep_interference"], label="sleep interference")
    ax[2].set_ylim(0, 10)
    ax[2].set_xlabel("day")
    ax[2].set_title("Typical patient")
    ax[2].legend(fontsize=8)
    save_figure(fig, path)


_DAYS = Annotated[float | None, typer.Option(help="days of dosing (default 42 without --doses)")]


def register(app: typer.Typer) -> None:
    """Add the ``explain`` command to ``app``."""

    @app.command("explain")
    @opt.regimen_options(opt.NDoses, _DAYS, opt.RegimenFile)
    @opt.patient_options()
    def explain(
        drug: opt.Drug,
        rg: opt.RegimenArgs = opt.NO_REGIMEN_OPTIONS,
        hours: Annotated[
            float | None,
            typer.Option(help="horizon in hours (default: the dosing days, at least 1 week)"),
        ] = None,
        pt: opt.PatientArgs = opt.NO_PATIENT_OPTIONS,
        population: opt.Population = None,
        seed: opt.Seed = None,
        as_json: opt.AsJson = False,
        plot: opt.PngFigure = None,
        mkdir: opt.Mkdir = False,
        allow_above_max: opt.AllowAboveMax = False,
        formulation: opt.Formulation = None,
    ) -> None:
        """Occupancy of each target, each pathway's share of relief, side-effect drivers.

        Takes every option ``simulate`` takes (a single dose with ``--doses 1``, a
        titration with ``--regimen FILE``, the horizon with ``--hours``, occupancy
        bands with ``--population N --seed S``).
        """
        import math

        from neurodose.cli.common import escape, make_console, percent, print_json

        plot = opt.out_path(plot, "--plot", (".png",), mkdir)
        from neurodose.limits import MAX_DAYS, MAX_HOURS, days_allowed

        days, doses, regimen = rg.days, rg.doses, rg.regimen

        if days is not None:
            days_allowed(days, "--days")
        if hours is not None and (not hours >= 24 or hours > MAX_HOURS):
            raise InputError(
                "--hours",
                hours,
                f"at least 24 hours (the pain model is daily) and at most {MAX_HOURS:,.0f} "
                f"hours ({MAX_DAYS:,} days)",
            )
        computed: dict[str, str] = {}
        if days is None and doses is None and regimen is None:
            days = 42.0
            computed["days"] = "42 (no --days, --doses or --regimen given)"
        reg = rg._replace(days=days).parse()
        if hours is not None:
            horizon = math.ceil(hours / 24.0)
        elif days is not None and doses is None and regimen is None:
            horizon = max(1, round(days))
        else:
            horizon = max(7, math.ceil(reg.last_dose_time / 24.0 + 1e-9) + 7)
            computed["hours"] = f"{horizon * 24} (last dose + 1 week, at least 1 week)"
        patient = pt.patient()
        comeds = pt.comedications(patient, drug)
        from neurodose.workflows import ExplainRequest
        from neurodose.workflows import explain as run

        req = ExplainRequest(
            drug,
            reg,
            horizon,
            patient,
            tuple(comeds),
            population,
            seed,
            allow_above_max,
            formulation=formulation,
        )
        with opt.as_flags(opt.WORKFLOW_FLAGS):
            out = run(req)
        warnings = list(out.warnings)
        data = out.to_json()
        data["defaults_applied"] = opt.applied_defaults(**computed)
        if plot is not None:
            _plot(data, plot)
        if as_json:
            print_json(data)
            return
        from rich.table import Table

        console = make_console()
        for w in warnings:
            console.print(f"[bold red]WARNING: {w}[/bold red]")
        t = Table(title=f"{data['drug']}: occupancy (steady part of the horizon)")
        for c in ("target", "mean occupancy, last day", "peak", "affinity (nM)", "marks"):
            t.add_column(c)
        for target, v in data["occupancy"].items():
            f = np.array(v["fraction"])
            aff = data["affinities"].get(target, [])
            t.add_row(
                target,
                percent(f[-24:].mean()),
                percent(f.max()),
                ", ".join(f"{a['analyte']} {a['K_nM']:g}" for a in aff) or "calibrated",
                " ".join(
                    m
                    for m, hit in (
                        ("UNVERIFIED", any(not a["verified"] for a in aff)),
                        ("LOW TRUST (vendor summary)", any(a.get("low_trust") for a in aff)),
                    )
                    if hit
                ),
            )
        console.print(t)
        for target, why in data["unavailable_targets"].items():
            console.print(f"[yellow]unavailable[/yellow] {target}: {why}")
        p = Table(title="Share of modelled relief by pathway (last day)")
        p.add_column("pathway")
        p.add_column("share")
        for k, v in data["pathways"].items():
            share = v["share_of_relief"]
            if share is None:
                p.add_row(k, "UNKNOWN (affinity not in the knowledge base; not zero)")
            else:
                mark = " (lower bound: partly unknown)" if v["status"] == "partial" else ""
                p.add_row(k, percent(share[-1]) + mark)
        console.print(p)
        rel = data["relief"]["drug_attributable_fraction"]
        if rel is None:
            console.print(
                f"[bold yellow]drug-attributable relief: NOT COMPUTABLE[/bold yellow] "
                f"({data['relief']['not_computable']})"
            )
        else:
            d7 = rel[min(7, len(rel) - 1)]
            console.print(
                f"drug-attributable relief, typical patient: day 7 {percent(d7, 0)}, "
                f"last day {percent(rel[-1], 0)}"
            )
            if data["relief"]["caveat"]:
                console.print(f"[yellow]rests on unknown:[/yellow] {data['relief']['caveat']}")
        s = Table(title="Side-effect drivers (peak intensity; 1 = median threshold)")
        s.add_column("effect")
        s.add_column("targets")
        s.add_column("peak")
        s.add_column("age ×")
        for k, v in data["side_effect_drivers"].items():
            if v["peak_intensity"] is None:
                why = v.get("not_computable") or "no driver with a known affinity or gain"
                s.add_row(k, f"UNKNOWN ({why})", "not computable", "")
                continue
            lt = v.get("low_trust_targets") or []
            unk = v.get("rests_on_unknown") or []
            s.add_row(
                k,
                ", ".join(t + (" (LOW TRUST)" if t in lt else "") for t in v["targets"])
                + ("; unknown: " + ", ".join(unk) if unk else ""),
                f"{v['peak_intensity']:.2f}" + (" (lower bound)" if unk else ""),
                f"{v.get('age_susceptibility', 1.0):.2f}",
            )
        console.print(s)
        for u in data["rests_on_unknown"]:
            console.print(
                f"[yellow]rests on unknown[/yellow] {u['target']} "
                f"({', '.join(u['analytes'])}; {u['status']}): {', '.join(u['affects'])}"
            )
        ebc = data.get("efficacy_by_condition") or {}
        extrap = sorted(
            c.replace("_", " ") for c, v in ebc.items() if v["efficacy_basis"] == "extrapolated"
        )
        if extrap:
            console.print(
                "[yellow]efficacy by condition:[/yellow] relief is calibrated in diabetic "
                "neuropathy; in "
                + ", ".join(extrap)
                + " it is extrapolated (no drug-specific trials)"
            )
        for v in ebc.values():
            if v["efficacy_basis"] in ("no_effect", "effect_sized"):
                console.print(f"[yellow]efficacy by condition:[/yellow] {escape(v['note'])}")
        for d in data["defaults_applied"]:
            console.print(f"assumed: {d}")
        for w in warnings:
            console.print(f"[bold red]WARNING: {w}[/bold red]")
        console.print("sources: " + ", ".join(data["sources"]))
