"""Paths as linewise's messages show them (shared by the command line and explicit mode)."""
from __future__ import annotations

import os

__all__ = ["shown_path"]


def shown_path(path) -> str:
    """`path` as a message shows it: relative to the current directory if it is in it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return path
    return path if relative.startswith(os.pardir) else relative
