"""One compile cache (morphax._core.cached): built once per owner and key, dropped with the
owner, and a second solve of the same problem does not compile again."""

import gc
import logging

import jax

from morphax import physics as mp
from morphax._core import cached


class _Owner:
    pass


def test_built_once_per_owner_and_key():
    owner, calls = _Owner(), []
    build = lambda: calls.append(1) or len(calls)  # noqa: E731
    assert cached(owner, "a", build) == 1
    assert cached(owner, "a", build) == 1
    assert cached(owner, "b", build) == 2
    assert cached(_Owner(), "a", build) == 3


def test_entries_go_with_the_owner():
    import weakref

    owner = _Owner()
    value = _Owner()
    cached(owner, "k", lambda: value)
    ref = weakref.ref(owner)
    del owner
    gc.collect()
    assert ref() is None


def test_second_solve_does_not_recompile(caplog):
    mesh = mp.rectangle(4, 4, "tri3")
    problem = mp.Problem(mesh, mp.Poisson(), dirichlet=[mp.Dirichlet("left", 0.0)], source=1.0)
    mp.solve(problem)
    with jax.log_compiles(True), caplog.at_level(logging.WARNING, logger="jax"):
        caplog.clear()
        mp.solve(problem)
    compiled = [r for r in caplog.records if "ompil" in r.getMessage()]
    assert not compiled, [r.getMessage() for r in compiled]
