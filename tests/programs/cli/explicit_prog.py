"""Explicit mode: profiled only with LINEWISE=1 or profile.enable(), or under `linewise run`."""
import sys

import linewise
from linewise import profile


@profile
def square(x):
    return x * x


@linewise.profile
def cube(x):
    return x * x * x


if "--enable" in sys.argv:
    profile.enable(output="enabled.lw")
print("explicit", square(3), cube(2), profile.enabled)
