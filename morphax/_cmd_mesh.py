"""`morphax mesh`: mesh a design (morphax lattice) or a geometry file (STEP, IGES, BREP, closed
STL, DXF) with gmsh; write the mesh with all its named groups and a PNG preview."""

from __future__ import annotations

import argparse
import pathlib

from morphax.cli import number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("design", metavar="DESIGN.json|PART.step",
                        help="design file (morphax lattice) or geometry file (.step, .stp, .iges, "
                             ".igs, .brep, closed .stl, .dxf outline)")
    parser.add_argument("--out", required=True, metavar="MESH.msh|.vtu|.xdmf|.vtk",
                        help="mesh file to write; every named group is kept in each format")
    parser.add_argument("--size", type=number(0, strict=True), default=None, metavar="SIZE",
                        help="target element size (designs: mm, default cell size / 6; "
                             "geometry: file units, default bounding-box diagonal / 20)")
    parser.add_argument("--order", type=int, choices=[1, 2], default=1,
                        help="1: linear cells (tri3 / tet4), 2: quadratic (tri6 / tet10)")
    parser.add_argument("--preview", default=None, metavar="PNG",
                        help="preview image (default: the mesh file name with .png)")
    parser.add_argument("--no-preview", action="store_true", help="write no preview image")


def run(args) -> int:
    from morphax._core import InputError, check_writable
    from morphax.physics import read_mesh, write_mesh
    from morphax.physics._cad import GEOMETRY_SUFFIXES
    from morphax.physics._io import MESH_FORMATS

    out = pathlib.Path(args.out)
    if out.suffix.lower() not in MESH_FORMATS:
        raise InputError(f"--out must end in {', '.join(MESH_FORMATS)}, got {args.out!r}")
    preview = None if args.no_preview else pathlib.Path(args.preview or out.with_suffix(".png"))
    if preview is not None and preview.suffix.lower() != ".png":
        raise InputError(f"--preview must end in .png, got {args.preview!r}")
    check_writable(out, preview)
    source = pathlib.Path(args.design)
    if source.suffix.lower() in GEOMETRY_SUFFIXES:
        mesh = read_mesh(source, size=args.size, order=args.order)
    else:
        from morphax.geometry import CellularSolid, mesh_design

        mesh = mesh_design(CellularSolid.load(source), size=args.size, order=args.order)
    write_mesh(out, mesh)
    if preview is not None:
        title = (f"{source.name}: {mesh.n_cells} {mesh.cell_type} cells, {mesh.n_nodes} nodes")
        if mesh.dim == 2 and mesh.cell_type in ("tri3", "tri6"):
            from morphax.geometry import plot_mesh_groups

            plot_mesh_groups(preview, mesh, title=title)
        else:
            from morphax.physics import plot_png

            plot_png(preview, mesh, title=title)
    if not args.quiet:
        groups = sorted(mesh.node_sets)
        print(f"wrote {out}: {mesh.n_nodes} nodes, {mesh.n_cells} {mesh.cell_type} cells, "
              f"{len(groups)} named groups" + (f"; preview {preview}" if preview else ""))
        print("groups (boundaries and points, for [[dirichlet]], [[traction]], [[pressure]]): "
              + ", ".join(groups))
        regions = sorted(k for k, v in mesh.cell_sets.items() if len(v))
        if regions:
            print("regions (cell groups): " + ", ".join(regions))
    return 0
