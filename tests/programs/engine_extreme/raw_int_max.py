# The raw engine given a table at the top of the int range, for code whose line numbers
# CPython wrapped around (co_firstlineno 2**31 - 1): its events carry lines far below the
# table. They must fall outside it without overflowing the engine's int arithmetic (signed
# overflow under UBSan in lw_charge_and_hit on 3.11, legacy backend). Meaningful under
# `make test-asan`; in a normal build it only checks that nothing is counted.
from linewise import _engine


def g():
    a = 1
    b = 2
    return a + b


g.__code__ = g.__code__.replace(co_firstlineno=2**31 - 1)
top = 2**31 - 1
e = _engine.Engine()
e.add_code(g.__code__, top - 5, top)
e.enable()
for _ in range(3):
    g()
e.disable()
lines = [ln for _, ls in e.get_stats() for ln, h, _ in ls if h]
assert all(top - 5 <= ln <= top for ln in lines), lines
print("ok")
