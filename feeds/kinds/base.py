"""What an entry kind is: its detail fields, how they are checked, and how the entry is drawn.

A kind is a small class with declarative attributes and two hooks, `clean` and `markup`; the
services, the admin, the desk and the API call them through the registry (`feeds.kinds`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ..rendering import render_markdown, sanitize_html

MAX_FIELD = 300

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

    # Words editors read, translated when shown (gettext_lazy).
    Label = str | _StrPromise
else:
    Label = str


@dataclass(frozen=True)
class DetailField:
    """One text field a kind keeps in `Entry.details`, and how editors fill it in."""

    key: str
    label: Label
    required: bool = False
    max_length: int = MAX_FIELD
    help_text: Label = ""
    # The error for a missing value; "<label> is required." when empty.
    required_message: Label = ""
    # The form input's name; differs from `key` only where another kind or the entry uses the key.
    form_name: str = ""
    # HTML input type in the desk composer: "text" or "url".
    input_type: str = "text"
    placeholder: Label = ""
    # Takes the rest of the composer's row on a wide screen.
    wide: bool = False

    @property
    def input_name(self) -> str:
        """The name the admin and desk forms post this field under."""
        return self.form_name or self.key

    def clean(self, details: dict[str, Any]) -> str:
        """The field's text, trimmed; raises ValidationError naming the field."""
        value = clean_text(details, self.key, max_length=self.max_length)
        if self.required and not value:
            raise ValidationError(
                {self.key: self.required_message or _("%(label)s is required.") % {"label": self.label}}
            )
        return value


def clean_text(details: dict[str, Any], name: str, *, max_length: int = MAX_FIELD) -> str:
    """A text value from `details`, without NUL bytes or surrounding space, within `max_length`.

    The limit applies to the text as sent, as the API's schema states it, not to what is left once
    trimmed: a client told "at most 80" must not find 81 characters accepted.
    """
    value = details.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError({name: _("Must be text.")})
    if len(value) > max_length:
        raise ValidationError({name: _("At most %(limit)s characters.") % {"limit": max_length}})
    return value.replace("\x00", "").strip()


class Kind:
    """An entry kind. Subclass it, set the attributes, override `clean` and `markup` as needed,
    and register an instance in `feeds/kinds/__init__.py`."""

    # Stored in Entry.kind (at most 20 characters) and sent to clients.
    name: ClassVar[str]
    label: ClassVar[Label]
    fields: ClassVar[tuple[DetailField, ...]] = ()
    # What the composer calls the body for this kind.
    body_label: ClassVar[Label] = _("Body (Markdown)")
    # The entry carries an uploaded image (Entry.image), processed by the services.
    takes_image: ClassVar[bool] = False
    # Offered in the desk composer's kind menu; False for kinds posted by other means.
    composed_at_desk: ClassVar[bool] = True

    def clean(self, details: dict[str, Any], *, body: str, headline: str, has_image: bool) -> dict[str, Any]:
        """The details to store, checked and trimmed; raises ValidationError naming the field.

        Called before every save. The default keeps each declared field and drops anything else.
        """
        return {field.key: field.clean(details) for field in self.fields}

    def detail_keys(self) -> list[str]:
        """The keys a client may send in `details`, for the API's description."""
        return [field.key for field in self.fields]

    def markup(self, text: str, details: dict[str, Any]) -> str:
        """The entry's HTML around `text`, its body already rendered and sanitized. Escape every
        detail (format_html); the result is sanitized again by `render`."""
        return text

    def render(self, body: str, details: dict[str, Any]) -> str:
        """The entry's sanitized HTML, rendered once when it is saved."""
        text = render_markdown(body) if body.strip() else ""
        return sanitize_html(str(self.markup(text, details))).strip()

    def __repr__(self) -> str:
        return f"<Kind {self.name}>"
