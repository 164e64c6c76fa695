"""Human-facing times: America/New_York, with the zone shown.

The JSON report keeps ISO-8601 with its offset; the console, the HTML report
and the Discord embeds' fields show the exchange's local time, e.g. ``2025-07-10 10:35 EDT``
(``EST`` in winter), so a reader never has to convert from UTC.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
#: The zone the human-facing reports use, named in their headers.
ZONE_NAME = "America/New_York"


def et_text(value: datetime | str | None, seconds: bool = False) -> str:
    """``value`` (tz-aware ``datetime`` or ISO-8601 text with offset) as New York time.

    ``None`` reads ``-``. The zone abbreviation (``EDT``/``EST``) is always shown.

    Raises:
        ValueError: ISO text without an offset, or a naive ``datetime``.
    """
    if value is None:
        return "-"
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if when.tzinfo is None:
        raise ValueError(f"time {value!r} has no UTC offset")
    pattern = "%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z"
    return when.astimezone(NEW_YORK).strftime(pattern)
