import sys

from . import core
from .core import Engine

print("demo_pkg", __name__, __package__, Engine().run(4), core.free(), sys.argv[1:])
