"""Writes the fuzzer's seed corpus, fuzz/seeds/*.lw: small valid results files covering
every part of the format (meta, runs, declared columns of every type and merge, sources
present, absent and empty, negative times, big counts, non-ASCII text, a real profile).

fuzz/seeds/v1-*.lw are version 1 files, written by the version 1 writer before the format
moved to version 2; they are kept (never rewritten here) so that the v1 reader stays fuzzed.

    .venvs/3.13/bin/python fuzz/make_seeds.py            # rewrites fuzz/seeds/

The files are written by linewise's own C writer, so they are valid by construction; the
test suite (tests/engine/test_fuzz_regressions.py) checks that each one still reads back.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

from linewise import LineProfiler, _engine  # noqa: E402


def fn(filename, first, name, lines, source=None):
    return {"filename": filename, "first_lineno": first, "name": name, "lines": lines,
            "source": source}


FIXED = [("lineno", "u32", "key"), ("hits", "u64", "sum"), ("time", "i64", "sum")]
MEMORY = FIXED + [("alloc", "u64", "sum"), ("net", "i64", "sum"), ("peak", "u64", "max")]


def payload(functions, meta=None, unit=1e-9, runs=(), columns=FIXED):
    return {"unit": unit, "meta": meta or {}, "runs": list(runs), "columns": list(columns),
            "functions": functions}


RUN = {"pid": "4242", "host": "build-1", "python": "3.13.0", "implementation": "cpython",
       "command": "linewise run prog.py", "started": "2026-01-02T03:04:05+0000",
       "linewise": "0.2.0"}


def real_profile():
    from programs import basic

    lp = LineProfiler(basic.loop_sum, basic.catches, basic.with_block)
    with lp:
        basic.loop_sum(5)
        basic.catches(3)
        basic.with_block()
    funcs = []
    stats = lp.get_stats()
    for (filename, first, name), lines in stats.timings.items():
        # Keep the seed independent of where the tests live.
        funcs.append(fn("tests/programs/basic.py", first, name, lines,
                        ["def %s():\n" % name.split(".")[-1], "    pass\n"]))
    return payload(funcs, {"python": "3.x", "argv": "seed"})


SEEDS = {
    "empty": payload([]),
    "meta-only": payload([], {"linewise": "0.1.0", "python": "3.13.0", "k": ""}),
    "unit-ms": payload([], unit=1e-3),
    "one-function": payload([fn("a.py", 1, "f", [(2, 3, -4)], ["def f():\n"])], {"k": "v"}),
    "no-source": payload([fn("a.py", 10, "C.m", [(11, 1, 5), (12, 2, 7), (13, 0, 0)])]),
    "empty-source": payload([fn("a.py", 1, "f", [], [])]),
    "empty-strings": payload([fn("", 0, "", [(0, 0, 0)], [""])], {"": ""}),
    "unsorted-lines": payload([fn("b.py", 5, "g", [(9, 1, 1), (6, 2, 2), (7, 3, 3)])]),
    "extremes": payload([fn("x.py", 2**31 - 1, "big",
                            [(2**31 - 1, 2**63 - 1, -2**63), (0, 0, 2**63 - 1)])],
                        unit=5e-324),
    "unicode": payload([fn("dír/ñame/日本.py", 3, "Klasse.méthode\u00e9",
                           [(4, 1, 1)], ["\U0001F600 = 1\n", "x = '\u00ff\u0100'\n", "\0\n"])],
                       {"clé": "välue \U0010FFFF"}),
    "two-functions": payload([
        fn("m.py", 1, "f", [(2, 10, 100), (3, 10, 50)], ["def f():\n", "    a\n", "    b\n"]),
        fn("m.py", 1, "f", [(2, 1, 1)], None),
    ]),
    "many-lines": payload([fn("c.py", 1, "h", [(i, i, -i) for i in range(1, 60)])]),
    "real-profile": real_profile(),
    "runs": payload([fn("a.py", 1, "f", [(2, 1, 1)])], runs=[RUN, dict(RUN, pid="4243"), {}]),
    "memory-columns": payload([fn("m.py", 1, "f", [(2, 3, 40, 4096, -512, 8192),
                                                   (3, 1, 5, 0, 0, 0)], ["def f():\n"])],
                              runs=[RUN], columns=MEMORY),
    "every-type": payload([fn("t.py", 1, "g", [(1, 1, 1, 2**32 - 1, -2**31, 2**63 - 1, -2**63),
                                               (2, 0, 0, 0, 2**31 - 1, 0, 2**63 - 1)])],
                          columns=FIXED + [("a", "u32", "sum"), ("b", "i32", "max"),
                                           ("c", "u64", "max"), ("d\u00e9", "i64", "sum")]),
    "max-columns": payload([fn("w.py", 1, "h", [(1, 1, 1) + tuple(range(61))])],
                           columns=FIXED + [("c%d" % i, "u32", "sum") for i in range(61)]),
    "columns-no-lines": payload([fn("e.py", 1, "e", [])], columns=MEMORY),
}

# Hostile files (see tests/reports/test_hostile.py, which runs `linewise view/merge/diff` on every
# seed): valid by the format, made to hurt whoever views them. Each is named hostile-*.
TWO63 = 2**63 - 1
HOSTILE = {
    # Source named but not stored: a viewer must not read these.
    "dev-zero": payload([fn("/dev/zero", 1, "endless", [(2, 1, 10)])]),
    "proc-environ": payload([fn("/proc/self/environ", 1, "environ", [(1, 1, 10)])]),
    "etc-passwd": payload([fn("../../../../../../../../etc/passwd", 1, "passwd",
                              [(1, 1, 10), (2, 1, 10)])]),
    # Line numbers far apart: a table must not have a row per number in between.
    "huge-lineno": payload([fn("gone.py", 1, "far", [(2**31 - 1, 1, 10)])]),
    "sparse-lines": payload([fn("gone.py", 1, "spread",
                                [(1 + i * 20_000_000, 1, i) for i in range(100)])]),
    "huge-lineno-source": payload([fn("gone.py", 2**31 - 2, "edge",
                                      [(2**31 - 1, 1, 10), (1, 1, 1)],
                                      ["def edge():\n", "    pass\n"])]),
    # Terminal control sequences in names, file names and source.
    "control-chars": payload([fn("evil\x1b[2J.py\nFunction: forged at line 1", 1,
                                 "name\x1b]0;pwned\x07\r\x9b31m",
                                 [(2, 1, 10), (3, 1, 20)],
                                 ["def f():\n", "    x = '\x1b[2J\x1b]0;t\x07'\n",
                                  "    y = 1\rFORGED\x7f\x85\n"])],
                             {"command": "run \x1b[2J", "merged": "x\x1b"}),
    # Sums that overflow 64 bits when merged with itself; times beyond a float in seconds.
    "max-hits": payload([fn("m.py", 1, "busy", [(2, TWO63, TWO63), (3, 1, -TWO63)])]),
    "unit-1e300": payload([fn("m.py", 1, "slow", [(2, 1, TWO63)])], unit=1e300),
    # A time larger than its function's total (the others are negative).
    "share-beyond-total": payload([fn("m.py", 1, "odd", [(2, 1, TWO63), (3, 1, 1 - TWO63)],
                                      ["def odd():\n", "    a\n", "    b\n"])]),
    # Timed lines before the function's first line.
    "below-first-line": payload([fn("m.py", 10, "late", [(5, 3, 30), (11, 1, 10)],
                                    ["def late():\n", "    return 1\n"])]),
}
SEEDS.update({"hostile-" + name: data for name, data in HOSTILE.items()})


def main():
    out = os.path.join(HERE, "seeds")
    os.makedirs(out, exist_ok=True)
    for old in os.listdir(out):
        if old.endswith(".lw") and not old.startswith("v1-"):
            os.remove(os.path.join(out, old))
    for name, data in SEEDS.items():
        path = os.path.join(out, name + ".lw")
        _engine.write_results(path, data)
        assert _engine.read_results(path) is not None
    print(f"wrote {len(SEEDS)} seeds to {out}")


if __name__ == "__main__":
    main()
