"""Profiling code without editing it: ``linewise run -p TARGET`` and ``--prof-imports``.

A target names a file, a directory, a module, a package (all its submodules), or something
inside a module (``module.function``, ``module.Class``, ``module.Class.method``). Targets
are resolved before the program runs, without executing any of its code, so a wrong one is
a usage error. Then an import hook (a ``sys.meta_path`` finder that defers to the others)
watches the imports: when a targeted module's code object is made, every function in it
(methods, nested functions and functions in nested classes included; lambdas and
comprehensions left out) is registered with the profiler before the module body runs.
Modules imported before the hook was installed are registered from their namespace instead
(their nested functions are found through the enclosing functions' code).
"""
from __future__ import annotations

import importlib.machinery
import os
import sys
import types

__all__ = ["AutoProfile", "Target", "TargetError", "resolve_target", "imported_modules",
           "find_spec_quietly", "is_dotted_name"]

_CO_FUNCTION = 0x3  # CO_OPTIMIZED | CO_NEWLOCALS: a function body (class bodies lack both)


class TargetError(Exception):
    """A -p target that names nothing profilable (a usage error)."""


def is_dotted_name(text: str) -> bool:
    return bool(text) and all(part.isidentifier() for part in text.split("."))


def find_spec_quietly(name: str):
    """The spec of module `name`, found without executing any module (its parent packages
    included); None if there is no such module."""
    spec = None
    search = None
    parts = name.split(".")
    for i in range(len(parts)):
        sub = ".".join(parts[:i + 1])
        module = sys.modules.get(sub)
        if module is not None and getattr(module, "__spec__", None) is not None:
            spec = module.__spec__
        else:
            spec = None
            for finder in sys.meta_path:
                find = getattr(finder, "find_spec", None)
                if find is None:
                    continue
                try:
                    spec = find(sub, search)
                except (ImportError, ValueError):
                    spec = None
                if spec is not None:
                    break
            if spec is None:
                return None
        search = spec.submodule_search_locations
        if i < len(parts) - 1 and search is None:
            return None  # a module, not a package: it has no submodules
    return spec


def _has_source(spec) -> bool:
    """True if the module has Python code (a source or bytecode file, or frozen code)."""
    if spec.origin in (None, "built-in"):
        return spec.submodule_search_locations is not None  # a namespace package
    loader = spec.loader
    return not isinstance(loader, importlib.machinery.ExtensionFileLoader)


def _source_tree(spec):
    """The parsed source of the module, or None if it cannot be had."""
    try:
        source = spec.loader.get_source(spec.name)
    except Exception:
        source = None
    if source is None:
        return None
    import ast  # here, as in the functions below: child processes import this module

    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


_BLOCKS = ("If", "Try", "TryStar", "With", "AsyncWith", "For", "AsyncFor", "While")


def _statements(body):
    """The statements of `body`, looking into if/try/with/loop blocks (not into defs)."""
    for node in body:
        yield node
        if type(node).__name__ in _BLOCKS:
            for field in ("body", "orelse", "finalbody"):
                yield from _statements(getattr(node, field, None) or [])
            for handler in getattr(node, "handlers", None) or []:
                yield from _statements(handler.body)


def _binding(body, name, module_level):
    """The def/class node binding `name` in `body`; True if it is bound otherwise (or may
    be: star imports, a module __getattr__); None if it is not bound."""
    import ast

    found = None
    for node in _statements(body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name == name:
                found = node
            elif module_level and node.name == "__getattr__" and found is None:
                found = True
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                if alias.name == "*" or bound == name:
                    found = found or True
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Name) and sub.id == name:
                        found = found or True
    return found


class Target:
    """One resolved -p target.

    kind: "file" | "dir" (paths), "module" | "package" (names, with their files),
    "attr" (``module`` plus ``attrs``, e.g. ("Class", "method")).
    """

    def __init__(self, text, kind, *, module=None, path=None, dirs=(), attrs=()):
        self.text = text
        self.kind = kind
        self.module = module
        self.path = path  # realpath of the file (file, module, attr)
        self.dirs = tuple(dirs)  # realpaths of the directories (dir, package)
        self.attrs = tuple(attrs)

    def __repr__(self):
        return (f"Target({self.text!r}, {self.kind}, module={self.module!r}, "
                f"path={self.path!r}, attrs={self.attrs!r})")


def _real(path):
    return os.path.realpath(path) if path else None


def resolve_target(text: str, base_dir=None, whole_package=True) -> Target:
    """Resolves a -p target against the current sys.path; raises TargetError.

    A path (it exists, contains a slash or ends in .py) is taken relative to `base_dir`
    (default: the current directory). A dotted name is tried as a module, then as
    ``module.attribute[.attribute]``, checked against the module's source.
    `whole_package` false makes a package name mean its __init__ only.
    """
    path = os.path.join(base_dir, text) if base_dir and not os.path.isabs(text) else text
    looks_like_path = os.sep in text or "/" in text or text.endswith((".py", ".pyw"))
    if os.path.exists(path) and (looks_like_path or not is_dotted_name(text)
                                 or find_spec_quietly(text) is None):
        if os.path.isdir(path):
            return Target(text, "dir", dirs=[_real(path)])
        return Target(text, "file", path=_real(path))
    if looks_like_path or not is_dotted_name(text):
        raise TargetError(f"-p {text}: no such file or directory")

    spec = find_spec_quietly(text)
    if spec is not None:
        if not _has_source(spec):
            raise TargetError(f"-p {text}: {text} is a compiled module (no Python code to "
                              "profile)")
        origin = spec.origin if spec.has_location else None
        if spec.submodule_search_locations is not None and whole_package:
            return Target(text, "package", module=text, path=_real(origin),
                          dirs=[_real(d) for d in spec.submodule_search_locations])
        return Target(text, "module", module=text, path=_real(origin))

    parts = text.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module, attrs = ".".join(parts[:cut]), parts[cut:]
        spec = find_spec_quietly(module)
        if spec is None:
            continue
        origin = spec.origin if spec.has_location else None
        tree = _source_tree(spec)
        if tree is not None:
            body, module_level = tree.body, True
            for i, attr in enumerate(attrs):
                node = _binding(body, attr, module_level)
                if node is None:
                    where = ".".join([module, *attrs[:i]])
                    raise TargetError(
                        f"-p {text}: there is no module {text}, and {where}"
                        + (f" ({origin})" if origin and i == 0 else "")
                        + f" defines no {attr!r}")
                if type(node).__name__ != "ClassDef":
                    break  # bound some other way, or a function: check no deeper
                body, module_level = node.body, False
        return Target(text, "attr", module=module, path=_real(origin), attrs=attrs)
    raise TargetError(f"-p {text}: no module, package, file or directory named {text!r}")


def imported_modules(tree, package=None) -> list:
    """The module names a program's source imports (anywhere in it), in order; for
    ``from a import b`` both ``a`` and ``a.b`` (b may be a submodule)."""
    import ast

    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if not package:
                    continue
                try:
                    import importlib.util

                    base = importlib.util.resolve_name("." * node.level + (node.module or ""),
                                                       package)
                except (ImportError, ValueError):
                    continue
            else:
                base = node.module
            names.append(base)
            names += [f"{base}.{alias.name}" for alias in node.names if alias.name != "*"]
    return list(dict.fromkeys(names))


def _code_functions(code, prefix=""):
    """(code, qualified name) for every def inside `code`, nested ones included, skipping
    lambdas, comprehensions and other <...> code."""
    for const in code.co_consts:
        if not isinstance(const, types.CodeType):
            continue
        name = const.co_name
        qualname = getattr(const, "co_qualname", None) or prefix + name  # 3.10: no co_qualname
        is_function = const.co_flags & _CO_FUNCTION == _CO_FUNCTION
        if is_function and not name.startswith("<"):
            yield const, qualname
        yield from _code_functions(const, qualname + (".<locals>." if is_function else "."))


class AutoProfile:
    """Registers the functions of the targets with `profiler` as their modules load."""

    def __init__(self, profiler):
        self.profiler = profiler
        self.targets: list = []
        self.files: set = set()  # realpaths: whole modules by file
        self.dirs: list = []  # realpaths: whole directories (packages, dir targets)
        self.modules: set = set()  # names: whole modules
        self.packages: set = set()  # names: packages with all their submodules
        self.attrs: list = []  # (module name, realpath or None, attrs)
        self._finder = None

    def add(self, target: Target):
        self.targets.append(target)
        if target.kind == "file":
            self.files.add(target.path)
        elif target.kind == "dir":
            self.dirs += target.dirs
        elif target.kind == "module":
            self.modules.add(target.module)
        elif target.kind == "package":
            self.packages.add(target.module)
            self.dirs += target.dirs
        else:
            self.attrs.append((target.module, target.path, target.attrs))

    def __bool__(self):
        return bool(self.targets)

    # -- matching --------------------------------------------------------------------

    def _name_wanted(self, name):
        return name in self.modules or any(
            name == pkg or name.startswith(pkg + ".") for pkg in self.packages)

    def wants_whole(self, name, origin) -> bool:
        if name and self._name_wanted(name):
            return True
        if origin:
            real = _real(origin)
            if real in self.files:
                return True
            return any(real.startswith(d.rstrip(os.sep) + os.sep) for d in self.dirs)
        return False

    def attrs_of(self, name, origin) -> list:
        real = _real(origin) if origin else None
        return [attrs for module, path, attrs in self.attrs
                if module == name or (real is not None and path == real)]

    def might_want(self, name) -> bool:
        """Cheap first test in the import hook: False means "surely not a target"."""
        if self.files or self.dirs:
            return True
        return self._name_wanted(name) or any(module == name for module, _, _ in self.attrs)

    # -- registering -----------------------------------------------------------------

    def register_code(self, code, only=None):
        """Registers the functions defined in a module's code object; `only` limits them
        to these qualified names and what is inside them."""
        for func_code, qualname in _code_functions(code):
            if only is not None and not any(
                    qualname == q or qualname.startswith(q + ".") for q in only):
                continue
            self.profiler.add_code(func_code, qualname)

    def _register_object(self, obj):
        """Registers a function or class (methods, ...) and the defs nested in them."""
        before = len(self.profiler.functions)
        import warnings

        with warnings.catch_warnings():
            # Builtins and the like have nothing to add (code that cannot be profiled
            # still warns).
            warnings.filterwarnings("ignore", message=r"(?s)linewise: .* has no Python code")
            self.profiler.add_callable(obj)
        for func in self.profiler.functions[before:]:
            code = getattr(func, "__code__", None)
            if code is not None:
                self.register_code_nested(code, func.__qualname__)

    def register_code_nested(self, code, qualname):
        for func_code, name in _code_functions(code, qualname + ".<locals>."):
            self.profiler.add_code(func_code, name)

    def register_module(self, module):
        """Registers what `module` (already executed) defines, found in its namespace."""
        name = module.__name__
        for value in list(vars(module).values()):
            if getattr(value, "__module__", None) != name:
                continue
            if isinstance(value, (type, types.FunctionType)):
                self._register_object(value)

    def register_attrs(self, module, attrs_list):
        for attrs in attrs_list:
            obj = module
            for attr in attrs:
                obj = getattr(obj, attr, None)
                if obj is None:
                    print(f"linewise: warning: -p {module.__name__}.{'.'.join(attrs)}: "
                          "not found after the module ran; not profiled", file=sys.stderr)
                    break
            else:
                self._register_object(obj)

    def register_main(self, code, name, path):
        """Registers the functions of the program's own code (run as __main__) that the
        targets select; `name` is its module name (for -m) and `path` its file."""
        real = _real(path) if path and not path.startswith("<") else None
        if self.wants_whole(name, real) or any(
                t.kind == "module" and t.path == real for t in self.targets if real):
            self.register_code(code)
            return
        attrs = self.attrs_of(name, path)
        if attrs:
            self.register_code(code, only=[".".join(a) for a in attrs])

    # -- the import hook ---------------------------------------------------------------

    def install(self):
        """Registers the targets already imported, and hooks the imports to come."""
        for name, module in list(sys.modules.items()):
            if not isinstance(module, types.ModuleType) or name == "__main__":
                continue
            origin = getattr(module, "__file__", None)
            if self.wants_whole(name, origin):
                self.register_module(module)
            attrs = self.attrs_of(name, origin)
            if attrs:
                self.register_attrs(module, attrs)
        if self._finder is None:
            self._finder = _Finder(self)
            sys.meta_path.insert(0, self._finder)

    def uninstall(self):
        if self._finder is not None and self._finder in sys.meta_path:
            sys.meta_path.remove(self._finder)
        self._finder = None

    def wrap_spec(self, spec):
        """Gives a targeted module's spec a loader that registers its functions."""
        origin = spec.origin if spec.has_location else None
        whole = self.wants_whole(spec.name, origin)
        attrs = self.attrs_of(spec.name, origin)
        if not whole and not attrs:
            return spec
        loader = spec.loader
        if type(loader) is importlib.machinery.SourceFileLoader:
            spec.loader = _SourceLoader(loader.name, loader.path, self, whole, attrs)
        elif loader is not None and hasattr(loader, "exec_module"):
            spec.loader = _LoaderProxy(loader, self, whole, attrs)
        return spec


class _Finder:
    """A meta path finder that asks the other finders, then wraps targeted modules."""

    def __init__(self, auto: AutoProfile):
        self.auto = auto

    def find_spec(self, fullname, path=None, target=None):
        if not self.auto.might_want(fullname):
            return None
        # Only the finders after this one: another _Finder before it (a second profile
        # in this process) asks this one in turn, and each wraps what the next returns.
        finders = list(sys.meta_path)
        mine = next((i for i, f in enumerate(finders) if f is self), None)
        finders = finders[mine + 1:] if mine is not None else \
            [f for f in finders if not isinstance(f, _Finder)]
        for finder in finders:
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                return self.auto.wrap_spec(spec)
        return None

    def invalidate_caches(self):
        pass


class _SourceLoader(importlib.machinery.SourceFileLoader):
    """A SourceFileLoader (still an instance of it) that registers the code it makes."""

    def __init__(self, fullname, path, auto, whole, attrs):
        super().__init__(fullname, path)
        self._auto = auto
        self._whole = whole
        self._attrs = attrs

    def get_code(self, fullname):
        code = super().get_code(fullname)
        if code is not None:
            if self._whole:
                self._auto.register_code(code)
            elif self._attrs:
                self._auto.register_code(code, only=[".".join(a) for a in self._attrs])
        return code

    def exec_module(self, module):
        super().exec_module(module)
        if self._attrs:
            self._auto.register_attrs(module, self._attrs)


class _LoaderProxy:
    """Wraps any other loader: registers the module from its namespace once it ran."""

    def __init__(self, loader, auto, whole, attrs):
        self._loader = loader
        self._auto = auto
        self._whole = whole
        self._attrs = attrs

    def create_module(self, spec):
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module):
        self._loader.exec_module(module)
        if self._whole:
            self._auto.register_module(module)
        if self._attrs:
            self._auto.register_attrs(module, self._attrs)

    def __getattr__(self, name):
        return getattr(self._loader, name)
