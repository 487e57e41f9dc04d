"""The poll entry kind: a question with two to six options and, optionally, a closing time.

The options live in the entry's details (`option_1` … `option_6`, compacted on save); the live
counts do not: they change many times a second and reach readers as coalesced tallies
(`tallies`). When a poll closes, its final counts are written into the details (`result`) by
`services.close_poll`, so the result is in the entry's HTML and every path that carries it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import lazy
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from feeds import moments
from feeds.kinds.base import DetailField, Kind, clean_text

MIN_OPTIONS = 2
MAX_OPTIONS = 6
OPTION_KEYS = tuple(f"option_{number}" for number in range(1, MAX_OPTIONS + 1))


def options_of(details: dict[str, Any]) -> list[str]:
    """The poll's options, in order (the blank ones left out)."""
    return [details[key] for key in OPTION_KEYS if isinstance(details.get(key), str) and details[key]]


def closes_at(details: dict[str, Any]) -> datetime | None:
    """When voting ends on its own, or None."""
    value = details.get("closes_at")
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def final_result(details: dict[str, Any]) -> list[int] | None:
    """The counts stored when the poll was closed, one per option, or None while it is open."""
    result = details.get("result")
    return list(result["counts"]) if isinstance(result, dict) else None


def _option_label_now(number: int) -> str:
    return gettext("Option %(number)s") % {"number": number}


# Translated when shown, in the language of whoever reads the form.
_option_label = lazy(_option_label_now, str)


class PollKind(Kind):
    name = "poll"
    label = _("Poll")
    body_label = _("Context (optional, Markdown)")
    fields = (
        DetailField(
            "question", _("Question"), required=True, max_length=200, form_name="poll_question", wide=True
        ),
        *(
            DetailField(
                key,
                _option_label(number),
                required=number <= MIN_OPTIONS,
                max_length=80,
                form_name=f"poll_{key}",
                required_message=_("A poll needs at least two options.") if number <= MIN_OPTIONS else "",
            )
            for number, key in enumerate(OPTION_KEYS, start=1)
        ),
        DetailField(
            "closes_at",
            _("Voting closes at"),
            max_length=40,
            form_name="poll_closes_at",
            help_text=_("Optional, e.g. 2026-06-01T18:30+02:00; close it from the desk otherwise."),
            placeholder="2026-06-01T18:30+02:00",
        ),
    )

    def clean(self, details: dict[str, Any], *, body: str, headline: str, has_image: bool) -> dict[str, Any]:
        """Compact the options to the first keys, check the closing time, keep a valid stored result."""
        question = self.fields[0].clean(details)
        options = [clean_text(details, key, max_length=80) for key in OPTION_KEYS]
        options = [option for option in options if option]
        if len(options) < MIN_OPTIONS:
            raise ValidationError({"option_2": gettext("A poll needs at least two options.")})
        if len({option.casefold() for option in options}) != len(options):
            raise ValidationError({"option_1": gettext("Each option must differ from the others.")})
        cleaned: dict[str, Any] = {"question": question}
        cleaned.update(zip(OPTION_KEYS, options, strict=False))
        closing = clean_text(details, "closes_at", max_length=40)
        if closing:
            try:
                moment = datetime.fromisoformat(closing)
                if not moments.in_range(moment):
                    raise ValueError(closing)
            except ValueError:
                raise ValidationError(
                    {
                        "closes_at": gettext("Enter a date and time such as %(example)s.")
                        % {"example": "2026-06-01T18:30+02:00"}
                    }
                )
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
            cleaned["closes_at"] = moment.isoformat()
        result = details.get("result")
        if result is not None:
            cleaned["result"] = _clean_result(result, len(options))
        return cleaned

    def markup(self, text: str, details: dict[str, Any]) -> SafeString:
        options = options_of(details)
        result = final_result(details)
        if result is None:
            items = format_html_join(
                "", '<li><span class="poll-option">{}</span></li>', ((o,) for o in options)
            )
            closing = closes_at(details)
            footer = (
                format_html(
                    '<p class="poll-note">{}</p>',
                    gettext("Voting closes %(time)s UTC.")
                    % {"time": date_format(closing.astimezone(UTC), "j M Y, H:i")},
                )
                if closing
                else ""
            )
        else:
            total = sum(result)
            items = format_html_join(
                "",
                '<li><span class="poll-option">{}</span> <span class="poll-count">{} · {}%</span></li>',
                (
                    (option, _votes(count), _percent(count, total))
                    for option, count in zip(options, result, strict=False)
                ),
            )
            footer = format_html(
                '<p class="poll-note poll-final">{}</p>',
                gettext("Final result: %(votes)s.") % {"votes": _votes(total)},
            )
        return format_html(
            '<div class="entry-poll"><p class="poll-question"><strong>{}</strong></p>'
            '<ol class="poll-options">{}</ol>{}</div>{}',
            details.get("question", ""),
            items,
            footer,
            mark_safe(text),
        )


def _votes(count: int) -> str:
    return ngettext("%(count)s vote", "%(count)s votes", count) % {"count": count}


def _percent(count: int, total: int) -> int:
    return round(100 * count / total) if total else 0


def _clean_result(result: Any, option_count: int) -> dict[str, Any]:
    """A stored final result: {"counts": [one non-negative int per option], "closed_at": iso}."""
    if not isinstance(result, dict):
        raise ValidationError({"result": gettext("The final result is kept by the server; leave it out.")})
    counts = result.get("counts")
    if (
        not isinstance(counts, list)
        or len(counts) != option_count
        or not all(isinstance(count, int) and not isinstance(count, bool) and count >= 0 for count in counts)
    ):
        raise ValidationError({"result": gettext("The final result does not match the poll's options.")})
    closed_at = result.get("closed_at")
    if not isinstance(closed_at, str):
        raise ValidationError({"result": gettext("The final result needs its closing time.")})
    return {"counts": counts, "closed_at": closed_at}
