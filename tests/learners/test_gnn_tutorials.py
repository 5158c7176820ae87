"""The GNN tutorials and benchmark run end to end."""

import json

import pytest

from morphax.cli import main


@pytest.mark.slow   # about 2 minutes on 2 free cores
def test_swarm_tutorial_runs_quick(tmp_path):
    assert main(["tutorial", "run", "gnn_swarm", "--quick", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "gnn_swarm.png").stat().st_size > 0


@pytest.mark.slow
def test_mesh_solver_tutorial_runs_quick(tmp_path):
    assert main(["tutorial", "run", "gnn_mesh_solver", "--quick", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "gnn_mesh_solver.png").stat().st_size > 0


@pytest.mark.slow
def test_bench_quick_meets_the_acceptance_numbers(tmp_path):
    out = tmp_path / "gnn.json"
    assert main(["bench", "gnn", "--quick", "--quiet", "--json", str(out), "--out", str(tmp_path)]) == 0
    s = json.loads(out.read_text())["summary"]
    assert s["energy_async_sync_max_dev"] < 1e-5 and s["ignn_async_sync_max_dev"] < 1e-5
    assert s["gcn_async_degradation"] >= 0.1
    assert s["mesh_solver_rel_err"] <= 0.05 and s["async_unconverged_runs"] == 0
    assert (tmp_path / "gnn.png").exists()
