"""The ODE solver: numerical integration, one subject at a time.

:func:`solve_ode` integrates the linear system of a :class:`~neurodose.pk.model.PKModel`
(plus optional Michaelis-Menten elimination, and continuous time-varying parameter
multipliers) with ``scipy.integrate.solve_ivp`` (LSODA by default), restarting at
each dose. Used for what the exact solver cannot do (continuous time-varying
parameters) and to check the exact solvers (:mod:`neurodose.pk.exact`,
:mod:`neurodose.pk.saturable`) in the tests and benchmarks. scipy is imported
when it is first called.

>>> import numpy as np
>>> from neurodose.case import Regimen
>>> from neurodose.pk.model import get_structure
>>> m = get_structure("one_compartment", ("drug",))
>>> p = {"F": 1.0, "ka": 1.0, "tlag": 0.0, "CL": 1.0, "V": 20.0}
>>> reg, t = Regimen.oral("100 mg", every="12 h", days=2), [1.0, 24.0, 36.0]
>>> c = solve_ode(m, p, reg, t)
>>> np.round(c["drug"], 1)
array([[3070.3, 4473.7, 5343.7]])

It agrees with the exact solver (to the integrator's tolerance):

>>> from neurodose.pk.solve import concentrations
>>> bool(np.allclose(c["drug"], concentrations(m, p, reg, t)["drug"], rtol=1e-6))
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neurodose.case.regimen import Regimen
from neurodose.errors import SolverError
from neurodose.pk.exact import dose_amounts, validate_times
from neurodose.pk.model import PKModel

__all__ = ["solve_ode"]

Arr = NDArray[np.float64]


def _rhs(
    model: PKModel,
    A0: Arr,
    base_scalar: Mapping[str, float],
    multipliers: Callable[[float], Mapping[str, float]] | None,
    vmax: float | None,
    km: float | None,
) -> Callable[[float, Arr], Arr]:
    """Right-hand side: the linear system (time-varying multipliers re-evaluated at each
    call) plus Michaelis-Menten elimination from the central compartment."""
    central = 1
    vol = base_scalar["V"]

    def rhs(tt: float, x: Arr) -> Arr:
        if multipliers is None:
            A = A0
        else:
            f = multipliers(tt)
            pp = {k: np.array([v * f.get(k, 1.0)]) for k, v in base_scalar.items()}
            A = model.matrices(pp)[0][0]
        dx = A @ x
        if vmax is not None and km is not None:
            c = 1000.0 * max(x[central], 0.0) / vol
            dx[central] -= vmax * c / (km + c)
        return dx

    return rhs


def _observe(dense: Callable[[float], Arr], t: Arr, idx: list[int], H: Arr, out: Arr) -> None:
    """Concentrations at the observation indices ``idx`` from a dense ODE solution."""
    for jj in idx:
        out[:, jj] = H @ dense(t[jj])


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
    amt = dose_amounts({k: np.asarray(v) for k, v in params.items()}, doses, 1)[0]
    ev_t = np.where(doses.iv, doses.times, doses.times + lag)
    order = np.argsort(ev_t, kind="stable")
    rhs = _rhs(model, A0[0], base_scalar, multipliers, vmax, km)
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
            sol = solve_ivp(
                rhs, (tcur, stop), x, method=method, rtol=rtol, atol=atol, dense_output=True
            )
            if not sol.success:
                raise SolverError(f"ODE solver failed: {sol.message}")
            _observe(sol.sol, t, [jj for jj in mask_idx if t[jj] >= tcur], H[0], out)
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
