"""HTML reports (linewise.reports.html): structure and escaping checked by parsing the page, then
the page opened in a real headless Chromium: it renders (a screenshot that is not blank),
has its title, its script ran, and the console shows no error.

Chromium is Debian's `chromium` package. When it is missing and the tests run as root,
the fixture installs it (apt-get, once); the browser tests are skipped, saying why, only
when that is impossible."""
import html
import html.parser
import os
import pathlib
import re
import shutil
import struct
import subprocess
import zlib

import pytest

from linewise import LineStats
from linewise.reports.diff import diff_stats
from linewise.reports.html import SCRIPT, format_seconds, render_diff, render_report, write_diff, \
    write_report

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "reports"


# --- parsing -----------------------------------------------------------------------------


class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children, self.parts = [], []  # parts: text and child nodes, in order

    def all(self, tag=None, cls=None):
        for child in self.children:
            if (tag is None or child.tag == tag) and \
                    (cls is None or cls in child.attrs.get("class", "").split()):
                yield child
            yield from child.all(tag, cls)

    def content(self):
        return "".join(p if isinstance(p, str) else p.content() for p in self.parts)


class Tree(html.parser.HTMLParser):
    """A strict enough DOM: fails on a closing tag that does not match."""

    VOID = {"meta", "input", "br", "img", "link", "hr"}

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.root = self.node = Node("#root", {})
        self.doctype = None
        self.feed(text)
        self.close()
        assert self.node is self.root, f"unclosed <{self.node.tag}>"

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.node)
        self.node.children.append(node)
        self.node.parts.append(node)
        if tag not in self.VOID:
            self.node = node

    def handle_endtag(self, tag):
        assert self.node.tag == tag, f"</{tag}> closes <{self.node.tag}>"
        self.node = self.node.parent

    def handle_data(self, data):
        self.node.parts.append(data)


def check_self_contained(page, tree):
    """Nothing is loaded from anywhere: no src, no external href, no CSS url()."""
    for node in tree.root.all():
        assert "src" not in node.attrs, node.tag
        href = node.attrs.get("href")
        assert href is None or href.startswith("#"), href
    assert node.tag != "link"
    assert "url(" not in page and "@import" not in page
    csp = [m for m in tree.root.all("meta") if m.attrs.get("http-equiv") ==
           "Content-Security-Policy"]
    assert len(csp) == 1 and "default-src 'none'" in csp[0].attrs["content"]
    scripts = [s for s in tree.root.all("script") if "type" not in s.attrs]
    assert len(scripts) == 1 and scripts[0].content().strip() == SCRIPT.strip()
    data = [s for s in tree.root.all("script") if "type" in s.attrs]  # JSON, never run
    assert all(s.attrs == {"type": "application/json", "id": "lw-data"} for s in data)
    assert len(data) <= 1


def test_report_structure(run1):
    page = render_report(run1, label="run1.lw", show_all=True)
    tree = Tree(page)
    assert tree.doctype.lower() == "doctype html"
    check_self_contained(page, tree)
    title, = tree.root.all("title")
    assert title.content() == "linewise report: run1.lw"
    funcs = list(tree.root.all("details", "func"))
    names = [next(f.all("span", "fname")).content() for f in funcs]
    # sorted by total time, longest first
    assert names == ["Cart.total", "parse_price", "legacy_discount", "vanished", "idle"]
    assert len({f.attrs["id"] for f in funcs}) == len(funcs)
    summary = next(tree.root.all("dl", "summary")).content()
    assert "110 ms in 5 functions, 4 files" in summary
    assert "linewise run shop.py --orders 500" in summary
    assert "cpython 3.13.0" in summary and "2026-01-02T03:04:05+0000" in summary
    # every source line is a row; the hot line has its heat bar and class
    cart = funcs[0]
    rows = list(cart.all("tr"))[1:]
    assert len(rows) == 9
    hot = [r for r in rows if "amount += parse_price" in r.content()][0]
    assert "h3" in hot.attrs["class"]
    bar, = hot.all("i")
    assert bar.attrs["style"] == "width:83.50%"
    cells = [td.content() for td in hot.all("td")]
    assert cells[:5] == ["14", "25000", "61 ms", "2.44 µs", "83.5"]
    never = [r for r in rows if "raise" in r.content() or "# never below" in r.content()]
    assert all("idle" in r.attrs.get("class", "") for r in never)
    # the file without source says so, and still lists its timed lines
    vanished = funcs[3]
    assert "source file was not found" in vanished.content()
    assert [td.content() for td in list(vanished.all("tr"))[-1].all("td")][:2] == ["9", "3"]
    # the hottest lines list links into the tables
    links = [a.attrs["href"] for a in tree.root.all("a")]
    assert "#f1-L14" in links
    assert all(tree.root for _ in links)
    ids = {n.attrs.get("id") for n in tree.root.all()}
    assert all(link[1:] in ids for link in links)


def test_report_escapes_source_and_names():
    source = ["def evil():",
              "    s = '<script>alert(\"pwned\")</script>'",
              "    t = '</td></tr></table><img src=x onerror=alert(1)>'",
              "    return s + t + '&amp; \"quoted\"'"]
    key = ('<b>bad" name.py', 1, 'evil</summary><script>alert(2)</script>')
    stats = LineStats({key: [(2, 1, 10), (3, 1, 20), (4, 1, 30)]},
                      meta={"command": "run --x='<script>'"}, sources={key: source})
    page = render_report(stats, label="<i>label</i>")
    tree = Tree(page)  # parses: nothing closed early
    check_self_contained(page, tree)
    assert "<img" not in page and "<b>bad" not in page and "<i>label" not in page
    assert page.count("<script>") == 1  # ours
    text = next(tree.root.all("details", "func")).content()
    for line in source[1:]:
        assert line.strip() in text.replace("\n", "")
    assert key[2] in text  # the name, shown as text
    assert html.escape(key[0]) in page


def test_report_without_pygments(run1, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pygments", None)
    page = render_report(run1)
    tree = Tree(page)
    assert not list(tree.root.all("span", "k"))
    assert "return max(amount, 0)" in next(tree.root.all("details", "func")).content()


def test_report_with_pygments_highlights(run1):
    pytest.importorskip("pygments")
    tree = Tree(render_report(run1))
    keywords = {s.content() for s in tree.root.all("span", "k")}
    assert {"def", "for", "in", "return", "if"} <= keywords


def test_empty_report():
    page = render_report(LineStats())
    tree = Tree(page)
    check_self_contained(page, tree)
    assert list(tree.root.all("details", "func")) == []


def test_diff_structure(run1, run2):
    page = render_diff(diff_stats(run1, run2, "run1.lw", "run2.lw"))
    tree = Tree(page)
    check_self_contained(page, tree)
    title, = tree.root.all("title")
    assert title.content() == "linewise diff: run1.lw → run2.lw"
    funcs = list(tree.root.all("details", "func"))
    names = [next(f.all("span", "fname")).content() for f in funcs]
    assert names == ["Cart.total", "Cart.add", "legacy_discount", "parse_price", "vanished",
                     "idle"]
    cart = funcs[0]
    removed = [r for r in cart.all("tr") if "removed" in r.attrs.get("class", "")]
    added = [r for r in cart.all("tr") if "added" in r.attrs.get("class", "")]
    assert len(removed) == 3 and len(added) == 4
    assert any("legacy_discount(amount, coupon)" in r.content() for r in removed)
    assert "shop/cart.py:10 → 13" in cart.content()
    summary = next(tree.root.all("dl", "summary")).content()
    assert "110 ms → 57.9 ms" in summary and "(0.52x)" in summary
    assert "6 (4 on both sides, 1 only before, 1 only after)" in summary
    wins = [s.content() for s in tree.root.all(cls="win")]
    assert "-53.2 ms" in wins
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page or \
           "&lt;script&gt;alert" in page


@pytest.mark.parametrize("seconds, text", [
    (0, "0"), (1.5, "1.5 s"), (0.0125, "12.5 ms"), (2.44e-6, "2.44 µs"), (351e-9, "351 ns"),
    (-0.0532, "-53.2 ms"), (4e-12, "0.004 ns"), (1234.5, "1234 s"), (999.9e-9, "1000 ns"),
])
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text


# --- in a real browser -------------------------------------------------------------------

_INSTALL_TRIED = []


def _find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="session")
def chromium():
    path = _find_chromium()
    if path:
        return path
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("Chromium is not installed, and installing it (apt-get install chromium) "
                    "needs root")
    if shutil.which("apt-get") is None:
        pytest.skip("Chromium is not installed and there is no apt-get to install it with")
    if not _INSTALL_TRIED:
        _INSTALL_TRIED.append(True)
        env = dict(_browser_env(), DEBIAN_FRONTEND="noninteractive")
        try:
            subprocess.run("apt-get update -qq && apt-get install -y -qq chromium",
                           shell=True, env=env, timeout=900, check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except subprocess.TimeoutExpired:
            pass
    path = _find_chromium()
    if not path:
        pytest.skip("Chromium is not installed and 'apt-get install chromium' failed "
                    "(no package source reachable?)")
    return path


def _browser_env():
    """The environment without sanitizer settings (make test-asan preloads ASan into the
    Python under test; Chromium is not ours to sanitize, and would fail under it)."""
    drop = ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS", "PYTHONMALLOC")
    return {k: v for k, v in os.environ.items() if k not in drop}


def run_chromium(chromium, tmp_path, url, *mode):
    """Runs headless Chromium on `url` with `mode` flags; returns (stdout, stderr)."""
    profile = tmp_path / "chromium-profile"
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-dev-shm-usage", "--hide-scrollbars", f"--user-data-dir={profile}",
           "--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000", *mode, url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          env=_browser_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout, proc.stderr


def console_errors(stderr):
    """Console messages of the page that are errors (uncaught exceptions, CSP refusals)."""
    return [line for line in stderr.splitlines() if "CONSOLE" in line
            and re.search(r"Uncaught|Error|Refused|violat", line)]


def png_rows(path):
    """(width, height, the distinct filtered scanlines, distinct byte values) of a PNG."""
    data = pathlib.Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color_type = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color_type in (2, 6), (depth, color_type)
            channels = 3 if color_type == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = 1 + width * channels
    assert len(raw) == stride * height
    rows = {raw[i:i + stride] for i in range(0, len(raw), stride)}
    return width, height, len(rows), len(set(raw))


def check_page_in_browser(chromium, tmp_path, page_path, title, size=(1280, 1000)):
    url = page_path.as_uri()
    shot = tmp_path / (page_path.stem + ".png")
    _, stderr = run_chromium(chromium, tmp_path, url, f"--screenshot={shot}",
                             "--window-size=%d,%d" % size)
    assert not console_errors(stderr), console_errors(stderr)
    width, height, distinct_rows, distinct_bytes = png_rows(shot)
    assert (width, height) == size
    assert distinct_rows > 50 and distinct_bytes > 50, "the screenshot is blank"
    dom, stderr = run_chromium(chromium, tmp_path, url, "--dump-dom")
    assert not console_errors(stderr), console_errors(stderr)
    assert f"<title>{html.escape(title, quote=False)}</title>" in dom
    html_tag = re.search(r"<html[^>]*>", dom).group(0)
    assert 'data-js-ready="1"' in html_tag, "the page script did not finish"
    assert "data-js-error" not in html_tag, html_tag
    return dom


def test_report_renders_in_chromium(chromium, tmp_path, run1):
    page = tmp_path / "report.html"
    write_report(run1, page, label="run1.lw", show_all=True)
    dom = check_page_in_browser(chromium, tmp_path, page, "linewise report: run1.lw")
    assert dom.count('class="func"') == 5


def test_diff_renders_in_chromium(chromium, tmp_path, run1, run2):
    page = tmp_path / "diff.html"
    write_diff(diff_stats(run1, run2, "run1.lw", "run2.lw"), page)
    check_page_in_browser(chromium, tmp_path, page, "linewise diff: run1.lw → run2.lw")


def test_search_filters_functions_in_chromium(chromium, tmp_path, run1):
    page = tmp_path / "report.html"
    write_report(run1, page, show_all=True)
    dom, stderr = run_chromium(chromium, tmp_path, page.as_uri() + "?q=parse_price",
                               "--dump-dom")
    assert not console_errors(stderr)
    hidden = re.findall(r'<details class="func" id="(f\d)"[^>]*\bhidden', dom)
    shown = re.findall(r'<details class="func" id="(f\d)"(?![^>]*\bhidden)[^>]*>', dom)
    # parse_price itself, and Cart.total, whose code calls it
    assert sorted(shown) == ["f1", "f2"] and len(hidden) == 3
    assert "2 of 5 functions" in dom


def test_broken_page_is_caught(chromium, tmp_path):
    # The checks above can fail: a script error shows in the console and in the marker.
    page = tmp_path / "broken.html"
    text = render_report(LineStats()).replace('root.setAttribute("data-js-ready", "1");',
                                              "undefinedFunction();")
    page.write_text(text, encoding="utf-8")
    dom, stderr = run_chromium(chromium, tmp_path, page.as_uri(), "--dump-dom")
    html_tag = re.search(r"<html[^>]*>", dom).group(0)
    assert 'data-js-ready="1"' not in html_tag
    assert 'data-js-error="ReferenceError' in html_tag or "data-js-error=\"Uncaught" in html_tag
    assert console_errors(stderr)


def test_methods_are_shown_without_their_common_indent():
    source = ["    def method(self):", "        x = 1", "", "        return x"]
    key = ("m.py", 5, "C.method")
    stats = LineStats({key: [(6, 1, 10), (8, 1, 10)]}, sources={key: source})
    tree = Tree(render_report(stats))
    cells = [td.content() for td in tree.root.all("td", "src")]
    assert cells == ["def method(self):", "    x = 1", "", "    return x"]
    diff = diff_stats(stats, stats)
    tree = Tree(render_diff(diff))
    cells = [td.content() for td in tree.root.all("td", "src")]
    assert cells == ["def method(self):", "    x = 1", "", "    return x"]
