"""`morphax bench rnn-info`: RNNs in the predictive information plane (Dong, Oktay, Poole,
Alemi 2019). All information values are in bits, likelihoods in nats per step.

What it runs (sizes: full / --quick):

* Frontier check: the analytic Gaussian-IB frontier (canonical correlations) against a
  brute-force L-BFGS optimisation of full linear-Gaussian encoders, for restorative Brownian
  motion (20-step past, 10-step future; noiseless and noisy observations) and random
  covariances; error = max |I_future(brute force) - frontier(I_past(brute force))|.
* Estimators on Gaussian cases with analytic truth (random covariances, linear encoders,
  three noise levels): known-encoder brackets on I(past; z) and I(z; future) and the two
  variational bounds.
* Restorative Brownian motion (omega = 2 pi 1.5 / s, gamma = 20 / s, dt = 1/60 s): GRU and
  LSTM (32 units) by maximum likelihood, each swept post hoc over sigma; GRUs trained with
  hidden-state noise (readout noise at sigma 0.1, 0.3; full adds 0.03, 1.0 and recurrent noise);
  6000 / 4000 training sequences, 2000 / 800 Adam steps. Held-out NLL beside the exact optimum,
  sample quality (covariance error of 10-step continuations of true pasts).
* Procedural sketches (6 classes, stroke-3): GRU by maximum likelihood vs readout-noise-trained
  (sigma 0.3; full adds 0.1), held-out NLL and a linear probe of the final hidden state on the
  class, with 2500 / 1000 training sketches and with only 150 (where regularisation could
  matter); 500 test sketches, 2000 / 500 Adam steps.
"""

from __future__ import annotations

import dataclasses
import pathlib
import sys
import time

import numpy as np

N_PAST, N_FUTURE = 20, 10
_T0 = [time.perf_counter()]


def _log(progress, msg):
    if progress:
        print(f"[bench rnn-info {time.perf_counter() - _T0[0]:7.1f} s] {msg}", file=sys.stderr,
              flush=True)


def _random_cov(seed, n):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n))
    return a @ a.T + 0.3 * np.eye(n)


def _frontier_checks(quick):
    from morphax.learners.rnn_info import (
        brute_force_frontier,
        canonical_correlations,
        frontier_future_at,
        ib_frontier,
        predictive_information,
        restorative_brownian_motion,
        window_covariance,
    )

    cases = [("rbm", window_covariance(restorative_brownian_motion(), N_PAST, N_FUTURE), N_PAST),
             ("rbm_obs0.2", window_covariance(restorative_brownian_motion(obs_noise=0.2),
                                              N_PAST, N_FUTURE), N_PAST),
             ("random9", _random_cov(1, 9), 5)]
    if not quick:
        cases.append(("random14", _random_cov(2, 14), 8))
    records = []
    for name, cov, m in cases:
        rho = canonical_correlations(cov, m)
        betas = np.array([1.2, 2.0, 5.0, 20.0, 100.0]) / rho[0] ** 2
        ix, iy = brute_force_frontier(cov, m, betas, restarts=2 if quick else 4)
        ax, ay = ib_frontier(rho, betas)
        err = np.abs(iy - frontier_future_at(rho, ix))
        records.append({"kind": "frontier", "case": name, "rho": rho.tolist(),
                        "predictive_information": predictive_information(cov, m),
                        "frontier_limit": float(-0.5 * np.log2(1 - rho**2).sum()),
                        "betas": betas.tolist(), "brute_past": ix.tolist(),
                        "brute_future": iy.tolist(), "analytic_past": ax.tolist(),
                        "analytic_future": ay.tolist(), "max_err": float(err.max()),
                        "max_err_same_beta": float(np.abs(iy - ay).max())})
    return records


def _estimator_checks(quick):
    import jax
    import jax.numpy as jnp

    from morphax.learners.rnn_info import information_plane, linear_encoder_information

    records = []
    for seed in (1, 2) if quick else (1, 2, 3, 4):
        cov = _random_cov(seed, 9)
        w = np.random.default_rng(seed + 10).normal(size=(3, 5))
        sigmas = (1.0, 2.0, 4.0)
        points = information_plane(lambda p, w=w: p @ jnp.asarray(w).T, cov, 5, sigmas,
                                   key=jax.random.key(seed), k=512, batches=16)
        for pt in points:
            tx, ty = linear_encoder_information(cov, 5, w / pt.sigma)
            records.append({"kind": "estimator", "seed": seed, **dataclasses.asdict(pt),
                            "true_past": tx, "true_future": ty,
                            "past_bracket_ok": (pt.past_lower - 2 * pt.past_se <= tx
                                                <= pt.past_upper + 2 * pt.past_se),
                            "future_bracket_ok": (pt.future_lower - 2 * pt.future_se <= ty
                                                  <= pt.future_upper + 2 * pt.future_se),
                            "raw_bracket_ok": (pt.past_lower <= tx <= pt.past_upper
                                               and pt.future_lower <= ty <= pt.future_upper)})
    return records


def _plane_records(model, label, cov, sigmas, extra):
    import jax

    from morphax.learners.rnn_info import final_hidden, information_plane

    encoder = jax.jit(lambda p: final_hidden(model, p[:, :, None]))
    points = information_plane(encoder, cov, N_PAST, sigmas, key=jax.random.key(7))
    return [{"kind": "rnn", "model": label, **extra, **dataclasses.asdict(pt)} for pt in points]


def _sample_error(model, sde, noise, key):
    """Max |empirical - exact| covariance of (last observed step, 10 sampled steps) when the
    model continues 2000 true 20-step pasts: how well its samples follow the process."""
    import jax
    import jax.numpy as jnp

    from morphax.learners.rnn_info import generate, simulate, window_covariance

    past = simulate(sde, 2000, N_PAST, key=key)[..., None]
    cont = generate(model, past, N_FUTURE, noise=noise, key=jax.random.fold_in(key, 1))
    window = jnp.concatenate([past[:, -1:, 0], cont[:, :, 0]], axis=1)
    emp = np.asarray(window.T @ window) / window.shape[0]
    return float(np.max(np.abs(emp - window_covariance(sde, 1, N_FUTURE))))


def _brownian_runs(quick, progress):
    import jax

    from morphax.learners.rnn_info import (
        SequenceRNN,
        TrainConfig,
        autocovariance,
        heldout_nll,
        optimal_nll,
        restorative_brownian_motion,
        simulate,
        train_rnn,
        window_covariance,
    )

    sde = restorative_brownian_motion()
    cov = window_covariance(sde, N_PAST, N_FUTURE)
    length = N_PAST + N_FUTURE
    train = simulate(sde, 4000 if quick else 6000, length, key=jax.random.key(0))[..., None]
    test = simulate(sde, 1000, length, key=jax.random.key(1))[..., None]
    best = optimal_nll(autocovariance(sde, length - 1))
    steps = 800 if quick else 2000
    levels = (0.1, 0.3) if quick else (0.03, 0.1, 0.3, 1.0)
    runs = [("gru", 0.0, "readout"), ("lstm", 0.0, "readout")]
    runs += [("gru", s, "readout") for s in levels]
    if not quick:
        runs += [("gru", 0.1, "recurrent"), ("gru", 0.3, "recurrent")]
    records = []
    for cell, noise, mode in runs:
        label = f"{cell} ML" if noise == 0 else f"{cell} noise {noise} ({mode})"
        _log(progress, f"Brownian motion: {label}, {steps} steps")
        t0 = time.perf_counter()
        res = train_rnn(SequenceRNN(1, 32, cell=cell, key=jax.random.key(3)), train,
                        config=TrainConfig(steps=steps, noise=noise, noise_mode=mode),
                        key=jax.random.key(4), progress=progress)
        extra = {"cell": cell, "train_noise": noise, "noise_mode": mode,
                 "train_s": time.perf_counter() - t0, "heldout_nll": heldout_nll(res.model, test),
                 "optimal_nll": best, "final_train_loss": float(res.losses[-50:].mean()),
                 "sample_autocov_err": _sample_error(res.model, sde, noise, jax.random.key(9))}
        sweep = (0.05, 0.1, 0.2, 0.3, 0.6) if quick else (0.03, 0.05, 0.1, 0.2, 0.3, 0.6)
        sigmas = sorted({*sweep, *levels}) if noise == 0 else (noise,)
        records += _plane_records(res.model, label, cov, sigmas, extra)
    return records


def _sketch_runs(quick, progress):
    import jax
    import jax.numpy as jnp

    from morphax.learners.rnn_info import (
        SequenceRNN,
        TrainConfig,
        final_hidden,
        heldout_nll,
        linear_probe_accuracy,
        pad_sketches,
        procedural_sketches,
        train_rnn,
    )

    n_test = 500
    sizes = (1000, 150) if quick else (2500, 150)
    sketches, labels = procedural_sketches(max(sizes) + n_test, seed=0)
    data, mask, lengths, _ = pad_sketches(sketches, 33)
    data, mask, lengths = jnp.asarray(data), jnp.asarray(mask), jnp.asarray(lengths)
    labels = jnp.asarray(labels)
    test = slice(max(sizes), max(sizes) + n_test)
    steps = 500 if quick else 2000
    records = []
    for n_train in sizes:
        for noise in (0.0, 0.3) if quick else (0.0, 0.1, 0.3):
            _log(progress, f"sketches: {n_train} train, GRU noise {noise}, {steps} steps")
            res = train_rnn(SequenceRNN(3, 32, output="stroke", key=jax.random.key(5)),
                            data[:n_train], mask[:n_train],
                            config=TrainConfig(steps=steps, noise=noise, noise_mode="readout"),
                            key=jax.random.key(6), progress=progress)
            feats = final_hidden(res.model, data, lengths)
            acc = linear_probe_accuracy(feats[:n_train], labels[:n_train], feats[test],
                                        labels[test])
            records.append({"kind": "sketch", "train_noise": noise, "steps": steps,
                            "heldout_nll": heldout_nll(res.model, data[test], mask[test]),
                            "train_nll": heldout_nll(res.model, data[:n_train], mask[:n_train]),
                            "probe_accuracy": acc, "n_train": n_train, "n_test": n_test})
    return records


def _sketch_summary(sketch):
    out = {}
    for size, tag in ((max(r["n_train"] for r in sketch), ""), (150, "_small")):
        rows = {r["train_noise"]: r for r in sketch if r["n_train"] == size}
        for noise, name in ((0.0, "ml"), (max(rows), "noisy")):
            out[f"sketch{tag}_{name}_heldout_nll"] = rows[noise]["heldout_nll"]
            out[f"sketch{tag}_{name}_probe_acc"] = rows[noise]["probe_accuracy"]
    return out


def run(quick: bool, out: pathlib.Path, progress: bool) -> dict:
    t0 = _T0[0] = time.perf_counter()
    _log(progress, "frontier checks")
    records = _frontier_checks(quick)
    _log(progress, "estimator checks")
    records += _estimator_checks(quick)
    records += _brownian_runs(quick, progress)
    records += _sketch_runs(quick, progress)
    front = [r for r in records if r["kind"] == "frontier"]
    est = [r for r in records if r["kind"] == "estimator"]
    rnn = [r for r in records if r["kind"] == "rnn"]
    noisy = [r for r in rnn if r["train_noise"] > 0 and r["noise_mode"] == "readout"]
    levels = sorted({r["sigma"] for r in noisy})
    ml_all = sorted((r for r in rnn if r["model"] == "gru ML"), key=lambda r: r["past_lower"])
    ml = [r for r in ml_all if r["sigma"] in levels]
    ml_matched = np.interp([r["past_lower"] for r in noisy], [r["past_lower"] for r in ml_all],
                           [r["gap"] for r in ml_all])
    sketch = [r for r in records if r["kind"] == "sketch"]
    brackets = [r["past_bracket_ok"] for r in est] + [r["future_bracket_ok"] for r in est]
    summary = {
        "frontier_check_err": max(r["max_err"] for r in front),
        "predictive_information_bits": front[0]["predictive_information"],
        "mi_estimator_err": max(max(abs(r["future_decoder"] - r["true_future"]),
                                    abs(r["past_variational_upper"] - r["true_past"]))
                                for r in est),
        "bracket_contains_truth": float(np.mean(brackets)),
        "bracket_contains_truth_without_se": float(np.mean([r["raw_bracket_ok"] for r in est])),
        "ml_rnn_gap_bits": float(np.mean(ml_matched)),
        "ml_rnn_gap_bits_same_sigma": float(np.mean([r["gap"] for r in ml])),
        "noisy_rnn_gap_bits": float(np.mean([r["gap"] for r in noisy])),
        "ml_rnn_certified_gap_bits": float(np.mean([r["certified_gap"] for r in ml])),
        "noisy_rnn_certified_gap_bits": float(np.mean([r["certified_gap"] for r in noisy])),
        "lstm_ml_gap_bits": float(np.mean([r["gap"] for r in rnn if r["model"] == "lstm ML"])),
        "ml_heldout_nll": ml[0]["heldout_nll"],
        "noisy_heldout_nll": float(np.mean([r["heldout_nll"] for r in noisy])),
        "optimal_nll": ml[0]["optimal_nll"],
        "ml_sample_autocov_err": ml[0]["sample_autocov_err"],
        "noisy_sample_autocov_err": float(np.mean([r["sample_autocov_err"] for r in noisy])),
        **_sketch_summary(sketch),
        "bench_seconds": time.perf_counter() - t0,
    }
    return {"records": records, "summary": summary}


def plot(records, out: pathlib.Path) -> pathlib.Path:
    from morphax._core import new_figure, save_figure
    from morphax.learners.rnn_info import ib_frontier

    fig = new_figure(14, 4.8)
    ax, ax2, ax3 = fig.subplots(1, 3)
    front = next(r for r in records if r["kind"] == "frontier" and r["case"] == "rbm")
    rho = np.asarray(front["rho"])
    betas = np.geomspace(1 / rho[0] ** 2 * 1.0001, 1e6, 400)
    fx, fy = ib_frontier(rho, betas)
    keep = fx < 12
    ax.plot(fx[keep], fy[keep], "k-", label="optimal frontier (Gaussian IB)")
    ax.axhline(front["predictive_information"], color="k", ls=":", lw=0.8,
               label=f"I(past; future) = {front['predictive_information']:.2f} bits")
    ax.plot(front["brute_past"], front["brute_future"], "kx", label="brute force (linear encoders)")
    rnn = [r for r in records if r["kind"] == "rnn"]
    for label in dict.fromkeys(r["model"] for r in rnn):
        rows = sorted((r for r in rnn if r["model"] == label), key=lambda r: -r["sigma"])
        x = [r["past_lower"] for r in rows]
        y = [max(r["future_lower"], r["future_decoder"]) for r in rows]
        yerr = [[0.0] * len(rows), [r["future_upper"] - v for r, v in zip(rows, y, strict=True)]]
        style = "o-" if "ML" in label else "s"
        ax.errorbar(x, y, yerr=yerr, fmt=style, ms=4, capsize=2, label=label)
    ax.set(xlabel="I(past; z) [bits] (InfoNCE lower bound)",
           ylabel="I(z; future) [bits] (lower bound, bar to upper)", xlim=(0, 9),
           ylim=(0, 5.5))
    ax.set_title("restorative Brownian motion: information plane", fontsize=10)
    ax.legend(fontsize=7)
    models = list(dict.fromkeys(r["model"] for r in rnn))
    excess = [next(r["heldout_nll"] - r["optimal_nll"] for r in rnn if r["model"] == m)
              for m in models]
    ax2.barh(range(len(models)), excess)
    ax2.set_yticks(range(len(models)), models, fontsize=7)
    ax2.set(xlabel="held-out NLL - exact optimum [nats/step]")
    ax2.set_title("next-step likelihood (noise off at test)", fontsize=10)
    sk = [r for r in records if r["kind"] == "sketch"]
    xs = np.arange(len(sk))
    ax3.bar(xs - 0.2, [r["probe_accuracy"] for r in sk], 0.4)
    ax3b = ax3.twinx()
    ax3b.bar(xs + 0.2, [r["heldout_nll"] for r in sk], 0.4, color="C1")
    ax3.set_xticks(xs, [f"n={r['n_train']}\nsigma {r['train_noise']}" for r in sk], fontsize=7)
    ax3.set(ylabel="linear probe accuracy (blue)", ylim=(0, 1))
    ax3.set_title("procedural sketches (GRU, readout noise)", fontsize=10)
    ax3b.set_ylabel("held-out NLL [nats/step] (orange)")
    return save_figure(fig, pathlib.Path(out) / "rnn_info.png")


def table(records) -> str:
    """Markdown: each RNN representation's place in the plane."""
    lines = ["| model | sigma | I(past;z) bracket | I(z;future) bracket | decoder LB | frontier | "
             "gap | held-out NLL |", "|---|---|---|---|---|---|---|---|"]
    for r in records:
        if r["kind"] == "rnn":
            lines.append(f"| {r['model']} | {r['sigma']} | {r['past_lower']:.2f}-{r['past_upper']:.2f}"
                         f" | {r['future_lower']:.2f}-{r['future_upper']:.2f} | "
                         f"{r['future_decoder']:.2f} | {r['frontier']:.2f} | {r['gap']:.3f} | "
                         f"{r['heldout_nll']:.3f} |")
    return "\n".join(lines) + "\n"
