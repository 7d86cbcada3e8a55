"""`linewise view`: the report of saved results (text, HTML or JSON)."""
from __future__ import annotations

import sys

from ..reports.text import AUTO_SKIP_ZERO, print_report
from .common import (PROG, Command, CommandError, Settings, add_common, add_report_options,
                     add_source_option, check_page, load_config, load_results,
                     silence_stdout, write_page)


class View(Command):
    name = "view"
    summary = "print the report of saved results (several files are summed)"
    synopsis = f"{PROG} view [options] FILE [FILE...]"

    def add_parser(self, subparsers):
        parser = subparsers.add_parser(
            self.name, prog=f"{PROG} view", allow_abbrev=False,
            description="Prints the report of saved results; several files are summed line "
                        "by line.",
            epilog="Exit status: 0; 1 if a file cannot be read; 2 for a usage error.")
        parser.add_argument("files", nargs="*", metavar="FILE", help="results files (.lw)")
        add_report_options(parser, view_letters=True)
        add_source_option(parser)
        parser.add_argument("--all", action="store_true",
                            help="also show the functions that never ran (left out by "
                                 "default from the HTML page, and from the text report "
                                 f"of more than {AUTO_SKIP_ZERO} functions)")
        parser.add_argument("--own-time", action="store_true",
                            help="the tables show each line's own time (less the profiled "
                                 "functions it called) instead of its time")
        output = parser.add_mutually_exclusive_group()
        output.add_argument("--html", metavar="OUT",
                            help="write the report as one self-contained HTML page to OUT")
        output.add_argument("--json", action="store_true",
                            help="print the results as JSON (its JSON Schema: "
                                 f"{PROG} view --json-schema)")
        output.add_argument("--by-test", action="store_true",
                            help="per test (results of pytest --linewise): each test's "
                                 "functions with their time and hottest line, slowest "
                                 "first (--top N: the N slowest tests)")
        output.add_argument("--by-process", action="store_true",
                            help="per process (results merged from child processes or "
                                 "workers): each line's hits and time, then each "
                                 "process's (pid, role, command); --top N: the N "
                                 "functions with the most time")
        output.add_argument("--markdown", action="store_true",
                            help="print the report as Markdown tables (for an issue or a "
                                 "pull request)")
        output.add_argument("--json-schema", action="store_true",
                            help="print the JSON Schema of --json's output and exit (no "
                                 "FILE)")
        parser.add_argument("--watch", action="store_true",
                            help="draw the report again each time FILE changes, as the "
                                 f"snapshots of `{PROG} run -i SECONDS` replace it (waits "
                                 "for FILE to appear; Ctrl-C stops)")
        add_common(parser)
        self.parser = parser
        return parser

    def run(self, opts, invocation) -> int:
        if opts.json_schema:
            if opts.files:
                self.parser.error("--json-schema takes no FILE")
            return _print_json_schema()
        if not opts.files:
            self.parser.error("the following arguments are required: FILE")
        settings = Settings(opts, load_config(opts))
        if settings.flag("traceback"):
            invocation.traceback = True
        if opts.watch:
            from .watch import watch

            return watch(self, opts, invocation)
        unit, top = settings.unit(), settings.top()
        if opts.all and opts.skip_zero:
            self.parser.error("--all and -z/--skip-zero contradict each other")
        # None: the text report decides (-z above AUTO_SKIP_ZERO functions)
        skip_zero = False if opts.all else settings.get("skip-zero")
        if opts.html is not None:
            check_page(opts.html)
        stats = load_results(opts.files)
        from_disk = opts.source_from_disk
        try:
            if opts.by_test:
                from ..reports.by_test import ByTestError, print_by_test

                try:
                    print_by_test(stats, sys.stdout, top=top, from_disk=from_disk)
                except ByTestError as exc:
                    raise CommandError(f"--by-test: {', '.join(opts.files)}: {exc}") from None
            elif opts.by_process:
                _print_by_process(stats, opts.files, top, from_disk)
            elif opts.json:
                from ..reports.json import JSONRangeError, write_json

                try:  # the numbers are checked before anything is written
                    write_json(stats, sys.stdout, sort=settings.flag("sort"),
                               from_disk=from_disk, top=top,
                               skip_zero=settings.flag("skip-zero"))
                except JSONRangeError as exc:  # a time that is not finite in seconds
                    raise CommandError(f"cannot write JSON: {exc}") from None
                except ValueError as exc:  # by_process.ByProcessError: a broken record
                    raise CommandError(f"{', '.join(opts.files)}: {exc}") from None
            elif opts.markdown:
                from ..reports.markdown import write_markdown

                write_markdown(stats, sys.stdout, unit=unit, skip_zero=settings.flag("skip-zero"),
                               sort=settings.flag("sort"), top=top, from_disk=from_disk,
                               summary=settings.flag("summary"))
            elif opts.html is not None:
                from ..reports.by_process import ByProcessError
                from ..reports.html import write_report

                try:
                    write_page(write_report, opts.html, stats, label=", ".join(opts.files),
                               from_disk=from_disk, top=top, skip_zero=bool(skip_zero),
                               show_all=opts.all)
                except ByProcessError as exc:
                    raise CommandError(f"{', '.join(opts.files)}: {exc}") from None
            else:
                from ..reports.color import TerminalPainter, use_color

                painter = TerminalPainter() if use_color(sys.stdout, opts.color) else None
                if opts.own_time:
                    stats = stats.with_own_times()
                print_report(stats, sys.stdout, unit=unit, skip_zero=skip_zero,
                             summary=settings.flag("summary"), sort=settings.flag("sort"),
                             top=top, painter=painter, from_disk=from_disk)
            sys.stdout.flush()
        except BrokenPipeError:
            silence_stdout()
        return 0


def _print_by_process(stats, files, top, from_disk) -> None:
    """--by-process; results without per-process records get one line saying so."""
    from ..reports.by_process import ByProcessError, NoProcesses, print_by_process

    where = ", ".join(files)
    try:
        print_by_process(stats, sys.stdout, top=top, from_disk=from_disk)
    except NoProcesses as exc:
        sys.stdout.write(f"{where}: {exc}\n")
    except ByProcessError as exc:
        raise CommandError(f"--by-process: {where}: {exc}") from None


def _print_json_schema() -> int:
    """Prints the JSON Schema of `view --json` (shipped in the package)."""
    from importlib.resources import files

    text = files("linewise").joinpath("json-schema.json").read_text(encoding="utf-8")
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
    return 0
