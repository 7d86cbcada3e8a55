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
    "setup": str,
    "traceback": bool,
    "output-interval": (int, float),
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
                    if _MENTIONS_US.search(f.read()):
                        return path
            except OSError:
                continue
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
    if is_pyproject and not _MENTIONS_US.search(text):
        return Config(path, {})
    try:
        document = _toml.loads(text)
    except _toml.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    table = document.get("tool", {}).get("linewise") if isinstance(document.get("tool"), dict) else None
    if table is None and not is_pyproject:
        table = {k: v for k, v in document.items() if k != "tool"}
    return _validate(path, table or {})


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
