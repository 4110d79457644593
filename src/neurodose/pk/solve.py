"""The PK solvers' public entry points.

The solvers live in their own modules; this one chooses between them and gives the
calls every consumer uses (simulation, populations, trials, MAP estimation):

================================  ===========================================================
:mod:`neurodose.pk.exact`         exact solver for linear models (eigen-decomposition and
                                  superposition), one subject at a time in plain Python/numpy
:mod:`neurodose.pk.kernels`       the same functions compiled by numba, parallel over
                                  subjects (the only module that imports numba)
:mod:`neurodose.pk.saturable`     Michaelis-Menten (nonlinear) one-compartment model: exact
                                  depot, RK4 for the central compartment (same backends)
:mod:`neurodose.pk.ode`           numerical integration (``scipy.integrate.solve_ivp``), one
                                  subject: continuous time-varying parameters, checks
================================  ===========================================================

:func:`concentrations` and :func:`predict_at` run the exact solver (or the saturable
one when the model is saturable) on the backend :func:`~neurodose.pk.exact.
choose_backend` picks: plain Python for one subject, numba for more (``backend``
overrides; both give the same numbers). :func:`summaries` computes per-subject
summaries inside the numba kernel (populations). :func:`solve_ode` and
:func:`decompose`, :func:`validate_times` are those of their modules.

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

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neurodose.case.regimen import ExpandedDoses, Regimen
from neurodose.errors import InputError, SolverError
from neurodose.pk.exact import Arr, ParamsLike, decompose, prepare, run, validate_times
from neurodose.pk.model import PKModel
from neurodose.pk.ode import solve_ode

__all__ = [
    "SUMMARY_FIELDS",
    "concentrations",
    "decompose",
    "predict_at",
    "solve_ode",
    "summaries",
    "validate_times",
]

#: columns of :func:`summaries`' output (the order of the numba summary kernel)
SUMMARY_FIELDS = (
    "cmax_ng_per_ml",
    "tmax_h",
    "auc_ng_h_per_ml",
    "cmin_last_ng_per_ml",
    "time_to_90pct_ss_h",
    "fraction_time_in_range",
)


def concentrations(
    model: PKModel,
    params: ParamsLike,
    regimen: Regimen | ExpandedDoses,
    times_h: ArrayLike,
    *,
    changes: Sequence[tuple[float, ParamsLike]] = (),
    out: Arr | None = None,
    backend: str = "auto",
) -> dict[str, Arr]:
    """Exact concentrations (ng/mL) for every subject and time.

    Parameters
    ----------
    model : PKModel
        Structure (see :mod:`neurodose.pk.model`).
    params : mapping of name -> float or array (n,)
        Parameter values in canonical units (L, L/h, 1/h, h); arrays give one value
        per subject. ``Dmax``/``D50`` (mg) switch on saturable bioavailability.
    regimen : Regimen or ExpandedDoses
        Doses (times from t = 0 in h); expanded doses are used as they are (the lag
        time is then the parameter ``tlag``, as in :func:`predict_at`).
    times_h : array-like
        Output times in h, increasing.
    changes : sequence of (t_h, params)
        Piecewise-constant parameter changes: from ``t_h`` on, ``params`` (complete
        sets) apply. Used for interactions that start or stop.
    out : ndarray (n, n_analytes, T), optional
        Buffer to write into (reuse it across chunks to avoid page-faulting fresh
        memory); the returned arrays are views of it.
    backend : {"auto", "python", "numba"}
        Linear models: where the exact solver runs (:func:`~neurodose.pk.exact.
        choose_backend`; "auto": Python for one subject, numba for more). Same
        numbers either way (saturable models too).

    Returns
    -------
    dict
        ``{analyte: array (n, len(times_h))}`` in ng/mL.
    """
    if model.saturable:
        from neurodose.pk.saturable import saturable_concentrations

        res = saturable_concentrations(
            model, params, regimen, times_h, changes=changes, backend=backend
        )
        if out is not None:
            out[:, 0, :] = res[model.analytes[0]]
            return {model.analytes[0]: out[:, 0, :]}
        return res
    n, t, args = prepare(model, params, regimen, times_h, changes, backend=backend)
    return _run(model, n, t, args, out, backend=backend)


def _run(
    model: PKModel,
    n: int,
    t: Arr,
    args: tuple[Any, ...],
    out: Arr | None = None,
    rows: str = "subject(s)",
    backend: str = "auto",
) -> dict[str, Arr]:
    """Run the exact solver on :func:`~neurodose.pk.exact.prepare`'s arguments:
    ``{analyte: (n, T)}``."""
    shape = (n, len(model.analytes), t.size)
    if out is None:
        out = np.empty(shape)
    elif out.shape != shape or out.dtype != np.float64 or not out.flags.c_contiguous:
        raise InputError("out", out.shape, f"a C-contiguous float64 array of shape {shape}")
    bad = run(n, t, args, out, backend)
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
    backend: str = "auto",
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
    backend : {"auto", "python", "numba"}
        As for :func:`concentrations`.

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

        return saturable_concentrations(model, params, doses, times_h, check=check, backend=backend)
    n, t, args = prepare(model, params, doses, times_h, (), check=check, backend=backend)
    return _run(model, n, t, args, rows="parameter set(s)", backend=backend)


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
    from neurodose.pk import kernels

    n, t, args = prepare(model, params, regimen, times_h, changes, backend="numba")
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
    kernel: Any = kernels.summaries
    kernel(args, t, sum_rows, float(window_h), float(lo), float(hi), range_row, out, bad)
    _raise_if_bad(bad)
    return {r: {f: out[:, i, j] for j, f in enumerate(SUMMARY_FIELDS)} for i, r in enumerate(rows)}
