"""Printability of each pore of a cellular-solid design for a nozzle printer (FDM): the
narrowest neck of the pore itself, the tightest bend of its boundary, its walls to the
neighbouring pores and to the free boundary, and the cell warp. `print_check` measures them
on the exact (warped) curves and names the cells that break a rule; `PrintPenalty` is the
smooth penalty that keeps a design inside the rules while it is optimised.

Rules from the printer settings (`PrintRules`): a pore neck (two points of one pore boundary
closer than a third of their distance along it, the definition of
`morphax.fabrication`'s print report) must be at least one nozzle width wide, or the nozzle
cannot leave the gap open; the radius of curvature of a pore boundary must be at least half a
nozzle width (the radius of the extruded bead), or the corner is rounded off; walls must be at
least `Constraints.min_ligament`. The layer height enters through the part thickness only
(a 2-D part is printed flat), so it is checked there: the thickness should be a whole number
of layers.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from morphax._core import InputError

from ._fourier import interpolation_matrix, sample_angles
from ._manufacture import MIN_CELL_JACOBIAN, free_segments
from ._warp import corner_jacobians, warp_points

NECK_ARC_FACTOR = 3.0   # a neck: chord < arc length / 3 (as in the fabrication print report)
_CHECK_POINTS = 256     # samples per pore curve in `print_check`
_PENALTY_POINTS = 64    # samples per pore curve in `PrintPenalty`
SMOOTH_MARGIN = 1.05    # `smooth_pores` aims 5% inside the rules (sampling differences)
WALL_MARGIN = 1.02      # `thicken_walls` aims 2% inside the wall rule


@dataclasses.dataclass(frozen=True)
class PrintRules:
    """Printer settings (mm): nozzle width and layer height. min_neck: the narrowest pore neck
    (one nozzle width); min_bend: the smallest radius of curvature of a pore boundary (half a
    nozzle width)."""

    nozzle: float = 0.4
    layer: float = 0.2

    def __post_init__(self):
        for name in ("nozzle", "layer"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not (
                    math.isfinite(v) and v > 0):
                raise InputError(f"{name} must be a finite positive length in mm, got {v!r}")

    @property
    def min_neck(self) -> float:
        return float(self.nozzle)

    @property
    def min_bend(self) -> float:
        return 0.5 * float(self.nozzle)

    def thickness_note(self, thickness: float) -> str | None:
        """A warning when `thickness` is not a whole number of layers (None otherwise)."""
        n = thickness / self.layer
        if abs(n - round(n)) > 1e-6:
            return (f"thickness {thickness} mm is not a whole number of {self.layer} mm layers "
                    f"({n:.2f}); the printed part will be {round(n) * self.layer:.3f} mm thick")
        return None


@dataclasses.dataclass(frozen=True)
class PoreCheck:
    """Printability of one pore: neck (mm, inf without a neck) and where, the smallest radius
    of curvature of its boundary (mm), its thinnest wall (mm) and what is violated."""

    pore: str
    cell: tuple[int, int]
    neck: float
    neck_points: list | None
    min_bend: float
    wall: float
    violations: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"pore": self.pore, "cell": list(self.cell), "neck_mm": _num(self.neck),
                "neck_at_mm": self.neck_points, "min_bend_radius_mm": _num(self.min_bend),
                "wall_mm": _num(self.wall), "violations": list(self.violations)}


def _num(v):
    return None if not np.isfinite(v) else float(v)


def curve_neck(xy: np.ndarray, arc_factor: float = NECK_ARC_FACTOR):
    """(width, (2, 2) points) of the narrowest neck of a closed curve (k, 2): the closest pair
    of points whose distance along the curve exceeds arc_factor times their distance;
    (inf, None) when there is none."""
    seg = np.linalg.norm(np.roll(xy, -1, axis=0) - xy, axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)[:-1]])
    total = seg.sum()
    d = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    along = np.abs(arc[:, None] - arc[None])
    along = np.minimum(along, total - along)
    neck = along > arc_factor * np.maximum(d, 1e-300)
    if not neck.any():
        return math.inf, None
    k = np.unravel_index(np.argmin(np.where(neck, d, np.inf)), d.shape)
    return float(d[k]), xy[list(k)].tolist()


def bend_radii(xy) -> np.ndarray:
    """Radius of curvature (k,) at every point of a closed polygon (k, 2) through a smooth
    curve (circumradius of each point and its two neighbours); works on NumPy and JAX."""
    xp = jnp if isinstance(xy, jax.Array) else np
    a = xy - xp.roll(xy, 1, axis=0)
    b = xp.roll(xy, -1, axis=0) - xy
    cross = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    la, lb = xp.linalg.norm(a, axis=1), xp.linalg.norm(b, axis=1)
    lc = xp.linalg.norm(a + b, axis=1)
    return la * lb * lc / xp.maximum(2.0 * xp.abs(cross), 1e-300)


def print_check(design, rules: PrintRules | None = None) -> list[PoreCheck]:
    """The printability of every pore of `design` (a CellularSolid) under `rules`, on the
    exact warped curves sampled at 256 points; PoreCheck.violations names what fails."""
    from ._manufacture import ligaments

    rules = rules or PrintRules()
    walls = {lig.pore: lig for lig in ligaments(design)}
    cells = dict(zip([n for n, *_ in design.pores()],
                     design.porous_cells + [(lp.row, lp.col) for lp in design.large_pores],
                     strict=True))
    out = []
    for name, *_ in design.pores():
        xy = design.pore_polygon(name, _CHECK_POINTS)
        neck, where = curve_neck(xy)
        bend = float(bend_radii(xy).min())
        wall = walls[name].width
        bad = []
        if neck < rules.min_neck:
            bad.append(f"neck {neck:.3f} mm < nozzle {rules.min_neck} mm")
        if bend < rules.min_bend:
            bad.append(f"bend radius {bend:.3f} mm < {rules.min_bend} mm (half a nozzle)")
        limit = max(design.constraints.min_ligament, rules.nozzle)
        if wall < limit - 1e-9:
            bad.append(f"wall {wall:.3f} mm to {walls[name].other} < {limit} mm")
        out.append(PoreCheck(name, cells[name], neck, where, bend, wall, tuple(bad)))
    return out


class PrintPenalty:
    """Smooth penalty (mm^2, a JAX scalar) that is zero when every pore of a design obeys
    the rules: squared shortfalls of walls (pore-pore for neighbouring pores, pore-free
    boundary; bound max(min_ligament, nozzle)), of pore necks (nozzle width) and of bend radii
    (half a nozzle, scaled to mm), plus folded cells (corner Jacobian below twice
    MIN_CELL_JACOBIAN, in s^2 scaled by s^2). Evaluate as penalty(params) with params as in
    `CellularSolid.params`; jit-able and differentiable in radii and offsets."""

    def __init__(self, design, rules: PrintRules | None = None, n: int = _PENALTY_POINTS):
        self.rules = rules or PrintRules()
        self.design = design
        self.wall = max(design.constraints.min_ligament, self.rules.nozzle)
        pores = design.pores()
        blocks = [(i, j, 1) for (i, j) in design.porous_cells]
        blocks += [(lp.row, lp.col, lp.size) for lp in design.large_pores]
        th = sample_angles(n)
        self.dirs = np.stack([np.cos(th), np.sin(th)], axis=1)
        self.W = {}
        self.centres = np.array([c for _, c, _, _ in pores]).reshape(-1, 2)
        self.h = np.array([h for _, _, h, _ in pores])
        for _, _, _, r in pores:
            self.W.setdefault(len(r), interpolation_matrix(th, len(r)))
        self.pairs = np.array([(a, b) for a in range(len(blocks)) for b in range(a + 1, len(blocks))
                               if _near(blocks[a], blocks[b])], dtype=int).reshape(-1, 2)
        segs = free_segments(design, warped=False)
        s = design.cell_size
        self.segs = segs.reshape(-1, 2, 2)
        self.seg_mask = np.zeros((len(blocks), len(self.segs)), bool)
        for k, (i, j, size) in enumerate(blocks):
            lo, hi = np.array([j - 1, i - 1]) * s, np.array([j + size + 1, i + size + 1]) * s
            if self.segs.size:
                self.seg_mask[k] = np.all((self.segs.max(axis=1) >= lo)
                                          & (self.segs.min(axis=1) <= hi), axis=1)

    def curves(self, params):
        """(n_pores, n, 2) warped pore curves (mm) for params."""
        d = self.design
        radii = [params["radii"][k] for k in range(len(d.porous_cells))]
        radii += list(params.get("large", ()))
        offsets = params.get("offsets", d.offsets)
        out = []
        for k, r in enumerate(radii):
            r = jnp.asarray(r)
            rho = self.h[k] * (jnp.asarray(self.W[r.shape[-1]], dtype=r.dtype) @ r)
            out.append(self.centres[k][None, :] + rho[:, None] * self.dirs)
        if not out:
            return jnp.zeros((0, self.dirs.shape[0], 2))
        xy = jnp.stack(out)
        return warp_points(xy.reshape(-1, 2), offsets, d.cell_size).reshape(xy.shape)

    def __call__(self, params):
        rules, d = self.rules, self.design
        xy = self.curves(params)
        offsets = jnp.asarray(params.get("offsets", d.offsets))
        total = jnp.zeros((), dtype=offsets.dtype)
        hinge = lambda gap: jnp.sum(jnp.maximum(gap, 0.0) ** 2)   # noqa: E731
        if len(self.pairs):
            diff = xy[self.pairs[:, 0], :, None, :] - xy[self.pairs[:, 1], None, :, :]
            total = total + hinge(self.wall - _norm(diff))
        if self.seg_mask.any():
            ends = warp_points(jnp.asarray(self.segs.reshape(-1, 2)), offsets,
                               d.cell_size).reshape(-1, 2, 2)
            dist = _segment_distance(xy.reshape(-1, 2), ends).reshape(xy.shape[0], xy.shape[1], -1)
            total = total + hinge(jnp.where(self.seg_mask[:, None, :], self.wall - dist, 0.0))
        if xy.shape[0]:
            chord = _norm(xy[:, :, None, :] - xy[:, None, :, :])
            seg = _norm(jnp.roll(xy, -1, axis=1) - xy)
            arc = jnp.concatenate([jnp.zeros_like(seg[:, :1]), jnp.cumsum(seg, axis=1)[:, :-1]],
                                  axis=1)
            along = jnp.abs(arc[:, :, None] - arc[:, None, :])
            along = jnp.minimum(along, seg.sum(axis=1)[:, None, None] - along)
            neck = jax.lax.stop_gradient(along > NECK_ARC_FACTOR * chord)
            total = total + 0.5 * hinge(jnp.where(neck, rules.min_neck - chord, 0.0))
            bend = jax.vmap(bend_radii)(xy)
            total = total + hinge(rules.min_bend - bend)
        if d.rows > 0:
            det = corner_jacobians(offsets, d.cell_size)
            total = total + d.cell_size ** 2 * hinge(2.0 * MIN_CELL_JACOBIAN - det)
        return total


def _norm(v):
    return jnp.sqrt(jnp.sum(v * v, axis=-1) + 1e-30)


def _segment_distance(p, ends):
    """Distances (n, m) from points p (n, 2) to segments ends (m, 2, 2) (JAX)."""
    a, b = ends[:, 0], ends[:, 1]
    d = b - a
    t = jnp.clip(jnp.einsum("nmk,mk->nm", p[:, None, :] - a[None], d)
                 / jnp.maximum(jnp.sum(d * d, axis=1), 1e-30)[None, :], 0.0, 1.0)
    return _norm(p[:, None, :] - (a[None] + t[..., None] * d[None]))


def _near(a, b) -> bool:
    """Whether two pore blocks (row, col, size) touch or are diagonal neighbours."""
    (r0, c0, s0), (r1, c1, s1) = a, b
    return not (r1 > r0 + s0 or r1 + s1 < r0 or c1 > c0 + s0 or c1 + s1 < c0)



@functools.lru_cache(maxsize=16)
def _curve_basis(n: int, points: int = _CHECK_POINTS):
    """(W (points, n) interpolating n radii, unit directions (points, 2)) at `points` angles."""
    th = sample_angles(points)
    return interpolation_matrix(th, n), np.stack([np.cos(th), np.sin(th)], axis=1)


def _pore_fits(design, centre, h, r, rules: PrintRules) -> bool:
    """Whether the (warped) pore curve of radii r has no neck narrower than the nozzle and no
    bend tighter than half of it: bends at `print_check`'s samples (the polygon's bend radii
    depend on the sampling), necks (O(k^2)) at every second one, both with SMOOTH_MARGIN."""
    W, direction = _curve_basis(len(r))
    xy = design.warp(centre + h * (W @ r)[:, None] * direction)
    return (bend_radii(xy).min() >= SMOOTH_MARGIN * rules.min_bend
            and curve_neck(xy[::2])[0] >= SMOOTH_MARGIN * rules.min_neck)


def smooth_pores(design, params, rules: PrintRules | None = None, *, tol: float = 1e-2):
    """Project pore shapes onto the neck and bend rules: every pore that breaks one has its
    radii shrunk towards their mean, r -> mean + alpha (r - mean), with the largest alpha in
    [0, 1] (bisection to `tol`) that obeys both with a 5% margin. When even the circle
    (alpha = 0) bends too tightly, which a small pore in a strongly warped cell can, the
    circle grows to the smallest radius that obeys them (left as it is if r_max does not).
    Walls are `thicken_walls`'s job. params as in `CellularSolid.params` (concrete; offsets
    from params); returns (params, {pore name: alpha} of the pores changed)."""
    rules = rules or PrintRules()
    offsets = np.asarray(params.get("offsets", design.offsets), dtype=float)
    warped = design if np.array_equal(offsets, design.offsets) else \
        design.with_params({**params, "offsets": offsets}, check=False)
    radii = np.array(params["radii"], dtype=float)
    large = [np.array(r, dtype=float) for r in params.get("large", ())]
    changed = {}
    for k, (name, c, h, _) in enumerate(design.pores()):
        r = radii[k] if k < len(radii) else large[k - len(radii)]
        if _pore_fits(warped, c, h, r, rules):
            continue
        mean = r.mean()
        lo, hi = 0.0, 1.0
        while hi - lo > tol:
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if _pore_fits(warped, c, h, mean + mid * (r - mean), rules) \
                else (lo, mid)
        r[:] = mean + lo * (r - mean)
        changed[name] = lo
        if lo == 0.0 and not _pore_fits(warped, c, h, r, rules):
            r[:] = _grown_circle(warped, c, h, mean, r.size, rules, tol)
    out = {**params, "radii": radii}
    if "large" in params:
        out["large"] = tuple(large)
    return out, changed


def _grown_circle(design, centre, h, radius: float, n: int, rules: PrintRules,
                  tol: float) -> float:
    """The smallest radius in [radius, r_max] (bisection to tol x radius) of a circle of n
    radii whose warped curve obeys the neck and bend rules; `radius` when none does."""
    lo, hi = radius, max(design.constraints.r_max, radius)
    fits = lambda r: _pore_fits(design, centre, h, np.full(n, r), rules)  # noqa: E731
    if not fits(hi):
        return radius
    while hi - lo > tol * radius:
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if fits(mid) else (mid, hi)
    return hi


def thicken_walls(design, params, rules: PrintRules | None = None, *, rounds: int = 4):
    """Project pore shapes onto the wall rule: every pore whose thinnest wall is below
    max(min_ligament, nozzle) shrinks radially by the shortfall (half of it when the wall is
    shared with another pore, which shrinks too), aiming WALL_MARGIN inside the rule, in up to
    `rounds` passes; radii stay >= r_min. params as in `CellularSolid.params` (concrete;
    offsets from params); returns (params, {pore name: total radial inset, fraction of the half
    cell}) for the pores changed."""
    from ._manufacture import ligaments

    rules = rules or PrintRules()
    limit = max(design.constraints.min_ligament, rules.nozzle)
    radii = np.array(params["radii"], dtype=float)
    large = [np.array(r, dtype=float) for r in params.get("large", ())]
    pores = {name: (k, h) for k, (name, _, h, _) in enumerate(design.pores())}
    changed = {}
    for _ in range(rounds):
        current = design.with_params({**params, "radii": radii, "large": tuple(large)},
                                     check=False)
        short = [lig for lig in ligaments(current) if lig.width < limit]
        if not short:
            break
        for lig in short:
            k, h = pores[lig.pore]
            share = 1.0 if lig.other == "boundary" else 0.5
            inset = share * (WALL_MARGIN * limit - lig.width) / h
            r = radii[k] if k < len(radii) else large[k - len(radii)]
            r[:] = np.maximum(r - inset, design.constraints.r_min)
            changed[lig.pore] = changed.get(lig.pore, 0.0) + inset
    out = {**params, "radii": radii}
    if "large" in params:
        out["large"] = tuple(large)
    return out, changed
