"""axe-core in Chromium: the browser tests run it over every page they visit.

``axe.min.js`` is vendored in ``tests/service/axe`` (axe-core 4.14.1 from the npm
registry, MPL-2.0): nothing is fetched at test time. A page passes with no violation of
impact "serious" or "critical" (WCAG 2.x A/AA rules and axe's best practices).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE = Path(__file__).with_name("axe") / "axe.min.js"
BLOCKING = ("serious", "critical")


def axe_violations(driver: Any) -> list[dict[str, Any]]:
    """The serious and critical axe violations of the page ``driver`` shows."""
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => done(r.violations)).catch(e => done([{id: 'axe-error', impact: 'critical',"
        " description: String(e), nodes: []}]));"
    )
    return [v for v in result if v.get("impact") in BLOCKING]


def describe(violations: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{v['id']} ({v['impact']}): {v.get('description', '')} at "
        + ", ".join(str(n.get("target")) for n in v.get("nodes", [])[:3])
        for v in violations
    )
