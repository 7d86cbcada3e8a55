"""Results that survive the ways a program really ends: fatal signals, fork, spawn.

Signals. A process ended by a signal whose default action is to terminate it runs no
``finally`` and no atexit handler, so without help the results are lost. `Guard` installs
a handler for each of FATAL_SIGNALS that is at its default (SIG_DFL) when profiling
starts: it saves (once), restores SIG_DFL and sends the signal again to the process, so
the parent still sees a death by that signal (128+N in a shell). A signal that is ignored
(``nohup``) or already handled is left alone; a handler the program installs later
replaces ours, and the results are then saved when the program exits.

Not in the list: SIGINT (KeyboardInterrupt, handled by the callers), SIGPIPE and SIGXFSZ
(ignored by Python: writes fail with an error instead), SIGKILL and SIGSTOP (cannot be caught), and the signals raised at a faulting
instruction or by abort() (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS):
after those the process is not in a state to run Python code, and a Python handler only
runs once the faulting C code has returned, which it does not.

Fork. A forked child inherits the handlers and the atexit hook; `Guard.owner` tells it
that the results are not its own (the child saves nothing and says nothing), and the
handlers are set back to SIG_DFL in the child.
"""
from __future__ import annotations

import os
import signal
import sys

__all__ = ["FATAL_SIGNALS", "Guard", "signal_name"]


def _fatal_signals() -> tuple:
    names = ("SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGXCPU",
             "SIGVTALRM", "SIGPROF", "SIGPWR", "SIGIO", "SIGPOLL", "SIGSTKFLT",
             "SIGLOST")
    found = [getattr(signal, name) for name in names if hasattr(signal, name)]
    if hasattr(signal, "SIGRTMIN") and hasattr(signal, "SIGRTMAX"):
        found.extend(range(signal.SIGRTMIN, signal.SIGRTMAX + 1))  # real-time signals
    unique = []
    for sig in found:
        if int(sig) not in unique:
            unique.append(int(sig))
    return tuple(unique)


#: The signals whose default action ends the process and that linewise saves results on.
FATAL_SIGNALS = _fatal_signals()


def signal_name(signum) -> str:
    """SIGTERM, SIGRTMIN+3, or the number."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        low = getattr(signal, "SIGRTMIN", None)
        if low is not None and low < signum <= getattr(signal, "SIGRTMAX", low):
            return f"SIGRTMIN+{signum - low}"
        return f"signal {signum}"


_IDLE, _SAVING, _DONE = range(3)

_engine = None  # linewise._engine, imported by the first install (not by a handler)

_guards: list = []  # the live Guards, for the fork hook


def _after_fork_in_child():
    for guard in _guards:
        guard._drop_handlers()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class Guard:
    """Saves the results exactly once, in the process that collected them: at the
    program's end (inside ``with guard.finishing():``) or on a fatal signal.

    `save(signum)` does the saving and reporting; signum is the signal's number, or
    None at a normal end (then the caller calls it itself, inside finishing()).
    """

    def __init__(self, save):
        self._save = save
        self.pid = os.getpid()
        self._state = _IDLE
        self._pending = None  # a signal that came while saving: re-raised afterwards
        self._signals: list = []  # where our handler was installed

    @property
    def owner(self) -> bool:
        """Whether this process is the one that collected (False in a forked child)."""
        return os.getpid() == self.pid

    def install(self) -> None:
        """Handles each of FATAL_SIGNALS that is at SIG_DFL (not from a non-main thread:
        Python allows handlers only there; then only the normal end saves)."""
        global _engine
        from . import _engine

        for sig in FATAL_SIGNALS:
            try:
                if signal.getsignal(sig) == signal.SIG_DFL:
                    signal.signal(sig, self._on_signal)
                    self._signals.append(sig)
                    # Sent again until _on_signal runs: one that lands just before a
                    # blocking call would otherwise wait for the call to end.
                    _engine.resend_until_handled(sig)
            except ValueError:  # not the main thread
                break
            except OSError:  # a signal this system reserves
                continue
        if self._signals and self not in _guards:
            _guards.append(self)

    def _drop_handlers(self):
        """Sets our handlers back to SIG_DFL (those the program has not replaced)."""
        for sig in self._signals:
            try:
                if signal.getsignal(sig) == self._on_signal:
                    signal.signal(sig, signal.SIG_DFL)
            except (ValueError, OSError):
                pass
        self._signals = []
        if self in _guards:
            _guards.remove(self)

    def _on_signal(self, signum, frame):
        _engine.signal_handled()  # the repeats (see install) stop
        if not self.owner or self._state == _DONE:
            _die(signum)
        if self._state == _SAVING:  # a second signal: saving is not cut half-way
            if self._pending is None:
                self._pending = signum
            return
        self._state = _SAVING
        try:
            with _sigint_held():
                self._save(signum)
        except BaseException as exc:  # noqa: B036 - dying anyway: say it, do not raise
            try:
                print(f"linewise: could not save the results: {type(exc).__name__}: "
                      f"{exc}", file=sys.stderr)
            except Exception:
                pass
        self._state = _DONE
        _die(signum)

    def finishing(self):
        """A context for the normal end's save: a signal arriving meanwhile waits until
        it is done, then ends the process."""
        return _Finishing(self)


class _Finishing:
    def __init__(self, guard):
        self.guard = guard

    def __enter__(self):
        self.guard._state = _SAVING
        self._held = _sigint_held()
        self._held.__enter__()
        return self

    def __exit__(self, *exc):
        guard = self.guard
        self._held.__exit__(*exc)
        guard._state = _DONE
        guard._drop_handlers()
        if guard._pending is not None:
            _die(guard._pending)
        return False


class _sigint_held:
    """Ctrl-C held off (noted and dropped) while saving, if SIGINT is Python's default."""

    def __enter__(self):
        self.previous = None
        try:
            if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                self.previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        except ValueError:  # not the main thread
            pass
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            try:
                signal.signal(signal.SIGINT, self.previous)
            except ValueError:
                pass
        return False


def _die(signum):
    """Ends the process by `signum`, as it would have ended without linewise."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    try:
        signal.signal(signum, signal.SIG_DFL)
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signum})
        signal.raise_signal(signum)
    except (ValueError, OSError):
        pass
    os._exit(128 + signum)  # the signal did not end us (blocked elsewhere): the same status
