"""Reports as one self-contained HTML file: ``linewise view --html OUT.html FILE``.

The page needs nothing but itself: CSS and JavaScript are inline, there are no fonts,
images or scripts from elsewhere, and its Content-Security-Policy forbids loading any
(so it opens offline, from disk or an e-mail attachment, in any modern browser). It shows
a summary, the functions by total time (each collapsible, the hottest open), every line's
hits, time, time per hit and share of the function's time with a heat bar, and a search
box that filters functions by name, file or code. Results with memory figures
(linewise.reports.memory) add each line's Alloc, Net and Peak and a second heat bar, its
share of the function's allocated bytes. The same page layout shows a diff
(linewise.reports.diff).

The page is filled from the templates (templates/page.html, report.css, report.js, read
with importlib.resources and inlined); every piece of text that comes from the
results (names, paths, source code, the command line) goes through html.escape, so
source containing ``<script>`` or ``</td>`` is shown, never run or parsed as markup;
control characters in it are shown as escapes (``\x1b``), as in the text report.
Source is syntax-highlighted when Pygments is installed (CSS classes, no inline styles).

Over 500 lines: one concern, the page's markup, for a report and for a diff, which share
its helpers (the markup's frame, CSS and script are templates/).

A page stays a size a browser opens: it shows at most MAX_FUNCTIONS functions (those with
the most time, or the biggest change) and MAX_ROWS line rows, and says what it left out.
A report leaves out the functions that never ran (show_all keeps them), and only its
OPEN_FUNCTIONS hottest functions come as markup: the collapsed ones' rows are data, made
into rows by the page's script when opened (templates/lazy.js). Results merged from
several processes add each line's per-process counts (templates/processes.js).
"""
from __future__ import annotations

import heapq
import html
import os
import re
from importlib import resources

from ..source import shown_lines, table_lines, visible
from ..units import format_seconds
from .color import diff_tokens, source_tokens
from . import memory as mem

__all__ = ["PAGE", "CSS", "SCRIPT", "render_report", "write_report", "render_diff",
           "write_diff", "format_seconds"]

#: How many functions start open; the others are collapsed (the search opens matches).
OPEN_FUNCTIONS = 20
#: How many lines the "hottest lines" / "biggest changes" lists show.
TOP_LINES = 10
#: At most this many functions and line rows on a page (the rest is left out, and the
#: page says so): a results file of two million functions must not make a 2 GB page.
MAX_FUNCTIONS = 1000
#: The function list's rows laid out when the page opens; the rest wait in a hidden tbody
#: ("Show all", or a search): a browser's layout of 1,000 table rows took over a second.
OVERVIEW_ROWS = 100
MAX_ROWS = 100_000

_e = html.escape


def _t(text) -> str:
    """A name or file name for the page: control characters as escapes, then escaped."""
    return _e(visible(text))

# Token kinds (linewise.reports.color.source_tokens) -> CSS classes.
_TOKEN_CLASSES = {"keyword": "k", "builtin": "b", "defname": "f", "decorator": "d",
                  "string": "s", "number": "n", "comment": "c"}



def _template(name) -> str:
    return resources.files(__package__).joinpath("templates", name).read_text(encoding="utf-8")


#: The page (placeholders {{name}}), its style sheet and its script.
PAGE = _template("page.html")
CSS = _template("report.css") + _template("big.css")
SCRIPT = _template("lazy.js") + _template("report.js") + _template("processes.js")

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def fill(template: str, values: dict) -> str:
    """`template` with each {{name}} replaced by values[name], in one pass (so text
    inserted is never scanned for placeholders). The values must already be HTML."""
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def _generator() -> str:
    from .._version import __version__

    return f"linewise {__version__}"


def _pct(value) -> str:
    text = "%.1f" % value
    return text if len(text) <= 7 else "%.3g" % value  # a share beyond 100% (see text)


def _width(percent) -> str:
    """A bar width for a share in percent, clamped to 0..100."""
    return "%.2f%%" % max(0.0, min(100.0, percent))


def _heat_class(percent) -> str:
    if percent is None:
        return ""
    for level, lowest in ((3, 40.0), (2, 15.0), (1, 5.0)):
        if percent >= lowest:
            return f"h{level}"
    return ""


def _code(text, tokens) -> str:
    """Escaped source text, with token spans when `tokens` are given."""
    if tokens is None:
        return _e(text)
    out = []
    for kind, part in tokens:
        cls = _TOKEN_CLASSES.get(kind)
        out.append(f'<span class="{cls}">{_e(part)}</span>' if cls else _e(part))
    return "".join(out)


def _common_indent(texts) -> int:
    """How many leading characters of whitespace all non-blank `texts` share (shown
    without them: a method's body need not start half-way across the page)."""
    indents = [text[:len(text) - len(text.lstrip())] for text in texts if text.strip()]
    return len(os.path.commonprefix(indents)) if indents else 0


def _dedent(text, tokens, n):
    """`text` and its `tokens` (or None) without their first `n` characters."""
    if not n:
        return text, tokens
    if tokens is not None:
        left, out = n, []
        for kind, part in tokens:
            if left >= len(part):
                left -= len(part)
                continue
            out.append((kind, part[left:]))
            left = 0
        tokens = out
    return text[n:], tokens


def _summary(items) -> str:
    """A <dl> of (label, html value) pairs; values None are left out."""
    parts = ['<dl class="summary">']
    for label, value in items:
        if value is not None:
            parts.append(f"<dt>{_e(label)}</dt><dd>{value}</dd>")
    parts.append("</dl>")
    return "".join(parts)


#: The toolbar's switch between each line's time and its own time (report.js).
OWN_SWITCH = ('<button type="button" id="own-switch" aria-pressed="false" title="Own time: '
              'a line\'s time less that of the profiled functions it called">'
              'Show own time</button>')


def _page(kind, title, heading, summary, overview, functions, data=None, switch="") -> str:
    return fill(PAGE, {
        "generator": _e(_generator()), "title": _e(title), "heading": _e(heading),
        "kind": kind, "css": CSS, "script": SCRIPT, "summary": summary,
        "overview": overview, "functions": functions, "data": _data_block(data or {}),
        "switch": switch,
    })


def _write_file(path, text) -> None:
    # As every file linewise writes: atomically, following symlinks, through devices.
    from .. import _engine

    _engine.write_file(path, text.encode("utf-8"))


# --- the report of one results file -----------------------------------------------------


def _from_disk(stats, from_disk) -> bool:
    """Whether to read sources from disk: as asked, or unless `stats` came from a file."""
    if from_disk is None:
        return not getattr(stats, "sources_complete", False)
    return bool(from_disk)


def render_report(stats, title=None, label=None, from_disk=None, top=None,
                  skip_zero=False, show_all=False) -> str:
    """The HTML page (a str) for a LineStats. label: what the results are (a file name).
    top, skip_zero: only the `top` functions with the most time, without those never
    run (LineStats.select). Functions that never ran are left out unless show_all (the
    page says how many). from_disk: read sources the results lack from their files
    (default: unless the results were loaded from a file; see linewise.source).
    Raises by_process.ByProcessError when a per-process record is broken."""
    from .by_process import split_by_process

    unit = stats.unit
    meta = stats.meta or {}
    from_disk = _from_disk(stats, from_disk)
    breakdown = split_by_process(stats)
    memory = mem.memory_by_key(stats)  # None: no memory columns
    selected = stats.select(top=top, skip_zero=skip_zero)
    never_ran = 0 if show_all else sum(1 for func in selected if not func.hits)
    # Functions by their counted-once totals (FunctionStats.once), as shares of the
    # seconds profiled (the run's wall time): the shares add up to at most 100 % but for
    # threads. Results that do not record those: the line_profiler sums, of their sum.
    totals = [(func.once_time, func) for func in selected if show_all or func.hits]
    del selected
    profiled = stats.profiled
    grand = profiled if profiled else sum(total for total, _ in totals)
    has_own = stats.own_timings is not None
    files = {func.filename for _, func in totals}
    count = len(totals)

    def order(item):
        return (-item[0], item[1].name, item[1].filename, item[1].first_lineno)

    chosen = (heapq.nsmallest(MAX_FUNCTIONS, totals, key=order) if count > MAX_FUNCTIONS
              else sorted(totals, key=order))
    del totals
    functions = []
    rows_left = MAX_ROWS
    for total, func in chosen:
        if rows_left <= 0:
            break
        functions.append((func, total))
        rows_left -= max(1, len(func.lines))
    omitted = count - len(functions)

    ids = {func.key: f"f{i}" for i, (func, _total) in enumerate(functions, 1)}
    # The hottest lines by own time when known (a line's time holds its callees').
    hottest = heapq.nlargest(TOP_LINES, ((t * unit, func, lineno, hits)
                                         for func, _total in functions
                                         for lineno, (hits, t) in _line_times(func, has_own)
                                         if t * unit > 0),
                             key=lambda x: x[0])

    title = visible(title or ("linewise report" + (f": {label}" if label else "")))
    command = meta.get("command", meta.get("argv"))
    summary = _summary([
        ("Results", _t(label) if label else None),
        ("Profiled" if profiled else "Total time",
         f"{_e(format_seconds(grand))} in {count} function"
         f"{'s' if count != 1 else ''}, {len(files)} file{'s' if len(files) != 1 else ''} "
         + ('<span class="note">(wall time; a function\'s total counts each moment once, '
            'with the profiled functions it calls, so its share is of the run)</span>'
            if profiled else
            '<span class="note">(the sum of the functions\' times; a function\'s '
            'time includes the profiled functions it calls)</span>')),
        ("Compensated", _e(f"{meta['event_cost_ns']} ns per event subtracted (calibrated)")
         if meta.get("event_cost_ns") else None),
        ("Command", f'<code>{_t(command)}</code>' if command else None),
        ("Python", _t(" ".join(filter(None, [meta.get("implementation"),
                                              meta.get("python")]))) or None),
        ("Created", _t(meta["created"]) if meta.get("created") else None),
        ("Merged from", _t(meta["merged"]) + " results" if meta.get("merged") else None),
        ("Timer unit", _e("%g s" % unit)),
        ("Memory", None if memory is None else mem.html_overall(
            memory.get(func.key, {}) for func, _total in functions)),
        ("Not shown", _e(_omitted_note(omitted, count, "the most time")) if omitted else None),
        ("Never ran", _e(_never_ran_note(never_ran)) if never_ran else None),
    ])

    of_all = "% of run" if profiled else "% of all"
    parts = ['<h2>Functions by total time</h2>',
             '<div class="scroll"><table class="overview"><thead><tr><th>#</th>'
             f'<th class="left">Function</th><th>Total</th><th>{of_all}</th>'
             '<th class="left"></th><th class="left">File</th></tr></thead><tbody>']
    for i, (func, total) in enumerate(functions, 1):
        key = func.key
        share = 100.0 * total / grand if grand else 0.0
        if i == OVERVIEW_ROWS + 1:
            parts.append('</tbody><tbody id="more-funcs" hidden>')
        parts.append(
            f'<tr data-func="{ids[key]}"><td class="num">{i}</td>'
            f'<td class="left"><a href="#{ids[key]}" class="fname">{_t(key[2])}</a></td>'
            f'<td class="num" title="{_e(repr(total))} s">{_e(format_seconds(total))}</td>'
            f'<td class="num">{_pct(share)}</td>'
            f'<td class="left"><span class="bar"><i style="width:{_width(share)}"></i>'
            f'</span></td><td class="left floc">{_t(key[0])}:{key[1]}</td></tr>')
    parts.append("</tbody></table></div>")
    if len(functions) > OVERVIEW_ROWS:
        parts.append(f'<p class="more"><button type="button" id="show-all-funcs">Show all '
                     f'{len(functions)} functions</button></p>')
    if hottest:
        parts += ['<h2>Hottest lines</h2>', '<div class="scroll"><table class="overview">',
                  f'<thead><tr><th>{"Own time" if has_own else "Time"}</th><th>{of_all}</th>'
                  '<th>Hits</th>'
                  '<th class="left">Function</th><th class="left">Line</th></tr></thead><tbody>']
        for t, func, lineno, hits in hottest:
            key = func.key
            share = 100.0 * t / grand if grand else 0.0
            text = _line_text(func, lineno, from_disk)
            parts.append(
                f'<tr data-func="{ids[key]}"><td class="num">{_e(format_seconds(t))}</td>'
                f'<td class="num">{_pct(share)}</td><td class="num">{hits}</td>'
                f'<td class="left"><a href="#{ids[key]}-L{lineno}">{_t(key[2])}:{lineno}'
                f'</a></td><td class="left"><code>{_e(text.strip())}</code></td></tr>')
        parts.append("</tbody></table></div>")
    if breakdown:
        parts.append(_processes_section(breakdown, unit))
    overview = "\n".join(parts)

    body = ["<h2>Line by line</h2>"]
    if omitted:
        body.append(f'<p class="note">{_e(_omitted_note(omitted, count, "the most time"))}'
                    '</p>')
    if never_ran:
        body.append(f'<p class="note" id="never-ran">{_e(_never_ran_note(never_ran))}</p>')
    rows_left = MAX_ROWS
    lazy: dict = {}
    for i, (func, total) in enumerate(functions):
        html_text, rows = _report_function(func, total, grand, ids[func.key],
                                           i < OPEN_FUNCTIONS, from_disk, max(1, rows_left),
                                           # rows with memory cells are not deferred:
                                           # the page's script renders only time rows
                                           lazy if memory is None else None,
                                           None if memory is None else
                                           memory.get(func.key, {}), of_all)
        body.append(html_text)
        rows_left -= rows
    data = {"lazy": lazy}
    if breakdown:
        data.update(_processes_data(breakdown, functions, ids, unit))
    return _page("report", title, title, summary, overview, "\n".join(body), data,
                 OWN_SWITCH if has_own else "")


def _line_times(func, own):
    """(lineno, (hits, time)) of each line: its own time when `own`, else its time."""
    if not own:
        return func.lines.items()
    return ((ln, (hits, (func.own or {}).get(ln, 0))) for ln, (hits, _) in func.lines.items())


def _omitted_note(omitted, count, by) -> str:
    return (f"{omitted} of the {count} functions are not shown: a page shows at most "
            f"{MAX_FUNCTIONS} functions and {MAX_ROWS} lines, those with {by} first "
            "(linewise view --json or --top N for the others)")


def _line_text(func, lineno, from_disk) -> str:
    lines = func.source_lines(from_disk).block
    index = lineno - func.first_lineno
    if lines is None or not 0 <= index < len(lines):
        return ""
    return shown_lines(lines[index:index + 1])[0]


#: Why a function's lines have no text, for each reason a Source has none.
_NO_SOURCE = {
    "not-read": "the results hold no source (linewise view --source-from-disk reads it "
                "from the file)",
    "missing": "the source file was not found and the results hold no source",
    "refused": "the source file was not read",
}


def _report_function(func, total, grand, fid, open_, from_disk, max_rows, lazy=None,
                     memory=None, of_all="% of all"):
    """(the function's <details>, how many line rows it has): at most max_rows. A
    collapsed one's rows go to lazy[fid] as data (see _row_data) when `lazy` is given:
    the page's script renders them when it is opened. memory: its {lineno: (alloc, net,
    peak)} for the memory columns (None: none)."""
    filename, first, name = func.key
    found = func.source_lines(from_disk)
    note = ""
    texts = None
    if found.block is None:
        why = _NO_SOURCE[found.missing]
        note = f'<p class="note">{_e(why[0].upper() + why[1:])}: lines are shown without ' \
               'their text.</p>'
    else:
        texts = shown_lines(found.block)
    rows = table_lines(first, func.rows, found.block, found.lines, texts)
    cut = len(rows) - max_rows
    if cut > 0:
        rows = rows[:max_rows]
    tokens = source_tokens(texts, filename) if texts else None
    share = 100.0 * total / grand if grand else 0.0
    deferred = None if open_ or lazy is None else lazy.setdefault(fid, [])
    table = None if memory is None else mem.MemoryTable(memory, func.lines)
    out = [f'<details class="func" id="{fid}"{" open" if open_ else ""} '
           f'data-search="{_t(name)} {_t(filename)}"'
           f'{" data-lazy" if deferred is not None else ""}>',
           f'<summary><span class="fname">{_t(name)}</span>'
           f'<span class="floc">{_t(filename)}:{first}</span>'
           f'<span class="ftime" title="{_e(repr(total))} s">{_e(format_seconds(total))} '
           f'<span class="note">({_pct(share)}{_e(of_all[1:])})</span></span>'
           f'<span class="bar"><i style="width:{_width(share)}"></i></span>'
           + ("" if table is None else mem.html_summary(table.totals)) + '</summary>',
           note, '<div class="scroll"><table class="lines"><thead><tr><th>Line</th>'
           '<th>Hits</th><th>Time</th><th>Per hit</th><th>% Time</th>'
           '<th class="left">Heat</th>' + ("" if table is None else mem.html_heading())
           + '<th class="left">Source</th></tr></thead><tbody>']
    unit = func.unit
    func_total = func.total_time
    timed = {lineno: (hits, t * unit) for lineno, (hits, t) in func.lines.items()}
    own = {ln: t * unit for ln, t in func.own.items()} if func.own is not None else None
    # Each line's percentage of the function: of its line_profiler total for the time,
    # of the sum of own times for own time.
    own_total = sum(own.get(ln, 0) for ln in timed) if own is not None else 0
    indent = _common_indent(texts or ())
    in_block = len(texts or ())
    for lineno, text in rows:
        index = lineno - first
        toks = tokens[index] if tokens and 0 <= index < in_block else None
        if 0 <= index < in_block:  # lines outside the block keep their indent
            text, toks = _dedent(text, toks, indent)
        own_line = None if own is None else (own.get(lineno, 0), own_total)
        if deferred is not None:
            deferred.append(_row_data(lineno, text, toks, timed.get(lineno), func_total,
                                      own_line))
        else:
            out.append(_report_row(fid, lineno, text, toks, timed.get(lineno), func_total,
                                   own_line,
                                   "" if table is None else mem.html_cells(table, lineno)))
    if cut > 0:
        span = 6 if table is None else 10
        out.append(f'<tr><td></td><td colspan="{span}" class="note">{cut} more lines not shown '
                   f'(a page shows at most {MAX_ROWS} lines)</td></tr>')
    out.append("</tbody></table></div></details>")
    return "".join(out), len(rows)


def _time_cells(hits, t, total):
    """(time, per hit, percent, bar) cells of `t` seconds out of `total`, and the percent."""
    percent = 100.0 * t / total if total else None
    bar = (f'<span class="bar"><i style="width:{_width(percent)}"></i></span>'
           if percent is not None else "")
    return ([_e(format_seconds(t)), _e(format_seconds(t / hits)) if hits else "",
             _pct(percent) if percent is not None else "", bar], percent)


def _report_row(fid, lineno, text, tokens, timing, total, own=None,
                memory_cells="") -> str:
    """A line's row; `own`: (its own time, the function's sum of them), shown instead of
    its time when the page's switch says so (report.js, .v-time and .v-own)."""
    cells = ["", "", "", "", ""]
    percent = None
    if timing is not None:
        hits, t = timing
        times, percent = _time_cells(hits, t, total)
        if own is not None:
            own_times, _ = _time_cells(hits, own[0], own[1])
            times = [f'<span class="v-time">{a}</span><span class="v-own">{b}</span>'
                     for a, b in zip(times, own_times)]
        cells = [_e(str(hits))] + times
    bar = cells.pop()
    ran = timing is not None and timing[0] > 0
    classes = " ".join(filter(None, ["" if ran else "idle", _heat_class(percent)]))
    cls = f' class="{classes}"' if classes else ""
    num = "".join(f'<td class="num">{c}</td>' for c in cells)
    return (f'<tr id="{fid}-L{lineno}"{cls}><td class="num">{lineno}</td>{num}'
            f'<td class="left">{bar}</td>{memory_cells}'
            f'<td class="src">{_code(text, tokens)}</td></tr>')


def write_report(stats, path, title=None, label=None, from_disk=None, top=None,
                 skip_zero=False, show_all=False) -> None:
    """Writes the HTML report of a LineStats to `path` (UTF-8)."""
    _write_file(path, render_report(stats, title=title, label=label, from_disk=from_disk,
                                    top=top, skip_zero=skip_zero, show_all=show_all))


# --- the page's embedded data: collapsed functions' rows, the per-process breakdown ------
#
# A big profile's page must stay small and open fast: the rows of collapsed functions are
# not markup but data, in one JSON block the script (templates/lazy.js) turns into rows
# when a function is opened; the per-process breakdown of each line is data as well
# (templates/processes.js shows it under a row when the row is clicked).


def _data_block(data) -> str:
    """The page's JSON data as a <script type="application/json"> (nothing runs it), or ""
    when there is none; "<", ">" and "&" are escaped so no text in it can end the block."""
    if not any(data.values()):
        return ""
    import json

    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="lw-data">{text}</script>'


def _row_data(lineno, text, tokens, timing, total, own=None) -> list:
    """One line row as data: [lineno, classes, hits, time, per hit, % time, bar width,
    source], the cells as _report_row writes them; source: its text, or a list of runs
    when highlighted, each [class, text] or, without a class, the text alone
    (templates/lazy.js makes the same row of it). With `own` (as _report_row's) a ninth
    item: [own time, per hit, % own time, bar width]. A line with no figures (no timing),
    most of a big page's rows, is just [lineno, source]."""
    code = text
    if tokens is not None:  # neighbouring tokens of one class as one run: less data
        runs: list = []
        for kind, part in tokens:
            cls = _TOKEN_CLASSES.get(kind, "")
            if runs and runs[-1][0] == cls:
                runs[-1][1] += part
            else:
                runs.append([cls, part])
        if any(cls for cls, _ in runs):
            code = [run if run[0] else run[1] for run in runs]
        else:
            code = "".join(p for _, p in runs)
    if timing is None:  # class "idle", every cell empty
        return [lineno, code]
    hits, t = timing
    percent = 100.0 * t / total if total else None
    cells = [str(hits), format_seconds(t), format_seconds(t / hits) if hits else "",
             _pct(percent) if percent is not None else ""]
    classes = " ".join(filter(None, ["" if hits > 0 else "idle", _heat_class(percent)]))
    row = [lineno, classes, *cells, _width(percent) if percent is not None else "", code]
    if own is not None:
        mine, of = own
        share = 100.0 * mine / of if of else None
        row.append([format_seconds(mine), format_seconds(mine / hits) if hits else "",
                    _pct(share) if share is not None else "",
                    _width(share) if share is not None else ""])
    return row


def _never_ran_note(n) -> str:
    return (f"{n} function{'s' if n != 1 else ''} that never ran "
            f"{'are' if n != 1 else 'is'} not shown (linewise view --html OUT --all "
            "shows them)")


def _processes_section(breakdown, unit) -> str:
    """The overview's table of the processes the results were merged from."""
    out = ['<h2>Processes</h2><p class="note">Click a line that ran to see what each '
           'process counted.</p><div class="scroll"><table class="overview processes">'
           '<thead><tr><th>PID</th><th class="left">Role</th><th>Parent</th><th>Time</th>'
           '<th>Hits</th><th class="left">Command</th></tr></thead><tbody>']
    for proc in breakdown.processes:
        hits = sum(h for rows in proc.lines.values() for h, _ in rows.values())
        out.append(f'<tr><td class="num">{_t(proc.pid)}</td><td class="left">'
                   f'{_t(proc.role)}</td><td class="num">{_t(proc.parent)}</td>'
                   f'<td class="num">{_e(format_seconds(proc.total() * unit))}</td>'
                   f'<td class="num">{hits}</td><td class="left"><code>{_t(proc.command)}'
                   '</code></td></tr>')
    out.append("</tbody></table></div>")
    return "".join(out)


def _processes_data(breakdown, functions, ids, unit) -> dict:
    """{"procs": [[pid, role, parent, command]], "bylines": {fid: {lineno: [[process
    index (-1: the other runs), hits, time]]}}} for the functions on the page."""
    procs = [[visible(p.pid), visible(p.role), visible(p.parent), visible(p.command)]
             for p in breakdown.processes]
    bylines: dict = {}
    for func, _total in functions:
        fid = ids[func.key]
        for lineno, (hits, _t) in func.lines.items():
            if not hits:
                continue
            found = breakdown.line(func.key, lineno)
            if found:
                bylines.setdefault(fid, {})[str(lineno)] = [
                    [-1 if proc is None else breakdown.position[id(proc)], h,
                     format_seconds(t * unit)] for proc, h, t in found]
    return {"procs": procs, "bylines": bylines}


# --- the diff of two results files ------------------------------------------------------


def _change_cell(change, scale_max) -> str:
    cls = "win" if change < 0 else "loss" if change > 0 else ""
    sign = "+" if change > 0 else ""
    return (f'<td class="num {cls}">{_e(sign + format_seconds(change))}</td>'
            f'<td class="left">{_delta_bar(change, scale_max)}</td>')


def _delta_bar(change, scale_max) -> str:
    width = 50.0 * abs(change) / scale_max if scale_max else 0.0
    cls = "win" if change < 0 else "loss"
    inner = f'<i class="{cls}" style="width:{_width(width)}"></i>' if change else ""
    return f'<span class="delta">{inner}</span>'


def _ratio(ratio) -> str:
    return "" if ratio is None else "%.2fx" % ratio


def render_diff(diff, title=None) -> str:
    """The HTML page (a str) for a linewise.reports.diff.Diff."""
    title = title or f"linewise diff: {diff.before_label} → {diff.after_label}"
    title = visible(title)
    count = len(diff.functions)
    shown = []
    rows_left = MAX_ROWS
    for f in diff.functions[:MAX_FUNCTIONS]:  # biggest change first
        if rows_left <= 0:
            break
        shown.append(f)
        rows_left -= max(1, len(f.lines))
    omitted = count - len(shown)
    ids = {id(f): f"f{i}" for i, f in enumerate(shown, 1)}
    biggest_func = max((abs(f.change) for f in diff.functions), default=0.0)
    change = diff.change
    cls = "win" if change < 0 else "loss" if change > 0 else ""
    sign = "+" if change > 0 else ""

    def meta_line(meta):
        bits = [meta.get("command", meta.get("argv")), " ".join(filter(None, [
            meta.get("implementation"), meta.get("python")])), meta.get("created")]
        return " · ".join(_t(b) for b in bits if b) or None

    def side(label, meta):
        about = meta_line(meta)
        return f"<code>{_t(label)}</code>" + (f' <span class="note">{about}</span>'
                                              if about else "")

    summary = _summary([
        ("Before", side(diff.before_label, diff.before_meta)),
        ("After", side(diff.after_label, diff.after_meta)),
        ("Total time", f"{_e(format_seconds(diff.before_total))} → "
                       f"{_e(format_seconds(diff.after_total))}, change "
                       f'<span class="{cls}">{_e(sign + format_seconds(change))}</span>'
                       + (f" ({_ratio(diff.ratio)})" if diff.ratio is not None else "")),
        ("Functions", f"{len(diff.functions)} "
                      f"({sum(f.status == 'both' for f in diff.functions)} on both sides, "
                      f"{sum(f.status == 'removed' for f in diff.functions)} only before, "
                      f"{sum(f.status == 'added' for f in diff.functions)} only after)"),
        ("Not shown", _e(_omitted_note(omitted, count, "the biggest change"))
         if omitted else None),
    ])

    parts = ['<h2>Functions, biggest change first</h2>',
             '<div class="scroll"><table class="overview"><thead><tr><th>#</th>'
             '<th class="left">Function</th><th>Before</th><th>After</th><th>Change</th>'
             '<th class="left"></th><th>Ratio</th><th class="left">File</th></tr></thead>'
             '<tbody>']
    for i, f in enumerate(shown, 1):
        status = {"added": " (only after)", "removed": " (only before)"}.get(f.status, "")
        parts.append(
            f'<tr data-func="{ids[id(f)]}"><td class="num">{i}</td>'
            f'<td class="left"><a href="#{ids[id(f)]}" class="fname">{_t(f.name)}</a>'
            f'<span class="note">{status}</span></td>'
            f'<td class="num">{_e(format_seconds(f.before_total)) if f.before else "–"}</td>'
            f'<td class="num">{_e(format_seconds(f.after_total)) if f.after else "–"}</td>'
            + _change_cell(f.change, biggest_func)
            + f'<td class="num">{_ratio(f.ratio)}</td>'
            f'<td class="left floc">{_t(f.filename)}</td></tr>')
    parts.append("</tbody></table></div>")
    biggest = [(f, line) for f, line in diff.biggest_lines(TOP_LINES) if id(f) in ids]
    if biggest:
        top = max(abs(line.change) for _, line in biggest)
        parts += ['<h2>Biggest changes by line</h2>',
                  '<div class="scroll"><table class="overview"><thead><tr><th>Change</th>'
                  '<th class="left"></th><th>Before</th><th>After</th><th>Ratio</th>'
                  '<th class="left">Where</th><th class="left">Line</th></tr></thead><tbody>']
        for f, line in biggest:
            lineno = line.after_line if line.after_line is not None else line.before_line
            anchor = f"{ids[id(f)]}-{_row_id(line)}"
            mark = {"same": "", "removed": "− ", "added": "+ "}[line.kind]
            before = format_seconds(line.before_time) if line.before_hits is not None else ""
            after = format_seconds(line.after_time) if line.after_hits is not None else ""
            parts.append(
                f'<tr data-func="{ids[id(f)]}" class="{line.kind}">'
                + _change_cell(line.change, top)
                + f'<td class="num">{_e(before)}</td><td class="num">{_e(after)}</td>'
                f'<td class="num">{_ratio(line.ratio)}</td>'
                f'<td class="left"><a href="#{anchor}">{_t(f.name)}:{lineno}</a></td>'
                f'<td class="left"><code>{_e(mark + line.text.strip())}</code></td></tr>')
        parts.append("</tbody></table></div>")
    overview = "\n".join(parts)

    body = ["<h2>Line by line</h2>"]
    if omitted:
        body.append(f'<p class="note">{_e(_omitted_note(omitted, count, "the biggest change"))}'
                    '</p>')
    for i, f in enumerate(shown):
        body.append(_diff_function(f, ids[id(f)], open_=i < OPEN_FUNCTIONS,
                                   memory=diff.memory))
    return _page("diff", title, title, summary, overview, "\n".join(body))


def _row_id(line) -> str:
    if line.kind == "added":
        return f"A{line.after_line}"
    if line.kind == "removed":
        return f"B{line.before_line}"
    return f"L{line.after_line}"


def _diff_function(f, fid, open_, memory=False) -> str:
    """One function of the diff page; memory: the diff has memory figures (Alloc, Net and
    Peak before → after, per line and in the function's header)."""
    if f.before and f.after and f.before[:2] != f.after[:2]:
        if f.before[0] == f.after[0]:
            where = f"{_t(f.before[0])}:{f.before[1]} → {f.after[1]}"
        else:
            where = f"{_t(f.before[0])}:{f.before[1]} → {_t(f.after[0])}:{f.after[1]}"
    else:
        key = f.after or f.before
        where = f"{_t(key[0])}:{key[1]}"
    status = {"added": "only after", "removed": "only before"}.get(f.status)
    change = f.change
    cls = "win" if change < 0 else "loss" if change > 0 else ""
    sign = "+" if change > 0 else ""
    before_txt = format_seconds(f.before_total) if f.before else "–"
    after_txt = format_seconds(f.after_total) if f.after else "–"
    tokens = diff_tokens(f)
    biggest = max([line.before_time for line in f.lines]
                  + [line.after_time for line in f.lines] + [0.0])
    out = [f'<details class="func" id="{fid}"{" open" if open_ else ""} '
           f'data-search="{_t(f.name)} {_t(f.filename)}">',
           f'<summary><span class="fname">{_t(f.name)}</span>'
           f'<span class="floc">{where}</span>'
           + (f'<span class="note">{status}</span>' if status else "")
           + f'<span class="ftime">{_e(before_txt)} → {_e(after_txt)}, '
           f'<span class="{cls}">{_e(sign + format_seconds(change))}</span>'
           + (f" ({_ratio(f.ratio)})" if f.ratio is not None else "") + "</span>"
           + (_diff_memory_summary(f) if memory else "") + "</summary>",
           '<div class="scroll"><table class="lines"><thead><tr><th>Before #</th>'
           '<th>After #</th><th>Hits before</th><th>Hits after</th><th>Before</th>'
           '<th>After</th><th class="left">Time</th><th>Change</th><th>Ratio</th>'
           + (mem.html_diff_heading() if memory else "")
           + '<th></th><th class="left">Source</th></tr></thead><tbody>']
    indent = _common_indent([line.text for line in f.lines])
    for line in f.lines:
        ran = bool(line.before_hits or line.after_hits)
        classes = " ".join(filter(None, [line.kind if line.kind != "same" else "",
                                         "" if ran else "idle"]))
        cls_attr = f' class="{classes}"' if classes else ""
        bars = ""
        if line.timed and biggest > 0:
            bars = (f'<span class="bar" title="before"><i style="width:'
                    f'{_width(100.0 * line.before_time / biggest)}"></i></span>'
                    f'<span class="bar after" title="after"><i style="width:'
                    f'{_width(100.0 * line.after_time / biggest)}"></i></span>')
        ch = line.change
        ch_cls = "win" if ch < 0 else "loss" if ch > 0 else ""
        ch_txt = (("+" if ch > 0 else "") + format_seconds(ch)) if line.timed else ""
        mark = {"same": "", "removed": "−", "added": "+"}[line.kind]
        cells = [
            "" if line.before_line is None else str(line.before_line),
            "" if line.after_line is None else str(line.after_line),
            "" if line.before_hits is None else str(line.before_hits),
            "" if line.after_hits is None else str(line.after_hits),
            format_seconds(line.before_time) if line.before_hits is not None else "",
            format_seconds(line.after_time) if line.after_hits is not None else "",
        ]
        out.append(
            f'<tr id="{fid}-{_row_id(line)}"{cls_attr}>'
            + "".join(f'<td class="num">{_e(c)}</td>' for c in cells)
            + f'<td class="bars">{bars}</td><td class="num {ch_cls}">{_e(ch_txt)}</td>'
            f'<td class="num">{_ratio(line.ratio)}</td>'
            + (mem.html_diff_cells(line.before_memory, line.after_memory) if memory else "")
            + f'<td class="mark">{mark}</td>'
            f'<td class="src">{_code(*_dedent(line.text, tokens.get(id(line)), indent))}'
            '</td></tr>')
    out.append("</tbody></table></div></details>")
    return "".join(out)


def _diff_memory_summary(f) -> str:
    """A diff function's memory figures in its header: before → after."""
    sides = [mem.totals_text(t) if t is not None else "–"
             for t in (f.before_memory, f.after_memory)]
    return f'<span class="fmem">{_e(" → ".join(sides))}</span>'


def write_diff(diff, path, title=None) -> None:
    """Writes the HTML page of a linewise.reports.diff.Diff to `path` (UTF-8)."""
    _write_file(path, render_diff(diff, title=title))
