"""Results files made to hurt whoever views them, through the real `linewise view`, `merge`
and `diff` commands (subprocesses, as a user runs them), each with a time limit, an
address-space limit and a cap on the size of the files it writes, so that a command that
blocks, allocates by line number or writes without end fails here instead of hanging or
swapping the suite.

What a hostile file gets (see README, Reliability): source is read from disk only with
--source-from-disk, only from regular files (a FIFO would block, /dev/zero never end) and
never from /proc, /sys or /dev; tables have rows for the lines that have source or
timings, not for every number in between; HTML pages are capped; control characters are
shown as escapes; sums and JSON numbers that do not fit are one clear error.
"""
from __future__ import annotations

import glob
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

from linewise import _engine, load_stats

resource = pytest.importorskip("resource")

ROOT = pathlib.Path(__file__).resolve().parents[2]
SEEDS = sorted(glob.glob(str(ROOT / "fuzz" / "seeds" / "*.lw")))
MEMORY = 1 << 30  # address space per command
OUTPUT = 64 << 20  # largest file a command may write (stdout goes to a file too)
TWO63 = 2**63 - 1
SGR = re.compile(r"\x1b\[[0-9;]*m")


def fn(filename, first, name, lines, source=None):
    return {"filename": filename, "first_lineno": first, "name": name, "lines": lines,
            "source": source}


def write(path, functions, unit=1e-9, meta=None):
    _engine.write_results(path, {"unit": unit, "meta": meta or {}, "functions": functions})
    return path


# Under `make test-asan` the address-space limit is left out: ASan reserves terabytes of
# shadow address space at start and cannot start under one (the normal runs check it).
SANITIZED = os.environ.get("LINEWISE_SANITIZED") == "1"

# A command that hangs fails, not one that is slow: the biggest case here (a diff of 60,000
# functions) takes a few seconds, and several times that under ASan on two busy cores.
TIMEOUT = 240 if SANITIZED else 60


def _limits():
    if not SANITIZED:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    resource.setrlimit(resource.RLIMIT_FSIZE, (OUTPUT, OUTPUT))


class Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr

    def __repr__(self):
        return f"Result({self.returncode}, {self.stdout[-2000:]!r}, {self.stderr[-2000:]!r})"


def lw(*args, cwd, env=None):
    """Runs `linewise ARGS` under the limits; stdout goes to a file (capped like the rest)."""
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "PYTHONPATH")}
    environ.update(env or {})
    out = pathlib.Path(cwd) / ".stdout"
    with open(out, "wb") as stdout:
        proc = subprocess.run([sys.executable, "-m", "linewise", *map(str, args)], cwd=cwd,
                              stdout=stdout, stderr=subprocess.PIPE, env=environ,
                              timeout=TIMEOUT, preexec_fn=_limits)
    text = out.read_bytes().decode("utf-8", "backslashreplace")
    out.unlink()
    return Result(proc.returncode, text, proc.stderr.decode("utf-8", "backslashreplace"))


def ok(result):
    assert result.returncode == 0, result
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result
    return result


def one_line_error(result, *words):
    assert result.returncode == 1, result
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("linewise "), result
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result
    for word in words:
        assert word in lines[0], result
    return lines[0]


def every_view(path, cwd, *extra):
    """The text, HTML and JSON views and a merge of `path`: [(what, Result)]."""
    html = pathlib.Path(cwd) / "page.html"
    merged = pathlib.Path(cwd) / "merged.lw"
    return [
        ("view", lw("view", *extra, path, cwd=cwd)),
        ("color", lw("view", "--color=always", *extra, path, cwd=cwd)),
        ("summary", lw("view", "--summary", *extra, path, cwd=cwd)),
        ("html", lw("view", "--html", html, *extra, path, cwd=cwd)),
        ("json", lw("view", "--json", *extra, path, cwd=cwd)),
        ("diff", lw("diff", *extra, path, path, cwd=cwd)),
        ("diff-html", lw("diff", "--html", pathlib.Path(cwd) / "diff.html", *extra, path, path,
                         cwd=cwd)),
        ("merge", lw("merge", "-f", "-q", merged, path, cwd=cwd)),
    ]


# --- files that block, never end, or are not files -------------------------------------

@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "source.py"
    os.mkfifo(path)
    return path


def test_a_fifo_named_as_source_does_not_block(tmp_path, fifo):
    results = write(tmp_path / "fifo.lw", [fn(str(fifo), 1, "f", [(2, 1, 10)])])
    for what, result in every_view(results, tmp_path) + every_view(results, tmp_path,
                                                                  "--source-from-disk")[:-1]:
        ok(result)
    shown = ok(lw("view", "--source-from-disk", results, cwd=tmp_path)).stdout
    assert f"Not reading {fifo}: it is not a regular file" in shown
    assert "     2         1         10.0     10.0    100.0  \n" in shown


def test_a_fifo_as_the_results_file_is_refused(tmp_path, fifo):
    for args in (("view", fifo), ("view", "--json", fifo), ("merge", "-f", "o.lw", fifo),
                 ("diff", fifo, fifo)):
        one_line_error(lw(*args, cwd=tmp_path), f"cannot read {fifo}: not a regular file")


def test_dev_zero_is_never_read(tmp_path):
    results = write(tmp_path / "zero.lw", [fn("/dev/zero", 1, "f", [(2, 1, 10)])])
    for what, result in every_view(results, tmp_path, "--source-from-disk")[:-1]:
        ok(result)
    shown = ok(lw("view", "--source-from-disk", results, cwd=tmp_path)).stdout
    assert "Not reading /dev/zero: it is a system file, not source" in shown
    one_line_error(lw("view", "/dev/zero", cwd=tmp_path), "not a regular file")


def test_a_source_file_too_big_is_not_read(tmp_path):
    big = tmp_path / "big.py"
    with open(big, "wb") as f:
        f.truncate(17 << 20)  # sparse: 17 MiB of NULs, beyond the 16 MiB cap
    results = write(tmp_path / "big.lw", [fn(str(big), 1, "f", [(2, 1, 10)])])
    shown = ok(lw("view", "--source-from-disk", results, cwd=tmp_path)).stdout
    assert f"Not reading {big}: it is larger than 16777216 bytes" in shown


# --- line numbers far apart, and many functions ----------------------------------------

@pytest.mark.parametrize("timings", [
    [(2**31 - 1, 1, 10)],
    [(1 + i * 20_000_000, 1, i) for i in range(100)],
], ids=["line-2**31-1", "100-lines-over-2e9"])
def test_far_apart_line_numbers_cost_rows_not_memory(tmp_path, timings):
    results = write(tmp_path / "far.lw", [fn("gone.py", 1, "far", timings)])
    assert results.stat().st_size < 3000
    for what, result in every_view(results, tmp_path):
        ok(result)
        assert len(result.stdout) < 100_000, what
    text = ok(lw("view", results, cwd=tmp_path)).stdout
    rows = [line for line in text.splitlines() if line[:10].strip().isdigit()]
    assert [int(row.split()[0]) for row in rows] == sorted({1} | {t[0] for t in timings})
    ok(lw("view", "--html", tmp_path / "far.html", results, cwd=tmp_path))
    page = (tmp_path / "far.html").read_text(encoding="utf-8")
    assert len(page) < 200_000 and f'id="f1-L{timings[-1][0]}"' in page


def test_many_functions_make_a_capped_page(tmp_path):
    count = 60_000  # a page of all of them would be ~60 MB
    results = write(tmp_path / "many.lw", [fn("m.py", i, f"f{i}", [(i, 1, i)])
                                           for i in range(1, count + 1)])
    ok(lw("view", "--html", tmp_path / "many.html", results, cwd=tmp_path))
    page = (tmp_path / "many.html").read_text(encoding="utf-8")
    assert len(page) < 5_000_000
    assert f"59000 of the {count} functions are not shown" in page
    assert page.count('<details class="func"') == 1000
    assert '<span class="fname">f60000</span>' in page  # the most time first
    assert '<span class="fname">f1</span>' not in page
    ok(lw("diff", "--html", tmp_path / "diff.html", results, results, cwd=tmp_path))
    assert (tmp_path / "diff.html").stat().st_size < 5_000_000


# --- the viewer's own files ------------------------------------------------------------

SECRET = "hunter2-the-viewers-secret"


@pytest.fixture
def secret(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "secret.txt").write_text(f"{SECRET}\nline two\n")
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    return work, "../../home/secret.txt"


def test_sources_named_by_a_results_file_are_not_read_unless_asked(secret):
    work, name = secret
    results = write(work / "leak.lw", [fn(name, 1, "leak", [(1, 1, 10), (2, 1, 10)]),
                                       fn("/proc/self/environ", 1, "env", [(1, 1, 5)])])
    env = {"LINEWISE_TEST_MARKER": SECRET}
    for what, result in every_view(results, work):
        ok(result)
        assert SECRET not in result.stdout, what
    for page in ("page.html", "diff.html"):
        assert SECRET not in (work / page).read_text(encoding="utf-8")
    merged = load_stats(work / "merged.lw")
    assert merged.sources == {} and merged.sources_complete
    text = ok(lw("view", results, cwd=work, env=env)).stdout
    assert f"The results hold no source for {name}" in text
    assert "--source-from-disk" in text
    # Asked: the named file is read (it is a regular file), /proc never is.
    asked = ok(lw("view", "--source-from-disk", results, cwd=work, env=env)).stdout
    assert SECRET in asked
    assert "Not reading /proc/self/environ: it is a system file, not source" in asked
    for flag in ("--json",):
        asked = ok(lw("view", flag, "--source-from-disk", results, cwd=work, env=env)).stdout
        doc = json.loads(asked)
        assert doc["functions"][0]["source"][0] == SECRET
        assert doc["functions"][1]["source"] is None


def test_a_link_into_proc_is_not_followed(tmp_path):
    link = tmp_path / "innocent.py"
    link.symlink_to("/proc/self/environ")
    results = write(tmp_path / "l.lw", [fn(str(link), 1, "f", [(1, 1, 5)])])
    text = ok(lw("view", "--source-from-disk", results, cwd=tmp_path,
                 env={"LINEWISE_TEST_MARKER": SECRET})).stdout
    assert SECRET not in text and f"Not reading {link}: it is a system file" in text


def test_the_profiling_process_still_reads_its_own_source(tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text("@profile\ndef work():\n    return sum(range(10))\n\nwork()\n")
    result = ok(lw("run", "-v", "-o", tmp_path / "prog.lw", prog, cwd=tmp_path))
    assert "    return sum(range(10))" in result.stdout
    assert load_stats(tmp_path / "prog.lw").sources  # dump_stats stored it


# --- terminal control sequences --------------------------------------------------------

EVIL_FILE = "evil\x1b[2J.py\nFunction: forged at line 1"
EVIL_NAME = "name\x1b]0;pwned\x07\r\x9b31m"
EVIL_SOURCE = ["def f():\n", "    x = '\x1b[2J\x1b]0;t\x07'\n", "    y = 1\rFORGED\x7f\x85\n",
               "\tz = 2\n"]


def raw_controls(text):
    """Control characters left in `text` (SGR colour codes, newlines and tabs allowed)."""
    return sorted({c for c in SGR.sub("", text) if (ord(c) < 32 and c not in "\n\t")
                   or 0x7f <= ord(c) < 0xa0})


def test_control_characters_are_shown_as_escapes(tmp_path):
    results = write(tmp_path / "evil.lw",
                    [fn(EVIL_FILE, 1, EVIL_NAME, [(2, 1, 10), (3, 1, 20), (4, 1, 5)],
                        EVIL_SOURCE)], meta={"command": "run \x1b[2J"})
    for what, result in every_view(results, tmp_path):
        ok(result)
        assert raw_controls(result.stdout) == [], what
        assert not re.search(r"^Function: forged", result.stdout, re.M), what
    text = ok(lw("view", "--summary", results, cwd=tmp_path)).stdout
    assert r"File: evil\x1b[2J.py\nFunction: forged at line 1" + "\n" in text
    assert r"Function: name\x1b]0;pwned\x07\r\x9b31m at line 1" + "\n" in text
    assert r"    x = '\x1b[2J\x1b]0;t\x07'" + "\n" in text
    assert r"    y = 1\rFORGED\x7f\x85" + "\n" in text
    assert "\tz = 2\n" in text  # tabs in source are kept
    ok(lw("view", "--html", tmp_path / "evil.html", results, cwd=tmp_path))
    page = (tmp_path / "evil.html").read_text(encoding="utf-8")
    assert raw_controls(page) == []
    assert r"\x1b[2J" in page
    ok(lw("diff", "--html", tmp_path / "d.html", results, results, cwd=tmp_path))
    assert raw_controls((tmp_path / "d.html").read_text(encoding="utf-8")) == []


# --- numbers that do not fit ------------------------------------------------------------

def test_merging_hits_past_64_bits_is_one_error(tmp_path):
    results = write(tmp_path / "big.lw", [fn("m.py", 1, "busy", [(2, TWO63, 1)])])
    for args in (("merge", "-f", "out.lw", results, results), ("view", results, results),
                 ("view", "--json", results, results)):
        one_line_error(lw(*args, cwd=tmp_path), "the hits of busy (m.py:1), line 2")
    assert not (tmp_path / "out.lw").exists()


def test_merging_times_past_64_bits_is_one_error(tmp_path):
    results = write(tmp_path / "slow.lw", [fn("m.py", 1, "slow", [(3, 1, TWO63)])])
    coarse = write(tmp_path / "ms.lw", [fn("m.py", 1, "slow", [(3, 1, 10**16)])], unit=1e-3)
    one_line_error(lw("merge", "-f", "out.lw", results, results, cwd=tmp_path),
                   "the time of slow (m.py:1), line 3")
    one_line_error(lw("merge", "-f", "out.lw", results, coarse, cwd=tmp_path),
                   "the time of slow (m.py:1), line 3")
    # Same unit: summed exactly, no float rounding of a time of 2**63 - 1.
    ok(lw("merge", "-f", "-q", "one.lw", results, write(tmp_path / "z.lw", []),
          cwd=tmp_path))
    assert load_stats(tmp_path / "one.lw").timings == {("m.py", 1, "slow"): [(3, 1, TWO63)]}


def test_json_with_times_beyond_a_float_is_one_error(tmp_path):
    results = write(tmp_path / "u.lw", [fn("m.py", 1, "slow", [(2, 1, TWO63)])], unit=1e300)
    one_line_error(lw("view", "--json", results, cwd=tmp_path),
                   "cannot write JSON", "slow (m.py:1), line 2")
    ok(lw("view", results, cwd=tmp_path))


def test_a_share_beyond_the_total_fits_its_column(tmp_path):
    results = write(tmp_path / "odd.lw", [fn("m.py", 1, "odd",
                                             [(2, 1, TWO63), (3, 1, 1 - TWO63)],
                                             ["def odd():\n", "    a\n", "    b\n"])])
    text = ok(lw("view", results, cwd=tmp_path)).stdout
    rows = text.split("=\n")[1].splitlines()
    assert "922337203685477580800.0" not in text
    header = [line for line in text.splitlines() if line.startswith("Line #")][0]
    where = header.index("Line Contents")
    assert [row[where:] for row in rows[:3]] == ["def odd():", "    a", "    b"]
    assert rows[1][where - 10:where] == "9.22e+20  "
    ok(lw("view", "--html", tmp_path / "odd.html", results, cwd=tmp_path))
    assert "922337203685477580800.0" not in (tmp_path / "odd.html").read_text()


def test_lines_before_the_first_line_are_shown(tmp_path):
    results = write(tmp_path / "late.lw", [fn("m.py", 10, "late", [(5, 3, 30), (11, 1, 10)],
                                              ["def late():\n", "    return 1\n"])])
    text = ok(lw("view", results, cwd=tmp_path)).stdout
    rows = text.split("=\n")[1].rstrip("\n").splitlines()
    assert rows == [
        "     5         3         30.0     10.0     75.0  ",
        "    10                                           def late():",
        "    11         1         10.0     10.0     25.0      return 1",
    ]


# --- the fuzz seeds, hostile ones included ----------------------------------------------

@pytest.mark.parametrize("seed", SEEDS, ids=[os.path.basename(p) for p in SEEDS])
def test_every_seed_views_merges_and_diffs_cleanly(tmp_path, seed):
    path = tmp_path / os.path.basename(seed)
    shutil.copy(seed, path)
    # With --source-from-disk, the riskier way (the tests above cover the default).
    for what, result in every_view(path, tmp_path, "--source-from-disk"):
        if result.returncode:
            one_line_error(result)  # e.g. JSON of a time beyond a float
        assert raw_controls(result.stdout) == [], what
        assert len(result.stdout) < 1_000_000, what
    result = lw("merge", "-f", "-q", "twice.lw", path, path, cwd=tmp_path)
    if result.returncode:  # hits past 64 bits; a function twice in one file
        one_line_error(result)


def test_the_hostile_seeds_are_there():
    names = {os.path.basename(p) for p in SEEDS}
    assert {"hostile-dev-zero.lw", "hostile-proc-environ.lw", "hostile-huge-lineno.lw",
            "hostile-control-chars.lw", "hostile-max-hits.lw"} <= names
