"""Co-design geometry: which lattice nodes may move, the symmetry-breaking initialisation
(shared by co-design and frozen runs of a seed), re-meshing instead of shortened steps, the
print-rule penalty in the geometry gradient and the geometry warm-up."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morphax.learners.nma import NMASystem, Trainer, _system, make_optimizer, preset


@pytest.fixture(scope="module")
def rotation():
    return NMASystem(preset("rotation", quick=True))


def test_offset_mask_fixes_corners_and_the_rotating_cell(rotation):
    mask = rotation.offset_mask()                       # 5 x 5 lattice: 6 x 6 nodes
    assert mask.shape == (6, 6, 2)
    for a, b in ((0, 0), (0, 5), (5, 0), (5, 5)):       # outer corners pinned
        assert not mask[a, b].any()
    assert not mask[2:4, 2:4].any()                     # corners of the solid centre cell
    free = mask[1:5, 1:5, 0].astype(bool)               # the other 12 interior nodes move
    assert free.sum() == 12 and mask[1:5, 1:5][free].all()
    # outer-side nodes slide along their side only
    np.testing.assert_array_equal(mask[0, 1], [1, 0])
    np.testing.assert_array_equal(mask[2, 0], [0, 1])
    trans = NMASystem(preset("translation", quick=True)).offset_mask()
    assert trans[1:3, 1:3].all()                        # translation (3 x 3): interior nodes


def test_initial_perturbation_is_seeded_and_shared_by_frozen_runs(rotation):
    cfg = preset("rotation", quick=True)
    a = Trainer(cfg, system=rotation).state.model.geometry
    b = Trainer(cfg.replace(codesign=False), system=rotation).state.model.geometry
    c = Trainer(cfg.replace(seed=1), system=rotation).state.model.geometry
    exact = Trainer(cfg.replace(init_noise=0.0), system=rotation).state.model.geometry
    for k in ("radii", "offsets"):
        np.testing.assert_array_equal(np.asarray(a[k]), np.asarray(b[k]))
        assert not np.array_equal(np.asarray(a[k]), np.asarray(c[k]))
        np.testing.assert_array_equal(np.asarray(exact[k]), np.asarray(rotation.design.params()[k]))
    moved = np.abs(np.asarray(a["offsets"])) > 0
    assert not (moved & (rotation.offset_mask() == 0)).any()     # fixed components stay put
    assert abs(float(np.std(np.asarray(a["radii"]) - rotation.design.radii)) - 0.02) < 0.01


def test_a_degrading_step_remeshes_instead_of_shortening(rotation, monkeypatch):
    monkeypatch.setattr(_system, "REMESH_ANGLE", 15.0)   # a step that leaves ~13.5 deg
    cfg = preset("rotation", quick=True, init_noise=0.0)
    trainer = Trainer(cfg, system=rotation)
    old = trainer.state.model.geometry
    th = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    lopsided = np.tile(0.45 + 0.3 * np.cos(th), (len(rotation.design.porous_cells), 1))
    new = {**old, "radii": jnp.asarray(lopsided)}
    assert rotation.needs_remesh(rotation.project(new))
    step = trainer._geometry_step(old, new)
    assert trainer.state.remeshes == 1 and trainer.state.shortened_steps == 0
    assert trainer.system is not rotation and trainer.initial_system is rotation
    np.testing.assert_allclose(np.asarray(step["radii"]),
                               np.asarray(rotation.project(new)["radii"]))   # the full step
    assert not trainer.system.needs_remesh(step)
    # the optimizer state carries over: same tree as the model's
    assert jax.tree_util.tree_structure(trainer.system.init_model(key=jax.random.key(0))) == \
        jax.tree_util.tree_structure(trainer.state.model)


@pytest.mark.slow
def test_print_penalty_enters_the_geometry_gradient_on_free_nodes_only(rotation):
    cfg = preset("rotation", quick=True, init_noise=0.0)
    trainer = Trainer(cfg, system=rotation)
    geom = trainer.state.model.geometry
    th = jnp.linspace(0, 2 * jnp.pi, 16, endpoint=False)
    thin = {**geom, "radii": geom["radii"].at[0].set(0.3 * (1 + 0.9 * jnp.cos(2 * th)))}
    zero = jax.tree_util.tree_map(jnp.zeros_like, thin)
    g = trainer._geometry_grad(thin, zero)
    assert trainer._last_penalty > 0
    assert float(jnp.abs(g["radii"][0]).max()) > 0 and float(jnp.abs(g["radii"][1:]).max()) == 0
    assert not (np.abs(np.asarray(g["offsets"])) > 0)[rotation.offset_mask() == 0].any()


def test_geometry_warmup_holds_the_geometry_while_the_controller_learns(rotation):
    cfg = preset("rotation", quick=True, iterations=6, geometry_warmup=2, lr_final=0.1)
    model = rotation.init_model(cfg, key=jax.random.key(0))
    opt = make_optimizer(cfg)
    state = opt.init(model)
    ones = jax.tree_util.tree_map(jnp.ones_like, model)
    moved = []
    for _ in range(4):
        with jax.numpy_dtype_promotion("standard"):
            upd, state = opt.update(ones, state, model)
        new = eqx.apply_updates(model, upd)
        moved.append([bool(np.abs(np.asarray(a) - np.asarray(b)).max() > 0) for a, b in
                      ((new.geometry["radii"], model.geometry["radii"]),
                       (new.geometry["offsets"], model.geometry["offsets"]),
                       (new.controller.layers[0].weight, model.controller.layers[0].weight))])
        model = new
    # radii and offsets are still for the first 2 steps, the controller learns from the first
    assert moved == [[False, False, True]] * 2 + [[True, True, True]] * 2
