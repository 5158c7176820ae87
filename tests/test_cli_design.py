"""`morphax design`: outputs, a watertight part whose volume matches the design, loading the
design back, resume, and errors."""

import json

import numpy as np

from morphax.cli import main
from morphax.fabrication import check_solid, read_stl
from morphax.geometry import CellularSolid
from morphax.learners.nma import load_run


def test_design_quick_run_and_resume(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["--quiet", "design", "--quick", "--iterations", "3", "--batch", "2",
                 "--out", str(out)]) == 0
    for name in ("design.json", "model.eqx", "config.json", "metrics.json", "reference.vtu",
                 "deformed_0.vtu", "actuated.png", "loss.png", "part.stl"):
        assert (out / name).exists(), name
    m = json.loads((out / "metrics.json").read_text())
    assert m["iterations"] == 3 and m["failed_solves"] == 0
    assert len(m["curve"]) == 3 and m["time_per_iteration_s"] > 0
    assert np.isfinite(m["heldout_error"])
    # the part: watertight, and its volume is the design's material area x thickness
    design = CellularSolid.load(out / "design.json")
    cfg = json.loads((out / "config.json").read_text())
    solid = read_stl(out / "part.stl")
    expected = design.material_area() * cfg["thickness"]
    check = check_solid(solid, expected, rtol=2e-3, merge=True)
    assert abs(check.volume - expected) / expected < 2e-3
    # the design loads back with the trained geometry
    config, system, model = load_run(out)
    np.testing.assert_allclose(np.asarray(model.geometry["radii"]), design.radii, rtol=0,
                               atol=1e-12)
    assert config.iterations == 3
    # resume: continue the run to 5 iterations
    assert main(["--quiet", "design", "--resume", str(out), "--iterations", "5"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["iterations"] == 5 and len(m["curve"]) == 5


def test_design_errors(tmp_path, capsys):
    assert main(["design", "--resume", str(tmp_path / "nothing")]) == 2
    assert "no checkpoint" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"task": "translation", "rows": 4}))
    assert main(["design", "--config", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "odd lattice" in capsys.readouterr().err
