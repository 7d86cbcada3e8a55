"""The memory switches, each through the real thing: `linewise run --memory`, explicit
mode's LINEWISE_MEMORY=1, IPython's %lprun --memory, pytest --linewise-memory."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from linewise import LineProfiler, load_stats

PROGRAM = textwrap.dedent("""\
    def build(n):
        b = bytearray(n)
        return len(b)

    @profile
    def main():
        return build(4_000_000)

    main()
""")
N = 4_000_000


def run_py(args, cwd, env=None):
    full = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=full)


def net_near(net, expected, slack=512):
    # A line's net also counts frees of blocks made before it ran (a collection, a cache
    # dropping an entry), so it may land a few bytes either side of what the line allocated.
    return expected - slack <= net <= expected + slack


def line_memory(stats, name, lineno):
    (key,) = [k for k in stats.timings if k[2] == name]
    return {ln: (a, n, p) for ln, a, n, p in stats.memory[key]}[lineno]


@pytest.mark.parametrize("flag", ["--memory", "--memory=on"])
def test_linewise_run_memory(tmp_path, flag):
    (tmp_path / "prog.py").write_text(PROGRAM)
    out = run_py(["-m", "linewise", "run", "-q", flag, "-o", "r.lw", "prog.py"], tmp_path)
    assert out.returncode == 0, out.stderr
    alloc, net, peak = line_memory(load_stats(str(tmp_path / "r.lw")), "main", 7)
    assert N <= alloc <= N + 512 and net_near(net, 0) and N <= peak <= N + 512


def test_linewise_run_without_memory_has_no_columns(tmp_path):
    (tmp_path / "prog.py").write_text(PROGRAM)
    out = run_py(["-m", "linewise", "run", "-q", "-o", "r.lw", "prog.py"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert load_stats(str(tmp_path / "r.lw")).memory == {}


def test_linewise_run_memory_bad_mode(tmp_path):
    (tmp_path / "prog.py").write_text(PROGRAM)
    out = run_py(["-m", "linewise", "run", "--memory=lots", "prog.py"], tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "--memory" in out.stderr


def test_explicit_mode_with_linewise_memory(tmp_path):
    (tmp_path / "prog.py").write_text("from linewise import profile\n" + PROGRAM)
    env = {"LINEWISE": "1", "LINEWISE_MEMORY": "1", "LINEWISE_OUTPUT": "e.lw"}
    out = run_py(["prog.py"], tmp_path, env)
    assert out.returncode == 0, out.stderr
    alloc, _, _ = line_memory(load_stats(str(tmp_path / "e.lw")), "main", 8)
    assert N <= alloc <= N + 512


def test_explicit_mode_bad_linewise_memory_is_one_line(tmp_path):
    (tmp_path / "prog.py").write_text("from linewise import profile\n" + PROGRAM)
    env = {"LINEWISE": "1", "LINEWISE_MEMORY": "lots", "LINEWISE_OUTPUT": "e.lw"}
    out = run_py(["prog.py"], tmp_path, env)
    assert out.returncode == 0 and "Traceback" not in out.stderr
    assert "LINEWISE_MEMORY" in out.stderr
    assert load_stats(str(tmp_path / "e.lw")).memory == {}


def test_lprun_memory(tmp_path):
    pytest.importorskip("IPython")
    script = textwrap.dedent("""\
        from IPython.testing.globalipapp import start_ipython
        ip = start_ipython()
        ip.run_line_magic("load_ext", "linewise")
        ip.run_cell("def f(n):\\n    b = bytearray(n)\\n    return len(b)\\n")
        stats = ip.run_line_magic("lprun", "-r --memory -f f f(4_000_000)")
        (rows,) = stats.memory.values()
        plain = ip.run_line_magic("lprun", "-r -f f f(10)")
        print("RESULT", rows[0][1], plain.memory)
    """)
    out = run_py(["-c", script], tmp_path)
    assert out.returncode == 0, out.stderr
    (result,) = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT")]
    _, alloc, plain = result.split()
    assert N <= int(alloc) <= N + 512 and plain == "{}"


def test_pytest_linewise_memory(tmp_path):
    (tmp_path / "mymod.py").write_text("def build(n):\n    b = bytearray(n)\n    return len(b)\n")
    (tmp_path / "test_it.py").write_text("import mymod\n\ndef test_a():\n"
                                         "    assert mymod.build(4_000_000) == 4_000_000\n")
    out = run_py(["-m", "pytest", "-q", "-p", "no:cacheprovider", "--linewise", "mymod",
                  "--linewise-memory", "--linewise-output", "p.lw"], tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    alloc, net, _ = line_memory(load_stats(str(tmp_path / "p.lw")), "build", 2)
    assert N <= alloc <= N + 512 and net_near(net, N)


def test_memory_argument_values():
    assert LineProfiler().memory is None
    assert LineProfiler(memory=True).memory == "python"
    assert LineProfiler(memory="native").memory == "native"
    with pytest.raises(ValueError):
        LineProfiler(memory="lots")


NATIVE = textwrap.dedent("""\
    import ctypes, os
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]

    @profile
    def main():
        p = libc.malloc(20_000_000)
        b = bytearray(4_000_000)
        libc.free(p)
        return len(b)

    main()
    print("PRELOAD", repr(os.environ.get("LD_PRELOAD")))
""")


def _under_asan() -> bool:
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            return "libasan" in f.read()
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="LD_PRELOAD is Linux's")
@pytest.mark.skipif(_under_asan(), reason="ASan's malloc, preloaded first, takes the "
                    "place of the hook's (scripts/test-asan.sh)")
@pytest.mark.parametrize("mode", ["native", "on"])
def test_linewise_run_memory_native(tmp_path, mode):
    (tmp_path / "prog.py").write_text(NATIVE)
    out = run_py(["-m", "linewise", "run", "-q", f"--memory={mode}", "-o", "n.lw", "prog.py"],
                 tmp_path, {"LD_PRELOAD": ""})
    assert out.returncode == 0, out.stderr
    assert "PRELOAD ''" in out.stdout or "PRELOAD None" in out.stdout  # not the children's
    stats = load_stats(str(tmp_path / "n.lw"))
    m = 20_000_000 if mode == "native" else 0
    alloc, net, _ = line_memory(stats, "main", 9)
    assert m <= alloc <= m + 512 and net_near(net, m), (alloc, net)
    # Python's own allocator calling malloc is not counted twice.
    alloc, net, _ = line_memory(stats, "main", 10)
    assert N <= alloc <= N + 512
    _, net, _ = line_memory(stats, "main", 11)
    assert net_near(net, -m), net
