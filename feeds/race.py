"""The state of the race a feed covers: validated here, rendered in `rendering`, pushed as
`feed.updated` by the services."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

FLAGS = {
    "none": "Not started",
    "green": "Green flag",
    "yellow": "Caution",
    "red": "Red flag",
    "white": "White flag",
    "checkered": "Checkered flag",
}
SESSIONS = {"practice": "Practice", "qualifying": "Qualifying", "race": "Race"}
TEXT_FIELDS = ("series", "track", "stage", "leader", "time_remaining")
NUMBER_FIELDS = ("lap", "laps_total", "cautions")
FIELDS = (*TEXT_FIELDS, *NUMBER_FIELDS, "session", "flag", "running_order")
MAX_TEXT = 100
RUNNING_ORDER_LENGTH = 10


def clean_race(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Merge `changes` into the current state and check every field; raises ValidationError
    naming the bad fields. A `null` value clears a field."""
    if not isinstance(changes, dict):
        raise ValidationError({"race": "Send the race status as an object."})
    errors: dict[str, str] = {}
    race = dict(current)
    for name, value in changes.items():
        if name not in FIELDS:
            errors[name] = "Unknown race status field."
            continue
        if value is None or value == "":
            race.pop(name, None)
            continue
        try:
            race[name] = _clean_field(name, value)
        except ValueError as exc:
            errors[name] = str(exc)
    if not errors and "lap" in race and "laps_total" in race and race["lap"] > race["laps_total"]:
        errors["lap"] = "The lap cannot be past the race distance."
    if errors:
        raise ValidationError(errors)
    return race


def _clean_field(name: str, value: Any) -> Any:
    if name in TEXT_FIELDS:
        if not isinstance(value, str):
            raise ValueError("Must be text.")
        value = value.replace("\x00", "").strip()
        if len(value) > MAX_TEXT:
            raise ValueError(f"At most {MAX_TEXT} characters.")
        return value
    if name in NUMBER_FIELDS:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValueError("Must be a whole number.")
        try:
            number = int(value)
        except ValueError:
            raise ValueError("Must be a whole number.")
        if number < 0 or number > 100_000:
            raise ValueError("Must be between 0 and 100000.")
        return number
    if name == "flag":
        if value not in FLAGS:
            raise ValueError(f"Choose one of: {', '.join(FLAGS)}.")
        return value
    if name == "session":
        if value not in SESSIONS:
            raise ValueError(f"Choose one of: {', '.join(SESSIONS)}.")
        return value
    # running_order: up to ten names, leader first.
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError("Send a list of names, leader first.")
    names = [item.replace("\x00", "").strip()[:MAX_TEXT] for item in value if item.strip()]
    if len(names) > RUNNING_ORDER_LENGTH:
        raise ValueError(f"At most {RUNNING_ORDER_LENGTH} names.")
    return names


def flag_label(flag: str | None) -> str:
    return FLAGS.get(flag or "none", FLAGS["none"])


def lap_text(race: dict[str, Any]) -> str:
    """"Lap 45 of 200", "Lap 45", or the time remaining."""
    if "lap" in race:
        return f"Lap {race['lap']} of {race['laps_total']}" if "laps_total" in race else f"Lap {race['lap']}"
    if race.get("time_remaining"):
        return f"{race['time_remaining']} remaining"
    return ""
