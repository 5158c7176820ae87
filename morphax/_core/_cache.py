"""One compile cache: build a compiled function once per owner object and key."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Any

_CACHES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCK = threading.RLock()


def cached(owner: Any, key: Hashable, build: Callable[[], Any]) -> Any:
    """The value `build()` returned the first time it was asked for `(owner, key)`.

    `owner` (a problem, a task family, ...) must be hashable and weak-referenceable; its entries
    go when it is garbage-collected, so a cache never keeps a mesh or a model alive. Use it for
    jitted or ahead-of-time compiled functions that depend on a static object: the second call
    with the same owner and key reuses the compiled function instead of tracing again.
    """
    with _LOCK:
        per_owner = _CACHES.get(owner)
        if per_owner is None:
            per_owner = _CACHES[owner] = {}
        if key not in per_owner:
            per_owner[key] = build()
        return per_owner[key]
