#!/usr/bin/env python3
"""What memory per line costs, and how exact it is: linewise next to the memory profilers.

One run measures, for the Python running this script, on four workloads (a list/dict
building loop, string concatenation, numpy array creation, scikit-learn's
LinearRegression.fit), the slowdown (profiled time / bare time) of:

* lw_time        linewise.LineProfiler on the workload's functions, time only;
* lw_memory      the same with memory=True (Alloc, Net, Peak per line);
* mprof          memory_profiler's line-by-line profiler (what @profile does: its
                 LineProfiler on the same functions, psutil backend);
* tracemalloc    tracemalloc.start(1), one frame per trace;
* memray         ``memray run`` (Python-level stacks);
* memray_native  ``memray run --native`` (native stacks too);
* scalene        ``scalene run --memory`` (CPU and memory, sampled).

Every measurement is a fresh process (so no tool leaves anything behind for another;
one BLAS thread, PYTHONHASHSEED=0);
memray and scalene run that process under their own runner. Inside it the workload runs
once unmeasured (imports, caches), then INNER times measured with time.perf_counter
around the call alone: start-up and the tools' report writing are not counted. The
variants take turns, rotated on every repetition, so slow drifts of the machine spread
over all of them; each figure is the median of all measured calls. memory_profiler,
some hundred times slower, is measured in the first SLOW_REPS repetitions only.

Then the accuracy rows: one function allocates a ``bytearray(50_000_000)``, a
``numpy.zeros(10**7)`` and 10^5 pairs of ``bytearray(1024)`` allocated and freed at
once, each on its own line; each tool's figure for each line is put next to the truth
(what the line allocates: 50,000,000 B; 80,000,000 B of array data; 10^5 × 1 KiB in all,
net 0, peak 1 KiB). What each tool reports is its own kind of figure: see the notes the
table ends with.

A tool that cannot run says why in its cells ("n/a (...)"): until the engine has
memory=True, linewise's memory cells say "n/a (needs memory=True)".

Usage:
    python benchmarks/memory.py [--reps 5] [--inner 2] [--only list_dict,strings]
                                [--skip scalene,memray_native] [--json FILE]
(`make bench-memory` makes the venv with memory_profiler, memray, scalene, numpy and
scikit-learn, and runs it.)

Over 500 lines: one benchmark, whose workloads, measured process (which this same file
is, so every tool profiles the same code) and tables belong together.
"""
from __future__ import annotations

import argparse
import gc
import inspect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

HERE = os.path.abspath(__file__)
PYVER = "%d.%d" % sys.version_info[:2]
#: A measured call longer than this ends the process's measuring (memory_profiler is slow).
LONG_CALL = 10.0
#: How long one process may take before it counts as failed.
TIMEOUT = 600
#: Variants so slow that noise cannot matter: measured in at most SLOW_REPS repetitions.
SLOW = {"mprof"}
SLOW_REPS = 2

VARIANTS = [
    ("bare", "no profiler"),
    ("lw_time", "linewise, time only"),
    ("lw_memory", "linewise, memory=True"),
    ("mprof", "memory_profiler, line by line"),
    ("tracemalloc", "tracemalloc, 1 frame"),
    ("memray", "memray run"),
    ("memray_native", "memray run --native"),
    ("scalene", "scalene run --memory"),
]
NEEDS_MEMORY = "n/a (needs memory=True)"


# --- workloads ---------------------------------------------------------------------------
# Each setup returns (call, functions): call() runs the workload once; functions are what
# the line profilers profile.

def list_dict(n=20_000):
    rows = []
    index = {}
    for i in range(n):
        row = {"id": i, "name": "item%d" % i, "tags": [i % 7, i % 11]}
        rows.append(row)
        index[row["name"]] = row
    return len(rows) + len(index)


def strings(n=30_000):
    text = ""
    for i in range(n):
        text = text + "line %d;" % i
    words = text.split(";")
    return len(" ".join(words))


def numpy_arrays(n=1000):
    import numpy

    total = 0.0
    for i in range(n):
        a = numpy.arange(5000, dtype=numpy.float64)
        b = a * 2.0
        c = numpy.concatenate([a, b])
        total += float(c[-1])
    return total


def _setup_list_dict():
    return list_dict, [list_dict]


def _setup_strings():
    return strings, [strings]


def _setup_numpy():
    import numpy  # noqa: F401  (imported before the measured calls)

    return numpy_arrays, [numpy_arrays]


FIT_CALLS = 10


def _setup_sklearn_fit():
    from sklearn.datasets import make_regression
    from sklearn.linear_model import LinearRegression

    X, y = make_regression(random_state=13)
    est = LinearRegression()

    def call():  # the loop is the benchmark's; fit and what it wraps are profiled
        for _ in range(FIT_CALLS):
            est.fit(X, y)

    funcs = [LinearRegression.fit]
    inner = getattr(LinearRegression.fit, "__wrapped__", None)
    while inner is not None:
        funcs.append(inner)
        inner = getattr(inner, "__wrapped__", None)
    return call, funcs


WORKLOADS = [
    ("list_dict", "list/dict building loop, 20k rows", _setup_list_dict),
    ("strings", "string concatenation, 30k pieces", _setup_strings),
    ("numpy", "numpy array creation, 1000 x 3 arrays", _setup_numpy),
    ("sklearn_fit", "LinearRegression.fit x%d" % FIT_CALLS, _setup_sklearn_fit),
]


# --- the accuracy case -------------------------------------------------------------------

def accuracy_case():
    import numpy

    data = bytearray(50_000_000)  # acc:bytearray
    array = numpy.zeros(10**7)  # acc:zeros
    for _ in range(100_000):
        block = bytearray(1024); del block  # acc:pairs  # noqa: E702
    return data, array


ACCURACY = [  # (marker, heading, the truth)
    ("bytearray", "bytearray(50_000_000)", "50,000,000 B (47.7 MiB)"),
    ("zeros", "numpy.zeros(10**7)", "80,000,000 B (76.3 MiB)"),
    ("pairs", "10^5 x (1 KiB alloc + free)", "alloc 97.7 MiB, net 0, peak 1 KiB"),
]


def accuracy_lines() -> dict:
    """{marker: line number} of accuracy_case's measured lines."""
    lines, first = inspect.getsourcelines(accuracy_case)
    return {line.split("# acc:")[1].split()[0]: first + i
            for i, line in enumerate(lines) if "# acc:" in line}


# --- in the measured process -------------------------------------------------------------

class NotAvailable(Exception):
    """This variant cannot run here (the message says why)."""


def _profiler(variant, funcs):
    """(start, stop, result) for an in-process variant: start() and stop() around the
    measured call; result() what the profiler holds afterwards (None for the others)."""
    if variant == "bare":
        return (lambda: None), (lambda: None), (lambda: None)
    if variant in ("lw_time", "lw_memory"):
        from linewise import LineProfiler

        try:
            prof = LineProfiler(*funcs, memory=True) if variant == "lw_memory" \
                else LineProfiler(*funcs)
        except TypeError:
            raise NotAvailable(NEEDS_MEMORY) from None
        return prof.enable_by_count, prof.disable_by_count, prof.get_stats
    if variant == "mprof":
        try:
            import memory_profiler
        except ImportError:
            raise NotAvailable("n/a (memory_profiler not installed)") from None
        prof = memory_profiler.LineProfiler(backend="psutil")
        for func in funcs:
            prof.add_function(func)
        return prof.enable_by_count, prof.disable_by_count, lambda: prof
    if variant == "tracemalloc":
        import tracemalloc

        return (lambda: tracemalloc.start(1)), tracemalloc.stop, None
    raise ValueError(variant)


def child_time(variant, workload, inner, out):
    """Times `workload` under an in-process `variant` (memray and scalene: "bare" run
    under their runner); writes {"times": [...]} or {"na": why} to `out`."""
    setup = dict((name, s) for name, _, s in WORKLOADS)[workload]
    try:
        call, funcs = setup()
        start, stop, _ = _profiler(variant, funcs)
    except NotAvailable as exc:
        return _write(out, {"na": str(exc)})
    except ImportError as exc:
        return _write(out, {"na": f"n/a ({exc})"})
    call()  # warm: imports, caches
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(inner):
            gc.collect()
            gc.disable()
            try:
                begin = time.perf_counter()
                start()
                try:
                    call()
                finally:
                    stop()
                times.append(time.perf_counter() - begin)
            finally:
                gc.enable()
            if times[-1] > LONG_CALL:
                break
    _write(out, {"times": times})


def child_accuracy(variant, out):
    """Runs accuracy_case under `variant` and writes what it reports for each line
    ({marker: text}); memray and scalene: runs it plainly (their runner measures)."""
    lines = accuracy_lines()
    try:
        start, stop, result = _profiler(variant, [accuracy_case])
    except NotAvailable as exc:
        return _write(out, {"na": str(exc)})
    except ImportError as exc:
        return _write(out, {"na": f"n/a ({exc})"})
    if variant == "tracemalloc":
        import tracemalloc

        tracemalloc.start(1)
        before = tracemalloc.take_snapshot()
        tracemalloc.reset_peak()
        kept = accuracy_case()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        figures = {}
        stats = after.compare_to(before, "lineno")
        for marker, lineno in lines.items():
            size = sum(s.size_diff for s in stats
                       if s.traceback[0].lineno == lineno
                       and s.traceback[0].filename == __file__)
            figures[marker] = f"live after: {_mib(size)}"
        del kept
        return _write(out, {"figures": figures})
    start()
    try:
        kept = accuracy_case()
    finally:
        stop()
    del kept
    held = result()
    figures = {}
    if variant == "lw_memory":
        key = next(k for k in held.timings if k[2] == "accuracy_case")
        for marker, lineno in lines.items():
            alloc, net, peak = (held.columns[c].get(key, {}).get(lineno, 0)
                                for c in ("alloc", "net", "peak"))
            figures[marker] = f"alloc {_mib(alloc)}, net {_mib(net)}, peak {_mib(peak)}"
    elif variant == "mprof":
        for code, by_line in dict.items(held.code_map):
            for marker, lineno in lines.items():
                if lineno in by_line:
                    increment = by_line[lineno][0]
                    figures[marker] = f"increment {increment:.1f} MiB"
    _write(out, {"figures": figures})


def _mib(size) -> str:
    if abs(size) < 2**20:
        return "%d B" % size if abs(size) < 2**10 else "%.1f KiB" % (size / 2**10)
    return "%.1f MiB" % (size / 2**20)


def _write(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f)


# --- the parent --------------------------------------------------------------------------

def _command(variant, child_args, tmp):
    """The command line of one measured process, and the file the tool writes (or None)."""
    me = [HERE] + child_args
    if variant in ("memray", "memray_native"):
        trace = os.path.join(tmp, "memray-%d.bin" % time.monotonic_ns())
        native = ["--native"] if variant == "memray_native" else []
        return ([sys.executable, "-m", "memray", "run", "-q", "-f", "-o", trace] + native
                + me), trace
    if variant == "scalene":
        report = os.path.join(tmp, "scalene-%d.json" % time.monotonic_ns())
        return [sys.executable, "-m", "scalene", "run", "--memory", "-o", report, HERE,
                "---"] + child_args, report
    return [sys.executable] + me, None


def _inner_variant(variant):
    return "bare" if variant in ("memray", "memray_native", "scalene") else variant


_unavailable: dict = {}
#: The measured processes' environment: one BLAS/OpenMP thread and a fixed hash seed, so
#: the variants run the same work (as benchmarks/overhead.py's workers).
CHILD_ENV = {**os.environ, "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1",
             "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _runner_available(variant):
    """None if the tool behind `variant` can run here, else why not."""
    module = {"memray": "memray", "memray_native": "memray", "scalene": "scalene"}.get(variant)
    if module is None:
        return None
    if module not in _unavailable:
        done = subprocess.run([sys.executable, "-c", f"import {module}"],
                              capture_output=True, text=True)
        _unavailable[module] = None if done.returncode == 0 else \
            f"n/a ({module} not importable: {done.stderr.strip().splitlines()[-1:]})"
    return _unavailable[module]


def run_one(variant, child_args, tmp):
    """Runs one measured process; (its JSON result, the tool's file or None)."""
    why = _runner_available(variant)
    if why:
        return {"na": why}, None
    out = os.path.join(tmp, "out-%d.json" % time.monotonic_ns())
    cmd, tool_file = _command(variant, child_args + [out], tmp)
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT,
                              env=CHILD_ENV)
    except subprocess.TimeoutExpired:
        return {"na": f"n/a (no result in {TIMEOUT} s)"}, None
    # The result file decides, not the exit status: scalene 2.4 exits 1 after profiling a
    # program that ended well.
    if not os.path.exists(out):
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["?"]
        return {"na": f"n/a (exit {done.returncode}: {last[0][:80]})"}, None
    with open(out, encoding="utf-8") as f:
        return json.load(f), tool_file


def measure_speed(variants, workloads, reps, inner, tmp, log):
    times = {(w, v): [] for w in workloads for v in variants}
    notes = {}
    for rep in range(reps):
        order = variants[rep % len(variants):] + variants[:rep % len(variants)]
        for workload in workloads:
            for variant in order:
                if (workload, variant) in notes or variant in SLOW and rep >= SLOW_REPS:
                    continue
                started = time.perf_counter()
                result, tool_file = run_one(
                    variant, ["--child", _inner_variant(variant), workload, str(inner)], tmp)
                if tool_file and os.path.exists(tool_file):
                    os.unlink(tool_file)
                if "na" in result:
                    notes[(workload, variant)] = result["na"]
                else:
                    times[(workload, variant)] += result["times"]
                log(f"rep {rep + 1}/{reps} {workload:12s} {variant:14s} "
                    f"{time.perf_counter() - started:6.1f} s "
                    + (result.get("na") or "median %.4f s" % statistics.median(result["times"])))
    return times, notes


def measure_accuracy(variants, tmp, log):
    lines = accuracy_lines()
    figures = {}
    for variant in variants:
        if variant == "bare" or variant == "lw_time":
            continue
        result, tool_file = run_one(variant, ["--accuracy", _inner_variant(variant)], tmp)
        if "na" in result:
            figures[variant] = {m: result["na"] for m in lines}
        elif variant in ("memray", "memray_native"):
            figures[variant] = _memray_figures(tool_file, lines)
        elif variant == "scalene":
            figures[variant] = _scalene_figures(tool_file, lines)
        else:
            figures[variant] = result["figures"]
        if tool_file and os.path.exists(tool_file):
            os.unlink(tool_file)
        log(f"accuracy {variant}: {figures[variant]}")
    return figures


def _memray_figures(path, lines):
    """memray's bytes allocated at each line (its allocation records whose innermost
    Python frame is the line; frees left out)."""
    import memray

    frees = {memray.AllocatorType.FREE, memray.AllocatorType.MUNMAP,
             memray.AllocatorType.PYMALLOC_FREE}
    totals = {lineno: [0, 0] for lineno in lines.values()}
    for record in memray.FileReader(path).get_allocation_records():
        if memray.AllocatorType(record.allocator) in frees:
            continue
        stack = record.stack_trace(1)
        if stack and stack[0][1] == HERE and stack[0][2] in totals:
            totals[stack[0][2]][0] += record.size
            totals[stack[0][2]][1] += record.n_allocations
    return {m: f"alloc {_mib(totals[ln][0])} ({totals[ln][1]} allocations)"
            for m, ln in lines.items()}


def _scalene_figures(path, lines):
    """scalene's n_malloc_mb (sampled allocation, in MB as it names it) and n_peak_mb of
    each line."""
    with open(path, encoding="utf-8") as f:
        report = json.load(f)
    per_line = {}
    for filename, entry in report.get("files", {}).items():
        if os.path.abspath(filename) == HERE:
            per_line = {ln["lineno"]: ln for ln in entry["lines"]}
    out = {}
    for marker, lineno in lines.items():
        ln = per_line.get(lineno, {})
        out[marker] = "malloc %.1f MB, peak %.1f MB" % (ln.get("n_malloc_mb", 0.0),
                                                        ln.get("n_peak_mb", 0.0))
    return out


# --- the tables --------------------------------------------------------------------------

def speed_table(variants, workloads, times, notes) -> str:
    names = dict((v, d) for v, d in VARIANTS)
    head = ["workload", "bare"] + [v for v in variants if v != "bare"]
    rows = ["| " + " | ".join(head) + " |", "|" + " --- |" + " ---: |" * (len(head) - 1)]
    for workload in workloads:
        bare = times.get((workload, "bare")) or []
        base = statistics.median(bare) if bare else None
        cells = [workload, "%.1f ms" % (base * 1e3) if base else
                 notes.get((workload, "bare"), "n/a")]
        for variant in head[2:]:
            got = times.get((workload, variant)) or []
            if (workload, variant) in notes:
                cells.append(notes[(workload, variant)])
            elif got and base:
                cells.append("%.2fx" % (statistics.median(got) / base))
            else:
                cells.append("n/a")
        rows.append("| " + " | ".join(cells) + " |")
    legend = "; ".join(f"{v}: {names[v]}" for v in head[2:])
    return "\n".join(rows) + "\n\nSlowdown = median profiled time / median bare time (" \
        + legend + ")."


def accuracy_table(variants, figures) -> str:
    head = ["tool"] + [heading for _, heading, _ in ACCURACY]
    rows = ["| " + " | ".join(head) + " |", "| --- |" + " --- |" * len(ACCURACY),
            "| **truth** | " + " | ".join(truth for _, _, truth in ACCURACY) + " |"]
    for variant in variants:
        if variant in figures:
            rows.append(f"| {variant} | " + " | ".join(
                figures[variant].get(marker, "-") for marker, _, _ in ACCURACY) + " |")
    return "\n".join(rows) + "\n\n" + ACCURACY_NOTES


ACCURACY_NOTES = """\
What each figure is: lw_memory, the line's Alloc, Net and Peak; mprof, memory_profiler's
Increment (the change in the process's RSS across the line); tracemalloc, the bytes still
live after the call that the line allocated (a snapshot compared with one taken before);
memray, the bytes of the allocations whose innermost Python frame is the line; scalene,
its n_malloc_mb and n_peak_mb for the line (sampled)."""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--inner", type=int, default=2)
    parser.add_argument("--only", help="workloads, comma-separated")
    parser.add_argument("--skip", default="", help="variants to leave out, comma-separated")
    parser.add_argument("--json", help="also save the raw figures to this file")
    parser.add_argument("--no-accuracy", action="store_true")
    parser.add_argument("--child", nargs=4, metavar=("VARIANT", "WORKLOAD", "INNER", "OUT"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--accuracy", nargs=2, metavar=("VARIANT", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        variant, workload, inner, out = args.child
        return child_time(variant, workload, int(inner), out)
    if args.accuracy:
        return child_accuracy(*args.accuracy)

    skip = set(filter(None, args.skip.split(",")))
    variants = [v for v, _ in VARIANTS if v not in skip or v == "bare"]
    workloads = [w for w, _, _ in WORKLOADS]
    if args.only:
        wanted = args.only.split(",")
        unknown = set(wanted) - set(workloads)
        if unknown:
            parser.error("unknown workloads: " + ", ".join(sorted(unknown)))
        workloads = [w for w in workloads if w in wanted]

    def log(text):
        print(text, file=sys.stderr, flush=True)

    import platform

    with tempfile.TemporaryDirectory(prefix="lw-bench-memory-") as tmp:
        times, notes = measure_speed(variants, workloads, args.reps, args.inner, tmp, log)
        figures = {} if args.no_accuracy else measure_accuracy(variants, tmp, log)
    print(f"Python {platform.python_version()} ({sys.implementation.name}), "
          f"{args.reps} processes x {args.inner} calls per cell, {os.cpu_count()} CPUs\n")
    print(speed_table(variants, workloads, times, notes))
    if figures:
        print("\nAccuracy (what each tool reports for the line):\n")
        print(accuracy_table(variants, figures))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"python": PYVER, "times": {f"{w}/{v}": t for (w, v), t in times.items()},
                       "notes": {f"{w}/{v}": n for (w, v), n in notes.items()},
                       "accuracy": figures}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
