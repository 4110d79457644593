"""Adverse effects from off-target occupancy, with tolerance, AE withdrawal and
discontinuation symptoms (docs/model.md §4).

For adverse effect ``j`` with driving targets ``k`` (knowledge/pdmodels/adverse_effects.toml)
the drug-induced intensity on day ``d`` is

.. math::  I_{jd} = (1 - T_{jd}) \\sum_k a_{jk} \\, \\mathrm{occ}_{k,d}^{\\max}

with gains ``a_jk`` (calibrated where trial data exist, otherwise the class
default), ``T`` a tolerance state that rises towards ``ae_tolerance_max``
with time constant ``ae_tolerance_tau`` while the driver is on. A driver may have
its own tolerance (``ae_tolerance_max_<effect>_<target>``,
``ae_tolerance_tau_<effect>_<target>``): H1-driven daytime drowsiness fades within
days (Richardson 2002), while the sleep benefit of H1 block does not (pain model).
A patient has the effect on day ``d`` if ``s_j(age) I_jd > theta_ij = exp(sigma z_ij)``,
where ``s_j(age) = exp(beta_age (age - age_ref))`` for the
effects marked ``age_susceptible`` (anticholinergic, sedative, orthostatic; Beers 2023
direction, magnitude from the rise of orthostatic hypotension with age, docs/model.md §5)
and 1 otherwise. A driver may reach only a fraction of patients
(``ae_max_incidence_<effect>_<target>``, the plateau of its dose-response: the pregabalin
label's somnolence and dizziness rise from 150 to 300 mg/day and hardly from 300 to 600);
the others never get the effect from that driver. A drug may scale a target's drive by its
own fitted factor
``ae_drive_factor_<target>_<drug>`` (gabapentin's alpha2delta drive, fitted to its own
trial AE rates). A driver listed in ``unknown_gain`` has no cited or fitted gain: it adds
nothing and the effect is reported as resting on it (``unknown_drivers``), never as the class
default. Independently a nocebo event occurs with the cited placebo-arm rate (generic
"other" events complete the placebo any-AE rate). Withdrawal for an AE: daily hazard
``h0 + h1 x sum_j w_j (I_j / theta_j)^gamma`` over the drug effects present (``gamma`` =
``withdrawal_severity_exponent``: how much more a stronger effect makes patients stop),
where an effect's weight ``w_j`` is 1, except for the share of its drive that comes from
receptor blockade (H1, alpha1, muscarinic), weighted ``withdrawal_weight_receptor_blockade``
(calibrated to the TCA NNH). ``fall_risk_effects`` is reported as a composite: any
effect marked ``fall_risk`` (sedation, dizziness, orthostatic hypotension,
confusion). Discontinuation symptoms: an
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
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from neurodose.pd.params import PDParameters

__all__ = [
    "FALL_RISK",
    "RECEPTOR_BLOCKADE",
    "SLEEP_SEDATIVE_TARGETS",
    "AdverseResult",
    "ae_gain",
    "age_susceptibility",
    "discontinuation_symptoms",
    "max_incidence",
    "sedative_drive",
    "simulate_adverse",
]

Array = NDArray[np.float64]

#: targets whose blockade drives the sedative, autonomic and anticholinergic effects
RECEPTOR_BLOCKADE: tuple[str, ...] = ("H1", "alpha1", "muscarinic")

#: name of the composite outcome: any effect marked ``fall_risk`` present
FALL_RISK = "fall_risk_effects"


@dataclass(frozen=True)
class AdverseResult:
    """Per-patient adverse-effect outcomes.

    incidence : name -> bool (n,), any occurrence before withdrawal (drug or nocebo)
    drug_present : name -> bool (n, days), drug-induced effect present on day d (1-based col d-1)
    withdrawal_day : (n,) day of withdrawal for an AE (1-based), ``inf`` if none
    unknown_drivers : name -> reached targets whose gain for the effect is unknown (their
        drive is not counted: the incidence is a lower bound, or not computable)
    """

    incidence: Mapping[str, NDArray[np.bool_]]
    drug_present: Mapping[str, NDArray[np.bool_]]
    withdrawal_day: Array
    any_ae: NDArray[np.bool_]
    unknown_drivers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def ae_gain(params: PDParameters, ae: str, target: str, drug: str | None = None) -> float:
    """Gain of target ``target`` for adverse effect ``ae`` (calibrated or class default),
    times the drug's own drive factor for the target (``ae_drive_factor_<target>_<drug>``,
    1 where none is fitted).

    >>> from neurodose.pd.params import load_pd_parameters
    >>> p = load_pd_parameters()
    >>> q = p.with_values(ae_drive_factor_alpha2delta_gabapentin=0.5)
    >>> g = ae_gain(q, "dizziness", "alpha2delta")
    >>> ae_gain(q, "dizziness", "alpha2delta", "gabapentin") == 0.5 * g
    True
    """
    g = params.get(f"ae_gain_{ae}_{target}", params.value("ae_gain_default"))
    if drug is not None:
        g *= params.get(f"ae_drive_factor_{target}_{drug}", 1.0)
    return g


def max_incidence(params: PDParameters, ae: str, target: str) -> float:
    """Fraction of patients in whom ``target``'s drive can cause ``ae`` (1 unless fitted)."""
    return params.get(f"ae_max_incidence_{ae}_{target}", 1.0)


#: targets whose sedation also acts on night-time sleep (docs/model.md §3)
SLEEP_SEDATIVE_TARGETS: tuple[str, ...] = ("H1", "alpha2delta")


def sedative_drive(occ: Mapping[str, Array], params: PDParameters, like: Array) -> Array:
    """Sedative drive on sleep: ``sum_k a_drowsiness,k occ_k`` over
    :data:`SLEEP_SEDATIVE_TARGETS`, the potency scale of daytime drowsiness (same gains) but
    without its tolerance (docs/model.md §3). Targets not reached add nothing; a target
    whose drowsiness gain is listed as unknown adds nothing either.

    >>> import numpy as np
    >>> from neurodose.pd.params import load_pd_parameters
    >>> p = load_pd_parameters()
    >>> z = np.zeros((1, 2))
    >>> float(sedative_drive({"H1": z + 0.5}, p, z)[0, 0]) > 0.0
    True
    """
    unknown = params.adverse_effects["drowsiness"].unknown_gain
    out = np.zeros_like(like, dtype=float)
    for t in SLEEP_SEDATIVE_TARGETS:
        if t in occ and t not in unknown:
            out = out + ae_gain(params, "drowsiness", t) * np.clip(occ[t], 0.0, 1.0)
    return out


def _tolerance(params: PDParameters, ae: str, target: str) -> tuple[float, float]:
    """(maximum, time constant in h) of the tolerance of ``target``'s drive of ``ae``."""
    return (
        params.get(f"ae_tolerance_max_{ae}_{target}", params.value("ae_tolerance_max")),
        params.get(f"ae_tolerance_tau_{ae}_{target}", params.value("ae_tolerance_tau")),
    )


def age_susceptibility(params: PDParameters, age: Array | float | None) -> Array | float:
    """Multiplier of the intensity of the age-susceptible effects, ``exp(beta (age - ref))``.

    ``beta`` = ``ae_age_susceptibility`` (per year), ``ref`` = ``ae_age_reference``
    (years). Never falls with age when ``beta >= 0``; 1 when no age is given.

    >>> from neurodose.pd.params import load_pd_parameters
    >>> p = load_pd_parameters()
    >>> float(age_susceptibility(p, 75.0)) > 1.0 > float(age_susceptibility(p, 45.0))
    True
    """
    if age is None:
        return 1.0
    beta = params.value("ae_age_susceptibility")
    ref = params.value("ae_age_reference")
    return np.exp(beta * (np.asarray(age, dtype=float) - ref))


def _daily_presence(
    groups: Mapping[tuple[float, float], list[tuple[str, Array]]],
    theta: Array,
    n: int,
    days: int,
) -> tuple[NDArray[np.bool_], Array, Array]:
    """Per day: is the effect present (tolerated drive above the threshold ``theta``), the
    receptor-blockade share of the drive and the severity (drive / threshold). ``groups``
    maps a tolerance group ``(max, tau_h)`` to its drivers' daily drives; drivers of one
    group share a state."""
    pres = np.zeros((n, days), dtype=bool)
    share_rb = np.zeros((n, days))
    severity = np.zeros((n, days))
    if not groups:
        return pres, share_rb, severity
    states = {g: np.zeros(n) for g in groups}
    alphas = {g: 1.0 - np.exp(-24.0 / g[1]) for g in groups}
    for d in range(days):
        tot = np.zeros(n)
        rb = np.zeros(n)
        for g, items in groups.items():
            # intensity on day d meets the tolerance built up to the day before
            raw = sum(x[:, d] for _, x in items)
            for t, x in items:
                eff = x[:, d] * (1.0 - states[g])
                tot = tot + eff
                if t in RECEPTOR_BLOCKADE:
                    rb = rb + eff
            on = raw > 1e-6
            states[g] = states[g] + (np.where(on, g[0], 0.0) - states[g]) * alphas[g]
        pres[:, d] = tot > theta
        share_rb[:, d] = np.divide(rb, tot, out=np.zeros(n), where=tot > 1e-12)
        severity[:, d] = tot / theta
    return pres, share_rb, severity


def _drive_groups(
    occ_max: Mapping[str, Array],
    params: PDParameters,
    name: str,
    drug: str | None,
    u_sus: Array,
) -> tuple[dict[tuple[float, float], list[tuple[str, Array]]], tuple[str, ...]]:
    """Daily drives of effect ``name`` per tolerance group (drivers sharing tolerance
    parameters share a state), and the reached drivers whose gain is unknown. A driver
    with a maximum incidence below 1 drives only the patients with ``u_sus`` below it."""
    ae = params.adverse_effects[name]
    groups: dict[tuple[float, float], list[tuple[str, Array]]] = {}
    unknown: list[str] = []
    for t in ae.drivers:
        if t not in occ_max:
            continue
        if t in ae.unknown_gain:
            if np.any(occ_max[t] > 0.0):
                unknown.append(t)
            continue
        d_t = ae_gain(params, name, t, drug) * np.clip(occ_max[t], 0.0, 1.0)
        f = max_incidence(params, name, t)
        if f < 1.0:
            d_t = d_t * (u_sus < f)[:, None]
        groups.setdefault(_tolerance(params, name, t), []).append((t, d_t))
    return groups, tuple(unknown)


def _withdrawal_day(
    weights: Mapping[str, Array], params: PDParameters, exposed: NDArray[np.bool_], e_wd: Array
) -> Array:
    """Day of AE withdrawal: the cumulative hazard ``h0 + h1 sum_j weight_j`` crosses an
    Exp(1) draw (``inf`` = never)."""
    n_present = sum(weights.values(), np.zeros(exposed.shape))
    h0 = params.value("withdrawal_hazard_base")
    h = (h0 + params.value("withdrawal_hazard_per_ae") * n_present) * exposed
    crossed = np.cumsum(h, axis=1) > e_wd[:, None]
    return np.where(crossed.any(axis=1), crossed.argmax(axis=1) + 1.0, np.inf)


def simulate_adverse(
    occ_max: Mapping[str, Array],
    params: PDParameters,
    rng: np.random.Generator,
    *,
    exposed: NDArray[np.bool_] | None = None,
    age: Array | None = None,
    drug: str | None = None,
) -> AdverseResult:
    """Simulate adverse effects and AE withdrawal for ``n`` patients.

    Parameters
    ----------
    occ_max : mapping target -> array (n, days)
        Daily maximum occupancy (0-1) per reached target.
    params : PDParameters
    rng : numpy Generator
        Draws, in a fixed order: thresholds, nocebo events, withdrawal, susceptibility.
    exposed : bool array (n, days), optional
        Days on which the patient is still in the trial (default all).
    age : array (n,), optional
        Age in years; scales the effects marked ``age_susceptible``
        (:func:`age_susceptibility`). Default: no age effect.
    drug : str, optional
        The drug, for its own fitted drive factors (``ae_drive_factor_<target>_<drug>``).

    Returns
    -------
    AdverseResult
        ``incidence`` and ``drug_present`` also hold the composite
        :data:`FALL_RISK` (not counted again for withdrawal or ``any_ae``).
    """
    if not occ_max:
        raise ValueError("occ_max needs at least one target (use zeros for placebo)")
    n, days = next(iter(occ_max.values())).shape
    if age is not None:
        age = np.asarray(age, dtype=float)
        if age.shape != (n,):
            raise ValueError(f"age must have shape ({n},), got {age.shape}")
    w_rb = params.get("withdrawal_weight_receptor_blockade", 1.0)
    gamma = params.get("withdrawal_severity_exponent", 0.0)
    s_age = np.asarray(age_susceptibility(params, age)) if age is not None else None
    names = list(params.adverse_effects)
    z = rng.standard_normal((n, len(names)))
    u_noc = rng.random((n, len(names) + 1))
    onset_noc = rng.integers(1, max(days, 1) + 1, size=(n, len(names) + 1))
    e_wd: Array = np.asarray(rng.standard_exponential(n))
    u_sus = rng.random((n, len(names)))  # drawn last: the earlier draws keep their stream

    present: dict[str, NDArray[np.bool_]] = {}
    weight: dict[str, Array] = {}
    nocebo: dict[str, NDArray[np.bool_]] = {}
    unknown: dict[str, tuple[str, ...]] = {}
    for j, name in enumerate(names):
        ae = params.adverse_effects[name]
        groups, unk = _drive_groups(occ_max, params, name, drug, u_sus[:, j])
        if unk:
            unknown[name] = unk
        theta = np.exp(params.value("ae_susceptibility_sigma") * z[:, j])
        if ae.age_susceptible and s_age is not None:
            theta = theta / s_age
        pres, share_rb, severity = _daily_presence(groups, theta, n, days)
        present[name] = pres
        sev = np.power(np.maximum(severity, 1.0), gamma) if gamma else 1.0
        weight[name] = pres * sev * (1.0 - share_rb + w_rb * share_rb)
        rate = ae.placebo_rate.canonical() if ae.placebo_rate is not None else 0.0
        nocebo[name] = u_noc[:, j] < rate
    nocebo["_other"] = u_noc[:, -1] < params.value("nocebo_other_rate")

    if exposed is None:
        exposed = np.ones((n, days), dtype=bool)
    wd = _withdrawal_day(weight, params, exposed, e_wd)

    col1 = np.arange(1, days + 1)[None, :]
    on_trial = (col1 <= wd[:, None]) & exposed
    incidence: dict[str, NDArray[np.bool_]] = {}
    any_ae = np.zeros(n, dtype=bool)
    falls_inc = np.zeros(n, dtype=bool)
    falls_pres = np.zeros((n, days), dtype=bool)
    for j, name in enumerate(names):
        noc_day = onset_noc[:, j]
        inc = (present[name] & on_trial).any(axis=1) | (nocebo[name] & (noc_day <= wd))
        incidence[name] = inc
        any_ae |= inc
        if params.adverse_effects[name].fall_risk:
            falls_inc |= inc
            falls_pres |= present[name]
    any_ae |= nocebo["_other"] & (onset_noc[:, -1] <= wd)
    if any(a.fall_risk for a in params.adverse_effects.values()):
        incidence[FALL_RISK] = falls_inc
        present[FALL_RISK] = falls_pres
    return AdverseResult(
        incidence=incidence,
        drug_present=present,
        withdrawal_day=wd,
        any_ae=any_ae,
        unknown_drivers=unknown,
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
