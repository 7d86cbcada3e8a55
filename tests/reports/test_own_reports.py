"""Reports rank and sum functions by their counted-once totals and give shares of the
seconds profiled; the plain table stays line_profiler's (issue 15)."""
import io
import json

from linewise.reports.diff import diff_stats
from linewise.reports.html import render_report
from linewise.reports.json import dumps
from linewise.reports.text import print_report, show_text
from linewise.results import OUTER, OWN, TIME_COLUMNS, LineStats

FIB = ("prog.py", 1, "fib")
MAIN = ("prog.py", 10, "main")


def stats(profiled="0.001", cost=None):
    """fib recursing under main: fib's line_profiler total (4 ms) is four times the run
    (1 ms), its counted-once total 0.9 ms; main's is 1 ms."""
    timings = {FIB: [(2, 100, 1_000_000), (4, 50, 3_000_000)],
               MAIN: [(11, 1, 1_000_000)]}
    columns = {OWN: {FIB: {2: 400_000, 4: 500_000}, MAIN: {11: 100_000}},
               OUTER: {FIB: {2: 100_000, 4: 800_000}, MAIN: {11: 1_000_000}}}
    meta = {"profiled": profiled, "pid": "1"}
    if cost:
        meta["event_cost_ns"] = cost
    return LineStats(timings, 1e-9, meta, columns=columns, column_types=dict(TIME_COLUMNS))


def test_ranking_summary_and_top_use_the_counted_once_totals():
    s = stats()
    assert [f.name for f in s.select(sort=True)] == ["main", "fib"]
    assert [f.name for f in s.select(top=1)] == ["main"]
    out = io.StringIO()
    print_report(s, out, summary=True)
    text = out.getvalue()
    assert "  0.00 seconds - prog.py:1 - fib\n" in text
    assert "  0.00 seconds profiled (wall time; each function above counted once)\n" in text


def test_the_plain_table_is_line_profilers():
    s = stats()
    ours, theirs = io.StringIO(), io.StringIO()
    print_report(s, ours)
    show_text(s.timings, s.unit, stream=theirs)  # the line_profiler-shaped entry point
    assert ours.getvalue() == theirs.getvalue()
    assert "Total time: 0.004 s" in ours.getvalue()  # fib's line_profiler total, kept


def test_the_calibrated_cost_heads_the_report():
    out = io.StringIO()
    print_report(stats(cost="31.0, past line 256 44.0"), out)
    assert out.getvalue().startswith(
        "Timer unit: 1e-09 s\n\nCompensated: 31.0, past line 256 44.0 ns per event "
        "subtracted (calibrated)\n\n")


def test_json_carries_both_times_and_the_seconds_profiled():
    doc = json.loads(dumps(stats(), sort=True))
    assert doc["profiled"] == 0.001
    fib = next(f for f in doc["functions"] if f["name"] == "fib")
    assert fib["total_time"] == 0.004 and abs(fib["once_time"] - 0.0009) < 1e-12
    assert abs(fib["own_time"] - 0.0009) < 1e-12
    assert [line["own_time"] for line in fib["lines"]] == [0.0004, 0.0005]
    assert [f["name"] for f in doc["functions"]] == ["main", "fib"]
    assert doc["once_time"] <= 2 * doc["profiled"]


def test_html_shares_are_of_the_run_and_add_up():
    page = render_report(stats())
    assert "<dt>Profiled</dt><dd>1.00 ms" in page or "<dt>Profiled</dt>" in page
    assert 'id="own-switch"' in page and "% of run" in page
    assert 'class="v-own"' in page
    # fib: 0.9 ms of a 1 ms run, main 1 ms: no share above 100 %.
    assert ">90.0<" in page and ">100.0<" in page and ">400.0<" not in page


def test_html_without_the_columns_is_as_before():
    plain = LineStats(stats().timings, 1e-9, {})
    page = render_report(plain)
    assert 'id="own-switch"' not in page and "% of all" in page and "Total time" in page


def test_diff_totals_count_each_moment_once():
    d = diff_stats(stats(), stats())
    fib = next(f for f in d.functions if f.name == "fib")
    assert abs(fib.before_total - 0.0009) < 1e-12


def test_own_view_and_merging_in_the_finer_unit():
    s = stats()
    own = s.with_own_times()
    assert own.timings[FIB] == [(2, 100, 400_000), (4, 50, 500_000)]
    coarse = LineStats({FIB: [(2, 1, 3)]}, 1e-6, {"profiled": "0.5"},
                       columns={OWN: {FIB: {2: 2}}, OUTER: {FIB: {2: 1}}},
                       column_types=dict(TIME_COLUMNS))
    both = s + coarse
    assert both.unit == 1e-9
    assert both.columns[OWN][FIB][2] == 400_000 + 2000
    assert both.profiled == 0.501
