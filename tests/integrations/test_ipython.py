"""%load_ext linewise in a real IPython shell (every flag of %lprun, %%lprun, %%lprun_all),
and in a real Jupyter kernel running a real notebook through nbclient (the HTML output)."""
from __future__ import annotations

import html
import html.parser
import json
import os
import pathlib
import re
import shutil
import struct
import subprocess
import sys
import textwrap
import zlib

import pytest

from conftest import backend

IPython = pytest.importorskip("IPython", reason="IPython is not installed in this venv")
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from IPython.utils.capture import capture_output  # noqa: E402

import linewise  # noqa: E402
from linewise.integrations.ipython import text_report  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# A function with known hits: line 2 once, the loop n+1 times, its body n times.
COUNT = """\
def {name}(n):
    t = 0
    for i in range(n):
        t += i
    return t
"""


def hits_of(stats, name):
    (key,) = [k for k in stats.timings if k[2] == name]
    return {lineno - key[1] + 1: hits for lineno, hits, _t in stats.timings[key]}


EXPECTED = {2: 1, 3: 11, 4: 10, 5: 1}  # COUNT's lines (1-based in the def) for n=10


@pytest.fixture(scope="module")
def ip():
    shell = InteractiveShell.instance()
    result = shell.run_cell("%load_ext linewise")
    assert result.success
    return shell


def run(ip, cell):
    """(the cell's result, stdout, stderr, its display outputs)."""
    with capture_output() as cap:
        result = ip.run_cell(cell)
    return result, cap.stdout, cap.stderr, cap.outputs


def define(ip, name):
    result, _, _, _ = run(ip, COUNT.format(name=name))
    assert result.success


def test_magics_are_registered(ip):
    magics = ip.magics_manager.magics
    assert {"lprun"} <= set(magics["line"])
    assert {"lprun", "lprun_all"} <= set(magics["cell"])


def test_lprun_f_counts_every_line_and_returns_linestats_with_r(ip):
    define(ip, "count_a")
    result, out, err, outputs = run(ip, "stats_a = %lprun -r -f count_a count_a(10)")
    assert result.success, err
    stats = ip.user_ns["stats_a"]
    assert isinstance(stats, linewise.LineStats)
    assert hits_of(stats, "count_a") == EXPECTED
    # Without -r, nothing is returned.
    result, _, _, _ = run(ip, "nothing = %lprun -f count_a count_a(3)")
    assert result.success and ip.user_ns["nothing"] is None


def test_the_display_is_html_and_text(ip):
    define(ip, "count_b")
    result, out, err, outputs = run(ip, "%lprun -f count_b count_b(10)")
    assert result.success, err
    assert len(outputs) == 1
    data = outputs[0].data
    assert data["text/html"].startswith('<iframe class="linewise-report"')
    text = data["text/plain"]
    assert "Function: count_b at line 1" in text
    assert "\x1b[" not in text  # captured output is not a colour terminal
    row = [line for line in text.splitlines() if line.strip().startswith("3 ")]
    assert row and row[0].split()[1] == "11"


def test_cell_sources_are_kept_in_saved_results(ip, tmp_path):
    define(ip, "count_c")
    path = tmp_path / "cell.lw"
    result, out, err, _ = run(ip, f"%lprun -D {path} -f count_c count_c(10)")
    assert result.success, err
    assert f"Results saved to {str(path)!r}" in out
    loaded = linewise.load_stats(path)
    assert hits_of(loaded, "count_c") == EXPECTED
    (key,) = loaded.timings
    assert key[0].startswith("<ipython-input-")
    assert "".join(loaded.sources[key]) == COUNT.format(name="count_c")
    # Viewed later, in another process, the cell's code is there.
    view = subprocess.run([sys.executable, "-m", "linewise", "view", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert view.returncode == 0, view.stderr
    assert "        t += i" in view.stdout
    assert "Function: count_c at line 1" in view.stdout


def test_T_writes_the_text_report(ip, tmp_path):
    define(ip, "count_d")
    path = tmp_path / "report.txt"
    result, out, err, outputs = run(ip, f"s_d = %lprun -r -T {path} -f count_d count_d(10)")
    assert result.success, err
    written = path.read_text(encoding="utf-8")
    assert written == text_report(ip.user_ns["s_d"])
    assert written.rstrip("\n") == outputs[0].data["text/plain"]
    assert "Timer unit: 1e-09 s" in written and "Function: count_d" in written


def test_u_sets_the_text_unit(ip, tmp_path):
    define(ip, "count_e")
    path = tmp_path / "ms.txt"
    result, _, err, _ = run(ip, f"%lprun -u 1e-3 -T {path} -f count_e count_e(10)")
    assert result.success, err
    assert path.read_text().startswith("Timer unit: 0.001 s\n")
    result, _, err, _ = run(ip, f"%lprun -u ms -T {path} -f count_e count_e(10)")
    assert result.success, err
    assert path.read_text().startswith("Timer unit: 0.001 s\n")


@pytest.mark.parametrize("flag", ["-z", "-s"])
def test_z_and_s_leave_out_what_never_ran(ip, tmp_path, flag):
    define(ip, "ran_f")
    define(ip, "idle_f")
    path = tmp_path / "z.txt"
    result, _, err, _ = run(ip, f"%lprun -T {path} -f ran_f -f idle_f ran_f(3)")
    assert result.success, err
    assert "Function: idle_f" in path.read_text() and "Function: ran_f" in path.read_text()
    result, _, err, outputs = run(ip, f"%lprun {flag} -T {path} -f ran_f -f idle_f ran_f(3)")
    assert result.success, err
    assert "Function: idle_f" not in path.read_text()
    assert "Function: ran_f" in path.read_text()
    assert "idle_f" not in outputs[0].data["text/plain"]


def test_f_takes_a_class_and_a_module_and_m_a_module(ip, tmp_path, monkeypatch):
    (tmp_path / "lw_ipy_mod.py").write_text(textwrap.dedent("""\
        def helper(n):
            return n + 1

        class Box:
            def get(self):
                return helper(1)
        """))
    monkeypatch.syspath_prepend(str(tmp_path))
    result, _, err, _ = run(ip, "import lw_ipy_mod\n"
                                "s_m = %lprun -r -m lw_ipy_mod lw_ipy_mod.Box().get()")
    assert result.success, err
    names = {k[2] for k in ip.user_ns["s_m"].timings}
    assert names == {"helper", "Box.get"}
    result, _, err, _ = run(ip, "s_c = %lprun -r -f lw_ipy_mod.Box lw_ipy_mod.Box().get()")
    assert result.success, err
    assert {k[2] for k in ip.user_ns["s_c"].timings} == {"Box.get"}
    result, _, err, _ = run(ip, "s_o = %lprun -r -f lw_ipy_mod lw_ipy_mod.Box().get()")
    assert result.success, err
    assert {k[2] for k in ip.user_ns["s_o"].timings} == {"helper", "Box.get"}


def test_cell_magic_profiles_the_body(ip):
    define(ip, "count_g")
    result, _, err, _ = run(ip, "%%lprun -r -f count_g\ncount_g(10)\ncount_g(10)\n")
    assert result.success, err
    stats = result.result
    assert hits_of(stats, "count_g") == {2: 2, 3: 22, 4: 20, 5: 2}


def test_lprun_all_profiles_every_line_of_the_cell(ip):
    cell = ("%%lprun_all -r -t\n"
            "def sq(x):\n"
            "    return x * x\n"
            "total = 0\n"
            "for i in range(4):\n"
            "    total += sq(i)\n")
    result, _, err, _ = run(ip, cell)
    assert result.success, err
    stats = result.result
    assert ip.user_ns["total"] == 14
    assert isinstance(ip.user_ns["_total_time_taken"], float)
    assert hits_of(stats, "sq") == {2: 4}
    (key,) = [k for k in stats.timings if k[2] == "<cell>"]
    assert {ln: h for ln, h, _ in stats.timings[key]} == {1: 1, 3: 1, 4: 5, 5: 4}
    # -p: the top-level code only.
    result, _, err, _ = run(ip, cell.replace("-r -t", "-r -p"))
    assert result.success, err
    assert {k[2] for k in result.result.timings} == {"<cell>"}


@pytest.mark.parametrize("line, message", [
    ("%lprun -f undefined_name undefined_name()",
     "UsageError: -f undefined_name: NameError: name 'undefined_name' is not defined"),
    ("%lprun -m no_such_module_lw x = 1",
     "UsageError: -m no_such_module_lw: ModuleNotFoundError: No module named "
     "'no_such_module_lw'"),
    ("%lprun -f 3 x = 1", "UsageError: -f 3: a int is not a function, class or module"),
    ("%lprun -u fortnights x = 1", "UsageError: -u: not a time unit: 'fortnights'"),
    ("%lprun -z", "UsageError: %lprun needs a statement to run, after the options"),
    ("%lprun x = (", "UsageError: cannot compile the statement: "),
    ("%lprun -q x = 1", "UsageError: option -q not recognized"),
])
def test_errors_are_one_line(ip, line, message):
    result, out, err, _ = run(ip, line)
    assert not result.success
    shown = (out + err).strip().splitlines()
    assert len(shown) == 1, out + err
    assert shown[0].startswith(message), shown
    assert "Traceback" not in out + err


def test_an_exception_in_the_statement_shows_the_results_then_the_error(ip):
    run(ip, "def boom(n):\n    x = n\n    return 1 / x\n")
    result, out, err, outputs = run(ip, "%lprun -f boom boom(0)")
    assert isinstance(result.error_in_exec, ZeroDivisionError)
    assert len(outputs) == 1 and "Function: boom" in outputs[0].data["text/plain"]


def test_linestats_repr_html(ip):
    define(ip, "count_h")
    run(ip, "s_h = %lprun -r -f count_h count_h(10)")
    page = PageParser.of(ip.user_ns["s_h"]._repr_html_())
    assert page.hits("count_h") == {2: 1, 3: 11, 4: 10, 5: 1}


# -- the HTML, parsed ------------------------------------------------------------------


class PageParser(html.parser.HTMLParser):
    """The iframe's page: its line rows {function name: {lineno: hits}}, and what links
    or loads anything."""

    def __init__(self):
        super().__init__()
        self.srcdoc = None
        self.iframes = []
        self.rows = {}  # row id ("f1-L3") -> [cell texts]
        self.names = {}  # details id -> function name
        self.external = []
        self.scripts_src = []
        self._row = None
        self._cell = None
        self._details = None
        self._in_fname = False

    @classmethod
    def of(cls, fragment):
        outer = cls()
        outer.feed(fragment)
        assert len(outer.iframes) == 1, "the output is one iframe"
        inner = cls()
        inner.feed(outer.iframes[0]["srcdoc"])
        inner.outer = outer
        return inner

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "iframe":
            self.iframes.append(attrs)
        if tag == "script" and "src" in attrs:
            self.scripts_src.append(attrs["src"])
        for name in ("src", "href", "action"):
            value = attrs.get(name) or ""
            if "://" in value or value.startswith("//"):
                self.external.append(value)
        if tag == "details":
            self._details = attrs.get("id")
        if tag == "span" and attrs.get("class") == "fname" and self._details:
            self._in_fname = True
        if tag == "tr" and "-L" in (attrs.get("id") or ""):
            self._row = attrs["id"]
            self.rows[self._row] = []
        if tag == "td" and self._row:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self._row and self._cell is not None:
            self.rows[self._row].append("".join(self._cell))
            self._cell = None
        if tag == "tr":
            self._row = None
        if tag == "span":
            self._in_fname = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in_fname and self._details not in self.names:
            self.names[self._details] = data

    def hits(self, name):
        (fid,) = [f for f, n in self.names.items() if n == name]
        first = None
        out = {}
        for row_id, cells in self.rows.items():
            rfid, _, lineno = row_id.partition("-L")
            if rfid != fid:
                continue
            lineno = int(lineno)
            first = lineno if first is None else first
            if cells[1]:
                out[lineno - first + 1] = int(cells[1])
        return out


def test_html_loads_nothing_from_elsewhere(ip):
    define(ip, "count_i")
    run(ip, "s_i = %lprun -r -f count_i count_i(10)")
    page = PageParser.of(ip.user_ns["s_i"]._repr_html_())
    assert page.outer.iframes[0]["sandbox"] == "allow-scripts"
    assert page.scripts_src == [] and page.external == [] and page.outer.external == []


# -- a real kernel, a real notebook ------------------------------------------------------


def _notebook_client():
    try:
        import nbformat
        from nbclient import NotebookClient
        import ipykernel  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"cannot run a notebook here: {exc}")
    return nbformat, NotebookClient


def _execute(cells, tmp_path):
    nbformat, NotebookClient = _notebook_client()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    client = NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    path = tmp_path / "run.ipynb"
    nbformat.write(nb, str(path))
    return nbformat.read(str(path), as_version=4)


def test_a_notebook_shows_the_html_report(tmp_path):
    nb = _execute([
        "import sys; print(sys.executable)",
        "%load_ext linewise",
        COUNT.format(name="count_nb"),
        "%lprun -D saved.lw -f count_nb count_nb(10)",
        "stats = %lprun -r -f count_nb count_nb(10)",
        "stats",
    ], tmp_path)
    assert nb.cells[0].outputs[0]["text"].strip() == sys.executable
    for index, kind in ((3, "display_data"), (4, "display_data"), (5, "execute_result")):
        outputs = nb.cells[index].outputs
        rich = [o for o in outputs if o.output_type in ("display_data", "execute_result")]
        assert [o.output_type for o in rich] == [kind], outputs
        data = rich[0]["data"]
        assert "\x1b[" not in data["text/plain"]
        if kind == "display_data":
            assert "Function: count_nb at line 1" in data["text/plain"]
        page = PageParser.of(data["text/html"])
        assert page.hits("count_nb") == EXPECTED
        assert page.scripts_src == [] and page.external == [] and page.outer.external == []
    # The cell's source, saved by the kernel's run, is in the file.
    loaded = linewise.load_stats(tmp_path / "saved.lw")
    (key,) = loaded.timings
    assert "".join(loaded.sources[key]) == COUNT.format(name="count_nb")


def test_the_walkthrough_notebook(tmp_path):
    pytest.importorskip("sklearn", reason="scikit-learn is not installed (make demo installs it)")
    nbformat, NotebookClient = _notebook_client()
    nb = nbformat.read(os.path.join(ROOT, "examples", "walkthrough.ipynb"), as_version=4)
    # One fit before the profiled one: a first call's one-off costs (imports, caches in
    # scikit-learn's validation) can come close to lstsq's time on a busy machine, and
    # they are not what the walkthrough is about.
    first_code = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "code")
    nb.cells.insert(first_code + 1, nbformat.v4.new_code_cell("est.fit(X, y);"))
    lprun = next(i for i, cell in enumerate(nb.cells)
                 if cell.cell_type == "code" and cell.source.startswith("%lprun"))
    # Which line is hottest is read from 20 fits profiled together: one fit lasts about a
    # millisecond, so on a busy machine a single pause of the kernel's process can land on
    # any line and outweigh lstsq (validate_data came first once in CI, 1.3 ms).
    nb.cells.append(nbformat.v4.new_code_cell(
        "_lw = %lprun -r -f est.fit for _ in range(20): est.fit(X, y)"))
    nb.cells.append(nbformat.v4.new_code_cell(
        "import json, linecache\n"
        "_key = next(k for k in _lw.timings if k[2] == 'LinearRegression.fit')\n"
        "_rows = sorted(_lw.timings[_key], key=lambda r: r[2], reverse=True)\n"
        "print(json.dumps([[n, h, linecache.getline(_key[0], n)] for n, h, _t in _rows]))"))
    client = NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    shown = [o for o in nb.cells[lprun].outputs
             if o.output_type == "display_data" and "text/html" in o.get("data", {})]
    assert len(shown) == 1
    text = shown[0]["data"]["text/plain"]
    # fit's own table (the wrapper scikit-learn puts around it has one of its own).
    table = text[text.index("Function: LinearRegression.fit at line"):].split("Total time:")[0]
    assert "lstsq(" in table
    ranked = json.loads("".join(o.get("text", "") for o in nb.cells[-1].outputs
                                if o.output_type == "stream"))
    assert all(hits % 20 == 0 for _n, hits, _src in ranked), ranked
    if backend() == "monitoring":
        assert "lstsq(" in ranked[0][2], ranked
    else:
        # The legacy trace hook costs something at every unprofiled call too, so the
        # validate_data line, which makes many, can come near lstsq's (1.9 ms against
        # 1.6 ms once under load): lstsq is then one of the two hottest lines.
        assert any("lstsq(" in src for _n, _h, src in ranked[:2]), ranked
    # The output as a browser shows it (LINEWISE_UPDATE_DOCS=1: also as docs/notebook.png).
    if _find_chromium():
        shot = render_in_chromium(shown[0]["data"]["text/html"], tmp_path,
                                  "%lprun -f est.fit est.fit(X, y)")
        if os.environ.get("LINEWISE_UPDATE_DOCS") == "1":
            shutil.copyfile(shot, os.path.join(ROOT, "docs", "notebook.png"))


# -- in a real browser ---------------------------------------------------------------------


def _find_chromium():
    names = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
    return next(filter(None, map(shutil.which, names)), None)


def render_in_chromium(fragment, tmp_path, magic, size=(1100, 820)):
    """Screenshots `fragment` (a notebook output) under a cell's input line in headless
    Chromium; checks that the console shows no error (no CSP refusal, no script error)
    and that the output is not blank; returns the PNG's path."""
    host = tmp_path / "cell.html"
    host.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>cell</title></head>'
        '<body style="margin:12px;font-family:sans-serif;background:#fff">'
        '<pre style="background:#f5f5f5;padding:8px;margin:0 0 8px;font-size:14px">'
        f'In [3]: {html.escape(magic)}</pre>{fragment}</body></html>', encoding="utf-8")
    shot = tmp_path / "notebook.png"
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS", "PYTHONMALLOC")}
    # Headless Chromium takes the screenshot at the page's load event, which may come
    # before the sandboxed frame is painted (about 1 run in 6 here; virtual time, which
    # would wait, skips the frame altogether): a blank shot is taken again, up to 5 times.
    for _attempt in range(5):
        cmd = [_find_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
               "--no-first-run", "--disable-dev-shm-usage", "--hide-scrollbars",
               f"--user-data-dir={tmp_path / 'chromium-profile'}", "--enable-logging=stderr",
               "--v=0", "--run-all-compositor-stages-before-draw", f"--screenshot={shot}",
               "--window-size=%d,%d" % size, host.as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
        assert proc.returncode == 0, proc.stderr[-3000:]
        errors = [line for line in proc.stderr.splitlines() if "CONSOLE" in line
                  and re.search(r"Uncaught|Error|Refused|violat", line)]
        assert not errors, errors
        if _distinct_rows(shot, top=100) > 50:
            break
    else:
        raise AssertionError("the report in the output is blank in 5 screenshots")
    return shot


def _distinct_rows(path, top):
    """How many distinct pixel rows the PNG has below its first `top` rows (the input)."""
    data = pathlib.Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, _depth, color_type = struct.unpack(">IIBB", body[:10])
            channels = 3 if color_type == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = 1 + width * channels
    return len({raw[i + 1:i + stride] for i in range(stride * top, len(raw), stride)})


def test_the_html_output_renders_in_chromium(ip, tmp_path):
    if not _find_chromium():
        pytest.skip("Chromium is not installed (tests/reports/test_html.py installs it)")
    define(ip, "count_j")
    _, _, _, outputs = run(ip, "%lprun -f count_j count_j(10)")
    render_in_chromium(outputs[0].data["text/html"], tmp_path, "%lprun -f count_j count_j(10)")
