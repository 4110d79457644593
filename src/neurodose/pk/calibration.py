"""Calibration of parameters the evidence asks to calibrate (labelled ``calibrated``).

The CYP2D6 share of amitriptyline's non-NT clearance (``CL_other``) is fitted so
that the model's steady-state AMI+NT exposure ratios (PM, IM, UM vs NM) match the
DPWG-implied ratios (1/0.60, 1/0.75, 1/1.6; evidence §2.5, DERIVED). Because
these ratios are fitted, comparisons against them are *calibration checks*, never
validation.

>>> s, resid = calibrate_ami_cyp2d6_share()
>>> 0.1 < s < 0.5
True
"""

from __future__ import annotations

import math

from scipy.optimize import minimize_scalar

from neurodose.knowledge.pgx import dpwg_dose_factor
from neurodose.pk.parameters import get_pkmodel

__all__ = ["ami_exposure_ratio", "calibrate_ami_cyp2d6_share", "dpwg_ami_targets"]


def dpwg_ami_targets() -> dict[str, float]:
    """DPWG-implied AMI+NT exposure ratios at equal dose (1 / dose factor)."""
    out = {}
    for ph in ("PM", "IM", "UM"):
        q = dpwg_dose_factor("amitriptyline", "CYP2D6", ph)
        if q is None:
            continue
        out[ph] = 1.0 / q.canonical()
    return out


def ami_exposure_ratio(share: float, phenotype: str) -> float:
    """Steady-state AUC(AMI+NT) ratio phenotype/NM for a CYP2D6 share of CL_other.

    Closed form at steady state: AUC_AMI = D / CL_AMI, AUC_NT = D * fm / CL_NT with
    fm = CL_form / CL_AMI (no presystemic NT formation, f_pre = 0).
    """
    spec = get_pkmodel("amitriptyline")
    p = {k: q.canonical() for k, q in spec.parameters.items()}
    m = spec.genotype["CYP2D6"][phenotype].canonical()

    def auc(mult: float) -> float:
        cl_other = p["CL_other"] * ((1 - share) + share * mult)
        cl = p["CL_form"] + cl_other
        return 1.0 / cl + (p["CL_form"] / cl) / (p["CL_m"] * mult)

    return auc(m) / auc(1.0)


def calibrate_ami_cyp2d6_share() -> tuple[float, float]:
    """Least squares on log ratios over PM/IM/UM; returns (share, RMS log residual)."""
    targets = dpwg_ami_targets()

    def loss(s: float) -> float:
        return sum(
            (math.log(ami_exposure_ratio(s, ph)) - math.log(r)) ** 2 for ph, r in targets.items()
        )

    res = minimize_scalar(loss, bounds=(0.0, 1.0), method="bounded", options={"xatol": 1e-6})
    return float(res.x), math.sqrt(float(res.fun) / len(targets))
