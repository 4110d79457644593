"""Citations tracked at run time: nesting, process registry, results carry sources."""

from __future__ import annotations

import threading

from neurodose import citations
from neurodose.knowledge import get_drug


def test_tracking_nests() -> None:
    with citations.tracking() as outer:
        citations.register("a")
        with citations.tracking() as inner:
            citations.register("b")
        citations.register("c")
    assert inner == {"b"}
    assert outer == {"a", "b", "c"}


def test_register_outside_tracking_goes_to_global_registry_only() -> None:
    citations.register("outside_key")
    assert "outside_key" in citations.all_registered()
    with citations.tracking() as used:
        pass
    assert used == set()


def test_register_many_and_reset() -> None:
    with citations.tracking() as used:
        citations.register_many(["x", "y", "x"])
    assert used == {"x", "y"}
    citations.reset()
    assert citations.all_registered() == []
    citations.register("z")
    assert citations.all_registered() == ["z"]


def test_tracking_is_per_thread_context() -> None:
    seen: dict[str, set[str]] = {}

    def work() -> None:
        with citations.tracking() as used:
            citations.register("thread_key")
        seen["thread"] = used

    with citations.tracking() as main_used:
        t = threading.Thread(target=work)
        t.start()
        t.join()
    assert seen["thread"] == {"thread_key"}
    assert "thread_key" not in main_used


def test_a_drug_lookup_carries_its_sources() -> None:
    with citations.tracking() as used:
        rec = get_drug("amitriptyline")
    expected = {item.source for _, item in rec.iter_sourced()}
    assert expected  # the record cites something
    assert used == expected
