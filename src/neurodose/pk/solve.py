"""Solvers: exact (matrix exponential by eigen-decomposition, superposition) and ODE.

Exact solver
------------
For a linear model ``dx/dt = A x`` with piecewise-constant parameters, each
subject's ``A = P diag(lambda) P^-1`` is decomposed once per parameter segment
(batched with numpy). In eigen-coordinates ``z = P^-1 x`` the state decays
independently, ``z(t + dt) = exp(lambda dt) z(t)``; a dose adds
``amt * P^-1 b``; a steady state (NONMEM SS=1/2) of ``amt`` every ``ii`` (lag
``L < ii``) is, at the nominal dose time, ``amt * P^-1 b * exp(lambda (ii - L)) /
(1 - exp(lambda ii))``; a parameter change maps ``z`` back through ``P``. This is
the matrix exponential applied with superposition: exact up to rounding, and the
loop over subjects runs in numba (``prange``; ``NUMBA_NUM_THREADS`` threads).
Doses at time ``t`` are included in observations at ``t``. Eigenvalues closer
than 1e-9 (relative) are separated by a relative ~3e-9 perturbation of the
diagonal (documented approximation; compartment matrices have real eigenvalues).

ODE solver
----------
:func:`solve_ode` integrates the same system (plus optional Michaelis-Menten
elimination, and continuous time-varying parameter multipliers) with
``scipy.integrate.solve_ivp`` (LSODA by default), one subject at a time, restarting
at each dose. Used for nonlinear models and to check the exact solver.

>>> import numpy as np
>>> from neurodose.case import Regimen
>>> from neurodose.pk.model import get_structure
>>> m = get_structure("one_compartment", ("drug",))
>>> p = {"F": 1.0, "ka": 1.0, "tlag": 0.0, "CL": 1.0, "V": 20.0}
>>> c = concentrations(m, p, Regimen.oral("100 mg", doses=1), [0.0, 1.0, 24.0])
>>> np.round(c["drug"], 1)
array([[   0. , 3070.3, 1585.2]])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

from neurodose.case.regimen import ExpandedDoses, Regimen
from neurodose.errors import InputError, RegimenError, SolverError
from neurodose.pk.model import PKModel

__all__ = [
    "SUMMARY_FIELDS",
    "concentrations",
    "decompose",
    "predict_at",
    "solve_ode",
    "summaries",
    "validate_times",
]

Arr = NDArray[np.float64]
ParamsLike = Mapping[str, "float | ArrayLike"]

_SEP = 1e-9


def validate_times(times_h: ArrayLike) -> Arr:
    """Times as a sorted, finite 1-D float array (h); errors name ``times_h``."""
    t = np.asarray(times_h, dtype=np.float64).ravel()
    if t.size == 0:
        raise InputError("times_h", [], "at least one time")
    if not np.all(np.isfinite(t)):
        raise InputError("times_h", "non-finite", "finite times in h")
    if np.any(np.diff(t) < 0):
        raise InputError("times_h", "unsorted", "times in increasing order")
    return t


@numba.njit(parallel=True, cache=True)
def _decompose_lower_kernel(A: Arr, lam: Arr, P: Arr, Pinv: Arr) -> None:
    """Per-subject closed form of :func:`_decompose_lower` (``prange`` over subjects).

    Diagonal entries closer than ``_SEP`` (relative to the largest) are nudged apart
    by relative ``3 _SEP (j + 1)``; then P (unit lower, columns from the recurrence)
    and its inverse by forward substitution.
    """
    n, k, _ = A.shape
    for s in numba.prange(n):
        scale = 0.0
        for i in range(k):
            lam[s, i] = A[s, i, i]
            v = abs(A[s, i, i])
            if v > scale:
                scale = v
        if scale < 1e-300:
            scale = 1e-300
        close = False
        for i in range(k):
            for j in range(i + 1, k):
                if abs(lam[s, i] - lam[s, j]) < _SEP * scale:
                    close = True
        if close:
            for j in range(k):
                lam[s, j] *= 1.0 + 3.0 * _SEP * (j + 1)
        for j in range(k):
            for i in range(k):
                P[s, i, j] = 0.0
                Pinv[s, i, j] = 0.0
        for j in range(k):
            P[s, j, j] = 1.0
            for i in range(j + 1, k):
                acc = 0.0
                for m in range(j, i):  # m < i: off-diagonal entries (never nudged)
                    acc += A[s, i, m] * P[s, m, j]
                P[s, i, j] = acc / (lam[s, j] - lam[s, i])
        for j in range(k):
            Pinv[s, j, j] = 1.0
            for i in range(j + 1, k):
                acc = 0.0
                for m in range(j, i):
                    acc += P[s, i, m] * Pinv[s, m, j]
                Pinv[s, i, j] = -acc


def _decompose_lower(A: Arr) -> tuple[Arr, Arr, Arr]:
    """Closed-form eigen-decomposition of lower-triangular (cascade) matrices."""
    A = np.ascontiguousarray(A, dtype=np.float64)
    n, k, _ = A.shape
    lam = np.empty((n, k))
    P = np.empty((n, k, k))
    Pinv = np.empty((n, k, k))
    _decompose_lower_kernel(A, lam, P, Pinv)
    return lam, P, Pinv


def decompose(A: Arr) -> tuple[Arr, Arr, Arr]:
    """Batched eigen-decomposition ``A = P diag(lam) P^-1`` for (n, k, k) matrices.

    Lower-triangular (cascade) systems use a closed form; others ``numpy.linalg.eig``.
    """
    A = np.array(A, dtype=np.float64, copy=True)
    if not np.any(np.triu(A, 1)):
        return _decompose_lower(A)
    k = A.shape[-1]
    lam, P = np.linalg.eig(A)
    lam_r = np.real(lam)
    scale = np.maximum(np.abs(lam_r).max(axis=-1, keepdims=True), 1e-300)
    srt = np.sort(lam_r, axis=-1)
    close = (np.diff(srt, axis=-1) < _SEP * scale).any(axis=-1)
    if np.any(np.iscomplex(lam)):
        close |= (np.abs(np.imag(lam)) > 0).any(axis=-1)
    if np.any(close):
        idx = np.nonzero(close)[0]
        for j in range(k):
            A[idx, j, j] *= 1.0 + 3.0 * _SEP * (j + 1)
        lam2, P2 = np.linalg.eig(A[idx])
        lam[idx] = lam2
        P[idx] = P2
    if np.any(np.abs(np.imag(lam)) > 1e-9 * np.abs(np.real(lam)).max()):
        raise SolverError("eigenvalues of the compartment matrix are complex; model is not valid")
    lam_r = np.ascontiguousarray(np.real(lam))
    P_r = np.ascontiguousarray(np.real(P))
    try:
        Pinv = np.linalg.inv(P_r)
    except np.linalg.LinAlgError as exc:  # pragma: no cover - guarded above
        raise SolverError(f"eigenvector matrix is singular: {exc}") from None
    return lam_r, P_r, np.ascontiguousarray(Pinv)


@numba.njit(cache=True)
def _subject(
    s: int,
    lam: Arr,
    G: Arr,
    Wo: Arr,
    Wi: Arr,
    P: Arr,
    Pinv: Arr,
    seg_t: Arr,
    d_t: Arr,
    d_amt: Arr,
    d_ii: Arr,
    d_ss: NDArray[np.int64],
    d_iv: NDArray[np.bool_],
    lag: Arr,
    times: Arr,
    buf: Arr,
) -> bool:
    """Concentrations of subject ``s`` into ``buf`` (O, T); True if any is not finite."""
    _, S, k = lam.shape
    O = G.shape[2]
    T = times.shape[0]
    D = d_t.shape[0]
    nss = 0
    for i in range(D):
        if d_ss[i] != 0:
            nss += 1
    E = (S - 1) + nss + D
    sa = s * (1 if d_amt.shape[0] > 1 else 0)
    bad = False
    ev_t = np.empty(E)
    ev_kind = np.empty(E, dtype=np.int64)
    ev_idx = np.empty(E, dtype=np.int64)
    e = 0
    for i in range(S - 1):
        ev_t[e] = seg_t[i]
        ev_kind[e] = 0
        ev_idx[e] = i + 1
        e += 1
    for i in range(D):
        if d_ss[i] != 0:
            ev_t[e] = d_t[i]
            ev_kind[e] = 1
            ev_idx[e] = i
            e += 1
    for i in range(D):
        ev_t[e] = d_t[i] + (0.0 if d_iv[i] else lag[s])
        ev_kind[e] = 2
        ev_idx[e] = i
        e += 1
    # ties: a segment change and a dose at the same time commute; an SS reset must
    # precede its own dose, so keep insertion order (stable sort) when SS is used
    sorted_already = True
    for q in range(1, E):
        if ev_t[q] < ev_t[q - 1]:
            sorted_already = False
            break
    if sorted_already:
        order = np.arange(E)
    elif nss > 0:
        order = np.argsort(ev_t, kind="mergesort")
    else:
        order = np.argsort(ev_t)
    z = np.zeros(k)
    fac = np.ones(k)
    x = np.zeros(k)
    g = np.empty((O, k))
    lm_s = np.empty(k)
    seg = 0
    for o in range(O):
        for m in range(k):
            g[o, m] = G[s, 0, o, m]
    for m in range(k):
        lm_s[m] = lam[s, 0, m]
    tcur = times[0]
    if E > 0 and ev_t[order[0]] < tcur:
        tcur = ev_t[order[0]]
    last_dt = -1.0
    ie = 0
    for j in range(T):
        t = times[j]
        while ie < E and ev_t[order[ie]] <= t:
            q = order[ie]
            te = ev_t[q]
            dt = te - tcur
            if dt != 0.0:
                if dt != last_dt:
                    for m in range(k):
                        fac[m] = np.exp(lm_s[m] * dt)
                    last_dt = dt
                for m in range(k):
                    z[m] *= fac[m]
                tcur = te
            kind = ev_kind[q]
            i = ev_idx[q]
            if kind == 0:
                for a in range(k):
                    acc = 0.0
                    for m in range(k):
                        acc += P[s, seg, a, m] * z[m]
                    x[a] = acc
                seg = i
                for m in range(k):
                    acc = 0.0
                    for a in range(k):
                        acc += Pinv[s, seg, m, a] * x[a]
                    z[m] = acc
                    lm_s[m] = lam[s, seg, m]
                for o in range(O):
                    for m in range(k):
                        g[o, m] = G[s, seg, o, m]
                last_dt = -1.0
            elif kind == 1:
                L = 0.0 if d_iv[i] else lag[s]
                ii = d_ii[i]
                amt = d_amt[sa, i]
                for m in range(k):
                    w = Wi[s, seg, m] if d_iv[i] else Wo[s, seg, m]
                    lm = lam[s, seg, m]
                    val = amt * w * np.exp(lm * (ii - L)) / (1.0 - np.exp(lm * ii))
                    if d_ss[i] == 1:
                        z[m] = val
                    else:
                        z[m] += val
            else:
                amt = d_amt[sa, i]
                for m in range(k):
                    w = Wi[s, seg, m] if d_iv[i] else Wo[s, seg, m]
                    z[m] += amt * w
            ie += 1
        dt = t - tcur
        if dt != 0.0:
            if dt != last_dt:
                for m in range(k):
                    fac[m] = np.exp(lm_s[m] * dt)
                last_dt = dt
            for m in range(k):
                z[m] *= fac[m]
            tcur = t
        for o in range(O):
            acc = 0.0
            for m in range(k):
                acc += g[o, m] * z[m]
            if acc < 0.0:
                acc = 0.0  # round-off: exact solutions are >= 0
            elif not acc < np.inf:
                bad = True
            buf[o, j] = acc
    return bad


@numba.njit(parallel=True, cache=True)
def _kernel(
    lam: Arr,  # (n, S, k)
    G: Arr,  # (n, S, O, k)  output per eigen-coordinate
    Wo: Arr,  # (n, S, k)  P^-1 b_oral
    Wi: Arr,  # (n, S, k)  P^-1 b_iv
    P: Arr,  # (n, S, k, k)
    Pinv: Arr,  # (n, S, k, k)
    seg_t: Arr,  # (S-1,) segment start times
    d_t: Arr,  # (D,) nominal dose times
    d_amt: Arr,  # (n or 1, D) amounts (bioavailability per dose already applied)
    d_ii: Arr,  # (D,)
    d_ss: NDArray[np.int64],  # (D,)
    d_iv: NDArray[np.bool_],  # (D,)
    lag: Arr,  # (n,)
    times: Arr,  # (T,)
    out: Arr,  # (n, O, T)
    bad: NDArray[np.bool_],  # (n,) set where a value is not finite
) -> None:
    n = lam.shape[0]
    for s in numba.prange(n):
        bad[s] = _subject(
            s, lam, G, Wo, Wi, P, Pinv, seg_t, d_t, d_amt, d_ii, d_ss, d_iv, lag, times, out[s]
        )


#: columns of the summary kernel's output
SUMMARY_FIELDS = (
    "cmax_ng_per_ml",
    "tmax_h",
    "auc_ng_h_per_ml",
    "cmin_last_ng_per_ml",
    "time_to_90pct_ss_h",
    "fraction_time_in_range",
)


@numba.njit(parallel=True, cache=True)
def _summary_kernel(
    lam: Arr,
    G: Arr,
    Wo: Arr,
    Wi: Arr,
    P: Arr,
    Pinv: Arr,
    seg_t: Arr,
    d_t: Arr,
    d_amt: Arr,
    d_ii: Arr,
    d_ss: NDArray[np.int64],
    d_iv: NDArray[np.bool_],
    lag: Arr,
    times: Arr,
    sum_rows: NDArray[np.bool_],  # (O,) rows added into an extra "total" row
    window_h: float,
    lo: float,
    hi: float,
    range_row: int,
    out: Arr,  # (n, R, 6) with R = O (+1 when any sum_rows)
    bad: NDArray[np.bool_],
) -> None:
    n = lam.shape[0]
    O = G.shape[2]
    T = times.shape[0]
    R = out.shape[1]
    t_end = times[T - 1]
    for s in numba.prange(n):
        buf = np.empty((R, T))
        cum = np.empty(T)
        bad[s] = _subject(
            s, lam, G, Wo, Wi, P, Pinv, seg_t, d_t, d_amt, d_ii, d_ss, d_iv, lag, times, buf[:O]
        )
        if R > O:
            for j in range(T):
                acc = 0.0
                for o in range(O):
                    if sum_rows[o]:
                        acc += buf[o, j]
                buf[O, j] = acc
        for r in range(R):
            cmax = -1.0
            tmax = 0.0
            cmin = np.inf
            inr = 0.0
            cum[0] = 0.0
            prev = buf[r, 0]
            for j in range(T):
                c = buf[r, j]
                if c > cmax:
                    cmax = c
                    tmax = times[j]
                if times[j] >= t_end - window_h and c < cmin:
                    cmin = c
                if j > 0:
                    dt = times[j] - times[j - 1]
                    cum[j] = cum[j - 1] + 0.5 * (c + prev) * dt
                    if r == range_row:
                        a = 1.0 if lo <= prev <= hi else 0.0
                        b = 1.0 if lo <= c <= hi else 0.0
                        inr += 0.5 * (a + b) * dt
                prev = c
            auc = cum[T - 1]
            # time to 90 % steady state: first time the running window mean reaches
            # 90 % of the final window mean (trapezoid areas)
            t90 = np.nan
            if t_end - times[0] >= window_h:
                jf = T - 1
                while jf > 0 and times[jf - 1] >= t_end - window_h:
                    jf -= 1
                final = (cum[T - 1] - cum[jf]) / (t_end - times[jf])
                j0 = 0
                for j in range(T):
                    if times[j] - times[0] < window_h:
                        continue
                    while times[j0] < times[j] - window_h:
                        j0 += 1
                    span = times[j] - times[j0]
                    if span > 0 and (cum[j] - cum[j0]) / span >= 0.9 * final:
                        t90 = times[j]
                        break
            out[s, r, 0] = cmax
            out[s, r, 1] = tmax
            out[s, r, 2] = auc
            out[s, r, 3] = cmin
            out[s, r, 4] = t90
            out[s, r, 5] = (
                inr / (t_end - times[0]) if (r == range_row and t_end > times[0]) else np.nan
            )


@numba.njit(parallel=True, cache=True)
def _project(H: Arr, P: Arr, Pinv: Arr, b_o: Arr, b_i: Arr, G: Arr, Wo: Arr, Wi: Arr) -> None:
    """G = H P, Wo = P^-1 b_oral, Wi = P^-1 b_iv for each subject (in place)."""
    n, O, k = H.shape
    for s in numba.prange(n):
        for o in range(O):
            for m in range(k):
                acc = 0.0
                for a in range(k):
                    acc += H[s, o, a] * P[s, a, m]
                G[s, o, m] = acc
        for m in range(k):
            ao = 0.0
            ai = 0.0
            for a in range(k):
                ao += Pinv[s, m, a] * b_o[s, a]
                ai += Pinv[s, m, a] * b_i[s, a]
            Wo[s, m] = ao
            Wi[s, m] = ai


def _dose_amounts(p: Mapping[str, Arr], doses: ExpandedDoses, n: int) -> Arr:
    """Amounts per subject and dose, with saturable bioavailability when the
    parameters carry ``Dmax`` and ``D50`` (F = Dmax / (D50 + dose))."""
    if "Dmax" not in p or "D50" not in p:
        return np.ascontiguousarray(doses.amounts[None, :], dtype=np.float64)
    amt = np.broadcast_to(doses.amounts, (n, len(doses))).astype(np.float64)
    if "Dmax" in p and "D50" in p:
        dmax = np.broadcast_to(np.asarray(p["Dmax"], dtype=np.float64), (n,))[:, None]
        d50 = np.broadcast_to(np.asarray(p["D50"], dtype=np.float64), (n,))[:, None]
        oral = ~doses.iv[None, :]
        f = np.where(oral, np.minimum(dmax / (d50 + amt), 1.0), 1.0)
        amt = amt * f
    return np.ascontiguousarray(amt)


def _n_of(params: ParamsLike) -> int:
    n = 1
    for v in params.values():
        a = np.asarray(v)
        if a.ndim == 1:
            n = max(n, a.shape[0])
    return n


def _broadcast(model: PKModel, params: ParamsLike, n: int, check: bool) -> dict[str, Arr]:
    """Parameter arrays (n,) for ``model``; ``check=False`` skips the value checks.

    Unchecked, a missing parameter or a bad shape still gets
    :meth:`PKModel.check`'s error naming the parameter.
    """
    if not check:
        out: dict[str, Arr] = {}
        try:
            for q in model.parameter_names:
                a = np.asarray(params[q], dtype=np.float64)
                out[q] = a if a.shape == (n,) else np.broadcast_to(a, (n,))
        except (KeyError, ValueError, TypeError):
            pass
        else:
            return out
    return model.check(params, n)


def _prepare(
    model: PKModel,
    params: ParamsLike,
    regimen: Regimen | ExpandedDoses,
    times_h: ArrayLike,
    changes: Sequence[tuple[float, ParamsLike]],
    check: bool = True,
) -> tuple[int, Arr, tuple[Any, ...]]:
    """Validated kernel arguments: (n, times, args before ``times``)."""
    t = validate_times(times_h)
    if isinstance(regimen, Regimen):
        doses, override = regimen.expand(), regimen.lag_override
    else:
        doses, override = regimen, None
    segs: list[tuple[float, ParamsLike]] = [(-np.inf, params), *changes]
    seg_times = np.array([c[0] for c in segs[1:]], dtype=np.float64)
    if seg_times.size and (np.any(np.diff(seg_times) <= 0) or not np.all(np.isfinite(seg_times))):
        raise InputError("changes", seg_times.tolist(), "finite, strictly increasing times")
    n = max(_n_of(p) for _, p in segs)
    S = len(segs)
    k = model.n_states
    O = len(model.analytes)
    lam_a = np.empty((n, S, k))
    P_a = np.empty((n, S, k, k))
    Pi_a = np.empty((n, S, k, k))
    G_a = np.empty((n, S, O, k))
    Wo_a = np.empty((n, S, k))
    Wi_a = np.empty((n, S, k))
    checked = []
    for si, (_, p) in enumerate(segs):
        pc = _broadcast(model, p, n, check)
        checked.append(pc)
        A, b_o, b_i, H = model.matrices(pc)
        lam, P, Pinv = decompose(A)
        lam_a[:, si] = lam
        P_a[:, si] = P
        Pi_a[:, si] = Pinv
        _project(H, P, Pinv, b_o, b_i, G_a[:, si], Wo_a[:, si], Wi_a[:, si])
    p0 = checked[0]
    lag = np.full(n, override) if override is not None else p0["tlag"].copy()
    if len(checked) > 1 and any(np.any(c["tlag"] != p0["tlag"]) for c in checked[1:]):
        raise InputError("changes", "tlag", "the same tlag in every parameter segment")
    ss_idx = np.nonzero(doses.ss)[0]
    for i in ss_idx:
        if np.any(lag >= doses.ii[i]) and not doses.iv[i]:
            raise RegimenError("ss", int(doses.ss[i]), "a lag time shorter than the interval ii")
    amt = _dose_amounts({**{k: np.asarray(v) for k, v in params.items()}}, doses, n)
    args = (
        lam_a,
        G_a,
        Wo_a,
        Wi_a,
        P_a,
        Pi_a,
        seg_times,
        doses.times,
        amt,
        doses.ii,
        doses.ss,
        doses.iv,
        np.ascontiguousarray(lag, dtype=np.float64),
    )
    return n, t, args


def concentrations(
    model: PKModel,
    params: ParamsLike,
    regimen: Regimen,
    times_h: ArrayLike,
    *,
    changes: Sequence[tuple[float, ParamsLike]] = (),
    out: Arr | None = None,
) -> dict[str, Arr]:
    """Exact concentrations (ng/mL) for every subject and time.

    Parameters
    ----------
    model : PKModel
        Structure (see :mod:`neurodose.pk.model`).
    params : mapping of name -> float or array (n,)
        Parameter values in canonical units (L, L/h, 1/h, h); arrays give one value
        per subject. ``Dmax``/``D50`` (mg) switch on saturable bioavailability.
    regimen : Regimen
        Doses (times from t = 0 in h).
    times_h : array-like
        Output times in h, increasing.
    changes : sequence of (t_h, params)
        Piecewise-constant parameter changes: from ``t_h`` on, ``params`` (complete
        sets) apply. Used for interactions that start or stop.
    out : ndarray (n, n_analytes, T), optional
        Buffer to write into (reuse it across chunks to avoid page-faulting fresh
        memory); the returned arrays are views of it.

    Returns
    -------
    dict
        ``{analyte: array (n, len(times_h))}`` in ng/mL.
    """
    if model.saturable:
        from neurodose.pk.saturable import saturable_concentrations

        res = saturable_concentrations(model, params, regimen, times_h, changes=changes)
        if out is not None:
            out[:, 0, :] = res[model.analytes[0]]
            return {model.analytes[0]: out[:, 0, :]}
        return res
    n, t, args = _prepare(model, params, regimen, times_h, changes)
    return _run(model, n, t, args, out)


def _run(
    model: PKModel,
    n: int,
    t: Arr,
    args: tuple[Any, ...],
    out: Arr | None = None,
    rows: str = "subject(s)",
) -> dict[str, Arr]:
    """Run the exact kernel on :func:`_prepare`'s arguments: ``{analyte: (n, T)}``."""
    shape = (n, len(model.analytes), t.size)
    if out is None:
        out = np.empty(shape)
    elif out.shape != shape or out.dtype != np.float64 or not out.flags.c_contiguous:
        raise InputError("out", out.shape, f"a C-contiguous float64 array of shape {shape}")
    bad = np.zeros(n, dtype=np.bool_)
    kernel: Any = _kernel
    kernel(*args, t, out, bad)
    _raise_if_bad(bad, rows)
    return {a: out[:, i, :] for i, a in enumerate(model.analytes)}


def _raise_if_bad(bad: NDArray[np.bool_], rows: str = "subject(s)") -> None:
    """A SolverError when the kernel flagged non-finite concentrations for some rows."""
    if bad.any():
        raise SolverError(
            f"the exact solver produced non-finite concentrations for {int(bad.sum())} {rows}"
        )


def predict_at(
    model: PKModel,
    params: ParamsLike,
    doses: Regimen | ExpandedDoses,
    times_h: ArrayLike,
    *,
    check: bool = True,
) -> dict[str, Arr]:
    """Exact concentrations (ng/mL) at given times, for repeated calls (MAP, dose search).

    The same solution as :func:`concentrations` (same kernel, same numbers) without
    its per-call overheads when the doses and times stay fixed and only the
    parameters change: pass the doses expanded once (``regimen.expand()``) and,
    where the parameters are valid by construction (e.g. ``typical * exp(eta)``),
    ``check=False``. No time-varying parameter segments (use :func:`concentrations`
    with ``changes``).

    Parameters
    ----------
    model : PKModel
        Structure (see :mod:`neurodose.pk.model`).
    params : mapping of name -> float or array (n,)
        Every parameter of ``model`` in canonical units (L, L/h, 1/h, h; ``Dmax``/
        ``D50`` in mg for saturable bioavailability); arrays give one value per row.
    doses : Regimen or ExpandedDoses
        Doses (times from t = 0 in h, amounts in mg). A :class:`~neurodose.case.
        ExpandedDoses` (from ``Regimen.expand()``) is used as is: no re-expansion,
        and the lag time is the parameter ``tlag`` (a Regimen's lag override is
        applied only when a Regimen is passed).
    times_h : array-like
        Output times in h, finite and increasing (checked).
    check : bool
        Validate the parameter values (finite, in range) as :func:`concentrations`
        does. ``False`` skips those checks (missing parameters and bad shapes are
        still errors naming the parameter); a non-finite result is a
        :class:`~neurodose.errors.SolverError` either way.

    Returns
    -------
    dict
        ``{analyte: array (n, len(times_h))}`` in ng/mL, ``n`` the number of rows.

    Raises
    ------
    InputError
        Missing/invalid parameters (named), bad times (``times_h``).
    RegimenError
        A steady-state dose with a lag time not shorter than its interval.
    SolverError
        Non-finite concentrations for some rows.

    Examples
    --------
    >>> import numpy as np
    >>> from neurodose.case import Regimen
    >>> from neurodose.pk.model import get_structure
    >>> m = get_structure("one_compartment", ("drug",))
    >>> doses = Regimen.oral("100 mg", every="24 h", days=7).expand()
    >>> p = {"F": 1.0, "ka": 1.0, "tlag": 0.0, "CL": np.array([1.0, 2.0]), "V": 20.0}
    >>> c = predict_at(m, p, doses, [23.0, 167.0], check=False)
    >>> c["drug"].shape
    (2, 2)
    >>> bool(np.allclose(c["drug"], concentrations(m, p, Regimen.oral("100 mg", days=7),
    ...                                            [23.0, 167.0])["drug"], rtol=1e-12))
    True
    """
    if model.saturable:
        from neurodose.pk.saturable import saturable_concentrations

        return saturable_concentrations(model, params, doses, times_h, check=check)
    n, t, args = _prepare(model, params, doses, times_h, (), check=check)
    return _run(model, n, t, args, rows="parameter set(s)")


def summaries(
    model: PKModel,
    params: ParamsLike,
    regimen: Regimen,
    times_h: ArrayLike,
    *,
    changes: Sequence[tuple[float, ParamsLike]] = (),
    total: Sequence[str] = (),
    window_h: float = 24.0,
    tdm_range: tuple[float, float] | None = None,
) -> dict[str, dict[str, Arr]]:
    """Per-subject summaries computed inside the kernel (no (n, T) matrix is kept).

    Returns ``{analyte (and "total" when ``total`` names analytes): {field: (n,)}}``
    with the fields of :data:`SUMMARY_FIELDS`: Cmax, Tmax, AUC (trapezoid on the
    grid), Cmin over the last ``window_h``, time to 90 % steady state (first time
    the running ``window_h`` mean reaches 90 % of the final one) and, with
    ``tdm_range``, the fraction of time in range (of "total" if given, else the
    first analyte; NaN elsewhere).
    """
    if model.saturable:
        raise SolverError(
            f"in-kernel summaries are not available for the saturable model of {model.drug}; "
            "use concentrations()"
        )
    n, t, args = _prepare(model, params, regimen, times_h, changes)
    names = list(model.analytes)
    unknown = [a for a in total if a not in names]
    if unknown:
        raise InputError("total", unknown, f"analytes of the model: {names}")
    sum_rows = np.array([a in total for a in names], dtype=np.bool_)
    rows = [*names, "total"] if len(total) else names
    out = np.empty((n, len(rows), len(SUMMARY_FIELDS)))
    bad = np.zeros(n, dtype=np.bool_)
    lo, hi = tdm_range if tdm_range is not None else (np.nan, np.nan)
    range_row = -1 if tdm_range is None else (len(rows) - 1 if len(total) else 0)
    kernel: Any = _summary_kernel
    kernel(*args, t, sum_rows, float(window_h), float(lo), float(hi), range_row, out, bad)
    _raise_if_bad(bad)
    return {r: {f: out[:, i, j] for j, f in enumerate(SUMMARY_FIELDS)} for i, r in enumerate(rows)}


def solve_ode(
    model: PKModel,
    params: Mapping[str, float],
    regimen: Regimen,
    times_h: ArrayLike,
    *,
    multipliers: Callable[[float], Mapping[str, float]] | None = None,
    vmax: float | None = None,
    km: float | None = None,
    method: str = "LSODA",
    rtol: float = 1e-8,
    atol: float = 1e-10,
) -> dict[str, Arr]:
    """One subject by numerical integration (``scipy.integrate.solve_ivp``).

    Parameters
    ----------
    multipliers : callable, optional
        ``t -> {param: factor}`` continuous time-varying multipliers (e.g. an
        inhibitor's onset) applied to the parameters at each right-hand-side call.
    vmax, km : float, optional
        Michaelis-Menten elimination from the central/parent compartment
        (``vmax`` mg/h, ``km`` ng/mL) in addition to the linear clearance.

    Returns ``{analyte: array (1, len(times_h))}`` like :func:`concentrations`.
    SS dosing is not supported here (use :func:`concentrations`).
    """
    from scipy.integrate import solve_ivp

    t = validate_times(times_h)
    doses = regimen.expand()
    if np.any(doses.ss):
        raise SolverError("solve_ode does not support SS dosing; use concentrations()")
    base = model.check(params, 1)
    base_scalar = {k: float(v[0]) for k, v in base.items()}
    A0, b_o, b_i, H = model.matrices(base)
    lag = regimen.lag_override if regimen.lag_override is not None else base_scalar["tlag"]
    amt = _dose_amounts({k: np.asarray(v) for k, v in params.items()}, doses, 1)[0]
    ev_t = np.where(doses.iv, doses.times, doses.times + lag)
    order = np.argsort(ev_t, kind="stable")
    central = 1
    vol = base_scalar["V"]

    def rhs(tt: float, x: Arr) -> Arr:
        if multipliers is None:
            A = A0[0]
        else:
            f = multipliers(tt)
            pp = {k: np.array([v * f.get(k, 1.0)]) for k, v in base_scalar.items()}
            A = model.matrices(pp)[0][0]
        dx = A @ x
        if vmax is not None and km is not None:
            c = 1000.0 * max(x[central], 0.0) / vol
            dx[central] -= vmax * c / (km + c)
        return dx

    k = model.n_states
    x = np.zeros(k)
    out = np.zeros((len(model.analytes), t.size))
    tcur = min(float(t[0]), float(ev_t.min()) if ev_t.size else float(t[0]))
    stops = sorted(set(ev_t.tolist()) | {float(t[-1])})
    j = 0
    ie = 0
    for stop in stops:
        # observations strictly before this stop
        mask_idx = [jj for jj in range(j, t.size) if t[jj] < stop]
        if stop > tcur:
            eval_t = [t[jj] for jj in mask_idx if t[jj] >= tcur]
            sol = solve_ivp(
                rhs,
                (tcur, stop),
                x,
                method=method,
                rtol=rtol,
                atol=atol,
                t_eval=None,
                dense_output=True,
            )
            if not sol.success:
                raise SolverError(f"ODE solver failed: {sol.message}")
            for jj in mask_idx:
                if t[jj] >= tcur:
                    out[:, jj] = H[0] @ sol.sol(t[jj])
            del eval_t
            x = sol.y[:, -1].copy()
            tcur = stop
        j = mask_idx[-1] + 1 if mask_idx else j
        while ie < len(order) and ev_t[order[ie]] <= stop:
            i = order[ie]
            x = x + amt[i] * (b_i[0] if doses.iv[i] else b_o[0])
            ie += 1
    for jj in range(j, t.size):
        if t[jj] <= tcur:
            out[:, jj] = H[0] @ x
    return {a: out[i][None, :] for i, a in enumerate(model.analytes)}
