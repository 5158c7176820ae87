"""Helpers shared by the benchmarks: timing after warm-up and peak memory."""

from __future__ import annotations

import resource
import statistics
import time


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
    """Peak resident memory of this process (MB) since it started or since the last
    `reset_peak_rss()`."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def reset_peak_rss() -> bool:
    """Start a new peak-memory window at the current resident memory (Linux: clear_refs 5),
    so that one case's peak is not an earlier case's; False where the system cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True
