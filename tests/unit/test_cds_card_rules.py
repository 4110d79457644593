"""The CDS Hooks card rules of the cds-check tool, one part of a card at a time."""

from __future__ import annotations

from neurodose.testing.cds import _action_problems, _link_problem, card_problems

GOOD = {"summary": "s", "indicator": "info", "source": {"label": "neurodose"}, "uuid": "u"}


def test_actions_need_a_known_type_description_and_resource() -> None:
    at = "suggestions[0].actions[0]"
    assert _action_problems({"type": "move"}, at) == [f"{at}.type not create|update|delete"]
    assert _action_problems({"type": "create"}, at) == [
        f"{at}.description missing",
        f"{at}.resource missing for create",
    ]
    assert _action_problems({"type": "delete", "description": "d"}, at) == [
        f"{at} delete without resourceId"
    ]
    assert _action_problems({"type": "delete", "description": "d", "resourceId": "x"}, at) == [
        f"{at}.resourceId is not a list of relative references (Type/id)"
    ]
    ok = {"type": "delete", "description": "d", "resourceId": ["MedicationRequest/x"]}
    assert _action_problems(ok, at) == []


def test_links_need_label_url_type_and_app_context_only_on_smart() -> None:
    assert _link_problem({"label": "a"}, "links[0]") == "links[0] needs label and url"
    assert (
        _link_problem({"label": "a", "url": "u"}, "links[0]") == "links[0].type not absolute|smart"
    )
    rel = {"label": "a", "url": "guide.html", "type": "absolute"}
    assert _link_problem(rel, "links[0]") == "links[0].url is not an absolute URL"
    bad = {"label": "a", "url": "https://app.test/", "type": "absolute", "appContext": "x"}
    assert _link_problem(bad, "links[1]") == "links[1].appContext only on smart links"
    assert _link_problem({**bad, "type": "smart"}, "links[1]") is None


def test_card_problems_name_each_part_in_order() -> None:
    assert card_problems(GOOD) == []
    card = {
        **GOOD,
        "summary": "",
        "source": {"label": "x", "topic": {"code": "c"}},
        "suggestions": [{"label": "l"}],
        "links": [{"label": "a", "url": "u", "type": "other"}],
    }
    assert card_problems(card) == [
        "summary missing",
        "source.topic is not a Coding with system and code",
        "selectionBehavior missing or not at-most-one|any with suggestions",
        "suggestions[0].uuid missing",
        "links[0].type not absolute|smart",
    ]
