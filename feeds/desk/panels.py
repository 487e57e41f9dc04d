"""Panels plug-in apps add to the live desk, below the race status.

A plug-in calls `register("its_app/_panel.html")` from its `ready()`; the desk page includes each
registered template in registration order (INSTALLED_APPS order) with the desk's context, which
has `feed` and `request`.
"""

from __future__ import annotations

_templates: list[str] = []


def register(template_name: str) -> None:
    """Include `template_name` on every desk page (registering twice includes it once)."""
    if template_name not in _templates:
        _templates.append(template_name)


def templates() -> list[str]:
    """The registered panel templates, in order."""
    return list(_templates)
