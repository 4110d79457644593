"""``neurodose explain``: why a drug relieves pain and what drives its side effects.

For one patient and regimen (same options as ``neurodose simulate``) it shows,
over time, the occupancy of every target the drug reaches (free concentration
and knowledge-base affinity, parent + active metabolite), each pathway's share
of the modelled relief (descending serotonergic/noradrenergic, sodium channel,
NMDA, alpha2delta), and the intensity of each adverse-effect driver. Targets
with no affinity in the knowledge base are listed as unavailable, never
invented.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from neurodose.cli import options as opt
from neurodose.errors import InputError

__all__ = ["explain_data", "register"]


def explain_data(
    drug: str,
    regimen: Any,
    patient: Any = None,
    days: float = 42.0,
    baseline_pain: float = 7.0,
    comedications: Any = (),
) -> dict[str, Any]:
    """Occupancy, pathway shares and AE drivers for one typical patient (JSON-ready).

    Parameters
    ----------
    drug : str
    regimen : neurodose.case.Regimen
    patient : neurodose.case.Patient, optional
    comedications : iterable, optional
        As for :func:`neurodose.simulation.simulate` (PK interactions only).
    days : float
        Horizon (whole days are used by the daily pain model).
    baseline_pain : float
        Baseline 0-10 pain for the illustrative pain trajectory.
    """
    from neurodose import citations
    from neurodose.pd.adverse import ae_gain
    from neurodose.pd.occupancy import TARGETS, drug_occupancy, drug_targets
    from neurodose.pd.pain import simulate_pain
    from neurodose.pd.params import load_pd_parameters
    from neurodose.simulation import simulate

    n_days = max(1, round(days))
    times = np.arange(0.0, n_days * 24.0, 1.0) + 0.5
    with citations.tracking() as used:
        res = simulate(drug, regimen, patient, list(comedications), times_h=times)
        params = load_pd_parameters()
        tg = drug_targets(drug)
        conc = {a.name: np.asarray(res.concentrations[a.name])[None, :] for a in tg.analytes}
        occ = drug_occupancy(tg, conc, params)
    daily = {k: v.reshape(1, n_days, 24).mean(axis=2) for k, v in occ.items()}
    pain = simulate_pain(daily, np.array([baseline_pain]), np.array([0.0]), np.array([1.0]), params)
    occupancy = {
        t: {"time_h": times.tolist(), "fraction": [round(float(x), 5) for x in occ[t][0]]}
        for t in TARGETS
        if t in occ
    }
    pathways = {
        k: {
            "day": list(range(n_days + 1)),
            "share_of_relief": [round(float(x), 4) for x in v[0]],
        }
        for k, v in pain.pathways.items()
    }
    drivers: dict[str, Any] = {}
    for name, ae in params.adverse_effects.items():
        reached = [t for t in ae.drivers if t in occ]
        if not reached:
            continue
        inten = sum(ae_gain(params, name, t) * occ[t][0] for t in reached)
        drivers[name] = {
            "targets": reached,
            "gains": {t: round(ae_gain(params, name, t), 4) for t in reached},
            "peak_intensity": round(float(np.max(inten)), 4),
            "note": "intensity before tolerance; 1 = threshold of a median patient",
        }
    unverified = tg.unverified()
    return {
        "drug": tg.drug,
        "regimen": repr(regimen),
        "occupancy": occupancy,
        "unavailable_targets": dict(tg.unavailable),
        "pathways": pathways,
        "relief": {
            "day": list(range(n_days + 1)),
            "drug_attributable_fraction": [round(float(x), 4) for x in pain.relief_drug[0]],
            "pain_without_placebo": [round(float(x), 3) for x in pain.pain[0]],
            "sleep_interference": [round(float(x), 3) for x in pain.sleep[0]],
        },
        "side_effect_drivers": drivers,
        "affinities": {
            t: [
                {
                    "analyte": b.analyte,
                    "K_nM": round(b.K_nM, 4),
                    "kind": b.kind,
                    "verified": b.verified,
                    "sources": list(b.sources),
                    "note": b.note,
                }
                for b in bs
            ]
            for t, bs in tg.bindings.items()
        },
        "unverified_inputs": unverified,
        "notes": [
            "typical patient (no placebo response, sensitivity 1); docs/model.md",
            "ion-channel sites use the calibrated channel_site_factor; "
            "alpha2delta potency of gabapentinoids is calibrated",
        ],
        "sources": sorted(set(used) | set(res.sources) | set(tg.sources())),
    }


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
        if max(v["share_of_relief"]) > 0.005:
            ax[1].plot(v["day"], v["share_of_relief"], label=k)
    ax[1].set_xlabel("day")
    ax[1].set_ylabel("share of modelled relief")
    ax[1].set_title("Pathway contributions")
    ax[1].legend(fontsize=8)
    r = data["relief"]
    ax[2].plot(r["day"], r["pain_without_placebo"], label="pain (no placebo)")
    ax[2].plot(r["day"], r["sleep_interference"], label="sleep interference")
    ax[2].set_ylim(0, 10)
    ax[2].set_xlabel("day")
    ax[2].set_title("Typical patient")
    ax[2].legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def register(app: typer.Typer) -> None:
    """Add the ``explain`` command to ``app``."""

    @app.command("explain")
    def explain(
        drug: opt.Drug,
        dose: opt.Dose = None,
        every: opt.Every = "24 h",
        days: Annotated[float, typer.Option(help="days of dosing (and horizon)")] = 42.0,
        age: opt.Age = None,
        sex: opt.Sex = None,
        weight: opt.Weight = None,
        smoker: opt.Smoker = False,
        crcl: opt.Crcl = None,
        cyp2d6: opt.Cyp2d6 = None,
        cyp2c19: opt.Cyp2c19 = None,
        with_: opt.With = None,
        as_json: opt.AsJson = False,
        plot: opt.PngFigure = None,
    ) -> None:
        """Occupancy of each target, each pathway's share of relief, side-effect drivers."""
        from neurodose.cli.common import make_console, print_json

        if not days >= 1:
            raise InputError("--days", days, "at least 1 day")
        reg = opt.regimen_from_options(dose, every, days=days, file_option=False)
        patient = opt.patient_from_options(age, sex, weight, smoker, crcl, cyp2d6, cyp2c19)
        comeds = opt.comedications_from_options(with_)
        data = explain_data(drug, reg, patient, days=days, comedications=comeds)
        if plot is not None:
            _plot(data, plot)
        if as_json:
            print_json(data)
            return
        from rich.table import Table

        console = make_console()
        t = Table(title=f"{data['drug']}: occupancy (steady part of the horizon)")
        for c in ("target", "mean occupancy, last day", "peak", "affinity (nM)", "marks"):
            t.add_column(c)
        for target, v in data["occupancy"].items():
            f = np.array(v["fraction"])
            aff = data["affinities"].get(target, [])
            t.add_row(
                target,
                f"{100 * f[-24:].mean():.1f} %",
                f"{100 * f.max():.1f} %",
                ", ".join(f"{a['analyte']} {a['K_nM']:g}" for a in aff) or "calibrated",
                "UNVERIFIED" if any(not a["verified"] for a in aff) else "",
            )
        console.print(t)
        for target, why in data["unavailable_targets"].items():
            console.print(f"[yellow]unavailable[/yellow] {target}: {why}")
        p = Table(title="Share of modelled relief by pathway (last day)")
        p.add_column("pathway")
        p.add_column("share")
        for k, v in data["pathways"].items():
            p.add_row(k, f"{100 * v['share_of_relief'][-1]:.1f} %")
        console.print(p)
        rel = data["relief"]["drug_attributable_fraction"]
        d7 = 100 * rel[min(7, len(rel) - 1)]
        console.print(
            f"drug-attributable relief, typical patient: day 7 {d7:.0f} %, "
            f"last day {100 * rel[-1]:.0f} %"
        )
        s = Table(title="Side-effect drivers (peak intensity; 1 = median threshold)")
        s.add_column("effect")
        s.add_column("targets")
        s.add_column("peak")
        for k, v in data["side_effect_drivers"].items():
            s.add_row(k, ", ".join(v["targets"]), f"{v['peak_intensity']:.2f}")
        console.print(s)
        console.print("sources: " + ", ".join(data["sources"]))
