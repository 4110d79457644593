"""neurodose.pd: target occupancy, pain-pathway model, adverse effects, placebo (docs/model.md).

>>> from neurodose.pd import drug_targets
>>> "SERT" in drug_targets("duloxetine").reached
True
"""

from neurodose.pd.adverse import discontinuation_symptoms, simulate_adverse
from neurodose.pd.occupancy import TARGETS, drug_occupancy, drug_targets, occupancies
from neurodose.pd.pain import PATHWAYS, simulate_pain
from neurodose.pd.params import load_pd_parameters

__all__ = [
    "PATHWAYS",
    "TARGETS",
    "discontinuation_symptoms",
    "drug_occupancy",
    "drug_targets",
    "load_pd_parameters",
    "occupancies",
    "simulate_adverse",
    "simulate_pain",
]
