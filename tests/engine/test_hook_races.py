"""Programs that attack the legacy backend's trace hook from inside: collections, audit
hooks and trace functions running Python code while it is installed or removed, threads
ending meanwhile, tracers switching line events off around it. Each once crashed,
corrupted state or changed what another tool saw (found by review); each runs in its own
interpreter, since some leave audit hooks behind. Legacy backend only: several wait for
events only the trace hook produces."""
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import backend

pytestmark = pytest.mark.skipif(backend() != "legacy", reason="the legacy backend's hook")

HERE = Path(__file__).parents[1] / "programs" / "hook_races"

CASES = [
    ("gc_frees_tracer_in_disable.py", [], "ok"),
    ("gc_ends_thread_in_disable.py", [], "ok"),
    ("audit_hook_ends_thread.py", ["start"], "ok"),
    ("audit_hook_ends_thread.py", ["stop"], "ok"),
    ("enable_while_starting.py", [], "ok"),
    ("quiet_generator_suspended_at_disable.py", [], "SAME"),
    ("quiet_frame_in_other_thread_at_disable.py", [], "SAME"),
    ("lines_back_after_hook_replaced.py", [], "SAME"),
    ("tracer_not_kept_after_disable.py", [], "tracer still alive: False"),
    ("finalizer_reenables_at_lazy_restore.py", [], "ok"),
    pytest.param("audit_hook_ends_thread_in_cpython_walk.py", [], "ok", marks=pytest.mark.skipif(
        sys.version_info[:2] == (3, 13),
        reason="3.13 offers only PyEval_SetTraceAllThreads, whose walk over the threads "
               "crashes when an audit hook lets one end (CPython gh-137400, fixed in 3.14)")),
]


def case_id(case):
    script, args = (case.values if hasattr(case, "values") else case)[:2]
    return script[:-3] + ("-" + args[0] if args else "")


@pytest.mark.parametrize("script,args,last", CASES, ids=[case_id(c) for c in CASES])
def test_hook_race(script, args, last):
    out = subprocess.run([sys.executable, str(HERE / script), *args], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines and lines[-1].endswith(last), out.stdout + out.stderr
