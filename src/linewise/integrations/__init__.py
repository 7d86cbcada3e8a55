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
    # pytest_plugin: --linewise TARGET takes the targets of `linewise run -p` (README: pytest)
    "linewise.autoprofile",
    # pytest_plugin: workers' results travel, and the output is written, as .lw files
    "linewise.store",
    # pytest_plugin: the run record of the process, beside one run record per test
    "linewise.provenance",
)
