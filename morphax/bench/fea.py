"""`morphax bench fea`: morphax against FElupe, jax-fem and scikit-fem on identical meshes.

Cases: a 2-D plane-strain perforated neo-Hookean plate compressed by 10 %, a 3-D neo-Hookean
unit cube (hexahedra) compressed by 10 %, and Poisson on the unit square (P1). For each mesh
size: setup, compile (first solve minus warm solve), warm solve (median), gradient (one
adjoint: grad of a weighted sum of u with respect to all parameters, minus the forward),
the linear-algebra floor (factorizations and triangular solves alone), peak memory, and the
relative difference between the solutions.
"""

from __future__ import annotations

import logging
import time

import jax
import jax.numpy as jnp
import numpy as np

from morphax import physics as mp
from morphax.physics import validation

from ._timing import median_time, peak_rss_mb

log = logging.getLogger("morphax.bench")

QUICK = {"plate": [0.04, 0.016, 0.008], "cube": [6, 12], "poisson": [32, 128, 256]}
FULL = {"plate": [0.04, 0.016, 0.008, 0.005], "cube": [6, 12, 20, 28],
        "poisson": [32, 128, 256, 512]}
STRAIN = 0.1


def run(quick: bool, out, progress: bool) -> dict:
    sizes, repeats = (QUICK, 2) if quick else (FULL, 3)
    records = []
    jobs = [(case, size) for case in ("plate", "cube", "poisson") for size in sizes[case]]
    bar = _progress(len(jobs), progress)
    for case, size in jobs:
        problem, setup = _build(case, size)
        rec = _morphax(problem, repeats)
        u = rec.pop("u")
        rec.update(case=case, size=size, setup_s=setup)
        records.append(rec)
        peers = [_felupe(problem, case, repeats), _jaxfem(problem, case, repeats)] \
            if case != "poisson" else [_skfem(problem, repeats)]
        for peer in peers:
            peer.update(case=case, size=size, dofs=problem.ndof,
                        rel_diff=_rel_diff(peer.pop("u"), u))
            records.append(peer)
        bar.update(1)
        bar.set_postfix_str(f"{case} {problem.ndof} dofs")
    bar.close()
    return {"records": records, "summary": _summary(records)}


def _progress(total, enabled):
    from tqdm import tqdm

    return tqdm(total=total, desc="bench fea", disable=not enabled, file=__import__("sys").stderr)


def _build(case, size):
    t = time.perf_counter()
    if case == "plate":
        mesh = validation.perforated_plate(mesh_size=size)
        problem = validation.compressed_plate(mesh, strain=STRAIN)
    elif case == "cube":
        mesh = mp.box(size, size, size, "hex8")
        problem = mp.Problem(mesh, mp.NeoHookean.from_young(1.0, 0.3), dirichlet=[
            mp.Dirichlet("bottom", 0.0), mp.Dirichlet("top", (0.0, 0.0, -STRAIN))])
    else:
        mesh = mp.rectangle(size, size, "tri3")
        problem = mp.Problem(mesh, mp.Poisson(), source=1.0,
                             dirichlet=[mp.Dirichlet(s, 0.0) for s in mesh.facet_sets])
    return problem, time.perf_counter() - t


def _morphax(problem, repeats):
    t = time.perf_counter()
    mp.solve(problem)
    first = time.perf_counter() - t
    solve_time, sol = median_time(lambda: mp.solve(problem), repeats)
    report = sol.report
    weights = jnp.asarray(np.random.default_rng(0).standard_normal(sol.u.shape))

    def loss(p):
        return jnp.sum(weights * mp.solve(problem, p).u)

    grad = jax.grad(loss)
    p = problem.params()
    jax.block_until_ready(grad(p))
    grad_time, _ = median_time(lambda: jax.block_until_ready(grad(p)), repeats)
    return {"solver": "morphax", "dofs": problem.ndof, "compile_s": max(0.0, first - solve_time),
            "solve_s": solve_time, "la_s": report.time_linear_algebra,
            "assembly_s": report.time_assembly, "newton_iterations": report.iterations,
            "factorizations": report.factorizations, "linear_solver": report.linear_solver,
            "grad_s": grad_time, "backward_s": max(0.0, grad_time - solve_time),
            "residual": report.residual, "peak_rss_mb": peak_rss_mb(), "u": np.asarray(sol.u)}


def _felupe(problem, case, repeats):
    try:
        import felupe as fem
    except ImportError as err:
        return {"solver": "felupe", "skipped": f"felupe is not installed ({err})",
                "u": None}
    mesh = problem.mesh
    x = np.asarray(mesh.points)
    model = problem.model

    def setup():
        if case == "plate":
            region = fem.RegionTriangle(fem.Mesh(x, np.asarray(mesh.cells), "triangle"))
            field = fem.FieldContainer([fem.FieldPlaneStrain(region, dim=2)])
            top = x[:, 1].max()
            bcs = {"bottom": fem.Boundary(field[0], fy=0.0),
                   "top_x": fem.Boundary(field[0], fy=top, skip=(0, 1)),
                   "top_y": fem.Boundary(field[0], fy=top, skip=(1, 0), value=-STRAIN * top)}
        else:
            region = fem.RegionHexahedron(fem.Mesh(x, np.asarray(mesh.cells), "hexahedron"))
            field = fem.FieldContainer([fem.Field(region, dim=3)])
            bcs = {"bottom": fem.Boundary(field[0], fz=0.0),
                   "top_xy": fem.Boundary(field[0], fz=1.0, skip=(0, 0, 1)),
                   "top_z": fem.Boundary(field[0], fz=1.0, skip=(1, 1, 0), value=-STRAIN)}
        solid = fem.SolidBody(fem.NeoHookeCompressible(mu=model.mu, lmbda=model.kappa), field)
        dof0, dof1 = fem.dof.partition(field, bcs)
        return field, solid, dof0, dof1, fem.dof.apply(field, bcs, dof0)

    t = time.perf_counter()
    setup()
    setup_time = time.perf_counter() - t

    def solve():
        field, solid, dof0, dof1, ext0 = setup()
        result = fem.newtonraphson(items=[solid], dof1=dof1, dof0=dof0, ext0=ext0, verbose=0)
        if not result.success:
            raise mp.ConvergenceError("FElupe did not converge")
        return field[0].values.copy(), result.iterations

    solve()  # warm-up
    solve_time, (u, iterations) = median_time(solve, repeats)
    return {"solver": "felupe", "setup_s": setup_time, "solve_s": solve_time - setup_time,
            "newton_iterations": iterations, "peak_rss_mb": peak_rss_mb(), "u": u}


def _skfem(problem, repeats):
    try:
        import skfem
        from skfem.models.poisson import laplace, unit_load
    except ImportError as err:
        return {"solver": "scikit-fem", "skipped": f"scikit-fem is not installed ({err})",
                "u": None}
    mesh = problem.mesh
    t = time.perf_counter()
    sk_mesh = skfem.MeshTri(np.asarray(mesh.points).T.copy(), mesh.cells.T.copy())
    basis = skfem.Basis(sk_mesh, skfem.ElementTriP1())
    setup_time = time.perf_counter() - t

    def solve():
        A, b = laplace.assemble(basis), unit_load.assemble(basis)
        return skfem.solve(*skfem.condense(A, b, D=basis.get_dofs()))

    solve()
    solve_time, u = median_time(solve, repeats)
    return {"solver": "scikit-fem", "setup_s": setup_time, "solve_s": solve_time,
            "peak_rss_mb": peak_rss_mb(), "u": u}


def _jaxfem(problem, case, repeats):
    """jax-fem's own Newton solver (PETSc, built by benchmarks/setup_peers.sh) on the same case,
    or the reason it cannot run here."""
    try:
        mp.JaxFemProblem.import_jax_fem("solver")
    except Exception as err:  # ImportError, or jax-fem's own import-time failures
        return {"solver": "jax-fem", "skipped": f"jax-fem's solver cannot be imported: "
                f"{type(err).__name__}: {err}", "u": None}
    from ._jaxfem_cases import jaxfem_problem

    t = time.perf_counter()
    jf = jaxfem_problem(case, problem, STRAIN)
    setup_time = time.perf_counter() - t
    t = time.perf_counter()
    u, _, reason = jf.run_jaxfem_solver()
    first = time.perf_counter() - t
    if u is None:
        return {"solver": "jax-fem", "skipped": reason, "u": None}
    solve_time, (u, _, _) = median_time(jf.run_jaxfem_solver, repeats)
    return {"solver": "jax-fem", "setup_s": setup_time, "compile_s": max(0.0, first - solve_time),
            "solve_s": solve_time, "peak_rss_mb": peak_rss_mb(), "u": u}


def _rel_diff(u_peer, u):
    if u_peer is None:
        return None
    u_peer = np.asarray(u_peer).reshape(np.shape(u))
    return float(np.linalg.norm(u_peer - u) / np.linalg.norm(u))


def _summary(records):
    def pick(case, solver):
        rows = [r for r in records if r["case"] == case and r["solver"] == solver
                and "solve_s" in r]
        return max(rows, key=lambda r: r["dofs"]) if rows else None

    plate_m, plate_f = pick("plate", "morphax"), pick("plate", "felupe")
    morphax_rows = [r for r in records if r["solver"] == "morphax"]
    jaxfem = pick("plate", "jax-fem")
    diffs = [r["rel_diff"] for r in records if r.get("rel_diff") is not None]
    return {
        "plate_dofs": plate_m["dofs"],
        "speedup_vs_felupe": plate_f["solve_s"] / plate_m["solve_s"] if plate_f else None,
        "speedup_vs_jaxfem": jaxfem["solve_s"] / plate_m["solve_s"] if jaxfem else None,
        "jaxfem_note": next((r.get("skipped") for r in records if r["solver"] == "jax-fem"),
                            None),
        "max_rel_diff": max(diffs) if diffs else None,
        "floor_ratio": plate_m["solve_s"] / plate_m["la_s"],
        "grad_over_forward": plate_m["backward_s"] / plate_m["solve_s"],
        "max_compile_s": max(r["compile_s"] for r in morphax_rows),
        "linear_solver": plate_m["linear_solver"],
    }


def plot(records, out):
    from morphax._core import new_figure, save_figure

    cases = sorted({r["case"] for r in records})
    fig = new_figure(5 * len(cases), 4)
    axes = fig.subplots(1, len(cases), squeeze=False)
    for ax, case in zip(axes[0], cases, strict=True):
        for solver in ("morphax", "felupe", "scikit-fem", "jax-fem"):
            rows = sorted((r for r in records if r["case"] == case and r["solver"] == solver
                           and "solve_s" in r), key=lambda r: r["dofs"])
            if rows:
                ax.loglog([r["dofs"] for r in rows], [r["solve_s"] for r in rows], "o-",
                          label=f"{solver} solve")
            if solver == "morphax" and rows:
                ax.loglog([r["dofs"] for r in rows], [r["la_s"] for r in rows], "k--",
                          label="morphax linear algebra")
                ax.loglog([r["dofs"] for r in rows], [r["backward_s"] for r in rows], "s:",
                          label="morphax gradient (backward)")
        ax.set(title=case, xlabel="degrees of freedom", ylabel="seconds (warm)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    return save_figure(fig, out / "fea.png", dpi=120)
