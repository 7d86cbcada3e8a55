"""Build the C extension linewise._engine; all metadata lives in pyproject.toml."""
import glob
import os
import sys

from setuptools import Extension, setup

# LINEWISE_CFLAGS adds flags (the sanitizer build and the null-hook benchmark use it).
# Hidden visibility: only PyInit__engine is exported, so internal calls and globals skip
# the PLT/GOT on the hot path.
extra = ["-std=gnu11", "-Wall", "-Wextra", "-O2", "-fvisibility=hidden"]
extra += os.environ.get("LINEWISE_CFLAGS", "").split()

linux = sys.platform.startswith("linux")
modules = [
    Extension(
        "linewise._engine",
        sources=sorted(glob.glob("src/linewise/_engine/*.c")),
        depends=sorted(glob.glob("src/linewise/_engine/*.h")),
        extra_compile_args=extra,
        extra_link_args=[f for f in extra if f.startswith("-fsanitize")],
        # dlsym (memory.c), timer_create (signals.c): in libc itself since glibc 2.34
        libraries=["dl", "rt"] if linux else [],
    )
]
if linux:
    # `linewise run --memory=native` preloads this (LD_PRELOAD): a plain shared library with
    # the malloc family, built as an extension only to be built and installed alongside.
    # Never imported, so never sanitized: ASan must come first in a preload list.
    modules.append(Extension(
        "linewise._native_malloc",
        sources=["src/linewise/_preload/malloc_hook.c"],
        extra_compile_args=[f for f in extra if not f.startswith("-fsanitize")],
    ))

setup(ext_modules=modules)
