"""The training loop the RAD experiments share: jitted steps over a key sequence, the compiling
first call timed apart, an optional progress bar."""

from __future__ import annotations

import time

import jax


def timed_steps(step, state: tuple, keys, *, desc: str, progress: bool = False):
    """Run `*state, loss = step(*state, key)` for each key in `keys` (n,).

    Returns (state, losses: list of n scalar device arrays, compile_s: seconds of the first,
    compiling call, seconds per later step)."""
    from tqdm import tqdm

    t0 = time.perf_counter()
    *state, loss = step(*state, keys[0])
    jax.block_until_ready(loss)
    compile_s = time.perf_counter() - t0
    losses = [loss]
    t0 = time.perf_counter()
    for key in tqdm(keys[1:], desc=desc, leave=False, disable=not progress):
        *state, loss = step(*state, key)
        losses.append(loss)
    jax.block_until_ready(state)
    return tuple(state), losses, compile_s, (time.perf_counter() - t0) / max(len(keys) - 1, 1)
