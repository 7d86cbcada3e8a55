"""Tests for the results file (.lw): linewise._engine.write_results / read_results and
linewise.store.dump_stats / load_stats.

The format is re-implemented here in a few lines of Python, straight from
docs/results-format.md: the writer must produce exactly those bytes, and the encoder crafts
hostile files (valid checksum, bad contents) that only a careful parser rejects. Every bad
file must raise ResultsError with a one-line message, and never crash the interpreter.
"""
import errno
import importlib
import importlib.util
import os
import pathlib
import pickle
import random
import struct
import subprocess
import sys
import textwrap
import threading
import types
import zlib

import pytest


def _import_ours():
    """(linewise.results, linewise.store, linewise._engine). If the package's __init__ does not import
    (other modules in flux), load just these two under a bare package, without running
    __init__, so these tests still test what they are about."""
    try:
        return (importlib.import_module("linewise.results"), importlib.import_module("linewise.store"),
                importlib.import_module("linewise._engine"))
    except ImportError:
        spec = importlib.util.find_spec("linewise")
        for name in [n for n in sys.modules if n == "linewise" or n.startswith("linewise.")]:
            del sys.modules[name]
        package = types.ModuleType("linewise")
        package.__path__ = list(spec.submodule_search_locations)
        package.__version__ = "0+test"
        sys.modules["linewise"] = package
        return (importlib.import_module("linewise.results"), importlib.import_module("linewise.store"),
                importlib.import_module("linewise._engine"))


results, store, _engine = _import_ours()
LineStats, ResultsError = results.LineStats, results.ResultsError
dump_stats, load_stats = store.dump_stats, store.load_stats

# --- the format, as docs/results-format.md describes it --------------------------------------

MAGIC = b"\x89LWR\r\n\x1a\n"
VERSION = 2
HEADER = struct.Struct("<8sIQI")  # magic, version, body length, CRC-32 of the body


def enc_str(text) -> bytes:
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    return struct.pack("<I", len(data)) + data


TYPES = {"u32": (1, "I"), "i32": (2, "i"), "u64": (3, "Q"), "i64": (4, "q")}
MERGES = {"key": 0, "sum": 1, "max": 2}
FIXED = [("lineno", "u32", "key"), ("hits", "u64", "sum"), ("time", "i64", "sum")]


def enc_line(lineno, hits, time, *extra, columns=FIXED) -> bytes:
    fmt = "<" + "".join(TYPES[kind][1] for _, kind, _ in columns)
    return struct.pack(fmt, lineno, hits, time, *extra)


def enc_line_v1(lineno, hits, time) -> bytes:
    return struct.pack("<Iqq", lineno, hits, time)


def enc_function(func, columns=FIXED, line=None) -> bytes:
    line = line or (lambda *ln: enc_line(*ln, columns=columns))
    out = enc_str(func["filename"]) + struct.pack("<I", func["first_lineno"]) + enc_str(func["name"])
    out += struct.pack("<I", len(func["lines"])) + b"".join(line(*ln) for ln in func["lines"])
    source = func.get("source")
    if source is None:
        return out + b"\x00"
    return out + b"\x01" + struct.pack("<I", len(source)) + b"".join(enc_str(s) for s in source)


def enc_table(table) -> bytes:
    return struct.pack("<I", len(table)) + b"".join(enc_str(k) + enc_str(v) for k, v in table.items())


def enc_columns(columns) -> bytes:
    return struct.pack("<I", len(columns)) + b"".join(
        enc_str(name) + bytes([TYPES[kind][0], MERGES[merge]]) for name, kind, merge in columns)


def enc_body(payload) -> bytes:
    """Version 2: unit, meta, runs, columns, functions."""
    columns = payload.get("columns", FIXED)
    out = struct.pack("<d", payload["unit"]) + enc_table(payload["meta"])
    runs = payload.get("runs", [])
    out += struct.pack("<I", len(runs)) + b"".join(enc_table(run) for run in runs)
    out += enc_columns(columns)
    out += struct.pack("<I", len(payload["functions"]))
    return out + b"".join(enc_function(f, columns) for f in payload["functions"])


def enc_body_v1(payload) -> bytes:
    """Version 1: unit, meta, functions, 20-byte lines."""
    out = struct.pack("<d", payload["unit"]) + enc_table(payload["meta"])
    out += struct.pack("<I", len(payload["functions"]))
    return out + b"".join(enc_function(f, line=enc_line_v1) for f in payload["functions"])


def frame(body: bytes, version=VERSION, body_len=None, crc=None) -> bytes:
    """A complete file around `body`; each header field can be overridden."""
    return HEADER.pack(MAGIC, version, len(body) if body_len is None else body_len,
                       zlib.crc32(body) if crc is None else crc) + body


def encode(payload) -> bytes:
    return frame(enc_body(payload))


def func(filename="mod.py", first_lineno=10, name="f", lines=((10, 1, 100),), source=None):
    return {"filename": filename, "first_lineno": first_lineno, "name": name,
            "lines": list(lines), "source": source}


def payload(*functions, unit=1e-9, meta=None, runs=(), columns=FIXED):
    return {"unit": unit, "meta": {"python": "3.x"} if meta is None else meta,
            "runs": list(runs), "columns": list(columns), "functions": list(functions)}


SMALL = payload(func(lines=[(10, 1, 100), (11, 3, -7)], source=["def f():\n", "    pass\n"]))

RICH = payload(
    func("sp\u00e4m/\u30e2\u30b8\u30e5\u30fc\u30eb.py", 1, "Kla\u00df.m\u00e9thode.<locals>.\U0001f40d",
         [(1, 0, 0), (2, 2**63 - 1, -2**63), (3, 12, 2**63 - 1), (2**31 - 1, 1, -1)],
         ["def \U0001f40d():\n", "    return '\u00e9'\n", "", "\x00 nul and \r\n"]),
    func("<string>", 0, "", [], None),
    func("same.py", 5, "g", [(7, 1, 1), (5, 2, 2), (6, 3, 3)], []),  # order kept as given
    unit=2.5e-7,
    meta={"": "", "caf\u00e9": "\u2603", "argv": "prog --flag 'x y'"},
)


def write_bytes(tmp_path, data: bytes, name="bad.lw") -> pathlib.Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def load_error(path) -> str:
    """load_stats(path)'s ResultsError message, checked to be a one-line "<path>: why"."""
    with pytest.raises(ResultsError) as info:
        load_stats(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{os.fsdecode(path)}: "), message
    return message


def bad_bytes_error(tmp_path, data: bytes) -> str:
    return load_error(write_bytes(tmp_path, data))


# --- round trips -------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [SMALL, RICH, payload(), payload(meta={}), payload(unit=1)],
                         ids=["small", "rich", "no-functions", "no-meta", "int-unit"])
def test_round_trip_exact(tmp_path, p):
    path = tmp_path / "out.lw"
    _engine.write_results(str(path), p)
    back = _engine.read_results(str(path))
    assert back == p
    assert type(back["unit"]) is float
    assert list(back["meta"]) == list(p["meta"])
    for got, want in zip(back["functions"], p["functions"]):
        assert list(got) == ["filename", "first_lineno", "name", "lines", "source"]
        assert type(got["lines"]) is list and all(type(ln) is tuple for ln in got["lines"])
        assert got["source"] is None if want["source"] is None else type(got["source"]) is list


def test_writer_matches_documented_bytes(tmp_path):
    path = tmp_path / "out.lw"
    for p in (SMALL, RICH, payload()):
        _engine.write_results(path, p)
        assert path.read_bytes() == encode(p)


def test_documented_example(tmp_path):
    """The annotated hex dump in docs/results-format.md is what the writer produces."""
    doc = pathlib.Path(__file__).resolve().parents[2] / "docs" / "results-format.md"
    if not doc.exists():
        pytest.skip("no docs/results-format.md")
    dump = doc.read_text(encoding="utf-8").split("(149 bytes):\n\n```\n")[1].split("```")[0]
    documented = bytes.fromhex("".join(row[6:] for row in dump.strip().splitlines()))
    path = tmp_path / "example.lw"
    _engine.write_results(path, payload(func("a.py", 1, "f", [(2, 3, -4)], ["def f():\n"]),
                                        meta={"k": "v"}))
    assert path.read_bytes() == documented


def test_header_fields(tmp_path):
    path = tmp_path / "out.lw"
    _engine.write_results(path, SMALL)
    data = path.read_bytes()
    magic, version, body_len, crc = HEADER.unpack_from(data)
    assert (magic, version, body_len) == (MAGIC, 2, len(data) - HEADER.size)
    assert crc == zlib.crc32(data[HEADER.size:])


def test_source_key_may_be_left_out(tmp_path):
    f = func()
    del f["source"]
    _engine.write_results(tmp_path / "a.lw", payload(f))
    assert _engine.read_results(tmp_path / "a.lw")["functions"][0]["source"] is None


def test_tuples_accepted_lists_returned(tmp_path):
    p = {"unit": 1e-6, "meta": {}, "runs": (), "columns": tuple(FIXED), "functions": (
        {"filename": "a", "first_lineno": 1, "name": "n", "lines": ((1, 2, 3), [2, 3, 4]),
         "source": ("x",)},)}
    _engine.write_results(tmp_path / "a.lw", p)
    f = _engine.read_results(tmp_path / "a.lw")["functions"][0]
    assert f["lines"] == [(1, 2, 3), (2, 3, 4)] and f["source"] == ["x"]


def test_path_types(tmp_path):
    for path in (tmp_path / "p.lw", str(tmp_path / "s.lw"), os.fsencode(tmp_path / "b.lw")):
        _engine.write_results(path, SMALL)
        assert _engine.read_results(path) == SMALL


def test_linestats_round_trip(tmp_path):
    key1 = ("/nowhere/\u00e9t\u00e9.py", 3, "C.m\u00e9thode")
    key2 = ("<stdin>", 1, "<module>")
    stats = LineStats(
        {key1: [(3, 1, 10), (4, 2**40, -5)], key2: []},
        unit=1e-6,
        meta={"python": "3.x", "argv": "a b"},
        sources={key1: ["def m\u00e9thode(self):\n", "    pass\n"]},
    )
    path = tmp_path / "stats.lw"
    dump_stats(stats, path)
    back = load_stats(path)
    assert back == stats
    assert back.timings == stats.timings and list(back.timings) == list(stats.timings)
    assert back.meta == stats.meta and back.unit == stats.unit
    assert back.sources == stats.sources  # key2: no source, none invented
    assert load_stats(str(path)) == stats


def test_dump_reads_missing_source_from_file(tmp_path):
    module = tmp_path / "prog.py"
    module.write_text(textwrap.dedent("""\
        import os

        @staticmethod
        def f(x):
            y = x + 1
            return y

        def g():
            pass
        """))
    key = (str(module), 3, "f")
    stats = LineStats({key: [(6, 1, 5), (5, 1, 7)], (str(tmp_path / "gone.py"), 1, "h"): [(1, 1, 1)]})
    path = tmp_path / "stats.lw"
    dump_stats(stats, path)
    module.unlink()
    back = load_stats(path)
    # From first_lineno (the decorator) through the last timed line, newlines kept.
    assert back.sources == {key: ["@staticmethod\n", "def f(x):\n", "    y = x + 1\n",
                                  "    return y\n"]}


def test_dump_prefers_given_source(tmp_path):
    module = tmp_path / "prog.py"
    module.write_text("def f():\n    pass\n")
    key = (str(module), 1, "f")
    stats = LineStats({key: [(2, 1, 1)]}, sources={key: ["stored\n"]})
    dump_stats(stats, tmp_path / "s.lw")
    assert load_stats(tmp_path / "s.lw").sources == {key: ["stored\n"]}


def test_duplicate_function_key_refused_by_load(tmp_path):
    path = tmp_path / "dup.lw"
    _engine.write_results(path, payload(func(), func()))  # a list may repeat; LineStats cannot
    assert len(_engine.read_results(path)["functions"]) == 2
    assert "appears twice" in load_error(path)


# --- writer: validation ------------------------------------------------------------------------

def _with(base, **changes):
    out = dict(base)
    out.update(changes)
    return out


BAD_PAYLOADS = [
    ([], TypeError, "payload must be a dict"),
    ({"unit": 1.0, "meta": {}}, ValueError, "payload has no 'functions'"),
    (_with(SMALL, extra=1), ValueError, "payload has an unknown key 'extra'"),
    (_with(SMALL, unit="1"), TypeError, "unit must be a float"),
    (_with(SMALL, unit=0.0), ValueError, "unit must be finite and > 0"),
    (_with(SMALL, unit=-1e-9), ValueError, "unit must be finite and > 0"),
    (_with(SMALL, unit=float("nan")), ValueError, "unit must be finite and > 0"),
    (_with(SMALL, unit=float("inf")), ValueError, "unit must be finite and > 0"),
    (_with(SMALL, unit=10**400), ValueError, "unit must be finite and > 0"),
    (_with(SMALL, meta=[("a", "b")]), TypeError, "meta must be a dict"),
    (_with(SMALL, meta={1: "b"}), TypeError, "meta keys must be str"),
    (_with(SMALL, meta={"a": 1}), TypeError, "meta['a'] must be str, not int"),
    (_with(SMALL, meta={"a": "\ud800"}), ValueError, "meta[0].value cannot be encoded as UTF-8"),
    (_with(SMALL, functions={}), TypeError, "functions must be a list"),
    (payload(func(), "f"), TypeError, "functions[1] must be a dict, not str"),
    (payload({"filename": "a", "first_lineno": 1, "name": "n"}), ValueError,
     "functions[0] has no 'lines'"),
    (payload(_with(func(), colour="red")), ValueError, "functions[0] has an unknown key 'colour'"),
    (payload(func(filename=b"a.py")), TypeError, "functions[0].filename must be str, not bytes"),
    (payload(func(name="\udcff")), ValueError, "functions[0].name cannot be encoded as UTF-8"),
    (payload(func(first_lineno="1")), TypeError, "functions[0].first_lineno must be an int"),
    (payload(func(first_lineno=-1)), ValueError, "functions[0].first_lineno must be in [0, 2147483647]"),
    (payload(func(first_lineno=2**31)), ValueError, "functions[0].first_lineno must be in"),
    (payload(_with(func(), lines={})), TypeError, "functions[0].lines must be a list"),
    (payload(func(lines=[(1, 1, 1), 5])), TypeError, "functions[0].lines[1] must be a (lineno, hits, time, ...) tuple"),
    (payload(func(lines=[(1, 1)])), ValueError, "functions[0].lines[0] must have 3 items"),
    (_with(SMALL, runs={}), TypeError, "runs must be a list"),
    (_with(SMALL, runs=[{"pid": 1}]), TypeError, "runs[0]['pid'] must be str, not int"),
    (_with(SMALL, runs=[{}, []]), TypeError, "runs[1] must be a dict"),
    (_with(SMALL, runs=[{"host": "\udc80"}]), ValueError, "runs[0].fields[0].value cannot be encoded"),
    (_with(SMALL, columns=FIXED[:2]), ValueError, "columns must have 3 to 64 items, not 2"),
    (_with(SMALL, columns=FIXED + [("c%d" % i, "u64", "sum") for i in range(62)]), ValueError,
     "columns must have 3 to 64 items, not 65"),
    (_with(SMALL, columns=[FIXED[1], FIXED[0], FIXED[2]]), ValueError,
     "columns[0] must be ('lineno', 'u32', 'key')"),
    (_with(SMALL, columns=FIXED[:2] + [("time", "u64", "sum")]), ValueError,
     "columns[2] must be ('time', 'i64', 'sum')"),
    (_with(SMALL, columns=FIXED + ["alloc"]), TypeError, "columns[3] must be a (name, type, merge) tuple"),
    (_with(SMALL, columns=FIXED + [(b"alloc", "u64", "sum")]), TypeError, "columns[3] name must be str"),
    (_with(SMALL, columns=FIXED + [("alloc", "f64", "sum")]), ValueError,
     "columns[3] type must be 'u32', 'i32', 'u64' or 'i64', not 'f64'"),
    (_with(SMALL, columns=FIXED + [("alloc", "u64", "min")]), ValueError,
     "columns[3] merge must be 'key', 'sum' or 'max', not 'min'"),
    (_with(SMALL, columns=FIXED + [("alloc", "u64", "key")]), ValueError, "columns[3].merge 0 is unknown"),
    (_with(SMALL, columns=FIXED + [("", "u64", "sum")]), ValueError, "columns[3] has an empty name"),
    (_with(SMALL, columns=FIXED + [("a", "u64", "sum"), ("a", "i64", "max")]), ValueError,
     "columns[4] repeats the name 'a'"),
    (_with(SMALL, columns=FIXED + [("hits", "u64", "sum")]), ValueError, "columns[3] repeats the name 'hits'"),
    (payload(func(lines=[(1, 1, 1)]), columns=FIXED + [("alloc", "u64", "sum")]), ValueError,
     "functions[0].lines[0] must have 4 items (one per column), not 3"),
    (payload(func(lines=[(1, 1, 1, -1)]), columns=FIXED + [("alloc", "u64", "sum")]), ValueError,
     "functions[0].lines[0].alloc must be in [0, 9223372036854775807], not -1"),
    (payload(func(lines=[(1, 1, 1, 2**31)]), columns=FIXED + [("d", "i32", "sum")]), ValueError,
     "functions[0].lines[0].d must be in [-2147483648, 2147483647], not 2147483648"),
    (payload(func(lines=[(1, 1, 1, 2**32)]), columns=FIXED + [("n", "u32", "max")]), ValueError,
     "functions[0].lines[0].n must be in [0, 4294967295]"),
    (payload(func(lines=[(1, -1, 1)])), ValueError, "functions[0].lines[0].hits must be in [0, "),
    (payload(func(lines=[(1, 2**63, 1)])), ValueError, "functions[0].lines[0].hits must be in"),
    (payload(func(lines=[(1, 1.0, 1)])), TypeError, "functions[0].lines[0].hits must be an int, not float"),
    (payload(func(lines=[(1, 1, 2**63)])), ValueError, "functions[0].lines[0].time must be in"),
    (payload(func(lines=[(-3, 1, 1)])), ValueError, "functions[0].lines[0].lineno must be in"),
    (payload(func(lines=[(4, 1, 1), (5, 1, 1), (4, 2, 2)])), ValueError,
     "functions[0].lines has line 4 twice"),
    (payload(func(source="def f(): pass")), TypeError, "functions[0].source must be a list, not str"),
    (payload(func(), func(source=["a", None])), TypeError, "functions[1].source[1] must be str, not NoneType"),
]


@pytest.mark.parametrize("bad, exc, message", BAD_PAYLOADS, ids=[m for _, _, m in BAD_PAYLOADS])
def test_writer_rejects_bad_payload(tmp_path, bad, exc, message):
    path = tmp_path / "out.lw"
    path.write_bytes(b"previous")
    with pytest.raises(exc) as info:
        _engine.write_results(path, bad)
    assert message in str(info.value)
    # Checked before the disk is touched: old file intact, no temporary left.
    assert path.read_bytes() == b"previous"
    assert os.listdir(tmp_path) == ["out.lw"]


def test_writer_arguments(tmp_path):
    with pytest.raises(TypeError):
        _engine.write_results(tmp_path / "x.lw")
    with pytest.raises(TypeError):
        _engine.write_results(None, SMALL)
    with pytest.raises(ValueError, match="null"):
        _engine.write_results(str(tmp_path / "x\0.lw"), SMALL)
    with pytest.raises(TypeError):
        _engine.read_results()
    assert os.listdir(tmp_path) == []


def test_dump_stats_reports_bad_key(tmp_path):
    with pytest.raises(TypeError, match="not \\(filename, first_lineno, name\\)"):
        dump_stats(LineStats({"f": [(1, 1, 1)]}), tmp_path / "x.lw")


# --- writer: atomicity -------------------------------------------------------------------------

def test_no_temporary_files_left(tmp_path):
    path = tmp_path / "out.lw"
    for p in (SMALL, RICH, SMALL):
        _engine.write_results(path, p)
        assert os.listdir(tmp_path) == ["out.lw"]
    assert _engine.read_results(path) == SMALL


def test_overwrite_replaces_inode_not_contents(tmp_path):
    path = tmp_path / "out.lw"
    _engine.write_results(path, SMALL)
    with open(path, "rb") as reader:  # a reader of the old file keeps seeing the old file
        _engine.write_results(path, RICH)
        assert reader.read() == encode(SMALL)
    assert _engine.read_results(path) == RICH


def test_missing_directory(tmp_path):
    target = tmp_path / "no" / "such" / "dir" / "out.lw"
    with pytest.raises(FileNotFoundError) as info:
        _engine.write_results(target, SMALL)
    assert info.value.filename == str(target)
    assert os.listdir(tmp_path) == []
    with pytest.raises(FileNotFoundError):
        dump_stats(LineStats({("a", 1, "f"): [(1, 1, 1)]}), target)


def test_target_is_a_directory(tmp_path):
    target = tmp_path / "out.lw"
    target.mkdir()
    (target / "inside").write_text("keep")
    with pytest.raises(OSError) as info:
        _engine.write_results(target, SMALL)
    assert info.value.filename == str(target)
    assert os.listdir(tmp_path) == ["out.lw"]
    assert (target / "inside").read_text() == "keep"


def test_failed_write_keeps_old_file(tmp_path):
    """The disk fills up (here: a file size limit) half-way through the temporary file:
    OSError naming the target, the old target intact, the temporary removed."""
    pytest.importorskip("resource")  # the child process sets RLIMIT_FSIZE
    target = tmp_path / "out.lw"
    _engine.write_results(target, SMALL)
    old = target.read_bytes()
    child = textwrap.dedent(f"""
        import importlib.util, resource, signal, sys
        spec = importlib.util.spec_from_file_location("linewise._engine", {_engine.__file__!r})
        engine = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(engine)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        big = {{"unit": 1e-9, "meta": {{}}, "functions": [{{"filename": "f", "first_lineno": 1,
               "name": "f", "lines": [], "source": ["x" * 100] * 1000}}]}}
        try:
            engine.write_results({str(target)!r}, big)
        except OSError as exc:
            print(type(exc).__name__, exc.errno, exc.filename)
            sys.exit(0)
        sys.exit("no error")
    """)
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["OSError", str(errno.EFBIG), str(target)]
    assert target.read_bytes() == old
    assert os.listdir(tmp_path) == ["out.lw"]


def test_concurrent_writers(tmp_path):
    """Threads writing one path: the survivor is one whole file, and no temporaries stay."""
    path = tmp_path / "out.lw"
    payloads = [payload(func(name=f"f{i}", lines=[(1, i, i)] * 1), meta={"i": str(i)}) for i in range(8)]
    errors = []

    def work(p):
        try:
            for _ in range(25):
                _engine.write_results(path, p)
                assert _engine.read_results(path) in payloads
        except Exception as exc:  # reported below, on the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _engine.read_results(path) in payloads
    assert os.listdir(tmp_path) == ["out.lw"]


# --- reader: files that are not results files ----------------------------------------------------

def test_missing_file(tmp_path):
    path = tmp_path / "nope.lw"
    assert load_error(path) == f"{path}: No such file or directory"
    with pytest.raises(FileNotFoundError) as info:
        _engine.read_results(path)
    assert info.value.filename == str(path)


def test_directory(tmp_path):
    assert load_error(tmp_path) == f"{tmp_path}: Is a directory"


def test_empty_file(tmp_path):
    assert bad_bytes_error(tmp_path, b"").endswith("not a linewise results file (empty file)")


def test_dev_null():
    if not os.path.exists(os.devnull):
        pytest.skip("no null device")
    assert "empty file" in load_error(os.devnull)


@pytest.mark.parametrize("data", [
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(40),
    b"GIF89a",
    b"hello, world\n",
    b"\x89LWX",
    b"\x7fELF\x02\x01\x01" + bytes(60),
    b"L",
], ids=["png", "gif", "text", "near-magic", "elf", "one-byte"])
def test_foreign_file(tmp_path, data):
    assert bad_bytes_error(tmp_path, data).endswith("not a linewise results file (bad magic)")


def test_pickle_gets_a_hint(tmp_path):
    """A pickle goes to the .lprof reader (linewise.lprof), which says it is no LineStats
    (tests/integrations/test_lprof.py tests real .lprof files)."""
    data = pickle.dumps({("f.py", 1, "f"): [(1, 1, 1)]}, protocol=4)
    message = bad_bytes_error(tmp_path, data)
    assert message.endswith("not a line_profiler results file (it holds a dict, not "
                            "LineStats)")


def test_future_version(tmp_path):
    body = enc_body(SMALL)
    message = bad_bytes_error(tmp_path, frame(body, version=7))
    assert message.endswith("unsupported format version 7 (this linewise reads versions 1 to 2)")
    # Even if the rest of a version-7 file looks nothing like version 2.
    short = bad_bytes_error(tmp_path, MAGIC + struct.pack("<I", 7))
    assert short.endswith("unsupported format version 7 (this linewise reads versions 1 to 2)")
    assert "version 3 " in bad_bytes_error(tmp_path, frame(body, version=3))
    assert "version 0" in bad_bytes_error(tmp_path, frame(body, version=0))


def test_file_too_large(tmp_path):
    path = tmp_path / "huge.lw"
    with open(path, "wb") as f:
        f.write(encode(SMALL))
        f.truncate((1 << 30) + 1)  # sparse: no disk space used
    assert load_error(path).endswith("file too large: more than 1073741824 bytes")


# --- reader: damaged results files -----------------------------------------------------------

def test_every_truncation(tmp_path):
    data = encode(RICH)
    for n in range(len(data)):
        message = bad_bytes_error(tmp_path, data[:n])
        assert "truncated" in message or "empty file" in message, (n, message)


def test_truncation_messages(tmp_path):
    data = encode(SMALL)
    assert bad_bytes_error(tmp_path, data[:5]).endswith("truncated: expected 3 more bytes for magic")
    assert bad_bytes_error(tmp_path, data[:10]).endswith(
        "truncated: expected 2 more bytes for format version")
    assert bad_bytes_error(tmp_path, data[:-3]).endswith(
        "truncated: expected 3 more bytes for the body")


def test_every_byte_flip(tmp_path):
    """CRC-32 catches every single-byte error in the body; the header fields are each
    checked on their own (magic, version, length against the file size, the CRC itself)."""
    data = encode(SMALL)
    assert len(data) < 200
    for i in range(len(data)):
        for flip in (0x01, 0x80, 0xFF):
            damaged = bytearray(data)
            damaged[i] ^= flip
            bad_bytes_error(tmp_path, bytes(damaged))


def test_checksum_mismatch(tmp_path):
    data = bytearray(encode(SMALL))
    data[-1] ^= 0x20
    assert bad_bytes_error(tmp_path, bytes(data)).endswith("checksum mismatch: file is corrupt")


def test_trailing_garbage_after_body(tmp_path):
    assert bad_bytes_error(tmp_path, encode(SMALL) + b"\0").endswith(
        "trailing garbage: 1 bytes after the body")


# --- reader: crafted files (valid header and checksum, bad contents) -----------------------------

def body_for(unit=1e-9, meta=b"\0\0\0\0", functions=b"\0\0\0\0", runs=b"\0\0\0\0",
             columns=enc_columns(FIXED)) -> bytes:
    return struct.pack("<d", unit) + meta + runs + columns + functions


def raw_column(name, type_code, merge_code) -> bytes:
    return enc_str(name) + bytes([type_code, merge_code])


def columns_with(*extra: bytes, count=None) -> bytes:
    """The fixed three columns and the raw declarations `extra` (count: overrides it)."""
    fixed = b"".join(raw_column(n, TYPES[k][0], MERGES[m]) for n, k, m in FIXED)
    return struct.pack("<I", 3 + len(extra) if count is None else count) + fixed + b"".join(extra)


def one_function(filename=enc_str("f.py"), first_lineno=struct.pack("<I", 1), name=enc_str("f"),
                 lines=struct.pack("<I", 1) + enc_line(1, 1, 1), source=b"\0", count=1) -> bytes:
    return struct.pack("<I", count) + filename + first_lineno + name + lines + source


CRAFTED = {
    "unit-zero": (body_for(unit=0.0), "unit must be finite and > 0, not 0.0"),
    "unit-negative": (body_for(unit=-1.0), "unit must be finite and > 0, not -1.0"),
    "unit-nan": (body_for(unit=float("nan")), "unit must be finite and > 0, not nan"),
    "unit-inf": (body_for(unit=float("inf")), "unit must be finite and > 0, not inf"),
    "body-too-short-for-unit": (b"\0" * 5, "truncated: expected 3 more bytes for unit"),
    "absurd-meta-count": (body_for(meta=struct.pack("<I", 2**32 - 1)),
                          "absurd meta count 4294967295: only 44 bytes remain"),
    "absurd-function-count": (body_for(functions=struct.pack("<I", 10**6)),
                              "absurd function count 1000000: only 0 bytes remain"),
    "absurd-line-count": (body_for(functions=one_function(lines=struct.pack("<I", 2**31))),
                          "absurd functions[0].line count 2147483648: only 1 bytes remain"),
    "absurd-source-count": (body_for(functions=one_function(source=b"\x01" + struct.pack("<I", 99))),
                            "absurd functions[0].source line count 99: only 0 bytes remain"),
    "string-past-end": (body_for(functions=one_function(name=struct.pack("<I", 2**32 - 1))),
                        "truncated: expected"),
    "meta-key-past-end": (body_for(meta=struct.pack("<I", 1) + struct.pack("<I", 50) + b"k"),
                          "truncated: expected"),
    "bad-utf8-continuation": (body_for(functions=one_function(name=enc_str(b"ab\xc3("))),
                              "invalid UTF-8 in functions[0].name"),
    "bad-utf8-overlong": (body_for(functions=one_function(filename=enc_str(b"\xc0\xaf"))),
                          "invalid UTF-8 in functions[0].filename"),
    "bad-utf8-surrogate": (body_for(functions=one_function(
        source=b"\x01" + struct.pack("<I", 2) + enc_str("ok") + enc_str(b"\xed\xa0\x80"))),
        "invalid UTF-8 in functions[0].source[1]"),
    "bad-utf8-too-big": (body_for(meta=struct.pack("<I", 1) + enc_str("k") + enc_str(b"\xf4\x90\x80\x80")),
                         "invalid UTF-8 in meta[0].value"),
    "bad-utf8-latin1": (body_for(meta=struct.pack("<I", 1) + enc_str(b"caf\xe9") + enc_str("v")),
                        "invalid UTF-8 in meta[0].key"),
    "repeated-meta-key": (body_for(meta=struct.pack("<I", 2) + (enc_str("k") + enc_str("v")) * 2),
                          "meta key 'k' appears twice"),
    "hits-above-2-63": (body_for(functions=one_function(
        lines=struct.pack("<I", 2) + enc_line(1, 1, 1) + enc_line(2, 2**64 - 5, 1))),
        "functions[0].lines[1].hits 18446744073709551611 is out of range (at most 9223372036854775807)"),
    "absurd-run-count": (body_for(runs=struct.pack("<I", 2**30)),
                         "absurd run count 1073741824: only"),
    "absurd-run-field-count": (body_for(runs=struct.pack("<II", 1, 10**6)),
                               "absurd runs[0].field count 1000000: only"),
    "repeated-run-key": (body_for(runs=struct.pack("<II", 2, 0) + struct.pack("<I", 2)
                                  + (enc_str("pid") + enc_str("1")) * 2),
                         "runs[1] key 'pid' appears twice"),
    "bad-utf8-run-value": (body_for(runs=struct.pack("<II", 1, 1) + enc_str("host") + enc_str(b"\xff")),
                           "invalid UTF-8 in runs[0].fields[0].value"),
    "run-truncated": (body_for(runs=struct.pack("<II", 1, 1) + enc_str("host"), columns=b"",
                               functions=struct.pack("<I", 9)),
                      "truncated: expected 9 more bytes for runs[0].fields[0].value"),
    "absurd-column-count": (body_for(columns=struct.pack("<I", 2**32 - 1)),
                            "absurd column count 4294967295: only"),
    "too-few-columns": (body_for(columns=columns_with(count=2)[:-6 - len("time")]),
                        "column count 2 must be 3 to 64"),
    "too-many-columns": (body_for(columns=columns_with(*[raw_column("c%d" % i, 3, 1) for i in range(62)])),
                         "column count 65 must be 3 to 64"),
    "fixed-column-renamed": (body_for(columns=struct.pack("<I", 3) + raw_column("line", 1, 0)
                                      + raw_column("hits", 3, 1) + raw_column("time", 4, 1)),
                             "columns[0] must be ('lineno', 'u32', 'key')"),
    "fixed-column-retyped": (body_for(columns=struct.pack("<I", 3) + raw_column("lineno", 1, 0)
                                      + raw_column("hits", 4, 1) + raw_column("time", 4, 1)),
                             "columns[1] must be ('hits', 'u64', 'sum')"),
    "unknown-column-type": (body_for(columns=columns_with(raw_column("alloc", 9, 1))),
                            "columns[3].type 9 is unknown (1 u32, 2 i32, 3 u64, 4 i64)"),
    "column-type-zero": (body_for(columns=columns_with(raw_column("alloc", 0, 1))),
                         "columns[3].type 0 is unknown"),
    "unknown-column-merge": (body_for(columns=columns_with(raw_column("alloc", 3, 3))),
                             "columns[3].merge 3 is unknown (1 sum, 2 max)"),
    "extra-column-merged-as-key": (body_for(columns=columns_with(raw_column("alloc", 3, 0))),
                                   "columns[3].merge 0 is unknown"),
    "empty-column-name": (body_for(columns=columns_with(raw_column("", 3, 1))),
                          "columns[3] has an empty name"),
    "repeated-column-name": (body_for(columns=columns_with(raw_column("alloc", 3, 1),
                                                           raw_column("alloc", 4, 2))),
                             "columns[4] repeats the name 'alloc'"),
    "bad-utf8-column-name": (body_for(columns=columns_with(raw_column(b"\xc3", 3, 1))),
                             "invalid UTF-8 in columns[3].name"),
    "column-truncated": (body_for(columns=columns_with(enc_str("alloc") + b"\x03"), functions=b""),
                         "truncated: expected 1 more bytes for columns[3].type"),
    "extra-column-out-of-range": (body_for(
        columns=columns_with(raw_column("peak", 3, 2)),
        functions=one_function(lines=struct.pack("<I", 1) + enc_line(1, 1, 1) + struct.pack("<Q", 2**63))),
        "functions[0].lines[0].peak 9223372036854775808 is out of range (at most 9223372036854775807)"),
    "line-record-truncated": (body_for(
        columns=columns_with(raw_column("peak", 3, 2)),
        functions=one_function(lines=struct.pack("<I", 1) + enc_line(1, 1, 1))),
        "absurd functions[0].line count 1: only 21 bytes remain"),
    "lineno-out-of-range": (body_for(functions=one_function(
        lines=struct.pack("<I", 1) + enc_line(2**31, 1, 1))),
        "functions[0].lines[0].lineno 2147483648 is out of range"),
    "first-lineno-out-of-range": (body_for(functions=one_function(first_lineno=struct.pack("<I", 2**32 - 1))),
                                  "functions[0].first_lineno 4294967295 is out of range"),
    "repeated-line": (body_for(functions=one_function(
        lines=struct.pack("<I", 3) + enc_line(9, 1, 1) + enc_line(3, 1, 1) + enc_line(9, 1, 1))),
        "functions[0].lines has line 9 twice"),
    "source-flag": (body_for(functions=one_function(source=b"\x02")),
                    "functions[0].source flag must be 0 or 1, not 2"),
    "garbage-after-functions": (body_for() + b"\0", "trailing garbage: 1 bytes after the last function"),
    "string-truncated": (body_for(functions=one_function(
        source=b"\x01" + struct.pack("<I", 1) + struct.pack("<I", 10) + b"abc")),
        "truncated: expected 7 more bytes for functions[0].source[0]"),
    "function-truncated": (body_for(functions=one_function()[:-3]),
                           "absurd functions[0].line count 1: only 18 bytes remain"),
}


@pytest.mark.parametrize("name", list(CRAFTED))
def test_crafted_file(tmp_path, name):
    body, expected = CRAFTED[name]
    message = bad_bytes_error(tmp_path, frame(body))
    assert expected in message, message
    with pytest.raises(ValueError):
        _engine.read_results(tmp_path / "bad.lw")


def test_crafted_helpers_make_valid_files(tmp_path):
    """The building blocks above are right: untouched, they load."""
    path = write_bytes(tmp_path, frame(body_for(functions=one_function())))
    assert _engine.read_results(path) == payload(func("f.py", 1, "f", [(1, 1, 1)]), meta={})
    for name in ("run-truncated", "column-truncated", "line-record-truncated"):
        assert CRAFTED[name][0] != body_for(functions=one_function())


def test_every_body_truncation_with_valid_header(tmp_path):
    """A body cut short but framed with its own length and CRC: the parser, not the
    framing, must notice, whichever field is cut."""
    body = enc_body(RICH)
    for n in range(len(body)):
        message = bad_bytes_error(tmp_path, frame(body[:n]))
        assert "truncated" in message or "absurd" in message, (n, message)


def test_random_mutations_with_valid_checksum(tmp_path):
    """A cheap stand-in for the fuzzer: mutate the body, fix the CRC, and the file must load
    or raise ResultsError; whatever loads must survive a write and read back the same."""
    rng = random.Random(1234)
    body = enc_body(RICH)
    loaded = 0
    for _ in range(3000):
        mutated = bytearray(body)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(mutated))
            mutated[i] = rng.choice((0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)))
        if rng.random() < 0.2:
            del mutated[rng.randrange(len(mutated)):]
        path = write_bytes(tmp_path, frame(bytes(mutated)))
        try:
            got = _engine.read_results(path)
        except ValueError:
            load_error(path)
            continue
        loaded += 1
        _engine.write_results(tmp_path / "again.lw", got)
        assert _engine.read_results(tmp_path / "again.lw") == got
    assert loaded > 0


# --- version 2: declared columns and runs ------------------------------------------------------

MEMORY = FIXED + [("alloc", "u64", "sum"), ("net", "i64", "sum"), ("peak", "u64", "max")]
RUN = {"pid": "7", "host": "h\u00f6st", "python": "3.13.0", "implementation": "cpython",
       "command": "linewise run x.py", "started": "2026-01-01T00:00:00+0000", "linewise": "0.2"}
DATA_DIR = pathlib.Path(__file__).resolve().parents[1] / "data"


def test_extra_columns_and_runs_round_trip_exactly(tmp_path):
    p = payload(func(lines=[(10, 1, 100, 4096, -8, 2**63 - 1), (11, 0, 0, 0, 0, 0)]),
                func("b.py", 1, "g", []), runs=[RUN, {}, {"pid": "8"}], columns=MEMORY)
    path = tmp_path / "mem.lw"
    _engine.write_results(path, p)
    assert path.read_bytes() == encode(p)
    assert _engine.read_results(path) == p


def test_every_column_type_round_trips(tmp_path):
    columns = FIXED + [("a", "u32", "sum"), ("b", "i32", "max"), ("c", "u64", "max"),
                       ("d", "i64", "sum")]
    extremes = [(1, 0, 0, 2**32 - 1, -2**31, 2**63 - 1, -2**63), (2, 0, 0, 0, 2**31 - 1, 0, 2**63 - 1)]
    p = payload(func(lines=extremes), columns=columns)
    _engine.write_results(tmp_path / "t.lw", p)
    assert (tmp_path / "t.lw").read_bytes() == encode(p)
    assert _engine.read_results(tmp_path / "t.lw") == p


def test_64_columns_is_the_limit(tmp_path):
    columns = FIXED + [("c%d" % i, "u32", "sum") for i in range(61)]
    p = payload(func(lines=[(1, 1, 1) + tuple(range(61))]), columns=columns)
    _engine.write_results(tmp_path / "w.lw", p)
    assert _engine.read_results(tmp_path / "w.lw") == p


def test_runs_and_columns_may_be_left_out_of_the_payload(tmp_path):
    p = payload(func())
    del p["runs"], p["columns"]
    _engine.write_results(tmp_path / "a.lw", p)
    assert _engine.read_results(tmp_path / "a.lw") == payload(func())


def test_linestats_columns_and_runs_round_trip(tmp_path):
    key = ("m.py", 1, "f")
    stats = LineStats({key: [(2, 3, 40), (3, 1, 5)]}, meta={"k": "v"},
                      sources={key: ["def f():\n"]}, runs=[RUN],
                      columns={"alloc": {key: {2: 4096, 3: 1}}, "peak": {key: {2: 10}}},
                      column_types={"alloc": ("u64", "sum"), "peak": ("u64", "max")})
    path = tmp_path / "s.lw"
    dump_stats(stats, path)
    back = load_stats(path)
    assert back.timings == stats.timings and back.runs == [RUN] and back.meta == {"k": "v"}
    assert back.column_types == stats.column_types
    # A line with no value in a column is written (and read back) as 0.
    assert back.columns == {"alloc": {key: {2: 4096, 3: 1}}, "peak": {key: {2: 10, 3: 0}}}
    assert _engine.read_results(path)["columns"] == FIXED + [("alloc", "u64", "sum"),
                                                             ("peak", "u64", "max")]


def test_unknown_columns_are_kept_and_written_back_byte_for_byte(tmp_path):
    """A file from a later linewise, with columns this one has never heard of: they load
    into stats.columns by their declaration, and dump writes the same file again."""
    p = payload(func(lines=[(10, 1, 100, -3, 7)], source=["x\n"]), runs=[RUN],
                columns=FIXED + [("gpu_ns", "i64", "sum"), ("threads", "u32", "max")])
    original = write_bytes(tmp_path, encode(p), "future.lw")
    stats = load_stats(original)
    assert stats.column_types == {"gpu_ns": ("i64", "sum"), "threads": ("u32", "max")}
    assert stats.columns["gpu_ns"] == {("mod.py", 10, "f"): {10: -3}}
    dump_stats(stats, tmp_path / "again.lw")
    assert (tmp_path / "again.lw").read_bytes() == original.read_bytes()


def test_dump_refuses_column_values_it_would_lose(tmp_path):
    key = ("m.py", 1, "f")
    with pytest.raises(ValueError, match="has a value for line 9 of .* which has no timing"):
        dump_stats(LineStats({key: [(2, 1, 1)]}, columns={"alloc": {key: {9: 1}}},
                             column_types={"alloc": ("u64", "sum")}), tmp_path / "x.lw")
    with pytest.raises(ValueError, match="column 'alloc' has values but no declaration"):
        dump_stats(LineStats({key: [(2, 1, 1)]}, columns={"alloc": {key: {2: 1}}}),
                   tmp_path / "x.lw")
    assert os.listdir(tmp_path) == []


def test_stats_without_runs_are_written_with_one_run_from_their_meta(tmp_path):
    provenance = importlib.import_module("linewise.provenance")
    meta = provenance.default_meta()
    assert set(meta) >= {"pid", "host", "python", "implementation", "created", "argv", "linewise"}
    dump_stats(LineStats({}, meta=dict(meta, command="prog --x")), tmp_path / "a.lw")
    (run,) = load_stats(tmp_path / "a.lw").runs
    # All but what only a profiler knows (the seconds profiled, a compensation's cost).
    assert list(run) == [f for f in provenance.RUN_FIELDS
                         if f not in ("profiled", "event_cost_ns")]
    assert run["pid"] == str(os.getpid()) and run["command"] == "prog --x"
    assert run["host"] == meta["host"] and run["python"] == meta["python"]
    assert provenance.default_run()["started"] == run["started"]
    # Nothing to say: no run.
    dump_stats(LineStats({}), tmp_path / "b.lw")
    assert load_stats(tmp_path / "b.lw").runs == []


def test_add_concatenates_runs_and_merges_columns_by_declaration():
    key, other_key = ("m.py", 1, "f"), ("n.py", 1, "g")
    types = {"alloc": ("u64", "sum"), "peak": ("u64", "max")}
    a = LineStats({key: [(2, 1, 10), (3, 1, 1)]}, runs=[{"pid": "1"}], column_types=types,
                  columns={"alloc": {key: {2: 100, 3: 5}}, "peak": {key: {2: 50, 3: 7}}})
    b = LineStats({key: [(2, 2, 20)], other_key: [(2, 1, 1)]}, runs=[{"pid": "2"}, {"pid": "3"}],
                  column_types=types,
                  columns={"alloc": {key: {2: 1}, other_key: {2: 9}}, "peak": {key: {2: 80}}})
    c = a + b
    assert c.timings[key] == [(2, 3, 30), (3, 1, 1)]
    assert c.runs == [{"pid": "1"}, {"pid": "2"}, {"pid": "3"}]
    assert c.column_types == types
    assert c.columns["alloc"] == {key: {2: 101, 3: 5}, other_key: {2: 9}}
    assert c.columns["peak"] == {key: {2: 80, 3: 7}}
    assert (b + a).columns == c.columns and a.runs == [{"pid": "1"}]  # inputs untouched
    assert sum([a, b]).runs == c.runs


def test_add_takes_runs_from_meta_when_there_are_none():
    a = LineStats({}, meta={"pid": "1", "python": "3.11.7"})  # e.g. from a version-1 file
    b = LineStats({}, runs=[{"pid": "2"}])
    assert (a + b).runs == [{"pid": "1", "python": "3.11.7"}, {"pid": "2"}]
    assert (LineStats({}) + LineStats({})).runs == []


def test_add_refuses_columns_declared_differently_and_overflow():
    key = ("m.py", 1, "f")
    a = LineStats({key: [(2, 1, 1)]}, column_types={"x": ("u64", "sum")},
                  columns={"x": {key: {2: 2**63 - 1}}})
    b = LineStats({key: [(2, 1, 1)]}, column_types={"x": ("u64", "max")},
                  columns={"x": {key: {2: 1}}})
    with pytest.raises(ResultsError, match="column 'x' is .*'sum'.* in one and .*'max'"):
        a + b
    with pytest.raises(ResultsError, match="cannot sum the results: the x of f .*line 2"):
        a + a
    m = LineStats({key: [(2, 1, 1)]}, column_types={"x": ("u64", "max")},
                  columns={"x": {key: {2: 2**63 - 1}}})
    assert (m + m).columns["x"] == {key: {2: 2**63 - 1}}  # max cannot overflow


def test_merged_columns_are_written_and_read_back(tmp_path):
    key = ("m.py", 1, "f")
    types = {"alloc": ("u64", "sum"), "peak": ("u64", "max")}
    a = LineStats({key: [(2, 1, 1)]}, runs=[RUN], column_types=types,
                  columns={"alloc": {key: {2: 3}}, "peak": {key: {2: 4}}})
    dump_stats(a + a, tmp_path / "m.lw")
    back = load_stats(tmp_path / "m.lw")
    assert back.runs == [RUN, RUN]
    assert back.columns == {"alloc": {key: {2: 6}}, "peak": {key: {2: 4}}}


# --- version 1 files ---------------------------------------------------------------------------

def test_version_1_files_load(tmp_path):
    stats = load_stats(DATA_DIR / "v1-one-function.lw")
    assert stats.timings == {("a.py", 1, "f"): [(2, 3, -4)]}
    assert stats.meta == {"k": "v"} and stats.sources == {("a.py", 1, "f"): ["def f():\n"]}
    assert stats.runs == [] and stats.columns == {} and stats.column_types == {}
    real = load_stats(DATA_DIR / "v1-real-profile.lw")
    assert real.meta == {"python": "3.x", "argv": "seed"} and len(real.timings) == 3
    # Saved again, a version-1 file becomes version 2, with a run made from its meta.
    dump_stats(real, tmp_path / "v2.lw")
    assert (tmp_path / "v2.lw").read_bytes()[8:12] == b"\2\0\0\0"
    again = load_stats(tmp_path / "v2.lw")
    assert again.timings == real.timings and again.runs == [{"python": "3.x", "command": "seed"}]


def test_version_1_bytes_as_documented(tmp_path):
    """The Python v1 encoder (docs: Version 1) reads the same as the file in tests/data."""
    p = payload(func("a.py", 1, "f", [(2, 3, -4)], ["def f():\n"]), meta={"k": "v"})
    v1 = frame(enc_body_v1(p), version=1)
    assert v1 == (DATA_DIR / "v1-one-function.lw").read_bytes()
    assert _engine.read_results(write_bytes(tmp_path, v1)) == p


V1_CRAFTED = {
    "negative-hits": (struct.pack("<I", 2) + enc_line_v1(1, 1, 1) + enc_line_v1(2, -5, 1),
                      "functions[0].lines[1].hits 18446744073709551611 is out of range"),
    "repeated-line": (struct.pack("<I", 2) + enc_line_v1(1, 1, 1) + enc_line_v1(1, 5, 1),
                      "functions[0].lines has line 1 twice"),
    "absurd-line-count": (struct.pack("<I", 2), "absurd functions[0].line count 2: only 21 bytes"),
}


@pytest.mark.parametrize("name", list(V1_CRAFTED))
def test_version_1_crafted_file(tmp_path, name):
    lines, expected = V1_CRAFTED[name]
    if name == "absurd-line-count":
        lines += enc_line_v1(1, 1, 1)
    body = struct.pack("<d", 1e-9) + b"\0\0\0\0" + one_function(lines=lines)
    assert expected in bad_bytes_error(tmp_path, frame(body, version=1))


def test_every_version_1_truncation(tmp_path):
    body = enc_body_v1(RICH)
    _engine.read_results(write_bytes(tmp_path, frame(body, version=1)))
    for n in range(len(body)):
        message = bad_bytes_error(tmp_path, frame(body[:n], version=1))
        assert "truncated" in message or "absurd" in message, (n, message)
