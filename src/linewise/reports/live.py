"""The live view's screen: one frame drawn from a Snapshot (linewise.snapshot) with rich.

Only what is on a frame lives here; the loop that takes snapshots, reads keys and owns
the terminal is linewise.cli.live. rich is imported by the caller's choice (`pip install
linewise[live]`): this module needs it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..source import read_file_lines, visible, visible_source
from ..units import format_seconds

LINES, FUNCTIONS = "lines", "functions"
KEYS = ("keys: l hottest lines   f hottest functions   tab switch   p pause   "
        "q quit the view (the program goes on)")
BAR = 12  # heat bar width in cells
_EIGHTHS = " ▏▎▍▌▋▊▉"


@dataclass
class Frame:
    """What one screen shows besides the counters."""

    title: str            # the program, as the command line named it
    elapsed: float        # seconds since the program started
    rate: float           # line events per second over the last refresh
    mode: str = LINES     # LINES or FUNCTIONS
    paused: bool = False
    output: str | None = None  # where the program's stdout and stderr go


class Sources:
    """Source lines by file, each file read once (from disk, as reports do)."""

    def __init__(self):
        self._files: dict = {}

    def line(self, filename, lineno) -> str:
        lines = self._files.get(filename)
        if lines is None:
            lines = read_file_lines(filename)
            self._files[filename] = lines = lines if isinstance(lines, list) else []
        if 1 <= lineno <= len(lines):
            return visible_source(lines[lineno - 1].strip())
        return ""


def heat_bar(fraction) -> str:
    """A bar of BAR cells, `fraction` (0..1) of it full, in eighths of a cell."""
    eighths = round(max(0.0, min(1.0, fraction)) * BAR * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (_EIGHTHS[part] if part else "")).ljust(BAR)


def where(key, lineno) -> str:
    return f"{visible(os.path.basename(key[0]))}:{lineno}"


def render(snapshot, frame: Frame, sources: Sources, height: int):
    """The frame for a terminal `height` rows tall, as a rich renderable."""
    header = Text()
    header.append("linewise live", style="bold")
    header.append(f"  {frame.title}   elapsed {_clock(frame.elapsed)}   "
                  f"events/s {_count(frame.rate)}   functions {snapshot.profiled} profiled, "
                  f"{snapshot.ran} ran")
    if frame.paused:
        header.append("   PAUSED", style="bold reverse")
    status = Text(f"hottest {frame.mode}", style="bold")
    if frame.output:
        status.append(f"   program output: {frame.output}", style="none")
    rows = max(1, height - 7)  # header, status, table head and rule, keys, margins
    if frame.mode == FUNCTIONS:
        table = _functions(snapshot, frame, sources, rows)
    else:
        table = _lines(snapshot, frame, sources, rows)
    return Group(header, status, table, Text(KEYS, style="dim"))


def _table(first_column):
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, expand=True, show_edge=False)
    table.add_column(first_column, no_wrap=True)
    table.add_column("function", no_wrap=True, max_width=28, overflow="ellipsis")
    table.add_column("hits", justify="right", no_wrap=True)
    table.add_column("time", justify="right", no_wrap=True)
    table.add_column("% run", justify="right", no_wrap=True)
    table.add_column("heat", no_wrap=True, width=BAR)
    table.add_column("source", no_wrap=True, overflow="ellipsis", ratio=1)
    return table


def _lines(snapshot, frame, sources, rows):
    table = _table("file:line")
    hottest = snapshot.lines(rows)
    top = hottest[0].seconds if hottest else 0.0
    for line in hottest:
        table.add_row(where(line.key, line.lineno), visible(line.key[2]), str(line.hits),
                      format_seconds(line.seconds), _percent(line.seconds, frame.elapsed),
                      Text(heat_bar(line.seconds / top if top else 0), style="red"),
                      Text(sources.line(line.key[0], line.lineno)))
    return table


def _functions(snapshot, frame, sources, rows):
    table = _table("file:line")
    hottest = snapshot.functions(rows)
    top = hottest[0].seconds if hottest else 0.0
    for func in hottest:
        table.add_row(where(func.key, func.key[1]), visible(func.key[2]), str(func.hits),
                      format_seconds(func.seconds), _percent(func.seconds, frame.elapsed),
                      Text(heat_bar(func.seconds / top if top else 0), style="red"),
                      Text(f"hottest line {func.hottest}: "
                           + sources.line(func.key[0], func.hottest)))
    return table


def _percent(seconds, elapsed) -> str:
    return f"{100.0 * seconds / elapsed:.1f}%" if elapsed > 0 else "-"


def _clock(seconds) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}" if minutes < 60 else f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


def _count(rate) -> str:
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if rate >= scale:
            return f"{rate / scale:.3g}{suffix}"
    return f"{rate:.0f}"
