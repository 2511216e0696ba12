"""Lazy public names for packages (PEP 562), so that importing is quick.

Examples
--------
>>> ns = {}
>>> getattr_, dir_ = lazy_exports("demo", {"sqrt": "math"}, ns)
>>> getattr_("sqrt")(9.0), "sqrt" in ns
(3.0, True)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(
    package: str, names: dict[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module-level ``__getattr__`` and ``__dir__`` that import ``names`` on first use.

    Parameters
    ----------
    package : str
        Name of the package, for error messages.
    names : dict
        Public name -> module that defines it.
    namespace : dict
        The package's ``globals()``; a name once imported is cached there.
    """

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
