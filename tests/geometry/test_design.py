"""Cellular-solid designs: construction, pore shapes, JSON round trip, every invalid-design
error, ligament widths and the projection helper."""

import json
import math

import jax.numpy as jnp
import numpy as np
import pytest

from morphax import InputError
from morphax.geometry import (
    CellularSolid,
    Constraints,
    DesignError,
    LargePore,
    bertoldi_radii,
    constraint_penalty,
    interpolation_matrix,
    ligaments,
    min_ligament,
    pore_lattice,
    project_params,
    sample_angles,
    validate_design,
)


def _shoelace(xy):
    return 0.5 * np.sum(xy[:, 0] * np.roll(xy[:, 1], -1) - np.roll(xy[:, 0], -1) * xy[:, 1])


def test_interpolant_passes_through_samples_and_reproduces_bertoldi():
    rng = np.random.default_rng(0)
    for n in (7, 16, 48):
        r = rng.uniform(0.2, 0.8, n)
        assert np.allclose(interpolation_matrix(sample_angles(n), n) @ r, r, atol=1e-13)
    th = rng.uniform(0, 2 * np.pi, 50)
    exact = 0.4 * (1 + 0.1 * np.cos(4 * th) - 0.05 * np.cos(8 * th))
    samples = bertoldi_radii(0.4, 0.1, -0.05, 16)
    assert np.allclose(interpolation_matrix(th, 16) @ samples, exact, atol=1e-13)


@pytest.mark.parametrize("pore,kw", [("circle", {}), ("bertoldi", {"c1": 0.15, "c2": -0.05}),
                                     ("radii", {"radii": [0.5, 0.6, 0.45, 0.55, 0.5, 0.62]})])
def test_lattice_porosity_matches_polygon_area(pore, kw):
    d = CellularSolid.lattice(3, 4, 5.0, 0.4, pore=pore, solid=[(1, 1)], **kw)
    assert d.porosity() == pytest.approx(0.4, rel=1e-12)
    # independent check: shoelace area of finely sampled pore curves
    area = sum(_shoelace(d.pore_polygon(name, 4096)) for name, *_ in d.pores())
    assert area / d.grid_area == pytest.approx(0.4, rel=1e-5)
    assert d.kind(1, 1) == "solid" and d.kind(0, 0) == "porous" and d.kind(-1, 0) == "empty"
    assert len(d.porous_cells) == 11 and d.porous_index(0, 1) == 1


def test_circle_lattice_radius_and_ligaments_are_analytic():
    d = CellularSolid.lattice(2, 3, 4.0, 0.3)
    r = math.sqrt(4 * 0.3 / math.pi)
    assert np.allclose(d.radii, r)
    rho = r * 2.0
    widths = {lig.pore: lig for lig in ligaments(d, n=2048)}
    # every pore touches the outer boundary: wall = s/2 - rho
    for lig in widths.values():
        assert lig.width == pytest.approx(2.0 - rho, abs=1e-4)
        assert lig.other == "boundary"
    solid_centre = CellularSolid.from_grid(["PPP", "PSP", "PPP"], 4.0, radii=r,
                                           n_angles=16)
    # pore (1,0) sees the left boundary (2 - rho) and pore (0,0)/(2,0) at wall 4 - 2 rho
    assert min_ligament(solid_centre).width == pytest.approx(min(2.0 - rho, 4 - 2 * rho),
                                                             abs=1e-3)


def test_json_round_trip(tmp_path):
    designs = [
        CellularSolid.lattice(3, 3, 5.0, 0.3, pore="bertoldi", c1=0.2, c2=0.1, solid=[(1, 1)],
                              constraints=Constraints(0.3, 0.1, 0.9), name="rot"),
        CellularSolid.from_grid(["PPPPP", "PLLLP", "PLLLP", "PLLLP", "PPP.S"], 2.5,
                                radii=np.random.default_rng(1).uniform(0.3, 0.6, (14, 16)),
                                large_pores=[LargePore(1, 1, 3, tuple(np.linspace(0.5, 0.7, 48)))]),
    ]
    for k, d in enumerate(designs):
        path = tmp_path / f"d{k}.json"
        d.save(path)
        back = CellularSolid.load(path)
        assert back == d
        assert np.array_equal(back.radii, d.radii)  # bit-exact floats
        assert back.large_pores == d.large_pores and back.forms == d.forms
        assert back.constraints == d.constraints and back.grid == d.grid
    data = json.loads((tmp_path / "d0.json").read_text())
    assert data["format"] == "morphax.cellular-solid" and data["version"] == 1
    assert data["pores"][0]["form"]["kind"] == "bertoldi"
    data["version"] = 99
    with pytest.raises(InputError, match="version 99"):
        CellularSolid.from_dict(data)
    with pytest.raises(InputError, match="not valid JSON"):
        CellularSolid.from_json("{")
    with pytest.raises(InputError, match="does not exist"):
        CellularSolid.load(tmp_path / "missing.json")


def _err(fn):
    with pytest.raises(DesignError) as info:
        fn()
    return info.value


def test_radius_outside_unit_interval_names_cell():
    r = np.full((4, 16), 0.5)
    r[2, 3] = 1.2
    e = _err(lambda: CellularSolid(("PP", "PP"), 5.0, r))
    assert e.cell == (1, 0) and e.bound == "radius range" and "cell (1, 0)" in str(e)
    assert "radius 3" in str(e) and "1.2" in str(e)
    r[2, 3] = -0.1
    assert _err(lambda: CellularSolid(("PP", "PP"), 5.0, r)).cell == (1, 0)
    r[2, 3] = 0.0
    assert _err(lambda: CellularSolid(("PP", "PP"), 5.0, r)).bound == "radius range"


def test_overshooting_interpolant_is_an_overlap():
    r = np.full((1, 16), 0.5)
    r[0, 0], r[0, 1], r[0, 2] = 0.99, 0.1, 0.99   # samples inside, curve overshoots past 1
    theta = np.linspace(0, 2 * np.pi, 2000)
    assert (interpolation_matrix(theta, 16) @ r[0]).max() > 1.0
    e = _err(lambda: CellularSolid(("P",), 5.0, r))
    assert e.cell == (0, 0) and e.bound == "radius range" and "overlap" in str(e)


def test_radius_bounds_from_constraints():
    e = _err(lambda: CellularSolid.lattice(2, 2, 5.0, 0.5, constraints=Constraints(r_max=0.7)))
    assert e.bound == "radius bounds" and e.cell == (0, 0) and "[0.0, 0.7]" in str(e)
    e = _err(lambda: CellularSolid.lattice(2, 2, 5.0, 0.01, constraints=Constraints(r_min=0.3)))
    assert e.bound == "radius bounds"
    with pytest.raises(InputError, match="r_min < r_max"):
        Constraints(r_min=0.5, r_max=0.4)


def test_thin_walls_name_cell_and_bound():
    # pores of radius 0.9 * 2.5 mm leave 0.25 mm to the outer boundary
    e = _err(lambda: CellularSolid.from_grid(["SP", "SS"], 5.0, radii=0.9,
                                             constraints=Constraints(min_ligament=0.4)))
    assert e.cell == (1, 1) and e.bound == "min ligament"
    assert "0.25" in str(e) and "0.4 mm" in str(e) and "free boundary" in str(e)
    # between two pores (no free boundary next to them): wall 5 - 2 * 2.25 = 0.5 mm
    grid = ["SSSS", "SPPS", "SSSS"]
    ok = CellularSolid.from_grid(grid, 5.0, radii=0.9, constraints=Constraints(min_ligament=0.45))
    assert min_ligament(ok).width == pytest.approx(0.5, abs=1e-3)
    e = _err(lambda: CellularSolid.from_grid(grid, 5.0, radii=0.9,
                                             constraints=Constraints(min_ligament=0.6)))
    assert e.bound == "min ligament" and e.cell in ((1, 1), (1, 2)) and "pore of cell" in str(e)


def test_overlapping_large_pores_and_grid_errors():
    lp = LargePore(0, 0, 2, (0.5,) * 16)
    e = _err(lambda: CellularSolid(("LLP", "PLP"), 5.0, np.full((3, 16), 0.5), (lp,)))
    assert e.bound == "overlap" and e.cell == (0, 0) and "porous cell (0, 0)" in str(e)
    two = (LargePore(0, 0, 2, (0.5,) * 16), LargePore(1, 1, 2, (0.5,) * 16))
    e = _err(lambda: CellularSolid(("PLL", "LLL", "LLP"), 5.0, np.full((2, 16), 0.5), two))
    assert e.bound == "overlap" and e.cell == (1, 1) and "large pores 0 and 1" in str(e)
    e = _err(lambda: CellularSolid(("PX",), 5.0, np.full((1, 16), 0.5)))
    assert e.bound == "grid" and "X" in str(e)
    e = _err(lambda: CellularSolid(("PL",), 5.0, np.full((1, 16), 0.5)))
    assert "marked L" in str(e) and e.cell == (0, 1)
    e = _err(lambda: CellularSolid(("PP",), 5.0, np.full((1, 16), 0.5)))
    assert "shape" in str(e)
    e = _err(lambda: CellularSolid(("P.", ".P"), 5.0, np.full((2, 16), 0.5)))
    assert e.bound == "min ligament" and "corner" in str(e)
    e = _err(lambda: CellularSolid.lattice(2, 2, 5.0, 0.8))
    assert "porosity" in str(e) and "0.7854" in str(e)


def test_projection_makes_designs_valid_and_is_identity_when_feasible():
    cons = Constraints(min_ligament=0.5, r_min=0.1, r_max=0.9)
    d = CellularSolid.lattice(3, 3, 5.0, 0.3, solid=[(1, 1)], constraints=cons)
    p = d.params()
    same = project_params(p, d)
    assert np.allclose(same["radii"], p["radii"], atol=1e-15)
    assert float(constraint_penalty(p, d)) == 0.0
    wild = {"radii": p["radii"] + jnp.asarray(np.random.default_rng(2).normal(0, 0.4,
                                                                              p["radii"].shape)),
            "large": ()}
    assert float(constraint_penalty(wild, d)) > 0
    with pytest.raises(DesignError):
        d.with_params(wild)
    proj = project_params(wild, d)
    fixed = d.with_params(proj)          # validates against the constraints
    assert min_ligament(fixed).width >= 0.5 - 1e-9
    assert float(constraint_penalty(proj, d)) == 0.0
    validate_design(fixed)


def test_pore_lattice_is_the_meta_pde_domain():
    d = pore_lattice(3, np.full((3, 3), 0.1))
    assert d.size == pytest.approx((1.0, 1.0))
    assert d.material_area() == pytest.approx(1 - 9 * math.pi * 0.01, rel=1e-12)
    with pytest.raises(DesignError):
        pore_lattice(2, 0.3)   # radius 0.3 does not fit in a cell of side 0.5
