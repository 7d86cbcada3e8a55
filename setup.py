"""Build the C extension linewise._engine; all metadata lives in pyproject.toml."""
import glob
import os

from setuptools import Extension, setup

# LINEWISE_CFLAGS adds flags (the sanitizer build and the null-hook benchmark use it).
# Hidden visibility: only PyInit__engine is exported, so internal calls and globals skip
# the PLT/GOT on the hot path.
extra = ["-std=gnu11", "-Wall", "-Wextra", "-O2", "-fvisibility=hidden"]
extra += os.environ.get("LINEWISE_CFLAGS", "").split()

setup(
    ext_modules=[
        Extension(
            "linewise._engine",
            sources=sorted(glob.glob("src/linewise/_engine/*.c")),
            depends=sorted(glob.glob("src/linewise/_engine/*.h")),
            extra_compile_args=extra,
            extra_link_args=[f for f in extra if f.startswith("-fsanitize")],
        )
    ],
)
