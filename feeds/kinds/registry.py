"""The entry kinds this site knows, by name, in the order editors are offered them."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from .base import Kind, Label

# Inputs the entry forms already have; a kind's detail field may not take one of these names.
RESERVED_INPUT_NAMES = frozenset(
    {
        "kind",
        "headline",
        "body",
        "image",
        "status",
        "publish",
        "publish_at",
        "pinned",
        "key_event",
        "version",
        "feed",
    }
)

_kinds: dict[str, Kind] = {}


class UnknownKind(LookupError):
    """No kind is registered under this name."""


def register(kind: Kind) -> Kind:
    """Add a kind; refuses a name or a form input name that is already taken."""
    if not kind.name or len(kind.name) > 20:
        raise ImproperlyConfigured(f"Kind name {kind.name!r} must be 1 to 20 characters (Entry.kind).")
    if kind.name in _kinds:
        raise ImproperlyConfigured(f"A kind named {kind.name!r} is already registered.")
    taken = RESERVED_INPUT_NAMES | input_names()
    for field in kind.fields:
        if field.input_name in taken:
            raise ImproperlyConfigured(
                f"Kind {kind.name!r}: the form input {field.input_name!r} is already used; set form_name."
            )
        taken = taken | {field.input_name}
    _kinds[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    """Remove a kind (a test's throwaway kind, say)."""
    _kinds.pop(name, None)


def get(name: str) -> Kind:
    """The kind registered as `name`; raises UnknownKind."""
    try:
        return _kinds[name]
    except KeyError:
        raise UnknownKind(name) from None


def all() -> list[Kind]:
    """Every registered kind, in registration order."""
    return list(_kinds.values())


def choices() -> list[tuple[str, Label]]:
    """(name, label) pairs for form fields and Entry.kind."""
    return [(kind.name, kind.label) for kind in _kinds.values()]


def input_names() -> set[str]:
    """Every form input name the registered kinds' detail fields use."""
    return {field.input_name for kind in _kinds.values() for field in kind.fields}
