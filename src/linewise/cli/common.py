"""What the commands share: errors, the parser class, settings (flags over config over
defaults), common options, loading and saving results, and the text report."""
from __future__ import annotations

import argparse
import errno
import os
import sys

from ..units import parse_unit

PROG = "linewise"


class UsageError(Exception):
    """Bad command line or settings: one line on stderr, exit status 2."""

    status = 2


class CommandError(Exception):
    """Something the command could not do: one line on stderr, exit status 1."""

    status = 1


class Exit(Exception):
    """Ends the command with this status (--help, --version)."""

    def __init__(self, status):
        super().__init__(status)
        self.status = status


class Parser(argparse.ArgumentParser):
    """argparse, but errors become one-line UsageErrors and --help does not exit."""

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")

    def exit(self, status=0, message=None):
        if message:
            sys.stderr.write(message)
        raise Exit(status)


class Invocation:
    """One run of the `linewise` command: its name in messages ("linewise run"), whether
    linewise's own errors show a traceback, and the command's own tokens."""

    def __init__(self):
        self.command = PROG
        self.traceback = False
        self.tokens: list = []


class Command:
    """One subcommand: `name`, a one-line `summary` and the `synopsis` for `linewise
    --help`; `add_parser(subparsers)` registers its argparse parser and returns it;
    `run(opts, invocation)` does it and returns the exit status. `split(tokens)` can keep
    tokens from argparse (``linewise run``: the program's own arguments); it returns
    (tokens to parse, the rest or None), the rest becomes ``opts.program``."""

    name = ""
    summary = ""
    synopsis = ""

    def add_parser(self, subparsers):
        raise NotImplementedError

    def split(self, tokens):
        return tokens, None

    def run(self, opts, invocation) -> int:
        raise NotImplementedError


def takes_value(parser) -> set:
    """The option strings of `parser` that take a value (``-o FILE``), from its actions:
    what tells a command's options from the program's arguments (see run.split_run_argv)."""
    return {option for action in parser._actions if action.nargs != 0
            for option in action.option_strings}


def silence_stdout():
    """After a broken pipe (`linewise view x.lw | head`): no more writes to stdout."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


# -- settings: flags over config over defaults -------------------------------------------


def load_config(opts):
    """The Config the flags point to (--config, --no-config, else the nearest one)."""
    from ..config import Config, ConfigError, find_config
    from ..config import load_config as load

    if opts.no_config:
        return Config()
    try:
        if opts.config is not None:
            if not os.path.isfile(opts.config):
                raise UsageError(f"--config {opts.config}: no such file")
            return load(opts.config)
        path = find_config()
        return load(path) if path else Config()
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


class Settings:
    """The value of each option: the flag if given, else the config file's, else the
    default. `config` is the Config used."""

    def __init__(self, opts, config):
        self.opts = opts
        self.config = config

    def get(self, name, default=None):
        value = getattr(self.opts, name.replace("-", "_"), None)
        if value is not None:
            return value
        return self.config.get(name, default)

    def flag(self, name) -> bool:
        return bool(self.get(name, False))

    def from_config(self, name) -> bool:
        return getattr(self.opts, name.replace("-", "_"), None) is None and name in self.config.values

    def path(self, name):
        """A path setting: a flag's is relative to the current directory, a config file's
        to the file's directory."""
        value = self.get(name)
        if value is not None and self.from_config(name) and value != "-":
            value = os.path.join(self.config.directory, value)
        return value

    def unit(self):
        value = self.get("unit")
        if value is None:
            return None
        try:
            return parse_unit(value)
        except ValueError as exc:
            where = f"{self.config.path}: unit" if self.from_config("unit") else "-u/--unit"
            raise UsageError(f"{where}: {exc}") from None

    def top(self):
        value = self.get("top")
        if value is not None and value < 1:
            where = f"{self.config.path}: top" if self.from_config("top") else "--top"
            raise UsageError(f"{where}: must be a positive number of functions, not {value}")
        return value


# -- options more than one command has ---------------------------------------------------


def int_at_least(minimum):
    """An argparse type: a whole number >= minimum."""
    def convert(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value
    return convert


positive_int = int_at_least(1)
non_negative_int = int_at_least(0)


def add_common(parser, config=True):
    if config:
        parser.add_argument("--config", metavar="FILE",
                            help="read settings from FILE instead of the nearest "
                                 "linewise.toml or pyproject.toml [tool.linewise]")
        parser.add_argument("--no-config", action="store_true",
                            help="ignore configuration files")
    parser.add_argument("--traceback", action="store_true", default=None,
                        help="show a traceback for linewise's own errors")


def add_report_options(parser, view_letters=False):
    """The report's options. view_letters: also `python -m line_profiler`'s short forms
    -m (--summarize) and -t (--sort), which `linewise run` cannot have (-m is a module)."""
    parser.add_argument("-u", "--unit", metavar="UNIT",
                        help="time unit of the report: seconds (1e-3) or s, ms, us, ns "
                             "(default: the timer's)")
    parser.add_argument("-z", "--skip-zero", action=argparse.BooleanOptionalAction,
                        help="leave out functions that never ran")
    parser.add_argument(*(["-m"] if view_letters else []), "--summary", "--summarize",
                        action=argparse.BooleanOptionalAction,
                        help="also print a summary, one line per function")
    parser.add_argument(*(["-t"] if view_letters else []), "--sort",
                        action=argparse.BooleanOptionalAction,
                        help="order functions by total time, the longest last")
    parser.add_argument("--top", metavar="N", type=positive_int,
                        help="only the N functions with the most time")
    add_color_option(parser)


def add_source_option(parser):
    parser.add_argument("--source-from-disk", action="store_true",
                        help="show source the results do not hold by reading it from the "
                             "files they name (off by default: a results file can name "
                             "any file; regular files of at most 16 MiB only, never "
                             "/proc, /sys or /dev)")


def add_color_option(parser):
    parser.add_argument("--color", metavar="WHEN", choices=("auto", "always", "never"),
                        help="colour the report: auto (the default: on a terminal, unless "
                             "NO_COLOR is set), always or never")
    parser.add_argument("-r", "--rich", dest="color", action="store_const", const="always",
                        help="kernprof's and line_profiler's spelling of --color=always")


# -- results files and pages -------------------------------------------------------------


def load_results(paths):
    """Loads and sums the results files; raises CommandError naming the bad one."""
    import stat

    from ..results import ResultsError
    from ..store import load_stats

    total = None
    for path in paths:
        if os.path.isdir(path):
            raise CommandError(f"cannot read {path}: it is a directory")
        try:
            mode = os.stat(path).st_mode
        except OSError:
            mode = None  # load_stats says what is wrong
        if mode is not None and not stat.S_ISREG(mode):  # a FIFO would block, /dev/zero
            raise CommandError(f"cannot read {path}: not a regular file")
        try:
            stats = load_stats(path)
        except FileNotFoundError:
            raise CommandError(f"cannot read {path}: no such file") from None
        except (ResultsError, OSError) as exc:
            raise CommandError(str(exc) if path in str(exc) else f"{path}: {exc}") from None
        try:
            total = stats if total is None else total + stats
        except ResultsError as exc:
            raise CommandError(f"{path}: {exc}") from None
    return total


def check_writable(path, what="results") -> None:
    """Raises UsageError unless `what` can be written to `path` as linewise writes files
    (``_engine.write_file``): a symlink is followed; a new or regular file is replaced
    through a temporary file, so its directory must exist and accept new files; a device
    or a FIFO is written through, so it must be writable; a directory or a socket is
    refused. Opens nothing at `path` (a FIFO would block)."""
    from .. import _engine

    try:
        target, kind = _engine.output_target(path)
    except OSError as exc:
        why = "it is a directory" if exc.errno == errno.EISDIR else exc.strerror or exc
        raise UsageError(f"cannot write {what} to {path}: {why}") from None
    if kind in ("device", "fifo"):
        if not os.access(target, os.W_OK):
            raise UsageError(f"cannot write {what} to {path}: permission denied")
        return
    directory = os.path.dirname(target) or "."
    if not os.path.isdir(directory):
        raise UsageError(f"cannot write {what} to {path}: directory {directory} does not "
                         "exist")
    import tempfile

    try:
        fd, probe = tempfile.mkstemp(prefix=".linewise-", suffix=".probe", dir=directory)
    except OSError as exc:
        raise UsageError(f"cannot write {what} to {path}: directory {directory} is not "
                         f"writable ({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(probe)


def save_results(stats, path, format=None) -> None:
    """Writes `stats` to `path` (as store.dump_stats: `format` None picks line_profiler's
    for a .lprof path); raises CommandError saying why it could not."""
    from ..results import ResultsError
    from ..store import dump_stats

    try:
        dump_stats(stats, path, format)
    except (OSError, ResultsError) as exc:
        raise CommandError(f"cannot write results to {path}: "
                           f"{getattr(exc, 'strerror', None) or exc}") from None


def check_page(path) -> None:
    """check_writable for an HTML page, before anything is loaded; a page that cannot be
    written fails as writing it would (exit status 1)."""
    try:
        check_writable(path, "the page")
    except UsageError as exc:
        raise CommandError(str(exc)) from None


def write_page(write, path, *args, **kwargs):
    """Writes an HTML page with `write(..., path, ...)`; says where on stderr."""
    try:
        write(*args[:1], path, *args[1:], **kwargs)
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from None
    print(f"{PROG}: wrote {path}", file=sys.stderr)
