"""Mechanistic pain-pathway model: occupancy -> daily 0-10 pain and sleep interference.

No published QSP model links antidepressant occupancy to spinal pain processing
(pd_clinical.md §6c); the structure below is ours, written out in docs/model.md
(§2) and built from the circuit picture of §6c (Crodelle 2019; Britton &
Skevington 1989): peripheral drive, spinal gain under descending control,
NMDA-dependent central sensitisation. State variables, per patient, daily step
(day ``d``, occupancies are daily means):

``N_d = 1 - occ_Na``
    nociceptive drive from damaged fibres relative to baseline; ectopic firing
    needs sodium channels (state-dependent block, inactivated-state affinity).
``A_d = 1 - occ_a2d``
    presynaptic transmission at the dorsal horn (alpha2delta, gabapentinoids).
``D_d``  (slow state, time constant ``onset_tau``)
    descending monoaminergic inhibition, relaxing towards
    ``m = w_S occ_SERT + (1 - w_S) occ_NET``.
``G_d = 1 - I_max D_d (1 + D_50) / (D_d + D_50)``
    spinal gain set by descending inhibition: a saturable (Emax) function of the
    descending drive whose maximum ``I_max`` (reached at full SERT and NET occupancy)
    and half-saturation ``D_50`` are fitted (issue 20 item 3), not capped by the form.
``s_d = log S_d`` (slow state, same time constant)
    central sensitisation relaxing towards ``log(N A G (1 - occ_NMDA))``.

Drug-attributable relief ratio ``R = (N A G S^kappa)^eta`` (``eta`` individual
sensitivity), placebo/natural-course ratio ``Q_d = 1 - p (1 - exp(-d / tau_p))``,
pain ``P_d = clip(B Q_d R_d, 0, 10)``; the sleep-interference score is
``B Q_d R_d exp(-c_sed S_d) (1 + c_ser occ_SERT)`` clipped to 0-10, with ``S_d`` the
sedative drive of :func:`neurodose.pd.adverse.sedative_drive` (drowsiness gains of H1 and
alpha2delta, no tolerance) and ``c_sed`` fitted to sleep-interference data (docs/model.md §3).
In log space every state is linear in the pathway terms, so each pathway's
share of ``-log R`` is exact (:attr:`PainResult.pathways`).

Examples
--------
>>> import numpy as np
>>> from neurodose.pd.params import load_pd_parameters
>>> occ = {"SERT": np.full((1, 56), 0.8), "NET": np.full((1, 56), 0.5)}
>>> res = simulate_pain(occ, np.array([7.0]), np.array([0.0]), np.array([1.0]),
...                     load_pd_parameters())
>>> bool(res.pain[0, 56] < res.pain[0, 7] < 7.0)
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from neurodose.pd.adverse import sedative_drive
from neurodose.pd.params import PDParameters

__all__ = ["PATHWAYS", "PainResult", "descending_log_gain", "simulate_pain"]

Array = NDArray[np.float64]

#: pathways whose share of relief is reported
PATHWAYS: tuple[str, ...] = (
    "descending_serotonergic",
    "descending_noradrenergic",
    "sodium_channel",
    "NMDA",
    "alpha2delta",
)

_TINY = 1e-9


@dataclass(frozen=True)
class PainResult:
    """Daily trajectories, shape ``(n, days + 1)``; column 0 is baseline (day 0)."""

    pain: Array
    sleep: Array
    relief_drug: Array  # 1 - R: drug-attributable fractional relief
    pathways: Mapping[str, Array]  # fraction of -log R due to each pathway (n, days + 1)


def descending_log_gain(drive: Array, i_max: float, d50: float) -> Array:
    """``log G`` of the spinal gain under descending inhibition (saturable Emax form).

    ``G = 1 - I_max E``, ``E = D (1 + D_50) / (D + D_50)``: ``E`` is 0 at no drive and 1 at
    full SERT and NET occupancy (``D = 1``), so ``I_max`` is the largest possible
    inhibition of spinal gain; the form itself allows any ``I_max`` in [0, 1] (1 = complete
    block of transmission at full occupancy, floored like the other pathways).

    >>> round(float(descending_log_gain(np.array([1.0]), 0.5, 0.2)[0]), 4)  # log(0.5)
    -0.6931
    >>> float(descending_log_gain(np.array([0.0]), 0.5, 0.2)[0])
    0.0
    """
    if not 0.0 <= i_max <= 1.0:
        raise ValueError(f"descending_max_inhibition must be in [0, 1], got {i_max}")
    if not d50 > 0.0:
        raise ValueError(f"descending_d50 must be > 0, got {d50}")
    d = np.clip(drive, 0.0, 1.0)
    return np.log(np.maximum(1.0 - i_max * d * (1.0 + d50) / (d + d50), _TINY))


def _occ(occ: Mapping[str, Array], key: str, like: Array) -> Array:
    x = occ.get(key)
    return np.zeros_like(like) if x is None else np.clip(np.asarray(x, dtype=float), 0.0, 1.0)


def simulate_pain(
    occ: Mapping[str, Array],
    baseline: Array,
    placebo: Array,
    eta: Array,
    params: PDParameters,
    placebo_tau_d: float | None = None,
    days: int | None = None,
) -> PainResult:
    """Run the pain-pathway model for ``n`` patients over ``days`` days.

    Parameters
    ----------
    occ : mapping target -> array (n, days)
        Daily mean occupancy (0-1) of each target the drug reaches; absent
        targets count as 0. Day ``d`` (1-based) is column ``d - 1``.
    baseline : array (n,)
        Baseline pain B, 0-10.
    placebo : array (n,)
        Individual placebo/natural-course fraction p (negative: worsening).
    eta : array (n,)
        Individual pharmacological sensitivity (0 = no drug response).
    params : PDParameters
        Uses ``descending_max_inhibition``, ``descending_d50``, ``onset_tau``,
        ``serotonin_weight``,
        ``sensitisation_coupling``, ``placebo_tau``, ``sleep_sedation_effect``,
        ``sleep_serotonergic_effect``.
    days : int, optional
        Number of days; needed only when ``occ`` is empty (placebo).

    Returns
    -------
    PainResult
    """
    baseline = np.asarray(baseline, dtype=float)
    n = baseline.shape[0]
    shapes = {np.shape(v) for v in occ.values()}
    if len(shapes) > 1:
        raise ValueError(f"occupancy arrays differ in shape: {sorted(shapes)}")
    if shapes:
        days = next(iter(shapes))[1]
    elif days is None:
        raise ValueError("give `days` when no occupancy arrays are passed (placebo)")
    if shapes and next(iter(shapes))[0] != n:
        raise ValueError("occupancy rows must equal the number of patients")
    like = np.zeros((n, days))
    o_s, o_n = _occ(occ, "SERT", like), _occ(occ, "NET", like)
    o_na, o_nmda = _occ(occ, "sodium_channel", like), _occ(occ, "NMDA", like)
    o_a2d, o_h1 = _occ(occ, "alpha2delta", like), _occ(occ, "H1", like)

    i_max = params.value("descending_max_inhibition")
    d50 = params.value("descending_d50")
    tau = params.value("onset_tau") / 24.0  # stored in h -> days
    w_s = params.value("serotonin_weight")
    kappa = params.value("sensitisation_coupling")
    tau_p = placebo_tau_d if placebo_tau_d is not None else params.value("placebo_tau") / 24.0
    c_sed = params.value("sleep_sedation_effect")
    c_ser = params.value("sleep_serotonergic_effect")
    alpha = 1.0 - np.exp(-1.0 / tau)

    log_n = np.log(np.maximum(1.0 - o_na, _TINY))
    log_a = np.log(np.maximum(1.0 - o_a2d, _TINY))
    log_nmda = np.log(np.maximum(1.0 - o_nmda, _TINY))

    ds = np.zeros(n)
    dn = np.zeros(n)
    # sensitisation components (log S split by pathway; linear filter)
    s_na, s_a, s_g_s, s_g_n, s_nmda = (np.zeros(n) for _ in range(5))
    comp = {k: np.zeros((n, days + 1)) for k in PATHWAYS}
    log_r = np.zeros((n, days + 1))
    for d in range(days):
        ds = ds + (w_s * o_s[:, d] - ds) * alpha
        dn = dn + ((1.0 - w_s) * o_n[:, d] - dn) * alpha
        dtot = ds + dn
        log_g = descending_log_gain(dtot, i_max, d50)
        share_s = np.divide(ds, dtot, out=np.full(n, 0.5), where=dtot > _TINY)
        lg_s, lg_n = log_g * share_s, log_g * (1.0 - share_s)
        s_na += (log_n[:, d] - s_na) * alpha
        s_a += (log_a[:, d] - s_a) * alpha
        s_g_s += (lg_s - s_g_s) * alpha
        s_g_n += (lg_n - s_g_n) * alpha
        s_nmda += (log_nmda[:, d] - s_nmda) * alpha
        c_na = log_n[:, d] + kappa * s_na
        c_a = log_a[:, d] + kappa * s_a
        c_gs = lg_s + kappa * s_g_s
        c_gn = lg_n + kappa * s_g_n
        c_nm = kappa * s_nmda
        comp["sodium_channel"][:, d + 1] = c_na
        comp["alpha2delta"][:, d + 1] = c_a
        comp["descending_serotonergic"][:, d + 1] = c_gs
        comp["descending_noradrenergic"][:, d + 1] = c_gn
        comp["NMDA"][:, d + 1] = c_nm
        log_r[:, d + 1] = c_na + c_a + c_gs + c_gn + c_nm

    eta = np.asarray(eta, dtype=float)[:, None]
    r = np.exp(eta * log_r)
    t = np.arange(days + 1, dtype=float)[None, :]
    q = 1.0 - np.asarray(placebo, dtype=float)[:, None] * (1.0 - np.exp(-t / tau_p))
    raw = baseline[:, None] * q * r
    pain = np.clip(raw, 0.0, 10.0)
    sleep_mod = np.ones((n, days + 1))
    drive = sedative_drive({"H1": o_h1, "alpha2delta": o_a2d}, params, like)
    sleep_mod[:, 1:] = np.exp(-c_sed * drive) * (1.0 + c_ser * o_s)
    sleep = np.clip(raw * sleep_mod, 0.0, 10.0)
    total = np.where(log_r < -_TINY, log_r, np.nan)
    pathways = {
        k: np.nan_to_num(np.divide(v, total, out=np.zeros_like(v), where=~np.isnan(total)))
        for k, v in comp.items()
    }
    return PainResult(pain=pain, sleep=sleep, relief_drug=1.0 - r, pathways=pathways)
