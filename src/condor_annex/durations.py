"""Durations as users write them: 90s, 15m, 2h, 1d, or plain decimal hours (0.25).

Plain numbers are hours because that is what the classic condor_annex took.
"""

from __future__ import annotations

import math
import re

from condor_annex.errors import UsageError

MAX_SECONDS = 366 * 86400  # a lease longer than a year is a typo, not a plan
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([smhd]?)\s*$", re.IGNORECASE)


def parse_duration(text: str, what: str = "duration") -> int:
    """Seconds in `text`; UsageError (one line, says the accepted forms) otherwise."""
    match = _PATTERN.match(str(text))
    if not match:
        raise UsageError(
            f"{what} {text!r} is not a duration; use e.g. 90s, 15m, 2h, 1d or decimal hours (0.25)"
        )
    number, unit = float(match.group(1)), match.group(2).lower() or "h"
    seconds = number * _UNITS[unit]
    if not math.isfinite(seconds) or seconds > MAX_SECONDS:
        raise UsageError(f"{what} {text!r} is too long; it must be at most 366 days")
    if seconds < 1:
        raise UsageError(f"{what} {text!r} is too short; it must be at least 1 second")
    return round(seconds)


def format_duration(seconds: float) -> str:
    """Short human form: 1h05m, 15m, 42s; negative values read as 0s."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s" if secs else f"{minutes}m"
    return f"{secs}s"
