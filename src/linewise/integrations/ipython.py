"""IPython and Jupyter: ``%load_ext linewise`` registers ``%lprun``, ``%%lprun`` and
``%%lprun_all``.

The flags are line_profiler 5.1's, with its meanings: ``-f EXPR`` (repeatable: a function,
method, class or module, evaluated in the user's namespace), ``-m MODULE``, ``-D FILE``
(save the results: a .lw file), ``-T FILE`` (save the text report), ``-r`` (return the
results, a LineStats), ``-z`` and its older alias ``-s`` (leave out what never ran), ``-u
UNIT`` (the text table's time unit: seconds or s/ms/us/ns); ``%%lprun_all`` also takes
``-p`` (the cell's top-level code only, not the functions it defines) and ``-t`` (the
cell's wall time into ``_total_time_taken``).

The result is shown through IPython's display machinery, as an object with
``_repr_html_`` (a notebook shows the HTML report) and ``__repr__`` (a terminal shows the
text table, coloured when the terminal takes colour). The HTML is the self-contained page
of linewise.reports.html inside an ``<iframe srcdoc>`` sandboxed to its own scripts: the
page's CSS, script and Content-Security-Policy then apply to the report alone, never to
the notebook around it (a page pasted into the notebook's DOM would restyle the notebook,
and its CSP meta tag would not apply to the report).

Code typed into cells has no file: IPython and ipykernel keep it in linecache; the
results carry those lines as their sources, so a saved file shows them in
``linewise view`` later.

IPython is imported only when the extension is loaded (load_ipython_extension).
"""
from __future__ import annotations

import html
import importlib
import linecache
import os
import sys
import time
import types

from linewise.profiler import LineProfiler
from linewise.reports.color import TerminalPainter, use_color
from linewise.reports.html import render_report
from linewise.reports.text import print_report
from linewise.results import LineStats
from linewise.store import dump_stats
from linewise.units import parse_unit

__all__ = ["load_ipython_extension", "Report", "notebook_html"]

#: The iframe's height: the page's header and overview, then about ROW_PIXELS a line
#: row, up to MAX_HEIGHT (the page scrolls inside the frame beyond that).
HEADER_PIXELS, ROW_PIXELS, MAX_HEIGHT = 480, 27, 900


def notebook_html(stats, skip_zero=False) -> str:
    """The HTML report of `stats` as one embeddable element: the whole page (see
    linewise.reports.html) in an ``<iframe srcdoc>``, scripts allowed, nothing else."""
    page = render_report(stats, title="linewise report", skip_zero=skip_zero)
    funcs = stats.select(skip_zero=skip_zero)
    timed = sum(len(func.lines) for func in funcs)
    rows = min(10, timed) + sum(max(func.lines, default=func.first_lineno)
                                - func.first_lineno + 5 for func in funcs)
    height = min(MAX_HEIGHT, HEADER_PIXELS + ROW_PIXELS * rows)
    return (f'<iframe class="linewise-report" title="linewise report" '
            f'sandbox="allow-scripts" style="width:100%;height:{height}px;border:0" '
            f'srcdoc="{html.escape(page, quote=True)}"></iframe>')


def text_report(stats, unit=None, skip_zero=False, color=False) -> str:
    """The text table of `stats` (line_profiler's layout), coloured if asked."""
    import io

    out = io.StringIO()
    print_report(stats, out, unit=unit, skip_zero=skip_zero,
                 painter=TerminalPainter() if color else None)
    return out.getvalue()


class Report:
    """What %lprun displays: HTML in a notebook, the text table elsewhere."""

    def __init__(self, stats, unit=None, skip_zero=False, color=False):
        self.stats, self.unit, self.skip_zero, self.color = stats, unit, skip_zero, color

    def _repr_html_(self):
        return notebook_html(self.stats, self.skip_zero)

    def __repr__(self):
        return text_report(self.stats, self.unit, self.skip_zero, self.color).rstrip("\n")


def with_cell_sources(stats) -> LineStats:
    """`stats` with the source lines of code that has no file (cells), from linecache."""
    sources = dict(stats.sources)
    for key, rows in stats.timings.items():
        filename, first, _name = key
        if key in sources or not rows or os.path.exists(filename):
            continue
        lines = linecache.getlines(filename)
        last = max(lineno for lineno, _hits, _time in rows)
        if lines and 1 <= first <= last:
            sources[key] = lines[first - 1:last]
    return LineStats(stats.timings, stats.unit, stats.meta, sources, runs=stats.runs,
                     columns=stats.columns, column_types=stats.column_types)


def _nested_code(code):
    """The code objects defined inside `code` (functions, classes, lambdas), deep."""
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield const
            yield from _nested_code(const)


def load_ipython_extension(ipython) -> None:
    """Registers the magics with `ipython` (``%load_ext linewise`` calls this)."""
    ipython.register_magics(_magics_class()(ipython))


def _magics_class():
    from IPython.core.error import UsageError
    from IPython.core.magic import Magics, cell_magic, line_cell_magic, magics_class

    @magics_class
    class LinewiseMagics(Magics):
        def _options(self, line, spec):
            opts, rest = self.parse_options(line, spec, "memory", list_all=True, posix=False)
            unit = None
            if "u" in opts:
                try:
                    unit = parse_unit(opts["u"][-1])
                except ValueError as exc:
                    raise UsageError(f"-u: {exc}") from None
            return opts, rest.strip(), unit

        def _profiler(self, opts):
            prof = LineProfiler(memory="memory" in opts)
            ns = self.shell.user_ns
            for expr in opts.get("f", []):
                try:
                    obj = eval(expr, self.shell.user_global_ns, ns)
                except Exception as exc:
                    raise UsageError(f"-f {expr}: {type(exc).__name__}: {exc}") from None
                if isinstance(obj, types.ModuleType):
                    prof.add_module(obj)
                elif isinstance(obj, type):
                    prof.add_class(obj)
                elif callable(obj) or isinstance(obj, (property, classmethod, staticmethod)):
                    prof.add_callable(obj)
                else:
                    raise UsageError(f"-f {expr}: a {type(obj).__name__} is not a function, "
                                     "class or module")
            for name in opts.get("m", []):
                try:
                    module = importlib.import_module(name)
                except Exception as exc:
                    raise UsageError(f"-m {name}: {type(exc).__name__}: {exc}") from None
                prof.add_module(module)
            return prof

        def _compile_cell(self, cell, mode="exec"):
            """The cell compiled as IPython would, its lines in linecache."""
            source = self.shell.transform_cell(cell)
            name = self.shell.compile.cache(source, self.shell.execution_count,
                                            raw_code=cell)
            try:
                return compile(source, name, mode, dont_inherit=True)
            except SyntaxError as exc:
                raise UsageError(f"cannot compile the cell: {exc}") from None

        def _run(self, prof, code, opts, unit):
            """Runs `code` under `prof` in the user's namespace, then shows, saves and
            returns what -D, -T, -r ask for. An exception in the code is raised again
            after the results are shown."""
            failure = None
            start = time.perf_counter()
            prof.enable_by_count()
            try:
                exec(code, self.shell.user_global_ns, self.shell.user_ns)
            except (SystemExit, KeyboardInterrupt) as exc:
                print(f"*** {type(exc).__name__} in the profiled code; the results so far:")
            except BaseException as exc:  # shown after the results
                failure = exc
            finally:
                prof.disable_by_count()
            elapsed = time.perf_counter() - start
            stats = with_cell_sources(prof.get_stats())
            skip_zero = "z" in opts or "s" in opts
            if not prof.functions and not stats.timings:
                print("linewise: nothing was profiled (give -f FUNCTION or -m MODULE)")
            else:
                from IPython.display import display

                display(Report(stats, unit, skip_zero, color=use_color(sys.stdout)))
            if "D" in opts:
                path = opts["D"][-1]
                try:
                    dump_stats(stats, path)
                except (OSError, TypeError, ValueError) as exc:
                    raise UsageError(f"-D {path}: {exc}") from None
                print(f"*** Results saved to {path!r} (linewise view {path})")
            if "T" in opts:
                path = opts["T"][-1]
                try:
                    with open(path, "w", encoding="utf-8") as f:
                        f.write(text_report(stats, unit, skip_zero))
                except OSError as exc:
                    raise UsageError(f"-T {path}: {exc}") from None
                print(f"*** Text report saved to {path!r}")
            if failure is not None:
                raise failure
            return stats, elapsed

        @line_cell_magic
        def lprun(self, line="", cell=None):
            """Profiles functions line by line while a statement (or the cell) runs.

            %lprun [-f FUNC]... [-m MODULE]... [-D FILE] [-T FILE] [-r] [-s] [-z]
                   [-u UNIT] [--memory] statement
            %%lprun [options]   (profiles the functions while the cell's body runs)

            -f FUNC: a function, method, class or module (any expression), repeatable;
            -m MODULE: every function of a module; -D FILE: save the results (.lw, for
            linewise view); -T FILE: save the text report; -r: return the results (a
            LineStats); -z, -s: leave out functions never run; -u UNIT: the text
            table's time unit (seconds, or s, ms, us, ns); --memory: memory per line
            too (bytes allocated, net and peak).
            """
            opts, statement, unit = self._options(line, "rszf:m:D:T:u:")
            prof = self._profiler(opts)
            if cell is None:
                if not statement:
                    raise UsageError("%lprun needs a statement to run, after the options")
                try:
                    code = compile(statement, "<lprun>", "exec", dont_inherit=True)
                except SyntaxError as exc:
                    raise UsageError(f"cannot compile the statement: {exc}") from None
            else:
                if statement:
                    raise UsageError(f"%%lprun takes options only on its line, not "
                                     f"{statement!r}")
                code = self._compile_cell(cell)
            stats, _elapsed = self._run(prof, code, opts, unit)
            return stats if "r" in opts else None

        @cell_magic
        def lprun_all(self, line="", cell=""):
            """Profiles every line of the cell itself, and of the functions it defines.

            %%lprun_all [-p] [-t] [-D FILE] [-T FILE] [-r] [-z] [-u UNIT] [--memory]

            -p: the cell's top-level code only; -t: the cell's time in seconds into
            _total_time_taken; the other options as for %lprun.
            """
            opts, rest, unit = self._options(line, "rzptD:T:u:")
            if rest:
                raise UsageError(f"%%lprun_all takes options only, not {rest!r}")
            code = self._compile_cell(cell if cell.strip() else "pass\n")
            code = code.replace(co_name="<cell>")
            if hasattr(code, "co_qualname"):
                code = code.replace(co_qualname="<cell>")
            prof = LineProfiler(memory="memory" in opts)
            prof.add_code(code, "<cell>")
            if "p" not in opts:
                for inner in _nested_code(code):
                    prof.add_code(inner)
            stats, elapsed = self._run(prof, code, opts, unit)
            if "t" in opts:
                self.shell.user_ns["_total_time_taken"] = elapsed
            return stats if "r" in opts else None

    return LinewiseMagics
