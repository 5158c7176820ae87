"""`morphax solve`: TOML-driven FEA and its error messages."""

import re
import subprocess
import sys
import textwrap

import meshio
import numpy as np
import pytest

from morphax import physics as mp
from morphax.cli import main


@pytest.fixture()
def square_msh(tmp_path):
    mesh = mp.rectangle(8, 8, "tri3")
    mp.write_mesh(tmp_path / "square.msh", mesh)
    return tmp_path


def _write(folder, text):
    path = folder / "problem.toml"
    path.write_text(textwrap.dedent(text))
    return path


def test_poisson_from_toml_matches_python(square_msh, capsys):
    path = _write(square_msh, """
        [mesh]
        file = "square.msh"
        [physics]
        model = "poisson"
        source = 1.0
        [[dirichlet]]
        group = "left"
        value = 0.0
        [[dirichlet]]
        group = "right"
        value = 1.0
        [output]
        vtu = "out/u.vtu"
    """)
    assert main(["solve", str(path)]) == 0
    report = capsys.readouterr().out
    assert "dofs" in report and "Newton" in report
    u = meshio.read(square_msh / "out" / "u.vtu").point_data["u"]
    mesh = mp.read_mesh(square_msh / "square.msh")
    ref = mp.solve(mp.Problem(mesh, mp.Poisson(), source=1.0, dirichlet=[
        mp.Dirichlet("left", 0.0), mp.Dirichlet("right", 1.0)])).u
    np.testing.assert_allclose(u.ravel(), np.asarray(ref).ravel(), atol=1e-12)


def test_elasticity_by_component_with_traction_and_p2(square_msh):
    path = _write(square_msh, """
        [mesh]
        file = "square.msh"
        order = 2
        [physics]
        model = "neo-hookean"
        E = 10.0
        nu = 0.3
        [[dirichlet]]
        group = "left"
        x = 0.0
        [[dirichlet]]
        group = "bottom"
        y = 0.0
        [[traction]]
        group = "right"
        value = [0.5, 0.0]
        [solver]
        load_steps = 2
    """)
    assert main(["--quiet", "solve", str(path)]) == 0
    out = meshio.read(square_msh / "solution.vtu")
    assert out.cells[0].type == "triangle6"
    u = out.point_data["u"]
    # uniaxial tension: the right side moves right, the top moves down, x-free on the bottom
    assert u[:, 0].max() > 0.0 and u[:, 1].min() < 0.0
    assert "stress" in out.cell_data


@pytest.mark.parametrize("body, message", [
    ("[physics]\nmodel = 'poisson'\nsorce = 1.0", "unknown key sorce in \\[physics\\]"),
    ("[physics]\nmodel = 'plasticity'", "model must be one of"),
    ("[physics]\nmodel = 'poisson'\n[[dirichlet]]\ngroup = 'nowhere'\nvalue = 0.0",
     "no group 'nowhere'"),
    ("[physics]\nmodel = 'linear-elasticity'\nE = 1.0\nnu = 0.7", "nu must lie"),
    ("[physics]\nmodel = 'poisson'\n[[dirichlet]]\ngroup = 'left'\nvalue = 'zero'",
     "must be a number"),
    ("[physics]\nmodel = 'poisson'\n[solver]\nload_steps = 0", "at least 1"),
    ("[physics]\nmodel = 'poisson'\n[output]\nvtu = 'u.txt'", "must end in .vtu"),
])
def test_bad_input_names_the_key_and_writes_nothing(square_msh, capsys, body, message):
    path = square_msh / "bad.toml"
    path.write_text("[mesh]\nfile = 'square.msh'\n" + body + "\n")
    assert main(["solve", str(path)]) == 2
    assert pytest.importorskip("re").search(message, capsys.readouterr().err)
    assert not list(square_msh.glob("*.vtu"))


def test_default_demo_writes_vtu_and_png(tmp_path):
    """The FEA demo without a problem file, run from outside the checkout so that the
    installed package (not the source folder morphax/) is imported; its compiled kernels are
    kept in $XDG_CACHE_HOME/morphax/jax for the next run."""
    import os

    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-m", "morphax", "solve", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "solution.vtu").exists() and (tmp_path / "solution.png").exists()
    assert any((tmp_path / "cache" / "morphax" / "jax").iterdir())


# ----- pressure through the TOML front end ---------------------------------------------------


def test_pressure_ring_from_toml_matches_lame(tmp_path, capsys):
    from morphax.physics import validation as v

    mp.write_mesh(tmp_path / "ring.msh", v.quarter_ring(1.0, 2.0, 4, 8))
    base = """
        [mesh]
        file = "ring.msh"
        [physics]
        model = "linear-elasticity"
        mu = 0.5
        lambda = 0.75
        [[dirichlet]]
        group = "bottom"
        y = 0.0
        [[dirichlet]]
        group = "left"
        x = 0.0
        [[pressure]]
        group = "inner"
        value = 0.01
    """
    ur = {}
    for follower in ("false", "true"):
        path = _write(tmp_path, base + f"follower = {follower}\n[output]\nvtu = '{follower}.vtu'")
        assert main(["solve", "--quiet", str(path)]) == 0, capsys.readouterr().err
        out = meshio.read(tmp_path / f"{follower}.vtu")
        x = out.points[:, :2]
        r = np.hypot(x[:, 0], x[:, 1])
        ur[follower] = np.sum(out.point_data["u"][:, :2] * x, axis=1) / r
    # mu = 0.5, lambda = 0.75 is E = 1.3, nu = 0.3
    exact = v.lame_ring_displacement(r, 1.0, 2.0, 0.01, 1.3, 0.3)
    # P1 on 4 x 8 cells: 4 % (test_pressure.py checks the convergence to the Lame solution)
    assert np.abs(ur["false"] - exact).max() < 0.05 * exact.max()
    gap = np.abs(ur["true"] - ur["false"]).max() / exact.max()
    assert 1e-4 < gap < 0.05    # the follower load is a small-strain perturbation here


# ----- every bad input: one line naming it, exit 2, nothing written ---------------------------

_POISSON = "[physics]\nmodel = 'poisson'\n"
_ELASTIC = "[physics]\nmodel = 'neo-hookean'\nE = 1.0\nnu = 0.3\n"


@pytest.mark.parametrize("body, message", [
    (_POISSON + "[solver]\nload_steps = '2'", r"\[solver\] load_steps must be an integer, got '2'"),
    (_POISSON + "[solver]\nrtol = 'tight'", r"\[solver\] rtol must be a number, got 'tight'"),
    (_POISSON + "[solver]\nrtol = -1", r"\[solver\] rtol must be at least 0"),
    (_POISSON + "[solver]\nline_search = 1", r"\[solver\] line_search must be true or false"),
    (_POISSON + "[solver]\nlinear_solver = 'magic'", r"\[solver\] linear_solver must be one of"),
    ("[physics]\nmodel = []", r"\[physics\] model must be one of .*got \[\]"),
    (_POISSON + "source = 'x*y'", r"\[physics\] source must be a number, got 'x\*y'"),
    (_POISSON + "source = nan", r"\[physics\] source must be a finite number"),
    (_ELASTIC + "body_force = 'down'", r"\[physics\] body_force must be a list of 2 numbers"),
    (_ELASTIC + "body_force = [0.0, inf]", r"\[physics\] body_force\[1\] must be a finite"),
    ("[physics]\nmodel = 'neo-hookean'\nE = nan\nnu = 0.3", r"\[physics\] E must be a finite"),
    ("[physics]\nmodel = 'neo-hookean'\nE = -1.0\nnu = 0.3", r"Young's modulus E must be a finite positive"),
    ("[physics]\nmodel = 'neo-hookean'\nE = 1.0\nnu = 0.5", r"nu = 0.5 is the incompressible.*nu = 0.49"),
    ("[physics]\nmodel = 'neo-hookean'\nE = 1.0\nnu = -1.0", r"nu must lie in \(-1, 0.5\)"),
    ("[physics]\nmodel = 'neo-hookean'\nE = 1.0\nnu = 0.6", r"Poisson's ratio nu must lie"),
    ("[physics]\nmodel = 'neo-hookean'", r"needs its material: \(E, nu\) or \(mu, kappa\)"),
    ("[physics]\nmodel = 'neo-hookean'\nmu = 1.0\nkappa = -2.0", r"kappa must be a finite positive"),
    (_ELASTIC + "[[traction]]\ngroup = 'right'\nvalue = [inf, 0.0]",
     r"\[\[traction\]\] #1 value\[0\] must be a finite"),
    (_ELASTIC + "[[pressure]]\ngroup = 'right'\nvalue = nan", r"\[\[pressure\]\] #1 value must be a finite"),
    (_ELASTIC + "[[pressure]]\ngroup = 'right'\nvalue = 1.0\nfollower = 'yes'",
     r"follower must be true or false"),
    (_POISSON + "[[pressure]]\ngroup = 'right'\nvalue = 1.0", r"\[\[pressure\]\] needs an elasticity model"),
    (_POISSON + "[[dirichlet]]\ngroup = 'left'\nvalue = nan", r"\[\[dirichlet\]\] #1 value must be a finite"),
    (_ELASTIC + "[[dirichlet]]\ngroup = 'left'\ny = inf", r"\[\[dirichlet\]\] #1 y must be a finite"),
    (_POISSON + "[[dirichlet]]\ngroup = 'domain'\nvalue = 0.0", r"'domain' is a cell group \(a region\)"),
    (_POISSON + "[output]\npng = 'x.txt'", r"\[output\] png must end in .png"),
    (_POISSON + "[output]\nvtu = 3", r"\[output\] vtu must be a non-empty string"),
    ("[mesh]\nfile = 'square.msh'\norder = 3\n" + _POISSON, r"order must be 1 or 2"),
    ("solver = 3\n[mesh]\nfile = 'square.msh'\n" + _POISSON, r"\[solver\] must be a table"),
    (_POISSON + "plane = 'stress'", r"unknown key plane in \[physics\] for model 'poisson'"),
    (_ELASTIC + "plane = 'membrane'", r"\[physics\] plane must be \"strain\" or \"stress\""),
    (_ELASTIC + "thickness = 0.0", r"\[physics\] thickness must be positive"),
    ("[mesh]\nfile = 'square.msh'\nsize = 0.1\n" + _POISSON, r"\[mesh\] size is for geometry files"),
    (_POISSON + "[output]\nfield = 'von-mises'", r"\[output\] field must be one of u, flux"),
    (_ELASTIC + "[[dirichlet]]\ngroup = ['left', 'nope']\nvalue = 0.0",
     r"\[\[dirichlet\]\] #1: the mesh has no group 'nope'"),
    (_ELASTIC + "[[traction]]\ngroup = []\nvalue = [1.0, 0.0]",
     r"\[\[traction\]\] #1: group must be a name or a non-empty list"),
])
def test_schema_errors_name_the_key(square_msh, capsys, body, message):
    text = body if "[mesh]" in body else "[mesh]\nfile = 'square.msh'\n" + body
    (square_msh / "bad.toml").write_text(text + "\n")
    assert main(["solve", str(square_msh / "bad.toml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("morphax solve: error: "), err
    assert re.search(message, err), err
    assert sorted(p.name for p in square_msh.iterdir()) == ["bad.toml", "square.msh"]


def test_mu_and_lambda_give_the_same_material_as_e_and_nu(square_msh):
    from morphax.physics import load_job

    E, nu = 2.0, 0.3
    mu, lam = mp.lame_from_young(E, nu)
    jobs = []
    for material in (f"E = {E}\nnu = {nu}", f"mu = {mu}\nkappa = {lam}", f"mu = {mu}\nlambda = {lam}"):
        jobs.append(load_job(_write(square_msh, f"""
            [mesh]
            file = "square.msh"
            [physics]
            model = "neo-hookean"
            {material}
        """)).problem.model)
    assert all(np.isclose(m.mu, mu) and np.isclose(m.kappa, lam) for m in jobs)


def test_damaged_and_misplaced_files(square_msh, capsys):
    cases = {}
    (square_msh / "latin1.toml").write_bytes("[mesh]\nfile = 'caf\xe9.msh'\n".encode("latin-1"))
    cases["latin1.toml"] = "is not UTF-8 text"
    (square_msh / "folder.toml").mkdir()
    cases["folder.toml"] = "is a folder"
    (square_msh / "garbage.msh").write_bytes(b"$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\n1\n")
    (square_msh / "garbage.toml").write_text("[mesh]\nfile = 'garbage.msh'\n" + _POISSON)
    cases["garbage.toml"] = "cannot read mesh .*garbage.msh.*damaged"
    mesh = mp.rectangle(2, 2)
    points = np.array(mesh.points)
    points[4] = [np.nan, 0.5]
    meshio.write(square_msh / "nan.vtu", meshio.Mesh(points, [("triangle", np.asarray(mesh.cells))]))
    (square_msh / "nan.toml").write_text("[mesh]\nfile = 'nan.vtu'\n" + _POISSON)
    cases["nan.toml"] = r"non-finite \(NaN or inf\) coordinates: node 4"
    p2 = square_msh / "p2.msh"
    mp.write_mesh(p2, mp.rectangle(2, 2, "tri6"))
    (square_msh / "p2.toml").write_text("[mesh]\nfile = 'p2.msh'\norder = 1\n" + _POISSON)
    cases["p2.toml"] = "order = 1, but 'p2.msh' has second-order tri6 cells"
    before = sorted(p.name for p in square_msh.iterdir())
    capsys.readouterr()
    for name, message in cases.items():
        assert main(["solve", str(square_msh / name)]) == 2, name
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and re.search(message, err), (name, err)
        assert "Traceback" not in err and ": 1\n" not in err and "index out of range" not in err
    assert sorted(p.name for p in square_msh.iterdir()) == before


def test_output_paths_are_checked_before_solving(square_msh, capsys):
    (square_msh / "taken.vtu").mkdir()
    (square_msh / "file").write_text("")
    for vtu, reason in (("taken.vtu", "it is a folder"), ("file/u.vtu", "is a file, not a folder")):
        path = _write(square_msh, f"""
            [mesh]
            file = "square.msh"
            [physics]
            model = "poisson"
            [output]
            vtu = "{vtu}"
        """)
        assert main(["solve", str(path)]) == 2
        err = capsys.readouterr().err
        assert f"morphax solve: error: cannot write {square_msh / vtu}: " in err and reason in err
        assert "Newton" not in err
    assert not list(square_msh.rglob("*.vtu*")) or (square_msh / "taken.vtu").is_dir()


def test_global_flags_after_the_subcommand_and_material_printed(square_msh, capsys):
    path = _write(square_msh, "[mesh]\nfile = 'square.msh'\n" + _POISSON +
                  "[[dirichlet]]\ngroup = 'left'\nvalue = 0.0\n")
    assert main(["solve", "--quiet", str(path)]) == 0
    assert capsys.readouterr().out == ""
    assert main(["solve", str(path), "-v"]) == 0
    assert "Poisson(k=1.0)" in capsys.readouterr().out    # the default material is shown


def test_a_failed_solve_prints_its_error_on_a_clean_line(square_msh, capsys):
    path = _write(square_msh, """
        [mesh]
        file = "square.msh"
        [physics]
        model = "nonlinear-poisson"
        alpha = 50.0
        source = 200.0
        [[dirichlet]]
        group = "left"
        value = 0.0
        [solver]
        max_iterations = 1
        max_cuts = 0
        rtol = 1e-14
    """)
    assert main(["solve", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.rstrip("\n").split("\n")[-1].split("\r")[-1].startswith(
        "morphax solve: error: Newton did not converge"), repr(err)
    assert not list(square_msh.glob("*.vtu"))


@pytest.mark.parametrize("plane, ex, ey", [
    ("stress", 1.0, -0.3), pytest.param("strain", 1 - 0.3**2, -0.3 * 1.3, marks=pytest.mark.slow)])
def test_plane_stress_and_thickness_against_uniaxial_tension(square_msh, capsys, plane, ex, ey):
    """Rollers on left and bottom, traction s on the right: u = s / E (ex x, ey y) with
    (1, -nu) in plane stress and (1 - nu^2, -nu (1 + nu)) in plane strain; von Mises drawn."""
    path = _write(square_msh, f"""
        [mesh]
        file = "square.msh"
        [physics]
        model = "linear-elasticity"
        E = 100.0
        nu = 0.3
        plane = "{plane}"
        thickness = 0.2
        [[dirichlet]]
        group = ["left"]
        x = 0.0
        [[dirichlet]]
        group = "bottom"
        y = 0.0
        [[traction]]
        group = "right"
        value = [0.5, 0.0]
        [output]
        vtu = "t.vtu"
        png = "t.png"
        field = "von-mises"
        stress_unit = "MPa"
    """)
    assert main(["solve", str(path)]) == 0
    assert "max von Mises stress" in capsys.readouterr().out
    out = meshio.read(square_msh / "t.vtu")
    x = out.points[:, :2]
    np.testing.assert_allclose(out.point_data["u"][:, :2], 0.5 / 100.0 * x * [ex, ey],
                               rtol=1e-9, atol=1e-12)
    if plane == "stress":
        np.testing.assert_allclose(out.cell_data["von_mises"][0], 0.5, rtol=1e-9)
    assert (square_msh / "t.png").read_bytes()[:4] == b"\x89PNG"


def test_group_lists_are_unions(square_msh):
    path = _write(square_msh, """
        [mesh]
        file = "square.msh"
        [physics]
        model = "linear-elasticity"
        E = 1.0
        nu = 0.3
        thickness = 2.0
        [[dirichlet]]
        group = ["bottom", "left"]
        value = 0.0
        [[traction]]
        group = ["right", "top"]
        value = [0.1, 0.0]
    """)
    job = mp.load_job(path)
    mesh = job.problem.mesh
    assert job.problem.thickness == 2.0 and job.problem.model.plane == "strain"
    assert len(mesh.facet_sets["right+top"]) == len(mesh.facet_sets["right"]) + len(
        mesh.facet_sets["top"])
    assert set(mesh.node_sets["bottom+left"]) == set(mesh.node_sets["bottom"]) | set(
        mesh.node_sets["left"])
