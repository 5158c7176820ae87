"""Runs tutorials/rad_pde.py at its small default size, as a user would."""

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_rad_pde_tutorial_runs(tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    out = subprocess.run([sys.executable, str(ROOT / "tutorials" / "rad_pde.py")], env=env,
                         capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    pictures = tmp_path / "tutorial-out" / "rad_pde"   # the script's default OUT
    assert (pictures / "rad_pde.png").stat().st_size > 0
    assert (pictures / "fields.png").stat().st_size > 0
    assert "memory saved at keep 0.01: 99.0%" in out.stdout
    ratios = [float(line.rsplit(":", 1)[1]) for line in out.stdout.splitlines()
              if line.startswith("final loss ratio")]
    assert len(ratios) == 3 and all(0.9 < r < 1.1 for r in ratios), out.stdout
