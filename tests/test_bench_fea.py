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
def test_jaxfem_case_is_the_same_problem(case):
    from morphax.bench._jaxfem_cases import jaxfem_problem

    if case == "plate":
        problem = validation.compressed_plate(
            validation.perforated_plate(holes=(2, 1), mesh_size=0.2), strain=fea.STRAIN)
    else:
        problem = fea._build("cube", 3)[0]
    ours = mp.solve(problem)
    theirs = mp.solve(mp.JaxFemProblem(jaxfem_problem(case, problem, fea.STRAIN)))
    np.testing.assert_allclose(np.asarray(theirs.u), np.asarray(ours.u), atol=1e-9)


def test_bench_runs_and_reports_the_summary(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(fea, "QUICK", {"plate": [0.2], "cube": [3], "poisson": [8]})
    from morphax.cli import main

    assert main(["--quiet", "bench", "fea", "--quick", "--json", "-", "--out", str(tmp_path)]) == 0
    obj = json.loads(capsys.readouterr().out)
    summary = obj["summary"]
    for key in ("speedup_vs_felupe", "speedup_vs_jaxfem", "max_rel_diff", "floor_ratio"):
        assert key in summary
    assert summary["max_rel_diff"] < 1e-6
    assert {r["solver"] for r in obj["records"]} >= {"morphax", "felupe", "scikit-fem", "jax-fem"}
    assert pathlib.Path(summary["plot"]).exists() and (tmp_path / "fea.jsonl").exists()
