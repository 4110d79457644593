"""Citations tracked at run time (as PyBaMM does).

Whatever uses a knowledge-base record registers its source keys; every result
collects the keys registered while it was computed.

Examples
--------
>>> from neurodose import citations
>>> with citations.tracking() as used:
...     citations.register("finnerup2015")
>>> sorted(used)
['finnerup2015']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["all_registered", "register", "register_many", "reset", "tracking"]

_GLOBAL: set[str] = set()
_STACK: ContextVar[tuple[set[str], ...]] = ContextVar("neurodose_citation_stack", default=())


def register(key: str) -> None:
    """Register that a result rests on source ``key``."""
    _GLOBAL.add(key)
    for s in _STACK.get():
        s.add(key)


def register_many(keys: Iterable[str]) -> None:
    """Register several source keys."""
    for k in keys:
        register(k)


@contextmanager
def tracking() -> Iterator[set[str]]:
    """Collect the source keys registered inside the ``with`` block."""
    used: set[str] = set()
    token = _STACK.set((*_STACK.get(), used))
    try:
        yield used
    finally:
        _STACK.reset(token)


def all_registered() -> list[str]:
    """All keys registered in this process, sorted."""
    return sorted(_GLOBAL)


def reset() -> None:
    """Forget the process-wide registry (tracking contexts are untouched)."""
    _GLOBAL.clear()
