"""The prior (population) model as MAP estimation sees it.

:class:`PriorModel` is the bridge between the PK engine and the estimator.
It holds, for *one* patient, the typical parameter values after covariates,
genotype and co-medication (from the PK engine), the between-subject
variability matrix Omega (log scale), the residual-error model per analyte,
and a vectorised prediction function supplied by the PK engine::

    predict(theta: dict[str, ndarray (n,)], doses: ExpandedDoses,
            times_h: ndarray (m,)) -> dict[analyte, ndarray (n, m)]

Doses are the case layer's :class:`~neurodose.case.ExpandedDoses` (build them with
``Regimen.oral(...).expand()`` or any other :class:`~neurodose.case.Regimen`
constructor): mipd has no dose list of its own.

Individual parameters are log-normal around the typical values:
``theta_p = typical_p * exp(eta_p)`` with ``eta ~ N(0, Omega)``.

mipd never contains the PK equations: the prediction function comes from
:mod:`neurodose.pk` (see :func:`neurodose.mipd.engine.prior_model`), or, in
tests, from a small fixture model.

Examples
--------
>>> import numpy as np
>>> def predict(theta, doses, t):  # a toy 1-compartment IV bolus model
...     cl, v = theta["CL"][:, None], theta["V"][:, None]
...     out = np.zeros((cl.shape[0], t.size))
...     for td, amt in zip(doses.times, doses.amounts):
...         dt = t - td
...         out += np.where(dt >= 0, amt / v * np.exp(-cl / v * np.maximum(dt, 0)), 0.0)
...     return {"drug": out * 1000.0}
>>> m = PriorModel(
...     drug="toy", param_names=("CL", "V"), typical={"CL": 10.0, "V": 100.0},
...     omega=np.diag([0.09, 0.04]), residual={"drug": ResidualError(0.2, 1.0)},
...     predict_fn=predict)
>>> from neurodose.case import Regimen
>>> h = Regimen.oral("100 mg", every="24 h", doses=3).expand()
>>> round(float(m.predict(np.zeros((1, 2)), h, np.array([1.0]))["drug"][0, 0]), 1)
904.8
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from neurodose.case.regimen import ExpandedDoses
from neurodose.errors import InputError
from neurodose.pk.individual import apply_etas

__all__ = ["PredictFn", "PriorModel", "ResidualError", "require_oral"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ResidualError:
    """Combined residual error: ``sd = sqrt(additive**2 + (proportional * f)**2)``.

    Parameters
    ----------
    proportional : float
        Proportional SD as a fraction (0.2 = 20 %).
    additive : float
        Additive SD in ng/mL.
    source : str
        Source key of the residual-error values (or ``'placeholder'`` text).
    """

    proportional: float
    additive: float = 0.0
    source: str = ""

    def __post_init__(self) -> None:
        if self.proportional < 0 or self.additive < 0:
            raise InputError(
                "residual error", (self.proportional, self.additive), "non-negative SDs"
            )
        if self.proportional == 0 and self.additive == 0:
            raise InputError("residual error", (0, 0), "a proportional or additive SD > 0")

    def sd(self, f: FloatArray) -> FloatArray:
        """Residual SD at prediction ``f`` (ng/mL)."""
        return np.sqrt(self.additive**2 + (self.proportional * f) ** 2)


PredictFn = Callable[[dict[str, FloatArray], ExpandedDoses, FloatArray], dict[str, FloatArray]]


def require_oral(doses: ExpandedDoses) -> ExpandedDoses:
    """``doses`` unchanged when every dose is oral; MAP estimation and forecasting are
    for oral regimens (an IV dose is an :class:`~neurodose.errors.InputError`)."""
    if np.any(doses.iv):
        raise InputError("regimen", "iv doses", "oral doses (MAP forecasting is for oral regimens)")
    return doses


def __getattr__(name: str) -> Any:
    if name == "DoseHistory":
        raise AttributeError(
            "neurodose.mipd.model.DoseHistory was removed: mipd takes the case layer's doses, "
            "neurodose.case.ExpandedDoses (e.g. Regimen.oral('25 mg', every='24 h', "
            "doses=28).expand(); .until(t_h), .then(other), .first_h, .last_h)"
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class PriorModel:
    """One patient's prior: typical values, Omega, residual error, prediction.

    Parameters
    ----------
    drug : str
        Drug name (knowledge base).
    param_names : tuple of str
        Names of the random effects (the eta vector, in order).
    typical : mapping str -> float
        Typical values for this patient (covariates, genotype, co-medication
        applied) of every structural parameter.
    omega : (k, k) array
        Covariance of eta (log scale).
    applies_to : mapping eta name -> tuple of parameter names, optional
        Structural parameters each eta multiplies (``exp(eta)``); by default
        each eta applies to the parameter of the same name.
    residual : mapping analyte -> ResidualError
    predict_fn : PredictFn
        Vectorised prediction from the PK engine (ng/mL).
    moiety : tuple of str
        Analytes summed for the TDM target (AMI + NT for amitriptyline).
    sources : tuple of str
        Source keys the model rests on.
    rebuild : callable, optional
        ``rebuild(**changes) -> PriorModel`` for "what if" (e.g. a co-medication
        added or stopped); supplied by the PK-engine adapter.
    notes : tuple of str
        Caveats to show with every result (placeholders, unverified values).
    """

    drug: str
    param_names: tuple[str, ...]
    typical: Mapping[str, float]
    omega: FloatArray
    residual: Mapping[str, ResidualError]
    predict_fn: PredictFn
    applies_to: Mapping[str, tuple[str, ...]] | None = None
    moiety: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    rebuild: Callable[..., PriorModel] | None = None
    notes: tuple[str, ...] = ()
    context: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        om = np.atleast_2d(np.asarray(self.omega, dtype=float))
        k = len(self.param_names)
        if om.shape != (k, k):
            raise InputError("omega", om.shape, f"a {k}x{k} matrix for {self.param_names}")
        if not np.allclose(om, om.T):
            raise InputError("omega", "asymmetric", "a symmetric matrix")
        try:
            chol = np.linalg.cholesky(om)
        except np.linalg.LinAlgError:
            raise InputError(
                "omega", "not positive definite", "a positive definite matrix"
            ) from None
        applies = (
            {p: (p,) for p in self.param_names}
            if self.applies_to is None
            else {e: tuple(v) for e, v in self.applies_to.items()}
        )
        if set(applies) != set(self.param_names):
            raise InputError("applies_to", sorted(applies), f"one entry per eta {self.param_names}")
        varying: list[str] = []
        for e in self.param_names:
            for p in applies[e]:
                if p not in self.typical:
                    raise InputError("typical", p, f"a typical value for parameter {p!r} (eta {e})")
                if not self.typical[p] > 0:
                    raise InputError(f"typical.{p}", self.typical[p], "a value > 0")
                if p not in varying:
                    varying.append(p)
        M = np.zeros((len(varying), k))
        for j, e in enumerate(self.param_names):
            for p in applies[e]:
                M[varying.index(p), j] = 1.0
        object.__setattr__(self, "applies_to", applies)
        object.__setattr__(self, "omega", om)
        object.__setattr__(self, "_chol", chol)
        object.__setattr__(self, "_omega_inv", np.linalg.inv(om))
        object.__setattr__(self, "_varying", tuple(varying))
        object.__setattr__(self, "_M", M)
        if not self.moiety:
            object.__setattr__(self, "moiety", tuple(self.residual))

    # -- derived ---------------------------------------------------------------
    @property
    def analytes(self) -> tuple[str, ...]:
        return tuple(self.residual)

    @property
    def k(self) -> int:
        return len(self.param_names)

    @property
    def varying(self) -> tuple[str, ...]:
        """Structural parameters that carry at least one eta."""
        return self._varying  # type: ignore[attr-defined]

    @property
    def eta_matrix(self) -> FloatArray:
        """(n_varying, k) 0/1 matrix: log(param) = log(typical) + M @ eta."""
        return self._M  # type: ignore[attr-defined]

    @property
    def omega_inv(self) -> FloatArray:
        return self._omega_inv  # type: ignore[attr-defined]

    @property
    def omega_chol(self) -> FloatArray:
        return self._chol  # type: ignore[attr-defined]

    def theta(self, eta: FloatArray) -> dict[str, FloatArray]:
        """Individual parameters for rows of ``eta`` (n, k) -> dict of (n,) arrays
        (the PK engine's IIV model, :func:`neurodose.pk.individual.apply_etas`)."""
        assert self.applies_to is not None  # set in __post_init__
        return apply_etas(self.typical, self.param_names, self.applies_to, eta)

    def predict(
        self, eta: FloatArray, doses: ExpandedDoses, times_h: Sequence[float] | FloatArray
    ) -> dict[str, FloatArray]:
        """Predicted concentrations (ng/mL), each (n, m), for rows of ``eta``."""
        t = np.asarray(times_h, dtype=float).ravel()
        out = self.predict_fn(self.theta(eta), doses, t)
        for a in self.analytes:
            if a not in out:
                raise InputError("predict_fn", sorted(out), f"a prediction for {a!r}")
        return out

    def predict_moiety(
        self, eta: FloatArray, doses: ExpandedDoses, times_h: Sequence[float] | FloatArray
    ) -> FloatArray:
        """Sum of the ``moiety`` analytes (ng/mL), (n, m)."""
        pred = self.predict(eta, doses, times_h)
        return np.asarray(sum(pred[a] for a in self.moiety), dtype=float)

    def sample_prior(self, n: int, rng: np.random.Generator) -> FloatArray:
        """``n`` draws of eta from N(0, Omega)."""
        z = rng.standard_normal((n, self.k))
        return z @ self.omega_chol.T
