"""Every tutorial runs at its quick size through `morphax tutorial run NAME --quick`."""

import pytest

from morphax._cmd_tutorial import title, tutorials
from morphax.cli import main

META_PDE = ["meta_pde_fea", "meta_pde_maml", "meta_pde_hyper"]
NMA = ["nma_design_to_part"]


def test_tutorial_list(capsys):
    assert main(["tutorial", "list"]) == 0
    listed = capsys.readouterr().out
    for name in META_PDE + NMA:
        assert name in listed and title(tutorials()[name])


@pytest.mark.parametrize("name", META_PDE)
def test_tutorial_runs_quick(name, tmp_path):
    assert main(["tutorial", "run", name, "--quick", "--out", str(tmp_path)]) == 0
    assert list(tmp_path.glob("*.png"))


def test_unknown_tutorial_is_an_error():
    assert main(["tutorial", "run", "no_such_tutorial", "--quick"]) == 2


def test_nma_design_to_part_quick(tmp_path):
    """Tutorial 4 trains a short co-design run and leaves a checked, watertight part.stl."""
    import json

    assert main(["tutorial", "run", "nma_design_to_part", "--quick", "--out",
                 str(tmp_path)]) == 0
    for name in ("loss.png", "design.png", "part_top.png", "part.stl.report.png", "part.stl"):
        assert (tmp_path / name).exists(), name
    report = json.loads((tmp_path / "part.stl.report.json").read_text())
    assert report["solid_check"]["watertight"]
    assert report["solid_check"]["volume_rel_error"] < 1e-6
    assert report["volume_mm3"] > 0
    assert (tmp_path / "run" / "metrics.json").exists()
