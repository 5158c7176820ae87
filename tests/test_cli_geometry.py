"""`morphax lattice`, `morphax mesh` and `morphax export` end to end."""

import json
import subprocess
import sys

import numpy as np
import pytest

from morphax.cli import main
from morphax.fabrication import check_solid, read_stl, save_result, step_volume
from morphax.geometry import CellularSolid, mesh_design
from morphax.physics import read_mesh


@pytest.fixture(scope="module")
def design_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "design.json"
    assert main(["lattice", "--rows", "2", "--cols", "3", "--cell-size", "4", "--porosity",
                 "0.3", "--solid", "1,1", "--out", str(path)]) == 0
    return path


def test_lattice_writes_a_design(design_file, capsys):
    d = CellularSolid.load(design_file)
    assert (d.rows, d.cols, d.cell_size) == (2, 3, 4.0)
    assert d.kind(1, 1) == "solid" and d.porosity() == pytest.approx(0.3, rel=1e-12)
    out = design_file.with_name("b.json")
    assert main(["lattice", "--rows", "2", "--cols", "2", "--cell-size", "5", "--porosity",
                 "0.2", "--pore", "bertoldi", "--c1", "0.2", "--c2", "-0.1", "--out",
                 str(out)]) == 0
    assert "porosity 0.2000" in capsys.readouterr().out
    assert json.loads(out.read_text())["pores"][0]["form"]["kind"] == "bertoldi"
    out = design_file.with_name("r.json")
    assert main(["lattice", "--rows", "1", "--cols", "2", "--cell-size", "5", "--porosity",
                 "0.3", "--radii", "1,0.8,1,0.8,1,0.8,1,0.8", "--out", str(out)]) == 0
    assert CellularSolid.load(out).n_angles == 8


def _printed_groups(text):
    line = next(x for x in text.splitlines() if x.startswith("groups"))
    return set(line.split(": ", 1)[1].split(", "))


@pytest.mark.parametrize("suffix, order", [(".msh", 1), (".vtu", 2), (".xdmf", 1)])
def test_mesh_writes_every_group_it_reports(design_file, tmp_path, capsys, suffix, order):
    """The groups `morphax mesh` prints, combined (bottom, pores) and per segment, are in the
    file it writes, in each format, with the same nodes as the mesh it made."""
    out = tmp_path / f"m{suffix}"
    assert main(["mesh", str(design_file), "--out", str(out), "--size", "1.0", "--order",
                 str(order)] + (["--no-preview"] if suffix != ".msh" else [])) == 0
    printed = _printed_groups(capsys.readouterr().out)
    assert {"bottom", "top", "left", "right", "pores", "bottom_0", "left_1", "pore_0_0",
            "corner_tr", "solid_1_1_center"} <= printed
    mesh = read_mesh(out)
    assert set(mesh.node_sets) == printed
    made = mesh_design(CellularSolid.load(design_file), size=1.0, order=order)
    x, y = np.asarray(mesh.points), np.asarray(made.points)
    for name in printed:
        assert sorted(map(tuple, x[mesh.node_sets[name]].round(9).tolist())) == sorted(
            map(tuple, y[made.node_sets[name]].round(9).tolist())), name
    assert (tmp_path / "m.png").exists() == (suffix == ".msh")


@pytest.mark.slow
def test_mesh_meshes_a_step_part(tmp_path, capsys):
    from morphax._core import gmsh_session
    from morphax.physics._cad import quiet_stdout

    with gmsh_session("cli-step") as gmsh:
        gmsh.model.occ.addBox(0, 0, 0, 3, 2, 1)
        gmsh.model.occ.synchronize()
        with quiet_stdout():
            gmsh.write(str(tmp_path / "block.step"))
    assert main(["mesh", str(tmp_path / "block.step"), "--out", str(tmp_path / "b.vtu"),
                 "--size", "1.0"]) == 0
    text = capsys.readouterr().out
    assert "tet4 cells" in text and "regions (cell groups): volume_1" in text
    assert {"xmin", "zmax", "boundary"} <= _printed_groups(text) == set(
        read_mesh(tmp_path / "b.vtu").node_sets)
    assert (tmp_path / "b.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("suffix", ["stl", "3mf", "step"])
def test_export_prints_the_report(design_file, tmp_path, capsys, suffix):
    out = tmp_path / f"part.{suffix}"
    assert main(["export", str(design_file), "--thickness", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "mass" in text and "12.000 x 8.000 x 2.000 mm" in text
    report = json.loads((tmp_path / f"part.{suffix}.report.json").read_text())
    assert report["format"] == suffix and report["solid_check"]["watertight"]
    d = CellularSolid.load(design_file)
    exact = d.material_area() * 2.0
    if suffix == "step":
        assert step_volume(out) == pytest.approx(exact, rel=1e-6)
    else:   # 128-gon pores: a little more material than the exact curves
        assert report["volume_mm3"] == pytest.approx(exact, rel=1e-3)


def test_export_deformed(design_file, tmp_path, capsys):
    d = CellularSolid.load(design_file)
    mesh = mesh_design(d, size=1.0)
    x = np.asarray(mesh.points)
    save_result(tmp_path / "res.npz", mesh, np.stack([0.1 * x[:, 0], 0 * x[:, 1]], axis=1))
    out = tmp_path / "def.stl"
    assert main(["export", str(design_file), "--thickness", "1", "--out", str(out),
                 "--deformed", str(tmp_path / "res.npz"), "--no-report"]) == 0
    assert "deformed configuration" in capsys.readouterr().out
    solid = read_stl(out)
    assert np.ptp(solid.vertices[:, 0]) == pytest.approx(12 * 1.1, rel=1e-6)
    check_solid(solid, merge=True)
    assert not (tmp_path / "def.stl.report.json").exists()


def test_errors_exit_2_and_write_nothing(design_file, tmp_path, capsys):
    out = tmp_path / "x.json"
    assert main(["lattice", "--rows", "2", "--cols", "2", "--cell-size", "5", "--porosity",
                 "0.9", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "lower the porosity" in err and "error" in err
    assert main(["export", str(design_file), "--thickness", "2", "--out",
                 str(tmp_path / "p.obj")]) == 2
    assert ".stl, .3mf or .step" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing.json"), "--thickness", "2", "--out",
                 str(tmp_path / "p.stl")]) == 2
    assert "morphax lattice" in capsys.readouterr().err
    assert main(["mesh", str(design_file), "--out", str(tmp_path / "m.stl")]) == 2
    data = json.loads(design_file.read_text())
    data["pores"][2]["radii"][5] = 1.3
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    assert main(["export", str(bad), "--thickness", "2", "--out", str(tmp_path / "p.stl")]) == 2
    msg = capsys.readouterr().err
    cell = data["pores"][2]["cell"]
    assert f"cell ({cell[0]}, {cell[1]})" in msg and "(0, 1)" in msg
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json"]


def test_console_entry_point(tmp_path):
    out = tmp_path / "d.json"
    run = subprocess.run([sys.executable, "-m", "morphax", "lattice", "--rows", "1", "--cols",
                          "1", "--cell-size", "3", "--porosity", "0.2", "--out", str(out)],
                         capture_output=True, text=True, cwd=tmp_path)   # the installed package
    assert run.returncode == 0, run.stderr
    assert CellularSolid.load(out).cell_size == 3.0


@pytest.mark.parametrize("argv, message", [
    (["export", "{design}", "--thickness", "2", "--out", "{tmp}/p.stl", "--nozzle", "0"],
     "argument --nozzle: expected a finite number > 0, got '0'"),
    (["export", "{design}", "--thickness", "2", "--out", "{tmp}/p.stl", "--material",
      "unobtainium"], "--material must be one of TPU"),
    (["export", "{design}", "--thickness", "nan", "--out", "{tmp}/p.stl"], "argument --thickness"),
    (["export", "{design}", "--thickness", "2", "--out", "{tmp}/p.stl", "--deformed",
      "{tmp}/garbage.npz"], "garbage.npz: not a readable result .npz"),
    (["export", "{design}", "--thickness", "2", "--out", "{tmp}/p.stl", "--deformed",
      "{tmp}/objects.npz"], "objects.npz: not a readable result .npz"),
    (["export", "{design}", "--thickness", "2", "--out", "{tmp}/p.stl", "--deformed",
      "{tmp}"], "is a folder"),
    (["export", "{design}", "--thickness", "2", "--out", "{tmp}/taken.stl"],
     "cannot write {tmp}/taken.stl: it is a folder"),
    (["export", "{design}", "--thickness", "2", "--out", "{tmp}/file/p.stl"],
     "cannot write {tmp}/file/p.stl: {tmp}/file is a file, not a folder"),
    (["lattice", "--rows", "1", "--cols", "1", "--cell-size", "3", "--porosity", "0.2",
      "--n-angles", "0", "--out", "{tmp}/d.json"], "argument --n-angles: expected an integer >= 4"),
    (["lattice", "--rows", "1", "--cols", "1", "--cell-size", "inf", "--porosity", "0.2",
      "--out", "{tmp}/d.json"], "argument --cell-size"),
    (["lattice", "--rows", "1", "--cols", "1", "--cell-size", "3", "--porosity", "0.2",
      "--out", "{tmp}/taken.stl"], "cannot write {tmp}/taken.stl: it is a folder"),
    (["mesh", "{design}", "--out", "{tmp}/m.msh", "--size", "-1"], "argument --size"),
    (["mesh", "{design}", "--out", "{tmp}/file/m.msh"], "{tmp}/file is a file, not a folder"),
    (["mesh", "{design}", "--out", "{tmp}/m.msh", "--preview", "{tmp}/taken.stl"],
     "--preview must end in .png"),
    (["tutorial", "run", "nope", "--quiet"], "unknown tutorial 'nope'"),
    (["tutorial", "run", "nope", "--out", "{tmp}/file"], "unknown tutorial 'nope'"),
    (["bench", "fea", "--quick", "--out", "{tmp}/file"], "cannot write {tmp}/file: it is a file"),
    (["bench", "fea", "--quick", "--json", "{tmp}/taken.stl"], "cannot write {tmp}/taken.stl"),
    (["bench", "nope", "--quiet"], "unknown benchmark 'nope'"),
])
def test_bad_arguments_fail_first_in_one_line(design_file, tmp_path, capsys, argv, message):
    (tmp_path / "taken.stl").mkdir()
    (tmp_path / "file").write_text("")
    (tmp_path / "garbage.npz").write_bytes(b"PK\x03\x04 not really a zip")
    np.savez(tmp_path / "objects.npz", points=np.array([{"a": 1}], dtype=object),
             cells=np.zeros((1, 3), int), cell_type="tri3", u=np.zeros((1, 2)))
    before = sorted(p.name for p in tmp_path.rglob("*"))
    fill = {"design": str(design_file), "tmp": str(tmp_path)}
    assert main([a.format(**fill) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"morphax {argv[0]}"), err
    assert message.format(**fill) in err, err
    assert "pickle" not in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
