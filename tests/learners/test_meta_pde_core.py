"""Meta-PDE learners: the SIREN jet, MAML's inner loop, LEAP, save/load and resume."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morphax import InputError
from morphax.learners.meta_pde import (
    Adapter,
    BurgersFamily,
    MetaTrainConfig,
    PoissonFamily,
    Siren,
    available_pretrained,
    leap_meta_gradient,
    load_init,
    maml_outer_loss,
    meta_train,
    new_init,
    pretrain,
    pretrained,
    save_init,
)

SMALL = dict(width=16, depth=2)


def test_siren_jet_matches_autodiff():
    net = Siren(2, 1, 32, 3, key=jax.random.key(0))
    x = jnp.asarray([0.3, -0.7])
    c = jnp.asarray([1.0, 0.25])
    u, g, lap = net.jet(x, c)
    H = jax.hessian(lambda y: net(y)[0])(x)
    assert np.allclose(u, net(x))
    assert np.allclose(g[0], jax.grad(lambda y: net(y)[0])(x))
    assert float(lap[0]) == pytest.approx(float(H[0, 0] + 0.25 * H[1, 1]), rel=1e-10)


def _loss_at(family, model, task, key):
    return float(family.loss(model, task, key=key))


def test_maml_inner_steps_reduce_the_task_loss():
    fam = PoissonFamily(n_domain=64, n_boundary=32)
    init = new_init(fam, "maml", key=jax.random.key(0), inner_lr=1e-2, **SMALL)
    task = fam.sample_tasks(1, key=jax.random.key(3))[0]
    out = Adapter(fam).run(init, task, init.inner_steps, key=jax.random.key(1))
    k = jax.random.key(9)   # same points before and after
    before, after = _loss_at(fam, out[0], task, k), _loss_at(fam, out[init.inner_steps], task, k)
    assert after < 0.95 * before, (before, after)


@pytest.mark.skipif("poisson_maml" not in available_pretrained(), reason="not shipped")
def test_shipped_maml_init_adapts_fast():
    fam = PoissonFamily()
    init = pretrained("poisson_maml")
    task = jnp.asarray(fam.held_out(1, seed=77)[0].vector())
    out = Adapter(fam).run(init, task, 5, key=jax.random.key(0), record=[0, 5])
    k = jax.random.key(5)
    assert _loss_at(fam, out[5], task, k) < 0.5 * _loss_at(fam, out[0], task, k)


def test_rate_parametrizations_take_the_same_first_steps():
    fam = PoissonFamily(n_domain=32, n_boundary=16)
    task = fam.sample_tasks(1, key=jax.random.key(3))[0]
    steps = {}
    for rates in ("softplus", "exp"):
        init = new_init(fam, "maml", key=jax.random.key(0), inner_lr=1e-2, rates=rates, **SMALL)
        steps[rates] = Adapter(fam).run(init, task, 2, key=jax.random.key(1), record=[2])[2]
    moved = steps["softplus"].weights[0] - new_init(fam, "maml", key=jax.random.key(0),
                                                    **SMALL).model.weights[0]
    assert float(jnp.abs(moved).max()) > 1e-6
    for a, b in zip(jax.tree_util.tree_leaves(steps["softplus"]),
                    jax.tree_util.tree_leaves(steps["exp"]), strict=True):
        assert np.allclose(a, b, rtol=1e-10, atol=1e-14)
    with pytest.raises(InputError, match="rates"):
        new_init(fam, "maml", key=jax.random.key(0), rates="linear")


def test_maml_meta_gradient_reaches_the_learned_rates():
    fam = BurgersFamily(n_domain=32, n_boundary=16)
    init = new_init(fam, "maml", key=jax.random.key(0), inner_steps=2, **SMALL)
    task = fam.sample_tasks(1, key=jax.random.key(1))[0]
    g = jax.grad(lambda i: maml_outer_loss(fam, i, task, key=jax.random.key(2),
                                           first_order=True))(init)
    norms = [float(jnp.abs(a).sum()) for a in jax.tree_util.tree_leaves(g.lr_params)]
    assert all(np.isfinite(norms)) and sum(norms) > 0


def test_leap_gradient_points_downhill():
    fam = PoissonFamily(n_domain=64, n_boundary=32)
    init = new_init(fam, "leap", key=jax.random.key(0), inner_steps=5, inner_lr=1e-3, **SMALL)
    task = fam.sample_tasks(1, key=jax.random.key(1))[0]
    g, _ = leap_meta_gradient(fam, init, task, key=jax.random.key(2))
    params, static = eqx.partition(init.model, eqx.is_inexact_array)
    step = jax.tree_util.tree_map(lambda p, gi: p - 1e-3 * gi, params, g)
    k = jax.random.key(4)
    assert _loss_at(fam, eqx.combine(step, static), task, k) < _loss_at(fam, init.model, task, k)


def test_save_load_round_trip(tmp_path):
    fam = PoissonFamily()
    for method, rates in (("maml", "softplus"), ("maml", "exp"), ("leap", "softplus")):
        init = new_init(fam, method, key=jax.random.key(1), rates=rates, **SMALL)
        path = save_init(tmp_path / f"{method}_{rates}.npz", init, dtype=np.float64)
        back = load_init(path)
        assert back.config == init.config
        for a, b in zip(jax.tree_util.tree_leaves(eqx.filter(init, eqx.is_inexact_array)),
                        jax.tree_util.tree_leaves(eqx.filter(back, eqx.is_inexact_array)),
                        strict=True):
            assert np.array_equal(a, b)
        x = jnp.asarray([0.1, 0.2])
        assert np.array_equal(init.model(x), back.model(x))


@pytest.mark.slow
def test_meta_training_resumes_deterministically(tmp_path):
    fam = PoissonFamily(n_domain=32, n_boundary=16)
    init = new_init(fam, "maml", key=jax.random.key(0), inner_steps=2, **SMALL)
    cfg = MetaTrainConfig(steps=4, task_batch=2, first_order=True, checkpoint_every=1)
    straight, hist = meta_train(fam, init, cfg, key=jax.random.key(7))
    ckpt = tmp_path / "run.ckpt.npz"
    meta_train(fam, init, cfg, key=jax.random.key(7), checkpoint=ckpt, stop_after=2)
    resumed, hist2 = meta_train(fam, init, cfg, key=jax.random.key(7), checkpoint=ckpt)
    assert [s for s, _ in hist2] == [0, 1, 2, 3]
    assert np.allclose([v for _, v in hist], [v for _, v in hist2])
    for a, b in zip(jax.tree_util.tree_leaves(eqx.filter(straight, eqx.is_inexact_array)),
                    jax.tree_util.tree_leaves(eqx.filter(resumed, eqx.is_inexact_array)),
                    strict=True):
        assert np.array_equal(a, b)
    # training moved the initialization
    assert not np.array_equal(straight.model.weights[0], init.model.weights[0])


def test_sharded_meta_step_on_one_device_equals_the_plain_step():
    """A 1-device mesh runs the shard_map path (each device meta-learns its slice of the task
    batch): it must see every task, as the plain step does."""
    fam = PoissonFamily(n_domain=16, n_boundary=8)
    init = new_init(fam, "maml", key=jax.random.key(0), inner_steps=1, width=8, depth=1)
    cfg = MetaTrainConfig(steps=1, task_batch=3, first_order=True)
    plain, h_plain = meta_train(fam, init, cfg, key=jax.random.key(7))
    sharded, h_sharded = meta_train(fam, init, cfg, key=jax.random.key(7), devices=1)
    assert abs(h_plain[0][1] - h_sharded[0][1]) <= 1e-12 * abs(h_plain[0][1])
    for a, b in zip(jax.tree_util.tree_leaves(eqx.filter(plain, eqx.is_inexact_array)),
                    jax.tree_util.tree_leaves(eqx.filter(sharded, eqx.is_inexact_array)),
                    strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_pretrain_overrides_rates_only_for_maml(tmp_path):
    with pytest.raises(InputError, match="MAML"):
        pretrain("poisson", "leap", rates="exp", out=tmp_path)
    assert not list(tmp_path.iterdir())
