"""``neurodose tdm`` and ``neurodose response``: model-informed precision dosing.

Thin: parse options and files, call :mod:`neurodose.mipd`, print or write JSON
and plots. Formats and the JSON contract are in ``docs/mipd.md``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from neurodose.cli import options as opt
from neurodose.errors import InputError, UnitError
from neurodose.inputs import save_figure, writing

__all__ = ["register", "tdm_csv"]

_UNCERTAINTY = ("laplace", "sir")

_BRIEF_CYP2D6 = Annotated[str | None, typer.Option(help="diplotype or phenotype")]


@dataclass(frozen=True)
class _Report:
    """How ``tdm`` and ``response`` report: ``--json``, ``--plot`` (a checked .png
    path), ``--mkdir``, and whether a dose above the maximum is accepted."""

    as_json: bool = False
    plot: Path | None = None
    mkdir: bool = False
    allow_above_max: bool = False


def _report(
    as_json: bool = False,
    plot: Path | None = None,
    mkdir: bool = False,
    allow_above_max: bool = False,
) -> _Report:
    plot = opt.out_path(plot, "--plot", (".png",), mkdir)
    return _Report(as_json, plot, mkdir, allow_above_max)


_NO_REPORT = _Report()

#: ``--json``, ``--plot``, ``--mkdir``, ``--allow-above-max``
_report_options = opt.option_group(
    "rp",
    (
        ("as_json", opt.AsJson),
        ("plot", opt.PngPlot),
        ("mkdir", opt.Mkdir),
        ("allow_above_max", opt.AllowAboveMax),
    ),
    _report,
    vars(_NO_REPORT),
)


def _floats(text: str | None, field: str) -> list[float] | None:
    if text is None:
        return None
    try:
        vals = [float(x) for x in text.replace(";", ",").split(",") if x.strip()]
    except ValueError:
        raise InputError(field, text, "comma-separated numbers, e.g. 10,25,50") from None
    if not vals or any(v <= 0 for v in vals):
        raise InputError(field, text, "positive numbers, e.g. 10,25,50")
    return vals


def _first_dose(text: str | None) -> Any:
    if text is None:
        return None
    from neurodose.mipd.levels import parse_datetime

    return parse_datetime(text, "--first-dose")


def _read_levels(path: Path | None, analytes: Any, first_dose: str | None) -> Any:
    """The levels CSV for ``analytes`` (None without ``--levels``)."""
    if path is None:
        return None
    from neurodose.mipd.engine import molar_masses
    from neurodose.mipd.levels import read_levels_csv

    return read_levels_csv(
        path, analytes, first_dose=_first_dose(first_dose), molar_mass=molar_masses(analytes)
    )


def _plot_tdm(report: Any, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fc = report.forecast.series
    fit = report.fit
    fig, ax = plt.subplots(figsize=(8, 4.5))
    rec = report.recommendation
    if rec is not None:
        ax.axhspan(
            *rec.target,
            color="green",
            alpha=0.1,
            label="target (" + "+".join(fit.model.moiety) + ")",
        )
    for name, s in fc.items():
        t = s["time_h"] / 24.0
        ax.fill_between(t, s["lower"], s["upper"], alpha=0.2)
        ax.plot(t, s["map"], label=f"{name} (MAP)")
    obs = fit.obs
    for a in dict.fromkeys(obs.analyte):
        sel = np.array([x == a for x in obs.analyte], dtype=bool)
        if sel.any():
            ax.scatter(obs.times_h[sel] / 24.0, obs.value[sel], zorder=5, label=f"{a} measured")
    ax.set_xlabel("time since first dose (days)")
    ax.set_ylabel("concentration (ng/mL)")
    ax.set_title(f"{report.drug}: individual fit, {int(report.forecast.level * 100)} % interval")
    ax.legend(fontsize=8)
    save_figure(fig, path)


#: library field -> flag, for errors (the library names fields, the CLI names flags)
_TDM_FLAGS = {
    "target": "--target",
    "strengths": "--strengths",
    "max_daily_mg": "--max-daily",
    "stop_drugs": "--what-if-stop",
}


def register(app: typer.Typer) -> None:
    """Add the ``tdm`` and ``response`` commands to ``app``."""

    @app.command()
    @opt.regimen_options()
    @opt.patient_options()
    @_report_options
    def tdm(
        drug: opt.Drug,
        levels: Annotated[
            Path | None, typer.Option(help="levels CSV (time_h|datetime,analyte,value,unit[,lloq])")
        ] = None,
        rg: opt.RegimenArgs = opt.NO_REGIMEN_OPTIONS,
        first_dose: Annotated[
            str | None, typer.Option(help="date-time of the first dose (for datetime levels)")
        ] = None,
        target: Annotated[
            str | None, typer.Option(help="target range LOW-HIGH ng/mL (default: KB TDM range)")
        ] = None,
        metric: Annotated[str, typer.Option(help="trough or auc24")] = "trough",
        indication: Annotated[
            str, typer.Option(help="indication for the maximum dose")
        ] = "neuropathic_pain",
        strengths: Annotated[
            str | None, typer.Option(help="tablet strengths mg, e.g. 10,25,50 (default: KB)")
        ] = None,
        max_daily: Annotated[
            float | None, typer.Option(help="maximum daily dose mg (default: KB)")
        ] = None,
        intervals: Annotated[str, typer.Option(help="dosing intervals to consider, h")] = "24",
        what_if_add: Annotated[
            list[str] | None,
            typer.Option("--what-if-add", help="scenario: add DRUG:DOSE[:EVERY] (repeatable)"),
        ] = None,
        what_if_stop: Annotated[
            list[str] | None,
            typer.Option("--what-if-stop", help="scenario: stop a --with drug (repeatable)"),
        ] = None,
        uncertainty: Annotated[str, typer.Option(help="sir or laplace")] = "sir",
        pt: opt.PatientArgs = opt.NO_PATIENT_OPTIONS,
        seed: Annotated[int, typer.Option(help="random seed (restarts, SIR; >= 0)", min=0)] = 0,
        rp: _Report = _NO_REPORT,
        csv: Annotated[
            Path | None,
            typer.Option(help="write the forecast and the levels as CSV (long format)"),
        ] = None,
        accept_levels: Annotated[
            bool,
            typer.Option(
                "--accept-levels",
                help="fit and recommend even when the levels are inconsistent with the "
                "dosing history (loud warning)",
            ),
        ] = False,
    ) -> None:
        """Fit individual PK parameters to measured levels (MAP), forecast, and
        recommend a dose and interval for the target range."""
        from neurodose.mipd.tdm import parse_target
        from neurodose.workflows import TdmRequest
        from neurodose.workflows import tdm as run
        from neurodose.workflows.monitoring import level_analytes

        csv = opt.out_path(csv, "--csv", (".csv",), rp.mkdir)
        if uncertainty not in _UNCERTAINTY:
            raise InputError("--uncertainty", uncertainty, "'sir' or 'laplace'")
        if metric not in ("trough", "auc24"):
            raise InputError("--metric", metric, "'trough' or 'auc24'")
        reg = rg.parse()
        patient = pt.patient()
        comeds = pt.comedications(patient, drug)
        obs = _read_levels(levels, level_analytes(drug, patient, comeds), first_dose)
        tgt = None
        every_h = _floats(intervals, "--intervals") or [24.0]
        for ii in every_h:
            if not 1.0 <= ii <= 168.0:
                raise InputError(
                    "--intervals", intervals, "dosing intervals from 1 to 168 h (hourly to weekly)"
                )
        from neurodose.cli.common import busy

        flags = {**_TDM_FLAGS, **opt.WORKFLOW_FLAGS}
        with opt.as_flags(flags), busy(f"fitting {drug} levels (MAP) and searching doses"):
            if target is not None:
                try:
                    tgt = parse_target(target) if metric == "trough" else _auc_target(target)
                except UnitError:
                    raise InputError(
                        "--target", target, "a range LOW-HIGH in ng/mL, e.g. '50-150'"
                    ) from None
            strengths_mg = _floats(strengths, "--strengths")
            req = TdmRequest(
                drug,
                reg,
                obs,
                patient=patient,
                comedications=tuple(comeds),
                target=tgt,
                indication=indication,
                strengths=tuple(strengths_mg) if strengths_mg else None,
                max_daily_mg=max_daily,
                intervals_h=tuple(every_h),
                metric=metric,
                method=uncertainty,
                add_drugs=tuple(opt.comedications_from_options(what_if_add)),
                stop_drugs=tuple(what_if_stop or []),
                seed=seed,
                accept_inconsistent=accept_levels,
                allow_above_max=rp.allow_above_max,
            )
            out = run(req)
        report, warnings = out.report, list(out.warnings)
        if rp.plot is not None:
            _plot_tdm(report, rp.plot)
        if csv is not None:
            with writing(csv, "--csv"):
                csv.write_text(tdm_csv(report), encoding="utf-8")
        extra = {
            "warnings": warnings,
            "defaults_applied": opt.applied_defaults(),
            "comedication_notes": opt.comedication_notes(comeds),
        }
        if rp.as_json:
            typer.echo(json.dumps({**report.to_json(), **extra}, allow_nan=False))
            return
        _print_tdm(report, extra)

    @app.command()
    # response words --cyp2d6 more briefly than the other commands
    @opt.regimen_options()
    @opt.patient_options(cyp2d6=_BRIEF_CYP2D6)
    @_report_options
    def response(
        diary: Annotated[
            Path, typer.Option(help="diary CSV (date,pain[,sleep,side_effects,dose_mg])")
        ],
        drug: Annotated[str, typer.Option("--drug", help="drug taken")],
        rg: opt.RegimenArgs = opt.NO_REGIMEN_OPTIONS,
        first_dose: Annotated[
            str | None, typer.Option(help="date of the first dose (default: first diary day)")
        ] = None,
        switch_to: Annotated[
            str | None, typer.Option(help="drug for the 'switch' scenario")
        ] = None,
        levels: Annotated[
            Path | None, typer.Option(help="levels CSV to individualise the PK (as for tdm)")
        ] = None,
        first_dose_time: Annotated[
            str | None, typer.Option(help="first-dose date-time, for datetime levels")
        ] = None,
        pt: opt.PatientArgs = opt.NO_PATIENT_OPTIONS,
        seed: Annotated[int, typer.Option(help="random seed (>= 0)", min=0)] = 0,
        rp: _Report = _NO_REPORT,
    ) -> None:
        """Learn the individual response from a pain diary and forecast the chance
        of >= 30 % relief by week 8 if the dose is kept, raised or the drug switched;
        flag rising side effects and withdrawal-like symptoms."""

        from neurodose.mipd.diary import read_diary_csv
        from neurodose.workflows.diary import ResponseRequest
        from neurodose.workflows.diary import response as run

        d = read_diary_csv(diary)
        reg = rg.parse()
        start = None
        if first_dose is not None:
            from neurodose.limits import plan_date

            start = plan_date(first_dose.strip()[:10], "--first-dose")
        patient = pt.patient()
        comeds = pt.comedications(patient, drug)
        obs = None
        if levels is not None:
            from neurodose.workflows.monitoring import level_analytes

            obs = _read_levels(levels, level_analytes(drug, patient, comeds), first_dose_time)
        from neurodose.cli.common import busy

        req = ResponseRequest(
            drug,
            reg,
            d,
            first_dose=start,
            patient=patient,
            comedications=tuple(comeds),
            switch_to=switch_to,
            levels=obs,
            seed=seed,
            allow_above_max=rp.allow_above_max,
        )
        what = f"learning the response from {len(d):,} diary days"
        with opt.as_flags(opt.WORKFLOW_FLAGS), busy(what):
            out = run(req)
        rep, warnings = out.report, list(out.warnings)
        if rp.plot is not None:
            rep.plot(rp.plot)
        extra = {
            "warnings": warnings,
            "defaults_applied": opt.applied_defaults(),
            "comedication_notes": list(out.notes),
        }
        if rp.as_json:
            typer.echo(json.dumps({**rep.to_json(), **extra}, allow_nan=False))
            return
        _print_response(rep, extra)


def tdm_csv(report: Any) -> str:
    """The forecast (MAP, median, interval) and the measured levels with IPRED/PRED as one
    long CSV: ``kind`` is ``forecast`` or ``level``; concentrations in ng/mL."""
    import csv as _csv
    import io

    buf = io.StringIO()
    w = _csv.writer(buf, lineterminator="\n")
    w.writerow(["kind", "analyte", "time_h", "value_ng_per_ml", "median", "lower", "upper",
                "ipred_ng_per_ml", "pred_ng_per_ml", "blq"])  # fmt: skip
    for name, s in report.forecast.series.items():
        for i, t in enumerate(s["time_h"]):
            w.writerow(
                ["forecast", name, f"{float(t):g}", f"{float(s['map'][i]):.6g}",
                 f"{float(s['median'][i]):.6g}", f"{float(s['lower'][i]):.6g}",
                 f"{float(s['upper'][i]):.6g}", "", "", ""]
            )  # fmt: skip
    for lv in report.to_json()["levels"]:
        value = lv["lloq_ng_per_ml"] if lv["blq"] else lv["value_ng_per_ml"]
        w.writerow(
            ["level", lv["analyte"], f"{lv['time_h']:g}", f"{value:g}", "", "", "",
             f"{lv['ipred_ng_per_ml']:.6g}", f"{lv['pred_ng_per_ml']:.6g}", int(lv["blq"])]
        )  # fmt: skip
    return buf.getvalue()


def _auc_target(text: str) -> tuple[float, float]:
    import re

    m = re.match(r"^\s*([0-9.]+)\s*-\s*([0-9.]+)\s*$", text)
    if not m or not 0 <= float(m.group(1)) < float(m.group(2)):
        raise InputError("--target", text, "an AUC24 range LOW-HIGH in ng*h/mL, e.g. '1500-4000'")
    return float(m.group(1)), float(m.group(2))


def _print_extra(c: Any, extra: dict[str, list[str]], *, warnings_only: bool = False) -> None:
    for w in extra["warnings"]:
        c.print(f"[bold red]WARNING: {w}[/bold red]")
    if warnings_only:
        return
    for d in extra["defaults_applied"]:
        c.print(f"assumed: {d}")
    for n in extra["comedication_notes"]:
        c.print(f"note: {n}")


def _print_fit(c: Any, report: Any, j: dict[str, Any]) -> None:
    """Consistency warnings, the individual parameters and the levels table."""
    from rich.table import Table

    cons = j["consistency"]
    for w in cons["warnings"]:
        tail = " (accepted with --accept-levels)" if cons["accepted"] else ""
        c.print(f"[bold red]WARNING: levels vs dosing history: {w}{tail}[/bold red]")
    t = Table(title=f"{report.drug}: individual parameters (MAP, 90 % interval) vs prior")
    for col in ("parameter", "individual", "p05-p95", "prior (typical)"):
        t.add_column(col)
    for k, v in j["individual"].items():
        lo, hi = j["individual_p05_p95"][k]
        t.add_row(k, f"{v:.4g}", f"{lo:.4g}-{hi:.4g}", f"{j['prior'][k]:.4g}")
    c.print(t)
    if not j["levels"]:
        c.print("no levels: a-priori prediction from the population model")
        return
    t2 = Table(title="levels: measured vs individual (IPRED) and population (PRED) prediction")
    for col in ("time h", "analyte", "measured ng/mL", "IPRED", "PRED", "IWRES"):
        t2.add_column(col)
    for lv in j["levels"]:
        meas = f"<{lv['lloq_ng_per_ml']:g} (BLQ)" if lv["blq"] else f"{lv['value_ng_per_ml']:g}"
        iw = "-" if lv["iwres"] is None else f"{lv['iwres']:+.2f}"
        t2.add_row(
            f"{lv['time_h']:g}",
            lv["analyte"],
            meas,
            f"{lv['ipred_ng_per_ml']:.3g}",
            f"{lv['pred_ng_per_ml']:.3g}",
            iw,
        )
    c.print(t2)


def _print_recommendation(c: Any, j: dict[str, Any]) -> None:
    r = j["recommendation"]
    if r is None:
        return
    key = "predicted_trough_ng_per_ml" if r["metric"] == "trough" else "predicted_auc24"
    lo_k = next(k for k in r if k.startswith("p0"))
    hi_k = next(k for k in r if k.startswith("p9"))
    c.print(
        f"recommendation: {r['dose_mg']:g} mg every {r['every_h']:g} h "
        f"({r['daily_dose_mg']:g} mg/day): predicted steady-state {r['metric']} of "
        f"{j['target_applies_to']} {r[key]:.3g} ({lo_k}-{hi_k} {r[lo_k]:.3g}-{r[hi_k]:.3g}); "
        f"P(in target {r['target'][0]:g}-{r['target'][1]:g}) = {r['p_in_target']:.0%}"
    )
    c.print(
        f"  target from {r['target_source']} ({r['target_note']}); strengths "
        f"{', '.join(f'{s:g}' for s in r['strengths_mg'])} mg ({r['strengths_source']}); "
        f"maximum {r['max_daily_mg']:g} mg/day ({r['max_daily_source']})"
    )
    for n in r["notes"]:
        c.print(f"  note: {n}")


def _print_far_level(c: Any, j: dict[str, Any]) -> None:
    """The far-level advice (a level 10x or more from the prediction), as the JSON and
    the clinic page give it: the safe direction first, then the likely explanations."""
    far = j.get("far_from_prediction")
    if not far:
        return
    c.print("[bold red]=== LEVEL FAR FROM THE PREDICTION ===[/bold red]")
    c.print(f"[bold]{far['safe_action']}[/bold]")
    c.print(
        f"measured {far['analyte']} {far['measured_ng_per_ml']:g} ng/mL at "
        f"{far['time_h'] / 24:.1f} days is {far['ratio']:.3g} times the "
        f"{far['predicted_ng_per_ml']:g} ng/mL predicted for this dosing history"
    )
    c.print("likely explanations to check:")
    for e in far["explanations"]:
        c.print(f"  - {e}")
    c.print("[bold red]=== end of far-level advice ===[/bold red]")


def _what_if_line(s: dict[str, Any]) -> str:
    line = f"what if {s['scenario']}:"
    if "predicted_ss_trough" in s:
        line += (
            f" steady-state trough on the current dose {s['predicted_ss_trough']:.3g} "
            f"(p05-p95 {s['p05']:.3g}-{s['p95']:.3g})"
        )
    if "recommendation" in s:
        rr = s["recommendation"]
        line += f"; recommended {rr['dose_mg']:g} mg every {rr['every_h']:g} h"
    return line


def _print_tdm(report: Any, extra: dict[str, list[str]]) -> None:
    from neurodose.cli.common import make_console

    c = make_console()
    j = report.to_json()
    _print_extra(c, extra, warnings_only=True)
    _print_fit(c, report, j)
    _print_far_level(c, j)
    _print_recommendation(c, j)
    for s in j["what_if"]:
        c.print(_what_if_line(s))
    for w in j["diagnostics"]["warnings"]:
        c.print(f"warning: {w}")
    _print_tail(c, j, extra)


def _print_tail(c: Any, j: dict[str, Any], extra: dict[str, list[str]]) -> None:
    """The report's notes, the door's warnings and defaults, sources, the disclaimer."""
    for n in j["notes"]:
        c.print(f"note: {n}")
    _print_extra(c, extra)
    c.print("sources: " + ", ".join(j["sources"]))
    c.print("Decision support only; not a substitute for clinical judgement.")


#: units of the individual response parameters (docs/mipd.md)
_RESPONSE_UNITS = {
    "baseline_pain": "points (0-10 scale)",
    "placebo_fraction": "(fraction of baseline pain relieved by placebo)",
    "sensitivity": "(x the typical drug effect)",
    "diary_noise_sd": "points (0-10 scale, SD of day-to-day noise)",
}


def _print_response(rep: Any, extra: dict[str, list[str]]) -> None:
    from neurodose.cli.common import make_console

    c = make_console()
    j = rep.to_json()
    _print_extra(c, extra, warnings_only=True)
    c.print(f"{j['drug']}: response model = {j['model']['name']}")
    for k, v in j["individual"].items():
        unit = _RESPONSE_UNITS.get(k, "")
        shown = f"{v:.3g}" if isinstance(v, float) else str(v)
        c.print(f"  {k}: {shown}" + (f" {unit}" if unit else ""))
    for s in j["scenarios"]:
        c.print(
            f"scenario {s['scenario']}: P(>= 30 % relief by week 8) = "
            f"{s['p_relief_text']} ({s['description']})"
        )
    se = j["side_effects"]
    c.print(f"side effects: {se['direction']} ({se['slope_points_per_week']:+.2f} points/week)")
    for f in j["findings"]:
        c.print(f"finding: {f['message']}")
    _print_tail(c, j, extra)
