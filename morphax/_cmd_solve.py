"""`morphax solve [PROBLEM.toml]`: FEA from a file; without one, the built-in demo (a
perforated neo-Hookean plate compressed by 10 %) written to --out."""

from __future__ import annotations

import pathlib
import sys
import time

_FIELDS = ("displacement", "von-mises", "u", "flux")


def add_arguments(parser) -> None:
    parser.add_argument("problem", nargs="?", help="a TOML problem file (see morphax.physics."
                        "load_job); omit it for the built-in demo")
    parser.add_argument("--out", default="morphax-out", help="output folder of the demo")
    parser.add_argument("--field", choices=_FIELDS, default=None,
                        help="what the picture shows (default: the TOML's [output] field, else "
                             "displacement for solids, u for scalar problems)")


def run(args) -> int:
    import numpy as np

    from morphax import physics as mp
    from morphax._core import InputError, check_writable
    from morphax.physics._config import FIELDS, Picture

    t0 = time.perf_counter()
    if args.problem:
        job = mp.load_job(args.problem)
        problem, options, vtu, png = job.problem, job.options, job.vtu, job.png
        picture, name = job.picture, pathlib.Path(args.problem).name
    else:
        out = pathlib.Path(args.out)
        vtu, png = out / "solution.vtu", out / "solution.png"
        mesh = mp.validation.perforated_plate()
        problem = mp.validation.compressed_plate(mesh, strain=0.1)
        options = mp.NewtonOptions(load_steps=2)
        picture, name = Picture("displacement"), "demo plate, 10 % compression"
    if args.field:
        allowed = FIELDS[problem.model.field]
        if args.field not in allowed:
            raise InputError(f"--field {args.field} is not drawn for {type(problem.model).__name__};"
                             f" use {' or '.join(allowed)}")
        picture.field = args.field
    check_writable(vtu, png)
    setup = time.perf_counter() - t0
    sol = mp.solve(problem, options=options, progress=not args.quiet)
    u = np.asarray(sol.u)
    point_data, cell_data = {"u": u}, {}
    if problem.ncomp == problem.dim:
        sigma = np.asarray(mp.cell_stress(problem, u))
        cell_data = {"stress": sigma, "von_mises": mp.von_mises(sigma)}
    else:
        cell_data["flux"] = -np.asarray(problem.cell_flux(u, problem.params()))[:, 0, :]
    if png is not None:   # the picture first: it is the write more likely to fail
        _picture(png, problem, u, cell_data, picture, name)
    mp.write_vtu(vtu, problem.mesh, point_data=point_data, cell_data=cell_data)
    if not args.quiet:
        r = sol.report
        print(f"morphax solve: {problem.model}, {problem.mesh.n_cells} "
              f"{problem.mesh.cell_type} cells, {problem.ndof} dofs ({problem.free.size} free)\n"
              f"  Newton: {r.iterations} iterations in {r.increments} load increments "
              f"({r.cuts} cuts), residual {r.residual:.2e} (reference "
              f"{r.reference_residual:.2e})\n"
              f"  time: setup {setup:.2f} s, solve {r.time_total:.2f} s "
              f"(linear algebra {r.time_linear_algebra:.2f} s, {r.linear_solver})\n"
              + (f"  max von Mises stress {cell_data['von_mises'].max():.4g}"
                 f"{' ' + picture.stress_unit if picture.stress_unit else ''}, "
                 if "von_mises" in cell_data else "  ")
              + f"max |u| {np.linalg.norm(u, axis=1).max():.4g}"
              f"{' ' + picture.length_unit if picture.length_unit else ''}\n"
              f"  wrote {vtu}" + (f" and {png}" if png else ""), file=sys.stdout)
    return 0


def _picture(png, problem, u, cell_data, picture, name) -> None:
    """The solution picture: the chosen field, named with its unit, on the deformed body."""
    import numpy as np

    from morphax import physics as mp

    length = f"[{picture.length_unit}]" if picture.length_unit else "(length units)"
    stress = f"[{picture.stress_unit}]" if picture.stress_unit else "(units of E)"
    if picture.field == "displacement":
        field, label = np.linalg.norm(u, axis=1), f"displacement |u| {length}"
    elif picture.field == "von-mises":
        field, label = cell_data["von_mises"], f"von Mises stress {stress}"
    elif picture.field == "flux":
        field, label = np.linalg.norm(cell_data["flux"], axis=1), "flux magnitude |k grad u|"
    else:
        field, label = u[:, 0], "u"
    deformed = problem.ncomp == problem.dim
    shown = f", deformed x {picture.scale:g}" if deformed and picture.scale != 1 else (
        ", deformed shape" if deformed else "")
    mp.plot_png(png, problem.mesh, u, field=field, label=label, scale=picture.scale,
                deformed=deformed, length_unit=picture.length_unit,
                title=f"{name}: {label.split(' [')[0].split(' (')[0]}{shown}")
