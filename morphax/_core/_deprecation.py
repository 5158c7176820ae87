"""Deprecated aliases: old public names keep working for one release, with a warning."""

from __future__ import annotations

import importlib
import warnings


def moved_names(module: str, moved: dict[str, str]):
    """A module-level `__getattr__` for `module` that serves each old name in `moved` from its
    new home ("package.module.name") with a DeprecationWarning. The new homes are looked up by
    name only when an old name is used, so this adds no import to the module."""

    def __getattr__(name: str):
        if name not in moved:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        home, _, attr = moved[name].rpartition(".")
        warnings.warn(f"{module}.{name} moved to {moved[name]}; the old name will be removed in "
                      "the next release", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(home), attr)

    return __getattr__
