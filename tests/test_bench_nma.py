"""The NMA bench's gradient check is taken where the loss is not flat (digits: random colour)."""

import jax

from morphax.bench import nma
from morphax.learners.nma import NMASystem, gradient_check, heldout_targets, preset


def test_digits_gradient_check_sees_a_nonzero_gradient():
    cfg = preset("digits", quick=True)
    system = NMASystem(cfg)
    target = jax.tree_util.tree_map(lambda v: v[0], heldout_targets(system, 1))
    flat = gradient_check(system, system.init_model(cfg, key=jax.random.key(0)), target,
                          key=jax.random.key(1))
    assert abs(flat["ad"]["net"]) < 1e-12            # why the bench needs a checked model
    g = gradient_check(system, nma._check_model(system, cfg, 0), target, key=jax.random.key(1))
    assert abs(g["ad"]["net"]) > 1e-8 and abs(g["ad"]["radii"]) > 1e-8
    assert g["net"] < 1e-5 and g["radii"] < 1e-5
