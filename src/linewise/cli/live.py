"""`linewise run --live`: a full-screen view of the hottest lines while the program runs.

The view is a daemon thread that owns the terminal (/dev/tty): once a second it takes a
snapshot of the counters (linewise.snapshot: a copy under the GIL, nothing else of the
program stopped) and draws it with rich (linewise.reports.live), in the terminal's
alternate screen, reading keys in between. The program keeps its stdout and stderr, but
at the file-descriptor level they go to a file the view names (so neither it, its
children nor C extensions can write over the screen); the terminal gets them back when
the program ends. `q` closes the view and leaves the program running; the results are
saved at the end as without --live.
"""
from __future__ import annotations

import os
import select
import shlex
import sys
import threading
import time

from .common import PROG, CommandError, UsageError, check_writable

INSTALL = (f"--live needs the rich package: pip install 'linewise[live]' (or pip install "
           "rich)")
REFRESH = 1.0  # seconds between frames


def add_live_options(parser):
    parser.add_argument("--live", action="store_true",
                        help="while the program runs, show the hottest lines so far in a "
                             "full-screen view (keys: l lines, f functions, p pause, q "
                             "quit the view); the program's output goes to a file (needs "
                             "rich: pip install 'linewise[live]')")
    parser.add_argument("--live-output", metavar="FILE",
                        help="with --live: where the program's stdout and stderr go "
                             "(default: the results file's name ending in .out, like "
                             "prog.py.out)")


class _Off:
    """No --live: nothing to start or stop."""

    def start(self, profiler):
        pass

    def stop(self):
        pass


def live_view(opts, output_path, part):
    """The live view that --live asks for, checked before the program runs (rich there,
    a terminal, a writable output file), or an object doing nothing without --live.
    output_path: the results file (None if not saved); part: the program (kind, target,
    args). Raises CommandError (no rich) or UsageError."""
    if not getattr(opts, "live", False):
        if getattr(opts, "live_output", None) is not None:
            raise UsageError("--live-output needs --live")
        return _Off()
    try:
        import rich  # noqa: F401  (the optional extra)
    except ImportError:
        raise CommandError(INSTALL) from None
    out = opts.live_output
    if out is None:
        base = output_path[:-3] if output_path and output_path.endswith(".lw") else output_path
        out = base + ".out" if base else "linewise-live.out"
    check_writable(out, "the program's output")
    kind, target, args = part
    for other, what in ((output_path, "the results file"),
                        (target if kind == "script" else None, "the program itself")):
        if other and (os.path.abspath(out) == os.path.abspath(other) or (
                os.path.exists(out) and os.path.exists(other) and os.path.samefile(out, other))):
            raise UsageError(f"--live-output {out}: that is {what}")
    try:
        tty = os.open("/dev/tty", os.O_RDWR | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise UsageError(f"--live needs a terminal: cannot open /dev/tty ({exc.strerror})"
                         ) from None
    title = {"module": f"-m {target}", "code": "-c ...", "stdin": "-"}.get(kind, target)
    return LiveView(tty, os.path.abspath(out), shlex.join([title, *args]))


class LiveView:
    """The view's thread and the program's redirected output; start() before the
    program runs, stop() after (from the main thread, or a signal handler there)."""

    def __init__(self, tty, output, title):
        self.tty = tty            # owned fd of /dev/tty: the view draws and reads keys here
        self.output = output      # absolute path of the program's output file
        self.title = title
        self.saved = {}           # fd (1, 2) -> our dup of what it was before start()
        self.stopping = threading.Event()
        self.wake_r, self.wake_w = os.pipe()  # stop() wakes the thread's select()
        self.thread = None
        self.quit = False         # the user closed the view with q
        self.failed = None        # why the view stopped by itself, if it did

    def start(self, profiler):
        from ..paths import shown_path
        from ..program import flush

        flush()
        fd = os.open(self.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            for target in (1, 2):
                self.saved[target] = os.dup(target)
                os.dup2(fd, target)
        finally:
            os.close(fd)
        self.shown = shown_path(self.output)
        self.started = time.perf_counter()
        self.thread = threading.Thread(target=self._run, args=(profiler,),
                                       name="linewise-live", daemon=True)
        self.thread.start()

    def stop(self):
        """Closes the view (if still open) and gives the terminal its output back."""
        from ..program import flush

        if self.thread is None or self.stopping.is_set():
            return
        self.stopping.set()
        os.write(self.wake_w, b"x")
        if self.thread is not threading.current_thread():
            self.thread.join()
        flush()
        for target, fd in self.saved.items():
            os.dup2(fd, target)
            os.close(fd)
        self.saved.clear()
        for fd in (self.wake_r, self.wake_w, self.tty):
            os.close(fd)
        note = f"{PROG}: the program's output is in {self.shown}"
        if self.failed:
            note = f"{PROG}: warning: the live view stopped: {self.failed}\n{note}"
        print(note, file=sys.stderr, flush=True)

    # -- the view's thread ----------------------------------------------------------------

    def _run(self, profiler):
        import termios

        try:
            saved_mode = termios.tcgetattr(self.tty)
        except termios.error as exc:
            self.failed = f"not a terminal ({exc})"
            return
        try:
            mode = termios.tcgetattr(self.tty)
            mode[3] &= ~(termios.ICANON | termios.ECHO)  # keys one by one, unechoed;
            mode[6][termios.VMIN], mode[6][termios.VTIME] = 1, 0  # Ctrl-C still signals
            termios.tcsetattr(self.tty, termios.TCSANOW, mode)
            self._show(profiler)
        except Exception as exc:  # a broken view must not take the program down
            self.failed = f"{type(exc).__name__}: {exc}"
        finally:
            termios.tcsetattr(self.tty, termios.TCSADRAIN, saved_mode)
        if self.quit:
            os.write(self.tty, (f"{PROG}: live view closed; the program goes on (its output: "
                                f"{self.shown}); results are saved when it ends\n").encode())

    def _show(self, profiler):
        from rich.console import Console
        from rich.live import Live

        from ..reports.live import FUNCTIONS, LINES, Frame, Sources, render
        from ..snapshot import Counters

        stream = open(os.dup(self.tty), "w", encoding="utf-8", errors="replace")
        columns, rows = os.get_terminal_size(self.tty)
        console = Console(file=stream, force_terminal=True, width=columns, height=rows)
        counters, sources = Counters(profiler), Sources()
        frame = Frame(self.title, 0.0, 0.0, output=self.shown)
        snapshot = previous = counters.take()
        with stream, Live(console=console, screen=True, auto_refresh=False,
                          redirect_stdout=False, redirect_stderr=False) as live:
            next_frame = 0.0
            while not self.stopping.is_set():
                now = time.perf_counter()
                if now >= next_frame:
                    if not frame.paused:
                        snapshot = counters.take()
                        spent = snapshot.taken - previous.taken
                        if spent > 0:
                            frame.rate = (snapshot.events - previous.events) / spent
                        previous = snapshot
                        frame.elapsed = snapshot.taken - self.started
                    next_frame = now + REFRESH
                    columns, rows = os.get_terminal_size(self.tty)
                    console.size = (columns, rows)
                    live.update(render(snapshot, frame, sources, rows), refresh=True)
                ready, _, _ = select.select([self.tty, self.wake_r], [], [],
                                            max(0.0, next_frame - time.perf_counter()))
                if self.tty not in ready:
                    continue
                for key in os.read(self.tty, 64).decode("utf-8", "replace"):
                    if key in "qQ":
                        self.quit = True
                        return
                    if key in "pP ":
                        frame.paused = not frame.paused
                    elif key in "lL":
                        frame.mode = LINES
                    elif key in "fF":
                        frame.mode = FUNCTIONS
                    elif key == "\t":
                        frame.mode = FUNCTIONS if frame.mode == LINES else LINES
                    else:
                        continue
                    next_frame = 0.0  # draw the change now
