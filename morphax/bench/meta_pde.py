"""`morphax bench meta-pde`: meta-learned neural PDE solvers against FEA (Qin et al. 2022).

Per family, on 8 held-out tasks, one run on one machine: relative MSE against the ground truth
at 1024 fixed evaluation points per task vs wall time, for
* Meta-PDE (the shipped MAML / LEAP initializations) after k = 0, 1, 2, 5, 10, 20, 50 (and 100,
  200 in the full run) adaptation steps (k <= K: MAML's learned-rate SGD; then Adam 1e-4);
* the baseline SIREN from a random initialization trained with Adam (lr 1e-3);
* the classical solver at a sweep of resolutions: Poisson, P1 Newton on star meshes of size
  0.5 ... 0.05 built by morphing one disk mesh; Burgers, the implicit finite-difference stepper
  on 16 ... 256 cells and steps; hyperelasticity, P1 Newton (4 load increments) on gmsh meshes
  of the porous square of size 0.2 ... 0.05 (0.035 in the full run).
Ground truth: P2 FEA on a fine mesh (Poisson; hyperelasticity, h = 0.04, 0.03 in the full
run) or Crank-Nicolson on 1024 x 1024 (Burgers; 512 x 512 with --quick). Hyperelastic errors
are mirror-min errors: against the truth or its left-right mirror image, whichever is closer
(the lattice can buckle either way). On the largest pores different meshes can still settle on
different buckling patterns, so FEA itself does not converge there: read the medians too.

The networks compute in float32 (as in the paper), FEA in float64.
Times: the learned methods' are the adaptation only (collocation sampling included, the final
evaluation excluded), after a compiling warm-up run; the classical solvers' are the median of
3 solves after a warm-up solve per task (meshing untimed; compile time reported apart).

Summary: `<family>_speedup` = FEA time / Meta-PDE time to reach the same mean relative MSE,
the largest over the MAML steps k >= 1 whose mean relative MSE is <= 1e-2 (`<family>_rel_mse`,
its median over the tasks `<family>_rel_mse_median`, `<family>_k`); if none reaches 1e-2,
the most accurate k is used and `<family>_target_met` is false. FEA time at an accuracy is
interpolated log-log between the bracketing resolutions (the cheapest resolution when
Meta-PDE is less accurate than all of them).
"""

from __future__ import annotations

import math
import pathlib
import statistics
import sys
import time

import numpy as np

N_TASKS = 8
N_EVAL = 1024
MAML_ADAM_LR = 1e-4      # Adam after a MAML init's K learned-rate steps (LEAP: its inner lr)
RANDOM_ADAM_LR = 1e-3    # the random-init baseline
NETWORK_DTYPE = "float32"   # the networks' arithmetic, as in the paper; FEA runs in float64


def _log(progress, msg):
    if progress:
        print(f"[bench meta-pde] {msg}", file=sys.stderr, flush=True)


def _error(pred, alternatives) -> float:
    """Relative MSE of `pred` against the closest of the equally valid truths (the hyperelastic
    family's truth and its mirror image; a single truth otherwise)."""
    from morphax.learners.meta_pde import relative_mse

    return min(relative_mse(pred, t) for t in alternatives)


def _learned(fam, name, init, tasks, truths, xs, ks, adam_lr, records, progress, *, seed=0,
             random_init=False):
    """Adapt `init` (or a fresh random init per task) on every task; one record per k.
    truths[i]: a tuple of alternative truths at xs[i] (see `_error`)."""
    import jax
    import jax.numpy as jnp

    from morphax.learners.meta_pde import Adapter, new_init

    ad = Adapter(fam, adam_lr=adam_lr)

    def get_init(i):
        if random_init:
            return new_init(fam, "random", key=jax.random.key(seed + 1000 + i),
                            dtype=NETWORK_DTYPE)
        return init

    t = time.perf_counter()
    ad.run(get_init(0), fam.vector(tasks[0]), max(ks), key=jax.random.key(seed), record=ks)
    compile_s = time.perf_counter() - t
    errs = {k: [] for k in ks}
    times = {k: [] for k in ks}
    for i, (task, gt, x) in enumerate(zip(tasks, truths, xs, strict=True)):
        xj = jnp.asarray(x)

        def score(k, model, xj=xj, gt=gt):
            return _error(np.asarray(fam.predict(model, xj)), gt)

        out = ad.run(get_init(i), fam.vector(task), max(ks), key=jax.random.key(seed + i),
                     record=ks, callback=score)
        for k in ks:
            errs[k].append(out[k])
            times[k].append(ad.last_times[k])
    for k in ks:
        records.append({"family": fam.name, "method": name, "k": k,
                        "rel_mse": float(np.mean(errs[k])),
                        "rel_mse_median": float(np.median(errs[k])),
                        "time_s": float(np.mean(times[k])), "compile_s": compile_s,
                        "n_tasks": len(tasks)})
    _log(progress, f"{fam.name} {name}: " + ", ".join(
        f"k={k} {np.mean(errs[k]):.2e} @ {np.mean(times[k]) * 1e3:.1f} ms" for k in ks))


def _learners(fam, tasks, truths, xs, ks, records, progress):
    """The shipped MAML and LEAP initializations, then the random-init baseline."""
    from morphax.learners.meta_pde import available_pretrained, pretrained

    for name in ("maml", "leap"):
        if f"{fam.name}_{name}" in available_pretrained():
            _learned(fam, name, pretrained(f"{fam.name}_{name}", dtype=NETWORK_DTYPE), tasks,
                     truths, xs, ks, MAML_ADAM_LR, records, progress)
    _learned(fam, "random", None, tasks, truths, xs, ks, RANDOM_ADAM_LR, records, progress,
             random_init=True)


def _fea_time_at(fea_recs, err):
    """Seconds FEA needs for mean relative MSE `err` (log-log interpolation)."""
    pts = sorted((r["rel_mse"], r["time_s"]) for r in fea_recs)
    ok = [(e, t) for e, t in pts if e <= err]
    if not ok:
        return None
    best = min(t for _, t in ok)
    worse = [(e, t) for e, t in pts if e > err and t < best]
    if not worse:
        return best
    e_lo, t_lo = max(ok, key=lambda p: (p[0], -p[1]))        # least accurate that is good enough
    e_hi, t_hi = min(worse, key=lambda p: p[0])               # most accurate that is not
    if e_hi == e_lo:
        return best
    w = (math.log(err) - math.log(e_hi)) / (math.log(e_lo) - math.log(e_hi))
    return min(best, math.exp(math.log(t_hi) + w * (math.log(t_lo) - math.log(t_hi))))


def _speedups(records, family, summary, target=1e-2):
    fea = [r for r in records if r["family"] == family and r["method"] in ("fea", "fd")]
    for r in records:
        if r["family"] != family or r["method"] in ("fea", "fd"):
            continue
        t_fea = _fea_time_at(fea, r["rel_mse"])
        r["fea_time_same_accuracy_s"] = t_fea
        # k = 0 is the initialization itself: no adaptation, no time to compare
        r["speedup"] = None if t_fea is None or r["k"] == 0 else t_fea / r["time_s"]
    maml = [r for r in records if r["family"] == family and r["method"] == "maml"
            and r["speedup"] is not None]
    if maml:
        good = [r for r in maml if r["rel_mse"] <= target]
        best = max(good, key=lambda r: r["speedup"]) if good else min(
            maml, key=lambda r: r["rel_mse"])
        summary[f"{family}_speedup"] = best["speedup"]
        summary[f"{family}_rel_mse"] = best["rel_mse"]
        summary[f"{family}_rel_mse_median"] = best["rel_mse_median"]
        summary[f"{family}_k"] = best["k"]
        summary[f"{family}_target_met"] = bool(good) and best["speedup"] >= 10
    rnd = [r for r in records if r["family"] == family and r["method"] == "random"]
    if rnd:
        summary[f"{family}_random_best_rel_mse"] = min(r["rel_mse"] for r in rnd)
    if fea:
        summary[f"{family}_fea_best_rel_mse"] = min(r["rel_mse"] for r in fea)
        summary[f"{family}_fea_fastest_s"] = min(r["time_s"] for r in fea)


def _baseline(records, family, method, resolution, tasks, xs, truths, solve_at, progress,
              **extra):
    """One record for a classical solver at one resolution. solve_at(task, x) -> (prediction
    at x, seconds of the solve); per task a warm-up solve (compiles), then the median of 3."""
    errs, times, compile_s = [], [], []
    for task, x, gt in zip(tasks, xs, truths, strict=True):
        _, warm = solve_at(task, x)
        runs = [solve_at(task, x) for _ in range(3)]
        times.append(statistics.median(r[1] for r in runs))
        compile_s.append(max(warm - times[-1], 0.0))
        errs.append(_error(runs[0][0], gt))
    records.append({"family": family, "method": method, "resolution": resolution, **extra,
                    "rel_mse": float(np.mean(errs)), "rel_mse_median": float(np.median(errs)),
                    "time_s": float(np.mean(times)), "compile_s": float(max(compile_s)),
                    "n_tasks": len(tasks)})
    _log(progress, f"{family} {method} {resolution}: {np.mean(errs):.2e} @ "
         f"{np.mean(times) * 1e3:.1f} ms")


def _poisson(quick, records, progress):
    """(family, held-out tasks, ground truths, evaluation points); appends the classical
    baselines' records to `records`."""
    from morphax.learners.meta_pde import PoissonFamily, PoissonFEA
    from morphax.physics import interpolate

    fam = PoissonFamily()
    tasks = fam.held_out(N_TASKS)
    xs = [fam.eval_points(t, N_EVAL, seed=i) for i, t in enumerate(tasks)]
    gt_fea = PoissonFEA(0.03 if quick else 0.02, 2)
    t = time.perf_counter()
    truths = []
    for task, x in zip(tasks, xs, strict=True):
        mesh, u, _ = gt_fea.solve(task)
        truths.append((interpolate(mesh, u, x)[:, 0],))
    _log(progress, f"poisson ground truth (P2, {gt_fea.n_nodes} nodes) in "
         f"{time.perf_counter() - t:.1f} s")
    for size in (0.5, 0.35, 0.25, 0.15, 0.1, 0.07, 0.05):
        fea = PoissonFEA(size, 1)

        def solve_at(task, x, fea=fea):
            mesh, u, seconds = fea.solve(task)
            return interpolate(mesh, u, x)[:, 0], seconds

        _baseline(records, "poisson", "fea", size, tasks, xs, truths, solve_at, progress,
                  order=1, n_nodes=fea.n_nodes)
    return fam, tasks, truths, xs


def _burgers(quick, records, progress):
    """(family, held-out tasks, ground truths, evaluation points); appends the classical
    baselines' records to `records`."""
    from morphax.learners.meta_pde import BurgersFamily

    fam = BurgersFamily()
    tasks = fam.held_out(N_TASKS)
    xs = [fam.eval_points(t, N_EVAL, seed=i) for i, t in enumerate(tasks)]
    n_gt = 512 if quick else 1024
    t = time.perf_counter()
    truths = [(task.solve_fd(n_gt, n_gt)(x),) for task, x in zip(tasks, xs, strict=True)]
    _log(progress, f"burgers ground truth ({n_gt} x {n_gt}) in {time.perf_counter() - t:.1f} s")
    for n in (16, 32, 64, 128, 256):
        def solve_at(task, x, n=n):
            sol = task.solve_fd(n, n)
            return sol(x), sol.seconds

        _baseline(records, "burgers", "fd", n, tasks, xs, truths, solve_at, progress)
    return fam, tasks, truths, xs


def _hyperelastic(quick, records, progress):
    """(family, held-out tasks, ground truths, evaluation points); appends the classical
    baselines' records to `records`."""
    from morphax.learners.meta_pde import HyperelasticFamily, HyperFEA, mirror_points
    from morphax.physics import interpolate

    fam = HyperelasticFamily()
    tasks = fam.held_out(N_TASKS)
    xs = [fam.eval_points(t, N_EVAL, seed=i) for i, t in enumerate(tasks)]
    flip = np.array([-1.0, 1.0])
    # P2 at h = 0.025 needs 8 load increments on the largest pores (Newton stalls at 77 % load
    # with 4); h = 0.03 with 8 is the full run's truth
    gt_fea = HyperFEA(0.04, order=2) if quick else HyperFEA(0.03, order=2, load_steps=8)
    t = time.perf_counter()
    truths = []
    for task, x in zip(tasks, xs, strict=True):
        mesh, u, _ = gt_fea.solve(task)
        truths.append((interpolate(mesh, u, x), interpolate(mesh, u, mirror_points(x)) * flip))
    _log(progress, f"hyperelastic ground truth (P2, h = {gt_fea.size}) in "
         f"{time.perf_counter() - t:.1f} s")
    for size in (0.2, 0.1, 0.05) if quick else (0.2, 0.1, 0.05, 0.035):
        fea, problems = HyperFEA(size, order=1), {}

        def solve_at(task, x, fea=fea, problems=problems):
            if task not in problems:      # meshing is not timed; a Problem compiles once
                problems[task] = fea.problem(task)
            mesh, u, seconds = fea.solve(task, problems[task])
            return interpolate(mesh, u, x), seconds

        _baseline(records, "hyperelastic", "fea", size, tasks, xs, truths, solve_at, progress,
                  order=1)
    return fam, tasks, truths, xs


def run(quick: bool, out: pathlib.Path, progress: bool) -> dict:
    records: list[dict] = []
    summary: dict = {}
    ks = [0, 1, 2, 5, 10, 20, 50] if quick else [0, 1, 2, 5, 10, 20, 50, 100, 200]
    for name, family in (("poisson", _poisson), ("burgers", _burgers),
                         ("hyperelastic", _hyperelastic)):
        t = time.perf_counter()
        fam, tasks, truths, xs = family(quick, records, progress)
        _learners(fam, tasks, truths, xs, ks, records, progress)
        _speedups(records, name, summary)
        summary[f"{name}_seconds"] = time.perf_counter() - t
    summary["note"] = ("times on a shared machine are noisy; FEA times are Newton solves on "
                       "compiled kernels, meshing untimed")
    return {"records": records, "summary": summary}


def table(records) -> str:
    """Markdown table of every learned record: error, time, FEA time at that error, speed-up."""
    def ms(t):
        return "-" if t is None else f"{t * 1e3:.1f}"

    rows = ["| family | method | k | rel. MSE (mean) | median | time (ms) | FEA time at that "
            "error (ms) | speed-up |", "|---|---|---|---|---|---|---|---|"]
    for r in records:
        if "k" not in r:
            continue
        speedup = "-" if r.get("speedup") is None else f"{r['speedup']:.3g}"
        rows.append(f"| {r['family']} | {r['method']} | {r['k']} | {r['rel_mse']:.2e} | "
                    f"{r['rel_mse_median']:.2e} | {ms(r['time_s'])} | "
                    f"{ms(r.get('fea_time_same_accuracy_s'))} | {speedup} |")
    return "\n".join(rows) + "\n"


#: method -> (label, matplotlib format), the same in every panel
STYLES = {"fea": ("FEA", "o-C0"), "fd": ("finite differences", "o-C0"),
          "maml": ("Meta-PDE MAML", "s--C1"), "leap": ("Meta-PDE LEAP", "^--C2"),
          "random": ("random init + Adam", "v:C3")}


def plot(records, out: pathlib.Path) -> pathlib.Path:
    """Error vs time per family, each line in record order: the classical solver from coarse to
    fine, the learned methods from k = 1 on (k = 0, the init itself, has no adaptation time)."""
    from morphax._core import new_figure, save_figure

    families = [f for f in ("poisson", "burgers", "hyperelastic")
                if any(r["family"] == f for r in records)]
    fig = new_figure(5.5 * len(families), 4.2)
    axes = fig.subplots(1, len(families), squeeze=False)
    for ax, fam in zip(axes[0], families, strict=True):
        for method, (label, fmt) in STYLES.items():
            rs = [r for r in records if r["family"] == fam and r["method"] == method
                  and r.get("k", 1) > 0]
            if not rs:
                continue
            ax.loglog([r["time_s"] for r in rs], [r["rel_mse"] for r in rs], fmt, label=label)
        ax.axhline(1e-2, color="gray", lw=0.8, ls=":")
        ax.set_title(fam)
        ax.set_xlabel("wall time per task (s)")
        ax.set_ylabel("relative MSE (mean over tasks)")
        ax.legend(fontsize=8)
    return save_figure(fig, out / "meta_pde.png")
