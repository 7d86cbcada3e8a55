"""`linewise run --live` in a real terminal (tmux: send-keys, capture-pane), and
`linewise view --watch` drawing a results file again as it is replaced.

The program (tests/programs/cli/live_hot.py) has one line far hotter than the rest and
runs until the test creates its stop file, printing a numbered line per round: the test
sees from its output file that it goes on while the view is paused or closed. Every wait
polls the screen or the file up to a generous deadline; nothing asserts on a sleep.
"""
from __future__ import annotations

import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from linewise import load_stats

from test_cli import _env, lw, one_error_line, progs  # noqa: F401  (progs: a fixture)

DEADLINE = 30.0  # seconds: a busy machine may be slow, a working view is not this slow
PROGRAM = "live_hot.py"


def _line_of(path, marker):
    with open(path, encoding="utf-8") as f:
        for lineno, text in enumerate(f, 1):
            if text.rstrip().endswith(f"# L:{marker}"):
                return lineno
    raise KeyError(marker)


def wait_for(get, ok, what, timeout=DEADLINE):
    """Polls get() until ok(value); returns the value, or fails showing the last one."""
    end = time.monotonic() + timeout
    while True:
        value = get()
        if ok(value):
            return value
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not seen in {timeout:.0f} s; last:\n{value}")
        time.sleep(0.1)


class Tmux:
    """One tmux server of our own (its own socket), one session 120x40."""

    def __init__(self, exe):
        self.exe = exe
        self.dir = tempfile.mkdtemp(prefix="lw-tmux-")  # short: socket paths are limited
        self.sock = os.path.join(self.dir, "sock")

    def __call__(self, *args):
        return subprocess.run([self.exe, "-S", self.sock, *args], capture_output=True,
                              text=True, timeout=30, env=_env({"TMUX": ""}))

    def start(self, command, cwd):
        result = self("new-session", "-d", "-x", "120", "-y", "40", "-s", "t", "-c",
                      str(cwd), command)
        assert result.returncode == 0, result.stderr

    def keys(self, *keys):
        assert self("send-keys", "-t", "t", *keys).returncode == 0

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "t").stdout

    def close(self):
        self("kill-server")
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def tmux():
    exe = shutil.which("tmux")
    if exe is None:
        pytest.skip("tmux is not installed (scripts/need-tools.sh installs it when run as "
                    "root with apt-get)")
    pytest.importorskip("rich", reason="rich (linewise[live]) is not installed")
    session = Tmux(exe)
    yield session
    session.close()


def _start(tmux, progs, *extra):
    stop = progs / "stop"
    command = shlex.join([sys.executable, "-m", "linewise", "run", "--live", *extra,
                          PROGRAM, str(stop)])
    tmux.start(f"{command}; echo EXIT=$?; sleep 600", progs)
    return stop


def rows(screen) -> list:
    """The table's rows: the lines between its rule and the keys line."""
    lines = screen.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.startswith("─")), None)
    if start is None:
        return []
    body = []
    for line in lines[start + 1:]:
        if line.startswith("keys:"):
            break
        if line.strip():
            body.append(line)
    return body


def rounds(path) -> int:
    try:
        with open(path, encoding="utf-8") as f:
            return sum(1 for line in f if line.startswith("round "))
    except FileNotFoundError:
        return 0


def _hot_first(progs):
    hot = _line_of(progs / PROGRAM, "hot")

    def ok(screen):
        table = rows(screen)
        return bool(table) and table[0].startswith(f"{PROGRAM}:{hot} ")
    return hot, ok


def test_live_shows_the_hottest_line_switches_views_and_pauses(tmux, progs):
    stop = _start(tmux, progs)
    out = progs / "live_hot.py.out"
    hot, hot_first = _hot_first(progs)
    screen = wait_for(tmux.screen, hot_first, "the hot line at the top")
    top = rows(screen)[0].split()
    assert top[1] == "hot" and "sum(range(20000))" in rows(screen)[0]
    assert "hottest lines" in screen and "program output: live_hot.py.out" in screen
    assert re.search(r"functions 2 profiled, 2 ran", screen), screen
    assert re.search(r"elapsed\s+\d+:\d\d\s+events/s \d", screen), screen

    # f: the hottest functions, hot() first, naming its hottest line.
    tmux.keys("f")
    hot_def = _line_of(progs / PROGRAM, "hot_def")
    screen = wait_for(tmux.screen, lambda s: "hottest functions" in s and rows(s)
                      and rows(s)[0].startswith(f"{PROGRAM}:{hot_def - 1} "),
                      "the functions view")
    assert f"hottest line {hot}:" in rows(screen)[0], screen
    assert rows(screen)[1].split()[1] == "cold", screen
    tmux.keys("l")
    wait_for(tmux.screen, lambda s: "hottest lines" in s and hot_first(s), "back to lines")

    # p: the display stands still while the program goes on.
    tmux.keys("p")
    screen = wait_for(tmux.screen, lambda s: "PAUSED" in s, "PAUSED")
    frozen, paused_at, before = rows(screen), time.monotonic(), rounds(out)
    # Longer than two refreshes, and the program did work meanwhile.
    wait_for(lambda: (rounds(out), time.monotonic() - paused_at),
             lambda v: v[0] >= before + 5 and v[1] > 2.5, "rounds while paused")
    assert rows(tmux.screen()) == frozen
    tmux.keys("p")
    frozen_hits = int(frozen[0].split()[2])
    wait_for(tmux.screen, lambda s: "PAUSED" not in s and hot_first(s)
             and int(rows(s)[0].split()[2]) > frozen_hits, "the display moving again")

    # The program's end closes the view; the results are saved as without --live.
    stop.touch()
    screen = wait_for(tmux.screen, lambda s: "EXIT=0" in s, "the program's end")
    assert "results saved to live_hot.py.lw" in screen, screen
    assert "the program's output is in live_hot.py.out" in screen, screen


def test_q_closes_the_view_and_the_program_runs_to_completion(tmux, progs):
    stop = _start(tmux, progs)
    out = progs / "live_hot.py.out"
    _, hot_first = _hot_first(progs)
    wait_for(tmux.screen, hot_first, "the hot line at the top")
    tmux.keys("q")
    screen = wait_for(tmux.screen, lambda s: "live view closed" in s, "the view closed")
    assert "the program goes on (its output: live_hot.py.out)" in screen
    assert "EXIT=" not in screen
    closed_at = rounds(out)
    wait_for(lambda: rounds(out), lambda n: n >= closed_at + 5, "rounds after q")
    stop.touch()
    screen = wait_for(tmux.screen, lambda s: "EXIT=0" in s, "the program's end")
    assert "results saved to live_hot.py.lw" in screen, screen

    # Its output is whole, in order, in the file the view named (none on the screen).
    with open(out, encoding="utf-8") as f:
        lines = f.read().splitlines()
    n = rounds(out)
    assert lines == (["program started", "a line to stderr"]
                     + [f"round {i}" for i in range(1, n + 1)]
                     + [f"program done after {n} rounds"])
    assert "round 1" not in screen
    # The results count every round, the ones after q too.
    stats = load_stats(str(progs / "live_hot.py.lw"))
    by_name = {key[2]: dict((ln, h) for ln, h, _ in lines_)
               for key, lines_ in stats.timings.items()}
    hot = _line_of(progs / PROGRAM, "hot")
    assert by_name["hot"][hot] == 20 * n
    assert by_name["cold"][_line_of(progs / PROGRAM, "cold")] == n


def test_live_without_rich_says_what_to_install_and_runs_nothing(progs, tmp_path):
    fake = tmp_path / "no-rich"
    (fake / "rich").mkdir(parents=True)
    (fake / "rich" / "__init__.py").write_text("raise ImportError('no rich here')\n")
    result = lw("run", "--live", "-c", "open('ran', 'w').close()", cwd=progs,
                env={"PYTHONPATH": str(fake)})
    line = one_error_line(result, status=1)
    assert "pip install 'linewise[live]'" in line, line
    assert not (progs / "ran").exists()


def test_live_output_without_live_is_refused(progs):
    line = one_error_line(lw("run", "--live-output", "x.out", "-c", "pass", cwd=progs))
    assert "--live-output needs --live" in line


@pytest.mark.parametrize("target, what", [(PROGRAM, "the program itself"),
                                          ("r.lw", "the results file")])
def test_live_output_over_the_program_or_its_results_is_refused(progs, target, what):
    pytest.importorskip("rich", reason="rich (linewise[live]) is not installed")
    before = (progs / PROGRAM).read_bytes()
    line = one_error_line(lw("run", "--live", "--live-output", target, "-o", "r.lw", PROGRAM,
                             "stop", cwd=progs))
    assert line.endswith(f"--live-output {target}: that is {what}"), line
    assert (progs / PROGRAM).read_bytes() == before


# -- view --watch ------------------------------------------------------------------------

LOOP = """\
import sys

@profile
def f(n):
    for i in range(n):
        pass

f(int(sys.argv[1]))
"""


class Reader:
    """The output of a process, line by line, read by a thread (bounded waits)."""

    def __init__(self, proc):
        self.proc, self.lines, self.text = proc, queue.Queue(), ""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)

    def get(self):
        while not self.lines.empty():
            self.text += self.lines.get()
        return self.text


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def watched(progs):
    (progs / "loop.py").write_text(LOOP)
    for n in (1234, 4321):
        result = lw("run", "-q", "-o", f"n{n}.lw", "loop.py", n, cwd=progs)
        assert result.returncode == 0, result.stderr
    procs = []

    def start(path):
        # SIGINT as a terminal gives it, even if we were started with it ignored (a
        # background job): Python ignores Ctrl-C if it starts with SIGINT ignored.
        proc = subprocess.Popen([sys.executable, "-m", "linewise", "view", "--watch", path],
                                cwd=progs, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=_env(), preexec_fn=_default_sigint)
        procs.append(proc)
        return proc, Reader(proc)
    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _replace(progs, source, target):
    """As run -i's snapshots do: a new file renamed over the old (a new inode)."""
    shutil.copyfile(progs / source, progs / "tmp.lw")
    os.replace(progs / "tmp.lw", progs / target)


def _hits(n):
    return re.compile(rf"^\s+5\s+{n + 1}\s.*for i in range\(n\):$", re.M)


def test_watch_draws_the_report_again_when_the_file_is_replaced(watched, progs):
    _replace(progs, "n1234.lw", "w.lw")
    proc, out = watched("w.lw")
    wait_for(out.get, lambda t: _hits(1234).search(t), "the first report")
    assert out.get().startswith("linewise view --watch: w.lw at ")
    _replace(progs, "n4321.lw", "w.lw")
    text = wait_for(out.get, lambda t: _hits(4321).search(t), "the report drawn again")
    assert text.count("linewise view --watch: w.lw at ") == 2
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=DEADLINE) == 0
    assert "Traceback" not in proc.stderr.read()


def test_watch_waits_for_the_file_and_survives_a_bad_one(watched, progs):
    proc, out = watched("later.lw")
    wait_for(out.get, lambda t: "waiting for later.lw" in t, "waiting")
    (progs / "bad.lw").write_text("not results\n")
    os.replace(progs / "bad.lw", progs / "later.lw")
    wait_for(out.get, lambda t: "linewise view: error:" in t, "the bad file said")
    _replace(progs, "n1234.lw", "later.lw")
    wait_for(out.get, lambda t: _hits(1234).search(t), "the report once the file is good")
    assert proc.poll() is None


def test_watch_in_a_terminal_redraws_the_screen_from_the_top(tmux, watched, progs):
    _replace(progs, "n1234.lw", "w.lw")
    command = shlex.join([sys.executable, "-m", "linewise", "view", "--watch", "w.lw"])
    tmux.start(f"{command}; echo EXIT=$?; sleep 600", progs)
    first = wait_for(tmux.screen, lambda s: _hits(1234).search(s), "the first report")
    assert first.startswith("linewise view --watch: w.lw at "), first
    _replace(progs, "n4321.lw", "w.lw")
    screen = wait_for(tmux.screen, lambda s: _hits(4321).search(s), "the report again")
    # The screen was cleared: one header, at the top, and the old figures gone.
    assert screen.startswith("linewise view --watch: w.lw at ") and screen.count("--watch") == 1
    assert not _hits(1234).search(screen)
    tmux.keys("C-c")
    wait_for(tmux.screen, lambda s: "EXIT=0" in s, "Ctrl-C ending the watch")
