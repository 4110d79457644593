"""Virtual trials: a design (a TOML file or a mapping) -> the trial's result.

The CLI's ``trial`` command and the clinic's trial job both call :func:`trial_design`
(read or parse, then the size check) and :func:`trial`; the job reports progress as
a fraction through ``on_progress`` and is cancelled by an exception that callback
raises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neurodose.limits import trial_allowed
from neurodose.trial.design import Design, load_design, parse_design
from neurodose.trial.run import TrialResult, run_trial

__all__ = ["TrialJobResult", "TrialRequest", "job_chunk_size", "trial", "trial_design"]


def trial_design(
    source: str | Path | Mapping[str, Any], *, max_patients: int | None = None
) -> Design:
    """The design of a TOML file (a path) or of a mapping (a request body, errors
    named from ``body``), checked against ``max_patients`` in all when given
    (:func:`neurodose.limits.trial_allowed`)."""
    if isinstance(source, Mapping):
        des = parse_design(dict(source), source="body")
    else:
        des = load_design(source)
    if max_patients is not None:
        trial_allowed(des.n_per_arm, len(des.arms), cap=max_patients)
    return des


def job_chunk_size(design: Design) -> int:
    """Patients per chunk of a background job: a quarter of an arm (so that progress
    moves), at most 20 000."""
    return max(min(design.n_per_arm // 4, 20_000), 1)


@dataclass(frozen=True)
class TrialRequest:
    """Run ``design`` in chunks of ``chunk_size`` patients (None:
    :func:`job_chunk_size`), locally or on the Dask ``scheduler``; ``progress``: a
    progress bar on the terminal; ``on_progress``: called with the fraction done
    after each chunk (an exception it raises stops the run); ``per_subject``: keep
    each patient's outcomes."""

    design: Design
    chunk_size: int | None = None
    scheduler: str | None = None
    progress: bool = False
    on_progress: Callable[[float], None] | None = None
    per_subject: bool = False


@dataclass(frozen=True)
class TrialJobResult:
    """The trial's result (arms, comparisons against placebo, sources)."""

    result: TrialResult

    def to_json(self) -> dict[str, Any]:
        """``neurodose trial --json`` (:meth:`neurodose.trial.run.TrialResult.to_dict`)."""
        return dict(self.result.to_dict())


def _chunk_counter(design: Design, on_progress: Callable[[float], None]) -> Callable[[int], None]:
    """A per-chunk callback (patients done in the chunk) reporting the fraction done."""
    total = max(len(design.arms) * design.n_per_arm, 1)
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        on_progress(done / total)

    return tick


def trial(req: TrialRequest) -> TrialJobResult:
    """Run the virtual trial of ``req`` (see :class:`TrialRequest`)."""
    des = req.design
    on_chunk = None if req.on_progress is None else _chunk_counter(des, req.on_progress)
    result = run_trial(
        des,
        chunk_size=req.chunk_size if req.chunk_size is not None else job_chunk_size(des),
        scheduler=req.scheduler,
        progress=req.progress,
        per_subject=req.per_subject,
        on_chunk=on_chunk,
    )
    return TrialJobResult(result)
