"""Background virtual-trial jobs: start, run, cancel, retry, and recovery after a crash.

A job is a row of ``trial_jobs`` (state ``queued`` -> ``running`` -> ``done`` | ``failed``
| ``cancelled``, progress 0-1, the result JSON) run by a thread of the server process.

* **Per-user limit**: at most :func:`jobs_per_user` jobs queued or running per clinician
  (``NEURODOSE_TRIAL_JOBS_PER_USER``, default 2); one more is :class:`JobLimitError`
  (the API answers 429 with the message, the page shows it).
* **Cancel works in every state**: a queued or running job is ``cancelled`` at once (its
  thread, if any is alive, stops after the chunk it is running and leaves it so); a
  finished job is left as it is (there is nothing to stop).
* **Crash recovery**: at start-up (:func:`recover_interrupted`) every job still queued
  or running belonged to a process that is gone, so it is marked ``failed`` with the
  reason; it can be retried (:func:`retry`: a new job with the same design). Should a
  job's thread still be alive in another worker process (a worker restarted beside it),
  that thread reclaims the job at its next progress report.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import func, select

from neurodose.service import library
from neurodose.service.models import TrialJob

__all__ = [
    "ACTIVE",
    "INTERRUPTED",
    "JobLimitError",
    "JobStateError",
    "cancel",
    "jobs_per_user",
    "recover_interrupted",
    "retry",
    "start",
]

#: states in which a job counts against the limit and can be cancelled
ACTIVE = ("queued", "running")
#: the error of a job found queued or running at start-up
INTERRUPTED = "interrupted: the server stopped while the job was {state}; retry it"
_DEFAULT_PER_USER = 2


class JobLimitError(Exception):
    """Too many jobs queued or running for one clinician."""


class JobStateError(Exception):
    """The job is in a state that does not allow the action."""


class _CancelledError(Exception):
    """The job's cancel flag was set."""


def jobs_per_user() -> int:
    """The per-clinician limit of jobs queued or running (``NEURODOSE_TRIAL_JOBS_PER_USER``,
    1-100; default 2)."""
    raw = os.environ.get("NEURODOSE_TRIAL_JOBS_PER_USER", "")
    try:
        n = int(raw) if raw.strip() else _DEFAULT_PER_USER
    except ValueError:
        return _DEFAULT_PER_USER
    return min(max(n, 1), 100)


def recover_interrupted(db: Any) -> int:
    """Mark every job still queued or running as failed (it belonged to a process that
    stopped); returns how many."""
    n = 0
    with db.session() as s:
        for j in s.scalars(select(TrialJob).where(TrialJob.state.in_(ACTIVE))):
            j.error = INTERRUPTED.format(state=j.state)
            j.state = "failed"
            n += 1
    return n


def _interrupted(j: TrialJob) -> bool:
    return j.state == "failed" and (j.error or "").startswith("interrupted:")


def _run(
    db: Any,
    job_id: str,
    design: Mapping[str, Any],
    threads: dict[str, Any],
    scheduler: str | None = None,
) -> None:
    def load(s: Any) -> TrialJob:
        j = s.get(TrialJob, job_id)
        assert j is not None
        if j.cancel_requested or j.state == "cancelled":
            raise _CancelledError
        if _interrupted(j):  # marked by a restarting sibling worker: still alive here
            j.state, j.error = "running", None
        return j

    def progress(p: float) -> None:
        with db.session() as s:
            load(s).progress = min(p, 1.0)

    try:
        with db.session() as s:
            load(s).state = "running"
        result = library.run_trial_job(design, progress, scheduler)
        with db.session() as s:
            j = load(s)
            j.state, j.progress, j.result = "done", 1.0, result
    except _CancelledError:
        with db.session() as s:
            j = s.get(TrialJob, job_id)
            assert j is not None
            j.state = "cancelled"
    except Exception as exc:  # the job fails, the server does not
        with db.session() as s:
            j = s.get(TrialJob, job_id)
            assert j is not None
            if j.state != "cancelled":
                j.state, j.error = "failed", f"{type(exc).__name__}: {exc}"[:500]
    finally:
        threads.pop(job_id, None)


def start(
    db: Any,
    owner: int,
    design: Mapping[str, Any],
    threads: dict[str, Any],
    check: Callable[[Mapping[str, Any]], None] | None = None,
    scheduler: str | None = None,
) -> TrialJob:
    """Queue a job for ``owner`` and start its thread (its chunks on the Dask ``scheduler``
    when one is given); ``check(design)`` raises for a design the service refuses.
    :class:`JobLimitError` when the owner has too many active jobs."""
    if check is not None:
        check(design)
    limit = jobs_per_user()
    job_id = "t" + secrets.token_hex(8)
    with db.session() as s:
        n = s.scalar(
            select(func.count())
            .select_from(TrialJob)
            .where(TrialJob.owner == owner, TrialJob.state.in_(ACTIVE))
        )
        if (n or 0) >= limit:
            raise JobLimitError(
                f"you already have {n} trial job(s) queued or running (the limit is {limit} "
                "per user): wait for one to finish, or cancel one"
            )
        j = TrialJob(
            id=job_id,
            owner=owner,
            state="queued",
            progress=0.0,
            design=dict(design),
            result=None,
            error=None,
            cancel_requested=False,
        )
        s.add(j)
        s.flush()
        s.expunge(j)
    t = threading.Thread(
        target=_run, args=(db, job_id, dict(design), threads, scheduler), daemon=True
    )
    threads[job_id] = t
    t.start()
    return j


def cancel(s: Any, j: TrialJob) -> TrialJob:
    """Cancel ``j`` (see the module docstring): queued or running -> cancelled at once."""
    if j.state in ACTIVE:
        j.cancel_requested = True
        j.state = "cancelled"
    return j


def retry(
    db: Any,
    j: TrialJob,
    threads: dict[str, Any],
    check: Callable[[Mapping[str, Any]], None] | None = None,
    scheduler: str | None = None,
) -> TrialJob:
    """A new job with ``j``'s design (``j`` failed, was cancelled or is done)."""
    if j.state in ACTIVE:
        raise JobStateError(f"job {j.id} is {j.state}: cancel it first, or wait for it")
    return start(db, j.owner, j.design, threads, check, scheduler)
