"""JSON output (linewise.reports.json): valid against docs/json-schema.json, consistent with
the results it comes from, for fixed files and real profiles alike.

The schema is checked with a small validator written here (the subset of JSON Schema the
schema uses), and with the jsonschema package too when it is installed."""
import io
import json
import math
import pathlib

import pytest

from linewise import LineProfiler, LineStats, load_stats
from linewise.reports.json import FORMAT, VERSION, dumps, to_dict, write_json

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "json-schema.json").read_text(encoding="utf-8"))
DATA = ROOT / "tests" / "data" / "reports"


# --- a small JSON Schema validator (the keywords docs/json-schema.json uses) -------------

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
}
_KNOWN = {"$schema", "$id", "$defs", "$ref", "title", "description", "type", "required",
          "properties", "additionalProperties", "items", "const", "minimum",
          "exclusiveMinimum", "enum"}


def validate(value, schema, root=None, path="$"):
    """Raises AssertionError naming the first place where `value` breaks `schema`."""
    root = schema if root is None else root
    unknown = set(schema) - _KNOWN
    assert not unknown, f"validator does not know {unknown}"
    if "$ref" in schema:
        ref = schema["$ref"]
        assert ref.startswith("#/$defs/"), ref
        validate(value, root["$defs"][ref.split("/")[-1]], root, path)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        assert any(_TYPES[t](value) for t in types), f"{path}: {value!r} is not {types}"
    if "const" in schema:
        assert value == schema["const"] and type(value) is type(schema["const"]), \
            f"{path}: {value!r} != {schema['const']!r}"
    if "enum" in schema:
        assert any(value == v and type(value) is type(v) for v in schema["enum"]), \
            f"{path}: {value!r} not in {schema['enum']!r}"
    if "minimum" in schema and _TYPES["number"](value):
        assert value >= schema["minimum"], f"{path}: {value} < {schema['minimum']}"
    if "exclusiveMinimum" in schema and _TYPES["number"](value):
        assert value > schema["exclusiveMinimum"], f"{path}: {value} <= minimum"
    if isinstance(value, dict):
        for name in schema.get("required", ()):
            assert name in value, f"{path}: missing {name!r}"
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in props:
                validate(item, props[name], root, f"{path}.{name}")
            elif extra is False:
                raise AssertionError(f"{path}: unexpected property {name!r}")
            elif isinstance(extra, dict):
                validate(item, extra, root, f"{path}.{name}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            validate(item, schema["items"], root, f"{path}[{i}]")


def check(document):
    validate(document, SCHEMA)
    try:
        import jsonschema
    except ImportError:
        return
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA).validate(document)


def test_the_validator_catches_mistakes():
    good = to_dict(load_stats(DATA / "run1.lw"))
    validate(good, SCHEMA)
    for breaking in (
        lambda d: d.pop("unit"),
        lambda d: d.update(version=1),
        lambda d: d.update(version=3),
        lambda d: d.update(extra=1),
        lambda d: d["functions"][0]["lines"][0].update(hits=-1),
        lambda d: d["functions"][0]["lines"][0].update(time="1"),
        lambda d: d["functions"][0].update(source=[1]),
        lambda d: d["meta"].update(pid=4242),
        lambda d: d["files"][0].pop("path"),
    ):
        bad = json.loads(json.dumps(good))
        breaking(bad)
        with pytest.raises(AssertionError):
            validate(bad, SCHEMA)


# --- the documents -----------------------------------------------------------------------


def test_fixed_results_validate_and_match():
    stats = load_stats(DATA / "run1.lw")
    doc = json.loads(dumps(stats))
    check(doc)
    assert doc["format"] == FORMAT == "linewise-results" and doc["version"] == VERSION == 2
    assert doc["unit"] == stats.unit
    assert doc["python"] == "3.13.0" and doc["created"] == "2026-01-02T03:04:05+0000"
    assert doc["command"] == "linewise run shop.py --orders 500"
    assert [(f["file"], f["first_line"], f["name"]) for f in doc["functions"]] == \
        list(stats.timings)
    for func, (key, lines) in zip(doc["functions"], stats.timings.items()):
        assert [(ln["line"], ln["hits"]) for ln in func["lines"]] == \
            [(ln, h) for ln, h, _ in lines]
        for entry, (_, _, t) in zip(func["lines"], lines):
            assert math.isclose(entry["time"], t * stats.unit)
        assert math.isclose(func["total_time"], stats.total_time(key))
        if func["lines"] and func["total_time"]:
            assert math.isclose(sum(ln["percent"] for ln in func["lines"]), 100.0)
    assert math.isclose(doc["total_time"], sum(f["total_time"] for f in doc["functions"]))
    assert sorted(f["path"] for f in doc["files"]) == sorted({k[0] for k in stats.timings})
    cart = doc["functions"][0]
    assert cart["source"][0] == "def total(self, coupon=None):"
    assert cart["source"][14 - cart["first_line"]].strip().startswith("amount += parse_price")
    vanished = [f for f in doc["functions"] if f["name"] == "vanished"][0]
    assert vanished["source"] is None


def test_sorted_by_total_time():
    doc = to_dict(load_stats(DATA / "run1.lw"), sort=True)
    totals = [f["total_time"] for f in doc["functions"]]
    assert totals == sorted(totals, reverse=True)
    check(doc)


def test_real_profile_validates(tmp_path):
    def work(n):
        out = []
        for i in range(n):
            out.append(str(i) + "<script>")
        return out

    lp = LineProfiler(work)
    lp.runcall(work, 100)
    stream = io.StringIO()
    write_json(lp.get_stats(), stream)
    text = stream.getvalue()
    assert text.isascii()
    doc = json.loads(text)
    check(doc)
    func, = doc["functions"]
    assert func["name"].endswith("work")
    assert {ln["line"] - func["first_line"]: ln["hits"] for ln in func["lines"]} == \
        {1: 1, 2: 101, 3: 100, 4: 1}
    assert doc["python"] and doc["created"]
    assert "<script>" in "\n".join(func["source"])

    # and through a results file
    path = tmp_path / "run.lw"
    lp.dump_stats(path)
    again = json.loads(dumps(load_stats(path)))
    check(again)
    assert again["functions"][0]["lines"] == func["lines"]


def test_empty_and_odd_results():
    check(to_dict(LineStats()))
    odd = LineStats({("<string>", 1, "f"): [(1, 0, 0)], ("\udcff.py", 2, "g"): [],
                     ("x.py", 3, "é ☃"): [(4, 1, 10), (4, 2, 30)]},
                    unit=1e-6, meta={"python": "3.12.1"})
    text = dumps(odd)
    doc = json.loads(text)
    check(doc)
    assert doc["created"] is None and doc["command"] is None
    g = [f for f in doc["functions"] if f["name"] == "é ☃"][0]
    assert g["lines"] == [{"line": 4, "hits": 2, "time": 30 * 1e-6, "percent": 100.0}]
