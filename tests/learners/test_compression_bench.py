"""`morphax bench compression` end to end at tiny sizes: records, summary, table and plot."""

import pytest

from morphax.bench import compression as bench


def test_tiny_run_writes_real_files_and_reports_sizes_against_the_estimate(tmp_path):
    sizes = bench.Sizes(float_steps={"lenet300": 20}, epr_steps={"lenet300": 20},
                        lambdas={"lenet300": (1.0,)}, archs=("lenet300",), meta_pde_tasks=0)
    result = bench.run(False, tmp_path, False, sizes=sizes)
    records, summary = result["records"], result["summary"]
    assert [r["kind"] for r in records] == ["float32", "ptq8", "epr"]
    float32, ptq8, epr = records
    # ratios are sizes of the files on disk
    for r in (float32, ptq8, epr):
        assert r["float_bytes"] == (tmp_path / "mnist5k_lenet300_float32.eqx").stat().st_size
    assert epr["bytes"] == (tmp_path / "mnist5k_lenet300_epr_lam1.mxc").stat().st_size
    assert epr["ratio"] == pytest.approx(epr["float_bytes"] / epr["bytes"])
    # 266,610 float32 weights: PTQ8 codes at most 8 bits each plus tables
    assert ptq8["bytes"] < 266_610 + 4_000 and ptq8["ratio"] > 3.9
    assert summary["lenet300_ratio"] == epr["ratio"] and "lenet5_ratio" not in summary
    assert summary["roundtrip_exact"] is True
    # file = payload + side information; the coder spends what the stored tables promise
    assert summary["file_bits"] == 8 * epr["bytes"]
    assert summary["coder_vs_tables"] == pytest.approx(1.0, abs=0.01)
    # the file never costs more than the model's entropy estimate plus side information
    # (+1 %), and matches the stored tables' ideal length plus side information to 1 %
    assert summary["estimate_plus_side_bits"] == pytest.approx(
        8 * (epr["entropy_estimate_bytes"] + epr["side_bytes"]))
    assert summary["file_bits"] <= 1.01 * summary["estimate_plus_side_bits"]
    assert summary["file_vs_table_estimate"] == pytest.approx(1.0, abs=0.01)
    # a second run with the same sizes resumes from the cache
    again = bench.run(False, tmp_path, False, sizes=sizes)
    assert again["records"] == records
    assert "| mnist5k | lenet300 | epr | 1 |" in bench.table(records)
    assert bench.plot(records, tmp_path).read_bytes()[:4] == b"\x89PNG"
