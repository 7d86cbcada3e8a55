"""`linewise view --by-test`: which test is slow, and on which line.

Reads the per-test run records the pytest plugin writes (keys ``pytest.test``,
``pytest.unit``, ``pytest.lines``; see linewise.integrations.pytest_plugin) and prints,
slowest test first (by wall time), each test's profiled functions (slowest first) with their time, hits
of their first line and their hottest line. What the results hold beyond the tests' own
counts (collection, module imports, session fixtures) is shown as "(outside tests)".
"""
from __future__ import annotations

import json

from ..results import FunctionStats
from ..source import strip_line_end, visible
from ..units import format_seconds

__all__ = ["split_by_test", "print_by_test", "ByTestError"]


class ByTestError(ValueError):
    """The results hold no per-test records, or a broken one."""


def split_by_test(stats) -> list:
    """[(node id, seconds, {key: [(lineno, hits, time in stats.unit)]})], as the runs list
    them (a test run in two files, e.g. merged reruns, is summed); seconds: the test's
    wall time (setup, call, teardown)."""
    found: dict = {}
    seconds: dict = {}
    for index, run in enumerate(stats.runs):
        if "pytest.test" not in run:
            continue
        try:
            scale = float(run.get("pytest.unit", "1e-9")) / stats.unit
            entries = json.loads(run.get("pytest.lines", "[]"))
            seconds[run["pytest.test"]] = (seconds.get(run["pytest.test"], 0.0)
                                           + float(run.get("pytest.seconds", "0")))
            into = found.setdefault(run["pytest.test"], {})
            for filename, first_lineno, name, rows in entries:
                acc = into.setdefault((filename, first_lineno, name), {})
                for lineno, hits, time in rows:
                    h0, t0 = acc.get(lineno, (0, 0))
                    acc[lineno] = (h0 + int(hits), t0 + round(time * scale))
        except (ValueError, TypeError, KeyError) as exc:
            raise ByTestError(f"runs[{index}] ({visible(run['pytest.test'])}): broken "
                              f"pytest.lines ({exc})") from None
    return [(test, seconds[test], {key: sorted((ln, h, t) for ln, (h, t) in acc.items())
                    for key, acc in funcs.items()}) for test, funcs in found.items()]


def _outside(stats, tests) -> dict:
    """What the totals hold beyond the sum of the tests."""
    counted: dict = {}
    for _, _, funcs in tests:
        for key, rows in funcs.items():
            acc = counted.setdefault(key, {})
            for ln, h, t in rows:
                h0, t0 = acc.get(ln, (0, 0))
                acc[ln] = (h0 + h, t0 + t)
    out = {}
    for key, rows in stats.timings.items():
        acc = counted.get(key, {})
        left = [(ln, h - acc.get(ln, (0, 0))[0], t - acc.get(ln, (0, 0))[1])
                for ln, h, t in rows]
        left = [row for row in left if row[1]]
        if left:
            out[key] = left
    return out


def print_by_test(stats, stream, top=None, from_disk=None) -> None:
    """Writes the per-test summary of `stats` to `stream`; ByTestError if it has none.
    top: only the `top` slowest tests."""
    tests = split_by_test(stats)
    if not tests:
        raise ByTestError("no per-test results in it (they come from `pytest --linewise "
                          "TARGET` or @pytest.mark.linewise)")
    if from_disk is None:
        from_disk = not stats.sources_complete
    entries = [(test, seconds, _functions(stats, funcs, from_disk))
               for test, seconds, funcs in tests]
    outside = _outside(stats, tests)
    entries.sort(key=lambda e: -e[1])
    shown = entries if top is None else entries[:max(0, top)]
    write = stream.write
    write(f"Per test: {len(entries)} test(s) ran profiled code, slowest first"
          + (f" (the {len(shown)} slowest)" if len(shown) < len(entries) else "")
          + "; a test's time is its wall time (setup, call, teardown), a function's the "
          "sum of its lines\n")
    for test, seconds, functions in shown:
        write(f"\n{format_seconds(seconds):>10}  {visible(test)}\n")
        _write_functions(write, functions, stats.unit)
    if outside:
        functions = _functions(stats, outside, from_disk)
        total = sum(f.total for f, _, _ in functions) * stats.unit
        write(f"\n{format_seconds(total):>10}  (outside tests: collection, imports, "
              "session fixtures)\n")
        _write_functions(write, functions, stats.unit)


def _functions(stats, funcs, from_disk):
    """[(FunctionStats, hottest (lineno, hits, time) or None, Source)], slowest first."""
    out = []
    for key, rows in funcs.items():
        func = FunctionStats(key, rows, stats.unit, stats.sources.get(key),
                             stats.sources_complete)
        hottest = max(rows, key=lambda r: r[2]) if rows else None
        out.append((func, hottest, func.source_lines(from_disk)))
    out.sort(key=lambda e: -e[0].total)
    return out


def _write_functions(write, functions, unit):
    for func, hottest, source in functions:
        write(f"{format_seconds(func.total * unit):>10}    {visible(func.name)} "
              f"({visible(func.filename)}:{func.first_lineno})\n")
        if hottest is None:
            continue
        lineno, hits, time = hottest
        share = f"{100 * time / func.total:.0f}%" if func.total > 0 else "-"
        write(f"{'':>10}      hottest line {lineno}: {format_seconds(time * unit)} "
              f"({share}), {hits} hit(s){_text(source, func.first_lineno, lineno)}\n")


def _text(source, first_lineno, lineno) -> str:
    lines = getattr(source, "lines", None) or getattr(source, "block", None)
    index = lineno - first_lineno
    if not lines or not 0 <= index < len(lines):
        return ""
    return "   " + visible(strip_line_end(lines[index]).strip())
