"""Helpers shared by the benchmarks: timing after warm-up, peak memory, atomic writes."""

from __future__ import annotations

import os
import pathlib
import resource
import statistics
import tempfile
import time


def atomic_write_text(path: pathlib.Path, text: str) -> None:
    """Write `text` to `path` through a temporary file and a rename (never half a file)."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        pathlib.Path(tmp).unlink(missing_ok=True)
        raise


def median_time(fn, repeats: int = 3) -> tuple[float, object]:
    """Median wall time (s) of `fn()` over `repeats` calls, and the last result.
    Call it after a warm-up call so compilation is not included."""
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
