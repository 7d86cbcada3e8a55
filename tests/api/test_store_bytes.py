"""Results as bytes (linewise.store.dumps_stats / loads_stats): how results travel between
processes (xdist workers, Dask workers). The same format and the same strict reader as the
files; nothing in the bytes is ever run."""
from __future__ import annotations

import pickle

import pytest

from linewise.results import LineStats, ResultsError
from linewise.store import dump_stats, dumps_stats, load_stats, loads_stats


def _stats():
    key = ("/nowhere/mod.py", 3, "f")
    return LineStats({key: [(3, 2, 100), (4, 5, 7)]}, 1e-9, {"pid": "12"},
                     sources={key: ["def f():\n", "    pass\n"]}, sources_complete=True,
                     runs=[{"pid": "12", "process.role": "worker"}])


def test_the_bytes_are_the_file(tmp_path):
    stats = _stats()
    data = dumps_stats(stats)
    path = tmp_path / "r.lw"
    dump_stats(stats, path)
    back = loads_stats(data)
    assert back.timings == stats.timings and back.sources == stats.sources
    assert back.runs == stats.runs and back.unit == stats.unit
    assert load_stats(path).timings == back.timings
    # Byte for byte the file, but for the run record's start time and the like: none
    # here, so the two are equal.
    assert path.read_bytes() == data
    assert loads_stats(bytearray(data)).timings == stats.timings
    assert loads_stats(memoryview(data)).timings == stats.timings


@pytest.mark.parametrize("bad, why", [
    (b"", "empty"),
    (b"\x89LWR\r\n\x1a\n" + b"\0" * 30, None),
    (pickle.dumps(_stats().timings), "magic"),
])
def test_bad_bytes_are_one_clear_error(bad, why):
    with pytest.raises(ResultsError) as info:
        loads_stats(bad, "worker 1's results")
    text = str(info.value)
    assert text.startswith("worker 1's results: ") and "\n" not in text
    if why:
        assert why in text


def test_every_cut_and_flip_is_refused():
    data = dumps_stats(_stats())
    for cut in range(len(data)):
        with pytest.raises(ResultsError):
            loads_stats(data[:cut])
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    with pytest.raises(ResultsError):
        loads_stats(bytes(flipped))


def test_a_pickle_is_never_loaded():
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('ran')",))

    with pytest.raises(ResultsError):
        loads_stats(pickle.dumps(Boom()))
    with pytest.raises(ResultsError, match="expected bytes, not str"):
        loads_stats("not bytes")


def test_bad_stats_are_refused_before_any_bytes():
    with pytest.raises(TypeError):
        dumps_stats(LineStats({"not a key": [(1, 1, 1)]}))
