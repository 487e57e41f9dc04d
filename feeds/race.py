"""The state of the race a feed covers: validated here, rendered in `rendering`, pushed as
`feed.updated` by the services."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

FLAGS = {
    "none": gettext_lazy("Not started"),
    "green": gettext_lazy("Green flag"),
    "yellow": pgettext_lazy("yellow flag", "Caution"),
    "red": gettext_lazy("Red flag"),
    "white": gettext_lazy("White flag"),
    "checkered": gettext_lazy("Checkered flag"),
}
SESSIONS = {
    "practice": pgettext_lazy("session", "Practice"),
    "qualifying": pgettext_lazy("session", "Qualifying"),
    "race": pgettext_lazy("session", "Race"),
}
TEXT_FIELDS = ("series", "track", "stage", "leader", "time_remaining", "session_name")
# laps_to_go and stage_laps_left as the timing source counts them; lead_changes and leaders so far.
NUMBER_FIELDS = ("lap", "laps_total", "cautions", "laps_to_go", "stage_laps_left", "lead_changes", "leaders")
FIELDS = (*TEXT_FIELDS, *NUMBER_FIELDS, "session", "flag", "running_order")
MAX_TEXT = 100
RUNNING_ORDER_LENGTH = 10


def clean_race(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Merge `changes` into the current state and check every field; raises ValidationError
    naming the bad fields. A `null` value clears a field."""
    if not isinstance(changes, dict):
        raise ValidationError({"race": _("Send the race status as an object.")})
    errors: dict[str, str] = {}
    race = dict(current)
    for name, value in changes.items():
        if name not in FIELDS:
            errors[name] = _("Unknown race status field.")
            continue
        if value is None or value == "":
            race.pop(name, None)
            continue
        try:
            race[name] = _clean_field(name, value)
        except ValueError as exc:
            errors[name] = str(exc)
    if not errors and "lap" in race and "laps_total" in race and race["lap"] > race["laps_total"]:
        errors["lap"] = _("The lap cannot be past the race distance.")
    if errors:
        raise ValidationError(errors)
    return race


def _clean_field(name: str, value: Any) -> Any:
    if name in TEXT_FIELDS:
        if not isinstance(value, str):
            raise ValueError(_("Must be text."))
        value = value.replace("\x00", "").strip()
        if len(value) > MAX_TEXT:
            raise ValueError(_("At most %(limit)s characters.") % {"limit": MAX_TEXT})
        return value
    if name in NUMBER_FIELDS:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValueError(_("Must be a whole number."))
        try:
            number = int(value)
        except ValueError:
            raise ValueError(_("Must be a whole number."))
        if number < 0 or number > 100_000:
            raise ValueError(_("Must be between %(low)s and %(high)s.") % {"low": 0, "high": 100_000})
        return number
    if name == "flag":
        if value not in FLAGS:
            raise ValueError(_("Choose one of: %(choices)s.") % {"choices": ", ".join(FLAGS)})
        return value
    if name == "session":
        if value not in SESSIONS:
            raise ValueError(_("Choose one of: %(choices)s.") % {"choices": ", ".join(SESSIONS)})
        return value
    # running_order: up to ten names, leader first.
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(_("Send a list of names, leader first."))
    names = [item.replace("\x00", "").strip()[:MAX_TEXT] for item in value if item.strip()]
    if len(names) > RUNNING_ORDER_LENGTH:
        raise ValueError(_("At most %(limit)s names.") % {"limit": RUNNING_ORDER_LENGTH})
    return names


def flag_label(flag: str | None) -> str:
    return str(FLAGS.get(flag or "none", FLAGS["none"]))


def is_racing(race: dict[str, Any]) -> bool:
    """A race, or a session of unknown kind: practice and qualifying have no leader, stage or cautions."""
    return race.get("session") in (None, "race")


def is_finished(race: dict[str, Any]) -> bool:
    return race.get("flag") == "checkered"


def lap_text(race: dict[str, Any]) -> str:
    """ "Lap 45 of 200, 155 to go", "Lap 45", or the time remaining."""
    if "lap" in race:
        lap = number_format(race["lap"], force_grouping=True)
        if "laps_total" in race:
            total = number_format(race["laps_total"], force_grouping=True)
            text = _("Lap %(lap)s of %(total)s") % {"lap": lap, "total": total}
        else:
            text = _("Lap %(lap)s") % {"lap": lap}
        if race.get("laps_to_go") and not is_finished(race):
            to_go = race["laps_to_go"]
            text = ngettext("%(text)s, %(count)s to go", "%(text)s, %(count)s to go", to_go) % {
                "text": text,
                "count": number_format(to_go, force_grouping=True),
            }
        return text
    if race.get("time_remaining"):
        return _("%(time)s remaining") % {"time": race["time_remaining"]}
    return ""


def session_text(race: dict[str, Any]) -> str | None:
    """ "Final Practice", "Cook Out Southern 500 (race)", "Qualifying": the session's name and kind."""
    label, name = SESSIONS.get(race.get("session", "")), race.get("session_name")
    kind = str(label) if label else None
    if name and kind and kind.lower() not in name.lower():
        return _("%(name)s (%(kind)s)") % {"name": name, "kind": kind.lower()}
    return name or kind


def stage_text(race: dict[str, Any]) -> str | None:
    """ "2 (ends lap 185), 12 laps left"."""
    stage = race.get("stage")
    if not stage:
        return None
    left = race.get("stage_laps_left")
    if left is None:
        return stage
    return ngettext("%(stage)s, %(count)s lap left", "%(stage)s, %(count)s laps left", left) % {
        "stage": stage,
        "count": number_format(left, force_grouping=True),
    }


def lead_changes_text(race: dict[str, Any]) -> str | None:
    """ "19 among 13 drivers"."""
    if race.get("lead_changes") is None:
        return None
    if race.get("leaders"):
        return ngettext(
            "%(changes)s among %(count)s driver", "%(changes)s among %(count)s drivers", race["leaders"]
        ) % {"changes": race["lead_changes"], "count": race["leaders"]}
    return str(race["lead_changes"])


def facts(race: dict[str, Any]) -> list[tuple[str, Any]]:
    """The labelled facts of the status bar, in order; the leader of a finished race is its winner."""
    return [
        (label, value)
        for label, value in (
            (_("Series"), race.get("series")),
            (_("Track"), race.get("track")),
            (_("Session"), session_text(race)),
            (_("Stage"), stage_text(race)),
            (_("Winner") if is_finished(race) else _("Leader"), race.get("leader")),
            (_("Cautions"), race.get("cautions")),
            (_("Lead changes"), lead_changes_text(race)),
        )
        if value not in (None, "")
    ]
