"""`morphax bench meta-pde`: the speed-up at equal accuracy and the mirror-min scoring."""

import numpy as np
import pytest

from morphax.bench import meta_pde as bench


def _fea(*pairs):
    return [{"family": "f", "method": "fea", "rel_mse": e, "time_s": t} for e, t in pairs]


def test_fea_time_at_interpolates_log_log_between_bracketing_resolutions():
    fea = _fea((1e-1, 1e-3), (1e-3, 1e-1), (1e-5, 10.0))
    # halfway in log error between 1e-1 and 1e-3: halfway in log time
    assert bench._fea_time_at(fea, 1e-2) == pytest.approx(1e-2, rel=1e-12)
    assert bench._fea_time_at(fea, 1e-3) == pytest.approx(1e-1)
    assert bench._fea_time_at(fea, 1.0) == pytest.approx(1e-3)     # less accurate than all
    assert bench._fea_time_at(fea, 1e-6) is None                    # more accurate than all


def test_speedups_pick_the_fastest_maml_step_within_the_target():
    records = _fea((1e-1, 1e-3), (1e-3, 1e-1))
    records += [{"family": "f", "method": "maml", "k": k, "rel_mse": e, "time_s": t}
                for k, e, t in ((0, 1.0, 1e-6), (1, 5e-2, 1e-4), (5, 1e-2, 5e-4),
                                (10, 1e-3, 2e-2))]
    for r in records:
        r["rel_mse_median"] = r["rel_mse"] / 2
    summary = {}
    bench._speedups(records, "f", summary)
    # k = 5: FEA needs 1e-2 s for rel MSE 1e-2, Meta-PDE 5e-4 s -> 20x (k = 10: 5x)
    assert summary["f_rel_mse"] <= 1e-2 and summary["f_rel_mse_median"] == 5e-3
    assert summary["f_speedup"] == pytest.approx(20.0) and summary["f_k"] == 5
    assert summary["f_target_met"] is True
    by_k = {r["k"]: r for r in records if r["method"] == "maml"}
    assert by_k[0]["speedup"] is None          # the init itself: no adaptation time
    # k = 1 (rel MSE 5e-2, outside the target): FEA at 5e-2 is 2e-3 s on the log-log line
    assert by_k[1]["fea_time_same_accuracy_s"] == pytest.approx(2e-3, rel=1e-12)
    assert by_k[1]["speedup"] == pytest.approx(20.0, rel=1e-12)
    # nothing within the target: the most accurate step is reported, the target not met
    summary = {}
    bench._speedups([r for r in records if r.get("k") != 10 and r.get("k") != 5], "f", summary)
    assert summary["f_k"] == 1 and summary["f_target_met"] is False


def test_error_takes_the_closer_of_the_alternative_truths():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=(50, 2))
    mirror = truth * np.array([-1.0, 1.0])
    assert bench._error(mirror, (truth, mirror)) == 0.0
    assert bench._error(mirror, (truth,)) > 1.0


def test_speedup_table_lists_every_learned_record():
    records = _fea((1e-1, 1e-3), (1e-3, 1e-1))
    records += [{"family": "f", "method": "maml", "k": 5, "rel_mse": 1e-2, "rel_mse_median": 8e-3,
                 "time_s": 1e-3}]
    bench._speedups(records, "f", {})
    lines = bench.table(records).splitlines()
    assert len(lines) == 3 and lines[2] == "| f | maml | 5 | 1.00e-02 | 8.00e-03 | 1.0 | 10.0 | 10 |"


def test_learned_records_score_each_step_against_the_truth():
    import jax
    import jax.numpy as jnp

    from morphax.learners.meta_pde import PoissonFamily, new_init, relative_mse

    fam = PoissonFamily(n_domain=32, n_boundary=16)
    init = new_init(fam, "maml", key=jax.random.key(0), width=16, depth=2, inner_steps=2,
                    dtype=jnp.float32)
    tasks = fam.held_out(2)
    xs = [fam.eval_points(t, 64, seed=i) for i, t in enumerate(tasks)]
    truths = [(np.sin(x[:, 0]) + x[:, 1],) for x in xs]
    records = []
    bench._learned(fam, "maml", init, tasks, truths, xs, [0, 1, 3], 1e-4, records, False)
    assert [r["k"] for r in records] == [0, 1, 3]
    at_init = np.mean([relative_mse(fam.predict(init.model, jnp.asarray(x)), gt[0])
                       for x, gt in zip(xs, truths, strict=True)])
    assert records[0]["rel_mse"] == pytest.approx(at_init, rel=1e-6)
    assert records[0]["time_s"] < records[1]["time_s"] < records[2]["time_s"]
    assert records[2]["rel_mse"] != records[0]["rel_mse"] and records[0]["n_tasks"] == 2
