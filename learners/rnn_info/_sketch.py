"""Hand-drawn-style stroke data that ships offline, and a loader for Quick, Draw! files.

Sketches use the stroke-3 format of sketch-rnn: one row (dx, dy, pen_lift) per pen point,
dx, dy the offset from the previous point (the first row from the origin) and pen_lift = 1
on the last point of a stroke. Quick, Draw! itself (not shipped in any package) comes as
ndjson, one drawing per line: {"word": "cat", "drawing": [[xs, ys], [xs, ys, ts], ...]} with
absolute coordinates per stroke; `load_quickdraw_ndjson` reads that format.
"""

from __future__ import annotations

import json
import math
import pathlib

import numpy as np

from morphax._core import DataError, InputError

SKETCH_CLASSES = ("circle", "square", "triangle", "star", "spiral", "cross")
"""The shape classes that `procedural_sketches` draws."""


def _polygon(corners, n):
    corners = np.asarray(corners, float)
    closed = np.concatenate([corners, corners[:1]], axis=0)
    seg = np.linalg.norm(np.diff(closed, axis=0), axis=1)
    t = np.linspace(0.0, seg.sum(), n)
    edges = np.concatenate([[0.0], np.cumsum(seg)])
    return np.stack([np.interp(t, edges, closed[:, i]) for i in range(2)], axis=1)


def _shape_strokes(name, rng, n):
    if name == "circle":
        t = np.linspace(0, 2 * math.pi, n) + rng.uniform(0, 2 * math.pi)
        return [np.stack([np.cos(t), np.sin(t)], axis=1)]
    if name == "square":
        return [_polygon([(-1, -1), (1, -1), (1, 1), (-1, 1)], n)]
    if name == "triangle":
        return [_polygon([(-1, -0.8), (1, -0.8), (0, 1)], n)]
    if name == "star":
        k = np.arange(10)
        r = np.where(k % 2 == 0, 1.0, 0.4)
        a = math.pi / 2 + k * math.pi / 5
        return [_polygon(np.stack([r * np.cos(a), r * np.sin(a)], axis=1), n)]
    if name == "spiral":
        t = np.linspace(0, 4 * math.pi, n)
        return [np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (4 * math.pi)]
    if name == "cross":
        half = max(n // 2, 2)
        s = np.linspace(-1, 1, half)
        return [np.stack([s, s], axis=1), np.stack([s, -s], axis=1)]
    raise InputError(f"unknown sketch class {name!r}; choose from {SKETCH_CLASSES}")


def _to_stroke3(strokes):
    points = np.concatenate(strokes, axis=0)
    pen = np.concatenate([np.eye(1, len(s), len(s) - 1)[0] for s in strokes])
    deltas = np.diff(np.concatenate([np.zeros((1, 2)), points], axis=0), axis=0)
    return np.concatenate([deltas, pen[:, None]], axis=1)


def procedural_sketches(num: int, *, seed: int = 0, points: tuple[int, int] = (16, 32),
                        classes: tuple[str, ...] = SKETCH_CLASSES
                        ) -> tuple[list[np.ndarray], np.ndarray]:
    """`num` random sketches: each class shape under a random rotation, scale (about 30-60
    units across), aspect ratio and hand jitter (wobble along the stroke plus point noise).

    Returns:
        sketches: list of (n_i, 3) float64 stroke-3 arrays (n_i in `points`, inclusive),
        labels: (num,) int64 indices into `classes`.
    """
    if num < 1 or not classes:
        raise InputError(f"need num >= 1 and at least one class, got {num}, {classes}")
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(classes), num)
    sketches = []
    for label in labels:
        n = int(rng.integers(points[0], points[1] + 1))
        strokes = _shape_strokes(classes[label], rng, n)
        angle = rng.uniform(0, 2 * math.pi)
        rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        scale = rng.uniform(15, 30) * np.array([1.0, rng.uniform(0.7, 1.3)])
        out = []
        for s in strokes:
            phase = rng.uniform(0, 2 * math.pi)
            wobble = 0.05 * np.sin(np.linspace(0, 3 * math.pi, len(s)) + phase)[:, None]
            pts = (s * (1 + wobble)) @ rot.T * scale[None, :]
            out.append(pts + rng.normal(0, 0.6, pts.shape))
        sketches.append(_to_stroke3(out))
    return sketches, labels


def drawing_to_stroke3(drawing) -> np.ndarray:
    """A Quick, Draw! `drawing` (list of strokes [xs, ys] or [xs, ys, ts], absolute
    coordinates) as a stroke-3 array (n, 3)."""
    if not isinstance(drawing, list) or not drawing:
        raise InputError("a drawing must be a non-empty list of strokes [xs, ys(, ts)]")
    strokes = []
    for i, stroke in enumerate(drawing):
        if (not isinstance(stroke, list) or len(stroke) not in (2, 3)
                or len(stroke[0]) != len(stroke[1]) or len(stroke[0]) == 0):
            raise InputError(f"stroke {i} must be [xs, ys] or [xs, ys, ts] with equal, "
                             "non-zero lengths")
        try:
            pts = np.asarray([stroke[0], stroke[1]], float).T
        except (TypeError, ValueError) as err:
            raise InputError(f"stroke {i} has non-numeric coordinates") from err
        if not np.all(np.isfinite(pts)):
            raise InputError(f"stroke {i} has non-finite coordinates")
        strokes.append(pts)
    return _to_stroke3(strokes)


def load_quickdraw_ndjson(path: str | pathlib.Path, max_items: int | None = None
                          ) -> tuple[list[np.ndarray], list[str]]:
    """Read a Quick, Draw! ndjson file (raw or simplified): one JSON object per line with a
    "drawing" list and a "word" (the class name). Blank lines are skipped.

    Returns:
        sketches: list of (n_i, 3) stroke-3 arrays, words: list of class names.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise InputError(f"Quick, Draw! file not found: {path}")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise DataError(f"{path} is not UTF-8 text ({err}); Quick, Draw! files are ndjson") from err
    sketches, words = [], []
    for number, line in enumerate(lines, start=1):
        if max_items is not None and len(sketches) >= max_items:
            break
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            sketches.append(drawing_to_stroke3(item["drawing"]))
            words.append(str(item.get("word", "")))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError, RecursionError,
                InputError) as err:
            raise DataError(f"{path}, line {number}: not a Quick, Draw! record ({err}); "
                            "expected a JSON object with a 'drawing' list") from err
    if not sketches:
        raise DataError(f"{path} holds no drawings")
    return sketches, words


def pad_sketches(sketches: list[np.ndarray], max_len: int, scale: float | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Pad/truncate stroke-3 sketches into one batch with offsets divided by `scale` (by
    default the standard deviation of all offsets, as sketch-rnn normalises).

    Returns:
        data (N, max_len, 3), mask (N, max_len) 1 on real steps, lengths (N,) int, scale.
    """
    if max_len < 2 or not sketches:
        raise InputError(f"need max_len >= 2 and at least one sketch, got {max_len}")
    if scale is None:
        scale = float(np.std(np.concatenate([s[:, :2] for s in sketches]).ravel()))
    data = np.zeros((len(sketches), max_len, 3))
    mask = np.zeros((len(sketches), max_len))
    lengths = np.zeros(len(sketches), np.int64)
    for i, s in enumerate(sketches):
        n = min(len(s), max_len)
        data[i, :n, :2] = s[:n, :2] / scale
        data[i, :n, 2] = s[:n, 2]
        mask[i, :n] = 1.0
        lengths[i] = n
    return data, mask, lengths, scale
