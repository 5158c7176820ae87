"""Per-pore print rules: bend radii and necks against analytic shapes, the cells named in the
check, the penalty (zero inside the rules, its gradient by finite differences) and the
projections of pore shapes onto the rules."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morphax.geometry import (
    CellularSolid,
    Constraints,
    PrintPenalty,
    PrintRules,
    bend_radii,
    curve_neck,
    print_check,
    sample_angles,
    smooth_pores,
    thicken_walls,
)


def test_bend_radius_and_neck_of_analytic_curves():
    th = sample_angles(512)
    circle = 1.7 * np.stack([np.cos(th), np.sin(th)], 1)
    np.testing.assert_allclose(bend_radii(circle), 1.7, rtol=1e-4)
    assert curve_neck(circle)[0] == np.inf          # a circle has no neck
    # a peanut r = r0 (1 + c cos 2 theta): its waist at theta = 90 deg is 2 r0 (1 - c) wide
    r0, c = 2.0, 0.6
    rho = r0 * (1 + c * np.cos(2 * th))
    peanut = rho[:, None] * np.stack([np.cos(th), np.sin(th)], 1)
    width, where = curve_neck(peanut)
    assert width == pytest.approx(2 * r0 * (1 - c), rel=1e-9)
    assert np.allclose(np.abs(np.asarray(where)[:, 0]), 0.0, atol=1e-9)


def _peanut_design():
    """A 1 x 2 lattice whose right pore is a peanut with a 0.28 mm waist (h = 2.5 mm)."""
    th = sample_angles(16)
    peanut = 0.35 * (1 + 0.84 * np.cos(2 * th))
    circle = np.full(16, 0.5)
    return CellularSolid.from_grid(["PP"], 5.0, radii=np.stack([circle, peanut]),
                                   constraints=Constraints(min_ligament=0.5))


def test_print_check_names_the_cell_with_a_thin_neck():
    checks = {c.pore: c for c in print_check(_peanut_design(), PrintRules(nozzle=0.4))}
    assert checks["pore_0_0"].violations == ()
    bad = checks["pore_0_1"]
    assert bad.cell == (0, 1) and any("neck" in v for v in bad.violations)
    assert bad.neck == pytest.approx(2 * 2.5 * 0.35 * (1 - 0.84), rel=1e-3)


def test_penalty_is_zero_inside_the_rules_and_has_exact_gradients():
    d = CellularSolid.lattice(2, 2, 5.0, 0.15, constraints=Constraints(min_ligament=0.5))
    pen = PrintPenalty(d)
    assert float(pen(d.params())) == 0.0
    bad = _peanut_design()
    value_and_grad = jax.jit(jax.value_and_grad(PrintPenalty(bad)))   # one compile
    p = bad.params()
    value, g = value_and_grad(p)
    assert float(value) > 0.0
    v = np.random.default_rng(0).normal(size=p["radii"].shape)
    eps = 1e-6
    fd = (value_and_grad({**p, "radii": p["radii"] + eps * v})[0]
          - value_and_grad({**p, "radii": p["radii"] - eps * v})[0])
    assert float(jnp.sum(g["radii"] * v)) == pytest.approx(float(fd) / (2 * eps), rel=1e-5)


def test_smoothing_projects_pores_onto_the_neck_and_bend_rules():
    d = _peanut_design()
    p, changed = smooth_pores(d, d.params())
    assert list(changed) == ["pore_0_1"] and 0.0 < changed["pore_0_1"] < 1.0
    np.testing.assert_array_equal(p["radii"][0], d.radii[0])      # the good pore is untouched
    r = np.asarray(p["radii"][1])
    assert r.mean() == pytest.approx(d.radii[1].mean())           # shrunk towards its mean
    fixed = {c.pore: c for c in print_check(d.with_params(p, check=False))}
    assert not any("neck" in v or "bend" in v for v in fixed["pore_0_1"].violations)
    assert fixed["pore_0_1"].neck >= 0.4 or fixed["pore_0_1"].neck == np.inf


def test_thickening_projects_walls_onto_the_wall_rule():
    """Two 5 mm cells whose pores bulge towards each other (r = 0.72 +- 0.22 cos theta, h =
    2.5 mm) and leave a 0.3 mm wall between them (0.5 mm rule, 0.4 mm nozzle): each shrinks by
    half the shortfall, and the wall ends just inside the rule; a design inside the rule is
    left alone."""
    d = CellularSolid.from_grid(["PP"], 5.0, radii=np.full((2, 16), 0.5),
                                constraints=Constraints(min_ligament=0.5, r_max=0.95))
    bulge = 0.22 * np.cos(sample_angles(16))
    fat = {**d.params(), "radii": np.stack([0.72 + bulge, 0.72 - bulge])}
    before = {c.pore: c.wall for c in print_check(d.with_params(fat, check=False))}
    assert max(before.values()) < 0.5
    p, changed = thicken_walls(d, fat, PrintRules(nozzle=0.4))
    assert sorted(changed) == ["pore_0_0", "pore_0_1"]
    after = print_check(d.with_params(p, check=False), PrintRules(nozzle=0.4))
    assert all(0.5 <= c.wall <= 0.6 for c in after), [c.wall for c in after]
    assert all(not any("wall" in v for v in c.violations) for c in after)
    same, none = thicken_walls(d, d.params(), PrintRules(nozzle=0.4))
    assert none == {} and np.array_equal(same["radii"], d.radii)


def test_smoothing_grows_a_circle_that_a_squashed_cell_bends_too_tightly():
    """A 5 mm cell squashed to 3.5 mm (top nodes 1.5 mm down) turns a circle of radius R into
    an ellipse of semi-axes R and 0.7 R, whose tightest bend is 0.49 R. For R = 0.3 mm that is
    0.147 mm, under half the 0.4 mm nozzle; the circle grows to the smallest R obeying the rule
    with smooth_pores' 5% margin, 0.21 / 0.49 = 0.43 mm, and stays a circle."""
    d = CellularSolid.from_grid(["P"], 5.0, radii=np.full((1, 16), 0.12))
    offsets = np.zeros((2, 2, 2))
    offsets[1, :, 1] = -1.5
    p = {**d.params(), "offsets": offsets}
    (before,) = print_check(d.with_params(p, check=False), PrintRules(nozzle=0.4))
    assert before.min_bend == pytest.approx(0.49 * 0.3, rel=0.05) and before.violations
    out, changed = smooth_pores(d, p, PrintRules(nozzle=0.4))
    r = np.asarray(out["radii"][0])
    assert changed == {"pore_0_0": 0.0} and np.ptp(r) == 0.0
    assert 2.5 * r[0] == pytest.approx(0.21 / 0.49, rel=0.03)
    (after,) = print_check(d.with_params(out, check=False), PrintRules(nozzle=0.4))
    assert after.violations == ()
