"""`morphax compress` / `morphax decompress`: .npz round trips and one-line errors."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from morphax.cli import main


@pytest.fixture
def model_npz(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"dense.weight": rng.normal(0, 0.1, (40, 30)).astype(np.float32),
              "dense.bias": np.zeros(40, np.float32),
              "conv.weight": rng.normal(0, 0.2, (6, 2, 3, 3)).astype(np.float64),
              "meta": np.frombuffer(b'{"net": "tiny"}', np.uint8)}
    path = tmp_path / "model.npz"
    np.savez(path, **arrays)
    return path, arrays


def _roundtrip(tmp_path, model, *options):
    packed, unpacked = tmp_path / "model.mxc", tmp_path / "back.npz"
    assert main(["compress", str(model), "--out", str(packed), *options]) == 0
    assert main(["decompress", str(packed), "--out", str(unpacked)]) == 0
    with np.load(unpacked) as z:
        return packed, {k: z[k] for k in z.files}


def test_raw_round_trip_is_lossless(tmp_path, model_npz, capsys):
    model, arrays = model_npz
    _, back = _roundtrip(tmp_path, model, "--method", "raw")
    assert list(back) == list(arrays)
    for k, v in arrays.items():
        assert back[k].dtype == v.dtype and np.array_equal(back[k], v)
    assert "dense.weight" in capsys.readouterr().out


def test_epr_and_ptq8_keep_names_shapes_dtypes_and_shrink_the_file(tmp_path, model_npz, capsys):
    model, arrays = model_npz
    for options, tol in ((("--method", "ptq8"), 0.01), (("--lambda", "1", "--steps", "60"), 0.1)):
        packed, back = _roundtrip(tmp_path, model, *options)
        assert packed.stat().st_size < 0.5 * model.stat().st_size
        for k, v in arrays.items():
            assert back[k].dtype == v.dtype and back[k].shape == v.shape
        np.testing.assert_array_equal(back["meta"], arrays["meta"])
        w, w0 = back["dense.weight"], arrays["dense.weight"]
        assert np.linalg.norm(w - w0) <= tol * np.linalg.norm(w0)
    out = capsys.readouterr().out
    assert "total (file)" in out and "conv.weight" in out and "dft" in out


def _fails(argv, capsys, what):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"morphax {argv[0]}: error:") and what in err, err


def test_damaged_truncated_and_foreign_files_exit_2_and_write_nothing(tmp_path, model_npz, capsys):
    model, _ = model_npz
    packed = tmp_path / "m.mxc"
    assert main(["--quiet", "compress", str(model), "--out", str(packed), "--method", "ptq8"]) == 0
    data = packed.read_bytes()
    out = tmp_path / "never.npz"
    bad = tmp_path / "bad.mxc"
    for blob, what in ((data[:-7], "damaged or truncated"), (data[:20] + b"x" + data[21:], "damaged"),
                       (model.read_bytes(), "not a morphax compressed model")):
        bad.write_bytes(blob)
        _fails(["decompress", str(bad), "--out", str(out)], capsys, what)
        assert not out.exists()


def test_bad_arguments_exit_2(tmp_path, model_npz, capsys):
    model, _ = model_npz
    out = str(tmp_path / "m.mxc")
    _fails(["compress", str(tmp_path / "missing.npz"), "--out", out], capsys, "does not exist")
    _fails(["compress", str(model), "--out", out, "--lambda", "nan"], capsys, "--lambda")
    _fails(["compress", str(model), "--out", str(tmp_path)], capsys, "directory")
    notnpz = tmp_path / "notes.npz"
    notnpz.write_text("hello")
    _fails(["compress", str(notnpz), "--out", out], capsys, "not a readable .npz")
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, obj=np.array([{"a": 1}], dtype=object))
    _fails(["compress", str(pickled), "--out", out], capsys, "not a readable .npz")
    _fails(["decompress", out, "--out", str(tmp_path / "x.txt")], capsys, ".npz")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_any_bytes_given_to_decompress_exit_2(tmp_path, capsys, blob):
    bad = tmp_path / "fuzz.mxc"
    bad.write_bytes(blob)
    _fails(["decompress", str(bad), "--out", str(tmp_path / "fuzz.npz")], capsys, "")
