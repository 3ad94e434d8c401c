"""Human durations such as ``90s``, ``30m``, ``1h30m``, ``24h`` or ``2d``: parsed and printed back."""

from __future__ import annotations

import re
from datetime import timedelta

from booking_notifications.core.limits import MAX_REMINDER

_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
MAX_SECONDS = int(MAX_REMINDER.total_seconds())
"""Longer than the longest reminder is a typo (and beyond timedelta's range soon after): the CLI
reads no reminder the API would refuse."""
_PART = re.compile(r"([0-9]+)([dhms])")


def parse_duration(text: str) -> timedelta:
    """Parse ``1h30m``-style text; raise ``ValueError`` naming the text when it is not one."""
    cleaned = text.strip().lower()
    parts = _PART.findall(cleaned)
    units = [unit for _, unit in parts]
    if (
        not parts
        or "".join(f"{n}{u}" for n, u in parts) != cleaned
        or len(set(units)) != len(units)
        or units != sorted(units, key=list(_UNITS).index)
    ):
        raise ValueError(f"{text!r} is not a duration: use forms like 90s, 30m, 1h30m, 24h, 2d")
    seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"{text!r} is not a positive duration")
    if seconds > MAX_SECONDS:
        raise ValueError(f"{text!r} is longer than {MAX_SECONDS // 86400} days")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta | int) -> str:
    """The shortest ``1h30m``-style text for a whole number of seconds (``24h``, not ``1d``)."""
    seconds = int(value.total_seconds()) if isinstance(value, timedelta) else int(value)
    if seconds <= 0:
        raise ValueError(f"{seconds} s is not a positive duration")
    text = ""
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            text += f"{count}{unit}"
    return text


def parse_durations(text: str) -> list[timedelta]:
    """Parse a comma-separated list (``24h,1h``); an empty text is an empty list."""
    return [parse_duration(part) for part in text.split(",") if part.strip()]
