"""`morphax bench scale`: throughput against the number of devices (1, 2, 4) for a batch of
independent solves (`morphax.physics.solve_batch`, direct and Newton-Krylov) and one
data-parallel training step of NMA (`ParallelTrainer`) and Meta-PDE (`meta_train(devices=)`).

Two layouts, each in fresh worker processes (the device count is fixed when JAX starts):
"processes": N processes with one CPU device each, joined by `jax.distributed` on loopback
(one process per device, as on a cluster: each process runs its own host solves);
"virtual": one process with 4 virtual CPU devices (XLA_FLAGS), meshes of the first N.
Every run does the same work, so `max_result_dev` is the largest deviation of any result
(solutions, trained parameters) from the 1-device run of its layout. Ratios are throughputs
relative to 1 device; the headline ratios are the "processes" layout's (on 2 cores the ideal
2-device ratio is 2); the training ratio is the smaller of NMA's and Meta-PDE's. A CPU device
is one core here: the workers run XLA and BLAS single-threaded (`ONE_CORE`), and each worker of
the "processes" layout is pinned to its own core.
"""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys
import time

import numpy as np

from morphax._core import SolverError, new_figure, save_figure

DEVICES = (1, 2, 4)
#: a CPU device is one core: XLA's operations single-threaded (else one device's matrix
#: products already spread over every core and a 1-device baseline is the whole machine)
ONE_CORE = "--xla_cpu_multi_thread_eigen=false"
#: workload sizes: solve mesh (n x n quads split in triangles) and batch, NMA batch, Meta-PDE
#: task batch and network, timed repetitions
SIZES = {True: dict(mesh=24, solves=16, nma_batch=8, tasks=8, width=32, depth=2, inner=1,
                    repeats=7, krylov=False, processes=(1, 2)),
         False: dict(mesh=40, solves=16, nma_batch=8, tasks=8, width=64, depth=3, inner=5,
                     repeats=3, krylov=True, processes=DEVICES)}


# ----- the worker (a fresh process; JAX configured by its environment) -----------------------
def _timed(fn, repeats):
    """(compile + first call seconds, median seconds of `repeats` further calls, last result)."""
    t = time.perf_counter()
    out = fn()
    first = time.perf_counter() - t
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return first, float(np.median(times)), out


def _worker(layout: str, quick: bool, out: str) -> None:
    from morphax._core.parallel import batch_mesh, initialize_distributed

    pid, _ = initialize_distributed()
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    from morphax.learners import meta_pde, nma
    from morphax.learners.nma._parallel import ParallelTrainer
    from morphax.physics import Dirichlet, NeoHookean, Problem, rectangle, solve_batch

    size = SIZES[quick]
    counts = DEVICES if layout == "virtual" else (jax.device_count(),)
    records, arrays = [], {}

    # a batch of independent solves: a neo-Hookean block stretched by different amounts
    prob = Problem(rectangle(size["mesh"], size["mesh"]), NeoHookean.from_young(1.0, 0.3),
                   dirichlet=[Dirichlet("left", 0.0), Dirichlet("right", [0.1, 0.0])])
    p0 = prob.params()
    pulls = np.linspace(0.02, 0.2, size["solves"])
    params = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (len(pulls), *x.shape)), p0)
    right = np.zeros((len(pulls), *p0["dirichlet"][1].shape))
    right[..., 0], right[..., 1] = pulls[:, None], 0.02 * pulls[:, None]
    params["dirichlet"] = (params["dirichlet"][0], jnp.asarray(right))
    fam = meta_pde.PoissonFamily()
    init = meta_pde.new_init(fam, "maml", key=jax.random.key(0), width=size["width"],
                             depth=size["depth"], inner_steps=size["inner"], rates="exp")
    cfg = nma.preset("translation", batch=size["nma_batch"], n_eval=2)
    system = nma.NMASystem(cfg)
    methods = ("direct", "krylov") if size["krylov"] else ("direct",)
    for n in counts:
        mesh = batch_mesh(n)
        rec = {"layout": layout, "devices": n}
        for method in methods:
            first, dt, sol = _timed(lambda m=method, d=mesh: jax.block_until_ready(
                solve_batch(prob, params, devices=d, method=m)), size["repeats"])
            if not bool(np.all(np.asarray(sol.converged))):
                raise SolverError(f"scale bench: a {method} solve of the batch did not converge")
            rec[f"solve_{method}_per_s"] = len(pulls) / dt
            rec[f"solve_{method}_first_s"] = first
            arrays[f"{n}/solve_{method}"] = np.asarray(sol.u)
        # Meta-PDE: outer steps with the task batch sharded over the devices
        mcfg = meta_pde.MetaTrainConfig(steps=1, task_batch=size["tasks"], first_order=True)
        first, dt, (trained, _) = _timed(lambda c=mcfg, m=mesh: meta_pde.meta_train(
            fam, init, c, key=jax.random.key(1), devices=m), size["repeats"])
        rec["meta_pde_tasks_per_s"], rec["meta_pde_first_s"] = size["tasks"] / dt, first
        for i, leaf in enumerate(jax.tree_util.tree_leaves(eqx.filter(trained,
                                                                      eqx.is_inexact_array))):
            arrays[f"{n}/meta_pde_{i}"] = np.asarray(leaf)
        # NMA: training iterations with the batch of targets sharded over the devices
        trainer = ParallelTrainer(cfg, devices=mesh, system=system)
        first, dt, _ = _timed(trainer.step, size["repeats"])
        rec["nma_targets_per_s"], rec["nma_first_s"] = size["nma_batch"] / dt, first
        for i, leaf in enumerate(jax.tree_util.tree_leaves(trainer.state.model)):
            arrays[f"{n}/nma_{i}"] = np.asarray(leaf)
        records.append(rec)
        if pid == 0:
            print(f"scale [{layout}] {n} device(s): {rec}", file=sys.stderr, flush=True)
    if pid == 0:
        np.savez(out, records=np.frombuffer(json.dumps(records).encode(), np.uint8), **arrays)


# ----- the parent -------------------------------------------------------------------------------
def _env(**extra) -> dict:
    import jax

    env = {k: v for k, v in os.environ.items() if not k.startswith(("XLA_FLAGS", "MORPHAX_"))}
    # one BLAS thread per process: a device's solves use one core (CHOLMOD's BLAS would
    # otherwise spread one device's factorizations over every core)
    return {**env, "JAX_ENABLE_X64": "1" if jax.config.jax_enable_x64 else "0",
            "JAX_PLATFORMS": "cpu", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", **extra}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pin(i: int):
    """A preexec_fn that binds worker i to one core (i modulo the cores this process may use):
    a CPU device is then one core, the 1-device baseline included (XLA would otherwise run
    independent operations of one device on every core). None where the OS cannot (macOS)."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cores = sorted(os.sched_getaffinity(0))
    return lambda: os.sched_setaffinity(0, {cores[i % len(cores)]})


def _launch(layout: str, n: int, quick: bool, out: pathlib.Path) -> pathlib.Path:
    result = out / f".scale-{layout}-{n}.npz"
    command = [sys.executable, "-m", "morphax.bench.scale", layout, str(int(quick)), str(result)]
    if layout == "virtual":
        envs = [_env(XLA_FLAGS=f"{ONE_CORE} --xla_force_host_platform_device_count={max(DEVICES)}")]
    else:
        port = _free_port()
        envs = [_env(XLA_FLAGS=ONE_CORE, MORPHAX_NUM_PROCESSES=str(n), MORPHAX_PROCESS_ID=str(i),
                     MORPHAX_COORDINATOR=f"127.0.0.1:{port}") for i in range(n)]
    procs = [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, preexec_fn=_pin(i) if layout == "processes" else None)
             for i, env in enumerate(envs)]
    errors = []
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode:
            errors.append(err.strip().splitlines()[-1] if err.strip() else "no message")
        else:
            sys.stderr.write("".join(line + "\n" for line in err.splitlines()
                                     if line.startswith("scale [")))
    if errors:
        raise SolverError(f"scale bench worker ({layout}, {n} device(s)) failed: {errors[0]}")
    return result


def run(quick: bool, out: pathlib.Path, progress: bool) -> dict:
    records, arrays = [], {}
    jobs = [("processes", n) for n in SIZES[quick]["processes"]] + [("virtual", max(DEVICES))]
    for layout, n in jobs:
        if progress:
            print(f"scale: {layout}, {n} device(s)...", file=sys.stderr, flush=True)
        path = _launch(layout, n, quick, out)
        with np.load(path) as z:
            recs = json.loads(z["records"].tobytes().decode())
            for key in z.files:
                if key != "records":
                    arrays[(layout, *key.split("/", 1))] = z[key]
        path.unlink()
        records += recs
    for rec in records:
        layout = rec["layout"]
        ref = {k[2]: v for k, v in arrays.items() if k[0] == layout and k[1] == "1"}
        mine = {k[2]: v for k, v in arrays.items()
                if k[0] == layout and k[1] == str(rec["devices"])}
        rec["result_dev"] = max([float(np.max(np.abs(v - ref[k]))) for k, v in mine.items()
                                 if v.size] or [0.0])
        base = next(r for r in records if r["layout"] == layout and r["devices"] == 1)
        for key in [k for k in rec if k.endswith("_per_s")]:
            rec[key.replace("_per_s", "_ratio")] = rec[key] / base[key]
    return {"records": records, "summary": _summary(records)}


def _summary(records) -> dict:
    def ratio(layout, key, n=2):
        rec = next(r for r in records if r["layout"] == layout and r["devices"] == n)
        return rec[key]

    out = {"devices": list(DEVICES), "layout": "processes (one CPU device per process)",
           "solve_throughput_ratio_2v1": ratio("processes", "solve_direct_ratio"),
           "train_throughput_ratio_2v1": min(ratio("processes", "meta_pde_tasks_ratio"),
                                             ratio("processes", "nma_targets_ratio")),
           "max_result_dev": max(r["result_dev"] for r in records)}
    for layout in ("processes", "virtual"):
        for key in ("solve_direct", "solve_krylov", "meta_pde_tasks", "nma_targets"):
            for n in (2, 4):
                if any(r["layout"] == layout and r["devices"] == n and f"{key}_ratio" in r
                       for r in records):
                    out[f"{layout}_{key}_ratio_{n}v1"] = ratio(layout, f"{key}_ratio", n)
    out["load_average_1min"] = os.getloadavg()[0]
    return out


def table(records) -> str:
    keys = sorted({k for r in records for k in r if k.endswith("_per_s")})
    lines = ["| layout | devices | " + " | ".join(keys) + " | result dev |",
             "|---|---|" + "---|" * (len(keys) + 1)]
    for r in records:
        lines.append(f"| {r['layout']} | {r['devices']} | "
                     + " | ".join(f"{r[k]:.3g} ({r[k.replace('_per_s', '_ratio')]:.2f}x)"
                                  if k in r else "-" for k in keys) + f" | {r['result_dev']:.1e} |")
    return "\n".join(lines) + "\n"


def plot(records, out: pathlib.Path) -> pathlib.Path:
    fig = new_figure(6.5, 4.0)
    ax = fig.add_subplot(1, 1, 1)
    keys = sorted({k for r in records for k in r if k.endswith("_ratio")})
    for layout, style in (("processes", "-o"), ("virtual", "--s")):
        rows = [r for r in records if r["layout"] == layout]
        for key in keys:
            ax.plot([r["devices"] for r in rows], [r.get(key, np.nan) for r in rows], style,
                    label=f"{key[:-6]} ({layout})")
    ax.plot(DEVICES, DEVICES, ":", color="grey", label="ideal")
    ax.set_xlabel("devices")
    ax.set_ylabel("throughput / 1 device")
    ax.legend(fontsize=7)
    return save_figure(fig, pathlib.Path(out) / "scale.png")


if __name__ == "__main__":
    _worker(sys.argv[1], bool(int(sys.argv[2])), sys.argv[3])
