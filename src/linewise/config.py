"""Finding and reading the `[tool.linewise]` configuration.

Defaults for the command-line flags live in the nearest ``linewise.toml`` or
``pyproject.toml`` (its ``[tool.linewise]`` table), searched from the current directory
upwards; flags given on the command line win. ``linewise.toml`` may hold the keys at its top
level or in a ``[tool.linewise]`` table.

The file is read with tomllib, or on Python 3.10 with tomli (its upstream, a dependency
there).
"""
from __future__ import annotations

import os
import re
import sys

__all__ = ["Config", "ConfigError", "KEYS", "find_config", "load_config"]

if sys.version_info >= (3, 11):
    import tomllib as _toml
else:
    import tomli as _toml

CONFIG_NAMES = ("linewise.toml", "pyproject.toml")

# key -> the Python type its value must have. Keys are spelled with dashes; underscores
# are accepted too. "unit" may be a number (seconds) or a string such as "ms".
KEYS = {
    "output": str,
    "view": bool,
    "quiet": bool,
    "unit": (int, float, str),
    "skip-zero": bool,
    "summary": bool,
    "sort": bool,
    "top": int,
    "prof-mod": list,
    "prof-imports": bool,
    "compensate": bool,
    "setup": str,
    "traceback": bool,
    "output-interval": (int, float),
}

# line_profiler's kernprof table, read when a pyproject.toml has no [tool.linewise]: its
# keys -> (linewise's key, the value from kernprof's); None: no meaning for linewise. Its
# line-by-line and builtin are what linewise always does (not noted).
_KERNPROF_TABLE = re.compile(
    r"""^\s*\[\s*tool\s*\.\s*["']?line_profiler["']?\s*\.\s*["']?kernprof["']?\s*\]""",
    re.MULTILINE)
_KERNPROF_KEYS = {
    "outfile": lambda v: ("output", v or None),
    "verbose": lambda v: ("view", True) if isinstance(v, int) and v > 0 and v is not True
    else ("quiet", True) if isinstance(v, int) and v < 0 else (None, None),
    "rich": lambda v: ("color", "always") if v is True else (None, None),
    "skip-zero": lambda v: ("skip-zero", v),
    "summarize": lambda v: ("summary", v),
    "prof-imports": lambda v: ("prof-imports", v),
    "prof-mod": lambda v: ("prof-mod", v or None),
    "setup": lambda v: ("setup", v or None),
    "unit": lambda v: ("unit", v),
    "output-interval": lambda v: ("output-interval", v or None),
    "line-by-line": lambda v: (None, None),
    "builtin": lambda v: (None, None),
}

# Cheap test for "this pyproject.toml has something for us" before parsing it, so that a
# project's unrelated (or broken) pyproject.toml never gets in the way.
_MENTIONS_US = re.compile(r"""^\s*\[\s*tool\s*\.\s*["']?linewise["']?\s*\]""", re.MULTILINE)


class ConfigError(Exception):
    """A configuration file that cannot be read or holds a wrong value."""


class Config:
    """The `[tool.linewise]` values of one file: ``values`` (dash-spelled keys), ``path``
    (None when no file was used) and ``warnings`` (unknown keys, ...)."""

    def __init__(self, path=None, values=None, warnings=()):
        self.path = path
        self.values = dict(values or {})
        self.warnings = list(warnings)
        self.notes: list = []  # said on stderr unless quiet (e.g. which table was read)

    @property
    def directory(self) -> str:
        """The directory relative paths in the file are taken from."""
        return os.path.dirname(os.path.abspath(self.path)) if self.path else os.getcwd()

    def get(self, key, default=None):
        return self.values.get(key, default)

    def __repr__(self):
        return f"Config({self.path!r}, {self.values!r})"


def find_config(start=None) -> str | None:
    """The nearest linewise.toml, or pyproject.toml with a [tool.linewise] table, in `start`
    (the current directory) or a parent of it; None if there is none."""
    here = os.path.abspath(start or os.getcwd())
    while True:
        for name in CONFIG_NAMES:
            path = os.path.join(here, name)
            if not os.path.isfile(path):
                continue
            if name == "linewise.toml":
                return path
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            if _MENTIONS_US.search(text) or _KERNPROF_TABLE.search(text):
                return path
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def load_config(path) -> Config:
    """Reads the linewise table of `path`; raises ConfigError saying what is wrong."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    is_pyproject = os.path.basename(path) == "pyproject.toml"
    if is_pyproject and not _MENTIONS_US.search(text) and not _KERNPROF_TABLE.search(text):
        return Config(path, {})
    try:
        document = _toml.loads(text)
    except _toml.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    tool = document.get("tool") if isinstance(document.get("tool"), dict) else {}
    table = tool.get("linewise")
    if table is None and is_pyproject:
        kernprof = tool.get("line_profiler", {})
        kernprof = kernprof.get("kernprof") if isinstance(kernprof, dict) else None
        if isinstance(kernprof, dict):
            return _from_kernprof(path, kernprof)
    if table is None and not is_pyproject:
        table = {k: v for k, v in document.items() if k != "tool"}
    return _validate(path, table or {})


def _from_kernprof(path, table: dict) -> Config:
    """The settings of line_profiler's [tool.line_profiler.kernprof] table, as linewise's
    (checked as [tool.linewise]'s are), with a note saying they were read and which keys
    mean nothing here."""
    mapped, ignored = {}, []
    for key, value in table.items():
        convert = _KERNPROF_KEYS.get(str(key).replace("_", "-"))
        if convert is None:
            ignored.append(str(key))
            continue
        name, new = convert(value)
        if name is not None and new is not None:
            mapped[name] = new
    color = mapped.pop("color", None)
    config = _validate(path, mapped)
    if color is not None:
        config.values["color"] = color
    note = f"read [tool.line_profiler.kernprof] from {path} (there is no [tool.linewise])"
    if ignored:
        note += f"; ignored, no meaning for linewise: {', '.join(ignored)}"
    config.notes.append(note)
    return config


def _validate(path, table: dict) -> Config:
    values, warnings = {}, []
    for key, value in table.items():
        name = str(key).replace("_", "-")
        if name not in KEYS:
            warnings.append(f"{path}: unknown key {key!r} in the linewise settings, ignored")
            continue
        expected = KEYS[name]
        # bool is an int subclass: true is not a valid "top".
        if isinstance(value, bool) and expected is not bool:
            ok = False
        else:
            ok = isinstance(value, expected)
        if ok and expected is list:
            ok = all(isinstance(item, str) for item in value)
        if not ok:
            want = {str: "a string", bool: "true or false", int: "an integer",
                    list: "a list of strings"}.get(expected, "a number or a string like \"ms\"")
            raise ConfigError(f"{path}: {key} must be {want}, not {value!r}")
        values[name] = value
    return Config(path, values, warnings)
