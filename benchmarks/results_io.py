"""Results-file I/O for 10^6 lines: the C reader/writer (format v2) against a prototype
container written in Python (struct + zlib), for docs/results-format.md's figures.

    .venvs/3.13/bin/python benchmarks/results_io.py [LINES] [COLUMNS]

COLUMNS 3 is lineno, hits, time; 6 adds alloc, net, peak. Prints file size, write and load
time (best of 3) for: C write_results/read_results (the payload), load_stats (a LineStats),
and the Python prototype (same records, then zlib level 1 over the body).
"""
import os
import struct
import sys
import tempfile
import time
import zlib

from linewise import _engine
from linewise.store import load_stats

FIXED = [("lineno", "u32", "key"), ("hits", "u64", "sum"), ("time", "i64", "sum")]
EXTRA = [("alloc", "u64", "sum"), ("net", "i64", "sum"), ("peak", "u64", "max")]
FMT = {"u32": "I", "i32": "i", "u64": "Q", "i64": "q"}


def make(n_lines, n_columns, per_function=100):
    columns = (FIXED + EXTRA)[:n_columns]
    functions = []
    for f in range(n_lines // per_function):
        lines = [(i, i * 7 + f, -i * 3, i * 100, -i, i * 50)[:n_columns]
                 for i in range(1, per_function + 1)]
        functions.append({"filename": f"pkg/mod{f % 100}.py", "first_lineno": 1,
                          "name": f"func_{f}", "lines": lines, "source": None})
    return {"unit": 1e-9, "meta": {"k": "v"}, "runs": [{"pid": "1"}], "columns": columns,
            "functions": functions}


def py_write(path, payload, compress):
    rec = struct.Struct("<" + "".join(FMT[t] for _, t, _ in payload["columns"]))
    parts = [struct.pack("<dI", payload["unit"], len(payload["functions"]))]
    for f in payload["functions"]:
        name, filename = f["name"].encode(), f["filename"].encode()
        parts.append(struct.pack("<I", len(filename)) + filename + struct.pack("<I", f["first_lineno"])
                     + struct.pack("<I", len(name)) + name + struct.pack("<I", len(f["lines"])))
        parts.append(b"".join(rec.pack(*line) for line in f["lines"]))
    body = b"".join(parts)
    if compress:
        body = zlib.compress(body, 1)
    with open(path, "wb") as out:
        out.write(struct.pack("<8sIQI", b"\x89LWPROTO", 2, len(body), zlib.crc32(body)) + body)


def py_read(path, rec, compress):
    with open(path, "rb") as f:
        data = f.read()
    _magic, _version, length, crc = struct.unpack_from("<8sIQI", data)
    body = data[24:]
    assert len(body) == length and zlib.crc32(body) == crc
    if compress:
        body = zlib.decompress(body)
    unit, count = struct.unpack_from("<dI", body)
    pos, functions = 12, {}
    for _ in range(count):
        (n,) = struct.unpack_from("<I", body, pos)
        filename = body[pos + 4:pos + 4 + n].decode()
        pos += 4 + n
        first, n = struct.unpack_from("<II", body, pos)
        name = body[pos + 8:pos + 8 + n].decode()
        pos += 8 + n
        (k,) = struct.unpack_from("<I", body, pos)
        pos += 4
        end = pos + k * rec.size
        functions[(filename, first, name)] = list(rec.iter_unpack(body[pos:end]))
        pos = end
    return unit, functions


def best(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    n_lines = int(sys.argv[1]) if len(sys.argv) > 1 else 10**6
    n_columns = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    payload = make(n_lines, n_columns)
    rec = struct.Struct("<" + "".join(FMT[t] for _, t, _ in payload["columns"]))
    with tempfile.TemporaryDirectory() as tmp:
        c_path = os.path.join(tmp, "c.lw")
        print(f"{n_lines} lines, {n_columns} columns, {len(payload['functions'])} functions")
        w = best(lambda: _engine.write_results(c_path, payload))
        r = best(lambda: _engine.read_results(c_path))
        s = best(lambda: load_stats(c_path))
        print(f"C v2:            {os.path.getsize(c_path):>11,} bytes  write {w:.3f} s  "
              f"read_results {r:.3f} s  load_stats {s:.3f} s")
        for compress in (False, True):
            p_path = os.path.join(tmp, f"p{compress}.lw")
            w = best(lambda: py_write(p_path, payload, compress))
            r = best(lambda: py_read(p_path, rec, compress))
            label = "Python+zlib:" if compress else "Python struct:"
            print(f"{label:<16} {os.path.getsize(p_path):>11,} bytes  write {w:.3f} s  "
                  f"read {r:.3f} s")


if __name__ == "__main__":
    main()
