"""Big profiles (issue 16): reports of a 10^4-function results file, and -p of a big package.

    .venvs/3.13/bin/python benchmarks/big_profiles.py [FUNCTIONS] [--keep DIR]

Generates a package of FUNCTIONS functions (default 10^4: 100 modules of 100), each a
small loop, and a program that imports every module and calls every function once; runs
it under `linewise run -p bigpkg` to make the results file (all functions ran). Then, each
the best of 3 wall-clock runs of the command as a user types it:

- `linewise view FILE` (text, to a file)          target <= 3 s
- `linewise view --html OUT FILE`                 target <= 5 s; the page's size
- headless Chromium opening the page, against the same browser opening an empty page (its
  own start-up), when Chromium is installed, two ways: --dump-dom (the page's script done,
  then the whole DOM written back out, which a reader never waits for: about 1 s of a
  5 MB page) and --screenshot (loaded, laid out, first screen painted)
                                                   target <= 3 s
- start-up of `-p bigpkg`: the program that only imports every module, with and without
  `linewise run -p bigpkg` (and plain `linewise run`): the registration cost, per 10^4
  functions                                        target <= 1 s
- laziness: a program that imports one module of the package, with -p bigpkg and
  without: only the imported module's functions are registered.

With --sympy (needs sympy installed: `pip install sympy`), the same report timings for a
real package instead: `linewise run -p sympy` on a script that integrates, expands a
series, factors and simplifies; the page must be <= 5 MB and open in <= 3 s.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

MODULE_SIZE = 100


def make_package(root, functions):
    """bigpkg/ with functions // MODULE_SIZE modules; returns the module names."""
    pkg = os.path.join(root, "bigpkg")
    os.makedirs(pkg)
    with open(os.path.join(pkg, "__init__.py"), "w") as f:
        f.write('"""A generated package (benchmarks/big_profiles.py)."""\n')
    names = []
    for m in range(max(1, functions // MODULE_SIZE)):
        name = f"mod{m:03d}"
        names.append(name)
        with open(os.path.join(pkg, name + ".py"), "w") as f:
            for k in range(MODULE_SIZE):
                f.write(f"def f{k}(n):\n    total = 0\n    for i in range(n):\n"
                        f"        total += i * {k}\n    return total\n\n\n")
    return names


def write_programs(root, names):
    with open(os.path.join(root, "call_all.py"), "w") as f:
        f.write("import importlib\n")
        f.write(f"for name in {names!r}:\n")
        f.write("    mod = importlib.import_module('bigpkg.' + name)\n")
        f.write(f"    for k in range({MODULE_SIZE}):\n")
        f.write("        getattr(mod, f'f{k}')(3)\n")
    with open(os.path.join(root, "import_all.py"), "w") as f:
        f.write("import importlib\n")
        f.write(f"for name in {names!r}:\n")
        f.write("    importlib.import_module('bigpkg.' + name)\n")
    with open(os.path.join(root, "import_one.py"), "w") as f:
        f.write(f"import bigpkg.{names[0]}\nbigpkg.{names[0]}.f1(3)\n")


class Took(float):
    """Best wall-clock seconds of a command; .cpu: the CPU seconds (user + system, its
    processes all) of that run: on a loaded machine, wall time waits for the CPU."""

    def __new__(cls, wall, cpu):
        self = super().__new__(cls, wall)
        self.cpu = cpu
        return self

    def __format__(self, spec):
        return f"{float(self):{spec}} s (CPU {self.cpu:.2f} s)"


def best_of(cmd, cwd, runs=3, stdout=subprocess.DEVNULL):
    """The best wall-clock time of `cmd` as a Took (it must succeed)."""
    best = None
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, check=True, stdout=stdout, stderr=subprocess.DEVNULL,
                       timeout=600)
        took = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if best is None or took < best:
            best = Took(took, cpu)
    return best


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def open_in_chromium(browser, page, root, how="--dump-dom"):
    """Seconds to open `page` headless: with --dump-dom until the DOM is written out (its
    script has run), with --screenshot until the first screen is laid out and painted."""
    profile = os.path.join(root, "chromium-profile")
    if how == "--screenshot":
        how = "--screenshot=" + os.path.join(root, "shot.png")
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-dev-shm-usage", f"--user-data-dir={profile}", how,
           "file://" + os.path.abspath(page)]
    return best_of(cmd, root)


def registered(results, python):
    """How many functions a results file holds, and how many of them ran a line."""
    code = ("import sys; from linewise.store import load_stats; "
            "t = load_stats(sys.argv[1]).timings; "
            "print(len(t), sum(1 for rows in t.values() if any(h for _, h, _ in rows)))")
    out = subprocess.run([python, "-c", code, results], check=True, capture_output=True,
                         text=True)
    held, ran = out.stdout.split()
    return int(held), int(ran)


SYMPY_WORK = """\
from sympy import symbols, sin, cos, exp, integrate, series, factor, simplify, expand
x, y = symbols("x y")
print(integrate(x**2 * sin(x) * exp(x), x))
print(series(cos(x) / (1 + x), x, 0, 8))
print(factor(expand((x + y) ** 6 - (x - y) ** 6)))
print(simplify(sin(x) ** 2 + cos(x) ** 2))
"""


def report_timings(lw, results, root, browser):
    """Time the text view, the HTML report and Chromium opening the page."""
    text_out = os.path.join(root, "view.txt")
    with open(text_out, "w") as out:
        text = best_of(lw + ["view", results], root, stdout=out)
    lines = sum(1 for _ in open(text_out, encoding="utf-8"))
    print(f"  view (text):       {text:5.2f}  ({lines} lines)   target <= 3 s")
    page = os.path.join(root, "big.html")
    page_s = best_of(lw + ["view", "--html", page, results], root)
    size = os.path.getsize(page) / 1e6
    print(f"  view --html:       {page_s:5.2f}  (page {size:.2f} MB)   target <= 5 s")
    if browser:
        empty = os.path.join(root, "empty.html")
        with open(empty, "w") as f:
            f.write("<!DOCTYPE html><title>empty</title>")
        for how in ("--dump-dom", "--screenshot"):
            base = open_in_chromium(browser, empty, root, how)
            opened = open_in_chromium(browser, page, root, how)
            print(f"  Chromium {how[2:]:10} {opened:5.2f}; an empty page: {base:.2f}"
                  "   target <= 3 s")
    else:
        print("  Chromium opens it: not measured (no chromium; apt-get install chromium)")


def sympy_run(lw, py, root, env_note):
    with open(os.path.join(root, "work.py"), "w") as f:
        f.write(SYMPY_WORK)
    results = os.path.join(root, "sympy.lw")
    subprocess.run(lw + ["run", "-q", "-p", "sympy", "-o", results, "work.py"], cwd=root,
                   check=True, stdout=subprocess.DEVNULL)
    print(f"sympy: linewise run -p sympy work.py ({env_note})")
    held, ran = registered(results, py)
    print(f"  results file: {held} functions, {ran} ran, "
          f"{os.path.getsize(results) / 1e6:.2f} MB")
    report_timings(lw, results, root, chromium())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("functions", nargs="?", type=int, default=10_000)
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and leave it there")
    parser.add_argument("--sympy", action="store_true",
                        help="profile a real package (sympy) instead of a generated one")
    args = parser.parse_args()
    root = args.keep or tempfile.mkdtemp(prefix="linewise-big-")
    os.makedirs(root, exist_ok=True)
    py = sys.executable
    lw = [py, "-m", "linewise"]
    env_note = (f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
                f"{os.getloadavg()[0]:.1f}")
    try:
        if args.sympy:
            sympy_run(lw, py, root, env_note)
        else:
            generated_run(lw, py, root, env_note, args.functions)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def generated_run(lw, py, root, env_note, functions):
    names = make_package(root, functions)
    write_programs(root, names)
    n = len(names) * MODULE_SIZE
    print(f"big profiles: {n} functions in {len(names)} modules ({env_note})")

    results = os.path.join(root, "big.lw")
    subprocess.run(lw + ["run", "-q", "-p", "bigpkg", "-o", results, "call_all.py"],
                   cwd=root, check=True)
    held, _ = registered(results, py)
    print(f"  results file: {held} functions, {os.path.getsize(results) / 1e6:.2f} MB")

    report_timings(lw, results, root, chromium())

    plain = best_of([py, "import_all.py"], root)
    run_only = best_of(lw + ["run", "-q", "-o", "-", "import_all.py"], root)
    with_p = best_of(lw + ["run", "-q", "-p", "bigpkg", "-o", "-", "import_all.py"], root)
    per = (with_p - run_only) * 10_000 / n
    per_cpu = (with_p.cpu - run_only.cpu) * 10_000 / n
    print(f"  -p bigpkg start-up, import_all.py: plain {plain:.2f}; linewise run {run_only:.2f}; "
          f"linewise run -p bigpkg {with_p:.2f}")
    print(f"    -p registration: {per:.2f} s (CPU {per_cpu:.2f} s) per 10^4 functions"
          "   target <= 1 s")
    one = os.path.join(root, "one.lw")
    one_p = best_of(lw + ["run", "-q", "-p", "bigpkg", "-o", one, "import_one.py"], root)
    one_plain = best_of(lw + ["run", "-q", "-o", "-", "import_one.py"], root)
    print(f"  lazy: import_one.py with -p bigpkg registers {registered(one, py)[0]} functions "
          f"(of {n}): {one_p:.2f}; without -p {one_plain:.2f}")


if __name__ == "__main__":
    main()
