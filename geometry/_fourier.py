"""Periodic trigonometric interpolation of pore radii sampled at evenly spaced angles.

A pore is described by N radii r_j at the angles theta_j = 2 pi j / N (counter-clockwise from
+x). Its boundary is the real trigonometric interpolant through them,

    r(theta) = a_0 + sum_{k=1}^{ceil(N/2)-1} (a_k cos k theta + b_k sin k theta)
               [+ a_{N/2} cos(N theta / 2) when N is even],

which is smooth (C-infinity) in theta and *linear* in the radii, so node coordinates built from
it are smooth functions of the radii. It reproduces the Bertoldi/Overvelde form
r0 (1 + c1 cos 4 theta + c2 cos 8 theta) exactly from its 16 samples.
"""

from __future__ import annotations

import numpy as np

from ._star import StarDomain


def sample_angles(n: int) -> np.ndarray:
    """The N angles 2 pi j / N, j = 0..N-1 (radians), at which radii are given."""
    return 2.0 * np.pi * np.arange(n) / n


def interpolation_matrix(theta, n: int) -> np.ndarray:
    """W (m, N) with r(theta_i) = W[i] @ radii for the interpolant through N samples."""
    theta = np.asarray(theta, dtype=float).reshape(-1)
    diff = theta[:, None] - sample_angles(n)[None, :]
    w = np.full(diff.shape, 1.0 / n)
    for k in range(1, (n + 1) // 2):
        w += (2.0 / n) * np.cos(k * diff)
    if n % 2 == 0:
        half = n // 2
        w += (1.0 / n) * np.cos(half * theta)[:, None] * np.cos(half * sample_angles(n))[None, :]
    return w


def derivative_matrix(theta, n: int) -> np.ndarray:
    """D (m, N) with r'(theta_i) = D[i] @ radii (derivative of the interpolant in theta)."""
    theta = np.asarray(theta, dtype=float).reshape(-1)
    diff = theta[:, None] - sample_angles(n)[None, :]
    d = np.zeros(diff.shape)
    for k in range(1, (n + 1) // 2):
        d -= (2.0 * k / n) * np.sin(k * diff)
    if n % 2 == 0:
        half = n // 2
        d -= (half / n) * np.sin(half * theta)[:, None] * np.cos(half * sample_angles(n))[None, :]
    return d


def mean_square(radii) -> np.ndarray:
    """(1 / 2 pi) * integral of r(theta)^2 over a turn, for radii (..., N) (Parseval)."""
    r = np.asarray(radii, dtype=float)
    n = r.shape[-1]
    c = np.fft.rfft(r, axis=-1) / n
    ms = np.abs(c[..., 0]) ** 2 + 2.0 * np.sum(np.abs(c[..., 1:(n + 1) // 2]) ** 2, axis=-1)
    if n % 2 == 0:
        ms = ms + 0.5 * np.abs(c[..., n // 2]) ** 2  # a cos(N theta / 2) has mean square a^2/2
    return ms


def bertoldi_radii(r0, c1, c2, n: int = 16):
    """Samples of r(theta) = r0 (1 + c1 cos 4 theta + c2 cos 8 theta) at the N angles.

    Works on NumPy and JAX values (gradients flow to r0, c1, c2). Bertoldi et al. (2010),
    Overvelde & Bertoldi (2014); radii are fractions of the half cell size.
    """
    return r0 * StarDomain.radius_of(sample_angles(n), c1, c2)
