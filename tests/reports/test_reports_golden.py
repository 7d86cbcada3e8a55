"""Golden-file tests: the plain text report, the text diff and the JSON of the fixed
results files in tests/data/reports (made by make_data.py there), compared byte for byte
with the files beside them. LINEWISE_UPDATE_GOLDEN=1 rewrites the goldens instead."""
import io
import os
import pathlib

from linewise.reports.diff import diff_stats
from linewise.reports.diff_text import write_text
from linewise.reports.json import dumps
from linewise.reports.text import show_text

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "reports"
UPDATE = os.environ.get("LINEWISE_UPDATE_GOLDEN") == "1"


def check_golden(name, text):
    path = DATA / name
    if UPDATE:
        path.write_text(text, encoding="utf-8", newline="\n")
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{name} differs from the golden file (LINEWISE_UPDATE_GOLDEN=1 " \
                             "rewrites it; check the diff before committing)"


def test_data_files_are_what_make_data_makes(run1, run2):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_data", DATA / "make_data.py")
    make_data = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_data)
    for loaded, made in ((run1, make_data.run1()), (run2, make_data.run2())):
        assert loaded == made
        assert loaded.meta == made.meta
        assert {k: "".join(v) for k, v in loaded.sources.items()} == \
               {k: "".join(v) for k, v in made.sources.items()}


def test_view_text(run1):
    out = io.StringIO()
    show_text(run1.timings, run1.unit, stream=out, sources=run1.sources, summarize=True)
    check_golden("view.txt", out.getvalue())


def test_diff_text(run1, run2):
    out = io.StringIO()
    write_text(diff_stats(run1, run2, "run1.lw", "run2.lw"), out)
    check_golden("diff.txt", out.getvalue())


def test_diff_text_other_way_round(run1, run2):
    out = io.StringIO()
    write_text(diff_stats(run2, run1, "run2.lw", "run1.lw"), out, unit=1e-6, top=3)
    check_golden("diff-reversed.txt", out.getvalue())


def test_json(run1):
    check_golden("run1.json", dumps(run1))
