"""Efficacy stage of the PD calibration: the pain-pathway structure (issue 20 item 3).

Fits, on the training data named in :data:`TRAINING` and nothing else, the parameters that
set how much relief each pathway can give (docs/model.md §3 and §6), one datum each:

* ``descending_max_inhibition`` (``I_max``): the largest inhibition of spinal gain by the
  descending SERT/NET drive (saturable Emax form, half-saturation ``descending_d50``, an
  assumption): duloxetine 60 mg >= 50 % responders, least squares of Lunn 2014 (44.5 %)
  and Finnerup 2015 SNRI NNT 6.4;
* ``channel_site_factor`` (free site / free plasma at the sodium channel): the duloxetine
  dose-response, i.e. 120 mg's drug effect is 1.14 times 60 mg's (Lunn 2009 as abstracted by
  DARE: mean pain difference from placebo 1.12 vs 0.98 points), carried over to the >= 50 %
  responder scale. Duloxetine's sodium-channel block grows with dose where its transporter
  occupancy is near saturation, so this datum bounds the sodium-channel pathway;
* ``nmda_site_factor`` (the same ratio at the NMDA site): Finnerup 2015 TCA NNT 3.6
  (amitriptyline 10 -> 25 -> 50 mg as the representative TCA regimen).

ITT, BOCF, diabetic neuropathy, 12 weeks; duloxetine 120 mg is 60 mg once daily for a week,
then 60 mg twice daily (the regimen of the 120 mg trials). The three 1-D roots are solved in
turn until they agree. Everything held out (SSRIs, venlafaxine, milnacipran, COMBO-DN,
OPTION-DM, gabapentin) is checked by ``calibration/pathway_shares.py --validate``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scipy.optimize import brentq

#: the three fitted parameters of this stage
EFFICACY_KEYS = ("descending_max_inhibition", "channel_site_factor", "nmda_site_factor")

#: duloxetine dose-response target: (120 mg - placebo) / (60 mg - placebo) mean change
DOSE_RATIO_TARGET = round(1.12 / 0.98, 3)

#: training data of this stage: key -> (unit, calibrated_to)
TRAINING: dict[str, tuple[str, list[str]]] = {
    "descending_max_inhibition": (
        "1",
        ["lunn2014: duloxetine 60 mg >=50% responders 44.5%", "finnerup2015: SNRI NNT 6.4"],
    ),
    "channel_site_factor": (
        "1",
        [
            "lunn2009_dare: duloxetine 120 vs 60 mg, mean pain difference from placebo "
            "1.12 vs 0.98 points (ratio 1.14)"
        ],
    ),
    "nmda_site_factor": ("1", ["finnerup2015: TCA NNT 3.6"]),
}

#: regimens this stage needs beyond calibrate_pd.REGIMENS
REGIMENS: dict[str, dict[str, Any]] = {
    "duloxetine_120": {
        "name": "duloxetine_120",
        "drug": "duloxetine",
        "regimen": [
            {"start_day": 1, "dose_mg": 60, "every_h": 24},
            {"start_day": 8, "dose_mg": 60, "every_h": 12},
        ],
    },
}

Arm = Callable[..., dict[str, Any]]


def _root(f: Callable[[float], float], lo: float, hi: float) -> float:
    flo, fhi = f(lo), f(hi)
    if flo * fhi > 0:  # not bracketed: the bound nearer to the target
        return lo if abs(flo) < abs(fhi) else hi
    return float(brentq(f, lo, hi, xtol=(hi - lo) * 1e-6, rtol=1e-4, maxiter=40))


def dose_ratio(arm: Arm, P: Callable[..., Any], **kw: float) -> float:
    """(120 mg - placebo) / (60 mg - placebo) mean change for parameters ``P(**kw)``."""
    p = P(**kw)
    pl = arm("placebo", p)["mean_change"]
    d60 = arm("duloxetine_60", p)["mean_change"] - pl
    d120 = arm("duloxetine_120", p)["mean_change"] - pl
    return float(d120 / d60) if d60 else float("inf")


def fit_efficacy(
    arm: Arm,
    P: Callable[..., Any],
    p50: float,
    bounds: dict[str, tuple[float, float]],
    start: dict[str, float],
    rounds: int = 3,
    log: Callable[[str], None] = print,
) -> dict[str, float]:
    """``I_max``, the sodium-channel and the NMDA site factors (see the module docstring).

    ``arm(name, params)`` runs one calibration arm; ``P(**values)`` builds parameters;
    ``p50`` is the placebo arm's >= 50 % responder rate; ``start`` the current values.
    A target that cannot be met inside ``bounds`` is met as nearly as the bound allows.
    """
    dlx_target = (0.445 + (p50 + 1 / 6.4)) / 2
    tca_target = p50 + 1 / 3.6
    cur = {k: start[k] for k in EFFICACY_KEYS}

    def err(key: str, arm_name: str, target: float) -> Callable[[float], float]:
        return lambda x: arm(arm_name, P(**{**cur, key: x}))["responders_50"] - target

    for r in range(rounds):
        before = dict(cur)
        cur["descending_max_inhibition"] = _root(
            err("descending_max_inhibition", "duloxetine_60", dlx_target),
            *bounds["descending_max_inhibition"],
        )
        dose_target = p50 + DOSE_RATIO_TARGET * (dlx_target - p50)
        cur["channel_site_factor"] = _root(
            err("channel_site_factor", "duloxetine_120", dose_target),
            *bounds["channel_site_factor"],
        )
        cur["nmda_site_factor"] = _root(
            err("nmda_site_factor", "amitriptyline_50", tca_target), *bounds["nmda_site_factor"]
        )
        log(f"  efficacy round {r + 1}: " + ", ".join(f"{k}={v:.4g}" for k, v in cur.items()))
        if all(abs(cur[k] - before[k]) <= 2e-3 * max(abs(cur[k]), 1e-2) for k in cur):
            break
    return cur
