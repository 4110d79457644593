"""Shared test settings.

Hypothesis: no per-example deadline (timings belong in ``make bench``; CI machines are
2-core and shared, so a wall-clock deadline would make property tests flaky).
"""

from hypothesis import settings

settings.register_profile("neurodose", deadline=None)
settings.load_profile("neurodose")
