"""The CDS Hooks 2.0 rules the conformance kit checks documents against: the discovery
document, cards, suggestions, actions and ``systemActions`` (pure functions: a document
in, the list of what it breaks out, empty when it conforms).

Each problem is one line naming the place (``cards[0].suggestions[1].uuid``) and the rule.
A FHIR resource in an action is validated with the ``fhir.resources`` R4B models.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from neurodose.errors import FhirError
from neurodose.fhir.validate import validate_resource

__all__ = [
    "INDICATORS",
    "KNOWN_HOOKS",
    "action_problems",
    "card_problems",
    "discovery_problems",
    "link_problem",
    "response_problems",
    "service_problems",
]

INDICATORS = ("info", "warning", "critical")
#: the hooks of the CDS Hooks library (a custom hook has a dotted, reverse-domain name)
KNOWN_HOOKS = frozenset(
    {
        "patient-view",
        "order-select",
        "order-sign",
        "order-dispatch",
        "appointment-book",
        "encounter-start",
        "encounter-discharge",
        "allergyintolerance-create",
        "problem-list-item-create",
        "medication-refill",
    }
)
_RELATIVE_REF = re.compile(r"^[A-Z][A-Za-z]+/[A-Za-z0-9.-]{1,64}$")
_ID = re.compile(r"^[A-Za-z0-9._~-]+$")
_TEMPLATE_TOKEN = re.compile(
    r"\{\{\s*(context\.\w+|userPractitionerId|userPractitionerRoleId|"
    r"userPatientId|userRelatedPersonId|today\(\))\s*\}\}"
)


def _absolute_url(u: Any) -> bool:
    if not isinstance(u, str):
        return False
    parts = urlsplit(u)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _template_problem(key: Any, template: Any, at: str) -> str | None:
    if not isinstance(key, str) or not key:
        return f"{at}: prefetch keys must be non-empty strings"
    if not isinstance(template, str) or not template:
        return f"{at}.prefetch.{key}: the template is not a string"
    if template.startswith(("/", "http://", "https://")):
        return f"{at}.prefetch.{key}: the template must be a relative FHIR query"
    rest = _TEMPLATE_TOKEN.sub("", template)
    if "{{" in rest or "}}" in rest:
        return f"{at}.prefetch.{key}: unknown prefetch token in {template!r}"
    return None


def service_problems(svc: Any, at: str) -> list[str]:
    """What one discovery entry (``at`` names it, e.g. ``services[0]``) breaks."""
    if not isinstance(svc, dict):
        return [f"{at} is not an object"]
    p = []
    sid = svc.get("id")
    if not isinstance(sid, str) or not sid:
        p.append(f"{at}.id missing")
    elif not _ID.match(sid):
        p.append(f"{at}.id {sid!r} is not URL-safe (it is a path segment)")
    hook = svc.get("hook")
    if not isinstance(hook, str) or not hook:
        p.append(f"{at}.hook missing")
    elif hook not in KNOWN_HOOKS and "." not in hook:
        p.append(f"{at}.hook {hook!r} is not a CDS Hooks hook (nor a reverse-domain custom hook)")
    if not isinstance(svc.get("description"), str) or not svc["description"]:
        p.append(f"{at}.description missing")
    for opt in ("title", "usageRequirements"):
        if opt in svc and not isinstance(svc[opt], str):
            p.append(f"{at}.{opt} is not a string")
    pre = svc.get("prefetch")
    if pre is not None:
        if not isinstance(pre, dict):
            p.append(f"{at}.prefetch is not an object of key: template")
        else:
            p += [q for k, v in pre.items() if (q := _template_problem(k, v, at)) is not None]
    return p


def discovery_problems(doc: Any) -> list[str]:
    """What a discovery document breaks (``{"services": [...]}``, unique ids)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("services"), list):
        return ["discovery: no services list"]
    p = []
    seen: set[str] = set()
    for i, svc in enumerate(doc["services"]):
        p += service_problems(svc, f"services[{i}]")
        sid = svc.get("id") if isinstance(svc, dict) else None
        if isinstance(sid, str):
            if sid in seen:
                p.append(f"services[{i}].id {sid!r} is not unique")
            seen.add(sid)
    return p


def _summary_problems(card: dict[str, Any]) -> list[str]:
    s = card.get("summary")
    if not isinstance(s, str) or not s:
        return ["summary missing"]
    if len(s) >= 140:
        return [f"summary has {len(s)} characters (must be under 140)"]
    return []


def _source_problems(card: dict[str, Any]) -> list[str]:
    src = card.get("source")
    if not isinstance(src, dict) or not isinstance(src.get("label"), str) or not src["label"]:
        return ["source.label missing"]
    p = []
    for k in ("url", "icon"):
        if k in src and not _absolute_url(src[k]):
            p.append(f"source.{k} is not an absolute URL")
    t = src.get("topic")
    if t is not None and not (isinstance(t, dict) and t.get("code") and t.get("system")):
        p.append("source.topic is not a Coding with system and code")
    return p


def _resource_problem(res: Any, at: str) -> str | None:
    if not isinstance(res, dict) or not isinstance(res.get("resourceType"), str):
        return f"{at}.resource is not a FHIR resource"
    try:
        validate_resource(res)
    except FhirError as exc:
        return f"{at}.resource is not valid FHIR: {str(exc).split(';')[0]}"
    return None


def action_problems(a: Any, at: str) -> list[str]:
    """One action (``at`` names it, e.g. ``suggestions[0].actions[1]``)."""
    if not isinstance(a, dict) or a.get("type") not in ("create", "update", "delete"):
        return [f"{at}.type not create|update|delete"]
    p = []
    if not isinstance(a.get("description"), str):
        p.append(f"{at}.description missing")
    if a["type"] in ("create", "update"):
        if not isinstance(a.get("resource"), dict):
            p.append(f"{at}.resource missing for {a['type']}")
        elif (q := _resource_problem(a["resource"], at)) is not None:
            p.append(q)
    if a["type"] == "delete":
        ids = a.get("resourceId")
        if not ids:
            p.append(f"{at} delete without resourceId")
        elif not isinstance(ids, list) or not all(
            isinstance(r, str) and _RELATIVE_REF.match(r) for r in ids
        ):
            p.append(f"{at}.resourceId is not a list of relative references (Type/id)")
    return p


def _suggestion_problems(card: dict[str, Any]) -> list[str]:
    sugg = card.get("suggestions")
    if sugg is None:
        return []
    if not isinstance(sugg, list):
        return ["suggestions is not a list"]
    p = []
    if card.get("selectionBehavior") not in ("at-most-one", "any"):
        p.append("selectionBehavior missing or not at-most-one|any with suggestions")
    for i, sg in enumerate(sugg):
        if not isinstance(sg, dict) or not isinstance(sg.get("label"), str) or not sg["label"]:
            p.append(f"suggestions[{i}].label missing")
            continue
        if not isinstance(sg.get("uuid"), str) or not sg["uuid"]:
            p.append(f"suggestions[{i}].uuid missing")
        actions = sg.get("actions") or []
        if not isinstance(actions, list):
            p.append(f"suggestions[{i}].actions is not a list")
            continue
        for j, a in enumerate(actions):
            p += action_problems(a, f"suggestions[{i}].actions[{j}]")
    return p


def link_problem(ln: Any, at: str) -> str | None:
    """One link (``at`` names it, e.g. ``links[0]``)."""
    if not isinstance(ln, dict) or not all(isinstance(ln.get(k), str) for k in ("label", "url")):
        return f"{at} needs label and url"
    if ln.get("type") not in ("absolute", "smart"):
        return f"{at}.type not absolute|smart"
    if not _absolute_url(ln["url"]):
        return f"{at}.url is not an absolute URL"
    if ln.get("appContext") is not None and ln["type"] != "smart":
        return f"{at}.appContext only on smart links"
    return None


def _list_problems(card: dict[str, Any]) -> list[str]:
    p = []
    for i, r in enumerate(card.get("overrideReasons") or []):
        if not (isinstance(r, dict) and r.get("code") and r.get("system") and r.get("display")):
            p.append(f"overrideReasons[{i}] needs system, code and display")
    links = card.get("links") or []
    if not isinstance(links, list):
        return [*p, "links is not a list"]
    for i, ln in enumerate(links):
        problem = link_problem(ln, f"links[{i}]")
        if problem is not None:
            p.append(problem)
    return p


def card_problems(card: Any) -> list[str]:
    """What a card breaks of the CDS Hooks card rules (empty when it conforms)."""
    if not isinstance(card, dict):
        return ["card is not an object"]
    p = _summary_problems(card)
    if card.get("indicator") not in INDICATORS:
        p.append(f"indicator {card.get('indicator')!r} not in {INDICATORS}")
    p += _source_problems(card)
    if not isinstance(card.get("uuid"), str) or not card["uuid"]:
        p.append("uuid missing (needed for feedback)")
    if "detail" in card and not isinstance(card["detail"], str):
        p.append("detail is not a string")
    p += _suggestion_problems(card)
    p += _list_problems(card)
    return p


def response_problems(data: Any) -> list[str]:
    """What a hook response breaks: the cards list, every card, ``systemActions``."""
    if not isinstance(data, dict) or not isinstance(data.get("cards"), list):
        return ["response has no cards list"]
    out = []
    for i, c in enumerate(data["cards"]):
        out += [f"cards[{i}]: {m}" for m in card_problems(c)]
    sys_actions = data.get("systemActions")
    if sys_actions is not None:
        if not isinstance(sys_actions, list):
            return [*out, "systemActions is not a list"]
        for i, a in enumerate(sys_actions):
            out += action_problems(a, f"systemActions[{i}]")
    return out
