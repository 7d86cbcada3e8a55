"""The results-file reader on what the fuzzer (fuzz/, scripts/fuzz.sh) keeps:

- fuzz/regressions/*: every input that ever crashed the reader or broke its contract;
- fuzz/corpus/*: the fuzzer's minimised corpus (one input per path it found through the
  reader);
- fuzz/seeds/*.lw: the hand-made valid files the fuzzing starts from.

Each input goes through read_results twice, as the libFuzzer harness does: as it is, and
with a valid header (magic, version, body length and CRC-32) written over its first 24
bytes, so that the body parser sees it. The reader must return a payload or raise
ValueError, nothing else; a payload must be written back byte for byte by write_results
(the format has one encoding per payload). Running this under `make test-asan` replays
the whole corpus with ASan and UBSan watching.
"""
import glob
import os
import struct
import zlib

import pytest

from conftest import TESTS_DIR
from linewise import ResultsError, _engine, load_stats

FUZZ_DIR = os.path.join(os.path.dirname(TESTS_DIR), "fuzz")
MAGIC = b"\x89LWR\r\n\x1a\n"


def inputs(folder, pattern="*"):
    found = sorted(p for p in glob.glob(os.path.join(FUZZ_DIR, folder, pattern))
                   if os.path.isfile(p) and not p.endswith(".md"))
    return [pytest.param(p, id=f"{folder}/{os.path.basename(p)}") for p in found] or [
        pytest.param(None, id=f"{folder}/none", marks=pytest.mark.skip(
            reason=f"fuzz/{folder} is empty"))]


def fixed_up(data: bytes) -> bytes:
    """data with a valid header for its body (what fuzz/fuzz_results.c does): version 1 if
    data says 1, else 2."""
    body = data[24:]
    version = 1 if data[8:12] == b"\1\0\0\0" else 2
    return MAGIC + struct.pack("<IQI", version, len(body), zlib.crc32(body)) + body


def read(tmp_path, data: bytes, name: str):
    """The reader's verdict on data: ("ok", payload) or ("invalid", message)."""
    path = tmp_path / name
    path.write_bytes(data)
    try:
        payload = _engine.read_results(path)
    except ValueError as exc:
        message = str(exc)
        assert message and "\n" not in message
        return "invalid", message
    return "ok", payload


def check_round_trip(tmp_path, data: bytes, payload):
    """Version 2: written back byte for byte. Version 1 (written as version 2): read back
    equal."""
    again = tmp_path / "again.lw"
    _engine.write_results(again, payload)
    if data[8:12] == b"\1\0\0\0":
        assert _engine.read_results(again) == payload
    else:
        assert again.read_bytes() == data


def check(tmp_path, data: bytes):
    verdicts = []
    variants = [("raw", data)]
    if len(data) >= 24:
        variants.append(("fixed", fixed_up(data)))
    for name, variant in variants:
        verdict, value = read(tmp_path, variant, name + ".lw")
        if verdict == "ok":
            check_round_trip(tmp_path, variant, value)
            try:
                load_stats(tmp_path / (name + ".lw"))
            except ResultsError as exc:
                assert "appears twice" in str(exc)  # the one check load_stats adds
        verdicts.append(verdict)
    return verdicts


@pytest.mark.parametrize("path", inputs("regressions"))
def test_regression_input(tmp_path, path):
    with open(path, "rb") as f:
        check(tmp_path, f.read())


@pytest.mark.parametrize("path", inputs("corpus"))
def test_corpus_input(tmp_path, path):
    with open(path, "rb") as f:
        check(tmp_path, f.read())


@pytest.mark.parametrize("path", inputs("seeds", "*.lw"))
def test_seed_is_valid(tmp_path, path):
    with open(path, "rb") as f:
        data = f.read()
    assert check(tmp_path, data)[0] == "ok"


def test_there_are_seeds_and_a_corpus():
    assert len(glob.glob(os.path.join(FUZZ_DIR, "seeds", "*.lw"))) >= 10
    assert len(glob.glob(os.path.join(FUZZ_DIR, "corpus", "*"))) >= 10
    # Version 1 files stay in the seeds, so the fuzzer keeps reaching the v1 reader.
    versions = {open(p, "rb").read()[8:12]
                for p in glob.glob(os.path.join(FUZZ_DIR, "seeds", "*.lw"))}
    assert versions == {b"\1\0\0\0", b"\2\0\0\0"}


def test_fix_up_matches_the_writer(tmp_path):
    path = tmp_path / "w.lw"
    _engine.write_results(path, {"unit": 1e-9, "meta": {"k": "v"}, "functions": []})
    data = path.read_bytes()
    assert fixed_up(data) == data
    assert fixed_up(b"\0" * 24 + data[24:]) == data
