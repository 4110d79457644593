"""Solver for the saturable (Michaelis-Menten) one-compartment structure.

``one_compartment_saturable``: depot -ka-> central; central is eliminated by a
linear clearance ``CL`` and a saturable pathway ``Vmax * C / (Km + C)`` (``Vmax``
mg/h, ``Km`` ng/mL, ``C`` = 1000 x central / V in ng/mL). A saturable enzyme
pathway is not linear, so the eigen-decomposition solver of
:mod:`neurodose.pk.exact` does not apply. Here the depot is solved exactly
(``a(t) = a0 exp(-ka t)``) and the central compartment is integrated with the
classical 4th-order Runge-Kutta method on a fixed step of at most
:data:`MAX_STEP_H` hours (and ``MAX_STEP_H / max(ka, CL/V)``), stepping exactly
onto every dose, parameter change and output time. The per-subject function
(:func:`subject_concentrations`) is plain Python: one subject runs as it is (no
numba start-up), and :mod:`neurodose.pk.kernels` compiles it unchanged for the
loop over subjects (``prange``), so populations and trial arms keep the engine's
speed (:func:`~neurodose.pk.exact.choose_backend`).
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

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neurodose.case.regimen import ExpandedDoses, Regimen
from neurodose.errors import InputError, RegimenError, SolverError
from neurodose.pk.exact import choose_backend, validate_times
from neurodose.pk.model import PKModel

__all__ = ["MAX_STEP_H", "saturable_concentrations", "subject_concentrations"]

Arr = NDArray[np.float64]

#: largest Runge-Kutta step (h), reduced to MAX_STEP_H / ka when ka > 1 /h; the error
#: against the exact solution is < 1e-4 and against LSODA (Michaelis-Menten) < 1e-3 relative,
#: with an absolute floor of 1e-5 of the peak for troughs far below it
#: (tests/unit/pk/test_saturable.py)
MAX_STEP_H = 0.125

_PARAMS = ("F", "ka", "CL", "V", "Vmax", "Km")


def subject_concentrations(
    s: int,
    P: Arr,  # (n, S, 6) F, ka, CL, V, Vmax, Km per segment
    seg_t: Arr,  # (S-1,)
    ev_t: Arr,  # (n, D) dose event times (lag applied for oral doses)
    d_amt: Arr,  # (n or 1, D)
    d_iv: NDArray[np.bool_],  # (D,)
    times: Arr,  # (T,)
    out: Arr,  # (n, T)
) -> bool:
    """Concentrations of subject ``s`` into ``out[s]``; True if any is not finite.

    Between events (doses, parameter changes, output times) the depot decays exactly
    (``a exp(-ka t)``) and the central compartment follows
    ``dx/dt = ka a - k x - Vmax C / (Km + C)``, ``C = 1000 x / V`` (clipped at 0), by
    RK4 on equal sub-steps <= MAX_STEP_H (and <= MAX_STEP_H / max(ka, CL/V, 1000 Vmax/(V Km)),
    the fastest first-order rate of the system). Plain
    Python that numba compiles unchanged (:mod:`neurodose.pk.kernels`).
    """
    S = P.shape[1]
    D = ev_t.shape[1]
    T = times.shape[0]
    bad = False
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
            # next event (dose or segment change) at or before t, else t itself
            t_dose = ev_t[s, order[ie]] if ie < D else np.inf
            t_seg = seg_t[seg] if seg < S - 1 else np.inf
            te = min(t_dose, t_seg)
            target = te if te <= t else t
            # advance (x, a) from tcur to target
            ka = P[s, seg, 1]
            v = P[s, seg, 3]
            k = P[s, seg, 2] / v
            vmax = P[s, seg, 4]
            km = P[s, seg, 5]
            dt = target - tcur
            if dt > 0.0:
                # fastest rate: absorption, linear elimination, or Michaelis-Menten
                # elimination at C << Km (first order, 1000 Vmax / (V Km) per hour)
                rate = max(1.0, ka, k, 1000.0 * vmax / (v * km) if km > 0.0 else 0.0)
                nsteps = math.ceil(dt * rate / MAX_STEP_H - 1e-12)
                if nsteps < 1:
                    nsteps = 1
                h = dt / nsteps
                eh2 = math.exp(-ka * h / 2.0)
                for _ in range(nsteps):
                    a_mid = a * eh2
                    a_end = a_mid * eh2
                    # the four RK4 stages: stage state, right-hand side, weighted sum
                    acc = 0.0
                    kj = 0.0
                    for stage in range(4):
                        if stage == 0:
                            xs = x
                            aj = a
                        elif stage < 3:
                            xs = x + 0.5 * h * kj
                            aj = a_mid
                        else:
                            xs = x + h * kj
                            aj = a_end
                        c = 1000.0 * xs / v
                        if c < 0.0:
                            c = 0.0
                        kj = ka * aj - k * xs - vmax * c / (km + c)
                        acc = acc + (kj if stage == 0 or stage == 3 else 2.0 * kj)
                    x = x + h * acc / 6.0
                    if x < 0.0:
                        x = 0.0
                    a = a_end
            tcur = target
            if te > t:
                break
            if t_seg <= t_dose:
                seg += 1
            else:
                q = order[ie]
                if d_iv[q]:
                    x += d_amt[sa, q]
                else:
                    a += d_amt[sa, q] * P[s, seg, 0]
                ie += 1
        c = 1000.0 * x / P[s, seg, 3]
        if not c < np.inf:
            bad = True
        out[s, j] = c
    return bad


def saturable_concentrations(
    model: PKModel,
    params: Mapping[str, Any],
    regimen: Regimen | ExpandedDoses,
    times_h: ArrayLike,
    *,
    changes: Sequence[tuple[float, Mapping[str, Any]]] = (),
    check: bool = True,
    backend: str = "auto",
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
    backend : {"auto", "python", "numba"}
        Where the per-subject loop runs (:func:`~neurodose.pk.exact.choose_backend`:
        Python for one subject, numba for more); the same numbers either way.

    Returns
    -------
    dict
        ``{analyte: (n, T)}`` in ng/mL.
    """
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
    args = (
        P,
        seg_times,
        np.ascontiguousarray(ev_t, dtype=np.float64),
        amt,
        np.ascontiguousarray(doses.iv),
        t,
        out,
    )
    if choose_backend(n, backend) == "numba":
        from neurodose.pk import kernels

        kernel: Any = kernels.saturable_concentrations
        kernel(args, bad)
    else:
        for s in range(n):
            bad[s] = subject_concentrations(s, *args)
    if bad.any():
        raise SolverError(
            f"the saturable solver produced non-finite concentrations for {int(bad.sum())} "
            "subject(s)"
        )
    return {model.analytes[0]: out}
