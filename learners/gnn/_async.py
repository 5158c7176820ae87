"""An asynchronous ("hogwild") inference simulator for GNNs, as a swarm or sensor network
would run them: nodes wake at their own times and read neighbour states that may be stale.

Each tick a set of nodes wakes (`Schedule.mode`):
  "subset"  every node independently with probability p; a node idle for `window` ticks is
            woken (so the partial-asynchrony assumption, one update per window, holds);
  "single"  one node at a time, in a fresh random order every sweep of n ticks;
  "clocks"  per-node Poisson clocks with random rates in [0.5, 2]: the node whose clock
            rings first updates (event-driven continuous time).
A waking node reads each neighbour's state from a history of the last B + 1 ticks with an
independent random delay in {0..B} per edge and direction (bounded staleness B, Bertsekas
and Tsitsiklis 1989); its own state is current. Explicit GNNs keep a layer counter per node
and stop at L layers, using whatever neighbour values are stored (Fig. 1 of Solodova et al.).
Implicit models run until the synchronous residual max |F(h) - h| falls below `tol`
(checked every `window` ticks in "subset" mode, every n ticks otherwise), for at most
`max_ticks` ticks; a residual that grows by `divergence` or becomes non-finite is reported as
divergence, one still above `tol` after `max_ticks` as non-convergence.

Step size of energy models (`Schedule.omega`): a waking node takes the block-Jacobi
preconditioned step omega P_i^-1 dE/dh_i / (1.1 L), L the largest eigenvalue of
P^-1/2 (d2E/dH2) P^-1/2 (`EnergyModel.step_size`); omega = 1 is the synchronous step.
With stale reads, along an eigenvector of the preconditioned Hessian with eigenvalue lambda
the worst case is the constant-delay recursion x_(t+1) = x_t - a x_(t-B) with
a = omega lambda / (1.1 L) <= omega / 1.1, stable iff a < 2 sin(pi / (2 (2B + 1))) (Levin
and May 1976). The default omega = 1 / (1 + B) satisfies this for every B (B = 0: 0.91 < 2;
B = 2: 0.30 < 0.62; large B: about 1 / B < pi / 2B). It is a guide, not a proof for random
delays, so the simulator checks the residual and reports divergence. Node updates to reach
`tol` grow like 1.1 (1 + B) kappa log(1 / tol), kappa = L / mu_P the preconditioned
condition number (mu_P the smallest eigenvalue of P^-1/2 (d2E/dH2) P^-1/2).
Everything is a function of `key`; `simulate` runs under jit and `simulate_many` runs many
schedules as one compiled, vmapped program.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp

from morphax._core import ConvergenceError, InputError

from ._graphs import Graph

MODES = ("subset", "single", "clocks")
"""How nodes wake each tick (`Schedule.mode`): random subset, one node at a time, Poisson clocks."""


@dataclasses.dataclass(frozen=True)
class Schedule:
    """How nodes wake and how stale their reads are.

    mode: one of MODES; p: waking probability per tick ("subset"); staleness: B >= 0 ticks;
    window: ticks after which an idle node is woken ("subset"); max_ticks: budget;
    tol: convergence threshold on max |F(h) - h|; step_scale: omega, energy models step
    omega P_i^-1 / (1.1 L) (default 1 / (1 + B), module doc); divergence: growth factor of the
    residual that counts as divergence.
    """

    mode: str = "subset"
    p: float = 0.5
    staleness: int = 0
    window: int = 8
    max_ticks: int = 20000
    tol: float = 1e-10
    step_scale: float | None = None
    divergence: float = 1e6

    def __post_init__(self):
        if self.mode not in MODES:
            raise InputError(f"schedule mode must be one of {MODES}, got {self.mode!r}")
        if not 0.0 < self.p <= 1.0:
            raise InputError(f"waking probability p must lie in (0, 1], got {self.p}")
        if self.staleness < 0 or self.window < 1 or self.max_ticks < 1:
            raise InputError("staleness must be >= 0 and window, max_ticks >= 1; got "
                             f"{self.staleness}, {self.window}, {self.max_ticks}")

    @property
    def omega(self) -> float:
        return 1.0 / (1.0 + self.staleness) if self.step_scale is None else self.step_scale


class AsyncResult(NamedTuple):
    """states (n, d) at the end; ticks and node updates used; residual max |F(h) - h| at the
    last check (explicit models: nodes still below L layers); converged, diverged flags."""

    states: jax.Array
    ticks: jax.Array
    updates: jax.Array
    residual: jax.Array
    converged: jax.Array
    diverged: jax.Array


def _residual(model, ctx, h, counters, step):
    g = ctx["graph"]
    if model.kind == "explicit":
        return jnp.sum((counters < model.num_layers) & g.node_mask).astype(h.dtype)
    return jnp.max(jnp.abs(model.sync_update(ctx, h, counters, step) - h))


def _wake(mode: str, p, window, key, t, n, last, clocks, rates):
    """(active (n,) bool, new clocks) for tick t."""
    idx = jnp.arange(n)
    if mode == "subset":
        return jax.random.bernoulli(key, p, (n,)) | (t - last >= window), clocks
    if mode == "single":
        perm = jax.random.permutation(jax.random.fold_in(key, t // n), n)
        return idx == perm[t % n], clocks
    i = jnp.argmin(clocks)
    wait = jax.random.exponential(jax.random.fold_in(key, 1), dtype=clocks.dtype) / rates[i]
    return idx == i, clocks.at[i].add(wait)


def _dynamic(schedule: Schedule) -> dict:
    dyn = {"p": schedule.p, "window": schedule.window, "max_ticks": schedule.max_ticks,
           "tol": schedule.tol, "omega": schedule.omega, "divergence": schedule.divergence}
    dyn = {k: jnp.asarray(v) for k, v in dyn.items()}
    dyn["b"] = jnp.asarray(schedule.staleness)
    return dyn


def _history(schedule: Schedule) -> int:
    # the history length is static: staleness bounds up to 8 share one compiled simulator
    return max(8, schedule.staleness) + 1


def simulate(model, graph: Graph, schedule: Schedule, *, key) -> AsyncResult:
    """Run `model` asynchronously on `graph` under `schedule`; pure and jit-compatible.
    Only the mode and the history length max(8, B) + 1 are compile-time constants, so runs
    with staleness bounds up to 8 and any p, window, tol or step scale share one compile."""
    return _simulate_jit(model, graph, schedule.mode, _history(schedule), _dynamic(schedule), key)


def simulate_many(model, graph: Graph, schedule: Schedule, *, keys) -> AsyncResult:
    """`simulate` for every key of `keys` (k,) in one compiled program (vmapped): an
    AsyncResult whose fields have a leading axis of length k. Runs that finish early keep their
    state while the others continue."""
    return _simulate_many(model, graph, schedule.mode, _history(schedule), _dynamic(schedule), keys)


@eqx.filter_jit
def _simulate_jit(model, graph, mode, buf, dyn, key):
    return _simulate(model, graph, mode, buf, dyn, key)


@eqx.filter_jit
def _simulate_many(model, graph, mode, buf, dyn, keys):
    return jax.vmap(lambda k: _simulate(model, graph, mode, buf, dyn, k))(keys)


def _simulate(model, graph: Graph, mode: str, buf: int, dyn: dict, key) -> AsyncResult:
    ctx = model.prepare(graph)
    h0 = model.init_state(ctx)
    n = graph.n_nodes
    step = model.step_size(ctx, h0, scale=dyn["omega"]) if model.kind == "energy" else None
    k_clock, k_run, k_perm = jax.random.split(key, 3)
    rates = jax.random.uniform(k_clock, (n,), h0.dtype, 0.5, 2.0)
    clocks = jax.random.exponential(jax.random.fold_in(k_clock, 1), (n,), h0.dtype) / rates
    check = dyn["window"] if mode == "subset" else n
    counters0 = jnp.zeros(n, jnp.int32)
    res0 = _residual(model, ctx, h0, counters0, step)
    limit = dyn["divergence"] * jnp.maximum(res0, dyn["tol"])
    mask = graph.node_mask

    def done(res):
        return res < (0.5 if model.kind == "explicit" else dyn["tol"])

    def cond(c):
        t, res = c[0], c[7]
        return (t < dyn["max_ticks"]) & ~done(res) & jnp.isfinite(res) & (res <= limit)

    def body(c):
        t, h, hist, counters, clk, last, updates, res = c
        k_wake, k_s, k_r = jax.random.split(jax.random.fold_in(k_run, t), 3)
        active, clk = _wake(mode, dyn["p"], dyn["window"], k_perm if mode == "single" else k_wake,
                            t, n, last, clk, rates)
        active = active & mask
        if model.kind == "explicit":
            active = active & (counters < model.num_layers)
        hist = hist.at[t % buf].set(h)
        cap = jnp.minimum(t, dyn["b"])
        ds = jnp.minimum(jax.random.randint(k_s, (graph.n_edges,), 0, dyn["b"] + 1), cap)
        dr = jnp.minimum(jax.random.randint(k_r, (graph.n_edges,), 0, dyn["b"] + 1), cap)
        h_send = hist[(t - ds) % buf, graph.senders]
        h_recv = hist[(t - dr) % buf, graph.receivers]
        new = model.update(ctx, h, h_send, h_recv, counters, step)
        h = jnp.where(active[:, None], new, h)
        counters = counters + active.astype(jnp.int32)
        last = jnp.where(active, t, last)
        updates = updates + jnp.sum(active)
        t = t + 1
        res = jax.lax.cond(t % check == 0, lambda: _residual(model, ctx, h, counters, step),
                           lambda: res)
        return t, h, hist, counters, clk, last, updates, res

    hist0 = jnp.broadcast_to(h0[None], (buf, *h0.shape))
    init = (jnp.asarray(0), h0, hist0, counters0, clocks, jnp.zeros(n, jnp.int32), jnp.asarray(0),
            res0)
    t, h, _, counters, _, _, updates, res = jax.lax.while_loop(cond, body, init)
    res = _residual(model, ctx, h, counters, step)
    diverged = ~jnp.isfinite(res) | (res > limit)
    return AsyncResult(h, t, updates, res, done(res), diverged)


def run_async(model, graph: Graph, schedule: Schedule = Schedule(), *, key,
              check: bool = True) -> AsyncResult:
    """Compiled `simulate`; with check=True raises ConvergenceError when the run diverged or
    did not converge within schedule.max_ticks, saying what to change."""
    if not isinstance(schedule, Schedule):
        raise InputError(f"schedule must be a Schedule, got {type(schedule).__name__}")
    result = simulate(model, graph, schedule, key=key)
    if check and bool(result.diverged):
        what = (f"the step scale {schedule.omega:g} is too large for staleness B = "
                f"{schedule.staleness}; lower step_scale or B" if model.kind == "energy" else
                "the update is not a contraction (for IGNN project W so ||W||_inf < 1: "
                "model.project())")
        raise ConvergenceError(
            f"asynchronous inference diverged after {int(result.ticks)} ticks "
            f"({int(result.updates)} node updates; residual {float(result.residual):.3g}): {what}")
    if check and not bool(result.converged):
        raise ConvergenceError(
            f"asynchronous inference did not converge in {schedule.max_ticks} ticks (residual "
            f"{float(result.residual):.3g} > tol {schedule.tol:g}); raise max_ticks or tol")
    return result


def async_outputs(model, graph: Graph, schedule: Schedule, *, key):
    """(outputs (n, out), AsyncResult) of one asynchronous run, checked."""
    result = run_async(model, graph, schedule, key=key)
    return model.readout(graph, result.states), result
