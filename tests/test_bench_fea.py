"""The FEA benchmark's cases: the jax-fem version of each case is the same problem (checked
through morphax's interop path), and the runner produces the summary the issue asks for."""

import json
import pathlib

import numpy as np
import pytest

from morphax import physics as mp
from morphax.bench import fea
from morphax.physics import validation

pytest.importorskip("jax_fem.problem")


@pytest.mark.parametrize("case", ["plate", "cube"])
def test_jaxfem_case_is_the_same_problem(case, tmp_path):
    from morphax.bench._jaxfem_cases import jaxfem_problem

    if case == "plate":
        problem = validation.compressed_plate(
            validation.perforated_plate(holes=(2, 1), mesh_size=0.2), strain=fea.STRAIN)
    else:
        problem = fea._build("cube", 3, tmp_path)[0]
    ours = mp.solve(problem)
    theirs = mp.solve(mp.JaxFemProblem(jaxfem_problem(case, problem, fea.STRAIN)))
    np.testing.assert_allclose(np.asarray(theirs.u), np.asarray(ours.u), atol=1e-9)


def test_bench_runs_and_reports_the_summary(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(fea, "QUICK", {"plate": [0.2], "poisson": [8], "cube": [3], "bar4": [],
                                       "bar10": [0.9], "amg": [2]})
    cli_runs = []
    monkeypatch.setattr(fea, "_cli_small_solve", lambda folder: cli_runs.append(folder) or 1.5)
    from morphax.cli import main

    assert main(["--quiet", "bench", "fea", "--quick", "--json", "-", "--out", str(tmp_path)]) == 0
    obj = json.loads(capsys.readouterr().out)
    summary = obj["summary"]
    for key in ("speedup_vs_felupe", "speedup_vs_jaxfem", "speedup_vs_jaxfem_3d", "max_rel_diff",
                "floor_ratio"):
        assert key in summary
    if summary["jaxfem_note"] is None:   # jax-fem's solver ran (petsc4py installed)
        assert summary["speedup_vs_jaxfem"] > 0 and summary["speedup_vs_jaxfem_3d"] > 0
    # tet10 (elevated gmsh mesh, 4-point rule) and hex8 against FElupe: the same solution
    assert summary["max_rel_diff"] < 1e-6
    solvers = {r["solver"] for r in obj["records"]}
    assert solvers >= {"morphax", "morphax-cholmod", "felupe", "felupe-cholmod", "scikit-fem",
                       "jax-fem"}
    assert {r["case"] for r in obj["records"]} == {"plate", "poisson", "cube", "bar10", "amg"}
    bar10 = next(r for r in obj["records"] if r["case"] == "bar10" and r["solver"] == "morphax")
    problem = fea._build("bar10", 0.9, tmp_path)[0]
    assert problem.mesh.cell_type == "tet10" and bar10["dofs"] == problem.ndof
    assert bar10["quadrature_points"] == 4 * problem.mesh.n_cells
    for key in ("speedup_vs_felupe_3d", "speedup_vs_felupe_same_solver_3d",
                "assembly_points_per_s_3d", "floor_ratio_3d", "poisson_speedup_vs_skfem",
                "amg_million_dof_s", "amg_peak_mem_gb", "tangent_over_residual_3d"):
        assert summary[key] > 0, key
    assert summary["floor_ratio_3d"] >= 1.0   # Newton time includes its linear algebra
    assert summary["tangent_over_residual_3d"] == max(
        r["tangent_s"] / r["residual_s"] for r in obj["records"]
        if r["solver"] == "morphax" and r["case"] in ("cube", "bar10"))
    assert summary["cli_small_solve_s"] == 1.5 and cli_runs == [tmp_path / "cli"]
    assert pathlib.Path(summary["plot"]).exists() and (tmp_path / "fea.jsonl").exists()

    # a rerun resumes from the checkpoint: nothing is solved again, the records are the same
    def no_solve(*args, **kwargs):
        raise AssertionError("resumed run solved again")

    for name in ("_morphax", "_felupe", "_skfem", "_amg_case", "_cli_small_solve"):
        monkeypatch.setattr(fea, name, no_solve)
    again = fea.run(True, tmp_path, False)
    assert again["records"] == obj["records"] and again["summary"]["cli_small_solve_s"] == 1.5


def test_tangent_flop_count_matches_the_products_of_one_point():
    """The estimate is the cost of D B (dense (c d)^2 by (k c)) plus B^T (D B) over the nonzeros
    of the strain-displacement matrix B (c d, k c) of one point, counted here from a real B."""
    k, c, d = 10, 3, 3
    dNdx = np.random.default_rng(0).standard_normal((k, d))
    B = np.zeros((c * d, k * c))
    for a in range(k):
        for i in range(c):
            B[i * d:(i + 1) * d, a * c + i] = dNdx[a]
    flops = 2 * (c * d) ** 2 * (k * c) + 2 * (k * c) * np.count_nonzero(B)
    assert fea.tangent_flops_per_point(k, c, d) == flops


@pytest.mark.slow
def test_cli_small_solve_times_a_second_cached_run(tmp_path):
    seconds = fea._cli_small_solve(tmp_path)
    assert 0 < seconds < 120
    assert any((tmp_path / "cache" / "morphax" / "jax").iterdir())   # the first run filled it
