"""Units of reports. Time: the names users type (-u ms), the seconds they stand for, and
the unit a report picks to show a time in; one table, SCALES, for all of it. Memory: the
binary units (B, KiB, MiB, GiB) of BYTE_SCALES, one picked per table."""
from __future__ import annotations

__all__ = ["SCALES", "UNITS", "parse_unit", "pick_unit", "unit_name", "format_seconds",
           "BYTE_SCALES", "pick_byte_unit", "format_bytes_in", "format_bytes"]

#: Display units, largest first: (seconds per unit, name in text reports, name for
#: people: the HTML page writes µs).
SCALES = ((1.0, "s", "s"), (1e-3, "ms", "ms"), (1e-6, "us", "µs"), (1e-9, "ns", "ns"))

#: The names -u/--unit and [tool.linewise] unit take.
UNITS = {**{name: seconds for seconds, name, _ in SCALES},
         **{shown: seconds for seconds, _, shown in SCALES}}


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


def pick_unit(seconds_values):
    """(seconds per unit, name): the largest unit in which the biggest value is >= 1
    (ns below that)."""
    biggest = max((abs(v) for v in seconds_values), default=0.0)
    for scale, name, _ in SCALES:
        if biggest >= scale:
            return scale, name
    return SCALES[-1][:2]


def unit_name(seconds) -> str:
    """The name of a unit of `seconds` ("ms"), or "<seconds> s" for one without a name."""
    return next((name for scale, name, _ in SCALES if scale == seconds), "%g s" % seconds)


def format_seconds(seconds) -> str:
    """A time for people: 3 significant digits in s, ms, µs or ns ("0" for zero)."""
    if seconds == 0:
        return "0"
    magnitude = abs(seconds)
    for scale, _, name in SCALES:
        if magnitude >= scale or scale == SCALES[-1][0]:
            value = seconds / scale
            text = "%.3g" % value
            if "e" in text:  # 1000 ns and up rounded: keep plain digits
                text = "%.0f" % value
            return f"{text} {name}"
    raise AssertionError("unreachable")


# --- memory ------------------------------------------------------------------------------

#: Memory units, largest first: (bytes per unit, name). Binary, as memory is allocated.
BYTE_SCALES = ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"), (1, "B"))


def pick_byte_unit(byte_values):
    """(bytes per unit, name): the largest binary unit in which the biggest value (by
    magnitude) is >= 1 (B below that), so one table shows all its sizes in one unit."""
    biggest = max((abs(v) for v in byte_values), default=0)
    for scale, name in BYTE_SCALES:
        if biggest >= scale:
            return scale, name
    return BYTE_SCALES[-1]


def format_bytes_in(value, scale, signed=False) -> str:
    """`value` bytes as a number of units of `scale` bytes: whole bytes in B, else one
    decimal ("47.7"); signed: with a + before a positive value (a change of size), and
    no sign on what rounds to zero."""
    text = "%d" % value if scale == 1 else "%.1f" % (value / scale)
    if text.startswith("-") and not text.strip("-0."):
        text = text[1:]  # -0.0
    if signed and text.strip("0.") and not text.startswith("-"):
        text = "+" + text
    return text


def format_bytes(value, signed=False) -> str:
    """A size for people, in its own unit: "47.7 MiB", "512 B" (signed: "+47.7 MiB")."""
    scale, name = pick_byte_unit([value])
    return f"{format_bytes_in(value, scale, signed)} {name}"
