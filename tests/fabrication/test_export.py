"""Print-ready export: every written part is a watertight, consistently wound solid whose
volume is the analytic area x thickness; STEP re-imported by gmsh has the same volume;
invalid parts are refused without touching the target file."""

import json
import math

import numpy as np
import pytest

from morphax import InputError
from morphax.fabrication import (
    FabricationError,
    Solid,
    check_solid,
    design_section,
    export_part,
    extrude,
    load_result,
    read_3mf,
    read_stl,
    save_result,
    section_from_mesh,
    step_volume,
)
from morphax.geometry import CellularSolid, LargePore, mesh_design

SEGMENTS = 96


def _shoelace(xy):
    return 0.5 * np.sum(xy[:, 0] * np.roll(xy[:, 1], -1) - np.roll(xy[:, 0], -1) * xy[:, 1])


def _polygon_material_area(design, n=SEGMENTS):
    cells = sum(design.material(i, j) for i in range(design.rows) for j in range(design.cols))
    return cells * design.cell_size ** 2 - sum(_shoelace(design.pore_polygon(name, n))
                                               for name, *_ in design.pores())


DESIGNS = {
    "low-porosity": lambda: CellularSolid.lattice(2, 2, 5.0, 0.02),
    "high-porosity": lambda: CellularSolid.lattice(2, 3, 4.0, 0.76),
    "bertoldi-solid-empty": lambda: CellularSolid.lattice(3, 3, 5.0, 0.35, pore="bertoldi",
                                                          c1=0.2, c2=0.1, solid=[(1, 1)],
                                                          empty=[(2, 2)]),
    "large-pore": lambda: CellularSolid.from_grid(["PPPP", "PLLP", "PLLP", "PPPS"], 3.0,
                                                  radii=0.55,
                                                  large_pores=[LargePore(1, 1, 2, (0.7,) * 24)]),
}


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_stl_and_3mf_are_watertight_with_analytic_volume(tmp_path, name):
    design = DESIGNS[name]()
    t = 1.7
    expected = _polygon_material_area(design) * t
    rep = export_part(tmp_path / "part.stl", design=design, thickness=t, segments=SEGMENTS,
                      report=False)
    solid = read_stl(tmp_path / "part.stl")
    check = check_solid(solid, expected, rtol=1e-6, merge=True)
    assert check.volume_rel_error < 1e-6
    assert rep.volume == pytest.approx(expected, rel=1e-12)
    lo, hi = solid.bounds
    assert np.allclose(hi - lo, [*design.size, t], atol=1e-5)
    rep3 = export_part(tmp_path / "part.3mf", design=design, thickness=t, segments=SEGMENTS,
                       report=False)
    check3 = check_solid(read_3mf(tmp_path / "part.3mf"), expected, rtol=1e-12)
    assert check3.n_faces == check.n_faces and rep3.volume == pytest.approx(expected, rel=1e-12)
    assert not list(tmp_path.glob(".*"))   # no temporary files left behind


@pytest.mark.parametrize("porosity", [0.02, 0.4, 0.78])
def test_stl_volume_is_one_minus_porosity_within_the_polygon_error(tmp_path, porosity):
    rows, cols, s, t, n = 2, 2, 5.0, 2.0, 64
    design = CellularSolid.lattice(rows, cols, s, porosity)
    export_part(tmp_path / "p.stl", design=design, thickness=t, segments=n, report=False)
    volume = check_solid(read_stl(tmp_path / "p.stl"), merge=True).volume
    grid_area = rows * cols * s * s
    rho = design.radii[0, 0] * s / 2
    # an n-gon inscribed in a circle of radius rho has area n/2 rho^2 sin(2 pi / n)
    polygon_deficit = rows * cols * (math.pi * rho ** 2 - 0.5 * n * rho ** 2
                                     * math.sin(2 * math.pi / n))
    exact = (1 - porosity) * grid_area * t
    # float32 coordinates in the STL: agreement to 1e-6 of the volume
    assert volume - exact == pytest.approx(polygon_deficit * t, abs=1e-6 * exact)
    assert abs(volume - exact) / exact < 0.01


@pytest.mark.parametrize("name", ["bertoldi-solid-empty", "large-pore"])
def test_step_reimport_has_the_exact_volume(tmp_path, name):
    design = DESIGNS[name]()
    t = 2.5
    rep = export_part(tmp_path / "part.step", design=design, thickness=t, report=False)
    measured = step_volume(tmp_path / "part.step")
    assert measured == pytest.approx(design.material_area() * t, rel=1e-6)
    assert rep.solid["watertight"] and rep.solid["solids"] == 1
    assert rep.volume == pytest.approx(measured, rel=1e-9)


@pytest.fixture(scope="module")
def p2_mesh():
    design = CellularSolid.lattice(2, 2, 5.0, 0.3, solid=[(1, 1)])
    return design, mesh_design(design, size=1.5, order=2)


def test_deformed_export_affine_volume(tmp_path, p2_mesh):
    design, mesh = p2_mesh
    x = np.asarray(mesh.points)
    a, b, t = 0.1, -0.05, 1.5
    u = np.stack([a * x[:, 0], b * x[:, 1] + 0.02 * x[:, 0]], axis=1)
    ref_area = section_from_mesh(mesh).area
    expected = ref_area * (1 + a) * (1 + b) * t
    for suffix in ("stl", "3mf", "step"):
        rep = export_part(tmp_path / f"d.{suffix}", design=design, mesh=mesh, displacement=u,
                          thickness=t)
        assert rep.configuration == "deformed"
        assert rep.volume == pytest.approx(expected, rel=1e-9)
    assert check_solid(read_stl(tmp_path / "d.stl"), expected, merge=True).n_faces > 0
    assert step_volume(tmp_path / "d.step") == pytest.approx(expected, rel=1e-6)


def test_folded_configuration_is_refused_and_target_untouched(tmp_path, p2_mesh):
    design, mesh = p2_mesh
    target = tmp_path / "keep.stl"
    target.write_bytes(b"old")
    x = np.asarray(mesh.points)
    fold = np.zeros_like(x)
    fold[:, 0] = -2.2 * np.clip(x[:, 0] - 4.0, 0, None)    # the right strip folds back
    with pytest.raises(FabricationError, match="inverted"):
        export_part(target, design=design, mesh=mesh, displacement=fold, thickness=1.0)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.stl"]
    with pytest.raises(FabricationError, match="NaN"):
        export_part(target, mesh=mesh, displacement=np.full_like(x, np.nan), thickness=1.0)
    with pytest.raises(FabricationError, match="thickness"):
        export_part(target, design=design, thickness=0.0)
    with pytest.raises(InputError, match=".stl, .3mf or .step"):
        export_part(tmp_path / "x.obj", design=design, thickness=1.0)
    with pytest.raises(InputError, match="outside the design"):
        export_part(tmp_path / "y.stl", design=CellularSolid.lattice(1, 1, 5.0, 0.2),
                    mesh=mesh, displacement=0 * x, thickness=1.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.stl"]


def test_check_solid_finds_each_defect():
    design = CellularSolid.lattice(1, 1, 5.0, 0.2)
    solid = extrude(design_section(design, segments=32), 1.0)
    good = check_solid(solid)
    assert good.volume > 0
    with pytest.raises(FabricationError, match="not watertight"):
        check_solid(Solid(solid.vertices, solid.faces[1:]))
    flipped = solid.faces.copy()
    flipped[0] = flipped[0, [0, 2, 1]]
    with pytest.raises(FabricationError, match="winding"):
        check_solid(Solid(solid.vertices, flipped))
    with pytest.raises(FabricationError, match="<= 0"):
        check_solid(Solid(solid.vertices, solid.faces[:, [0, 2, 1]]))
    with pytest.raises(FabricationError, match="differs from area x thickness"):
        check_solid(solid, expected_volume=good.volume * 1.001)
    degenerate = solid.faces.copy()
    degenerate[0, 2] = degenerate[0, 1]
    with pytest.raises(FabricationError, match="degenerate"):
        check_solid(Solid(solid.vertices, degenerate))


def test_print_report(tmp_path):
    design = CellularSolid.lattice(2, 2, 5.0, 0.3)
    rho = design.radii[0, 0] * 2.5
    rep = export_part(tmp_path / "r.stl", design=design, thickness=2.0, nozzle_width=0.5,
                      material="PLA")
    data = json.loads((tmp_path / "r.stl.report.json").read_text())
    assert (tmp_path / "r.stl.report.png").read_bytes()[:4] == b"\x89PNG"
    assert data["mass_g"] == pytest.approx(data["volume_mm3"] * 1e-3 * 1.24)
    assert data["bounding_box_mm"]["size"] == pytest.approx([10.0, 10.0, 2.0])
    assert data["min_ligament_mm"] == pytest.approx(2.5 - rho, abs=1e-9)
    assert data["solid_check"]["watertight"] is True
    assert rep.mass == pytest.approx(data["mass_g"])
    # walls 0.86 mm: thinner than 2 nozzle widths of 0.5 mm, not thinner than one
    assert data["thin_features"] and len(data["warnings"]) == 1
    assert "two nozzle widths" in data["warnings"][0]
    rep2 = export_part(tmp_path / "r2.stl", design=design, thickness=2.0, nozzle_width=1.0,
                       report=False, material=1.1)
    assert any("will not print" in w for w in rep2.warnings) and rep2.density == 1.1
    assert not (tmp_path / "r2.stl.report.json").exists()
    rep3 = export_part(tmp_path / "r3.stl", design=design, thickness=2.0, nozzle_width=0.2,
                       report=False)
    assert rep3.warnings == [] and rep3.density == 1.2 and rep3.material == "TPU"


@pytest.mark.parametrize("suffix", [".npz", ".vtu"])
def test_result_files_round_trip(tmp_path, p2_mesh, suffix):
    _, mesh = p2_mesh
    u = np.random.default_rng(0).normal(0, 0.01, np.shape(mesh.points))
    save_result(tmp_path / f"res{suffix}", mesh, u)
    back, u2 = load_result(tmp_path / f"res{suffix}")
    assert back.cell_type == "tri6" and np.allclose(np.asarray(back.points),
                                                    np.asarray(mesh.points))
    assert np.allclose(u2, u)
