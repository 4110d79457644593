"""The conformance kit's report: checks recorded one by one (an exception inside a check
becomes a failed check with its message, never a traceback), written as text, JSON or
JUnit XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FORMATS", "CheckResult", "Report"]

FORMATS = ("text", "json", "junit")


@dataclass
class CheckResult:
    """One check: name, pass/fail, message, and the group it belongs to."""

    name: str
    ok: bool
    message: str = ""
    group: str = "cds"


@dataclass
class Report:
    """All checks of one run."""

    url: str
    results: list[CheckResult] = field(default_factory=list)
    timings_ms: list[float] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when every check passed (and there was at least one)."""
        return all(r.ok for r in self.results) and bool(self.results)

    @property
    def failed(self) -> list[CheckResult]:
        """The failed checks."""
        return [r for r in self.results if not r.ok]

    def add(self, name: str, ok: bool, message: str = "", group: str = "cds") -> None:
        """Record a check."""
        self.results.append(CheckResult(name, ok, " ".join(message.split()), group))

    def check(self, name: str, group: str, fn: Callable[[], list[str]]) -> bool:
        """Run ``fn`` (it returns the problems found, empty when the check passes) and record
        it; any exception it raises is a failed check naming the exception."""
        try:
            problems = fn()
        except Exception as exc:  # a check never crashes the kit
            problems = [f"check could not complete: {type(exc).__name__}: {exc}"[:300]]
        self.add(name, not problems, "; ".join(problems[:4]), group)
        return not problems

    def render(self, fmt: str) -> str:
        """The report as ``text``, ``json`` or ``junit`` (XML)."""
        if fmt == "json":
            return self.json()
        if fmt == "junit":
            return self.junit()
        return self.text()

    def _timing(self) -> dict[str, float] | None:
        if not self.timings_ms:
            return None
        ts = sorted(self.timings_ms)
        return {"calls": len(ts), "median_ms": ts[len(ts) // 2], "max_ms": ts[-1]}

    def text(self) -> str:
        """The printed report."""
        lines = [f"neurodose cds-check {self.url}"]
        for r in self.results:
            lines.append(
                f"{'PASS' if r.ok else 'FAIL'}  {r.name}" + (f": {r.message}" if r.message else "")
            )
        t = self._timing()
        if t:
            lines.append(
                f"hook calls: {t['calls']:.0f}, median {t['median_ms']:.0f} ms, "
                f"max {t['max_ms']:.0f} ms"
            )
        n_bad = len(self.failed)
        lines.append(f"{len(self.results) - n_bad} passed, {n_bad} failed")
        return "\n".join(lines)

    def json(self) -> str:
        """The report as a JSON document."""
        doc: dict[str, Any] = {
            "url": self.url,
            "passed": self.passed,
            "counts": {"passed": len(self.results) - len(self.failed), "failed": len(self.failed)},
            "checks": [
                {"group": r.group, "name": r.name, "ok": r.ok, "message": r.message}
                for r in self.results
            ],
            "timing": self._timing(),
        }
        return json.dumps(doc, indent=1)

    def junit(self) -> str:
        """The report as JUnit XML (one testsuite, a testcase per check)."""
        suites = ET.Element("testsuites", name="neurodose cds-check")
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=self.url,
            tests=str(len(self.results)),
            failures=str(len(self.failed)),
            errors="0",
        )
        for r in self.results:
            case = ET.SubElement(suite, "testcase", classname=f"cds-check.{r.group}", name=r.name)
            if not r.ok:
                ET.SubElement(case, "failure", message=r.message or "failed").text = r.message
        return ET.tostring(suites, encoding="unicode", xml_declaration=True)
