"""`{% page_parts %}`: the parts plug-in apps add to the reader page and the widget."""

from __future__ import annotations

from typing import Any

from django import template
from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe

from .. import page_parts as registry

register = template.Library()


@register.simple_tag(takes_context=True)
def page_parts(context: template.Context, *, widget: bool = False) -> SafeString:
    """Each registered part rendered with the page's context."""
    values: dict[str, Any] = dict(context.flatten())  # type: ignore[arg-type]
    values["widget"] = widget
    request = values.get("request")
    return mark_safe("".join(get_template(name).render(values, request) for name in registry.templates()))
