from .core import Engine  # noqa: F401
