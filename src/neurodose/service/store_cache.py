"""In-process result caches of the service: assessments and plans by their inputs.

An assessment or a plan depends only on its inputs (the profile, the parameters, the
date) and on the knowledge base. :class:`ResultCache` keeps the JSON text of the last
results in a bounded LRU keyed by the SHA-256 of the canonical JSON of the inputs
(sorted keys, no spaces), and every entry is tied to :func:`knowledge_version` (a hash
of the knowledge-base files as this process loaded them): when the version changes the
cache empties itself. Each worker process has its own caches; nothing in them must agree
across workers (a miss only costs the computation again).

>>> c = ResultCache(size=2)
>>> c.get_or_compute({"b": 1, "a": 2}, lambda: "x"), c.get_or_compute({"a": 2, "b": 1}, lambda: "y")
('x', 'x')
>>> c.hits, c.misses
(1, 1)
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

V = TypeVar("V")

__all__ = ["ResultCache", "canonical_key", "knowledge_version"]


def canonical_key(inputs: Any) -> str:
    """The SHA-256 (hex) of ``inputs`` as canonical JSON (sorted keys, dates as text).

    >>> canonical_key({"a": 1, "b": [1, 2]}) == canonical_key({"b": [1, 2], "a": 1})
    True
    """
    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@functools.cache
def knowledge_version() -> str:
    """The knowledge base's version: the package version and a SHA-256 over the data
    files of ``neurodose.knowledge`` (names and contents), computed once per process
    (the process reads the knowledge base once; a changed file takes effect, and
    changes this version, on restart; ``knowledge_version.cache_clear()`` re-reads)."""
    from neurodose import __version__
    from neurodose.knowledge.registry import DATA_DIR

    h = hashlib.sha256(__version__.encode())
    for path in sorted(DATA_DIR.rglob("*")):
        if path.is_file() and path.suffix not in (".py", ".pyc"):
            h.update(str(path.relative_to(DATA_DIR)).encode() + b"\0")
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


class ResultCache(Generic[V]):
    """A bounded LRU of results (JSON text, or immutable values) keyed by the canonical
    JSON of the inputs and the knowledge version (thread-safe; a computation runs outside
    the lock, so two threads may compute the same missing entry once each).

    Parameters
    ----------
    size : int
        Entries kept (least recently used first out).
    version : callable
        The knowledge version (default :func:`knowledge_version`); the cache empties
        itself when it changes.
    """

    def __init__(self, size: int = 512, version: Callable[[], str] = knowledge_version) -> None:
        self.size = size
        self._version = version
        self._seen = ""
        self._data: OrderedDict[str, V] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._data)

    def _check_version(self) -> None:
        v = self._version()
        if v != self._seen:
            self._data.clear()
            self._seen = v

    def get_or_compute(self, inputs: Any, compute: Callable[[], V]) -> V:
        """The cached result for ``inputs``, else ``compute()`` stored and returned."""
        key = canonical_key(inputs)
        with self._lock:
            self._check_version()
            hit = self._data.get(key)
            if hit is not None:
                self._data.move_to_end(key)
                self.hits += 1
                return hit
            self.misses += 1
            seen = self._seen
        value = compute()
        with self._lock:
            if self._seen == seen:
                self._data[key] = value
                while len(self._data) > self.size:
                    self._data.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._data.clear()
