"""The package's shape: no import cycles, modules of a readable size, integrations on the
public API only. Read from the source (the AST), nothing is imported to find out."""
from __future__ import annotations

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SRC = os.path.join(ROOT, "src")
PACKAGE = os.path.join(SRC, "linewise")
MAX_LINES = 500
# A longer module says why in its docstring, on a line of its own:
#   Over 500 lines: <the single concern that needs them>.
LONG_MARKER = "Over 500 lines:"

# Imports allowed to close a cycle: a lazy import for display only, each with its reason.
KNOWN_BACK_EDGES: set = {
    # LineStats._repr_html_, called by Jupyter only, renders the notebook's report.
    ("linewise.results", "linewise.integrations.ipython"),
}
# Modules over MAX_LINES allowed without a reason in their header (none).
LONG_PENDING: set = set()


def modules() -> dict:
    """{dotted name: path} of every module of the package (a package is its __init__)."""
    found = {}
    for directory, dirs, files in os.walk(PACKAGE):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(directory, name)
            parts = os.path.relpath(path, SRC)[:-3].split(os.sep)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _parse(path):
    with open(path, encoding="utf-8") as f:
        return ast.parse(f.read(), path)


def imports(name, tree, known, is_package) -> set:
    """The modules of `known` that module `name` imports, at module level or in a
    function, absolute or relative: ``from a.b import c`` is a.b.c if that is a module,
    else a.b."""
    package = name if is_package else name.rpartition(".")[0]
    found = set()

    def resolve(dotted):
        while dotted and dotted not in known:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(resolve(alias.name))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in known else resolve(base))
    found.discard(None)
    found.discard(name)
    return found


def ancestors(name) -> list:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def import_graph(with_package_inits=False) -> dict:
    """{module: the package's modules it imports}. with_package_inits: also the packages
    Python runs the __init__ of on the way to a module (importing linewise.cli.common
    runs linewise/cli/__init__.py), but an importer's own packages (already running)."""
    mods = modules()
    known = set(mods) | {"linewise._engine"}  # the C extension: imports nothing of ours
    graph = {}
    for name, path in mods.items():
        edges = imports(name, _parse(path), known, path.endswith("__init__.py"))
        if with_package_inits:
            own = set(ancestors(name))
            edges |= {a for e in edges for a in ancestors(e)} - own - {name}
        graph[name] = edges
    return graph


def cycles(graph) -> list:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, on_stack, stack, result = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                result.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return result


def _new_cycles(graph):
    graph = {m: {e for e in edges if (m, e) not in KNOWN_BACK_EDGES}
             for m, edges in graph.items()}
    return cycles(graph)


def test_the_graph_sees_every_kind_of_import():
    known = {"p", "p.a", "p.b", "p.sub", "p.sub.c", "p.sub.d", "p.e", "p.f"}
    tree = ast.parse(
        "import p.a\n"
        "from . import b\n"
        "from .sub import c\n"
        "from p.sub.d import name\n"
        "def later():\n"
        "    from .e import thing\n"
        "    import p.f as f\n"
        "class K:\n"
        "    def m(self):\n"
        "        from .. import outside\n"
        "import os, json\n")
    assert imports("p.g", tree, known, False) == {"p.a", "p.b", "p.sub.c", "p.sub.d",
                                                   "p.e", "p.f", None} - {None}
    # In a package's __init__, "." is the package itself; ".." its parent.
    tree = ast.parse("from . import c\nfrom .. import a\nfrom ..b import x\n")
    assert imports("p.sub", tree, known, True) == {"p.sub.c", "p.a", "p.b"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_package_has_no_import_cycles():
    graph = import_graph()
    assert "linewise.cli.run" in graph["linewise.cli"]
    assert "linewise.program" in graph["linewise.cli.run"]  # a function-level import
    assert _new_cycles(graph) == []


def test_no_import_cycles_counting_package_inits():
    assert _new_cycles(import_graph(with_package_inits=True)) == []


def test_modules_are_short_or_say_why():
    long = {}
    for name, path in modules().items():
        with open(path, encoding="utf-8") as f:
            count = sum(1 for _ in f)
        if count <= MAX_LINES or name in LONG_PENDING:
            continue
        doc = ast.get_docstring(_parse(path)) or ""
        reasons = [line for line in doc.splitlines() if line.startswith(LONG_MARKER)]
        if len(reasons) != 1 or not reasons[0][len(LONG_MARKER):].strip():
            long[name] = count
    assert long == {}, f"over {MAX_LINES} lines without '{LONG_MARKER} ...' in the header"


# -- integrations: the public API only ---------------------------------------------------


def _public_names():
    tree = _parse(os.path.join(PACKAGE, "__init__.py"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__"
                                                for t in node.targets):
            return set(ast.literal_eval(node.value)) | {"__version__"}
    raise AssertionError("linewise/__init__.py has no __all__")


def _public_modules():
    tree = _parse(os.path.join(PACKAGE, "integrations", "__init__.py"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "PUBLIC_MODULES"
                                                for t in node.targets):
            return set(ast.literal_eval(node.value))
    raise AssertionError("linewise/integrations/__init__.py has no PUBLIC_MODULES")


def private_uses(name, tree, public, public_modules) -> list:
    """What module `name` (under linewise.integrations) imports from linewise beyond the
    public API: `public` names of linewise, public names of `public_modules`."""
    package = name.rpartition(".")[0]
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("linewise.") and alias.name not in public_modules:
                    bad.append(f"import {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            if base != "linewise" and not base.startswith("linewise."):
                continue
            for alias in node.names:
                if base == "linewise":
                    ok = alias.name in public or f"linewise.{alias.name}" in public_modules
                elif base.startswith("linewise.integrations"):
                    ok = True  # one integration may use another's module
                else:
                    ok = base in public_modules and not alias.name.startswith("_")
                if not ok:
                    bad.append(f"from {base} import {alias.name}")
    return bad


def test_the_public_api_check_catches_private_imports():
    tree = ast.parse(
        "import linewise\n"
        "from linewise import profile, LineProfiler\n"
        "from .. import load_stats\n"
        "from . import other\n"
        "def f():\n"
        "    from linewise.explicit import Profile\n"
        "    from .._children import claim_output\n"
        "    from ..cli.common import print_report\n"
        "    import linewise.profiler\n"
        "    from linewise.docmod import public, _private\n")
    assert private_uses("linewise.integrations.x", tree, {"profile", "LineProfiler",
                        "load_stats"}, {"linewise.docmod"}) == [
        "from linewise.explicit import Profile",
        "from linewise._children import claim_output",
        "from linewise.cli.common import print_report",
        "import linewise.profiler",
        "from linewise.docmod import _private",
    ]


def test_integrations_use_the_public_api_only():
    public, public_modules = _public_names(), _public_modules()
    assert {"profile", "LineProfiler", "load_stats"} <= public
    bad = {}
    for name, path in modules().items():
        if name.startswith("linewise.integrations.") or name == "linewise.integrations":
            found = private_uses(name, _parse(path), public, public_modules)
            if found:
                bad[name] = found
    assert bad == {}
