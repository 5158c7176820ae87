"""The information-plane tutorial runs in its quick size and draws the plane."""

import pytest

from morphax.cli import main


@pytest.mark.slow
def test_tutorial_quick(tmp_path):
    assert main(["tutorial", "run", "rnn_information_plane", "--quick", "--out",
                 str(tmp_path)]) == 0
    assert (tmp_path / "information_plane.png").stat().st_size > 10_000
