"""Bridge from a trial arm to the PK engine's population API (no PK here).

:func:`population_concentrations` takes an arm's doses as a
:class:`~neurodose.case.Regimen` (:meth:`neurodose.trial.design.Design.regimen`),
draws a seeded PK population with
:func:`neurodose.pk.population.sample` (log-normal IIV and CYP phenotypes drawn
from the shared frequencies) and evaluates
:func:`neurodose.pk.population.simulate_population` on the trial's sampling grid.
Where the drug's PK model has an age covariate, subjects of one 5-year age band
(:data:`AGE_BAND_Y`) share the band's midpoint age.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from neurodose.case.regimen import Regimen

__all__ = ["AGE_BAND_Y", "population_concentrations"]

Array = NDArray[np.float64]

#: width (years) of the age bands whose subjects share PK covariates (models with an age term)
AGE_BAND_Y = 5.0


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
        The PD population: its size, and its ``age`` (years) where the drug's PK
        model has an age covariate (subjects of one 5-year band share its midpoint
        age); other PK covariates are the PK engine's defaults, genotypes drawn from
        population frequencies.
    rng : numpy Generator
        Source of the PK seed (keeps chunk-level determinism).
    times_h : array
        Sampling times (h).
    """
    from neurodose.case import Patient
    from neurodose.pk.parameters import get_pkmodel
    from neurodose.pk.population import sample, simulate_population

    n = len(pop)
    seed = int(rng.integers(0, 2**63 - 1))
    ages = getattr(pop, "age", None)
    uses_age = any(c.covariate == "age" for c in get_pkmodel(drug).covariates)
    if ages is None or not uses_age:
        pkpop = sample(drug, n, seed, draw_genotypes=True)
        conc = simulate_population(pkpop, regimen, times_h)
        return {k: np.asarray(v, dtype=float) for k, v in conc.items()}
    # the model has an age covariate: one PK population per 5-year band (band midpoint),
    # each seeded from the chunk's seed
    band = np.floor(np.asarray(ages, dtype=float) / AGE_BAND_Y).astype(int)
    out: dict[str, Array] = {}
    for i, b in enumerate(np.unique(band)):
        idx = np.flatnonzero(band == b)
        pat = Patient(age=float((b + 0.5) * AGE_BAND_Y))
        sub = int(np.random.SeedSequence([seed, i]).generate_state(1)[0])
        pkpop = sample(drug, len(idx), sub, draw_genotypes=True, patient=pat)
        conc = simulate_population(pkpop, regimen, times_h)
        for k, v in conc.items():
            if k not in out:
                out[k] = np.empty((n, len(times_h)))
            out[k][idx] = np.asarray(v, dtype=float)
    return out
