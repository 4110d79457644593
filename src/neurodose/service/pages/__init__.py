"""The clinic's browser pages, one router per page group (Jinja2 templates with htmx,
every asset served from the package); :func:`neurodose.service.ui.mount_ui` adds them.

- :mod:`~neurodose.service.pages.auth`: ``/``, ``/login``, ``/logout``
- :mod:`~neurodose.service.pages.patients`: ``/patients``, ``/patients/new``
- :mod:`~neurodose.service.pages.assessment`: ``/patients/{pid}``, ``.../start``
- :mod:`~neurodose.service.pages.plan`: ``.../plan``, ``plan.ics``, diary link, taper, switch
- :mod:`~neurodose.service.pages.levels`: ``.../levels``
- :mod:`~neurodose.service.pages.diary`: ``.../diary`` (the clinician's view)
- :mod:`~neurodose.service.pages.audit`: ``.../audit``
- :mod:`~neurodose.service.pages.sources`: ``/sources/{key}``
- :mod:`~neurodose.service.pages.trials`: ``/trials``, ``/trials/{job}`` (virtual trials)
- :mod:`~neurodose.service.pages.patient_diary`: ``/d/{token}`` (the patient's diary)
- :mod:`~neurodose.service.pages.admin`: ``/admin`` (accounts, CDS feedback; admins only)

Shared: :mod:`~neurodose.service.pages.common` (templates, session, CSRF, form helpers,
error pages, :class:`~neurodose.service.pages.common.Reference`); every chart:
:mod:`~neurodose.service.pages.charts`. The pages call the same store functions as the
API; no clinical logic here.
"""

from __future__ import annotations

from fastapi import APIRouter

from neurodose.service.pages import (
    admin,
    assessment,
    audit,
    auth,
    diary,
    levels,
    patient_diary,
    patients,
    plan,
    sources,
    trials,
)

__all__ = ["ROUTERS"]

#: the page routers in the order they are added (``/patients/new`` before
#: ``/patients/{pid}``, which would otherwise take it)
ROUTERS: tuple[APIRouter, ...] = (
    auth.router,
    patients.router,
    assessment.router,
    plan.router,
    levels.router,
    diary.router,
    audit.router,
    sources.router,
    patient_diary.router,
    trials.router,
    admin.router,
)
