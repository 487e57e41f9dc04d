"""Parts plug-in apps add to the reader page and the widget, after the feed's entries.

A plug-in calls `register("its_app/_part.html")` from its `ready()`; `{% page_parts %}` renders
each registered template in registration order with the page's context (`feed`, `request`) and
`widget` (True inside the embeddable widget). A part brings its own script and styles.
"""

from __future__ import annotations

_templates: list[str] = []


def register(template_name: str) -> None:
    """Include `template_name` on every reader page and widget (registering twice includes it once)."""
    if template_name not in _templates:
        _templates.append(template_name)


def templates() -> list[str]:
    """The registered part templates, in order."""
    return list(_templates)
