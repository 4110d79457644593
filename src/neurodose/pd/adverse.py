"""Adverse effects from off-target occupancy, with tolerance, AE withdrawal and
discontinuation symptoms (docs/model.md §4).

For adverse effect ``j`` with driving targets ``k`` (knowledge/pdmodels/adverse_effects.toml)
the drug-induced intensity on day ``d`` is

.. math::  I_{jd} = (1 - T_{jd}) \\sum_k a_{jk} \\, \\mathrm{occ}_{k,d}^{\\max}

with gains ``a_jk`` (calibrated where trial data exist, otherwise the class
default), ``T`` a tolerance state that rises towards ``ae_tolerance_max``
with time constant ``ae_tolerance_tau`` while the driver is on. A patient has
the effect on day ``d`` if ``I_jd > theta_ij = exp(sigma z_ij)``. Independently
a nocebo event occurs with the cited placebo-arm rate (generic "other" events
complete the placebo any-AE rate). Withdrawal for an AE: daily hazard
``h0 + h1 x (number of drug effects present)``. Discontinuation symptoms: an
adaptation state follows SERT and muscarinic occupancy with time constant
``withdrawal_adaptation_tau``; after a fall in occupancy the unmatched
adaptation ``W`` gives symptoms where ``g_w W > theta``.

Examples
--------
>>> import numpy as np
>>> from neurodose.pd.params import load_pd_parameters
>>> p = load_pd_parameters()
>>> rng = np.random.default_rng(0)
>>> occ = {"SERT": np.full((2000, 28), 0.9)}
>>> res = simulate_adverse(occ, p, rng)
>>> bool(res.incidence["nausea"].mean() > 0.10)
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from neurodose.pd.params import PDParameters

__all__ = [
    "AdverseResult",
    "ae_gain",
    "discontinuation_symptoms",
    "simulate_adverse",
]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class AdverseResult:
    """Per-patient adverse-effect outcomes.

    incidence : name -> bool (n,), any occurrence before withdrawal (drug or nocebo)
    drug_present : name -> bool (n, days), drug-induced effect present on day d (1-based col d-1)
    withdrawal_day : (n,) day of withdrawal for an AE (1-based), ``inf`` if none
    """

    incidence: Mapping[str, NDArray[np.bool_]]
    drug_present: Mapping[str, NDArray[np.bool_]]
    withdrawal_day: Array
    any_ae: NDArray[np.bool_]


def ae_gain(params: PDParameters, ae: str, target: str) -> float:
    """Gain of target ``target`` for adverse effect ``ae`` (calibrated or class default)."""
    return params.get(f"ae_gain_{ae}_{target}", params.value("ae_gain_default"))


def simulate_adverse(
    occ_max: Mapping[str, Array],
    params: PDParameters,
    rng: np.random.Generator,
    exposed: NDArray[np.bool_] | None = None,
) -> AdverseResult:
    """Simulate adverse effects and AE withdrawal for ``n`` patients.

    Parameters
    ----------
    occ_max : mapping target -> array (n, days)
        Daily maximum occupancy (0-1) per reached target.
    params : PDParameters
    rng : numpy Generator
        Draws, in a fixed order: thresholds, nocebo events, withdrawal.
    exposed : bool array (n, days), optional
        Days on which the patient is still in the trial (default all).

    Returns
    -------
    AdverseResult
    """
    if not occ_max:
        raise ValueError("occ_max needs at least one target (use zeros for placebo)")
    n, days = next(iter(occ_max.values())).shape
    sigma = params.value("ae_susceptibility_sigma")
    tmax = params.value("ae_tolerance_max")
    a_tol = 1.0 - np.exp(-24.0 / params.value("ae_tolerance_tau"))
    names = list(params.adverse_effects)
    z = rng.standard_normal((n, len(names)))
    u_noc = rng.random((n, len(names) + 1))
    onset_noc = rng.integers(1, max(days, 1) + 1, size=(n, len(names) + 1))
    e_wd: Array = np.asarray(rng.standard_exponential(n))

    present: dict[str, NDArray[np.bool_]] = {}
    nocebo: dict[str, NDArray[np.bool_]] = {}
    for j, name in enumerate(names):
        ae = params.adverse_effects[name]
        drive = np.zeros((n, days))
        for t in ae.drivers:
            if t in occ_max:
                drive += ae_gain(params, name, t) * np.clip(occ_max[t], 0.0, 1.0)
        tol = np.zeros(n)
        theta = np.exp(sigma * z[:, j])
        pres = np.zeros((n, days), dtype=bool)
        for d in range(days):
            on = drive[:, d] > 1e-6
            tol = tol + (np.where(on, tmax, 0.0) - tol) * a_tol
            pres[:, d] = drive[:, d] * (1.0 - tol) > theta
        present[name] = pres
        rate = ae.placebo_rate.canonical() if ae.placebo_rate is not None else 0.0
        nocebo[name] = u_noc[:, j] < rate
    other_rate = params.value("nocebo_other_rate")
    nocebo["_other"] = u_noc[:, -1] < other_rate

    if exposed is None:
        exposed = np.ones((n, days), dtype=bool)
    # withdrawal: cumulative hazard crosses an Exp(1) draw
    n_present = np.zeros((n, days))
    for name in names:
        n_present += present[name]
    h0 = params.value("withdrawal_hazard_base")
    h = (h0 + params.value("withdrawal_hazard_per_ae") * n_present) * exposed
    cum = np.cumsum(h, axis=1)
    crossed = cum > e_wd[:, None]
    wd = np.where(crossed.any(axis=1), crossed.argmax(axis=1) + 1.0, np.inf)

    col1 = np.arange(1, days + 1)[None, :]
    on_trial = (col1 <= wd[:, None]) & exposed
    incidence: dict[str, NDArray[np.bool_]] = {}
    any_ae = np.zeros(n, dtype=bool)
    for j, name in enumerate(names):
        noc_day = onset_noc[:, j]
        inc = (present[name] & on_trial).any(axis=1) | (nocebo[name] & (noc_day <= wd))
        incidence[name] = inc
        any_ae |= inc
    any_ae |= nocebo["_other"] & (onset_noc[:, -1] <= wd)
    return AdverseResult(
        incidence=incidence, drug_present=present, withdrawal_day=wd, any_ae=any_ae
    )


def discontinuation_symptoms(
    occ_mean: Mapping[str, Array],
    stop_day: int,
    params: PDParameters,
    rng: np.random.Generator,
    active: bool,
) -> NDArray[np.bool_]:
    """Who gets discontinuation symptoms after the drug stops on ``stop_day``.

    Parameters
    ----------
    occ_mean : mapping target -> array (n, days)
        Daily mean occupancy; SERT and muscarinic drive adaptation.
    stop_day : int
        First day without drug (1-based). Symptoms are counted from then on.
    active : bool
        False for a placebo arm (only the cited nocebo rate applies).

    Returns
    -------
    bool array (n,)
    """
    if not occ_mean:
        raise ValueError("occ_mean needs at least one target")
    n, days = next(iter(occ_mean.values())).shape
    z = rng.standard_normal(n)
    u = rng.random(n)
    nocebo: NDArray[np.bool_] = np.asarray(u < params.value("discontinuation_placebo_rate"))
    if not active:
        return nocebo
    a = 1.0 - np.exp(-24.0 / params.value("withdrawal_adaptation_tau"))
    g = params.value("discontinuation_gain")
    theta = np.exp(params.value("ae_susceptibility_sigma") * z)
    worst = np.zeros(n)
    for key in ("SERT", "muscarinic"):
        if key not in occ_mean:
            continue
        o = np.clip(occ_mean[key], 0.0, 1.0)
        adapt = np.zeros(n)
        for d in range(days):
            adapt = adapt + (o[:, d] - adapt) * a
            if d + 1 >= stop_day:
                worst = np.maximum(worst, np.maximum(adapt - o[:, d], 0.0))
    return nocebo | (g * worst > theta)
