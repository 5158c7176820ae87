"""Every benchmark's plot turns its records into one PNG, written atomically (nothing else is
left in the folder). `fea`'s plot runs in tests/test_bench_fea.py."""

import pytest

from morphax.bench import meta_pde, nma, rad

RECORDS = {
    nma: [{"task": task, "mode": mode, "curve": [3.0, 2.0, 1.5, 1.0] * 8, "heldout_error": 0.1}
          for task in ("translation", "rotation") for mode in ("codesign", "frozen")],
    rad: [{"kind": "train", "net": "fc", "curve": [[0, 1.0], [10, 0.5]], "method": "exact",
           "batch": 150, "test_accuracy": 0.9},
          {"kind": "pde", "loss": [1.0, 0.5], "keep": 0.1, "values_per_step": 10,
           "stored_bytes": 1e6, "stored_bytes_paper_horizon": 2e6},
          {"kind": "memory", "net": "fc", "keep": 0.1, "total_mb": 1.8, "paper_mb": 1.8}],
    meta_pde: [{"family": "poisson", "method": "fea", "rel_mse": 1e-3, "time_s": 4e-3},
               {"family": "poisson", "method": "fea", "rel_mse": 1e-5, "time_s": 2e-2},
               {"family": "poisson", "method": "maml", "k": 0, "rel_mse": 1.0, "time_s": 0.0},
               {"family": "poisson", "method": "maml", "k": 5, "rel_mse": 0.1, "time_s": 3e-2}],
}


@pytest.mark.parametrize("module", list(RECORDS), ids=lambda m: m.__name__.rsplit(".")[-1])
def test_plot_writes_one_png(module, tmp_path):
    path = module.plot(RECORDS[module], tmp_path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
