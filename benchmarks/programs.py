#!/usr/bin/env python3
"""Real programs: pyperformance's pure-Python benchmarks with every function profiled.

In the spirit of Table 3 of the Scalene paper: for each program, the time of one run
bare, under line_profiler (``kernprof -l -p PROGRAM``: every function of the program),
under linewise (``linewise run -p PROGRAM``) and under a null-hook build of linewise (the
same command with an engine whose hooks only read the timer: the floor of event delivery;
built as benchmarks/overhead.py builds it), and the line hits of linewise and
line_profiler compared.

The programs are pyperformance's own sources (``pip download pyperformance==VERSION``,
unpacked into build/programs/ on first use; nothing of theirs is in this repository). A
small stand-in for ``pyperf`` (written next to them) runs each program's benchmark
function once to warm up and then LOOPS times, timed with perf_counter inside the
process, so interpreter start-up, imports and writing results are left out of every
variant alike. LOOPS is chosen per program so that a bare run takes about
--target seconds.

Every run is its own process. The order of the variants rotates on every repetition and
program, so drifts of the machine spread over all of them; each figure is the median of
the repetitions. slowdown = profiled / bare; overhead = slowdown - 1; lw/lp = linewise's
overhead / line_profiler's; lw/floor = linewise's overhead / the null hook's.

Usage:
    python benchmarks/programs.py [--reps 5] [--only nbody,go] [--target 0.25] [--json DIR]
    python benchmarks/programs.py --report DIR/programs-*.json   # one markdown table
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PYVER = "%d.%d" % sys.version_info[:2]
BUILD = os.path.join(ROOT, "build", "programs")
PYPERFORMANCE = "1.14.0"

# name: extra command-line arguments (smaller problems where one run of the default is
# long, so that line_profiler's runs stay within a few seconds).
PROGRAMS = {
    "nbody": ["--iterations", "5000"],
    "richards": [],
    "chaos": ["--iterations", "2500"],
    "go": [],
    "hexiom": ["--level", "10"],
    "deltablue": [],
    "raytrace": ["--width", "40", "--height", "40"],
    "fannkuch": [],
    "nqueens": [],
    "spectral_norm": [],
}

# The targets of issue 15, printed under the table.
TARGET_LW_LP = 1 / 8        # 3.12+: linewise overhead / line_profiler overhead (median)
TARGET_SLOWDOWN = 2.0       # 3.12+: linewise median slowdown
TARGET_LW_LP_LEGACY = 1 / 3  # 3.11: ... or within 1.2x of the floor
TARGET_LW_FLOOR_LEGACY = 1.2

STUB = '''"""A stand-in for pyperf (benchmarks/programs.py): warm up once, then time LOOPS runs."""
import argparse, json, os, sys, time

perf_counter = time.perf_counter


class Runner:
    def __init__(self, *args, add_cmdline_args=None, **kwargs):
        self.metadata = {}
        self.argparser = argparse.ArgumentParser()

    def parse_args(self, args=None):
        return self.argparser.parse_known_args(sys.argv[1:] if args is None else args)[0]

    def bench_func(self, name, func, *args, inner_loops=None):
        def timed(loops):
            t0 = perf_counter()
            for _ in range(loops):
                func(*args)
            return perf_counter() - t0
        self._run(timed)

    def bench_time_func(self, name, func, *args, inner_loops=None):
        self._run(lambda loops: func(loops, *args))

    def _run(self, timed):
        loops = int(os.environ.get("LW_PROGRAM_LOOPS", "1"))
        warm = timed(1)
        seconds = timed(loops)
        engine = sys.modules.get("linewise._engine")
        with open(os.environ["LW_PROGRAM_OUT"], "w") as f:
            json.dump({"seconds": seconds, "warmup": warm, "loops": loops,
                       "null_hook": getattr(engine, "null_hook", None),
                       "backend": getattr(engine, "backend", None),
                       "line_profiler": "line_profiler" in sys.modules}, f)
'''


# --- the programs --------------------------------------------------------------------------

def fetch_programs(names):
    """Unpacks pyperformance's sources of `names` into build/programs/src (downloading the
    wheel with pip once); returns {name: path of its run_benchmark.py}."""
    src = os.path.join(BUILD, "src")
    paths = {n: os.path.join(src, "bm_" + n, "run_benchmark.py") for n in names}
    if all(os.path.exists(p) for p in paths.values()):
        return paths
    dl = os.path.join(BUILD, "download")
    wheel = os.path.join(dl, "pyperformance-%s-py3-none-any.whl" % PYPERFORMANCE)
    if not os.path.exists(wheel):
        print("[%s] downloading pyperformance %s ..." % (PYVER, PYPERFORMANCE), file=sys.stderr)
        done = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                               "--only-binary", ":all:", "-d", dl,
                               "pyperformance==" + PYPERFORMANCE],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if done.returncode != 0 or not os.path.exists(wheel):
            raise RuntimeError("could not download pyperformance:\n" + done.stdout[-2000:])
    with zipfile.ZipFile(wheel) as z:
        for name, path in paths.items():
            member = "pyperformance/data-files/benchmarks/bm_%s/run_benchmark.py" % name
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with z.open(member) as f, open(path + ".tmp", "wb") as out:
                shutil.copyfileobj(f, out)
            os.replace(path + ".tmp", path)
    return paths


def write_stub():
    stub = os.path.join(BUILD, "stub")
    os.makedirs(stub, exist_ok=True)
    with open(os.path.join(stub, "pyperf.py"), "w") as f:
        f.write(STUB)
    return stub


# --- one run ---------------------------------------------------------------------------------

class Variants:
    """The command and environment of each variant, and running one of them."""

    def __init__(self, stub, null_lib, work):
        self.work = work
        base = {k: v for k, v in os.environ.items()
                if k not in ("LINEWISE_BACKEND", "LINE_PROFILER_CORE", "PYTHONPATH")}
        base.update(PYTHONHASHSEED="0")
        self.env = {"bare": dict(base, PYTHONPATH=stub), "lw": dict(base, PYTHONPATH=stub),
                    "lp": dict(base, PYTHONPATH=stub)}
        if null_lib:
            self.env["null"] = dict(base, PYTHONPATH=os.pathsep.join([null_lib, stub]))
        self.labels = list(self.env)

    def command(self, label, script, out):
        py = sys.executable
        if label == "bare":
            return [py, script]
        if label == "lp":
            return [py, "-m", "kernprof", "-l", "-q", "-p", script, "-o", out, script]
        return [py, "-m", "linewise", "run", "-q", "--no-view", "-p", script, "-o", out,
                script]

    def run(self, label, name, script, args, loops, keep=False):
        """Runs the program once; returns the stand-in's record (+ "results": the results
        file, if keep)."""
        ext = ".lprof" if label == "lp" else ".lw"
        out = os.path.join(self.work, "%s-%s%s" % (name, label, ext))
        record = os.path.join(self.work, "%s-%s.json" % (name, label))
        env = dict(self.env[label], LW_PROGRAM_LOOPS=str(loops), LW_PROGRAM_OUT=record)
        cmd = self.command(label, script, out) + args
        done = subprocess.run(cmd, cwd=os.path.dirname(script), env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=900)
        if done.returncode != 0 or not os.path.exists(record):
            raise RuntimeError("%s under %s failed (exit %d): %s\n%s"
                               % (name, label, done.returncode, " ".join(cmd),
                                  done.stderr[-3000:]))
        with open(record) as f:
            result = json.load(f)
        os.unlink(record)
        if label == "null" and result["null_hook"] != 1:
            raise RuntimeError("the null-hook run imported an engine with null_hook=%s"
                               % result["null_hook"])
        if label == "lw" and result["null_hook"] != 0:
            raise RuntimeError("the linewise run imported a null-hook engine")
        if keep and label in ("lw", "lp"):
            result["results"] = out
        elif label != "bare" and os.path.exists(out):
            os.unlink(out)
        return result


def line_hits(path):
    """{(file name, line): hits} of a results file (.lw or .lprof)."""
    from linewise import load_stats

    hits = {}
    for (filename, _, _), lines in load_stats(path).timings.items():
        for line, h, _ in lines:
            key = (os.path.basename(filename), line)
            hits[key] = hits.get(key, 0) + h
    return hits


def compare_hits(lw_path, lp_path):
    lw, lp = line_hits(lw_path), line_hits(lp_path)
    both = set(lw) & set(lp)
    return {"lw_hits": sum(lw.values()), "lp_hits": sum(lp.values()),
            "lines_both": len(both), "lines_equal": sum(lw[k] == lp[k] for k in both),
            "lines_lw_only": len(set(lw) - set(lp)), "lines_lp_only": len(set(lp) - set(lw)),
            "hits_lw_only": sum(lw[k] for k in set(lw) - set(lp)),
            "hits_lp_only": sum(lp[k] for k in set(lp) - set(lw))}


# --- measuring ---------------------------------------------------------------------------------

def measure(args):
    sys.path.insert(0, HERE)
    from overhead import build_null_engine

    names = [n for n in PROGRAMS if not args.only or n in args.only]
    paths = fetch_programs(names)
    stub = write_stub()
    os.makedirs(BUILD, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="linewise-programs-", dir=BUILD)
    notes = []
    try:
        null_lib = None
        if not args.no_null:
            print("[%s] building the null-hook engine ..." % PYVER, file=sys.stderr)
            try:
                null_lib = build_null_engine(os.path.join(tmp, "null"))
            except RuntimeError as exc:
                notes.append(str(exc).splitlines()[0] + "; null floor left out")
        work = os.path.join(tmp, "runs")
        os.makedirs(work)
        variants = Variants(stub, null_lib, work)
        loops, times, hits, info = {}, {}, {}, {}
        for name in names:  # LOOPS from the fastest of three bare runs (one is too noisy)
            one = min(variants.run("bare", name, paths[name], PROGRAMS[name], 1)["seconds"]
                      for _ in range(3))
            loops[name] = max(1, min(1000, round(args.target / max(one, 1e-6))))
            times[name] = {label: [] for label in variants.labels}
        started = time.perf_counter()
        for rep in range(args.reps):
            print("[%s] repetition %d/%d" % (PYVER, rep + 1, args.reps), file=sys.stderr)
            for i, name in enumerate(names):
                labels = variants.labels
                shift = (rep + i) % len(labels)
                for label in labels[shift:] + labels[:shift]:
                    last = rep == args.reps - 1
                    result = variants.run(label, name, paths[name], PROGRAMS[name],
                                          loops[name], keep=last)
                    times[name][label].append(result["seconds"])
                    if last and label in ("lw", "lp"):
                        info.setdefault(name, {})[label] = result
        for name in names:
            hits[name] = compare_hits(info[name]["lw"]["results"], info[name]["lp"]["results"])
        elapsed = time.perf_counter() - started
        backend = info[names[0]]["lw"]["backend"] if names else None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    rows = []
    for name in names:
        bare = statistics.median(times[name]["bare"])
        row = {"python": PYVER, "program": name, "args": PROGRAMS[name], "loops": loops[name],
               "bare_s": bare, "reps": args.reps, "backend": backend}
        for label in variants.labels:
            if label != "bare":
                row[label + "_slowdown"] = statistics.median(times[name][label]) / bare
        row["times"] = times[name]
        row.update(hits[name])
        rows.append(row)
    return {"python": sys.version.split()[0], "pyver": PYVER, "rows": rows, "notes": notes,
            "reps": args.reps, "seconds": elapsed, "backend": backend,
            "line_profiler": _lp_version(), "pyperformance": PYPERFORMANCE}


def _lp_version():
    try:
        import line_profiler
        return line_profiler.__version__
    except ImportError:
        return None


# --- tables ------------------------------------------------------------------------------------

def _ratio(num, den):
    if num is None or den is None or den <= 0:
        return None
    return num / den


def _x(v):
    return "-" if v is None else "%.2fx" % v


def _f(v):
    return "-" if v is None else "%.2f" % v


def _overhead(row, label):
    s = row.get(label + "_slowdown")
    return None if s is None else s - 1


COLUMNS = ["Python", "program", "bare ms", "line_profiler", "linewise", "null floor",
           "lw/lp", "lw/floor", "hits lw", "hits lp", "lines equal"]


def cells(row):
    return [row["python"], row["program"], "%.0f" % (row["bare_s"] * 1e3),
            _x(row.get("lp_slowdown")), _x(row.get("lw_slowdown")),
            _x(row.get("null_slowdown")),
            _f(_ratio(_overhead(row, "lw"), _overhead(row, "lp"))),
            _f(_ratio(_overhead(row, "lw"), _overhead(row, "null"))),
            str(row["lw_hits"]), str(row["lp_hits"]),
            "%d/%d" % (row["lines_equal"], row["lines_both"])]


def summary(rows):
    """Per Python: the medians and the issue's targets."""
    out = []
    for pyver in sorted({r["python"] for r in rows}, key=lambda v: tuple(map(int, v.split(".")))):
        sel = [r for r in rows if r["python"] == pyver]

        def med(key):
            vals = [r[key] for r in sel if r.get(key) is not None]
            return statistics.median(vals) if vals else None

        lw, lp, null = med("lw_slowdown"), med("lp_slowdown"), med("null_slowdown")
        ratios = [_ratio(_overhead(r, "lw"), _overhead(r, "lp")) for r in sel]
        ratios = [x for x in ratios if x is not None]
        lw_lp = statistics.median(ratios) if ratios else None
        floor = [_ratio(_overhead(r, "lw"), _overhead(r, "null")) for r in sel]
        floor = [x for x in floor if x is not None]
        lw_floor = statistics.median(floor) if floor else None
        if tuple(map(int, pyver.split("."))) >= (3, 12):
            ok = (lw_lp is not None and lw_lp <= TARGET_LW_LP and lw is not None
                  and lw <= TARGET_SLOWDOWN)
            target = "lw/lp <= 1/8 and slowdown <= 2.0x"
        else:
            ok = (lw_lp is not None and lw_lp <= TARGET_LW_LP_LEGACY) or (
                lw_floor is not None and lw_floor <= TARGET_LW_FLOOR_LEGACY)
            target = "lw/lp <= 1/3 or lw/floor <= 1.2"
        out.append([pyver, "**median**", "", _x(lp), _x(lw), _x(null), _f(lw_lp), _f(lw_floor),
                    "", "", "%s: %s" % (target, "met" if ok else "MISSED")])
    return out


def markdown(rows):
    lines = ["| " + " | ".join(COLUMNS) + " |",
             "|" + "|".join("---" if i < 2 else "---:" for i in range(len(COLUMNS))) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(cells(r)) + " |")
    for s in summary(rows):
        lines.append("| " + " | ".join(s) + " |")
    return "\n".join(lines)


LEGEND = ("slowdown = profiled / bare (medians of {reps} interleaved runs, each its own "
          "process, timed inside it); lw/lp = linewise's overhead / line_profiler's (median "
          "of the programs' ratios); lw/floor = linewise's overhead / the null hook's; hits: "
          "the total line hits each tool counted in one run; lines equal: lines both "
          "profiled with the same hits / lines both profiled.")


def print_result(result):
    print()
    print("Real programs, Python %s (linewise backend %s, line_profiler %s, pyperformance "
          "%s; %d repetitions, %.0f s)" % (result["python"], result["backend"],
                                          result["line_profiler"], result["pyperformance"],
                                          result["reps"], result["seconds"]))
    print()
    print(markdown(result["rows"]))
    print()
    print(LEGEND.format(reps=result["reps"]))
    for r in result["rows"]:
        if r["lines_lw_only"] or r["lines_lp_only"]:
            print("- %s: %d lines (%d hits) only linewise profiled, %d (%d hits) only "
                  "line_profiler" % (r["program"], r["lines_lw_only"], r["hits_lw_only"],
                                     r["lines_lp_only"], r["hits_lp_only"]))
    for note in result["notes"]:
        print("note:", note)
    sys.stdout.flush()


def report(paths):
    results = []
    for path in paths:
        with open(path) as f:
            results.append(json.load(f))
    results.sort(key=lambda r: tuple(int(x) for x in r["pyver"].split(".")))
    rows = [row for r in results for row in r["rows"]]
    if not rows:
        print("no results in %s" % " ".join(paths))
        return 1
    print()
    print("## Real programs (pyperformance), every function profiled")
    print()
    print(markdown(rows))
    print()
    print(LEGEND.format(reps=", ".join(sorted({str(r["reps"]) for r in results}))))
    for r in results:
        print("- Python %s: linewise backend %s, line_profiler %s"
              % (r["python"], r["backend"], r["line_profiler"]))
        for note in r["notes"]:
            print("- Python %s: %s" % (r["pyver"], note))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5, help="repetitions per variant (5)")
    parser.add_argument("--only", type=lambda s: [x for x in s.split(",") if x],
                        help="comma-separated programs: " + ",".join(PROGRAMS))
    parser.add_argument("--target", type=float, default=0.25,
                        help="seconds a bare run should take (0.25)")
    parser.add_argument("--json", metavar="DIR", help="also write DIR/programs-X.Y.json")
    parser.add_argument("--no-null", action="store_true", help="skip the null-hook floor")
    parser.add_argument("--report", nargs="+", metavar="JSON",
                        help="print one markdown table from saved results and exit")
    args = parser.parse_args(argv)
    if args.report:
        return report(args.report)
    if args.only:
        unknown = set(args.only) - set(PROGRAMS)
        if unknown:
            parser.error("unknown program(s): " + ", ".join(sorted(unknown)))
    result = measure(args)
    print_result(result)
    if args.json:
        os.makedirs(args.json, exist_ok=True)
        with open(os.path.join(args.json, "programs-%s.json" % PYVER), "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
