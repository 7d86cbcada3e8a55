"""`linewise view --by-process`: each line's hits and time, broken down per process.

Results merged from several processes (a program's children, pool workers, Dask workers)
hold the totals in their tables, and in each process's run record what that process
counted itself (linewise.provenance: tag_process, process_lines). This module reads those
records back (it never writes them): split_by_process gives the processes and their
per-line counts, print_by_process the text report; the HTML page and the JSON document
use split_by_process too. What the totals hold beyond the processes' own counts (results
merged from runs without a process record) is shown as "(other runs)".
"""
from __future__ import annotations

from ..provenance import process_lines
from ..source import strip_line_end, visible
from ..units import format_seconds

__all__ = ["Process", "Breakdown", "ByProcessError", "NoProcesses", "split_by_process",
           "print_by_process", "NO_PROCESSES"]

NO_PROCESSES = ("no per-process results in it (they come from results merged from several "
                "processes: a program's children, pool or Dask workers)")


class ByProcessError(ValueError):
    """A run record's per-process counts are broken."""


class NoProcesses(ByProcessError):
    """The results hold no per-process records (one process made them)."""


class Process:
    """One process of merged results: its run record's pid, role ("parent", "child",
    "worker"), parent pid ("" when unknown), start command, host; `lines`: its own
    counts, {key: {lineno: (hits, time in the results' unit)}}; `run`: its index in
    stats.runs."""

    __slots__ = ("run", "pid", "role", "parent", "command", "host", "lines")

    def __init__(self, run, record, lines):
        self.run = run
        self.pid = record.get("pid", "")
        self.role = record.get("process.role", "")
        self.parent = record.get("process.parent", "")
        self.command = record.get("command", "")
        self.host = record.get("host", "")
        self.lines = lines

    def __repr__(self):
        return f"Process(pid={self.pid!r}, role={self.role!r})"

    def total(self, key=None):
        """Its time (in the results' unit) in the function `key`, or in all."""
        keys = self.lines if key is None else [key] if key in self.lines else []
        return sum(t for k in keys for _, t in self.lines[k].values())


class Breakdown:
    """The processes of a LineStats and what the totals hold beyond them.

    processes: [Process], in the order of stats.runs; other: {key: {lineno: (hits,
    time)}}, the totals minus the processes' sum, lines with hits only."""

    def __init__(self, processes, other):
        self.processes = processes
        self.other = other
        self.position = {id(proc): i for i, proc in enumerate(processes)}  # list index

    def __bool__(self):
        return bool(self.processes)

    def line(self, key, lineno):
        """[(Process or None for the other runs, hits, time)] of one line, the
        processes that ran it only."""
        out = [(proc, *proc.lines[key][lineno]) for proc in self.processes
               if lineno in proc.lines.get(key, ())]
        rest = self.other.get(key, {}).get(lineno)
        if rest is not None:
            out.append((None, *rest))
        return out


def split_by_process(stats) -> Breakdown:
    """The per-process breakdown of `stats` (empty when no run record has counts of its
    own); raises ByProcessError naming the run whose counts are broken."""
    processes = []
    for index, run in enumerate(stats.runs):
        try:
            found = process_lines(run, stats.unit)
        except (ValueError, TypeError, OverflowError) as exc:
            pid = run.get("pid")
            raise ByProcessError(f"runs[{index}]" + (f" (pid {visible(pid)})" if pid else "")
                                 + f": broken process.lines ({exc})") from None
        if found is None:
            continue
        lines: dict = {}
        for key, rows in found.items():
            acc = lines.setdefault(key, {})
            for lineno, hits, time in rows:
                if hits:
                    h0, t0 = acc.get(lineno, (0, 0))
                    acc[lineno] = (h0 + hits, t0 + time)
        processes.append(Process(index, run, lines))
    return Breakdown(processes, _other(stats, processes) if processes else {})


def _other(stats, processes) -> dict:
    """What the totals hold beyond the sum of the processes' own counts."""
    out: dict = {}
    for key, rows in stats.timings.items():
        own = [proc.lines[key] for proc in processes if key in proc.lines]
        for lineno, hits, time in rows:
            left_h = hits - sum(acc[lineno][0] for acc in own if lineno in acc)
            left_t = time - sum(acc[lineno][1] for acc in own if lineno in acc)
            if left_h:
                out.setdefault(key, {})[lineno] = (left_h, left_t)
    return out


def describe(proc) -> str:
    """A process as one line shows it: "pid 1234 (child of 1200)"."""
    if proc is None:
        return "(other runs)"
    text = f"pid {visible(proc.pid or '?')} {visible(proc.role)}"
    return text + (f" of {visible(proc.parent)}" if proc.parent else "")


def print_by_process(stats, stream, top=None, from_disk=None) -> None:
    """Writes the per-process report of `stats` to `stream`: the processes, then each
    function that ran (the most time first; top: only the `top` first), each line that
    ran with its totals and, under it, each process's hits and time. NoProcesses if
    there are no per-process records, ByProcessError if one is broken."""
    breakdown = split_by_process(stats)
    if not breakdown:
        raise NoProcesses(NO_PROCESSES)
    if from_disk is None:
        from_disk = not stats.sources_complete
    unit = stats.unit
    write = stream.write
    procs = breakdown.processes
    roles = {}
    for proc in procs:
        roles[proc.role] = roles.get(proc.role, 0) + 1
    write(f"Per process: {len(procs)} process{'es' if len(procs) != 1 else ''} ("
          + ", ".join(f"{n} {role or '?'}" for role, n in roles.items())
          + "); each line's totals, then what each process counted\n\n")
    width = max([len(visible(p.pid)) for p in procs] + [3])
    pwidth = max([len(visible(p.parent)) for p in procs] + [6])
    write(f"  {'pid':>{width}}  {'role':<6}  {'parent':>{pwidth}}  {'time':>10}  command\n")
    for proc in procs:
        write(f"  {visible(proc.pid):>{width}}  {visible(proc.role):<6}  "
              f"{visible(proc.parent):>{pwidth}}  {format_seconds(proc.total() * unit):>10}  "
              f"{visible(proc.command)}\n")
    functions = [f for f in stats.select(sort="longest") if f.hits]
    if top is not None:
        functions = functions[:max(0, top)]
    for func in functions:
        write(f"\nTotal time: {format_seconds(func.total_time)}  "
              f"{visible(func.name)} ({visible(func.filename)}:{func.first_lineno})\n")
        write(f"  {'Line #':>6} {'Hits':>9} {'Time':>10}  Line Contents\n")
        texts = func.source_lines(from_disk).block
        for lineno, (hits, time) in sorted(func.lines.items()):
            if not hits:
                continue
            index = lineno - func.first_lineno
            text = ""
            if texts is not None and 0 <= index < len(texts):
                text = visible(strip_line_end(texts[index]).strip())
            write(f"  {lineno:>6} {hits:>9} {format_seconds(time * unit):>10}  {text}\n")
            for proc, p_hits, p_time in breakdown.line(func.key, lineno):
                write(f"  {'':>6} {p_hits:>9} {format_seconds(p_time * unit):>10}    "
                      f"{describe(proc)}\n")
