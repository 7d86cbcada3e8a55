"""Patching a standard-library module when the program imports it, not before: importing
it for every program would change what the program sees (and cost every followed child
its import time). Used for multiprocessing by linewise._children and linewise._follow."""
from __future__ import annotations

import sys

__all__ = ["patch_when_imported"]


class _PatchOnImport:
    """A meta-path finder that runs `patch(module)` right after `name` is executed, once."""

    def __init__(self, name, patch):
        self.name = name
        self.patch = patch

    def find_spec(self, name, path=None, target=None):
        if name != self.name:
            return None
        sys.meta_path[:] = [f for f in sys.meta_path if f is not self]
        import importlib.util

        spec = importlib.util.find_spec(name)
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module  # this spec's own loader instance
        patch = self.patch

        def exec_and_patch(module):
            exec_module(module)
            patch(module)

        loader.exec_module = exec_and_patch
        return spec


def patch_when_imported(name, patch) -> None:
    """Runs `patch(module)` on the module `name` now if it is imported, else right after
    the program imports it (once, however often this is asked)."""
    module = sys.modules.get(name)
    if module is not None:
        patch(module)
    elif not any(isinstance(f, _PatchOnImport) and f.name == name and f.patch is patch
                 for f in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport(name, patch))
