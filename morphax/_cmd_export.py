"""`morphax export`: a design (or a deformed result) as a printable STL, 3MF or STEP part."""

from __future__ import annotations

import argparse

from morphax.cli import number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("design", metavar="DESIGN.json", help="design file (morphax lattice)")
    parser.add_argument("--thickness", type=number(0, strict=True), required=True, metavar="MM",
                        help="extrusion thickness in mm")
    parser.add_argument("--out", required=True, metavar="PART.stl|.3mf|.step",
                        help="part file to write; the format follows the suffix")
    parser.add_argument("--deformed", default=None, metavar="RESULT",
                        help="export the deformed configuration stored in RESULT (.npz or a "
                             "meshio file with point data u, from morphax.fabrication."
                             "save_result)")
    parser.add_argument("--segments", type=number(8, integer=True, high=100000), default=128,
                        help="points per pore curve in the reference configuration")
    parser.add_argument("--material", default="TPU",
                        help="material name (TPU, PLA, PETG, ABS, ASA, resin) or density g/cm^3")
    parser.add_argument("--nozzle", type=number(0, strict=True), default=0.4, metavar="MM",
                        help="nozzle width in mm for the wall-thickness warnings")
    parser.add_argument("--no-report", action="store_true",
                        help="do not write PART.report.json and PART.report.png (e.g. "
                             "part.stl.report.png)")


def run(args) -> int:
    from morphax.fabrication import FORMATS, MATERIALS, export_part, load_result
    from morphax.geometry import CellularSolid

    _check_early(args, FORMATS, MATERIALS)
    design = CellularSolid.load(args.design)
    mesh = displacement = None
    if args.deformed:
        mesh, displacement = load_result(args.deformed)
    report = export_part(args.out, design=design, thickness=args.thickness, mesh=mesh,
                         displacement=displacement, segments=args.segments,
                         material=args.material, nozzle_width=args.nozzle,
                         report=not args.no_report)
    if not args.quiet:
        print(report.summary())
    return 0


def _check_early(args, formats, materials) -> None:
    """The part's format, material and output paths, before any file is read or written."""
    import pathlib

    from morphax._core import InputError, check_writable
    from morphax.fabrication import report_paths

    out = pathlib.Path(args.out)
    if out.suffix.lower() not in formats:
        raise InputError(f"--out: cannot tell the part format from {args.out!r}; use a file "
                         "name ending in .stl, .3mf or .step")
    known = {m.lower() for m in materials}
    if args.material.lower() not in known:
        try:
            density = float(args.material)
        except ValueError:
            density = float("nan")
        if not density > 0 or density == float("inf"):
            raise InputError(f"--material must be one of {', '.join(materials)} or a density in "
                             f"g/cm^3, got {args.material!r}")
    check_writable(out, *([] if args.no_report else report_paths(out)))
