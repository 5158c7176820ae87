"""`morphax solve [PROBLEM.toml]`: FEA from a file; without one, the built-in demo (a
perforated neo-Hookean plate compressed by 10 %) written to --out."""

from __future__ import annotations

import pathlib
import sys
import time


def add_arguments(parser) -> None:
    parser.add_argument("problem", nargs="?", help="a TOML problem file (see morphax.physics."
                        "load_job); omit it for the built-in demo")
    parser.add_argument("--out", default="morphax-out", help="output folder of the demo")


def run(args) -> int:
    import numpy as np

    from morphax import physics as mp
    from morphax._core import check_writable

    t0 = time.perf_counter()
    if args.problem:
        job = mp.load_job(args.problem)
        problem, options, vtu, png = job.problem, job.options, job.vtu, job.png
        check_writable(vtu, png)
    else:
        out = pathlib.Path(args.out)
        vtu, png = out / "solution.vtu", out / "solution.png"
        check_writable(vtu, png)
        mesh = mp.validation.perforated_plate()
        problem = mp.validation.compressed_plate(mesh, strain=0.1)
        options = mp.NewtonOptions(load_steps=2)
    setup = time.perf_counter() - t0
    sol = mp.solve(problem, options=options, progress=not args.quiet)
    p = problem.params()
    u = np.asarray(sol.u)
    fields = {}
    if problem.ncomp == problem.dim:
        fields["stress"] = np.asarray(problem.cauchy_stress(u, p))
    else:
        fields["flux"] = -np.asarray(problem.cell_flux(u, p))[:, 0, :]
    if png is not None:   # the picture first: it is the write more likely to fail
        mp.plot_png(png, problem.mesh, u, label="|u|" if u.shape[1] > 1 else "u")
    mp.write_vtu(vtu, problem.mesh, point_data={"u": u}, cell_data=fields)
    if not args.quiet:
        r = sol.report
        print(f"morphax solve: {problem.model}, {problem.mesh.n_cells} "
              f"{problem.mesh.cell_type} cells, {problem.ndof} dofs ({problem.free.size} free)\n"
              f"  Newton: {r.iterations} iterations in {r.increments} load increments "
              f"({r.cuts} cuts), residual {r.residual:.2e} (reference "
              f"{r.reference_residual:.2e})\n"
              f"  time: setup {setup:.2f} s, solve {r.time_total:.2f} s "
              f"(linear algebra {r.time_linear_algebra:.2f} s, {r.linear_solver})\n"
              f"  wrote {vtu}" + (f" and {png}" if png else ""), file=sys.stdout)
    return 0
