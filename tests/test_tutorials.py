"""Every tutorial runs at its quick size through `morphax tutorial run NAME --quick`."""

import pytest

from morphax._cmd_tutorial import title, tutorials
from morphax.cli import main

META_PDE = ["meta_pde_fea", "meta_pde_maml"]


def test_tutorial_list(capsys):
    assert main(["tutorial", "list"]) == 0
    listed = capsys.readouterr().out
    for name in META_PDE:
        assert name in listed and title(tutorials()[name])


@pytest.mark.parametrize("name", META_PDE)
def test_tutorial_runs_quick(name, tmp_path):
    assert main(["tutorial", "run", name, "--quick", "--out", str(tmp_path)]) == 0
    assert list(tmp_path.glob("*.png"))


def test_unknown_tutorial_is_an_error():
    assert main(["tutorial", "run", "no_such_tutorial", "--quick"]) == 2
