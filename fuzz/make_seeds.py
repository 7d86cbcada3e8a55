"""Writes the fuzzer's seed corpus, fuzz/seeds/*.lw: small valid results files covering
every part of the format (meta, sources present, absent and empty, negative times, big
counts, non-ASCII text, a real profile).

    .venvs/3.13/bin/python fuzz/make_seeds.py            # rewrites fuzz/seeds/

The files are written by linewise's own C writer, so they are valid by construction; the
test suite (tests/test_fuzz_regressions.py) checks that each one still reads back.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

from linewise import LineProfiler, _engine  # noqa: E402


def fn(filename, first, name, lines, source=None):
    return {"filename": filename, "first_lineno": first, "name": name, "lines": lines,
            "source": source}


def payload(functions, meta=None, unit=1e-9):
    return {"unit": unit, "meta": meta or {}, "functions": functions}


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
}


def main():
    out = os.path.join(HERE, "seeds")
    os.makedirs(out, exist_ok=True)
    for old in os.listdir(out):
        if old.endswith(".lw"):
            os.remove(os.path.join(out, old))
    for name, data in SEEDS.items():
        path = os.path.join(out, name + ".lw")
        _engine.write_results(path, data)
        assert _engine.read_results(path) is not None
    print(f"wrote {len(SEEDS)} seeds to {out}")


if __name__ == "__main__":
    main()
