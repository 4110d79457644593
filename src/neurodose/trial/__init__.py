"""neurodose.trial: virtual-trial designs, populations, chunked/distributed runs, endpoints.

>>> from neurodose.trial import parse_design
>>> parse_design({"name": "t", "weeks": 2, "condition": "diabetic_neuropathy",
...               "n_per_arm": 5, "seed": 1,
...               "arms": [{"name": "placebo", "drug": "placebo"}]}).days
14
"""

from neurodose.trial.design import Design, load_design, parse_design
from neurodose.trial.run import TrialResult, run_trial

__all__ = ["Design", "TrialResult", "load_design", "parse_design", "run_trial"]
