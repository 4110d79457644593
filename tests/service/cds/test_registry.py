"""One CDS service registry: discovery, dispatch, the EHR demo and the conformance kit
read ``hooks.SERVICES``; no other module writes a service id."""

from __future__ import annotations

import ast
from pathlib import Path

import neurodose
from neurodose.service.cds import demo, hooks
from neurodose.testing import cds as kit

IDS = {s.id for s in hooks.SERVICES}


def test_discovery_lists_the_registry_with_its_prefetch():
    doc = hooks.discovery()["services"]
    assert [(s["id"], s["hook"]) for s in doc] == [(s.id, s.hook) for s in hooks.SERVICES]
    assert all(d["prefetch"] == s.prefetch for d, s in zip(doc, hooks.SERVICES, strict=True))


def test_dispatch_demo_and_kit_read_the_registry():
    assert all(hooks.service(s.id) is s for s in hooks.SERVICES)
    # the conformance kit assumes no ids: it reads the target's discovery
    assert not hasattr(kit, "SERVICE_IDS")
    assert "neurodose.service.cds.hooks" not in Path(kit.__file__).read_text(encoding="utf-8")
    assert f"/cds-services/{hooks.service_for('order-sign').id}" in demo.PAGE
    assert "__ORDER_SIGN__" not in demo.PAGE


def test_no_other_module_writes_a_service_id():
    root = Path(neurodose.__file__).parent
    found = []
    for path in root.rglob("*.py"):
        if path == Path(hooks.__file__):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = {
            id(n.body[0].value)
            for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef))
            and n.body
            and isinstance(n.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docs
                and any(i in node.value for i in IDS)
            ):
                found.append((path.relative_to(root).as_posix(), node.lineno))
    assert not found, found


def test_the_runtime_package_does_not_hold_the_kit():
    assert not (Path(hooks.__file__).parent / "conformance.py").exists()
