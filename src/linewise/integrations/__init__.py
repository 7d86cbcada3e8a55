"""Where linewise meets other tools: IPython, pytest, child processes, Dask (one module
each, as they come).

The rule: an integration uses linewise's public API only, as any other program would:
``import linewise``, the names in ``linewise.__all__``, and the public names (no leading
underscore) of the modules listed in PUBLIC_MODULES. Nothing private, nothing from the
command line's internals (linewise.cli) or the engine. If an integration needs more, the
public API grows first (documented), then the integration uses it. tests/cli/test_layout.py
checks every module here against this rule.

Not here: linewise._children, the glue that lets spawn children of `linewise run` see
the builtin ``profile``; it works on explicit mode's private state (``_stand_down``),
so it is part of linewise's core, not a user of it.
"""

#: Documented modules whose public names integrations may import (besides linewise).
PUBLIC_MODULES = (
    "linewise.profiler",       # LineProfiler without importing linewise (whose hook imports us)
    "linewise.results",        # LineStats: what %lprun -r returns, with the cells' sources
    "linewise.store",          # dump_stats/load_stats: %lprun -D; the pytest workers' results
    "linewise.units",          # parse_unit: %lprun -u takes what linewise view -u does
    "linewise.reports.text",   # print_report: the text table (terminal IPython, -T)
    "linewise.reports.color",  # TerminalPainter, use_color: the table in colour
    "linewise.reports.html",   # render_report: the notebook's HTML report
    "linewise.autoprofile",    # pytest --linewise TARGET takes `linewise run -p`'s targets
    "linewise.provenance",     # the process's run record, beside one run record per test
)
