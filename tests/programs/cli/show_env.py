"""Prints what a program sees of how it was started (compared with plain `python`)."""
import sys

g = globals()
spec = g.get("__spec__")
print("argv", sys.argv)
print("path0", sys.path[0])
print("name", __name__)
print("file", g.get("__file__", "<unset>"))
print("package", repr(g.get("__package__", "<unset>")))
print("spec", spec.name if spec is not None else None)
print("cached", repr(g.get("__cached__", "<unset>")))
print("loader", type(g.get("__loader__")).__name__)
print("main is us", sys.modules["__main__"].__dict__ is g)
