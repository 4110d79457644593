"""neurodose: cited pharmacology, population PK/PD and decision support for
antidepressants and their alternatives in neuropathic pain.

Decision support, never a substitute for clinical judgement.

Importing neurodose is light: it loads the exception tree only. The knowledge base
(``neurodose.drugs``, ``neurodose.get_drug``), numba, scipy and plotting load when
first used.

>>> import neurodose
>>> "amitriptyline" in neurodose.drugs
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from neurodose.errors import NeurodoseError

if TYPE_CHECKING:
    from neurodose.knowledge.registry import drugs, get_drug

__version__ = "0.1.0.dev0"
__all__ = ["NeurodoseError", "__version__", "drugs", "get_drug"]


def __getattr__(name: str) -> Any:
    """``drugs`` and ``get_drug`` load the knowledge base on first use."""
    if name in ("drugs", "get_drug"):
        from neurodose import knowledge

        return getattr(knowledge, name)
    raise AttributeError(f"module 'neurodose' has no attribute {name!r}")
