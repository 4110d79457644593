"""Bridge from a trial arm to the PK engine's population API (no PK here).

:func:`population_concentrations` turns an arm's dose list into a
:class:`~neurodose.case.Regimen` (runs of equal doses at equal spacing become
one ``DoseEvent`` with ``addl``), draws a seeded PK population with
:func:`neurodose.pk.population.sample` (log-normal IIV and CYP phenotypes drawn
from the shared frequencies) and evaluates
:func:`neurodose.pk.population.simulate_population` on the trial's sampling grid.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from neurodose.case.regimen import DoseEvent, Regimen

__all__ = ["compress_doses", "population_concentrations"]

Array = NDArray[np.float64]


def compress_doses(events: Sequence[tuple[float, float]]) -> list[DoseEvent]:
    """(time_h, mg) pairs -> DoseEvents, merging runs of equal dose and spacing.

    >>> evs = compress_doses([(0, 10), (24, 10), (48, 10), (72, 20)])
    >>> [(e.amt, e.time, e.ii, e.addl) for e in evs]
    [(10.0, 0.0, 24.0, 2), (20.0, 72.0, 0.0, 0)]
    """
    out: list[DoseEvent] = []
    i = 0
    ev = sorted(events)
    while i < len(ev):
        t0, amt = ev[i]
        j = i
        ii = ev[i + 1][0] - t0 if i + 1 < len(ev) and ev[i + 1][1] == amt else 0.0
        while (
            ii > 0
            and j + 1 < len(ev)
            and ev[j + 1][1] == amt
            and abs(ev[j + 1][0] - ev[j][0] - ii) < 1e-9
        ):
            j += 1
        addl = j - i
        out.append(DoseEvent(amt=amt, time=t0, ii=ii if addl else 0.0, addl=addl))
        i = j + 1
    return out


def population_concentrations(
    drug: str,
    events: Sequence[tuple[float, float]],
    pop: Any,
    rng: np.random.Generator,
    times_h: Array,
) -> dict[str, Array]:
    """Total plasma concentrations ``{analyte: (n, T)}`` in ng/mL for ``len(pop)`` subjects.

    Parameters
    ----------
    drug : str
        Knowledge-base drug name with a PK model.
    events : sequence of (time_h, dose_mg)
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
    regimen = Regimen.from_events(compress_doses(events))
    conc = simulate_population(pkpop, regimen, times_h)
    return {k: np.asarray(v, dtype=float) for k, v in conc.items()}
