"""Forecasts with prediction intervals from a MAP fit.

Intervals come from posterior draws of eta (Laplace or SIR, see
:class:`~neurodose.mipd.estimate.MapResult`). By default they describe the
uncertainty of the *concentration* (parameter uncertainty only); with
``include_residual=True`` they describe where a *measured level* would fall
(residual error added), which is what the validation study checks coverage of.

Examples
--------
>>> import numpy as np
>>> from neurodose.case import Regimen
>>> grid = forecast_grid(Regimen.oral("25 mg", "24 h", doses=3).expand(), step_h=24.0)
>>> grid.tolist()
[0.0, 24.0, 48.0, 72.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from neurodose.case.regimen import ExpandedDoses
from neurodose.errors import InputError
from neurodose.mipd.estimate import MapResult
from neurodose.mipd.model import PriorModel

__all__ = [
    "Forecast",
    "draw_residual",
    "forecast",
    "forecast_grid",
    "moiety_name",
]

FloatArray = NDArray[np.float64]


def moiety_name(model: PriorModel) -> str:
    """Name of the summed analytes, e.g. ``'amitriptyline+nortriptyline'``."""
    return "+".join(model.moiety)


def forecast_grid(doses: ExpandedDoses, step_h: float = 1.0, extra_h: float = 24.0) -> FloatArray:
    """Times from the first dose to ``extra_h`` after the last, every ``step_h``."""
    if not step_h > 0:
        raise InputError("step_h", step_h, "a step > 0 h")
    end = doses.last_h + extra_h
    n = int(np.floor((end - doses.first_h) / step_h + 1e-9)) + 1
    return doses.first_h + step_h * np.arange(n, dtype=float)


@dataclass(frozen=True)
class Forecast:
    """Predicted concentrations with intervals, per analyte and for the moiety.

    ``series[name]`` holds arrays ``time_h``, ``map`` (at the MAP estimate),
    ``median``, ``lower`` and ``upper`` (ng/mL).
    """

    level: float
    include_residual: bool
    method: str
    series: dict[str, dict[str, FloatArray]]

    def to_json(self) -> dict[str, dict[str, list[float]]]:
        lo = f"p{round(50 - self.level * 50):02d}"
        hi = f"p{round(50 + self.level * 50):02d}"
        out: dict[str, dict[str, list[float]]] = {}
        for name, s in self.series.items():
            out[name] = {
                "time_h": _r(s["time_h"], 3),
                "concentration_ng_per_ml": _r(s["map"]),
                "median": _r(s["median"]),
                lo: _r(s["lower"]),
                hi: _r(s["upper"]),
            }
        return out


def _r(x: FloatArray, nd: int = 4) -> list[float]:
    return [round(float(v), nd) for v in x]


def draw_residual(
    model: PriorModel, analyte: str, f: FloatArray, rng: np.random.Generator
) -> FloatArray:
    """Add residual error (normal, combined additive + proportional) to ``f``."""
    res = model.residual[analyte]
    return np.asarray(f + res.sd(f) * rng.standard_normal(f.shape))


def forecast(
    result: MapResult,
    times_h: Sequence[float] | FloatArray,
    doses: ExpandedDoses | None = None,
    n: int = 500,
    level: float = 0.90,
    method: Literal["laplace", "sir"] = "laplace",
    include_residual: bool = False,
    seed: int = 0,
    eta_samples: FloatArray | None = None,
) -> Forecast:
    """Concentrations at ``times_h`` with a central ``level`` interval.

    Parameters
    ----------
    result : MapResult
        The fit (its model and eta).
    times_h : array
        Times (h after the first dose).
    doses : ExpandedDoses, optional
        Doses to predict with (default: the fitted history); a forecast of a
        new regimen passes the history followed by the new doses.
    n : int
        Posterior draws.
    level : float
        Central interval probability (0.90 gives p05..p95).
    include_residual : bool
        Add residual error (interval for a future *measured* level).
    eta_samples : array, optional
        Posterior draws to reuse (n, k).
    """
    if not 0 < level < 1:
        raise InputError("level", level, "a probability between 0 and 1")
    t = np.asarray(times_h, dtype=float).ravel()
    doses = result.doses if doses is None else doses
    rng = np.random.default_rng(seed)
    eta_s = result.sample(n, rng, method=method) if eta_samples is None else eta_samples
    model = result.model
    at_map = model.predict(result.eta[None, :], doses, t)
    draws = model.predict(eta_s, doses, t)
    if include_residual:
        draws = {a: draw_residual(model, a, v, rng) for a, v in draws.items()}
    q_lo, q_hi = 50 - level * 50, 50 + level * 50
    series: dict[str, dict[str, FloatArray]] = {}
    names = list(model.analytes)
    for a in names:
        series[a] = _summ(t, at_map[a][0], draws[a], q_lo, q_hi)
    if len(model.moiety) > 1:
        mn = moiety_name(model)
        series[mn] = _summ(
            t,
            np.sum([at_map[a][0] for a in model.moiety], axis=0),
            np.sum([draws[a] for a in model.moiety], axis=0),
            q_lo,
            q_hi,
        )
    return Forecast(level, include_residual, method, series)


def _summ(
    t: FloatArray, at_map: FloatArray, draws: FloatArray, q_lo: float, q_hi: float
) -> dict[str, FloatArray]:
    lo, med, hi = np.percentile(draws, [q_lo, 50.0, q_hi], axis=0)
    return {"time_h": t, "map": np.asarray(at_map), "median": med, "lower": lo, "upper": hi}
