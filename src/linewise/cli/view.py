"""`linewise view`: the report of saved results (text, HTML or JSON)."""
from __future__ import annotations

import sys

from ..reports.text import print_report
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
        output.add_argument("--markdown", action="store_true",
                            help="print the report as Markdown tables (for an issue or a "
                                 "pull request)")
        output.add_argument("--json-schema", action="store_true",
                            help="print the JSON Schema of --json's output and exit (no "
                                 "FILE)")
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
        unit, top = settings.unit(), settings.top()
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
            elif opts.json:
                from ..reports.json import JSONRangeError, write_json

                try:  # the numbers are checked before anything is written
                    write_json(stats, sys.stdout, sort=settings.flag("sort"),
                               from_disk=from_disk, top=top,
                               skip_zero=settings.flag("skip-zero"))
                except JSONRangeError as exc:  # a time that is not finite in seconds
                    raise CommandError(f"cannot write JSON: {exc}") from None
            elif opts.markdown:
                from ..reports.markdown import write_markdown

                write_markdown(stats, sys.stdout, unit=unit, skip_zero=settings.flag("skip-zero"),
                               sort=settings.flag("sort"), top=top, from_disk=from_disk,
                               summary=settings.flag("summary"))
            elif opts.html is not None:
                from ..reports.html import write_report

                write_page(write_report, opts.html, stats, label=", ".join(opts.files),
                           from_disk=from_disk, top=top, skip_zero=settings.flag("skip-zero"))
            else:
                from ..reports.color import TerminalPainter, use_color

                painter = TerminalPainter() if use_color(sys.stdout, opts.color) else None
                if opts.own_time:
                    stats = stats.with_own_times()
                print_report(stats, sys.stdout, unit=unit,
                             skip_zero=settings.flag("skip-zero"),
                             summary=settings.flag("summary"), sort=settings.flag("sort"),
                             top=top, painter=painter, from_disk=from_disk)
            sys.stdout.flush()
        except BrokenPipeError:
            silence_stdout()
        return 0


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
