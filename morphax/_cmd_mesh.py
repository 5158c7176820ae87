"""`morphax mesh`: mesh a design with gmsh; write a .msh or .vtu file and a PNG preview."""

from __future__ import annotations

import argparse
import pathlib

from morphax.cli import number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("design", metavar="DESIGN.json", help="design file (morphax lattice)")
    parser.add_argument("--out", required=True, metavar="MESH.msh|MESH.vtu",
                        help="mesh file to write (.msh keeps the named groups)")
    parser.add_argument("--size", type=number(0, strict=True), default=None, metavar="MM",
                        help="target element size in mm (default cell size / 6)")
    parser.add_argument("--order", type=int, choices=[1, 2], default=1,
                        help="1: linear (P1) triangles, 2: quadratic (P2) triangles")
    parser.add_argument("--preview", default=None, metavar="PNG",
                        help="preview image (default: the mesh file name with .png)")
    parser.add_argument("--no-preview", action="store_true", help="write no preview image")


def run(args) -> int:
    from morphax._core import InputError, check_writable
    from morphax.geometry import CellularSolid, mesh_design, plot_mesh_groups, write_mesh_groups

    out = pathlib.Path(args.out)
    if out.suffix.lower() not in (".msh", ".vtu"):
        raise InputError(f"--out must end in .msh or .vtu, got {args.out!r}")
    preview = None if args.no_preview else pathlib.Path(args.preview or out.with_suffix(".png"))
    if preview is not None and preview.suffix.lower() != ".png":
        raise InputError(f"--preview must end in .png, got {args.preview!r}")
    check_writable(out, preview)
    design = CellularSolid.load(args.design)
    mesh = mesh_design(design, size=args.size, order=args.order)
    write_mesh_groups(out, mesh)
    if preview is not None:
        plot_mesh_groups(preview, mesh, title=f"{pathlib.Path(args.design).name}: {mesh.n_cells} "
                                       f"{mesh.cell_type} cells, {mesh.n_nodes} nodes")
    if not args.quiet:
        groups = sorted(mesh.node_sets)
        print(f"wrote {out}: {mesh.n_nodes} nodes, {mesh.n_cells} {mesh.cell_type} cells, "
              f"{len(groups)} named groups" + (f"; preview {preview}" if preview else ""))
        print("groups: " + ", ".join(groups))
    return 0
