"""``neurodose demo``: the tour shows cited values and calls other groups' sections."""

from __future__ import annotations

import importlib.util
import sys
import types
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from neurodose.cli import demo as demo_mod
from neurodose.cli.main import app
from neurodose.knowledge import get_drug

runner = CliRunner()


def _console() -> tuple[Console, StringIO]:
    buf = StringIO()
    return Console(file=buf, width=140, color_system=None), buf


def test_demo_runs_and_shows_cited_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEURODOSE_OUTPUT_DIR", str(tmp_path))  # sections may write figures
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    rec = get_drug("amitriptyline")
    assert "Where amitriptyline acts" in out
    assert "SERT" in out
    assert "neuropathic_pain" in out and "depression" in out
    pain = rec.doses["neuropathic_pain"]
    assert pain.start is not None and pain.start.source in out
    assert "What the evidence says" in out
    assert "Sources of this tour" in out
    assert "never a substitute for clinical judgement" in out


def test_demo_lists_exactly_the_sources_it_showed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo_mod, "DEMO_SECTIONS", [])
    console, buf = _console()
    shown = demo_mod.run_demo(console)
    rec = get_drug("amitriptyline")
    target_sources = {a.source for a in rec.targets}
    assert target_sources <= shown
    text = buf.getvalue()
    assert f"Sources of this tour ({len(shown)})" in text
    for key in shown:
        assert f"{key}:" in text


def test_demo_calls_other_sections_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    fake = types.ModuleType("neurodose.cli._fake_demo_section")

    def demo_section(console: Console) -> None:
        calls.append("called")
        console.print("FAKE SECTION")

    fake.demo_section = demo_section  # type: ignore[attr-defined]
    fake.__spec__ = importlib.util.spec_from_loader(fake.__name__, loader=None)
    monkeypatch.setitem(sys.modules, fake.__name__, fake)
    monkeypatch.setattr(
        demo_mod, "DEMO_SECTIONS", [fake.__name__, "neurodose.cli._not_written_yet"]
    )
    console, buf = _console()
    demo_mod.run_demo(console)
    assert calls == ["called"]
    text = buf.getvalue()
    assert "FAKE SECTION" in text
    assert "neurodose.cli._not_written_yet is not installed" in text


def test_demo_section_errors_are_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("neurodose.cli._broken_demo_section")

    def demo_section(console: Console) -> None:
        raise RuntimeError("boom")

    fake.demo_section = demo_section  # type: ignore[attr-defined]
    fake.__spec__ = importlib.util.spec_from_loader(fake.__name__, loader=None)
    monkeypatch.setitem(sys.modules, fake.__name__, fake)
    monkeypatch.setattr(demo_mod, "DEMO_SECTIONS", [fake.__name__])
    console, _ = _console()
    with pytest.raises(RuntimeError, match="boom"):
        demo_mod.run_demo(console)
