"""The PK solvers compiled by numba: the loops over subjects, in parallel.

The per-subject functions of :mod:`neurodose.pk.exact` and :mod:`neurodose.pk.saturable`
(written once, in the subset of Python numba compiles) are compiled here unchanged
and run for every subject in ``prange`` loops (``NUMBA_NUM_THREADS`` threads). This
is the only module of the package that imports numba: importing it, and loading the kernels from
numba's on-disk cache, costs about a second of start-up, which a single patient
avoids (:func:`neurodose.pk.exact.choose_backend`). :func:`warm_up` compiles every
kernel into the cache (``neurodose warmup``; ``make venv`` runs it).

Kernels write into arrays their caller allocates; the public entry points are in
:mod:`neurodose.pk.solve`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numba
import numba.extending
import numpy as np
from numpy.typing import NDArray

from neurodose.pk import exact, saturable

__all__ = [
    "concentrations",
    "decompose_lower",
    "project",
    "saturable_concentrations",
    "source_key",
    "summaries",
    "warm_up",
]

Arr = NDArray[np.float64]


def source_key(paths: tuple[str | Path, ...] | None = None) -> str:
    """Hash of the sources compiled into the kernels (this module, exact.py, saturable.py).

    numba stamps a cached kernel with its own file only, but the parallel kernels here
    inline the per-subject functions of :mod:`~neurodose.pk.exact` and
    :mod:`~neurodose.pk.saturable`: after an edit there, a kernel loaded from the cache
    would run the old code. The kernels are therefore cached in a folder named by this
    hash (``pk/__pycache__/numba-<key>``), unless ``NUMBA_CACHE_DIR`` is set.
    """
    h = hashlib.sha256()
    for path in paths or (__file__, str(exact.__file__), str(saturable.__file__)):
        h.update(Path(path).read_bytes())
    return h.hexdigest()[:16]


def _cache_dir() -> str:
    return str(Path(__file__).parent / "__pycache__" / f"numba-{source_key()}")


# the dispatchers below find their cache folder when they are created: point numba at
# the source-keyed folder for them only, and restore the user's setting afterwards
_user_cache_dir = numba.config.CACHE_DIR  # type: ignore[attr-defined]
if not _user_cache_dir:
    numba.config.CACHE_DIR = _cache_dir()  # type: ignore[attr-defined]

# the helpers the per-subject functions call, compiled with them (the same function
# object, so exact.py itself never imports numba)
numba.extending.register_jitable(exact.decay)
_subject: Any = numba.njit(cache=True)(exact.subject_concentrations)
_decompose_lower_subject = numba.njit(cache=True)(exact.decompose_lower_subject)
_project_subject = numba.njit(cache=True)(exact.project_subject)
_saturable_subject = numba.njit(cache=True)(saturable.subject_concentrations)


@numba.njit(parallel=True, cache=True)
def decompose_lower(A: Arr, lam: Arr, P: Arr, Pinv: Arr) -> None:
    """:func:`~neurodose.pk.exact.decompose_lower_subject` for every subject (in place)."""
    for s in numba.prange(A.shape[0]):
        _decompose_lower_subject(s, A, lam, P, Pinv)


@numba.njit(parallel=True, cache=True)
def project(H: Arr, P: Arr, Pinv: Arr, b_o: Arr, b_i: Arr, G: Arr, Wo: Arr, Wi: Arr) -> None:
    """:func:`~neurodose.pk.exact.project_subject` for every subject (in place)."""
    for s in numba.prange(H.shape[0]):
        _project_subject(s, H, P, Pinv, b_o, b_i, G, Wo, Wi)


@numba.njit(parallel=True, cache=True)
def concentrations(args: tuple[Any, ...], times: Arr, out: Arr, bad: NDArray[np.bool_]) -> None:
    """:func:`~neurodose.pk.exact.subject_concentrations` for every subject into ``out``
    (n, O, T); ``args`` are its arguments before ``times`` (:func:`~neurodose.pk.exact.
    prepare`), ``bad`` is set where a value is not finite."""
    for s in numba.prange(out.shape[0]):
        bad[s] = _subject(s, *args, times, out[s])


@numba.njit(parallel=True, cache=True)
def saturable_concentrations(args: tuple[Any, ...], bad: NDArray[np.bool_]) -> None:
    """:func:`~neurodose.pk.saturable.subject_concentrations` for every subject (``args``:
    its arguments after the subject, the parameters ``P`` (n, S, 6) first)."""
    for s in numba.prange(args[0].shape[0]):
        bad[s] = _saturable_subject(s, *args)


@numba.njit(parallel=True, cache=True)
def summaries(
    args: tuple[Any, ...],  # exact.subject_concentrations' arguments before times
    times: Arr,
    sum_rows: NDArray[np.bool_],  # (O,) rows added into an extra "total" row
    window_h: float,
    lo: float,
    hi: float,
    range_row: int,
    out: Arr,  # (n, R, 6) with R = O (+1 when any sum_rows)
    bad: NDArray[np.bool_],
) -> None:
    """Per-subject summaries (the columns of :data:`neurodose.pk.solve.SUMMARY_FIELDS`)."""
    n = out.shape[0]
    O = args[1].shape[2]  # G: (n, S, O, k)
    T = times.shape[0]
    R = out.shape[1]
    t_end = times[T - 1]
    for s in numba.prange(n):
        buf = np.empty((R, T))
        cum = np.empty(T)
        bad[s] = _subject(s, *args, times, buf[:O])
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


numba.config.CACHE_DIR = _user_cache_dir  # type: ignore[attr-defined]


def warm_up() -> None:
    """Compile every kernel of the exact solver (and of :mod:`neurodose.pk.saturable`)
    into numba's on-disk cache, through the public solver on two subjects."""
    from neurodose.case.regimen import Regimen
    from neurodose.pk.model import get_structure
    from neurodose.pk.solve import concentrations as conc
    from neurodose.pk.solve import predict_at
    from neurodose.pk.solve import summaries as summ

    reg = Regimen.oral("10 mg", every="24 h", days=2)
    t = np.arange(0.0, 49.0)
    two = np.array([1.0, 1.5])
    cases: tuple[tuple[str, tuple[str, ...], dict[str, Any]], ...] = (
        ("one_compartment", ("a",), {"F": 1.0, "ka": 1.0, "tlag": 0.0, "CL": two, "V": 20.0}),
        (
            "parent_metabolite",
            ("a", "m"),
            {
                "F": 0.5,
                "ka": 1.0,
                "tlag": 0.5,
                "CL_form": two,
                "CL_other": 1.0,
                "V": 100.0,
                "CL_m": 2.0,
                "V_m": 200.0,
                "f_pre": 0.1,
            },
        ),
        (
            "one_compartment_saturable",
            ("a",),
            {"F": 1.0, "ka": 1.0, "tlag": 0.0, "CL": two, "V": 20.0, "Vmax": 1.0, "Km": 10.0},
        ),
    )
    for name, analytes, p in cases:
        m = get_structure(name, analytes)
        conc(m, p, reg, t, backend="numba")
        conc(m, p, reg, t, changes=[(24.0, p)], backend="numba")
        predict_at(m, p, reg.expand(), t, check=False, backend="numba")
        predict_at(m, p, reg, t, backend="numba")
        if not m.saturable:
            summ(m, p, reg, t, total=analytes, tdm_range=(1.0, 2.0))
