"""neurodose.service: web services (the clinic app and the CDS Hooks services)."""
