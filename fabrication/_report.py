"""Print reports: bounding box, volume, mass, thinnest ligament against the nozzle width, and
a PNG drawing with dimensions."""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from morphax._core import InputError, atomic_write_text, new_figure, save_figure

from ._solid import Section, polygon_area

MATERIALS = {"TPU": 1.2, "PLA": 1.24, "PETG": 1.27, "ABS": 1.04, "ASA": 1.07, "resin": 1.12}
"""Densities in g/cm^3 of common printing materials (TPU: 1.2 g/cm^3)."""


def material_density(material) -> tuple[str, float]:
    """(name, density in g/cm^3) from a material name in MATERIALS or a number."""
    if isinstance(material, int | float) and not isinstance(material, bool):
        if not (np.isfinite(material) and material > 0):
            raise InputError(f"material density must be a finite positive number (g/cm^3), "
                             f"got {material}")
        return f"{float(material)} g/cm^3", float(material)
    for name, rho in MATERIALS.items():
        if str(material).lower() == name.lower():
            return name, rho
    try:
        return material_density(float(material))
    except ValueError:
        raise InputError(f"unknown material {material!r}; use one of {sorted(MATERIALS)} or a "
                         "density in g/cm^3") from None


@dataclasses.dataclass(frozen=True)
class Wall:
    """The thinnest wall between two boundary curves (or a thin neck of one curve)."""

    width: float
    points: np.ndarray          # (2, 2) the closest points, mm
    between: tuple[int, int]    # loop indices


def _segment_refine(p, loop_pts, k):
    """Distance from point p to the two segments of a closed polygon around vertex k."""
    n = len(loop_pts)
    best = (np.linalg.norm(p - loop_pts[k]), loop_pts[k])
    for a, b in ((loop_pts[k - 1], loop_pts[k]), (loop_pts[k], loop_pts[(k + 1) % n])):
        d = b - a
        t = np.clip(np.dot(p - a, d) / max(np.dot(d, d), 1e-300), 0.0, 1.0)
        q = a + t * d
        dist = np.linalg.norm(p - q)
        if dist < best[0]:
            best = (dist, q)
    return best


def walls(loops: list[np.ndarray], arc_factor: float = 3.0) -> list[Wall]:
    """For every pair of boundary curves that face each other, the thinnest wall between them,
    plus thin necks within one curve (points closer than their distance along the curve /
    arc_factor). Sorted thinnest first. loops: closed polygons (k, 2) in mm."""
    from scipy.spatial import cKDTree

    out: dict[tuple[int, int], Wall] = {}
    trees = [cKDTree(lp) for lp in loops]
    for a, pa in enumerate(loops):
        for b, tree in enumerate(trees):
            if b <= a:
                continue
            dist, idx = tree.query(pa)
            k = int(np.argmin(dist))
            d, q = _segment_refine(pa[k], loops[b], int(idx[k]))
            # the nearest vertex of a to that point, refined the other way as well
            d2, q2 = _segment_refine(q, pa, k)
            out[(a, b)] = Wall(float(min(d, d2)), np.stack([q2 if d2 < d else pa[k], q]),
                               (a, b))
    limit = min((w.width for w in out.values()), default=np.inf)
    for a, pa in enumerate(loops):
        seg = np.linalg.norm(np.roll(pa, -1, axis=0) - pa, axis=1)
        arc = np.concatenate([[0.0], np.cumsum(seg)[:-1]])
        total = seg.sum()
        extent = float(np.ptp(pa, axis=0).min())
        radius = min(limit, 0.5 * extent)
        if not np.isfinite(radius) or radius <= 0:
            continue
        pairs = trees[a].query_pairs(radius, output_type="ndarray")
        if not len(pairs):
            continue
        d = np.linalg.norm(pa[pairs[:, 0]] - pa[pairs[:, 1]], axis=1)
        along = np.abs(arc[pairs[:, 0]] - arc[pairs[:, 1]])
        along = np.minimum(along, total - along)
        neck = along > arc_factor * np.maximum(d, 1e-300)
        if neck.any():
            k = int(np.argmin(np.where(neck, d, np.inf)))
            out[(a, a)] = Wall(float(d[k]), pa[pairs[k]], (a, a))
    return sorted(out.values(), key=lambda w: w.width)


@dataclasses.dataclass
class PrintReport:
    """What a printer operator needs to know about a part (lengths in mm)."""

    part: str
    format: str
    configuration: str
    thickness: float
    bbox_min: list
    bbox_max: list
    area: float
    volume: float
    material: str
    density: float
    nozzle_width: float
    min_ligament: float | None
    min_ligament_points: list | None
    thin_features: list
    warnings: list
    solid: dict
    n_bodies: int

    @property
    def mass(self) -> float:
        """Mass in grams (volume mm^3 * 1e-3 cm^3/mm^3 * density g/cm^3)."""
        return self.volume * 1e-3 * self.density

    def to_dict(self) -> dict:
        size = (np.asarray(self.bbox_max) - np.asarray(self.bbox_min)).tolist()
        return {"part": self.part, "format": self.format, "configuration": self.configuration,
                "units": "mm", "thickness_mm": self.thickness,
                "bounding_box_mm": {"min": self.bbox_min, "max": self.bbox_max, "size": size},
                "area_mm2": self.area, "volume_mm3": self.volume,
                "volume_cm3": self.volume * 1e-3, "material": self.material,
                "density_g_cm3": self.density, "mass_g": self.mass,
                "nozzle_width_mm": self.nozzle_width, "min_ligament_mm": self.min_ligament,
                "min_ligament_at_mm": self.min_ligament_points,
                "thin_features": self.thin_features, "bodies": self.n_bodies,
                "warnings": self.warnings, "solid_check": self.solid}

    def summary(self) -> str:
        d = self.to_dict()
        size = d["bounding_box_mm"]["size"]
        lines = [f"part        {self.part} ({self.format}, {self.configuration} configuration)",
                 f"size        {size[0]:.3f} x {size[1]:.3f} x {size[2]:.3f} mm",
                 f"volume      {self.volume:.3f} mm^3   mass {self.mass:.3f} g "
                 f"({self.material}, {self.density} g/cm^3)",
                 "ligament    " + (f"min {self.min_ligament:.3f} mm (nozzle "
                                   f"{self.nozzle_width} mm)" if self.min_ligament is not None
                                   else "no walls between boundary curves")]
        lines += [f"warning     {w}" for w in self.warnings]
        return "\n".join(lines)

    def write_json(self, path) -> None:
        atomic_write_text(path, json.dumps(self.to_dict(), indent=1) + "\n")


def make_report(section: Section, *, part: str, fmt: str, configuration: str, thickness: float,
                solid: dict, material="TPU", nozzle_width: float = 0.4,
                area: float | None = None) -> PrintReport:
    """The print report of an extruded section (area: the exact section area when known)."""
    if not nozzle_width > 0:
        raise InputError(f"nozzle width must be positive (mm), got {nozzle_width}")
    name, rho = material_density(material)
    loops = section.loop_points()
    found = walls(loops)
    warnings, thin = [], []
    labels = ["the outline" if polygon_area(lp) > 0 else
              f"the hole at ({lp[:, 0].mean():.2f}, {lp[:, 1].mean():.2f})" for lp in loops]
    for w in found:
        if w.width < 2.0 * nozzle_width:
            a, b = w.between
            thin.append({"width_mm": w.width, "at_mm": w.points.tolist(),
                         "between": labels[a] if a == b else f"{labels[a]} / {labels[b]}"})
    if thin:
        worst = thin[0]
        warnings.append(f"{len(thin)} walls are thinner than two nozzle widths "
                        f"({2 * nozzle_width:.3f} mm); the thinnest, {worst['width_mm']:.3f} mm, "
                        f"is between {worst['between']}")
    if found and found[0].width < nozzle_width:
        warnings.append(f"the thinnest wall ({found[0].width:.3f} mm) is thinner than one "
                        f"nozzle width ({nozzle_width} mm) and will not print; widen it or use a "
                        "finer nozzle")
    bodies = sum(1 for lp in loops if polygon_area(lp) > 0)
    if bodies > 1:
        warnings.append(f"the part has {bodies} separate bodies")
    pts = section.points
    area = section.area if area is None else float(area)
    return PrintReport(part, fmt, configuration, float(thickness),
                       [*pts.min(axis=0).tolist(), 0.0], [*pts.max(axis=0).tolist(),
                                                          float(thickness)],
                       area, area * float(thickness), name, rho, float(nozzle_width),
                       found[0].width if found else None,
                       found[0].points.tolist() if found else None, thin, warnings, solid, bodies)


def draw_report(section: Section, report: PrintReport, path) -> None:
    """A PNG drawing of the part outline with its dimensions and thinnest wall."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path

    loops = section.loop_points()
    verts, codes = [], []
    for lp in loops:
        verts += [*lp.tolist(), lp[0].tolist()]
        codes += [Path.MOVETO] + [Path.LINETO] * (len(lp) - 1) + [Path.CLOSEPOLY]
    lo, hi = section.points.min(axis=0), section.points.max(axis=0)
    w, h = hi - lo
    fig = new_figure(7, 7 * max(h, 1e-9) / max(w, 1e-9) * 0.9 + 1.0)
    ax = fig.subplots()
    ax.add_patch(PathPatch(Path(verts, codes), facecolor="#9ecae1", edgecolor="#08519c", lw=0.6))
    off = 0.06 * max(w, h)
    arrow = {"arrowstyle": "<->", "color": "k", "lw": 0.8}
    ax.annotate("", (lo[0], lo[1] - off), (hi[0], lo[1] - off), arrowprops=arrow)
    ax.text(lo[0] + w / 2, lo[1] - 1.6 * off, f"{w:.2f} mm", ha="center", va="top")
    ax.annotate("", (lo[0] - off, lo[1]), (lo[0] - off, hi[1]), arrowprops=arrow)
    ax.text(lo[0] - 1.6 * off, lo[1] + h / 2, f"{h:.2f} mm", ha="right", va="center",
            rotation=90)
    if report.min_ligament_points is not None:
        p = np.asarray(report.min_ligament_points)
        ax.plot(p[:, 0], p[:, 1], "r-", lw=2.0)
        ax.annotate(f"min wall {report.min_ligament:.2f} mm", p.mean(axis=0),
                    (hi[0] + 0.5 * off, hi[1] + 0.5 * off), color="r",
                    arrowprops={"arrowstyle": "->", "color": "r", "lw": 0.8}, ha="right")
    for t in report.thin_features[1:50]:
        p = np.asarray(t["at_mm"])
        ax.plot(p[:, 0], p[:, 1], "-", color="orange", lw=1.5)
    ax.set_title(f"thickness {report.thickness:g} mm, volume {report.volume:.1f} mm³, "
                 f"{report.mass:.2f} g {report.material}\nnozzle {report.nozzle_width} mm; "
                 f"{len(report.thin_features)} walls < 2 nozzle widths", fontsize=9)
    ax.set_xlim(lo[0] - 3 * off, hi[0] + 1.5 * off)
    ax.set_ylim(lo[1] - 3 * off, hi[1] + 1.5 * off)
    ax.set_aspect("equal")
    ax.axis("off")
    save_figure(fig, path)
