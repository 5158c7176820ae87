"""Deprecated aliases: old public names keep working for one release, with a warning."""

from __future__ import annotations

import importlib
import warnings


def moved_names(module: str, moved: dict[str, str], removed: dict[str, str] | None = None):
    """A module-level `__getattr__` for `module` that serves each old name in `moved` from its
    new home (a dotted path such as "morphax.learners.meta_pde.PoissonTask" or
    "morphax.physics.ReactionDiffusion.step") with a DeprecationWarning. The new homes are looked
    up by name only when an old name is used, so this adds no import to the module. `removed`
    maps names that have no one-to-one replacement to what to use instead."""
    removed = removed or {}

    def __getattr__(name: str):
        if name in removed:
            raise AttributeError(f"{module}.{name} was removed: {removed[name]}")
        if name not in moved:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        warnings.warn(f"{module}.{name} moved to {moved[name]}; the old name will be removed in "
                      "the next release", DeprecationWarning, stacklevel=2)
        return _resolve(moved[name])

    return __getattr__


def _resolve(path: str):
    """The object at a dotted path: the longest importable module prefix, then attributes."""
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(f"cannot resolve {path!r}")
