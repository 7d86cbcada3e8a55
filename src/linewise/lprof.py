"""line_profiler's results files (.lprof): reading them without running their code, and
writing them so line_profiler reads them.

A .lprof file is a pickle of line_profiler's LineStats: its class (by module and name),
created with no arguments (NEWOBJ), then given the state ``{"timings": {(filename,
first_lineno, name): [(lineno, hits, time), ...]}, "unit": float}`` (BUILD). Unpickling
runs whatever callables a pickle names, so a file is read in two passes, neither of which
imports or calls anything it names:

1. ``pickletools.genops`` walks the opcodes (it decodes, it runs nothing): only the opcodes
   such a file needs are allowed, every global must be one of LineStats' names, memo
   indices must be the ones a pickler hands out (no huge memo), MARKs nest a few deep.
   The first thing outside that is named in the one-line refusal.
2. ``_Unpickler`` (pickle.Unpickler) loads it with ``find_class`` mapping LineStats' names
   to ``_Recorded``, a stand-in that only records the state it is given; any other name is
   refused again, as is a persistent id. The data is then checked for line_profiler's
   shape and turned into linewise's LineStats, with no source stored (the reports say so;
   ``linewise view --source-from-disk`` reads it).

Writing goes the other way: the state is pickled by the standard pickler (it holds only
dicts, tuples, lists, str, int and float) and framed by a GLOBAL naming
``line_profiler._line_profiler.LineStats``, which line_profiler 4.x writes and 4.x and
5.x load. Only timings and unit go into the file: line_profiler has no place for sources,
runs, meta or extra columns.
"""
from __future__ import annotations

import io
import os
import pickle
import pickletools

from .results import LineStats, ResultsError

__all__ = ["MAX_SIZE", "dumps", "is_lprof", "load_lprof", "loads"]

#: A .lprof file bigger than this is refused before it is read (line_profiler's own are a
#: few hundred bytes per profiled function).
MAX_SIZE = 64 * 1024 * 1024

# The names line_profiler's LineStats has been pickled under: 4.x (and what we write),
# 5.x, and 2.x's single module.
CLASS_NAMES = frozenset({
    ("line_profiler._line_profiler", "LineStats"),
    ("line_profiler.line_profiler", "LineStats"),
    ("line_profiler", "LineStats"),
})
WRITTEN_CLASS = ("line_profiler._line_profiler", "LineStats")

# The opcodes of a LineStats pickle, protocols 2 to 5 (and Python 2's str opcodes). No
# REDUCE, INST, OBJ, NEWOBJ_EX, EXT*, PERSID, BYTEARRAY8, buffers: a LineStats never needs
# them.
ALLOWED_OPCODES = frozenset("""
    PROTO FRAME STOP MARK POP POP_MARK DUP
    GLOBAL STACK_GLOBAL EMPTY_TUPLE NEWOBJ BUILD
    NONE NEWTRUE NEWFALSE INT BININT BININT1 BININT2 LONG LONG1 FLOAT BINFLOAT
    STRING BINSTRING SHORT_BINSTRING UNICODE BINUNICODE SHORT_BINUNICODE BINUNICODE8
    EMPTY_DICT DICT SETITEM SETITEMS EMPTY_LIST LIST APPEND APPENDS
    TUPLE TUPLE1 TUPLE2 TUPLE3
    PUT BINPUT LONG_BINPUT MEMOIZE GET BINGET LONG_BINGET
""".split())
STRING_OPCODES = frozenset({"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE",
                            "SHORT_BINUNICODE", "BINUNICODE8"})
MAX_MARK_DEPTH = 32     # LineStats needs 3
MAX_LONG_DIGITS = 40    # LONG as text: 2**64 has 20 digits
TIMES = "a line_profiler results file never contains"

# What a refused opcode does, for the message.
WHAT = {
    "REDUCE": "a call of a function (pickle opcode REDUCE)",
    "INST": "an object built by calling a class (pickle opcode INST)",
    "OBJ": "an object built by calling a class (pickle opcode OBJ)",
    "NEWOBJ_EX": "an object built with keyword arguments (pickle opcode NEWOBJ_EX)",
    "PERSID": "a persistent id (pickle opcode PERSID)",
    "BINPERSID": "a persistent id (pickle opcode BINPERSID)",
    "EXT1": "an object from the extension registry (pickle opcode EXT1)",
    "EXT2": "an object from the extension registry (pickle opcode EXT2)",
    "EXT4": "an object from the extension registry (pickle opcode EXT4)",
}


def is_lprof(head: bytes) -> bool:
    """Whether a file starting with `head` is a pickle of protocol 2 or later (what every
    line_profiler since 2.x writes), whatever its name."""
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


class Refused(ResultsError):
    """A pickle asks for something a LineStats pickle never holds."""


class _Recorded:
    """Stands in for line_profiler's LineStats: NEWOBJ makes one (no arguments), BUILD
    hands it the state, which it keeps without looking at it."""

    __slots__ = ("state",)

    def __new__(cls, *args, **kwargs):
        if args or kwargs:
            raise Refused(f"it creates LineStats with arguments, which {TIMES}")
        self = object.__new__(cls)
        self.state = None
        return self

    def __setstate__(self, state):
        if self.state is not None:
            raise Refused("it sets the state of LineStats twice")
        self.state = state

    def __reduce__(self):  # never pickled back
        raise TypeError("not picklable")


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in CLASS_NAMES:
            return _Recorded
        raise Refused(f"it asks for {_shown(module)}.{_shown(name)}, which {TIMES}")

    def persistent_load(self, pid):
        raise Refused(f"it holds a persistent id, which {TIMES}")


def _shown(text) -> str:
    from .source import visible

    text = visible(text)
    return text if len(text) <= 80 else text[:77] + "..."


def _prescan(data: bytes) -> None:
    """Raises Refused for the first opcode, global or memo index a LineStats pickle would
    not have; ValueError if the opcodes do not decode."""
    memo_next = 0        # the index a pickler's next PUT or MEMOIZE gets (Python 2's
                         # cPickle counts from 1: one ahead is allowed)
    stored = set()       # memo indices holding a string, for naming STACK_GLOBAL's
    strings = {}         # memo index -> str
    recent = []          # the last two strings pushed (STACK_GLOBAL's module and name)
    depth = 0
    for opcode, arg, _pos in pickletools.genops(io.BytesIO(data)):
        name = opcode.name
        if name not in ALLOWED_OPCODES:
            what = WHAT.get(name, f"pickle opcode {name}")
            raise Refused(f"it holds {what}, which {TIMES}")
        if name in STRING_OPCODES:
            value = arg.decode("utf-8", "replace") if isinstance(arg, bytes) else arg
            recent = (recent + [value])[-2:]
        elif name in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"):
            index = memo_next if name == "MEMOIZE" else arg
            if index > memo_next + 1:
                raise Refused(f"its memo index {index} skips ahead (a pickler hands out "
                              f"{memo_next} next), which {TIMES}")
            memo_next = max(memo_next, index + 1)
            stored.add(index)
            if recent:
                strings[index] = recent[-1]
            continue  # a PUT keeps what was pushed last as the last thing pushed
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            if arg not in stored:
                raise Refused(f"it reads memo index {arg}, which nothing stored")
            recent = (recent + [strings[arg]])[-2:] if arg in strings else []
            continue
        elif name == "GLOBAL":
            module, _, attr = arg.partition(" ")
            _check_global(module, attr)
        elif name == "STACK_GLOBAL":
            if len(recent) < 2:
                raise Refused(f"it asks for a global it does not name, which {TIMES}")
            _check_global(*recent)
        elif name == "MARK":
            depth += 1
            if depth > MAX_MARK_DEPTH:
                raise Refused(f"it nests more than {MAX_MARK_DEPTH} deep, which {TIMES}")
        elif name in ("POP_MARK", "SETITEMS", "APPENDS", "TUPLE", "LIST", "DICT"):
            depth -= 1
        elif name == "LONG" and len(str(arg)) > MAX_LONG_DIGITS:
            raise Refused(f"it holds a {len(str(arg))}-digit number, which {TIMES}")
        if name not in STRING_OPCODES:
            recent = []


def _check_global(module, name):
    if (module, name) not in CLASS_NAMES:
        raise Refused(f"it asks for {_shown(module)}.{_shown(name)}, which {TIMES}")


def loads(data: bytes) -> LineStats:
    """linewise's LineStats from the bytes of a .lprof file; raises ResultsError (Refused
    for something a LineStats pickle never holds) with a one-line reason."""
    if len(data) > MAX_SIZE:
        raise ResultsError(f"it is {len(data)} bytes, more than the {MAX_SIZE} a "
                           "line_profiler results file is allowed here")
    try:
        _prescan(data)
    except Refused:
        raise
    except Exception as exc:  # genops: truncated, unknown opcode, bad argument
        raise ResultsError(f"not a valid line_profiler results file "
                           f"({_shown(exc)})") from None
    try:
        obj = _Unpickler(io.BytesIO(data), encoding="utf-8", errors="surrogateescape").load()
    except Refused:
        raise
    except Exception as exc:
        raise ResultsError(f"not a valid line_profiler results file "
                           f"({_shown(exc)})") from None
    return _convert(obj, rows_allowed=len(data))


def _convert(obj, rows_allowed) -> LineStats:
    """LineStats from the unpickled object, which must have line_profiler's shape; a
    row count bounded by the file's size (aliased lists cannot multiply the work)."""
    if not isinstance(obj, _Recorded):
        raise ResultsError(f"not a line_profiler results file (it holds a "
                           f"{type(obj).__name__}, not LineStats)")
    state = obj.state
    if isinstance(state, tuple) and len(state) == 2 and state[1] is None:
        state = state[0]  # (dict, slots) as some picklers write it
    if not isinstance(state, dict) or "timings" not in state or "unit" not in state:
        raise ResultsError("not a line_profiler results file (LineStats without timings "
                           "and unit)")
    unit, raw = state["unit"], state["timings"]
    if type(unit) not in (float, int) or not 0 < unit < float("inf"):
        raise ResultsError(f"LineStats has unit {_shown(repr(unit))}, not a positive number")
    if type(raw) is not dict:
        raise ResultsError("LineStats timings is not a dict")
    timings = {}
    rows = 0
    for key, lines in raw.items():
        if (type(key) is not tuple or len(key) != 3 or type(key[0]) is not str
                or type(key[1]) is not int or type(key[2]) is not str):
            raise ResultsError("LineStats timings has a key that is not (filename, "
                               "first_lineno, name)")
        if type(lines) not in (list, tuple):
            raise ResultsError(f"LineStats timings of {_shown(key[2])} is not a list")
        rows += len(lines) + 1
        if rows > rows_allowed:
            raise Refused(f"it holds more rows than its size allows, which {TIMES}")
        out = []
        for line in lines:
            out.append(_row(key, line))
        timings[key] = out
    return LineStats(timings, float(unit), {"format": "line_profiler .lprof"}, {},
                     sources_complete=True)


def _row(key, line):
    if type(line) not in (tuple, list) or len(line) != 3:
        raise ResultsError(f"LineStats timings of {_shown(key[2])} has a row that is not "
                           "(lineno, hits, time)")
    lineno, hits, time = line
    if type(time) is float and time == time and abs(time) < 2.0 ** 63:
        time = round(time)  # line_profiler scales times to float when it merges units
    if (type(lineno) is not int or type(hits) is not int or type(time) is not int
            or not 0 <= lineno < 2 ** 32 or not 0 <= hits < 2 ** 63
            or not -2 ** 63 <= time < 2 ** 63):
        raise ResultsError(f"LineStats timings of {_shown(key[2])} has a row that is not "
                           "(lineno, hits, time) in range")
    return (lineno, hits, time)


def load_lprof(path) -> LineStats:
    """Reads a .lprof file; ResultsError ``"<why>"`` (without the path) if it is bad, or
    OSError if it cannot be read."""
    with open(path, "rb") as f:
        data = f.read(MAX_SIZE + 1)
    return loads(data)


def dumps(stats: LineStats) -> bytes:
    """The .lprof bytes of `stats`: what line_profiler 4.x and 5.x load with
    ``LineStats.from_files`` and ``python -m line_profiler``."""
    timings = {}
    for key, lines in stats.timings.items():
        if (not isinstance(key, tuple) or len(key) != 3 or not isinstance(key[0], str)
                or not isinstance(key[1], int) or not isinstance(key[2], str)):
            raise TypeError(f"timings key {key!r} is not (filename, first_lineno, name)")
        timings[(str(key[0]), int(key[1]), str(key[2]))] = [
            (int(lineno), int(hits), int(time)) for lineno, hits, time in lines]
    buf = io.BytesIO()
    # Protocol 3: no frames, so the body can be framed by our own opcodes below.
    pickle.Pickler(buf, protocol=3).dump({"timings": timings, "unit": float(stats.unit)})
    body = buf.getvalue()
    assert body[:2] == b"\x80\x03" and body[-1:] == b"."
    module, name = WRITTEN_CLASS
    return (b"\x80\x03" + b"c" + module.encode() + b"\n" + name.encode() + b"\n"
            + b")\x81"          # EMPTY_TUPLE NEWOBJ: LineStats.__new__(LineStats)
            + body[2:-1]        # the state dict
            + b"b.")            # BUILD STOP


def dump_lprof(stats: LineStats, path) -> None:
    """Writes `stats` to `path` as a .lprof file, as linewise writes every file."""
    from . import _engine

    _engine.write_file(os.fspath(path) if isinstance(path, os.PathLike) else path,
                       dumps(stats))
