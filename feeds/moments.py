"""The times Livefeed takes from outside: years 1900 to 2999, as written.

A time at the edge of what Python can hold (year 1, or 9999) is valid RFC 3339 text, but its
offset can carry it past the edge once it is turned into UTC to be stored or compared: a crash
for the server, a refusal the client could not have foreseen. Every time a client, a timing feed
or an editor sends is held to this one range, and the API's schema states it as a pattern.
"""

from __future__ import annotations

from datetime import datetime

EARLIEST_YEAR = 1900
LATEST_YEAR = 2999
# The same range for a schema's date-time text: it starts with its year.
YEAR_PATTERN = r"^(19|2[0-9])[0-9]{2}-"


def in_range(moment: datetime) -> bool:
    """Whether the moment's year, as written (before any change of offset), is one Livefeed takes."""
    return EARLIEST_YEAR <= moment.year <= LATEST_YEAR
