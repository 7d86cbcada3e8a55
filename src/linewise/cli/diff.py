"""`linewise diff`: compares two saved results line by line."""
from __future__ import annotations

import argparse
import sys

from ..units import parse_unit
from .common import (PROG, Command, UsageError, add_color_option, add_common,
                     add_source_option, check_page, load_results, non_negative_int,
                     silence_stdout, write_page)

DESCRIPTION = """\
Compares two saved results line by line: where did the time go? Functions are matched by
qualified name and file (also when they moved in the file), lines by their source text,
so added or removed lines do not shift the timings. For each line: hits and time before
and after, the change (after - before) and the ratio (after / before); per function and
in total too, the biggest changes first. Lines whose text changed show as removed (-)
and added (+)."""


class Diff(Command):
    name = "diff"
    summary = "compare two saved results line by line: where the time went"
    synopsis = f"{PROG} diff [options] BEFORE AFTER"

    def add_parser(self, subparsers):
        parser = subparsers.add_parser(
            self.name, prog=f"{PROG} diff", allow_abbrev=False, description=DESCRIPTION,
            epilog="Exit status: 0; 1 if a file cannot be read or written; 2 for a usage "
                   "error.",
            formatter_class=argparse.RawDescriptionHelpFormatter)
        parser.add_argument("before", metavar="BEFORE", help="results file of the first run")
        parser.add_argument("after", metavar="AFTER", help="results file of the second run")
        parser.add_argument("--html", metavar="OUT",
                            help="write the comparison as one self-contained HTML page to "
                                 "OUT")
        parser.add_argument("-u", "--unit", metavar="UNIT",
                            help="time unit of the text: seconds (1e-3) or s, ms, us, ns "
                                 "(default: one that fits the biggest time)")
        parser.add_argument("--top", metavar="N", type=non_negative_int, default=10,
                            help="how many lines the list of biggest changes shows "
                                 "(default 10; 0: no list)")
        add_color_option(parser)
        add_source_option(parser)
        add_common(parser, config=False)
        return parser

    def run(self, opts, invocation) -> int:
        unit = None
        if opts.unit is not None:
            try:
                unit = parse_unit(opts.unit)
            except ValueError as exc:
                raise UsageError(f"-u/--unit: {exc}") from None
        from ..reports.diff import diff_stats
        from ..reports.diff_text import write_text

        if opts.html is not None:
            check_page(opts.html)
        diff = diff_stats(load_results([opts.before]), load_results([opts.after]),
                          opts.before, opts.after, from_disk=opts.source_from_disk)
        if opts.html is not None:
            from ..reports.html import write_diff

            write_page(write_diff, opts.html, diff)
            return 0
        from ..reports.color import use_color

        try:
            write_text(diff, sys.stdout, unit=unit, top=opts.top,
                       color=use_color(sys.stdout, opts.color))
            sys.stdout.flush()
        except BrokenPipeError:
            silence_stdout()
        return 0
