"""The service's result caches: keyed by canonical inputs, bounded, emptied when the
knowledge version changes; and the library's assessment through the cache is the
assessment computed afresh."""

from __future__ import annotations

import datetime as dt

from neurodose.service import library
from neurodose.service.store_cache import ResultCache, canonical_key, knowledge_version


def test_same_inputs_in_another_key_order_hit() -> None:
    c = ResultCache(4, version=lambda: "v1")
    calls: list[int] = []

    def compute() -> str:
        calls.append(1)
        return "r"

    assert c.get_or_compute({"a": 1, "b": [2, 3]}, compute) == "r"
    assert c.get_or_compute({"b": [2, 3], "a": 1}, compute) == "r"
    assert (c.hits, c.misses, len(calls)) == (1, 1, 1)
    assert canonical_key({"a": 1}) != canonical_key({"a": 2})


def test_bounded_least_recently_used_out() -> None:
    c = ResultCache(2, version=lambda: "v1")
    c.get_or_compute(1, lambda: "one")
    c.get_or_compute(2, lambda: "two")
    c.get_or_compute(1, lambda: "again")  # 1 is now the most recent
    c.get_or_compute(3, lambda: "three")  # 2 goes
    assert len(c) == 2
    assert c.get_or_compute(1, lambda: "new") == "one"
    assert c.get_or_compute(2, lambda: "recomputed") == "recomputed"


def test_a_new_knowledge_version_empties_the_cache() -> None:
    version = ["v1"]
    c = ResultCache(8, version=lambda: version[0])
    c.get_or_compute("x", lambda: "old")
    version[0] = "v2"
    assert c.get_or_compute("x", lambda: "new") == "new"
    assert len(c) == 1


def test_knowledge_version_is_stable_and_names_the_data() -> None:
    v = knowledge_version()
    knowledge_version.cache_clear()
    assert knowledge_version() == v and len(v) == 16


def test_cached_assessment_equals_a_fresh_one() -> None:
    profile = {"age": 58, "sex": "male", "conditions": ["diabetic_neuropathy"]}
    day = dt.date(2026, 1, 5)
    first = library.assessment(profile, day)
    hits = library.ASSESSMENTS.hits
    again = library.assessment(dict(reversed(list(profile.items()))), day)
    assert library.ASSESSMENTS.hits == hits + 1
    assert again == first == library.json.loads(library._assessment_text(profile, day))
    again["options"] = []  # a caller's change never reaches the cache
    assert library.assessment(profile, day) == first


def test_cached_alternatives_equal_fresh_ones_and_follow_the_patient() -> None:
    from neurodose.case import load_patient
    from neurodose.workflows.screening import alternative_candidates

    day = dt.date(2026, 1, 5)
    p = load_patient({"age": 60, "medications": [{"name": "tramadol", "dose_mg": 50}]})
    first = library.alternatives(p, day)
    hits = library.ALTERNATIVES.hits
    same = load_patient({"medications": [{"dose_mg": 50, "name": "tramadol"}], "age": 60})
    assert library.alternatives(same, day) is first  # the same patient again: a hit
    assert library.ALTERNATIVES.hits == hits + 1
    assert first == alternative_candidates(p, day) and first
    # another patient, or another date (the plan's first step is dated), is its own entry
    pregnant = load_patient({"age": 30, "sex": "female", "pregnant": True})
    assert library.alternatives(pregnant, day) == alternative_candidates(pregnant, day)
    assert library.ALTERNATIVES.hits == hits + 1
    later = library.alternatives(p, day + dt.timedelta(days=1))
    assert library.ALTERNATIVES.hits == hits + 1
    assert later == alternative_candidates(p, day + dt.timedelta(days=1))
