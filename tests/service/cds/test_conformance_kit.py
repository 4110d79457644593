"""The conformance kit (``neurodose cds-check``) against services it has never seen.

A small CDS Hooks service (tests/service/cds/defective_service.py) runs on a real
uvicorn server with ids, hooks and prefetch keys unlike neurodose's. Conformant, it must
pass every check; with each of the CDS Hooks 2.0 defects of ``DEFECTS`` (discovery
fields, card fields, suggestions and actions, FHIR validity, tokens, prefetch and 412,
error statuses, CORS, feedback) the kit must report a failed check in the group that
covers that defect, and never crash.
"""

from __future__ import annotations

import json
import shutil
import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from neurodose.testing.cds import ClientKey, make_client_key, run_checks

from .defective_service import DEFECTS, create_app, serve

SAMPLES = Path(__file__).resolve().parents[3] / "examples" / "cds"


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("kit")
    key_file, clients = make_client_key(tmp / "ehr")
    samples = tmp / "samples"
    samples.mkdir()
    for name in ("01_interaction_tramadol_duloxetine", "11_maoi_within_14_days_duloxetine"):
        shutil.copy(SAMPLES / f"{name}.json", samples)
    client = json.loads(clients.read_text())["clients"][0]
    key = ClientKey.load(key_file)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(client["jwks"]["keys"][0], client["iss"], key.origin)
    with serve(app, port) as base:
        yield {"base": base, "key": key, "key_file": key_file, "samples": samples}


def test_there_are_at_least_40_defect_kinds() -> None:
    assert len(DEFECTS) >= 40
    assert set(DEFECTS.values()) == {
        "discovery",
        "cards",
        "security",
        "prefetch",
        "errors",
        "cors",
        "feedback",
    }


def test_a_conformant_service_with_other_ids_passes(kit: dict[str, Any]) -> None:
    rep = run_checks(kit["base"] + "/none", kit["key"], kit["samples"], timeout_s=20)
    assert rep.passed, rep.text()
    names = " ".join(r.name for r in rep.results)
    for sid in ("acme-rx-sign-review", "acme-rx-select", "acme.chart_summary"):
        assert f"{sid}: replayed jti: refused" in names
    # the patient-view service declares no prefetch: no 412 check for it
    assert "acme.chart_summary: no prefetch" not in names
    groups = {r.group for r in rep.results}
    assert {"discovery", "cards", "security", "prefetch", "errors", "cors", "feedback"} <= groups


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_each_defect_is_found(kit: dict[str, Any], defect: str) -> None:
    rep = run_checks(kit["base"] + "/" + defect, kit["key"], kit["samples"], timeout_s=20)
    failed = [r for r in rep.results if not r.ok]
    assert failed, f"{defect} not found:\n{rep.text()}"
    assert any(r.group == DEFECTS[defect] for r in failed), rep.text()
    assert not any("could not complete" in r.message for r in failed), rep.text()


def test_reports_as_json_and_junit_and_never_a_traceback(
    kit: dict[str, Any], tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from neurodose.cli.main import app

    base = kit["base"] + "/indicator_invalid"
    args = ["cds-check", base, "--key", str(kit["key_file"]), "--samples", str(kit["samples"])]
    out = tmp_path / "r.xml"
    r = CliRunner().invoke(app, [*args, "--format", "junit", "--output", str(out)])
    assert r.exit_code == 1 and "Traceback" not in r.stdout
    suite = ET.parse(out).getroot().find("testsuite")
    assert suite is not None and int(suite.get("failures", "0")) >= 1
    fails = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert any("severe" in (c.find("failure").get("message") or "") for c in fails)  # type: ignore[union-attr]
    r = CliRunner().invoke(app, [*args, "--format", "json"])
    doc = json.loads(r.stdout)
    assert r.exit_code == 1 and not doc["passed"] and doc["counts"]["failed"] >= 1
    # nothing listening: failed checks, not a traceback
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    r = CliRunner().invoke(app, ["cds-check", dead, "--key", str(kit["key_file"])])
    assert r.exit_code == 1 and "Traceback" not in r.stdout
    assert "could not complete: ConnectError" in r.stdout
    r = CliRunner().invoke(app, [*args, "--format", "yaml"])
    assert r.exit_code != 0 and "text | json | junit" in r.output
