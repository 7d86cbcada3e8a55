"""`linewise view --watch FILE`: the report drawn again each time FILE is replaced.

`linewise run -i SECONDS` saves a snapshot every SECONDS by writing a new file and
renaming it over the old (results.c's atomic writer), so a snapshot is a new inode; one
rewritten in place changes its modification time or size. The watch polls os.stat for
either, a few times a second, which costs a stat call and works on every file system
(inotify would miss a replacement made through another mount, and is Linux only).
"""
from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import time

from .common import PROG, CommandError

POLL = 0.25  # seconds between looks at the files
CLEAR = "\x1b[H\x1b[2J\x1b[3J"  # cursor home, clear the screen and its scrollback


def _identity(path):
    """What changes when `path` is replaced or rewritten, or None if it is not there."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size)


def _stdout_identity():
    try:
        info = os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    return (info.st_dev, info.st_ino)


def watch(view, opts, invocation) -> int:
    """Runs the view command `view` (opts without --watch) now and whenever one of the
    files changes, until Ctrl-C (status 0) or until stdout is gone (a closed pipe). A
    file missing or unreadable is said in one line and waited for."""
    once = argparse.Namespace(**vars(opts))
    once.watch = False
    files = list(opts.files)
    clear = CLEAR if sys.stdout.isatty() else ""
    stdout = _stdout_identity()
    seen = None
    try:
        while True:
            state = tuple(_identity(path) for path in files)
            if state != seen:
                seen = state
                _show(view, once, invocation, files, state, clear)
                if _stdout_identity() != stdout:  # silenced after a broken pipe
                    return 0
            time.sleep(POLL)
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        return 0


def _show(view, once, invocation, files, state, clear):
    stamp = time.strftime("%H:%M:%S")
    names = ", ".join(files)
    missing = [path for path, ident in zip(files, state) if ident is None]
    sys.stdout.write(clear)
    if missing:
        print(f"{PROG} view --watch: waiting for {', '.join(missing)} ({stamp})", flush=True)
        return
    print(f"{PROG} view --watch: {names} at {stamp}; drawn again when it changes "
          "(Ctrl-C to stop)", flush=True)
    screen = _Screen() if clear else None
    real, sys.stdout = sys.stdout, screen or sys.stdout
    try:
        view.run(once, invocation)
    except CommandError as exc:  # not (yet) a results file: said, and watched on
        print(f"{PROG} view: error: {exc}", flush=True)
    finally:
        sys.stdout = real
    if screen is not None:
        _fit(screen.getvalue(), names)
    sys.stdout.flush()


class _Screen(io.StringIO):
    """The report for a terminal, held to show what fits (colours kept)."""

    def isatty(self):
        return True


def _fit(text, names):
    """Writes the top of `text` that fits the terminal below the header line, and a line
    saying how much more there is (a terminal shows the end of what is written)."""
    from ..reports.color import strip_ansi

    columns, rows = shutil.get_terminal_size()
    room = max(1, rows - 3)  # the header above, the "more" line and the cursor below
    lines = text.splitlines()
    shown, used = 0, 0
    for line in lines:
        height = max(1, -(-len(strip_ansi(line)) // max(1, columns)))
        if used + height > room:
            break
        used += height
        shown += 1
    sys.stdout.write("\n".join(lines[:shown]) + ("\n" if shown else ""))
    if shown < len(lines):
        sys.stdout.write(f"\x1b[0m… {len(lines) - shown} more lines (all of them: {PROG} view "
                         f"{names})\n")
