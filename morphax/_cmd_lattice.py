"""`morphax lattice`: make a cellular-solid design (a grid of porous cells) as a JSON file."""

from __future__ import annotations

import argparse
import math

from morphax._core import InputError, check_writable
from morphax.cli import number


def _cell(text: str) -> tuple[int, int]:
    try:
        i, j = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected ROW,COL (e.g. 1,1), got {text!r}") from None
    return i, j


def _floats(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        values = []
    if not values or not all(math.isfinite(v) and v > 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected comma-separated positive numbers, got "
                                         f"{text!r}")
    return values


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=number(1, integer=True, high=1000), required=True,
                        help="number of cell rows")
    parser.add_argument("--cols", type=number(1, integer=True, high=1000), required=True,
                        help="number of cell columns")
    parser.add_argument("--cell-size", type=number(0, strict=True), required=True, metavar="MM",
                        help="side of a square cell in mm")
    parser.add_argument("--porosity", type=number(0, strict=True, high=1), required=True,
                        metavar="P",
                        help="total pore area as a fraction of the grid area rows*cols*size^2")
    parser.add_argument("--out", required=True, metavar="DESIGN.json", help="design file to write")
    parser.add_argument("--pore", choices=["circle", "bertoldi", "radii"], default=None,
                        help="pore shape: circle (default), bertoldi r0(1 + c1 cos4t + c2 cos8t)"
                             " or radii (the shape given by --radii); scaled to the porosity")
    parser.add_argument("--c1", type=number(), default=0.0,
                        help="Bertoldi cos(4 theta) coefficient")
    parser.add_argument("--c2", type=number(), default=0.0,
                        help="Bertoldi cos(8 theta) coefficient")
    parser.add_argument("--radii", type=_floats, default=None, metavar="R0,R1,...",
                        help="pore shape as radii at evenly spaced angles (scaled to the "
                             "porosity); implies --pore radii")
    parser.add_argument("--n-angles", type=number(4, integer=True, high=4096), default=16,
                        help="radii per pore (default 16)")
    parser.add_argument("--solid", type=_cell, action="append", default=[], metavar="ROW,COL",
                        help="make this cell solid (row 0 is the bottom row); repeatable")
    parser.add_argument("--empty", type=_cell, action="append", default=[], metavar="ROW,COL",
                        help="leave this cell empty; repeatable")
    parser.add_argument("--min-ligament", type=number(0), default=0.0, metavar="MM",
                        help="thinnest wall allowed (mm), e.g. two nozzle widths")
    parser.add_argument("--r-min", type=number(0), default=0.0, help="smallest pore radius allowed")
    parser.add_argument("--r-max", type=number(0, strict=True), default=1.0,
                        help="largest pore radius allowed")
    parser.add_argument("--name", default="", help="a name stored in the design")


def run(args) -> int:
    from morphax.geometry import CellularSolid, Constraints, min_ligament

    check_writable(args.out)
    pore = args.pore or ("radii" if args.radii is not None else "circle")
    if pore == "radii" and args.radii is None:
        raise InputError("--pore radii needs --radii R0,R1,... (the pore shape)")
    design = CellularSolid.lattice(
        args.rows, args.cols, args.cell_size, args.porosity, pore=pore, c1=args.c1, c2=args.c2,
        radii=args.radii, n_angles=args.n_angles, solid=args.solid, empty=args.empty,
        constraints=Constraints(args.min_ligament, args.r_min, args.r_max), name=args.name)
    design.save(args.out)
    if not args.quiet:
        lig = min_ligament(design)
        print(f"wrote {args.out}: {design.rows} x {design.cols} cells of {design.cell_size} mm, "
              f"{len(design.porous_cells)} porous, porosity {design.porosity():.4f}, pore radius "
              f"up to {design.radii.max():.4f} of the half cell"
              + (f", thinnest wall {lig.width:.3f} mm" if lig else ""))
    return 0
