"""The Markdown report (`linewise view --markdown`): one GitHub-flavoured table per
function, for pasting into an issue, a pull request or a notebook cell.

It reads the results model (LineStats.select(), FunctionStats), as the text report does,
and shows the same numbers: hits, time in the report's unit, time per hit, % of the
function's time; with memory figures (linewise.reports.memory) also Alloc, Net and Peak,
in one binary unit per table. Source text goes into code spans with `|` escaped, so no line of a
program can end a cell or the table early.
"""
from __future__ import annotations

from ..source import shown_lines, table_lines, visible
from .memory import MemoryTable, memory_by_key, totals_text

__all__ = ["write_markdown"]


def write_markdown(stats, stream, unit=None, skip_zero=False, sort=False, top=None,
                   from_disk=None, summary=False):
    """Writes the Markdown report of `stats` (a LineStats) to `stream`; unit: seconds per
    unit of the times shown (default: the results'); sort: as LineStats.select (True:
    shortest first, as the text report and line_profiler's --sort)."""
    functions = stats.select(top=top, skip_zero=skip_zero,
                             sort="shortest" if sort is True else sort)
    output_unit = unit or stats.unit
    stream.write(f"Timer unit: {output_unit:g} s\n")
    memory = memory_by_key(stats)
    for func in functions:
        _write_function(stream, func, output_unit, from_disk,
                        None if memory is None else memory.get(func.key, {}))
    if summary and functions:
        stream.write("\n| Time (s) | Function | File:line |\n| ---: | --- | --- |\n")
        for func in functions:
            stream.write(f"| {func.total_time:.6f} | {_code(visible(func.name))} | "
                         f"{_code(visible(func.filename))}:{func.first_lineno} |\n")


def _write_function(stream, func, output_unit, from_disk, memory=None):
    scale = func.unit / output_unit
    table = None if memory is None else MemoryTable(memory, func.lines)
    found = func.source_lines(from_disk)
    block = found.block
    texts = shown_lines(block) if block is not None else None
    mem_total = "" if table is None else "; total memory: " + totals_text(table.totals)
    mem_head = "" if table is None else "".join(f" {h} |" for h in table.headings())
    mem_rule = "" if table is None else " ---: | ---: | ---: |"
    stream.write(f"\n### {_code(visible(func.name))}\n\n"
                 f"{_code(visible(func.filename))}, line {func.first_lineno}; total time "
                 f"{func.total_time:g} s{mem_total}\n\n"
                 f"| Line | Hits | Time | Per hit | % Time |{mem_head} Line contents |\n"
                 f"| ---: | ---: | ---: | ---: | ---: |{mem_rule} --- |\n")
    total = func.total
    for lineno, text in table_lines(func.first_lineno, func.rows, block, found.lines,
                                    texts):
        timing = func.lines.get(lineno)
        if timing is None:
            cells = ("", "", "", "")
        else:
            hits, time = timing
            cells = (str(hits), f"{time * scale:.1f}",
                     f"{time * scale / hits:.1f}" if hits else "",
                     f"{100 * time / total:.1f}" if total else "")
        if table is not None:
            cells += table.cells(lineno)
        stream.write(f"| {lineno} | " + " | ".join(cells) + f" | {_code(text)} |\n")


def _code(text) -> str:
    """`text` as a Markdown code span inside a table cell ('' for blank text)."""
    if not text.strip():
        return ""
    text = text.replace("|", "\\|")
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
