"""neurodose.service: web services over the library (the clinic and the CDS Hooks services).

The clinic (``neurodose serve``): stores patients, regimens, levels, diary entries,
plans and an audit log, and translates HTTP to library calls (:mod:`neurodose.advice`,
:mod:`neurodose.mipd`, :mod:`neurodose.simulation`, :mod:`neurodose.trial`); it holds
no clinical logic. Build the app with :func:`neurodose.service.app.create_app`;
deployment notes are in ``docs/clinic.md``. CDS Hooks: :mod:`neurodose.service.cds`.
"""
