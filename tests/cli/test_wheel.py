"""What the wheel and the sdist hold, and `linewise view --json-schema`.

The wheel is built with this venv's pip (``pip wheel --no-deps --no-build-isolation``) and
the sdist with setuptools' PEP 517 hook, both from a copy of the source tree (so the
worktree gets no build/ or egg-info, and parallel runs do not share one). The engine is
compiled at -O0: what is packed does not depend on it, and it keeps the build short.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA = os.path.join(ROOT, "src", "linewise", "json-schema.json")
ENGINE_SOURCES = sorted(n for n in os.listdir(os.path.join(ROOT, "src", "linewise", "_engine"))
                        if n.endswith((".c", ".h")))

# Packaging does not depend on the backend: on 3.12+, where the suite runs once per
# backend, build only in the default (sys.monitoring) run.
pytestmark = [
    pytest.mark.wheel,
    pytest.mark.skipif(sys.version_info >= (3, 12)
                       and os.environ.get("LINEWISE_BACKEND") == "legacy",
                       reason="built once per Python, in the sys.monitoring run"),
]


def _copy_tree(dest):
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "LICENSE", "README.md"):
        if os.path.exists(os.path.join(ROOT, name)):  # a missing one fails the asserts
            shutil.copy2(os.path.join(ROOT, name), dest)
    shutil.copytree(os.path.join(ROOT, "docs"), os.path.join(dest, "docs"), symlinks=True)
    shutil.copytree(os.path.join(ROOT, "src"), os.path.join(dest, "src"),
                    ignore=shutil.ignore_patterns("*.so", "__pycache__", "*.egg-info"))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(names in the wheel, names in the sdist without its top directory, wheel path)."""
    where = tmp_path_factory.mktemp("tree")
    out = tmp_path_factory.mktemp("dist")
    _copy_tree(where)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["LINEWISE_CFLAGS"] = (env.get("LINEWISE_CFLAGS", "") + " -O0").strip()
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    wheel = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                            "--no-build-isolation", "-q", "-w", str(out), "."],
                           cwd=where, env=env, capture_output=True, text=True, timeout=300)
    assert wheel.returncode == 0, wheel.stderr
    sdist = subprocess.run([sys.executable, "-c",
                            "import sys; from setuptools import build_meta; "
                            "print(build_meta.build_sdist(sys.argv[1]))", str(out)],
                           cwd=where, env=env, capture_output=True, text=True, timeout=300)
    assert sdist.returncode == 0, sdist.stderr
    [whl] = [n for n in os.listdir(out) if n.endswith(".whl")]
    [tgz] = [n for n in os.listdir(out) if n.endswith(".tar.gz")]
    with zipfile.ZipFile(out / whl) as z:
        wheel_names = set(z.namelist())
    with tarfile.open(out / tgz) as t:
        sdist_names = {m.name.split("/", 1)[1] for m in t.getmembers() if "/" in m.name}
    return wheel_names, sdist_names, out / whl


def test_wheel_ships_the_license_and_the_schema(built):
    names, _, path = built
    assert "linewise-0.1.0.dist-info/licenses/LICENSE" in names
    assert "linewise/json-schema.json" in names
    with zipfile.ZipFile(path) as z:
        metadata = z.read("linewise-0.1.0.dist-info/METADATA").decode()
        with open(SCHEMA, "rb") as f:
            assert z.read("linewise/json-schema.json") == f.read()
        with open(os.path.join(ROOT, "LICENSE"), "rb") as f:
            assert z.read("linewise-0.1.0.dist-info/licenses/LICENSE") == f.read()
    assert "License-Expression: MIT" in metadata.splitlines()
    assert "License-File: LICENSE" in metadata.splitlines()


def test_wheel_holds_the_package_and_the_engine_not_its_sources(built):
    names, _, _ = built
    package = {n for n in names if not n.startswith("linewise-0.1.0.dist-info/")}
    engines = [n for n in package if n.startswith("linewise/_engine.") and n.endswith(".so")]
    assert len(engines) == 1, package
    assert not [n for n in names if n.endswith((".c", ".h"))], names
    assert not [n for n in names if n.startswith("linewise/_engine/")]
    modules = {n for n in package if n.endswith(".py")}
    expected = {"/".join(("linewise",) + parts) for parts in _source_files(".py")}
    assert modules == expected
    # The subpackages too (packages.find's "linewise.*").
    for name in ("cli/__init__", "cli/common", "cli/run", "cli/view", "cli/merge",
                 "cli/diff", "integrations/__init__", "reports/text"):
        assert f"linewise/{name}.py" in modules, name
    # --memory=native's malloc hook, a plain shared library, is built on Linux only.
    hooks = [n for n in package if n.startswith("linewise/_native_malloc.") and n.endswith(".so")]
    assert len(hooks) == (1 if sys.platform.startswith("linux") else 0), package
    assert package == (modules | set(engines) | set(hooks) | {"linewise/json-schema.json"}
                       | TEMPLATES)


def _source_files(ext):
    """The paths (as tuples of parts, below src/linewise) of the package's files ending in
    `ext`, in every subpackage but the engine's C sources."""
    top = os.path.join(ROOT, "src", "linewise")
    found = set()
    for where, dirs, names in os.walk(top):
        dirs[:] = [d for d in dirs if d not in ("_engine", "__pycache__")]
        rel = os.path.relpath(where, top)
        parts = () if rel == "." else tuple(rel.split(os.sep))
        found |= {parts + (n,) for n in names if n.endswith(ext)}
    return found


#: The HTML report's templates, read with importlib.resources: they must be in the wheel.
TEMPLATES = {f"linewise/reports/templates/{n}" for n in ("page.html", "report.css", "report.js",
                                                          "big.css", "lazy.js", "processes.js")}


def test_wheel_ships_the_html_templates(built):
    names, _, path = built
    assert TEMPLATES <= names, sorted(names)
    with zipfile.ZipFile(path) as z:
        for name in TEMPLATES:
            with open(os.path.join(ROOT, "src", *name.split("/")), "rb") as f:
                assert z.read(name) == f.read(), name


def test_sdist_holds_the_sources_and_the_license(built):
    _, names, _ = built
    for name in ("LICENSE", "README.md", "pyproject.toml", "setup.py", "MANIFEST.in",
                 "src/linewise/json-schema.json", "docs/results-format.md"):
        assert name in names, name
    for name in TEMPLATES:
        assert f"src/{name}" in names, name
    for name in ENGINE_SOURCES:
        assert f"src/linewise/_engine/{name}" in names, name
    assert not [n for n in names if n.endswith((".so", ".pyc"))], names


def test_view_json_schema_prints_the_shipped_schema():
    result = subprocess.run([sys.executable, "-m", "linewise", "view", "--json-schema"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    with open(SCHEMA, encoding="utf-8") as f:
        text = f.read()
    assert result.stdout == text
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    # docs/json-schema.json is the same file, not a copy that could drift.
    assert os.path.realpath(os.path.join(ROOT, "docs", "json-schema.json")) == SCHEMA


def test_view_help_points_at_json_schema_and_it_takes_no_file(tmp_path):
    help_ = subprocess.run([sys.executable, "-m", "linewise", "view", "--help"],
                           capture_output=True, text=True, timeout=60)
    assert help_.returncode == 0
    assert "linewise view --json-schema" in " ".join(help_.stdout.split())
    assert "docs/json-schema.json" not in help_.stdout
    both = subprocess.run([sys.executable, "-m", "linewise", "view", "--json-schema", "x.lw"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert both.returncode == 2 and "--json-schema takes no FILE" in both.stderr
    assert len(both.stderr.splitlines()) == 1
