"""kernprof's habits that `linewise run` keeps: -p taking several targets separated by
commas, and -i/--output-interval's snapshots of the results while the program runs."""
from __future__ import annotations

import argparse
import os
import shlex
import sys

from .common import PROG, CommandError, save_results


def interval(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 1 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be at least 1 second, not {text}")
    return value


# Options whose value may be left out (-i): they take the next token only if it is a
# number (a wrong one, like 0.5, is then refused by argparse rather than run).
OPTIONAL_VALUE = {"-i", "--output-interval"}


def is_value(option, token):
    try:
        float(token)
    except ValueError:
        return False
    return True


def prof_mod_targets(values, base=None) -> list:
    """The -p targets of the -p values, as kernprof reads them: a value may hold several
    separated by commas, and an empty value drops the targets before it. A value that
    names an existing file or directory is one target even if its name has a comma."""
    targets = []
    for value in values:
        if not value.strip():
            targets.clear()
            continue
        path = os.path.join(base, value) if base else value
        if "," in value and not os.path.exists(path):
            targets.extend(piece.strip() for piece in value.split(",") if piece.strip())
        else:
            targets.append(value)
    return targets


class Snapshots:
    """-i/--output-interval: a daemon thread that saves the results so far every
    `interval` seconds (atomically, as every save is: see store.dump_stats), so that a
    run killed by SIGKILL still leaves its last snapshot. stop() waits for a save in
    progress, so the final save at the end is never overwritten by an older one."""

    def __init__(self, interval, path, command, profiler):
        import threading

        self.path = path
        self.command = command
        self.profiler = profiler
        self.interval = interval if path is not None else None
        self.stopping = threading.Event()
        self.thread = None

    def start(self):
        import threading

        if self.interval is None:
            return
        self.thread = threading.Thread(target=self._loop, name="linewise-snapshots",
                                       daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.stopping.wait(self.interval):
            stats = self.profiler.get_stats()
            if not stats.timings:
                continue
            stats.meta["command"] = shlex.join(self.command)
            try:
                save_results(stats, self.path)
            except CommandError as exc:  # said once, then no more snapshots
                print(f"{PROG}: warning: snapshot not saved: {exc}", file=sys.stderr)
                return

    def stop(self):
        import threading

        self.stopping.set()
        thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
