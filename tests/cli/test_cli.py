"""End-to-end tests of the `linewise` command (run, view, merge), explicit mode and config.

Every test runs linewise in a subprocess, in a copy of tests/programs/cli/ under tmp_path,
and checks what a user sees: exit status, stdout/stderr, the results files (read back with
linewise.load_stats).
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys

import pytest

from linewise import load_stats
from conftest import clean_env as _env, one_error_line, run_linewise, run_python

PROGRAMS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "programs",
                        "cli")


@pytest.fixture
def progs(tmp_path):
    """A fresh copy of the test programs; the current directory of every command."""
    where = tmp_path / "progs"
    shutil.copytree(PROGRAMS, where)
    return where


def lw(*args, cwd, stdin=None, env=None, timeout=60):
    """`python -m linewise ARGS` in `cwd`."""
    return run_linewise(*args, cwd=cwd, stdin=stdin, env=env, timeout=timeout)


def py(*args, cwd, stdin=None, env=None):
    """Plain `python ARGS`, for comparison."""
    return run_python(*args, cwd=cwd, stdin=stdin, env=env, timeout=60)


def functions(path) -> dict:
    """{qualified name: {lineno: hits}} of a results file."""
    stats = load_stats(str(path))
    return {name: {ln: hits for ln, hits, _ in lines}
            for (_, _, name), lines in stats.timings.items()}


def loop_line(progs) -> int:
    with open(progs / "work.py") as f:
        return next(i for i, text in enumerate(f, 1) if "L:loop_body" in text)


# -- run: the basics --------------------------------------------------------------------


def test_run_saves_results_next_to_the_current_directory(progs):
    result = lw("run", "work.py", cwd=progs)
    assert result.returncode == 0, result.stderr
    assert "work 45" in result.stdout
    assert "Timer unit" not in result.stdout  # no report without -v
    assert "work.py.lw" in result.stderr
    found = functions(progs / "work.py.lw")
    assert found["work"][loop_line(progs)] == 10
    assert found["never_called"] == {}


def test_run_view_prints_the_report(progs):
    result = lw("run", "-v", "work.py", cwd=progs)
    assert result.returncode == 0, result.stderr
    assert "Timer unit:" in result.stdout
    assert "Function: work at line" in result.stdout
    assert "total += i" in result.stdout
    assert result.stdout.index("work 45") < result.stdout.index("Timer unit:")


def test_kernprof_command_line_still_works(progs):
    # kernprof -l -v script.py  ->  linewise run -l -v script.py (-l is accepted, a no-op)
    result = lw("run", "-l", "-v", "work.py", cwd=progs)
    assert result.returncode == 0, result.stderr
    assert "Function: work at line" in result.stdout


def test_console_script(progs):
    exe = shutil.which("linewise", path=os.path.dirname(sys.executable))
    if exe is None:
        pytest.skip("the linewise console script is not installed next to this Python")
    result = subprocess.run([exe, "run", "-q", "-v", "work.py"], cwd=progs, env=_env(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Function: work at line" in result.stdout
    assert result.stderr == ""
    assert (progs / "work.py.lw").exists()


def test_options_after_the_script_belong_to_the_program(progs):
    result = lw("run", "-q", "work.py", "-v", "--bogus", "-o", "x", cwd=progs)
    assert result.returncode == 0, result.stderr
    assert "argv ['work.py', '-v', '--bogus', '-o', 'x']" in result.stdout
    assert "Timer unit" not in result.stdout
    assert not (progs / "x").exists()
    assert (progs / "work.py.lw").exists()


def test_output_option_and_dash(progs):
    assert lw("run", "-q", "-o", "out/r.lw", "work.py", cwd=progs).returncode == 2
    (progs / "out").mkdir()
    result = lw("run", "-q", "-o", "out/r.lw", "work.py", cwd=progs)
    assert result.returncode == 0 and (progs / "out" / "r.lw").exists()
    result = lw("run", "-o", "-", "-v", "work.py", cwd=progs)
    assert result.returncode == 0
    assert not (progs / "work.py.lw").exists()
    assert "Function: work" in result.stdout


def test_quiet_report_options(progs):
    result = lw("run", "-q", "-v", "-z", "--summary", "-u", "ms", "work.py", cwd=progs)
    assert result.returncode == 0
    assert result.stderr == ""
    assert "Timer unit: 0.001 s" in result.stdout
    assert "never_called" not in result.stdout  # -z
    assert re.search(r"seconds - .*work\.py:\d+ - work", result.stdout)  # --summary
    result = lw("run", "-q", "-v", "-u", "1e-6", "work.py", cwd=progs)
    assert "Timer unit: 1e-06 s" in result.stdout
    assert "never_called" in result.stdout


# -- run: the program's world is the one `python` gives it ------------------------------


@pytest.mark.parametrize("how", [
    ["show_env.py", "a", "-b"],
    ["-m", "show_env", "x"],
    ["-m", "demo_pkg", "y"],
    ["-c", open(os.path.join(PROGRAMS, "show_env.py")).read(), "z"],
    ["-", "q"],
], ids=["script", "module", "package", "code", "stdin"])
def test_program_sees_what_python_gives_it(progs, how):
    stdin = (progs / "show_env.py").read_text() if how[0] == "-" else None
    mine = lw("run", "-q", "-o", "-", *how, cwd=progs, stdin=stdin)
    theirs = py(*how, cwd=progs, stdin=stdin)
    assert theirs.returncode == 0, theirs.stderr
    assert mine.returncode == 0, mine.stderr
    assert mine.stdout == theirs.stdout
    assert "no function was profiled" in mine.stderr


def test_pickling_and_dunder_main(progs):
    result = lw("run", "-q", "work.py", "pickle", cwd=progs)
    assert result.returncode == 0, result.stderr
    assert "unpickled __main__ 3" in result.stdout


def test_module_package_main_with_relative_imports(progs):
    result = lw("run", "-v", "-p", "demo_pkg", "-m", "demo_pkg", "arg", cwd=progs)
    assert result.returncode == 0, result.stderr
    assert "demo_pkg __main__ demo_pkg 10 7 ['arg']" in result.stdout
    found = functions(progs / "demo_pkg.lw")
    assert {"Engine.run", "Engine.step", "free", "free.<locals>.nested", "idle"} <= set(found)
    assert sum(found["Engine.step"].values()) == 4


def test_stdin_script(progs):
    code = "@profile\ndef f(x):\n    return x + 1\n\nprint('stdin', f(1), f(2))\n"
    result = lw("run", "-v", "-", cwd=progs, stdin=code)
    assert result.returncode == 0, result.stderr
    assert "stdin 2 3" in result.stdout
    assert "return x + 1" in result.stdout  # the source is shown although it has no file
    found = functions(progs / "stdin.lw")
    assert found["f"] == {3: 2}


def test_code_string(progs):
    result = lw("run", "-q", "-c", "@profile\ndef g():\n    return 2\ng(); g()\nprint('c')",
                cwd=progs)
    assert result.returncode == 0, result.stderr
    assert functions(progs / "command.lw")["g"] == {3: 2}


def test_directory_with_main(progs):
    (progs / "app").mkdir()
    shutil.copy(progs / "show_env.py", progs / "app" / "__main__.py")
    mine = lw("run", "-q", "-o", "-", "app", cwd=progs)
    theirs = py("app", cwd=progs)
    assert mine.returncode == 0, mine.stderr
    assert mine.stdout == theirs.stdout


# -- run: exit status, and results saved whatever happens -------------------------------


def test_sys_exit_status_is_kept_and_results_saved(progs):
    result = lw("run", "work.py", "exit3", cwd=progs)
    assert result.returncode == 3
    assert functions(progs / "work.py.lw")["work"][loop_line(progs)] == 10


def test_results_go_where_asked_even_if_the_program_changes_directory(progs):
    result = lw("run", "-q", "work.py", "chdir", cwd=progs)
    assert result.returncode == 0, result.stderr
    assert (progs / "work.py.lw").exists()
    assert not (progs / "elsewhere" / "work.py.lw").exists()


def test_sys_exit_with_message(progs):
    result = lw("run", "-q", "work.py", "exit-message", cwd=progs)
    assert result.returncode == 1
    assert result.stderr.strip() == "custom failure message"
    assert (progs / "work.py.lw").exists()


def test_exception_prints_the_programs_traceback_and_saves(progs):
    result = lw("run", "-v", "work.py", "raise", cwd=progs)
    assert result.returncode == 1
    assert "ValueError: boom from the program" in result.stderr
    assert 'work.py", line' in result.stderr
    # The runner's frames are not the program's.
    assert "cli.py" not in result.stderr and "program.py" not in result.stderr
    assert "/linewise/" not in result.stderr.replace(os.sep, "/")
    assert "Function: work at line" in result.stdout
    assert functions(progs / "work.py.lw")["work"][loop_line(progs)] == 10


def test_ctrl_c_saves_partial_results(progs):
    proc = subprocess.Popen(
        [sys.executable, "-m", "linewise", "run", "-v", "slow.py"], cwd=progs, env=_env(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert proc.stdout.readline() == "started\n"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "linewise: interrupted, results are partial" in err
    assert "Traceback" not in err
    assert "Function: tick at line" in out
    assert sum(functions(progs / "slow.py.lw")["tick"].values()) > 0


def test_report_and_messages_get_out_when_the_program_closed_them(progs):
    code = ("import sys\n@profile\ndef f():\n    return 1\nf()\n"
            "sys.stdout.close(); sys.stderr.close()\n")
    result = lw("run", "-v", "-c", code, cwd=progs)
    assert result.returncode == 0, result.stderr
    assert "Function: f at line 2" in result.stdout
    assert "results saved to command.lw" in result.stderr


def test_nothing_selected_says_so(progs):
    result = lw("run", "plain.py", cwd=progs)
    assert result.returncode == 0
    assert "plain 30" in result.stdout
    assert "no function was profiled" in result.stderr
    assert "@profile" in result.stderr and "-p" in result.stderr
    assert not (progs / "plain.py.lw").exists()
    result = lw("run", "-v", "-p", "demo_pkg", "plain.py", cwd=progs)
    assert "no function was profiled" in result.stderr and "demo_pkg" in result.stderr
    assert "Timer unit" not in result.stdout


def test_setup_runs_first_unprofiled(progs):
    result = lw("run", "-q", "-s", "import helpers; helpers.SETUP = 42", "-p", "helpers", "-c",
                "import helpers; print('setup', helpers.SETUP, helpers.double(1))", cwd=progs)
    assert result.returncode == 0, result.stderr
    assert "setup 42 2" in result.stdout
    result = lw("run", "-q", "-s", "raise SystemExit(5)", "work.py", cwd=progs)
    assert result.returncode == 5 and "work" not in result.stdout
    result = lw("run", "-q", "-s", "1/0", "work.py", cwd=progs)
    assert result.returncode == 1 and "ZeroDivisionError" in result.stderr
    assert "work" not in result.stdout


# -- run: -p and --prof-imports ---------------------------------------------------------


@pytest.mark.parametrize("target, expected", [
    ("plain.py", {"compute", "Shape.area", "Shape.Inner.deep", "outer",
                  "outer.<locals>.inner"}),
    ("plain", {"compute", "Shape.area", "Shape.Inner.deep", "outer", "outer.<locals>.inner"}),
    ("plain.Shape", {"Shape.area", "Shape.Inner.deep"}),
    ("plain.outer", {"outer", "outer.<locals>.inner"}),
    ("helpers", {"double", "unused"}),
    ("helpers.double", {"double"}),
    ("demo_pkg", {"Engine.run", "Engine.step", "free", "free.<locals>.nested", "idle"}),
    ("demo_pkg.core.Engine.step", {"Engine.step"}),
    ("demo_pkg/", {"Engine.run", "Engine.step", "free", "free.<locals>.nested", "idle"}),
])
def test_prof_mod_targets(progs, target, expected):
    (progs / "plain.py").write_text(
        (progs / "plain.py").read_text() + "    import demo_pkg; demo_pkg.Engine().run(2)\n")
    result = lw("run", "-q", "-p", target, "plain.py", cwd=progs)
    assert result.returncode == 0, result.stderr
    assert set(functions(progs / "plain.py.lw")) == expected


def test_prof_mod_counts_and_repeats(progs):
    result = lw("run", "-q", "-p", "plain.py", "-p", "helpers", "plain.py", cwd=progs)
    assert result.returncode == 0, result.stderr
    found = functions(progs / "plain.py.lw")
    assert found["outer.<locals>.inner"] == {20: 1}
    assert found["double"] == {2: 1}
    assert found["unused"] == {}


def test_prof_imports(progs):
    (progs / "uses.py").write_text(
        "import os\nimport helpers\nfrom demo_pkg import core\n"
        "print('uses', helpers.double(2), core.free(), os.sep)\n")
    result = lw("run", "-q", "--prof-imports", "uses.py", cwd=progs)
    assert result.returncode == 0, result.stderr
    found = functions(progs / "uses.py.lw")
    assert {"double", "unused", "free", "free.<locals>.nested", "Engine.run"} <= set(found)
    assert not any(f.startswith("_") or f in ("join", "getcwd") for f in found)  # not os


# -- run: usage errors, one line and status 2 ----------------------------------------------


@pytest.mark.parametrize("args, message", [
    (["run", "missing.py"], "can't open file 'missing.py'"),
    (["run", "not_a_script"], "'not_a_script' is a directory, not a script"),
    (["run", "-m", "no_such_module"], "no module named 'no_such_module'"),
    (["run", "-m", "demo_pkg.nope"], "no module named 'demo_pkg.nope'"),
    (["run", "--bogus", "work.py"], "unrecognized arguments: --bogus"),
    (["run", "-p", "no_such_thing", "work.py"], "-p no_such_thing: no module"),
    (["run", "-p", "nothere.py", "work.py"], "-p nothere.py: no such file"),
    (["run", "-p", "helpers.triple", "work.py"], "defines no 'triple'"),
    (["run", "-p", "sys", "work.py"], "compiled module"),
    (["run", "-o", "no/such/dir/r.lw", "work.py"], "directory no/such/dir does not exist"),
    (["run", "-u", "fortnights", "work.py"], "not a time unit"),
    (["run", "-o", "work.py", "work.py"], "that is the program itself"),
    (["run"], "no program to run"),
    (["run", "-m"], "-m needs a module name"),
    (["work.py"], "to profile a script: linewise run work.py"),
    (["view"], "required: FILE"),
    (["merge"], "required: OUT"),
    (["view", "--top", "0", "x.lw"], "--top"),
], ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_usage_errors(progs, args, message):
    result = lw(*args, cwd=progs)
    line = one_error_line(result, 2)
    assert line.startswith("linewise")
    assert message in line
    assert "work 45" not in result.stdout  # the program did not run


def test_syntax_error_is_shown_as_python_would(progs):
    line = one_error_line(lw("run", "bad_syntax.py", cwd=progs), 1)
    assert line.startswith("linewise run: error: bad_syntax.py:4: SyntaxError: ")
    result = lw("run", "--traceback", "bad_syntax.py", cwd=progs)
    assert result.returncode == 1 and "Traceback" in result.stderr


def test_read_only_output_directory_is_refused_before_running(progs, tmp_path):
    if os.geteuid() == 0:  # root writes anywhere: find a directory that refuses it
        target = "/sys/results.lw"
        if not os.path.isdir("/sys") or os.access("/sys", os.W_OK) and _writable("/sys"):
            pytest.skip("no read-only directory available as root")
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        target = str(ro / "results.lw")
    line = one_error_line(lw("run", "-o", target, "work.py", cwd=progs), 2)
    assert "not writable" in line


def _writable(directory):
    try:
        path = os.path.join(directory, ".linewise-test")
        with open(path, "w"):
            pass
        os.unlink(path)
        return True
    except OSError:
        return False


def test_traceback_flag_shows_where(progs):
    result = lw("--traceback", "run", "-m", "no_such_module", cwd=progs)
    assert result.returncode == 2
    assert "Traceback" in result.stderr and "no module named" in result.stderr


def test_help_and_version(progs):
    for args in (["--help"], ["run", "--help"], ["view", "--help"], ["merge", "--help"]):
        result = lw(*args, cwd=progs)
        assert result.returncode == 0 and "usage:" in result.stdout
    assert "--prof-mod" in lw("run", "--help", cwd=progs).stdout
    assert re.match(r"linewise \d", lw("--version", cwd=progs).stdout)


# -- view and merge ---------------------------------------------------------------------


@pytest.fixture
def two_results(progs):
    assert lw("run", "-q", "-o", "a.lw", "work.py", cwd=progs).returncode == 0
    assert lw("run", "-q", "-o", "b.lw", "-p", "plain.py", "plain.py", cwd=progs).returncode == 0
    return progs


def test_view_one_and_many(two_results):
    progs = two_results
    result = lw("view", "a.lw", cwd=progs)
    assert result.returncode == 0 and "Function: work at line" in result.stdout
    both = lw("view", "a.lw", "a.lw", "b.lw", cwd=progs)
    assert both.returncode == 0
    assert "Function: work at line" in both.stdout and "Function: compute at line" in both.stdout
    # Summed: the loop line ran 10 times per run.
    row = next(line for line in both.stdout.splitlines() if "total += i" in line)
    assert row.split()[1] == "20"


def test_view_flags(two_results):
    progs = two_results
    out = lw("view", "-z", "a.lw", cwd=progs).stdout
    assert "never_called" not in out and "Function: work" in out
    out = lw("view", "--top", "1", "a.lw", "b.lw", cwd=progs).stdout
    assert out.count("Function:") == 1
    out = lw("view", "--sort", "--summary", "-u", "us", "a.lw", "b.lw", cwd=progs).stdout
    assert "Timer unit: 1e-06 s" in out
    summary = [line for line in out.splitlines() if " seconds - " in line]
    assert len(summary) >= 2
    times = [float(line.split()[0]) for line in summary]
    assert times == sorted(times)


def test_merge(two_results):
    progs = two_results
    result = lw("merge", "sum.lw", "a.lw", "a.lw", "b.lw", cwd=progs)
    assert result.returncode == 0, result.stderr
    found = functions(progs / "sum.lw")
    assert found["work"][loop_line(progs)] == 20
    assert "compute" in found
    # Refuses to clobber a file that is not an input; adding to it is fine.
    line = one_error_line(lw("merge", "b.lw", "a.lw", cwd=progs), 2)
    assert "exists" in line
    assert lw("merge", "sum.lw", "sum.lw", "a.lw", cwd=progs).returncode == 0
    assert functions(progs / "sum.lw")["work"][loop_line(progs)] == 30
    assert lw("merge", "-f", "b.lw", "a.lw", cwd=progs).returncode == 0
    assert set(functions(progs / "b.lw")) == {"work", "never_called"}


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes((p.parent / "a.lw").read_bytes()[:60]), "truncated"),
    (lambda p: p.write_text("hello, I am a text file\n"), "not a linewise results file"),
    (lambda p: p.write_bytes(b""), "not a linewise results file"),
    (lambda p: None, "No such file"),
    (lambda p: p.mkdir(), "directory"),
], ids=["truncated", "foreign", "empty", "missing", "directory"])
def test_view_bad_files(two_results, make, message):
    progs = two_results
    make(progs / "bad.lw")
    for args in (["view", "a.lw", "bad.lw"], ["merge", "m.lw", "bad.lw"]):
        line = one_error_line(lw(*args, cwd=progs), 1)
        assert "bad.lw" in line and message in line
    assert not (progs / "m.lw").exists()


# -- explicit mode ----------------------------------------------------------------------


def test_explicit_mode_off_costs_nothing(progs):
    result = py("explicit_prog.py", cwd=progs)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "explicit 9 8 False\n" and result.stderr == ""
    assert not list(progs.glob("*.lw"))
    check = py("-c", "from linewise import profile\ndef f(): pass\nassert profile(f) is f\n"
               "import linewise; assert linewise.profile is profile", cwd=progs)
    assert check.returncode == 0, check.stderr


def test_explicit_mode_on_with_env(progs):
    result = py("explicit_prog.py", cwd=progs, env={"LINEWISE": "1"})
    assert result.returncode == 0, result.stderr
    assert "explicit 9 8 True" in result.stdout
    assert "Function: square at line" in result.stdout and "Function: cube" in result.stdout
    assert "explicit_prog.py.lw" in result.stderr
    assert set(functions(progs / "explicit_prog.py.lw")) == {"square", "cube"}


def test_explicit_mode_output_path_and_pid(progs):
    result = py("explicit_prog.py", cwd=progs,
                env={"LINEWISE": "1", "LINEWISE_OUTPUT": "prof-{pid}.lw"})
    assert result.returncode == 0, result.stderr
    written = list(progs.glob("prof-*.lw"))
    assert len(written) == 1 and re.fullmatch(r"prof-\d+\.lw", written[0].name)


def test_explicit_mode_enable_call(progs):
    result = py("explicit_prog.py", "--enable", cwd=progs)
    assert result.returncode == 0, result.stderr
    assert "explicit 9 8 True" in result.stdout
    assert functions(progs / "enabled.lw")["square"] == {10: 1}


def test_explicit_profile_under_run(progs):
    result = lw("run", "-q", "explicit_prog.py", cwd=progs, env={"LINEWISE": "1"})
    assert result.returncode == 0, result.stderr
    assert "explicit 9 8 True" in result.stdout
    assert set(functions(progs / "explicit_prog.py.lw")) == {"square", "cube"}
    assert result.stderr == ""  # explicit mode's own exit report stays quiet


# -- configuration ------------------------------------------------------------------------


def test_config_sets_defaults_and_flags_win(progs):
    (progs / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.other]\nvalue = [["[tool.linewise]"]]\n\n'
        '[tool.linewise]\n# results go here\noutput = "cfg.lw"\nview = true\n'
        'unit = "ms"\nskip-zero = true\nquiet = true\n')
    result = lw("run", "work.py", cwd=progs)
    assert result.returncode == 0, result.stderr
    assert (progs / "cfg.lw").exists() and not (progs / "work.py.lw").exists()
    assert "Timer unit: 0.001 s" in result.stdout and "never_called" not in result.stdout
    assert result.stderr == ""
    result = lw("run", "--no-view", "-o", "flag.lw", "--no-skip-zero", "work.py", cwd=progs)
    assert "Timer unit" not in result.stdout and (progs / "flag.lw").exists()
    result = lw("run", "--no-config", "-q", "work.py", cwd=progs)
    assert "Timer unit" not in result.stdout and (progs / "work.py.lw").exists()
    out = lw("view", "cfg.lw", cwd=progs).stdout  # view reads the config too
    assert "Timer unit: 0.001 s" in out


def test_config_is_found_upwards_and_linewise_toml_wins(progs):
    (progs / "pyproject.toml").write_text('[tool.linewise]\noutput = "from-pyproject.lw"\n')
    (progs / "linewise.toml").write_text('output = "from-linewise-toml.lw"\nquiet = true\n'
                                         'prof-mod = ["helpers"]\n')
    sub = progs / "sub"
    sub.mkdir()
    result = lw("run", "-c", "import helpers; helpers.double(1)", cwd=progs)
    assert result.returncode == 0, result.stderr
    assert set(functions(progs / "from-linewise-toml.lw")) == {"double", "unused"}
    # From a subdirectory: the same file, its paths taken relative to it.
    (progs / "from-linewise-toml.lw").unlink()
    result = lw("run", "../work.py", cwd=sub)
    assert result.returncode == 0, result.stderr
    assert (progs / "from-linewise-toml.lw").exists()


def test_config_option_and_errors(progs):
    (progs / "custom.toml").write_text('[tool.linewise]\noutput = "custom.lw"\nquiet = true\n')
    assert lw("run", "--config", "custom.toml", "work.py", cwd=progs).returncode == 0
    assert (progs / "custom.lw").exists()
    line = one_error_line(lw("run", "--config", "nope.toml", "work.py", cwd=progs), 2)
    assert "nope.toml" in line
    (progs / "linewise.toml").write_text("top = true\n")
    line = one_error_line(lw("view", "custom.lw", cwd=progs), 2)
    assert "top must be an integer" in line
    (progs / "linewise.toml").write_text("colour = 'red'\noutput = 'k.lw'\n")
    result = lw("run", "work.py", cwd=progs)
    assert result.returncode == 0 and "unknown key 'colour'" in result.stderr
    assert (progs / "k.lw").exists()


def test_toml_reader_reads_full_toml(tmp_path):
    # tomllib (tomli on 3.10): multi-line strings, escapes, comments in arrays, dates in
    # other tables; a table nested in ours is ignored.
    from linewise import config

    text = (
        '# a comment\n[project]\nname = "demo"\ndescription = """\n[tool.linewise]\n"""\n'
        "when = 1979-05-27\n"
        "deps = [\n  'a', # why\n  \"b\",\n]\n\n[tool.linewise]\n"
        'output = "out \\"q\\" \\u00e9.lw"  # trailing comment\n'
        "view = true\nquiet = false\ntop = 1_0\nunit = 1e-3\n"
        "prof-mod = [\n  'pkg.mod',  # one\n  \"other.py\",\n]\n"
        "setup = \'\'\'import x\'\'\'\n\n[tool.linewise.sub]\nignored = 1\n"
    )
    path = tmp_path / "pyproject.toml"
    path.write_text(text, encoding="utf-8")
    loaded = config.load_config(str(path))
    assert loaded.values == {"output": 'out "q" é.lw', "view": True, "quiet": False,
                             "top": 10, "unit": 0.001, "prof-mod": ["pkg.mod", "other.py"],
                             "setup": "import x"}
    (tmp_path / "linewise.toml").write_text("view = true\n[tool.other]\nx = 1\n")
    assert config.load_config(str(tmp_path / "linewise.toml")).values == {"view": True}
    (tmp_path / "bad.toml").write_text("view = \n")
    with pytest.raises(config.ConfigError, match="invalid TOML"):
        config.load_config(str(tmp_path / "bad.toml"))


# -- where linewise's options end and the program's begin -------------------------------


@pytest.mark.parametrize("tokens, options, program", [
    (["-vz", "s.py", "-v"], ["-vz"], ("script", "s.py", ["-v"])),
    (["-ofile.lw", "s.py"], ["-ofile.lw"], ("script", "s.py", [])),
    (["-o", "-", "-q", "s.py", "a"], ["-o", "-", "-q"], ("script", "s.py", ["a"])),
    (["--output=x.lw", "-p", "pkg", "s.py"], ["--output=x.lw", "-p", "pkg"],
     ("script", "s.py", [])),
    (["-vm", "pkg.mod", "-v"], ["-v"], ("module", "pkg.mod", ["-v"])),
    (["-m", "pkg", "--", "x"], [], ("module", "pkg", ["--", "x"])),
    (["-mpkg"], [], ("module", "pkg", [])),
    (["-q", "-c", "print(1)", "-q"], ["-q"], ("code", "print(1)", ["-q"])),
    (["-", "a"], [], ("stdin", None, ["a"])),
    (["-v", "--", "-odd.py", "b"], ["-v"], ("script", "-odd.py", ["b"])),
    (["-v", "--bogus"], ["-v", "--bogus"], None),
])
def test_split_run_argv(tokens, options, program):
    from linewise.cli import build_parser
    from linewise.cli.common import takes_value
    from linewise.cli.run import split_run_argv

    _, commands = build_parser()
    assert split_run_argv(tokens, takes_value(commands["run"])) == (options, program)


def test_options_that_take_a_value_come_from_the_parser():
    import argparse

    from linewise.cli import build_parser
    from linewise.cli.common import takes_value

    parser = argparse.ArgumentParser()
    parser.add_argument("-o", "--output")
    parser.add_argument("-p", action="append")
    parser.add_argument("-n", type=int, nargs="?")
    parser.add_argument("-v", "--view", action=argparse.BooleanOptionalAction)
    parser.add_argument("-q", action="store_true")
    parser.add_argument("-c", action="count")
    parser.add_argument("--const", action="store_const", const=1)
    assert takes_value(parser) == {"-o", "--output", "-p", "-n"}
    _, commands = build_parser()
    # -i/--output-interval's value is optional: split_run_argv takes it only if a number;
    # --memory's only as --memory=MODE.
    assert takes_value(commands["run"]) == {"-o", "--output", "--outfile", "-u", "--unit",
                                            "--top", "-p", "--prof-mod", "-s", "--setup",
                                            "--config", "--color", "-i",
                                            "--output-interval", "--live-output", "--memory"}


def test_explicit_mode_off_keeps_no_closure_alive(progs):
    code = (
        "import gc, weakref\nfrom linewise import profile\n"
        "class Big: pass\n"
        "def make(data):\n    @profile\n    def inner():\n        return data\n    return inner\n"
        "refs = []\nfor _ in range(100):\n"
        "    big = Big(); refs.append(weakref.ref(big)); make(big)()\n"
        "del big; gc.collect()\n"
        "print(sum(r() is not None for r in refs), len(profile._pending))\n"
        "profile.enable(output='-', report=False)\n"
        "print(make(Big())(), profile.enabled)\n")
    result = py("-c", code, cwd=progs)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "0 1"
