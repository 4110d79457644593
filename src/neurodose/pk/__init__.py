"""Population PK engine: models, exact and ODE solvers, covariates, genotypes,
interactions, populations.

Main entry points
-----------------
- :func:`get_model` -- the structure of a drug's model (``repr`` shows flows)
- :class:`Patient`, :class:`Comedication` -- covariates/genotypes; co-medications
- :func:`individual_parameters` -- typical values for a patient (+ omega, residual)
- :func:`predict` -- pure function ``params -> {analyte: conc}`` (drug name or model)
- :func:`predict_at` -- the same for repeated calls (MAP, dose search): pre-expanded
  doses, optional skipping of the parameter checks
- :mod:`neurodose.pk.population` -- ``sample``, ``summarize``, ``percentiles``
- :func:`neurodose.pk.solve.concentrations` -- exact, vectorised over subjects

>>> from neurodose.case import Regimen
>>> ps = individual_parameters("amitriptyline")
>>> c = predict("amitriptyline", ps.values, Regimen.oral("25 mg", days=1), [4.0])
>>> sorted(c)
['amitriptyline', 'nortriptyline']
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neurodose.case.patient import Comedication, Patient, parse_comedication
from neurodose.case.regimen import Regimen
from neurodose.pk import population
from neurodose.pk.individual import ParameterSet, get_model, individual_parameters
from neurodose.pk.model import PKModel, get_structure
from neurodose.pk.parameters import get_pkmodel, pkmodel_names
from neurodose.pk.solve import concentrations, predict_at, solve_ode

__all__ = [
    "Comedication",
    "PKModel",
    "ParameterSet",
    "Patient",
    "concentrations",
    "get_model",
    "get_pkmodel",
    "get_structure",
    "individual_parameters",
    "parse_comedication",
    "pkmodel_names",
    "population",
    "predict",
    "predict_at",
    "solve_ode",
]


def predict(
    drug: str | PKModel,
    params: Mapping[str, float | ArrayLike],
    regimen: Regimen,
    times_h: ArrayLike,
) -> dict[str, NDArray[np.float64]]:
    """Concentrations (ng/mL) for given parameter values: a pure function for MAP.

    ``params`` maps every structural parameter (``ParameterSet.values`` names) to a
    scalar or an array (n,). Returns ``{analyte: array}``: shape (T,) when all
    parameters are scalars, else (n, T).
    """
    model = drug if isinstance(drug, PKModel) else get_model(drug)
    out = concentrations(model, params, regimen, times_h)
    scalar = all(np.ndim(v) == 0 for v in params.values())
    return {a: (c[0] if scalar else c) for a, c in out.items()}
