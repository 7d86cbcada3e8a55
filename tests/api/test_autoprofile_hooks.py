"""Two AutoProfile import hooks in one process (two linewise.dask profiles on one worker,
or one beside `linewise run -p`): each registers the targets with its own profiler, and
neither asks the other back (each asks only the finders after it)."""
from __future__ import annotations

import sys

from conftest import line_of
from linewise import LineProfiler
from linewise.autoprofile import AutoProfile, resolve_target


def test_two_import_hooks_both_register_a_module_imported_later(tmp_path, monkeypatch):
    (tmp_path / "lw_two_hooks_mod.py").write_text(
        "def f(n):\n"
        "    return n + 1  # L:f\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    profilers, autos = [], []
    try:
        for _ in range(2):
            lp = LineProfiler()
            auto = AutoProfile(lp)
            auto.add(resolve_target("lw_two_hooks_mod"))
            auto.install()
            profilers.append(lp)
            autos.append(auto)
        import lw_two_hooks_mod  # a RecursionError here before the fix

        for lp in profilers:
            lp.enable_by_count()
        lw_two_hooks_mod.f(1)
        lw_two_hooks_mod.f(2)
        for lp in profilers:
            lp.disable_by_count()
    finally:
        for auto in autos:
            auto.uninstall()
        sys.modules.pop("lw_two_hooks_mod", None)
    line = line_of(str(tmp_path / "lw_two_hooks_mod.py"), "f")
    for lp in profilers:
        (rows,) = lp.get_stats().timings.values()
        assert {ln: h for ln, h, _ in rows if h} == {line: 2}
