"""`morphax design`: outputs, a watertight part whose volume matches the design, loading the
design back, resume, errors, and a run killed inside a checkpoint write."""

import json
import signal
import subprocess
import sys

import numpy as np
import pytest

from morphax.cli import main
from morphax.fabrication import check_solid, read_stl
from morphax.geometry import CellularSolid
from morphax.learners.nma import load_run


def test_design_quick_run_and_resume(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["--quiet", "design", "--quick", "--iterations", "3", "--batch", "2",
                 "--out", str(out)]) == 0
    for name in ("design.json", "model.eqx", "config.json", "metrics.json", "reference.vtu",
                 "deformed_0.vtu", "actuated.png", "loss.png", "part.stl", "sweep.gif",
                 "design.png", "report.md", "mesh_design.json"):
        assert (out / name).exists(), name
    m = json.loads((out / "metrics.json").read_text())
    assert m["iterations"] == 3 and m["failed_solves"] == 0
    # geometry steps re-mesh instead of shrinking; the print check is in the metrics and report
    assert m["shortened_geometry_steps"] == 0 and m["remeshes"] >= 0
    assert len(m["print_check"]) == 8 and m["part"]["nozzle_mm"] == 0.4
    assert m["part"]["prints"] == (m["part"]["min_neck_mm"] >= 0.4)
    assert "pore_0_0" in (out / "report.md").read_text()
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


def test_design_validates_before_any_work(tmp_path, capsys):
    """Bad flags, outputs and resume flags are refused in one line, before a mesh is built."""
    (tmp_path / "file").write_text("")
    cases = [(["--lr", "inf"], "--lr"), (["--batch", "0"], "--batch"),
             (["--out", str(tmp_path / "file")], "file"),
             (["--out", str(tmp_path / "file" / "run")], "file")]
    for flags, named in cases:
        assert main(["design", "--quick", *flags]) == 2
        err = capsys.readouterr().err
        assert err.startswith("morphax design: error: ") and err.count("\n") == 1, err
        assert named in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


KILLER = """
import os, signal, sys
import morphax.learners.nma._train as train
from morphax._core import atomic_path

def killing(write):
    def wrapped(path, data):   # write half of `data` to the temporary file, then die
        if path.name == sys.argv[1]:
            with atomic_path(path) as tmp:
                half = data[: len(data) // 2]
                tmp.write_bytes(half) if isinstance(half, bytes) else tmp.write_text(half)
                os.kill(os.getpid(), signal.SIGKILL)
        return write(path, data)
    return wrapped

train.atomic_write_bytes = killing(train.atomic_write_bytes)
train.atomic_write_text = killing(train.atomic_write_text)
from morphax.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.fixture(scope="module")
def kill_config(tmp_path_factory):
    """A 4-iteration run that checkpoints every iteration, and its uninterrupted result."""
    folder = tmp_path_factory.mktemp("kill")
    cfg = folder / "run.toml"
    cfg.write_text("[design]\ntask = 'translation'\niterations = 4\nbatch = 1\nn_eval = 1\n"
                   "eval_every = 100\ncheckpoint_every = 1\n")
    assert main(["--quiet", "design", "--config", str(cfg), "--no-part",
                 "--out", str(folder / "reference")]) == 0
    return cfg, folder / "reference"


@pytest.mark.slow
@pytest.mark.parametrize("target", ["state-0000003.eqx", "state-0000003.json"])
def test_design_killed_inside_a_checkpoint_write_resumes_bit_exact(kill_config, tmp_path, target):
    cfg, reference = kill_config
    out = tmp_path / "run"
    killed = subprocess.run([sys.executable, "-c", KILLER, target, "--quiet", "design",
                             "--config", str(cfg), "--no-part", "--out", str(out)],
                            capture_output=True, text=True, timeout=900)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    folder = out / "checkpoint"
    stem, suffix = target.rsplit(".", 1)
    assert list(folder.glob(f".{stem}.*.{suffix}")), "the kill left no half-written file"
    assert not (folder / target).exists()
    assert main(["--quiet", "design", "--resume", str(out), "--no-part"]) == 0
    assert not list(folder.glob(".*")), "the half-written file was not swept"
    assert json.loads((out / "metrics.json").read_text())["iterations"] == 4
    assert (out / "model.eqx").read_bytes() == (reference / "model.eqx").read_bytes()


@pytest.mark.slow
def test_design_from_a_lattice_with_baseline_and_evaluate(tmp_path, capsys):
    """--init starts from a `morphax lattice` design, --baseline trains the frozen geometry
    on the same seed, --evaluate re-scores the finished run on new targets."""
    lattice = tmp_path / "lattice.json"
    assert main(["--quiet", "lattice", "--rows", "3", "--cols", "3", "--cell-size", "5",
                 "--porosity", "0.15", "--solid", "1,1", "--out", str(lattice)]) == 0
    out = tmp_path / "run"
    assert main(["--quiet", "design", "--quick", "--init", str(lattice), "--iterations", "0",
                 "--baseline", "--no-part", "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["codesign_over_frozen"] == pytest.approx(
        m["heldout_error"] / m["frozen_heldout_error"])
    # the run started from the lattice (radii 0.46 + 0.02 noise, not the preset's 0.54)
    start = CellularSolid.load(lattice)
    config, system, model = load_run(out)
    assert (config.rows, config.cols) == (3, 3)
    assert abs(float(np.mean(np.asarray(model.geometry["radii"]) - start.radii))) < 0.02
    assert main(["design", "--evaluate", str(out), "--targets", "3"]) == 0
    ev = json.loads((out / "evaluation.json").read_text())
    assert ev["n_targets"] == 3 and np.isfinite(ev["heldout_error"])
    assert main(["design", "--evaluate", str(out), "--init", str(lattice)]) == 2
    assert "--init" in capsys.readouterr().err
