"""`morphax export`: a design (or a deformed result) as a printable STL, 3MF or STEP part."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("design", metavar="DESIGN.json", help="design file (morphax lattice)")
    parser.add_argument("--thickness", type=float, required=True, metavar="MM",
                        help="extrusion thickness in mm")
    parser.add_argument("--out", required=True, metavar="PART.stl|.3mf|.step",
                        help="part file to write; the format follows the suffix")
    parser.add_argument("--deformed", default=None, metavar="RESULT",
                        help="export the deformed configuration stored in RESULT (.npz or a "
                             "meshio file with point data u, from morphax.fabrication."
                             "save_result)")
    parser.add_argument("--segments", type=int, default=128,
                        help="points per pore curve in the reference configuration")
    parser.add_argument("--material", default="TPU",
                        help="material name (TPU, PLA, PETG, ABS, ASA, resin) or density g/cm^3")
    parser.add_argument("--nozzle", type=float, default=0.4, metavar="MM",
                        help="nozzle width in mm for the wall-thickness warnings")
    parser.add_argument("--no-report", action="store_true",
                        help="do not write <part>.report.json and <part>.report.png")


def run(args) -> int:
    from morphax.fabrication import export_part, load_result
    from morphax.geometry import CellularSolid

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
