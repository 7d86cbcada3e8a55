"""Overhead compensation: what one event costs the profiled program, calibrated.

LineProfiler(compensate=True) (``linewise run --compensate``) subtracts from each line's
time the events that fired while it ran (its own and its callees', counted per thread
like a clock: the engine's events.h) times the cost of one event, measured here when the
profiler is made. The engine times the real hook path (Engine.calibrate, in C): a loop
of a typical line run unprofiled and profiled, interleaved, the fastest of each kind.
"""
from __future__ import annotations

from . import _engine

__all__ = ["event_cost_ns"]

_SPIN = """
def spin(n):
    total = 0
    for i in range(n):
        total += i
    return total
"""


def _calibrate(first_line) -> float:
    # A typical line in a loop (what an event costs depends a little on the line: the
    # legacy hook finds its number in the line table), compiled at `first_line`.
    namespace: dict = {}
    exec(compile("\n" * (first_line - 2) + _SPIN, "<linewise calibration>", "exec"), namespace)
    spin = namespace["spin"]
    code = spin.__code__
    lines = [line for _, _, line in code.co_lines() if line is not None]
    engine = _engine.Engine()
    engine.add_code(code, min(lines + [code.co_firstlineno]), max(lines), None)
    spin(2000)  # warm (3.11+ specialises the loop)
    return engine.calibrate(spin, 5000, 41)


def event_cost_ns() -> tuple:
    """What one event costs the profiled program on this machine and Python, in ns, now:
    (in code whose lines are all below 257, in code past them). Many short runs (about
    50 ms for each figure), the fastest of each kind counting, so that a busy machine
    moves it little (a few long runs left it 30 % off under load). Two figures because
    sys.monitoring hands each LINE event its number as an int, allocated past 256 (13 ns
    of 44 on 3.13 here). Made afresh for each compensating profiler: what an event costs
    drifts with the load on the machine's other cores."""
    return _calibrate(10), _calibrate(1000)
