"""Time units of reports: the names users type (-u ms) and the seconds they stand for."""
from __future__ import annotations

__all__ = ["UNITS", "parse_unit"]

UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def parse_unit(value) -> float:
    """A report's time unit in seconds, from a number ("1e-3") or s, ms, us or ns;
    raises ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"not a time unit: {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        text = str(value).strip().lower()
        if text in UNITS:
            return UNITS[text]
        try:
            seconds = float(text)
        except ValueError:
            raise ValueError(f"not a time unit: {value!r} (give seconds, such as 1e-6, "
                             "or one of s, ms, us, ns)") from None
    if not 0 < seconds < float("inf"):
        raise ValueError(f"the unit must be a positive number of seconds, not {value!r}")
    return seconds
