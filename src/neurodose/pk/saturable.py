"""Solver for the saturable (Michaelis-Menten) one-compartment structure.

``one_compartment_saturable``: depot -ka-> central; central is eliminated by a
linear clearance ``CL`` and a saturable pathway ``Vmax * C / (Km + C)`` (``Vmax``
mg/h, ``Km`` ng/mL, ``C`` = 1000 x central / V in ng/mL). A saturable enzyme
pathway is not linear, so the eigen-decomposition solver of
:mod:`neurodose.pk.exact` does not apply. Here the depot is solved exactly
(``a(t) = a0 exp(-ka t)``) and the central compartment is integrated with the
classical 4th-order Runge-Kutta method on a fixed step of at most
:data:`MAX_STEP_H` hours (and ``MAX_STEP_H / max(ka, CL/V)``), stepping exactly
onto every dose, parameter change and output time. The loop over subjects runs
in numba (``prange``), so populations and trial arms keep the engine's speed.
With ``Vmax = 0`` the structure is the linear one-compartment model (checked
against the exact solver in the tests; the Michaelis-Menten case is checked
against LSODA, :func:`neurodose.pk.ode.solve_ode`).

Steady-state dose records (NONMEM SS=1/2) have no closed form for a nonlinear
model and are refused with a clear error: give repeated doses instead.

>>> import numpy as np
>>> from neurodose.case import Regimen
>>> from neurodose.pk.model import get_structure
>>> m = get_structure("one_compartment_saturable", ("drug",))
>>> p = {"F": 1.0, "ka": 1.0, "tlag": 0.0, "CL": 1.0, "V": 20.0, "Vmax": 0.0, "Km": 1.0}
>>> c = saturable_concentrations(m, p, Regimen.oral("100 mg", doses=1), [0.0, 1.0, 24.0])
>>> np.round(c["drug"], 1)
array([[   0. , 3070.3, 1585.2]])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

from neurodose.case.regimen import ExpandedDoses, Regimen
from neurodose.errors import InputError, RegimenError, SolverError
from neurodose.pk.model import PKModel

__all__ = ["MAX_STEP_H", "saturable_concentrations"]

Arr = NDArray[np.float64]

#: largest Runge-Kutta step (h), reduced to MAX_STEP_H / ka when ka > 1 /h; the error
#: against the exact solution is < 1e-4 and against LSODA (Michaelis-Menten) < 1e-3 relative
#: (tests/unit/pk/test_saturable.py)
MAX_STEP_H = 0.125

_PARAMS = ("F", "ka", "CL", "V", "Vmax", "Km")


@numba.njit(cache=True)
def _rhs(x: float, a: float, ka: float, k: float, vmax: float, km: float, v: float) -> float:
    c = 1000.0 * x / v
    if c < 0.0:
        c = 0.0
    return ka * a - k * x - vmax * c / (km + c)


@numba.njit(cache=True)
def _advance(
    x: float, a: float, dt: float, ka: float, k: float, vmax: float, km: float, v: float
) -> tuple[float, float]:
    """Advance (central x, depot a) by ``dt`` with RK4 sub-steps <= MAX_STEP_H."""
    if dt <= 0.0:
        return x, a
    # step <= MAX_STEP_H and <= MAX_STEP_H / max(ka, CL/V) (fast rates resolved)
    nsteps = int(np.ceil(dt * max(1.0, ka, k) / 0.125 - 1e-12))
    if nsteps < 1:
        nsteps = 1
    h = dt / nsteps
    eh2 = np.exp(-ka * h / 2.0)
    for _ in range(nsteps):
        a_mid = a * eh2
        a_end = a_mid * eh2
        k1 = _rhs(x, a, ka, k, vmax, km, v)
        k2 = _rhs(x + 0.5 * h * k1, a_mid, ka, k, vmax, km, v)
        k3 = _rhs(x + 0.5 * h * k2, a_mid, ka, k, vmax, km, v)
        k4 = _rhs(x + h * k3, a_end, ka, k, vmax, km, v)
        x = x + h * (k1 + 2.0 * k2 + 2.0 * k3 + k4) / 6.0
        if x < 0.0:
            x = 0.0
        a = a_end
    return x, a


@numba.njit(parallel=True, cache=True)
def _kernel(
    P: Arr,  # (n, S, 6) F, ka, CL, V, Vmax, Km per segment
    seg_t: Arr,  # (S-1,)
    ev_t: Arr,  # (n, D) dose event times (lag applied for oral doses)
    d_amt: Arr,  # (n or 1, D)
    d_iv: NDArray[np.bool_],  # (D,)
    times: Arr,  # (T,)
    out: Arr,  # (n, T)
    bad: NDArray[np.bool_],
) -> None:
    n = P.shape[0]
    S = P.shape[1]
    D = ev_t.shape[1]
    T = times.shape[0]
    for s in numba.prange(n):
        sa = s * (1 if d_amt.shape[0] > 1 else 0)
        order = np.argsort(ev_t[s], kind="mergesort")
        x = 0.0
        a = 0.0
        seg = 0
        tcur = times[0]
        if D > 0 and ev_t[s, order[0]] < tcur:
            tcur = ev_t[s, order[0]]
        if S > 1 and seg_t[0] < tcur:
            tcur = min(tcur, seg_t[0])
        ie = 0
        for j in range(T):
            t = times[j]
            while True:
                # next event (dose or segment change) at or before t
                t_dose = ev_t[s, order[ie]] if ie < D else np.inf
                t_seg = seg_t[seg] if seg < S - 1 else np.inf
                te = min(t_dose, t_seg)
                if te > t:
                    break
                ka = P[s, seg, 1]
                v = P[s, seg, 3]
                x, a = _advance(
                    x, a, te - tcur, ka, P[s, seg, 2] / v, P[s, seg, 4], P[s, seg, 5], v
                )
                tcur = te
                if t_seg <= t_dose:
                    seg += 1
                else:
                    q = order[ie]
                    if d_iv[q]:
                        x += d_amt[sa, q]
                    else:
                        a += d_amt[sa, q] * P[s, seg, 0]
                    ie += 1
            ka = P[s, seg, 1]
            v = P[s, seg, 3]
            x, a = _advance(x, a, t - tcur, ka, P[s, seg, 2] / v, P[s, seg, 4], P[s, seg, 5], v)
            tcur = t
            c = 1000.0 * x / v
            if not c < np.inf:
                bad[s] = True
            out[s, j] = c


def saturable_concentrations(
    model: PKModel,
    params: Mapping[str, Any],
    regimen: Regimen | ExpandedDoses,
    times_h: ArrayLike,
    *,
    changes: Sequence[tuple[float, Mapping[str, Any]]] = (),
    check: bool = True,
) -> dict[str, Arr]:
    """Concentrations (ng/mL) of a ``one_compartment_saturable`` model.

    Parameters
    ----------
    model : PKModel
        A ``one_compartment_saturable`` structure.
    params : mapping
        ``F, ka, tlag, CL, V, Vmax, Km`` (canonical units: L, L/h, 1/h, h, mg/h,
        ng/mL), scalars or arrays (n,) of per-subject values.
    regimen : Regimen or ExpandedDoses
        Doses; steady-state records are refused (no closed form).
    times_h : array-like
        Output times (h), increasing.
    changes : sequence of (t_h, params)
        Piecewise-constant parameter sets from ``t_h`` on (interactions).
    check : bool
        Validate parameter values (see :meth:`PKModel.check`).

    Returns
    -------
    dict
        ``{analyte: (n, T)}`` in ng/mL.
    """
    from neurodose.pk.exact import validate_times

    if not model.saturable:
        raise InputError("model", model.structure, "a saturable structure")
    t = validate_times(times_h)
    if isinstance(regimen, Regimen):
        doses, override = regimen.expand(), regimen.lag_override
    else:
        doses, override = regimen, None
    if np.any(doses.ss):
        raise RegimenError(
            "ss",
            int(doses.ss[np.nonzero(doses.ss)[0][0]]),
            "repeated doses: steady-state records have no closed form for the saturable "
            f"(Michaelis-Menten) model of {model.drug or 'this drug'}",
        )
    segs: list[tuple[float, Mapping[str, Any]]] = [(-np.inf, params), *changes]
    seg_times = np.array([c[0] for c in segs[1:]], dtype=np.float64)
    if seg_times.size and (np.any(np.diff(seg_times) <= 0) or not np.all(np.isfinite(seg_times))):
        raise InputError("changes", seg_times.tolist(), "finite, strictly increasing times")
    n = max(
        max((np.asarray(v).shape[0] for v in p.values() if np.asarray(v).ndim == 1), default=1)
        for _, p in segs
    )
    P = np.empty((n, len(segs), len(_PARAMS)))
    checked = []
    for si, (_, p) in enumerate(segs):
        pc = (
            model.check(p, n)
            if check
            else {q: np.broadcast_to(np.asarray(p[q], dtype=np.float64), (n,)) for q in p}
        )
        checked.append(pc)
        for j, q in enumerate(_PARAMS):
            P[:, si, j] = pc[q]
    p0 = checked[0]
    lag = np.full(n, override) if override is not None else np.asarray(p0["tlag"], dtype=float)
    ev_t = np.where(doses.iv[None, :], doses.times[None, :], doses.times[None, :] + lag[:, None])
    amt = np.ascontiguousarray(doses.amounts[None, :], dtype=np.float64)
    out = np.empty((n, t.size))
    bad = np.zeros(n, dtype=np.bool_)
    kernel: Any = _kernel
    kernel(
        P,
        seg_times,
        np.ascontiguousarray(ev_t, dtype=np.float64),
        amt,
        np.ascontiguousarray(doses.iv),
        t,
        out,
        bad,
    )
    if bad.any():
        raise SolverError(
            f"the saturable solver produced non-finite concentrations for {int(bad.sum())} "
            "subject(s)"
        )
    return {model.analytes[0]: out}
