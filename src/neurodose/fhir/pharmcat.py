"""PharmCAT JSON reports (``report.json``, ``phenotype.json``) to genotype calls.

PharmCAT (PharmGKB/PharmCAT, docs/using) writes per-gene blocks with
``sourceDiplotypes`` (``label`` such as ``*1/*4``, ``phenotypes``, ``activityScore``)
and ``callSource`` (``MATCHER`` when called from the VCF, ``OUTSIDE`` for an outside
call). The blocks sit under ``genes`` (report.json, optionally keyed by source such
as ``CPIC``) or ``geneReports`` (phenotype.json).

PharmCAT does not recommend calling CYP2D6 from VCF (structural and copy-number
variation decide the phenotype; ``Calling-CYP2D6.md``): such a call is used but
carries the note "CYP2D6 called from VCF: unreliable". Ambiguous calls (several
diplotypes with different phenotypes) are not used and say so.

Examples
--------
>>> calls = calls_from_pharmcat({"genes": {"CPIC": {"CYP2D6": {"callSource": "MATCHER",
...     "sourceDiplotypes": [{"label": "*1/*4", "phenotypes": ["Intermediate Metabolizer"]}]}}}})
>>> calls[0].gene, calls[0].value, calls[0].notes[0][:38]
('CYP2D6', '*1/*4', 'CYP2D6 called from VCF: unreliable (Ph')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neurodose.errors import FhirError

__all__ = ["PharmcatCall", "calls_from_pharmcat"]

#: genes neurodose uses from a PharmCAT report
_GENES = ("CYP2D6", "CYP2C19")
_UNRELIABLE = (
    "CYP2D6 called from VCF: unreliable (PharmCAT: call CYP2D6 with an SV/CNV-aware tool "
    "and pass it as an outside call)"
)


@dataclass(frozen=True)
class PharmcatCall:
    """One gene from a PharmCAT report: the value to use (or None) and caveats."""

    gene: str
    value: str | None
    phenotype: str | None
    call_source: str | None
    notes: tuple[str, ...]
    version: str | None = None


def _blocks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key in ("genes", "geneReports"):
        section = report.get(key)
        if not isinstance(section, dict):
            continue
        for name, block in section.items():
            if not isinstance(block, dict):
                continue
            if "sourceDiplotypes" in block or "callSource" in block:
                out.setdefault(name.upper(), block)
            else:  # keyed by source (CPIC, DPWG ...)
                for gene, inner in block.items():
                    if isinstance(inner, dict):
                        out.setdefault(gene.upper(), inner)
    return out


def _call_value(gene: str, dips: list[dict[str, Any]], notes: list[str]) -> tuple[str | None, Any]:
    """The diplotype of one call (or its phenotype where the call is ambiguous but the
    phenotypes agree), and the phenotype; a note says why a call is not used."""
    labels = [str(d.get("label") or "") for d in dips]
    phenos = {p for d in dips for p in d.get("phenotypes") or []}
    phen = next(iter(phenos)) if len(phenos) == 1 else None
    if len(dips) == 1 and labels[0] and "Unknown" not in labels[0]:
        return labels[0], phen
    if len(dips) > 1 and phen and phen not in ("No Result", "n/a"):
        notes.append(f"{gene}: ambiguous PharmCAT call ({' OR '.join(labels)}); phenotype used")
        return phen, phen
    if dips:
        notes.append(f"{gene}: PharmCAT call {' OR '.join(labels) or 'empty'} not usable; not used")
    return None, phen


def calls_from_pharmcat(report: Any) -> list[PharmcatCall]:
    """CYP2D6 and CYP2C19 calls from a PharmCAT JSON report (see module docstring)."""
    if not isinstance(report, dict) or not ({"genes", "geneReports"} & set(report)):
        raise FhirError(
            "pharmcat", type(report).__name__, "a PharmCAT report.json or phenotype.json"
        )
    version = report.get("pharmcatVersion")
    blocks = _blocks(report)
    out: list[PharmcatCall] = []
    for gene in _GENES:
        block = blocks.get(gene)
        if block is None:
            continue
        source = block.get("callSource")
        dips = [d for d in block.get("sourceDiplotypes") or [] if isinstance(d, dict)]
        notes: list[str] = []
        if gene == "CYP2D6" and source not in (None, "OUTSIDE"):
            notes.append(_UNRELIABLE)
        value, phen = _call_value(gene, dips, notes)
        out.append(PharmcatCall(gene, value, phen, source, tuple(notes), version))
    return out
