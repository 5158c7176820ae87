"""Scale-out (issue 18): batched solves and data-parallel training give the one-device results on
4 virtual CPU devices (XLA_FLAGS, set before JAX starts: subprocesses) and on 2 processes joined
by jax.distributed on loopback; the gradient all-reduce equals the full-batch gradient; the
device-side Newton-Krylov solve agrees with the direct solve, gradients included."""

import json
import os
import socket
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morphax.physics import Dirichlet, NeoHookean, Problem, newton_krylov, rectangle, solve

TOL = 1e-10

COMMON = r"""
import json, sys
import jax, jax.numpy as jnp, numpy as np, optax, equinox as eqx
from morphax._core.parallel import batch_mesh, fetch, put, initialize_distributed
pid, nproc = initialize_distributed()
from morphax.physics import Dirichlet, NeoHookean, Problem, rectangle, solve, solve_batch
from morphax.learners.rad import RadMLP, make_parallel_step, nll_loss
P = jax.sharding.PartitionSpec
local1 = batch_mesh([jax.local_devices()[0]])

prob = Problem(rectangle(5, 5), NeoHookean.from_young(1.0, 0.3),
               dirichlet=[Dirichlet("left", 0.0), Dirichlet("right", [0.1, 0.0])])
p0 = prob.params()
def pull(v):
    d = jnp.broadcast_to(jnp.stack([v, 0.05 * v]), p0["dirichlet"][1].shape)
    return {**p0, "dirichlet": (p0["dirichlet"][0], d)}
vals = jnp.linspace(0.02, 0.12, 4)
w = jnp.asarray(np.random.default_rng(0).normal(size=(prob.mesh.n_nodes, 2)))
def ref_solves():
    return np.stack([np.asarray(solve(prob, pull(v)).u) for v in vals])
def ref_grad():
    return jax.grad(lambda vs: sum(jnp.sum(solve(prob, pull(vs[i])).u * w) for i in range(4)))(vals)
def batched(vs, mesh):
    return solve_batch(prob, jax.vmap(pull)(vs), devices=mesh)

# RAD: one data-parallel SGD step (lr 1) gives params - grad: the pmean'd gradient
x = jnp.asarray(np.random.default_rng(1).normal(size=(32, 8)))
y = jnp.asarray(np.arange(32) % 3)
model = RadMLP((8, 16, 3), keep=0.5, dtype=jnp.float64, key=jax.random.key(0))
params, static = eqx.partition(model, eqx.is_array)
tx = optax.sgd(1.0)
key = jax.random.key(3)
def rad_step(mesh):
    step = make_parallel_step(static, tx, batch=8, mesh=mesh)
    args = put((params, tx.init(params), jax.random.key_data(key), x, y), mesh, P())
    return fetch(step(*args))
def full_batch_grad():   # the same minibatch and per-example keys, on one device, no shard_map
    k_batch, k_rad = jax.random.split(key)
    idx = jax.random.randint(k_batch, (8,), 0, 32)
    keys = jax.random.split(k_rad, 8)
    def loss(p):
        m = eqx.combine(p, static)
        return jnp.mean(jax.vmap(lambda a, b, k: nll_loss(m, a[None], b[None], key=k))(
            x[idx], y[idx], keys))
    return jax.jit(jax.grad(loss))(params)
def dev(a, b):
    return max(float(np.max(np.abs(np.asarray(u) - np.asarray(v)), initial=0.0))
               for u, v in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b),
                               strict=True))
"""

VIRTUAL = COMMON + r"""
out = {"devices": len(jax.devices())}
ref_u = ref_solves()
for n in (2, 4):
    sol = batched(vals, batch_mesh(n))
    out[f"solve_dev_{n}"] = dev(sol.u, ref_u)
    out[f"converged_{n}"] = bool(np.all(np.asarray(sol.converged)))
ref_g = ref_grad()
out["grad_dev_4"] = dev(jax.grad(lambda vs: jnp.sum(batched(vs, batch_mesh(4)).u * w[None]))(vals),
                        ref_g)
out["grad_scale"] = float(np.abs(ref_g).max())
one = rad_step(batch_mesh(1))
new4 = rad_step(batch_mesh(4))
out["rad_dev_4"] = dev(new4, one)
g = full_batch_grad()
out["rad_allreduce_dev"] = dev(jax.tree_util.tree_map(lambda a, b: a - b, params, new4[0]), g)
out["rad_grad_scale"] = max(float(np.abs(np.asarray(a)).max()) for a in jax.tree_util.tree_leaves(g))
print(json.dumps(out))
"""

PROCESSES = COMMON + r"""
world = batch_mesh()          # one device per process
out = {"processes": nproc, "devices": len(jax.devices()), "local": len(jax.local_devices())}
sol = batched(vals, world)
out["converged"] = bool(np.all(np.asarray(sol.converged)))
out["solve_dev"] = dev(sol.u, batched(vals, local1).u)
both = rad_step(world)
out["rad_dev"] = dev(both, rad_step(local1))
out["rad_allreduce_dev"] = dev(jax.tree_util.tree_map(lambda a, b: a - b, params, both[0]),
                               full_batch_grad())
print(json.dumps(out) if pid == 0 else "")
"""


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XLA_FLAGS", "MORPHAX_"))}
    return {**env, "JAX_ENABLE_X64": "1", "JAX_PLATFORMS": "cpu", **extra}


def _last_json(text):
    return json.loads([line for line in text.splitlines() if line.startswith("{")][-1])


def _on_four_virtual_devices(script: str, timeout: int) -> dict:
    """The last JSON line `script` prints, run in a fresh Python with 4 virtual CPU devices."""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=timeout,
                          env=_env(XLA_FLAGS="--xla_force_host_platform_device_count=4"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return _last_json(proc.stdout)


@pytest.mark.slow
def test_four_virtual_devices_match_one_device():
    out = _on_four_virtual_devices(VIRTUAL, timeout=600)
    assert out["devices"] == 4
    for n in (2, 4):
        assert out[f"converged_{n}"]
        assert out[f"solve_dev_{n}"] <= TOL, out
    assert out["grad_scale"] > 0.1 and out["grad_dev_4"] <= TOL * out["grad_scale"], out
    assert out["rad_dev_4"] <= TOL, out
    assert out["rad_grad_scale"] > 1e-3 and out["rad_allreduce_dev"] <= TOL, out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_on_loopback_match_one_device():
    port = _free_port()
    procs = [subprocess.Popen(
        [sys.executable, "-c", PROCESSES], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=_env(MORPHAX_NUM_PROCESSES="2", MORPHAX_PROCESS_ID=str(i),
                            MORPHAX_COORDINATOR=f"127.0.0.1:{port}")) for i in range(2)]
    try:
        results = [p.communicate(timeout=600) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (_, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err[-3000:]
    out = _last_json(results[0][0])
    assert out["processes"] == 2 and out["devices"] == 2 and out["local"] == 1
    assert out["converged"] and out["solve_dev"] <= TOL, out
    assert out["rad_dev"] <= TOL and out["rad_allreduce_dev"] <= TOL, out


def _pull_problem():
    return Problem(rectangle(4, 4), NeoHookean.from_young(1.0, 0.3),
                   dirichlet=[Dirichlet("left", 0.0), Dirichlet("right", [0.08, 0.02])])


@pytest.mark.slow   # ~15 s of CPU, mostly compiling the Krylov solve and its adjoint
def test_newton_krylov_matches_the_direct_solve_and_its_gradient():
    prob = _pull_problem()
    p = prob.params()
    w = jnp.asarray(np.random.default_rng(2).normal(size=(prob.mesh.n_nodes, 2)))

    def loss(fn, scale):   # scales the prescribed displacement of the right side
        q = {**p, "dirichlet": (p["dirichlet"][0], p["dirichlet"][1] * scale)}
        return jnp.sum(fn(prob, q).u * w)

    direct, g_direct = jax.value_and_grad(lambda s: loss(solve, s))(jnp.asarray(1.3))
    krylov, g_krylov = jax.jit(jax.value_and_grad(lambda s: loss(newton_krylov, s)))(
        jnp.asarray(1.3))
    # both solves stop at |R| <= 1e-10 of the force scale: agreement to ~1e-11 in u
    np.testing.assert_allclose(float(krylov), float(direct), rtol=0, atol=1e-9)
    assert abs(float(g_direct)) > 1e-3
    np.testing.assert_allclose(float(g_krylov), float(g_direct), rtol=1e-7)


@pytest.mark.slow
def test_newton_krylov_reports_failure_and_bad_options():
    prob = _pull_problem()
    sol = newton_krylov(prob, max_iterations=1, rtol=1e-14)   # one Newton step cannot reach it
    assert not bool(sol.converged) and np.isnan(np.asarray(sol.u)).any()
    with pytest.raises(Exception, match="krylov must be"):
        newton_krylov(prob, krylov="lu")


TRAINING = r"""
import json
import jax, jax.numpy as jnp, numpy as np, equinox as eqx
from morphax.learners.meta_pde import MetaTrainConfig, PoissonFamily, meta_train, new_init
from morphax.learners.nma import NMASystem, Trainer, preset
from morphax.learners.nma._parallel import ParallelTrainer
def dev(a, b):
    return max(float(np.max(np.abs(np.asarray(u) - np.asarray(v)), initial=0.0))
               for u, v in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b),
                               strict=True))
out = {}
fam = PoissonFamily(n_domain=32, n_boundary=16)
cfg = MetaTrainConfig(steps=2, task_batch=8, first_order=True)   # 2 tasks per device
for method in ("maml", "leap"):
    init = new_init(fam, method, key=jax.random.key(0), inner_steps=1, width=16, depth=2)
    one, h1 = meta_train(fam, init, cfg, key=jax.random.key(7))
    four, h4 = meta_train(fam, init, cfg, key=jax.random.key(7), devices=4)
    out[method] = dev(eqx.filter(one, eqx.is_inexact_array), eqx.filter(four, eqx.is_inexact_array))
    out[method + "_moved"] = dev(eqx.filter(one, eqx.is_inexact_array),
                                 eqx.filter(init, eqx.is_inexact_array))
    out[method + "_loss"] = max(abs(a[1] - b[1]) for a, b in zip(h1, h4))
ncfg = preset("translation", iterations=2, batch=4, n_eval=2)
system = NMASystem(ncfg)
seq, par = Trainer(ncfg, system=system), ParallelTrainer(ncfg, system=system, devices=4)
for _ in range(2):
    seq.step(), par.step()
out["nma"] = dev(seq.state.model, par.state.model)
out["nma_moved"] = dev(seq.state.model, Trainer(ncfg, system=system).state.model)
out["nma_loss"] = max(abs(a["loss"] - b["loss"]) for a, b in zip(seq.state.history,
                                                                 par.state.history))
print(json.dumps(out))
"""


@pytest.mark.slow
def test_meta_pde_and_nma_training_on_four_devices_match_one_device():
    out = _on_four_virtual_devices(TRAINING, timeout=1800)
    for name in ("maml", "leap", "nma"):
        assert out[f"{name}_moved"] > 1e-6, out          # training changed the parameters
        assert out[name] <= TOL and out[f"{name}_loss"] <= TOL, out


@pytest.mark.slow
def test_bench_scale_quick(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "morphax", "bench", "scale", "--quick", "--json",
                           "-", "--out", str(tmp_path)], capture_output=True, text=True,
                          timeout=3600, env=_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = _last_json(proc.stdout)["summary"]
    assert summary["devices"] == [1, 2, 4]
    assert summary["max_result_dev"] <= TOL
    assert summary["solve_throughput_ratio_2v1"] > 0 and summary["train_throughput_ratio_2v1"] > 0
    assert (tmp_path / "scale.png").exists() and (tmp_path / "scale.md").exists()
