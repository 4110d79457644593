"""The exact solver for linear models: one subject at a time, in plain Python/numpy.

For a linear model ``dx/dt = A x`` with piecewise-constant parameters, each
subject's ``A = P diag(lambda) P^-1`` is decomposed once per parameter segment.
In eigen-coordinates ``z = P^-1 x`` the state decays independently,
``z(t + dt) = exp(lambda dt) z(t)``; a dose adds ``amt * P^-1 b``; a steady state
(NONMEM SS=1/2) of ``amt`` every ``ii`` (lag ``L < ii``) is, at the nominal dose
time, ``amt * P^-1 b * exp(lambda (ii - L)) / (1 - exp(lambda ii))``; a parameter
change maps ``z`` back through ``P``. This is the matrix exponential applied with
superposition: exact up to rounding. Doses at time ``t`` are included in
observations at ``t``. Eigenvalues closer than :data:`SEP` (relative) are separated
by a relative ~3e-9 perturbation of the diagonal (documented approximation;
compartment matrices have real eigenvalues).

Two backends run the same per-subject functions of this module
(:func:`subject_concentrations`, :func:`decompose_lower_subject`,
:func:`project_subject`), written once in the subset of Python that numba compiles:

- ``"python"``: the functions as they are, one subject at a time. A single patient
  (``neurodose simulate``) needs a few milliseconds and never imports numba, whose
  start-up (import and loading the cached kernels) costs about a second.
- ``"numba"``: :mod:`neurodose.pk.kernels` compiles the same functions and loops
  over subjects in parallel (``prange``; ``NUMBA_NUM_THREADS`` threads): populations,
  trials, MAP estimation.

``"auto"`` (the default, :func:`choose_backend`) takes numba for more than one
subject, or once the kernels are loaded anyway, and Python otherwise. Both give the
same numbers (the same floating-point operations in the same order; checked to
rtol 1e-12 by a property test in ``tests/unit/pk/test_exact.py``).

The public entry points are in :mod:`neurodose.pk.solve`; this module holds the
algorithm and the preparation of its arrays (:func:`prepare`).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neurodose.case.regimen import ExpandedDoses, Regimen
from neurodose.errors import InputError, RegimenError, SolverError
from neurodose.pk.model import PKModel

__all__ = [
    "BACKENDS",
    "SEP",
    "Backend",
    "choose_backend",
    "decay",
    "decompose",
    "decompose_lower_subject",
    "dose_amounts",
    "prepare",
    "project_subject",
    "run",
    "subject_concentrations",
    "validate_times",
]

Arr = NDArray[np.float64]
ParamsLike = Mapping[str, "float | ArrayLike"]
Backend = Literal["auto", "python", "numba"]
#: backends of the exact solver (see the module docstring)
BACKENDS: tuple[str, ...] = ("auto", "python", "numba")

#: relative distance below which two eigenvalues are nudged apart
SEP = 1e-9

_KERNELS = "neurodose.pk.kernels"


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


def choose_backend(n: int, backend: str = "auto") -> str:
    """``"python"`` or ``"numba"`` for ``n`` subjects (see the module docstring).

    ``"auto"``: numba for ``n > 1`` or when :mod:`neurodose.pk.kernels` is already
    imported (then it is the faster one and costs nothing more to start), else Python.
    """
    if backend == "auto":
        return "numba" if n > 1 or _KERNELS in sys.modules else "python"
    if backend not in ("python", "numba"):
        raise InputError("backend", backend, f"one of {list(BACKENDS)}")
    return backend


# ----------------------------------------------------------------------------
# per-subject functions: plain Python, compiled unchanged by neurodose.pk.kernels
# ----------------------------------------------------------------------------


def decompose_lower_subject(s: int, A: Arr, lam: Arr, P: Arr, Pinv: Arr) -> None:
    """Closed-form eigen-decomposition of subject ``s``'s lower-triangular (cascade) matrix.

    Diagonal entries closer than :data:`SEP` (relative to the largest) are nudged apart
    by relative ``3 SEP (j + 1)``; then P (unit lower, columns from the recurrence)
    and its inverse by forward substitution, into ``lam[s]``, ``P[s]``, ``Pinv[s]``.
    """
    k = A.shape[1]
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
            if abs(lam[s, i] - lam[s, j]) < SEP * scale:
                close = True
    if close:
        for j in range(k):
            lam[s, j] *= 1.0 + 3.0 * SEP * (j + 1)
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


def project_subject(
    s: int, H: Arr, P: Arr, Pinv: Arr, b_o: Arr, b_i: Arr, G: Arr, Wo: Arr, Wi: Arr
) -> None:
    """G = H P, Wo = P^-1 b_oral, Wi = P^-1 b_iv for subject ``s`` (in place)."""
    O = H.shape[1]
    k = H.shape[2]
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


def decay(z: Arr, fac: Arr, lam: Arr, dt: float, last_dt: float) -> float:
    """Advance eigen-coordinates ``z`` by ``dt`` h (``z *= exp(lam dt)``, in place).

    ``fac`` holds ``exp(lam last_dt)`` from the last step and is recomputed only when
    ``dt`` differs (equal steps are common); returns the ``dt`` that ``fac`` now holds.
    numba compiles it with the functions that call it (:mod:`neurodose.pk.kernels`).
    """
    k = z.shape[0]
    if dt != last_dt:
        for m in range(k):
            fac[m] = math.exp(lam[m] * dt)
    for m in range(k):
        z[m] *= fac[m]
    return dt


def subject_concentrations(
    s: int,
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
    buf: Arr,  # (O, T) output
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
            if te != tcur:
                last_dt = decay(z, fac, lm_s, te - tcur, last_dt)
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
                    val = amt * w * math.exp(lm * (ii - L)) / (1.0 - math.exp(lm * ii))
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
        if t != tcur:
            last_dt = decay(z, fac, lm_s, t - tcur, last_dt)
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


# ----------------------------------------------------------------------------
# decomposition, preparation, running
# ----------------------------------------------------------------------------


def _decompose_lower(A: Arr, backend: str = "auto") -> tuple[Arr, Arr, Arr]:
    """Closed-form eigen-decomposition of lower-triangular (cascade) matrices."""
    A = np.ascontiguousarray(A, dtype=np.float64)
    n, k, _ = A.shape
    lam = np.empty((n, k))
    P = np.empty((n, k, k))
    Pinv = np.empty((n, k, k))
    if choose_backend(n, backend) == "numba":
        from neurodose.pk import kernels

        kernels.decompose_lower(A, lam, P, Pinv)
    else:
        for s in range(n):
            decompose_lower_subject(s, A, lam, P, Pinv)
    return lam, P, Pinv


def decompose(A: Arr, backend: str = "auto") -> tuple[Arr, Arr, Arr]:
    """Batched eigen-decomposition ``A = P diag(lam) P^-1`` for (n, k, k) matrices.

    Lower-triangular (cascade) systems use a closed form (:func:`decompose_lower_subject`,
    on ``backend``); others ``numpy.linalg.eig``.
    """
    A = np.array(A, dtype=np.float64, copy=True)
    if not np.any(np.triu(A, 1)):
        return _decompose_lower(A, backend)
    k = A.shape[-1]
    lam, P = np.linalg.eig(A)
    lam_r = np.real(lam)
    scale = np.maximum(np.abs(lam_r).max(axis=-1, keepdims=True), 1e-300)
    srt = np.sort(lam_r, axis=-1)
    close = (np.diff(srt, axis=-1) < SEP * scale).any(axis=-1)
    if np.any(np.iscomplex(lam)):
        close |= (np.abs(np.imag(lam)) > 0).any(axis=-1)
    if np.any(close):
        idx = np.nonzero(close)[0]
        for j in range(k):
            A[idx, j, j] *= 1.0 + 3.0 * SEP * (j + 1)
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


def dose_amounts(p: Mapping[str, Arr], doses: ExpandedDoses, n: int) -> Arr:
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


def prepare(
    model: PKModel,
    params: ParamsLike,
    regimen: Regimen | ExpandedDoses,
    times_h: ArrayLike,
    changes: Sequence[tuple[float, ParamsLike]],
    check: bool = True,
    backend: str = "auto",
) -> tuple[int, Arr, tuple[Any, ...]]:
    """Validated arguments of :func:`subject_concentrations`: (n, times, args before ``times``).

    ``backend`` runs the decomposition and projection (see :func:`choose_backend`).
    """
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
    compiled = choose_backend(n, backend) == "numba"
    if compiled:
        from neurodose.pk import kernels
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
        lam, P, Pinv = decompose(A, "numba" if compiled else "python")
        lam_a[:, si] = lam
        P_a[:, si] = P
        Pi_a[:, si] = Pinv
        Gs, Wos, Wis = G_a[:, si], Wo_a[:, si], Wi_a[:, si]
        if compiled:
            kernels.project(H, P, Pinv, b_o, b_i, Gs, Wos, Wis)
        else:
            for s in range(n):
                project_subject(s, H, P, Pinv, b_o, b_i, Gs, Wos, Wis)
    p0 = checked[0]
    lag = np.full(n, override) if override is not None else p0["tlag"].copy()
    if len(checked) > 1 and any(np.any(c["tlag"] != p0["tlag"]) for c in checked[1:]):
        raise InputError("changes", "tlag", "the same tlag in every parameter segment")
    ss_idx = np.nonzero(doses.ss)[0]
    for i in ss_idx:
        if np.any(lag >= doses.ii[i]) and not doses.iv[i]:
            raise RegimenError("ss", int(doses.ss[i]), "a lag time shorter than the interval ii")
    amt = dose_amounts({**{k: np.asarray(v) for k, v in params.items()}}, doses, n)
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


def run(
    n: int,
    times: Arr,
    args: tuple[Any, ...],
    out: Arr,
    backend: str = "auto",
) -> NDArray[np.bool_]:
    """Concentrations for :func:`prepare`'s arguments into ``out`` (n, O, T).

    Returns the per-subject flags "some value is not finite"; ``backend`` as in
    :func:`choose_backend`.
    """
    bad = np.zeros(n, dtype=np.bool_)
    if choose_backend(n, backend) == "numba":
        from neurodose.pk import kernels

        kernel: Any = kernels.concentrations
        kernel(args, times, out, bad)
    else:
        for s in range(n):
            bad[s] = subject_concentrations(s, *args, times, out[s])  # type: ignore[call-arg]
    return bad
