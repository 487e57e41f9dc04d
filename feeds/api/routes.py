"""API routes plug-in apps add under /api/, in the `api` namespace and the OpenAPI schema.

A plug-in calls `register(path(...))` from its `ready()`, which runs before the URLconf is first
loaded; feeds.api.urls appends the registered patterns after the core's own.
"""

from __future__ import annotations

from django.urls import URLPattern

_patterns: list[URLPattern] = []


def register(pattern: URLPattern) -> None:
    """Serve `pattern` under /api/ (a pattern with an already registered name is not added twice)."""
    if all(existing.name != pattern.name or pattern.name is None for existing in _patterns):
        _patterns.append(pattern)


def patterns() -> list[URLPattern]:
    """The registered patterns, in registration order."""
    return list(_patterns)
