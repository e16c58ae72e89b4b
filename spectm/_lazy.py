"""Lazy package attributes (PEP 562), so ``import spectm.<package>`` stays cheap.

Packages whose modules pull in torch, scikit-learn or the geospatial stack list their public
names with the module that defines each; the module is imported on first use of a name.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any


def lazy_getattr(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` for ``package`` that resolves ``exports`` (name → module)."""

    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
