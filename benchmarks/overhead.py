#!/usr/bin/env python3
"""How much linewise slows profiled code, next to line_profiler and to a do-nothing hook.

One run measures, for the Python running this script:

* bare          the workload with no profiler at all;
* linewise      the workload's functions added to ``linewise.LineProfiler``, run in ``with lp:``;
* line_profiler the same functions added to ``line_profiler.LineProfiler``, run the same way;
* null floor    linewise built with ``-DLINEWISE_NULL_HOOK``: every hook only reads the timer
                and returns, so this is what the event delivery itself costs (the floor no
                engine can beat).

On Python 3.12+ it measures the same again with ``LINEWISE_BACKEND=legacy`` (linewise's C
trace-hook backend; the floor built the same way; compared there with line_profiler's own
legacy core, ``LINE_PROFILER_CORE=legacy``).

Every variant runs in its own worker process (so no variant leaves instrumentation behind
that slows another, and the null-hook engine, built into a temporary directory, never
meets the real one). The parent sends "time workload W once" to the workers in turn,
rotating the order on every repetition, so slow drifts of the machine spread over all
variants; each figure is the median of the repetitions.

Reading the table: overhead = (profiled - bare) / bare. ``lw/lp`` is linewise's overhead
divided by line_profiler's (target <= 1/3, aim 1/10). ``ns/event`` is (profiled - bare)
divided by the line events of one run (the total hits linewise counts); ``lw/floor`` divides
linewise's cost per event by the null hook's (target <= 1.5). See benchmarks/README.md.

Usage:
    python benchmarks/overhead.py [--reps 7] [--only tight_loop,fib] [--json DIR]
    python benchmarks/overhead.py --report DIR/overhead-*.json   # one markdown table
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PYVER = "%d.%d" % sys.version_info[:2]

TARGET_LW_LP = 1 / 3      # linewise overhead / line_profiler overhead
TARGET_LW_FLOOR = 1.5     # linewise ns per event / null hook ns per event


# --- workloads ---------------------------------------------------------------------------
# Each workload's setup returns (call, functions): `call()` runs it once; `functions` are
# the functions to profile (a functools.wraps wrapper brings the functions it wraps along).

def tight_loop(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def dfib(n):
    if n < 2:
        return n
    return dfib(n - 1) + dfib(n - 2)


_DFIB = dfib  # the undecorated function; `dfib` is rebound to what the decorator returns


def dict_list(n):
    counts = {}
    buckets = {}
    order = []
    for i in range(n):
        key = "k%d" % (i % 997)
        counts[key] = counts.get(key, 0) + 1
        if key not in buckets:
            buckets[key] = []
            order.append(key)
        buckets[key].append(i)
    sizes = [len(buckets[k]) for k in order]
    return len(counts), sum(sizes), max(sizes)


def gen_numbers(n):
    for i in range(n):
        yield i


def gen_squares(items):
    for x in items:
        yield x * x


def gen_odd(items):
    for x in items:
        if x & 1:
            yield x


def gen_pairs(items):
    pending = None
    for x in items:
        if pending is None:
            pending = x
        else:
            yield pending + x
            pending = None


def gen_pipeline(n):
    total = 0
    for value in gen_pairs(gen_odd(gen_squares(gen_numbers(n)))):
        total += value
    return total


class Skip(Exception):
    """A workload that cannot run here; the message says why."""


def _setup_tight_loop():
    return (lambda: tight_loop(200_000)), [tight_loop]


def _setup_fib():
    return (lambda: fib(25)), [fib]


DECORATED_CALLS = 10


def _setup_fib_decorated():
    def call():  # every call of dfib, the recursive ones too, goes through `dfib`
        for _ in range(DECORATED_CALLS):
            dfib(20)
    return call, [_DFIB]


def _setup_dict_list():
    return (lambda: dict_list(100_000)), [dict_list]


def _setup_generators():
    return (lambda: gen_pipeline(200_000)), [gen_pipeline, gen_pairs, gen_odd, gen_squares,
                                            gen_numbers]


FIT_CALLS = 20


def _setup_sklearn_fit():
    try:
        from sklearn.datasets import make_regression
        from sklearn.linear_model import LinearRegression
    except ImportError as exc:
        raise Skip("scikit-learn not installed (%s)" % exc) from None
    X, y = make_regression(random_state=13)
    est = LinearRegression()

    def call():  # the loop is the benchmark's, not profiled; fit (and what it wraps) is
        for _ in range(FIT_CALLS):
            est.fit(X, y)

    funcs = [LinearRegression.fit]
    inner = getattr(LinearRegression.fit, "__wrapped__", None)
    while inner is not None:  # what a functools.wraps wrapper wraps: profiled too
        funcs.append(inner)
        inner = getattr(inner, "__wrapped__", None)
    return call, funcs


# Decorated workloads: the global the worker rebinds to prof(function), and the function;
# each is compared with the row of the same code run under `with prof:` (target: at most
# 1.25x that row's overhead).
DECORATED = {"fib_decorated": ("dfib", _DFIB)}
DECORATED_BASELINE = {"fib_decorated": "fib"}
TARGET_DECORATED = 1.25

WORKLOADS = [
    ("tight_loop", "sum of i*i, 200k iterations", _setup_tight_loop),
    ("fib", "recursive fib(25)", _setup_fib),
    ("fib_decorated", "recursive fib(20) x%d, decorated: every call through the "
     "decorated function, no `with`" % DECORATED_CALLS, _setup_fib_decorated),
    ("dict_list", "dict/list-heavy loop, 100k iterations", _setup_dict_list),
    ("generators", "4 chained generators + consumer, 200k items", _setup_generators),
    ("sklearn_fit", "LinearRegression.fit x%d (walkthrough data)" % FIT_CALLS,
     _setup_sklearn_fit),
]


# --- worker: one variant, timing on request ------------------------------------------------

def _new_profiler(kind, funcs):
    if kind in ("linewise", "null"):
        from linewise import LineProfiler
    else:
        from line_profiler import LineProfiler
    prof = LineProfiler()
    with warnings.catch_warnings():
        # line_profiler warns that a wrapper has a __wrapped__: we add that one too.
        warnings.simplefilter("ignore")
        for func in funcs:
            prof.add_function(func)
    return prof


def _total_hits(prof):
    return sum(h for lines in prof.get_stats().timings.values() for _, h, _ in lines)


def _time_once(call, prof):
    gc.collect()
    gc.disable()
    try:
        if prof is None:
            start = time.perf_counter()
            call()
            end = time.perf_counter()
        else:
            start = time.perf_counter()
            with prof:
                call()
            end = time.perf_counter()
    finally:
        gc.enable()
    return end - start


def _worker_info(kind):
    info = {"kind": kind, "python": sys.version.split()[0], "pid": os.getpid()}
    if kind in ("linewise", "null"):
        import linewise
        from linewise import _engine

        info.update(linewise=os.path.dirname(linewise.__file__), backend=_engine.backend,
                    timer=_engine.timer, null_hook=_engine.null_hook)
        if _engine.null_hook != (kind == "null"):
            raise RuntimeError("worker %s imported an engine with null_hook=%s from %s"
                               % (kind, _engine.null_hook, _engine.__file__))
    elif kind == "line_profiler":
        import line_profiler

        info["line_profiler"] = getattr(line_profiler, "__version__", "?")
        try:
            from line_profiler._diagnostics import USE_LEGACY_TRACE
            info["backend"] = "legacy" if USE_LEGACY_TRACE else "monitoring"
        except ImportError:
            info["backend"] = "legacy" if sys.version_info < (3, 12) else "?"
    return info


def worker(kind, names):
    """Answers JSON requests on stdin with JSON lines on the original stdout."""
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything the workloads print goes to stderr, not into the protocol
    sys.stdout = sys.stderr

    def send(obj):
        proto.write(json.dumps(obj) + "\n")
        proto.flush()

    try:
        info = _worker_info(kind)
        runs, events, skipped = {}, {}, {}
        for name, _, setup in WORKLOADS:
            if name not in names:
                continue
            try:
                call, funcs = setup()
            except Skip as exc:
                skipped[name] = str(exc)
                continue
            prof = None if kind == "bare" else _new_profiler(kind, funcs)
            # A decorated workload enables itself: its wrapper, not a `with` block.
            timed = None if name in DECORATED else prof
            if name in DECORATED and prof is not None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    globals()[DECORATED[name][0]] = prof(DECORATED[name][1])
            _time_once(call, timed)  # warm-up: imports, caches, instrumentation
            if kind == "linewise":
                events[name] = _total_hits(prof)
                _time_once(call, timed)
                if _total_hits(prof) != 2 * events[name]:
                    info.setdefault("notes", []).append(
                        "%s: line events differ between runs (%d then %d)"
                        % (name, events[name], _total_hits(prof) - events[name]))
            else:
                _time_once(call, timed)
            runs[name] = (call, timed)
        info.update(events=events, skipped=skipped)
        send(info)
    except Exception as exc:  # reported to the parent, which stops the benchmark
        send({"error": "%s: %s" % (type(exc).__name__, exc)})
        raise
    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "quit":
            break
        call, prof = runs[request["workload"]]
        send({"seconds": _time_once(call, prof)})


# --- parent: build the floor, start workers, interleave, report ----------------------------

class Worker:
    def __init__(self, label, kind, env, names):
        self.label = label
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", kind,
             "--only", ",".join(names)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True, bufsize=1)
        self.info = self._read()

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("benchmark worker %s died (exit %s); see its stderr above"
                               % (self.label, self.proc.wait()))
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError("benchmark worker %s failed: %s" % (self.label, reply["error"]))
        return reply

    def time(self, workload):
        self.proc.stdin.write(json.dumps({"op": "time", "workload": workload}) + "\n")
        self.proc.stdin.flush()
        return self._read()["seconds"]

    def close(self):
        try:
            self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def build_null_engine(tmp):
    """Builds linewise with -DLINEWISE_NULL_HOOK into tmp/lib next to a copy of the package's
    Python files; returns the directory to put on PYTHONPATH."""
    lib, objs = os.path.join(tmp, "lib"), os.path.join(tmp, "obj")
    env = dict(os.environ, LINEWISE_CFLAGS="-DLINEWISE_NULL_HOOK")
    cmd = [sys.executable, "setup.py", "-q", "build_ext", "--build-lib", lib,
           "--build-temp", objs]
    done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        raise RuntimeError("building the null-hook engine failed:\n" + done.stdout[-4000:])
    src = os.path.join(ROOT, "src", "linewise")
    dest = os.path.join(lib, "linewise")
    shutil.copytree(src, dest, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "_engine", "__pycache__"))
    return lib


def _median(values):
    return statistics.median(values) if values else float("nan")


def _spread(values):
    """Half the interquartile range, relative to the median."""
    if len(values) < 4:
        return float("nan")
    q = statistics.quantiles(values, n=4)
    return (q[2] - q[0]) / 2 / statistics.median(values)


def measure(args):
    names = [n for n, _, _ in WORKLOADS if not args.only or n in args.only]
    base = {k: v for k, v in os.environ.items()
            if k not in ("LINEWISE_BACKEND", "LINE_PROFILER_CORE")}
    # Same hashing in every worker; one BLAS thread so the fit row does not wait on spinners.
    base.update(PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
                MKL_NUM_THREADS="1")
    notes = []
    tmp = tempfile.mkdtemp(prefix="linewise-bench-")
    workers = {}
    try:
        null_path = None
        if not args.no_null:
            print("[%s] building the null-hook engine ..." % PYVER, file=sys.stderr)
            try:
                null_path = build_null_engine(tmp)
            except RuntimeError as exc:
                notes.append(str(exc).splitlines()[0] + "; null floor left out")
                print(exc, file=sys.stderr)
        null_env = None
        if null_path:
            null_env = dict(base, PYTHONPATH=os.pathsep.join(
                [null_path] + ([base["PYTHONPATH"]] if base.get("PYTHONPATH") else [])))

        # groups: one table row per (group, workload); each lists its worker labels
        default = "monitoring" if sys.version_info >= (3, 12) else "legacy"
        groups = [{"backend": default, "bare": "bare", "lw": "lw", "lp": "lp",
                   "null": "null" if null_env else None}]
        specs = [("bare", "bare", base), ("lw", "linewise", base), ("lp", "line_profiler", base)]
        if null_env:
            specs.append(("null", "null", null_env))
        if sys.version_info >= (3, 12) and not args.no_legacy:
            groups.append({"backend": "legacy", "bare": "bare", "lw": "lw-legacy",
                           "lp": "lp-legacy", "null": "null-legacy" if null_env else None})
            specs.append(("lw-legacy", "linewise", dict(base, LINEWISE_BACKEND="legacy")))
            specs.append(("lp-legacy", "line_profiler", dict(base, LINE_PROFILER_CORE="legacy")))
            if null_env:
                specs.append(("null-legacy", "null", dict(null_env, LINEWISE_BACKEND="legacy")))

        print("[%s] starting %d workers ..." % (PYVER, len(specs)), file=sys.stderr)
        for label, kind, env in specs:
            workers[label] = Worker(label, kind, env, names)
        for label, w in workers.items():
            for note in w.info.get("notes", []):
                notes.append("%s: %s" % (label, note))

        skipped = workers["bare"].info["skipped"]
        active = [n for n in names if n not in skipped]
        times = {label: {n: [] for n in active} for label in workers}
        labels = list(workers)
        started = time.perf_counter()
        for rep in range(args.reps):
            print("[%s] repetition %d/%d" % (PYVER, rep + 1, args.reps), file=sys.stderr)
            for i, name in enumerate(active):
                shift = (rep + i) % len(labels)
                for label in labels[shift:] + labels[:shift]:
                    times[label][name].append(workers[label].time(name))
        elapsed = time.perf_counter() - started
    finally:
        for w in workers.values():
            w.close()
        shutil.rmtree(tmp, ignore_errors=True)

    rows = []
    for group in groups:
        lw_info = workers[group["lw"]].info
        lp_info = workers[group["lp"]].info
        if lw_info.get("backend") != group["backend"]:
            notes.append("linewise ran with backend %s, not %s"
                         % (lw_info.get("backend"), group["backend"]))
        for name, desc, _ in WORKLOADS:
            if name not in names:
                continue
            row = {"python": PYVER, "backend": group["backend"], "workload": name,
                   "description": desc, "lp_backend": lp_info.get("backend")}
            if name in skipped:
                row["skipped"] = skipped[name]
                rows.append(row)
                continue
            bare = _median(times[group["bare"]][name])
            events = lw_info["events"][name]
            row.update(bare_s=bare, bare_spread=_spread(times[group["bare"]][name]),
                       events=events, reps=args.reps)
            for key in ("lw", "lp", "null"):
                label = group[key]
                if label is None:
                    continue
                t = _median(times[label][name])
                row[key + "_s"] = t
                row[key + "_overhead"] = (t - bare) / bare
                if key != "lp" and events:
                    row[key + "_ns_per_event"] = (t - bare) / events * 1e9
            rows.append(row)
    for row in rows:  # decorated rows: their overhead against the same code's `with` row
        base = DECORATED_BASELINE.get(row["workload"])
        match = [r for r in rows if r["workload"] == base and r["backend"] == row["backend"]]
        if base and match and "skipped" not in row:
            row["dec_vs_enable"] = _ratio(row.get("lw_overhead"), match[0].get("lw_overhead"))
            row["dec_vs_enable_lp"] = _ratio(row.get("lp_overhead"),
                                             match[0].get("lp_overhead"))
    return {"python": sys.version.split()[0], "pyver": PYVER, "rows": rows, "notes": notes,
            "reps": args.reps, "seconds": elapsed,
            "workers": {label: w.info for label, w in workers.items()}}


# --- tables ----------------------------------------------------------------------------------

def _pct(x):
    if x is None or x != x:
        return "-"
    return "%+.0f%%" % (x * 100) if abs(x) >= 0.1 else "%+.1f%%" % (x * 100)


def _ratio(num, den):
    if num is None or den is None or den <= 0:
        return None
    return num / den


def _fmt(x, spec):
    return "-" if x is None or x != x else format(x, spec)


def _noise(row):
    """The smallest overhead this row can tell from zero: twice the bare runs' spread, and
    at least 2%."""
    spread = row.get("bare_spread")
    return max(0.02, 2 * spread if spread == spread and spread is not None else 0)


def floor_measurable(row):
    """Whether the null hook's overhead stands out of the noise (else per-event ratios
    against it mean nothing)."""
    return row.get("null_overhead") is not None and row["null_overhead"] > _noise(row)


def lw_floor_ratio(row):
    if not floor_measurable(row):
        return None
    return _ratio(row.get("lw_ns_per_event"), row.get("null_ns_per_event"))


def verdict(row):
    """'ok', or which targets the row misses (and which figures are lost in the noise)."""
    misses = []
    lw_lp = _ratio(row.get("lw_overhead"), row.get("lp_overhead"))
    if lw_lp is not None and lw_lp > TARGET_LW_LP:
        misses.append("MISS lw/lp>1/3")
    lw_floor = lw_floor_ratio(row)
    if lw_floor is not None and lw_floor > TARGET_LW_FLOOR:
        misses.append("MISS ev>1.5x floor")
    if row.get("null_overhead") is not None and not floor_measurable(row):
        misses.append("floor within noise")
    dec = row.get("dec_vs_enable")
    if dec is not None:
        base = DECORATED_BASELINE[row["workload"]]
        misses.append("%sdecorated %.2fx %s's overhead (lp %.2fx)"
                      % ("MISS " if dec > TARGET_DECORATED else "", dec, base,
                         row.get("dec_vs_enable_lp") or float("nan")))
    return ", ".join(misses) or "ok"


COLUMNS = ["Python", "backend", "workload", "bare ms", "linewise", "line_profiler",
           "null floor", "lw/lp", "floor/lp", "lw ns/ev", "floor ns/ev", "lw/floor", "events",
           "verdict"]


def table_cells(row):
    if "skipped" in row:
        return [row["python"], row["backend"], row["workload"], "skipped: " + row["skipped"]] + \
            [""] * (len(COLUMNS) - 4)
    lw_lp = _ratio(row.get("lw_overhead"), row.get("lp_overhead"))
    floor_lp = _ratio(row.get("null_overhead"), row.get("lp_overhead"))
    lw_floor = lw_floor_ratio(row)
    bare = "%.2f" % (row["bare_s"] * 1e3)
    if row.get("bare_spread") == row.get("bare_spread"):  # not NaN
        bare += " ±%.0f%%" % (row["bare_spread"] * 100)
    lp_cell = _pct(row.get("lp_overhead"))
    if row["backend"] == "legacy" and row.get("lp_backend") == "legacy" and \
            tuple(int(x) for x in row["python"].split(".")) >= (3, 12):
        lp_cell += " (legacy core)"
    return [row["python"], row["backend"], row["workload"], bare,
            _pct(row.get("lw_overhead")), lp_cell, _pct(row.get("null_overhead")),
            _fmt(lw_lp, ".2f"), _fmt(floor_lp, ".2f"), _fmt(row.get("lw_ns_per_event"), ".1f"),
            _fmt(row.get("null_ns_per_event"), ".1f"), _fmt(lw_floor, ".2f"),
            str(row["events"]), verdict(row)]


def plain_table(rows):
    cells = [COLUMNS] + [table_cells(r) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]
    out = []
    for n, line in enumerate(cells):
        out.append("  ".join(c.ljust(w) if i < 3 or i == len(COLUMNS) - 1 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(line, widths))).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def markdown_table(rows):
    out = ["| " + " | ".join(COLUMNS) + " |",
           "|" + "|".join("---" if i < 3 or i == len(COLUMNS) - 1 else "---:"
                          for i in range(len(COLUMNS))) + "|"]
    for r in rows:
        out.append("| " + " | ".join(table_cells(r)) + " |")
    return "\n".join(out)


LEGEND = (
    "overhead = (profiled - bare) / bare, medians of {reps} interleaved runs; "
    "lw/lp = linewise overhead / line_profiler overhead (target <= 0.33); "
    "floor/lp = null-hook overhead / line_profiler overhead (the best lw/lp any engine "
    "could reach); "
    "ns/ev = (profiled - bare) / line events (total hits); "
    "lw/floor = linewise ns/ev / null-hook ns/ev (target <= 1.5; '-' when the floor's "
    "overhead is within the noise); "
    "± = half the interquartile range of the bare runs; "
    "a decorated row's verdict gives its overhead / the overhead of the same code run "
    "under `with` (target <= 1.25)."
)


def print_result(result):
    print()
    print("linewise overhead, Python %s (%d repetitions, %.0f s)"
          % (result["python"], result["reps"], result["seconds"]))
    print()
    print(plain_table(result["rows"]))
    print()
    print(LEGEND.format(reps=result["reps"]))
    for label, info in result["workers"].items():
        if info["kind"] != "bare":
            print("  %-12s %s" % (label, ", ".join(
                "%s=%s" % (k, info[k]) for k in ("backend", "timer", "line_profiler", "linewise")
                if k in info)))
    for note in result["notes"]:
        print("note:", note)
    print()
    print("Markdown:")
    print()
    print(markdown_table(result["rows"]))
    sys.stdout.flush()


def report(paths):
    results = []
    for path in paths:
        with open(path) as f:
            results.append(json.load(f))
    results.sort(key=lambda r: tuple(int(x) for x in r["pyver"].split(".")))
    rows = [row for r in results for row in r["rows"]]
    if not rows:
        print("no benchmark results in %s" % " ".join(paths))
        return 1
    print()
    print("## linewise overhead, all Pythons")
    print()
    print(markdown_table(rows))
    print()
    print(LEGEND.format(reps=", ".join(sorted({str(r["reps"]) for r in results}))))
    for r in results:
        for note in r["notes"]:
            print("- Python %s: %s" % (r["pyver"], note))
    misses = [row for row in rows if "skipped" not in row and "MISS" in verdict(row)]
    print()
    print("%d of %d rows miss a target." % (len(misses), sum("skipped" not in r for r in rows)))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=9, help="repetitions per variant (9)")
    parser.add_argument("--only", type=lambda s: [x for x in s.split(",") if x],
                        help="comma-separated workloads: " + ",".join(n for n, _, _ in WORKLOADS))
    parser.add_argument("--json", metavar="DIR", help="also write DIR/overhead-X.Y.json")
    parser.add_argument("--no-null", action="store_true", help="skip the null-hook floor")
    parser.add_argument("--no-legacy", action="store_true",
                        help="on 3.12+, skip the LINEWISE_BACKEND=legacy rows")
    parser.add_argument("--report", nargs="+", metavar="JSON",
                        help="print one markdown table from saved results and exit")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.only:
        unknown = set(args.only) - {n for n, _, _ in WORKLOADS}
        if unknown:
            parser.error("unknown workload(s): " + ", ".join(sorted(unknown)))
    if args.report:
        return report(args.report)
    if args.worker:
        worker(args.worker, args.only or [n for n, _, _ in WORKLOADS])
        return 0
    result = measure(args)
    print_result(result)
    if args.json:
        os.makedirs(args.json, exist_ok=True)
        with open(os.path.join(args.json, "overhead-%s.json" % PYVER), "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
