"""Memory accounting of the RAD backward pass, checked against JAX's own reports and the
paper's Table 1 (RAD paper, Sec. 6)."""

import contextlib
import io
import math
import re

import equinox as eqx
import jax
import jax.ad_checkpoint
import jax.numpy as jnp
import numpy as np
import pytest

from morphax.learners.rad import (
    RadIRNN,
    RadMLP,
    nll_loss,
    pytree_bytes,
    rd_loss_rad,
    rd_stored_values_per_step,
    relu_bits,
    saved_residuals,
    table1_memory_bytes,
)
from morphax.physics import ReactionDiffusion

F32 = jnp.float32
#: Table 1, "Fully connected" row (MB, batch 150, including weights).
TABLE1_FC = {1.0: 2.69, 0.8: 2.51, 0.5: 2.21, 0.3: 2.00, 0.1: 1.80, 0.05: 1.75}
_ITEMSIZE = {"f32": 4, "f64": 8, "i32": 4, "i64": 8, "u8": 1, "u32": 4, "bool": 1,
             "key<fry>": 8}


def _fc(keep, mode="per_example", batch=150):
    kx, km = jax.random.split(jax.random.key(0))
    x = jax.random.uniform(kx, (batch, 784), F32)
    y = jnp.arange(batch) % 10
    params, static = eqx.partition(RadMLP(keep=keep, mode=mode, key=km), eqx.is_array)
    return (lambda p: nll_loss(eqx.combine(p, static), x, y, key=jax.random.key(1))), params


def _printed_bytes(fn, *args):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        jax.ad_checkpoint.print_saved_residuals(fn, *args)
    total = 0
    for line in buf.getvalue().splitlines():
        m = re.match(r"(\S+?)\[([\d,]*)\]", line)
        assert m, line
        shape = [int(s) for s in m.group(2).split(",") if s]
        total += _ITEMSIZE[m.group(1)] * math.prod(shape)
    return total


@pytest.mark.parametrize("keep,mode", [(1.0, "per_example"), (0.1, "per_example"),
                                       (0.1, "same"), (0.1, "project")])
def test_accounting_agrees_with_jax_print_saved_residuals(keep, mode):
    fn, params = _fc(keep, mode)
    assert saved_residuals(fn, params).total_bytes == _printed_bytes(fn, params)


def test_accounting_agrees_with_the_compiled_memory_analysis():
    # The compiled VJP-forward returns exactly the residuals; XLA adds an 8-byte tuple-table
    # entry per output buffer.
    for keep in (1.0, 0.1):
        fn, params = _fc(keep)
        report = saved_residuals(fn, params)
        stats = jax.jit(lambda p, fn=fn: jax.vjp(fn, p)[1]).lower(params).compile()
        out = stats.memory_analysis().output_size_in_bytes
        assert 0 <= out - report.total_bytes <= 8 * (len(report.residuals) + 2)


def test_fully_connected_memory_reproduces_table_1():
    fn, params = _fc(1.0)
    weights = pytree_bytes(params)
    assert weights == 4 * 419110  # 784*300 + 2*300*300 + 300*10 weights, plus biases
    for keep, paper_mb in TABLE1_FC.items():
        fn, params = _fc(keep)
        measured = weights + saved_residuals(fn, params).created_bytes
        formula = table1_memory_bytes(419110, 150 * (784 + 300 + 300 + 300), 150 * 900, keep,
                                      relu_bits=keep < 1)
        assert measured / 1e6 == pytest.approx(paper_mb, rel=0.05), keep
        # what JAX keeps beyond the hand count: the output layer's softmax and labels
        # (150 * (10 + 1 + 1) * 4 B), 8 B keys, and k = round(keep * d) rounding
        assert measured == pytest.approx(formula, rel=0.01), keep


def test_relu_mask_is_stored_as_bits():
    x = jnp.linspace(-1.0, 1.0, 1001, dtype=F32)
    report = saved_residuals(lambda v: jnp.sum(relu_bits(v)), x)
    assert report.created_bytes == math.ceil(1001 / 8)
    g = jax.grad(lambda v: jnp.sum(relu_bits(v) * v))(x)
    np.testing.assert_array_equal(g, jax.grad(lambda v: jnp.sum(jax.nn.relu(v) * v))(x))


def test_pde_backward_stores_t_times_k_floats():
    p = ReactionDiffusion(horizon=0.05)  # 205 steps
    theta = ReactionDiffusion.initial_theta(key=jax.random.key(0), dtype=F32)
    stored = {}
    for keep in (1.0, 0.1, 0.01, 0.001):
        report = saved_residuals(
            lambda t, keep=keep: rd_loss_rad(p, t, keep=keep, key=jax.random.key(2)), theta)
        k = rd_stored_values_per_step(p, keep)
        assert report.created_bytes == p.num_steps * k * 4 + 8  # + the 8-byte key
        stored[keep] = report.created_bytes
    assert rd_stored_values_per_step(p, 0.01) == 11 and rd_stored_values_per_step(p, 0.001) == 1
    assert stored[0.01] / stored[1.0] < 0.011  # > 98.9% saved


def test_irnn_stores_a_sample_of_every_hidden_state():
    x = jax.random.uniform(jax.random.key(0), (150, 49, 1), F32)
    y = jnp.arange(150) % 10
    created = {}
    for keep in (1.0, 0.1):
        params, static = eqx.partition(RadIRNN(keep=keep, key=jax.random.key(1)), eqx.is_array)
        created[keep] = saved_residuals(
            lambda p, s=static: nll_loss(eqx.combine(p, s), x, y, key=jax.random.key(2)),
            params).created_bytes
    # per step: hidden input (150 x 100 floats, or 150 x 10 at keep 0.1) and the mask bits
    assert created[1.0] - created[0.1] == 49 * 150 * 90 * 4 + 150 * 90 * 4
