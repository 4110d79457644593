"""Bridge from a trial arm to the PK engine's population API (no PK here).

:func:`population_concentrations` takes an arm's doses as a
:class:`~neurodose.case.Regimen` (:meth:`neurodose.trial.design.Design.regimen`),
draws a seeded PK population with
:func:`neurodose.pk.population.sample` (log-normal IIV and CYP phenotypes drawn
from the shared frequencies) and evaluates
:func:`neurodose.pk.population.simulate_population` on the trial's sampling grid.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from neurodose.case.regimen import Regimen

__all__ = ["population_concentrations"]

Array = NDArray[np.float64]


def population_concentrations(
    drug: str,
    regimen: Regimen,
    pop: Any,
    rng: np.random.Generator,
    times_h: Array,
) -> dict[str, Array]:
    """Total plasma concentrations ``{analyte: (n, T)}`` in ng/mL for ``len(pop)`` subjects.

    Parameters
    ----------
    drug : str
        Knowledge-base drug name with a PK model.
    regimen : Regimen
        The arm's doses (times from the start of the trial, h).
    pop : sized
        The PD population (only its size is used; PK covariates are the PK
        engine's defaults, genotypes drawn from population frequencies).
    rng : numpy Generator
        Source of the PK seed (keeps chunk-level determinism).
    times_h : array
        Sampling times (h).
    """
    from neurodose.pk.population import sample, simulate_population

    n = len(pop)
    seed = int(rng.integers(0, 2**63 - 1))
    pkpop = sample(drug, n, seed, draw_genotypes=True)
    conc = simulate_population(pkpop, regimen, times_h)
    return {k: np.asarray(v, dtype=float) for k, v in conc.items()}
