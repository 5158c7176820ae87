"""`morphax solve`: TOML-driven FEA and its error messages."""

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
    installed package (not the source folder morphax/) is imported."""
    out = subprocess.run([sys.executable, "-m", "morphax", "solve", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "solution.vtu").exists() and (tmp_path / "solution.png").exists()
