"""The browser pages (Jinja2 + htmx; all assets served from the package)."""

from __future__ import annotations

from fastapi import FastAPI

__all__ = ["mount_ui"]


def mount_ui(app: FastAPI) -> None:
    """Add the pages and static assets to ``app``."""
