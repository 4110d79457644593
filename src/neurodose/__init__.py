"""neurodose: cited pharmacology, population PK/PD and decision support for
antidepressants and their alternatives in neuropathic pain.

Decision support, never a substitute for clinical judgement.

Importing neurodose is light: no web framework, plotting or numba at import.

>>> import neurodose
>>> "amitriptyline" in neurodose.drugs
True
"""

from neurodose.errors import NeurodoseError
from neurodose.knowledge import drugs, get_drug

__version__ = "0.1.0.dev0"
__all__ = ["NeurodoseError", "__version__", "drugs", "get_drug"]
