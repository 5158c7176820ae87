"""Runs tutorials/compress_lenet.py at its quick size through the CLI, as a user would."""

from morphax.cli import main


def test_compress_lenet_tutorial_runs(tmp_path, capsys):
    assert main(["tutorial", "run", "compress_lenet", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "bit-exact round trip: True" in out
    assert (tmp_path / "compress_lenet.png").stat().st_size > 0
    small, large = ((tmp_path / f"lenet300_lam{lam}.mxc").stat().st_size for lam in (8, 2))
    assert small < large    # a larger lambda gives a smaller file
    assert small < (tmp_path / "lenet300.npz").stat().st_size / 10
