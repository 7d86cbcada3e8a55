"""Small programs with known line-by-line behaviour, profiled by the tests.

Lines that the tests look at carry a marker comment ``# L:name`` (unique per file); tests
find their numbers with ``conftest.line_of(module, "name")``, so these files may be edited
freely as long as each marker stays on the right line.
"""
