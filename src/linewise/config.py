"""Finding and reading the `[tool.linewise]` configuration.

Defaults for the command-line flags live in the nearest ``linewise.toml`` or
``pyproject.toml`` (its ``[tool.linewise]`` table), searched from the current directory
upwards; flags given on the command line win. ``linewise.toml`` may hold the keys at its top
level or in a ``[tool.linewise]`` table.

On Python 3.11+ the file is read with tomllib (or tomli on 3.10 when it is installed);
otherwise a small reader handles what this table needs: ``key = value`` lines whose values
are strings, numbers, booleans or arrays of strings (see _MiniToml for its limits).
"""
from __future__ import annotations

import os
import re

__all__ = ["Config", "ConfigError", "KEYS", "find_config", "load_config"]

try:
    import tomllib as _toml
except ImportError:  # Python 3.10
    try:
        import tomli as _toml  # type: ignore[no-redef]
    except ImportError:
        _toml = None

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
    if _toml is not None:
        try:
            document = _toml.loads(text)
        except _toml.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
        table = document.get("tool", {}).get("linewise") if isinstance(document.get("tool"), dict) else None
        if table is None and not is_pyproject:
            table = {k: v for k, v in document.items() if k != "tool"}
    else:
        reader = _MiniToml(text, path)
        table = reader.table(("tool", "linewise"))
        if table is None and not is_pyproject:
            table = reader.table(())
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


class _MiniToml:
    """Just enough TOML for a [tool.linewise] table, for Python 3.10 without tomli.

    It reads the whole file's structure (table headers, strings, arrays, comments) so that
    other tables cannot confuse it, but converts only the values of the tables asked for:
    basic and literal strings, integers, floats, booleans and (nested) arrays of those.
    Not supported there: inline tables, dates, multi-line strings, dotted keys. A value it
    cannot read raises ConfigError naming the line.
    """

    def __init__(self, text: str, path):
        self.text = text
        self.path = path
        self.pos = 0
        self.line = 1
        # table path -> [(key, raw value start, line)]
        self.tables: dict = {}
        self._scan()

    # -- structure -------------------------------------------------------------------

    def _error(self, message, line=None):
        raise ConfigError(f"{self.path}:{line or self.line}: {message}")

    def _scan(self):
        current: tuple = ()
        self.tables[current] = []
        text = self.text
        while self.pos < len(text):
            self._skip_blank_lines()
            if self.pos >= len(text):
                break
            if text[self.pos] == "[":
                current = self._header()
                self.tables.setdefault(current, [])
                continue
            line = self.line
            key = self._key()
            self._skip_spaces()
            if not text.startswith("=", self.pos):
                self._error("expected '=' after a key")
            self.pos += 1
            self._skip_spaces()
            start = self.pos
            self._skip_value()
            self.tables[current].append((key, start, line))
            self._skip_spaces()
            self._skip_comment()
            if self.pos < len(text) and text[self.pos] not in "\r\n":
                self._error("unexpected text after a value")

    def _skip_spaces(self):
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def _skip_comment(self):
        if self.text.startswith("#", self.pos):
            end = self.text.find("\n", self.pos)
            self.pos = len(self.text) if end < 0 else end

    def _skip_blank_lines(self):
        """Skips whitespace, newlines and comments between statements (or array items)."""
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch in " \t\r":
                self.pos += 1
            elif ch == "\n":
                self.pos += 1
                self.line += 1
            elif ch == "#":
                self._skip_comment()
            else:
                break

    def _header(self) -> tuple:
        text = self.text
        double = text.startswith("[[", self.pos)
        self.pos += 2 if double else 1
        parts = []
        while True:
            self._skip_spaces()
            parts.append(self._key_part())
            self._skip_spaces()
            if text.startswith(".", self.pos):
                self.pos += 1
                continue
            break
        closing = "]]" if double else "]"
        if not text.startswith(closing, self.pos):
            self._error("malformed table header")
        self.pos += len(closing)
        self._skip_spaces()
        self._skip_comment()
        # Arrays of tables are never ours: give them a name no lookup matches.
        return tuple(parts) + (("[[]]",) if double else ())

    def _key(self) -> str:
        parts = [self._key_part()]
        while True:
            self._skip_spaces()
            if not self.text.startswith(".", self.pos):
                break
            self.pos += 1
            self._skip_spaces()
            parts.append(self._key_part())
        return ".".join(parts)

    def _key_part(self) -> str:
        text = self.text
        if self.pos < len(text) and text[self.pos] in "\"'":
            return self._string()
        match = re.compile(r"[A-Za-z0-9_-]+").match(text, self.pos)
        if not match:
            self._error("expected a key")
        self.pos = match.end()
        return match.group()

    def _skip_value(self):
        """Moves past one value without converting it (any TOML value, roughly)."""
        text = self.text
        depth = 0
        while self.pos < len(text):
            ch = text[self.pos]
            if ch in "\"'":
                if text.startswith(ch * 3, self.pos):
                    end = text.find(ch * 3, self.pos + 3)
                    if end < 0:
                        self._error("unterminated multi-line string")
                    while text.startswith(ch, end + 3):  # """ closing with extra quotes
                        end += 1
                    self.line += text.count("\n", self.pos, end)
                    self.pos = end + 3
                else:
                    self._string()
                continue
            if ch in "[{":
                depth += 1
            elif ch in "]}":
                depth -= 1
            elif ch == "#":
                self._skip_comment()
                continue
            elif ch == "\n":
                if depth <= 0:
                    return
                self.line += 1
            elif ch in ",\r" and depth <= 0:
                return
            self.pos += 1
            if depth <= 0 and ch in "]}":
                return
        if depth > 0:
            self._error("unterminated array or inline table")

    # -- values ----------------------------------------------------------------------

    _ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}

    def _string(self) -> str:
        text = self.text
        quote = text[self.pos]
        if text.startswith(quote * 3, self.pos):
            self._error("multi-line strings are not supported on Python 3.10 (install tomli)")
        self.pos += 1
        out = []
        while True:
            if self.pos >= len(text) or text[self.pos] == "\n":
                self._error("unterminated string")
            ch = text[self.pos]
            if ch == quote:
                self.pos += 1
                return "".join(out)
            if ch == "\\" and quote == '"':
                code = text[self.pos + 1:self.pos + 2]
                if code in self._ESCAPES:
                    out.append(self._ESCAPES[code])
                    self.pos += 2
                elif code in ("u", "U"):
                    size = 4 if code == "u" else 8
                    digits = text[self.pos + 2:self.pos + 2 + size]
                    if not re.fullmatch(r"[0-9A-Fa-f]{%d}" % size, digits):
                        self._error("malformed \\u escape")
                    out.append(chr(int(digits, 16)))
                    self.pos += 2 + size
                else:
                    self._error(f"unknown escape \\{code}")
                continue
            out.append(ch)
            self.pos += 1

    _NUMBER = re.compile(r"[+-]?(?:\d[\d_]*)(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?(?![\w.:-])")

    def _value(self):
        text = self.text
        self._skip_blank_lines()
        if self.pos >= len(text):
            self._error("expected a value")
        ch = text[self.pos]
        if ch in "\"'":
            return self._string()
        if ch == "[":
            self.pos += 1
            items = []
            while True:
                self._skip_blank_lines()
                if text.startswith("]", self.pos):
                    self.pos += 1
                    return items
                items.append(self._value())
                self._skip_blank_lines()
                if text.startswith(",", self.pos):
                    self.pos += 1
                elif not text.startswith("]", self.pos):
                    self._error("expected ',' or ']' in an array")
        for word, value in (("true", True), ("false", False)):
            if re.compile(word + r"\b").match(text, self.pos):
                self.pos += len(word)
                return value
        match = self._NUMBER.match(text, self.pos)
        if match:
            self.pos = match.end()
            literal = match.group().replace("_", "")
            return float(literal) if any(c in literal for c in ".eE") else int(literal)
        self._error("unsupported value on Python 3.10 (strings, numbers, booleans and "
                    "arrays only; install tomli for full TOML)")

    def table(self, name: tuple) -> dict | None:
        """The converted `key: value` pairs of table `name`, or None if there is none."""
        if name not in self.tables:
            return None
        result = {}
        for key, start, line in self.tables[name]:
            self.pos, self.line = start, line
            result[key] = self._value()
        return result
