"""`morphax bench fea`: morphax against FElupe, jax-fem and scikit-fem on identical meshes.

Cases: a 2-D plane-strain perforated neo-Hookean plate compressed by 10 %, 3-D neo-Hookean
parts compressed by 10 % in z (a hex8 unit cube, and a 3 x 1 x 1 bar with two through holes
meshed by gmsh into tet4, and into tet10 by `mp.elevate` of a coarser tet4 mesh of the same
geometry), Poisson on the unit square (P1), and in the full run a >= 1M-DOF linear-elastic hex8
box solved with AMG-CG. For each mesh size: setup, compile (first solve minus warm solve), warm
solve (median), gradient (one adjoint: grad of a weighted sum of u with respect to all
parameters, minus the forward; 2-D cases and cubes under 50k DOF), the linear-algebra floor
(factorizations, triangular and Krylov solves alone), the warm tangent assembly alone
(quadrature points per second, achieved GFLOP/s against an arithmetic count, and its cost
in residual evaluations: `tangent_over_residual_3d` is the largest on the 3-D cases), peak memory,
and the relative difference between the solutions. Peers stop at matched tolerances: morphax
rtol = TOL on the free residual relative to the load's force scale, FElupe tol = TOL on the
free residual relative to the reaction forces. FElupe runs twice on 3-D cases: at its default
linear solver (SciPy spsolve) and with CHOLMOD; morphax is then also run with CHOLMOD forced
("morphax-cholmod"), so the same-solver ratio compares one factorization library on both sides.
`cli_small_solve_s` is the wall time of a second `morphax solve` subprocess of a small 2-D TOML
problem after a first one filled the persistent compile cache (a cache folder in `out`).
"""

from __future__ import annotations

import io
import json
import logging
import os
import pathlib
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from morphax import physics as mp
from morphax._core import atomic_write_bytes, atomic_write_text
from morphax.physics import validation

from ._timing import median_time, peak_rss_mb, reset_peak_rss

log = logging.getLogger("morphax.bench")

# sizes: plate mesh size, cube cells per side, bar gmsh mesh size (bar10: of the tet4 mesh that
# is elevated), poisson cells per side, amg hex8 cells per side (full run only)
QUICK = {"plate": [0.04, 0.016, 0.008], "cube": [6, 26], "bar4": [0.053], "bar10": [0.108],
         "poisson": [32, 128, 256], "amg": []}
FULL = {"plate": [0.04, 0.016, 0.008, 0.005], "cube": [6, 12, 20, 28], "bar4": [0.053, 0.04],
        "bar10": [0.108, 0.08], "poisson": [32, 128, 256, 512, 1000], "amg": [70]}
CASES = ("plate", "poisson", "cube", "bar4", "bar10", "amg")
SOLIDS_3D = ("cube", "bar4", "bar10")
LARGE_3D = 50_000     # 3-D cases at or above this many DOF enter the *_3d summary keys
STRAIN = 0.1
TOL = 1e-10           # morphax rtol and FElupe tol (see the module docstring)
CLI_MESH = 8          # cells per side of the small 2-D problem timed through `morphax solve`


def run(quick: bool, out, progress: bool) -> dict:
    """All cases; each finished record is checkpointed to `out`/fea-checkpoint.jsonl (morphax's
    solutions to `out`/u), so a rerun with the same `quick` resumes where a stopped one ended."""
    sizes, repeats = (QUICK, 2) if quick else (FULL, 3)
    out = pathlib.Path(out)
    done = _Checkpoint(out, quick)
    jobs = [(case, size) for case in CASES for size in sizes.get(case, [])]
    bar = _progress(len(jobs) + 1, progress)
    cli = done.step(("cli", CLI_MESH, "morphax-cli"), lambda: {
        "solver": "morphax-cli", "case": "cli", "size": CLI_MESH, "dofs": 2 * (CLI_MESH + 1) ** 2,
        "solve_s": _cli_small_solve(out / "cli")})["solve_s"]
    bar.update(1)
    for case, size in jobs:
        dofs = _run_case(done, case, size, out, repeats)
        bar.update(1)
        bar.set_postfix_str(f"{case} {dofs} dofs")
    bar.close()
    records = [r for r in done.records if r["case"] != "cli"]
    return {"records": records, "summary": {**_summary(records), "cli_small_solve_s": cli}}


def _run_case(done, case, size, out, repeats) -> int:
    """morphax and its peers on one case (records into the checkpoint `done`); returns DOFs.
    Peak memory counts from the start of the case (the AMG case's is its own)."""
    reset_peak_rss()
    problem, setup = _build(case, size, out)
    large = problem.dim == 3 and problem.ndof >= LARGE_3D
    reps = 1 if large else repeats      # a 3-D solve at >= 50k DOF is timed once, warm
    tag = {"case": case, "size": size, "dofs": problem.ndof}
    if case == "amg":
        done.step((case, size, "morphax"), lambda: {**_amg_case(problem), **tag,
                                                     "setup_s": setup})
        return problem.ndof
    gradient = case in ("plate", "poisson", "cube") and not large
    u = done.solution(case, size, lambda: _morphax(problem, reps, gradient=gradient),
                      {**tag, "setup_s": setup})
    peers = {"scikit-fem": lambda: _skfem(problem, reps)} if case == "poisson" else {
        "jax-fem": lambda: _jaxfem(problem, case, reps)}
    if case in SOLIDS_3D:
        peers.update({
            "morphax-cholmod": lambda: {**_morphax(problem, reps, gradient=False,
                                                   linear_solver="cholmod"),
                                        "solver": "morphax-cholmod"},
            "felupe-cholmod": lambda: _felupe(problem, case, reps, same_solver=True)})
    if case != "poisson":
        peers["felupe"] = lambda: _felupe(problem, case, reps)   # slowest last (SuperLU)
    for name, peer in peers.items():
        def compare(peer=peer):
            rec = peer()
            diff = _rel_diff(rec.pop("u"), u)
            return {**rec, **tag, "rel_diff": diff}

        done.step((case, size, name), compare)
    return problem.ndof


class _Checkpoint:
    """Finished records (one JSON line each, rewritten atomically) keyed by (case, size,
    solver), and morphax's solution of each case as .npy, for resuming an interrupted run."""

    def __init__(self, out: pathlib.Path, quick: bool):
        self.path, self.u_dir = out / "fea-checkpoint.jsonl", out / "u"
        self.quick = bool(quick)
        lines = self.path.read_text().splitlines() if self.path.exists() else []
        rows = [json.loads(line) for line in lines]
        self.records = [r for r in rows if r.pop("quick", None) == self.quick]

    def _find(self, key):
        return next((r for r in self.records
                     if (r["case"], r["size"], r["solver"]) == key), None)

    def step(self, key, compute) -> dict:
        """The record for key: from the checkpoint, or computed and checkpointed."""
        rec = self._find(key)
        if rec is None:
            rec = compute()
            self.records.append(rec)
            atomic_write_text(self.path, "".join(json.dumps({**r, "quick": self.quick},
                                                            default=float) + "\n"
                                                 for r in self.records))
        return rec

    def solution(self, case, size, compute, tag) -> np.ndarray:
        """morphax's solution u (n_nodes, c) of a case, running `compute` when not saved."""
        path = self.u_dir / f"{case}_{size:g}_{'quick' if self.quick else 'full'}.npy"
        if self._find((case, size, "morphax")) is not None and path.exists():
            return np.load(path)
        holder = {}

        def compute_and_keep():
            rec = compute()
            holder["u"] = rec.pop("u")
            buffer = io.BytesIO()
            np.save(buffer, holder["u"])
            atomic_write_bytes(path, buffer.getvalue())
            return {**rec, **tag}

        self.records = [r for r in self.records if (r["case"], r["size"], r["solver"])
                        != (case, size, "morphax")]
        self.step((case, size, "morphax"), compute_and_keep)
        return holder["u"]


def _progress(total, enabled):
    from tqdm import tqdm

    return tqdm(total=total, desc="bench fea", disable=not enabled, file=sys.stderr)


def _build(case, size, out):
    t = time.perf_counter()
    if case == "plate":
        mesh = validation.perforated_plate(mesh_size=size)
        problem = validation.compressed_plate(mesh, strain=STRAIN)
    elif case in SOLIDS_3D:
        if case == "cube":
            mesh = mp.box(size, size, size, "hex8")
        else:
            mesh = mp.read_mesh(bar_mesh(size, pathlib.Path(out) / "meshes"))
            mesh = mp.elevate(mesh) if case == "bar10" else mesh
        problem = mp.Problem(mesh, mp.NeoHookean.from_young(1.0, 0.3), dirichlet=[
            mp.Dirichlet("bottom", 0.0), mp.Dirichlet("top", (0.0, 0.0, -STRAIN))])
    elif case == "amg":
        mesh = mp.box(size, size, size, "hex8")
        problem = mp.Problem(mesh, mp.LinearElasticity(E=1.0, nu=0.3),
                             dirichlet=[mp.Dirichlet("left", 0.0)],
                             tractions=[mp.Traction("right", (0.0, 0.0, -1e-3))])
    else:
        mesh = mp.rectangle(size, size, "tri3")
        problem = mp.Problem(mesh, mp.Poisson(), source=1.0,
                             dirichlet=[mp.Dirichlet(s, 0.0) for s in mesh.facet_sets])
    return problem, time.perf_counter() - t


def bar_mesh(size: float, folder: pathlib.Path) -> pathlib.Path:
    """A gmsh tet4 mesh (.msh, written to `folder`) of the 3 x 1 x 1 bar (x along its length)
    with two through holes of radius 0.25 along y at x = 1, 2 (z = 0.5); target element size
    `size`. Physical groups: "solid" (volume), "bottom" (z = 0) and "top" (z = 1) faces."""
    from morphax._core import atomic_path, gmsh_session

    path = folder / f"bar_{size:g}.msh"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    with gmsh_session("bench_bar") as gmsh:
        occ = gmsh.model.occ
        holes = [(3, occ.addCylinder(x, 0.0, 0.5, 0.0, 1.0, 0.0, 0.25)) for x in (1.0, 2.0)]
        occ.cut([(3, occ.addBox(0.0, 0.0, 0.0, 3.0, 1.0, 1.0))], holes)
        occ.synchronize()
        eps = 1e-6
        for name, z in (("bottom", 0.0), ("top", 1.0)):
            faces = gmsh.model.getEntitiesInBoundingBox(-eps, -eps, z - eps, 3 + eps, 1 + eps,
                                                        z + eps, 2)
            gmsh.model.addPhysicalGroup(2, [tag for _, tag in faces], name=name)
        volumes = [tag for _, tag in gmsh.model.getEntities(3)]
        gmsh.model.addPhysicalGroup(3, volumes, name="solid")
        gmsh.option.setNumber("Mesh.MeshSizeMin", size)
        gmsh.option.setNumber("Mesh.MeshSizeMax", size)
        gmsh.model.mesh.generate(3)
        with atomic_path(path) as tmp:
            gmsh.write(str(tmp))
    return path


def _morphax(problem, repeats, *, gradient=True, linear_solver=None):
    options = mp.NewtonOptions(rtol=TOL, linear_solver=linear_solver)
    t = time.perf_counter()
    mp.solve(problem, options=options)
    first = time.perf_counter() - t
    solve_time, sol = median_time(lambda: mp.solve(problem, options=options), repeats)
    report = sol.report
    rec = {"solver": "morphax", "dofs": problem.ndof, "compile_s": max(0.0, first - solve_time),
           "solve_s": solve_time, "la_s": report.time_linear_algebra,
           "assembly_s": report.time_assembly, "newton_iterations": report.iterations,
           "factorizations": report.factorizations, "chord_steps": report.chord_steps,
           "linear_solver": report.linear_solver, "linear_iterations": report.linear_iterations,
           "solver_memory_mb": report.solver_memory / 2**20, "residual": report.residual,
           **_tangent_speed(problem, sol.u)}
    if gradient:
        weights = jnp.asarray(np.random.default_rng(0).standard_normal(sol.u.shape))

        def loss(p):
            return jnp.sum(weights * mp.solve(problem, p, options=options).u)

        grad = jax.grad(loss)
        p = problem.params()
        jax.block_until_ready(grad(p))
        grad_time, _ = median_time(lambda: jax.block_until_ready(grad(p)), repeats)
        rec.update(grad_s=grad_time, backward_s=max(0.0, grad_time - solve_time))
    return {**rec, "peak_rss_mb": peak_rss_mb(), "u": np.asarray(sol.u)}


def tangent_flops_per_point(k: int, c: int, d: int, closed_form: bool = False) -> int:
    """Arithmetic of one quadrature point's tangent block for k nodes, c components, d
    dimensions: B^T (D B) with B block-sparse, 2 (k c)^2 d + 2 (c d)^2 k c flops; with a
    closed-form tangent (`Model.tangent_terms`), g = A dN (2 k c d), dN_r.dN_s (2 k^2 d) and
    the two outer products b g g^T, c g g^T (4 (k c)^2)."""
    if closed_form:
        return 2 * k * c * d + 2 * k * k * d + 4 * (k * c) ** 2
    return 2 * (k * c) ** 2 * d + 2 * (c * d) ** 2 * k * c


def _tangent_speed(problem, u):
    """Warm time of one `problem.tangent_values(u, p)` call, the quadrature points it assembles
    per second, the GFLOP/s that `tangent_flops_per_point` implies, and its cost in residuals
    (`problem.residual(u, p)`); both medians of 5 warm calls."""
    p, u = problem.params(), jnp.asarray(u).ravel()
    jax.block_until_ready(problem.tangent_values(u, p))
    jax.block_until_ready(problem.residual(u, p))
    seconds, _ = median_time(lambda: jax.block_until_ready(problem.tangent_values(u, p)), 5)
    residual, _ = median_time(lambda: jax.block_until_ready(problem.residual(u, p)), 5)
    points = problem.mesh.n_cells * len(problem.elem.quadrature(problem.degree)[1])
    k, c, d = problem.mesh.cells.shape[1], problem.ncomp, problem.dim
    material = problem.params()["material"]
    closed_form = problem.model.closed_form_tangent(jnp.zeros((c, d)), material) is not None
    return {"tangent_s": seconds, "residual_s": residual,
            "tangent_over_residual": seconds / residual, "quadrature_points": points,
            "assembly_points_per_s": points / seconds,
            "tangent_gflops": tangent_flops_per_point(k, c, d, closed_form) * points / seconds / 1e9}


def _amg_case(problem):
    """The million-DOF linear-elastic solve with AMG-CG: first (compile included) and warm time,
    Krylov iterations, the AMG hierarchy's memory and the process's peak resident memory."""
    options = mp.NewtonOptions(rtol=TOL, linear_solver="amg")
    t = time.perf_counter()
    mp.solve(problem, options=options)
    first = time.perf_counter() - t
    solve_time, sol = median_time(lambda: mp.solve(problem, options=options), 1)
    report = sol.report
    return {"solver": "morphax", "dofs": problem.ndof, "first_solve_s": first,
            "compile_s": max(0.0, first - solve_time), "solve_s": solve_time,
            "la_s": report.time_linear_algebra, "assembly_s": report.time_assembly,
            "newton_iterations": report.iterations, "linear_solver": report.linear_solver,
            "linear_iterations": report.linear_iterations,
            "solver_memory_mb": report.solver_memory / 2**20, "peak_rss_mb": peak_rss_mb()}


def _cholmod_solve(A, b):
    """FElupe's `solver=` with CHOLMOD (what morphax's direct path uses)."""
    from sksparse.cholmod import cholesky

    return cholesky(A.tocsc())(np.asarray(b).ravel())


def _felupe(problem, case, repeats, same_solver=False):
    name = "felupe-cholmod" if same_solver else "felupe"
    try:
        import felupe as fem
    except ImportError as err:
        return {"solver": name, "skipped": f"felupe is not installed ({err})", "u": None}
    if same_solver:
        try:
            import sksparse.cholmod  # noqa: F401
        except ImportError as err:
            return {"solver": name, "skipped": f"scikit-sparse is not installed ({err})",
                    "u": None}
    mesh = problem.mesh
    x = np.asarray(mesh.points)
    model = problem.model
    regions = {"hex8": ("hexahedron", fem.RegionHexahedron), "tet4": ("tetra", fem.RegionTetra),
               "tet10": ("tetra10", fem.RegionQuadraticTetra)}

    def setup():
        if case == "plate":
            region = fem.RegionTriangle(fem.Mesh(x, np.asarray(mesh.cells), "triangle"))
            field = fem.FieldContainer([fem.FieldPlaneStrain(region, dim=2)])
            top = x[:, 1].max()
            bcs = {"bottom": fem.Boundary(field[0], fy=0.0),
                   "top_x": fem.Boundary(field[0], fy=top, skip=(0, 1)),
                   "top_y": fem.Boundary(field[0], fy=top, skip=(1, 0), value=-STRAIN * top)}
        else:   # the 4-point degree-2 rule on tet10 is FElupe's default, as it is morphax's
            cell_name, region_type = regions[mesh.cell_type]
            region = region_type(fem.Mesh(x, np.asarray(mesh.cells), cell_name))
            field = fem.FieldContainer([fem.Field(region, dim=3)])
            bcs = {"bottom": fem.Boundary(field[0], fz=0.0),
                   "top_xy": fem.Boundary(field[0], fz=1.0, skip=(0, 0, 1)),
                   "top_z": fem.Boundary(field[0], fz=1.0, skip=(1, 1, 0), value=-STRAIN)}
        solid = fem.SolidBody(fem.NeoHookeCompressible(mu=model.mu, lmbda=model.kappa), field)
        dof0, dof1 = fem.dof.partition(field, bcs)
        return field, solid, dof0, dof1, fem.dof.apply(field, bcs, dof0)

    t = time.perf_counter()
    _, solid, *_ = setup()
    setup_time = time.perf_counter() - t
    solid.assemble.matrix()
    assembly_time, _ = median_time(solid.assemble.matrix, 2)
    extra = {"solver": _cholmod_solve} if same_solver else {}

    def solve():
        field, solid, dof0, dof1, ext0 = setup()
        result = fem.newtonraphson(items=[solid], dof1=dof1, dof0=dof0, ext0=ext0, verbose=0,
                                   tol=TOL, **extra)
        if not result.success:
            raise mp.ConvergenceError(f"{name} did not converge")
        return field[0].values.copy(), result.iterations

    if repeats > 1:
        solve()  # warm-up
    solve_time, (u, iterations) = median_time(solve, repeats)
    return {"solver": name, "setup_s": setup_time, "solve_s": solve_time - setup_time,
            "assembly_matrix_s": assembly_time, "newton_iterations": iterations,
            "peak_rss_mb": peak_rss_mb(), "u": u}


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
    jf = mp.JaxFemProblem(jaxfem_problem(case, problem, STRAIN))
    setup_time = time.perf_counter() - t
    # its PETSc solver (BiCGStab(l) with ILU, jax-fem's defaults for it; 1.6x faster than its
    # SciPy spsolve on the 14k-DOF plate), Newton stopped by the relative residual alone at
    # morphax's tolerance (its default also stops at an absolute 1e-6)
    options = {"petsc_solver": {}, "rel_tol": TOL, "tol": 0.0}
    t = time.perf_counter()
    try:
        u, _, reason = jf.run_jaxfem_solver(solver_options=options)
    except Exception as err:   # jax-fem asserts on NaN residuals, PETSc raises on breakdown
        return {"solver": "jax-fem", "skipped": f"jax-fem's solver failed: {type(err).__name__}: "
                f"{str(err)[:200]}", "u": None}
    first = time.perf_counter() - t
    if u is None:
        return {"solver": "jax-fem", "skipped": reason, "u": None}
    solve_time, (u, _, _) = median_time(lambda: jf.run_jaxfem_solver(solver_options=options),
                                        repeats)
    return {"solver": "jax-fem", "setup_s": setup_time, "compile_s": max(0.0, first - solve_time),
            "solve_s": solve_time, "peak_rss_mb": peak_rss_mb(), "u": u}


def _rel_diff(u_peer, u):
    if u_peer is None:
        return None
    u_peer = np.asarray(u_peer).reshape(np.shape(u))
    return float(np.linalg.norm(u_peer - u) / np.linalg.norm(u))


_CLI_TOML = """\
[mesh]
file = "square.msh"
[physics]
model = "neo-hookean"
E = 1.0
nu = 0.3
[[dirichlet]]
group = "bottom"
value = 0.0
[[dirichlet]]
group = "top"
y = -0.05
"""


def _cli_small_solve(folder: pathlib.Path) -> float:
    """Wall time (s) of a second `morphax solve` subprocess of a small 2-D neo-Hookean problem
    (a CLI_MESH x CLI_MESH tri3 square), after a first run filled the persistent compile cache
    (kept in `folder`/cache, so the user's cache is neither used nor changed)."""
    folder.mkdir(parents=True, exist_ok=True)
    mp.write_mesh(folder / "square.msh", mp.rectangle(CLI_MESH, CLI_MESH, "tri3"))
    (folder / "square.toml").write_text(_CLI_TOML)
    env = {**os.environ, "XDG_CACHE_HOME": str(folder / "cache")}
    command = [sys.executable, "-m", "morphax", "--quiet", "solve", str(folder / "square.toml")]
    times = []
    for _ in range(2):
        t = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=folder, capture_output=True, text=True)
        times.append(time.perf_counter() - t)
        if done.returncode:
            raise mp.SolverError(f"`morphax solve` failed: {done.stderr.strip()[-500:]}")
    return times[1]


def _summary(records):
    def pick(case, solver):
        rows = [r for r in records if r["case"] == case and r["solver"] == solver
                and "solve_s" in r]
        return max(rows, key=lambda r: r["dofs"]) if rows else None

    def ratios(peer, ours):
        """peer / ours solve time on each large 3-D case (all 3-D cases if none is large)."""
        rows = [r for r in records if r["case"] in SOLIDS_3D and r["solver"] == ours]
        large = [r for r in rows if r["dofs"] >= LARGE_3D] or rows
        out = []
        for r in large:
            other = next((o for o in records if o["case"] == r["case"]
                          and o["size"] == r["size"] and o["solver"] == peer
                          and "solve_s" in o), None)
            if other is not None:
                out.append(other["solve_s"] / r["solve_s"])
        return out

    plate_m, plate_f = pick("plate", "morphax"), pick("plate", "felupe")
    morphax_rows = [r for r in records if r["solver"] == "morphax"]
    solids = [r for r in morphax_rows if r["case"] in SOLIDS_3D]
    solids = [r for r in solids if r["dofs"] >= LARGE_3D] or solids
    jaxfem = pick("plate", "jax-fem")
    poisson_m, poisson_s = pick("poisson", "morphax"), pick("poisson", "scikit-fem")
    amg = pick("amg", "morphax")
    diffs = [r["rel_diff"] for r in records if r.get("rel_diff") is not None]
    vs_felupe, vs_same = ratios("felupe", "morphax"), ratios("felupe-cholmod", "morphax-cholmod")
    vs_jaxfem = ratios("jax-fem", "morphax")
    plate = {} if plate_m is None else {
        "plate_dofs": plate_m["dofs"],
        "speedup_vs_felupe": plate_f["solve_s"] / plate_m["solve_s"] if plate_f else None,
        "speedup_vs_jaxfem": jaxfem["solve_s"] / plate_m["solve_s"] if jaxfem else None,
        "floor_ratio": plate_m["solve_s"] / plate_m["la_s"],
        "grad_over_forward": plate_m["backward_s"] / plate_m["solve_s"],
        "linear_solver": plate_m["linear_solver"]}
    return {
        **plate,
        "jaxfem_note": next((r.get("skipped") for r in records if r["solver"] == "jax-fem"),
                            None),
        "max_rel_diff": max(diffs) if diffs else None,
        "max_compile_s": max(r["compile_s"] for r in morphax_rows),
        "dofs_3d": [r["dofs"] for r in solids],
        "speedup_vs_felupe_3d": min(vs_felupe) if vs_felupe else None,
        "speedup_vs_felupe_same_solver_3d": min(vs_same) if vs_same else None,
        "speedup_vs_jaxfem_3d": min(vs_jaxfem) if vs_jaxfem else None,
        "assembly_points_per_s_3d": min((r["assembly_points_per_s"] for r in solids),
                                        default=None),
        "floor_ratio_3d": max((r["solve_s"] / r["la_s"] for r in solids), default=None),
        "tangent_over_residual_3d": max((r["tangent_over_residual"] for r in solids),
                                        default=None),
        "poisson_dofs": poisson_m["dofs"] if poisson_m else None,
        "poisson_speedup_vs_skfem": poisson_s["solve_s"] / poisson_m["solve_s"]
        if poisson_m and poisson_s else None,
        "amg_million_dof_s": amg["solve_s"] if amg else None,
        "amg_peak_mem_gb": amg["peak_rss_mb"] / 1024 if amg else None,
    }


def table(records) -> str:
    """The 3-D rows side by side: solve, linear algebra, tangent assembly (morphax) against
    FElupe's `assemble.matrix()` on the same mesh, and achieved GFLOP/s."""
    lines = ["case   dofs     solver            solve_s   la_s   tangent_s  pts/s     GFLOP/s  "
             "rel_diff"]
    for r in records:
        if r["case"] not in SOLIDS_3D or "solve_s" not in r:
            continue
        tangent = r.get("tangent_s", r.get("assembly_matrix_s"))
        lines.append(f"{r['case']:<6} {r['dofs']:<8} {r['solver']:<17} {r['solve_s']:8.2f} "
                     f"{r.get('la_s', float('nan')):6.2f} {tangent or float('nan'):10.3f} "
                     f"{r.get('assembly_points_per_s', float('nan')):9.3g} "
                     f"{r.get('tangent_gflops', float('nan')):8.3f} "
                     f"{r.get('rel_diff') if r.get('rel_diff') is not None else '-'}")
    return "\n".join(lines)


def plot(records, out):
    from morphax._core import new_figure, save_figure

    cases = sorted({r["case"] for r in records})
    fig = new_figure(5 * len(cases), 4)
    axes = fig.subplots(1, len(cases), squeeze=False)
    for ax, case in zip(axes[0], cases, strict=True):
        for solver in ("morphax", "morphax-cholmod", "felupe", "felupe-cholmod", "scikit-fem",
                       "jax-fem"):
            rows = sorted((r for r in records if r["case"] == case and r["solver"] == solver
                           and "solve_s" in r), key=lambda r: r["dofs"])
            if rows:
                ax.loglog([r["dofs"] for r in rows], [r["solve_s"] for r in rows], "o-",
                          label=f"{solver} solve")
            if solver == "morphax" and rows:
                ax.loglog([r["dofs"] for r in rows], [r["la_s"] for r in rows], "k--",
                          label="morphax linear algebra")
                grads = [r for r in rows if "backward_s" in r]
                if grads:
                    ax.loglog([r["dofs"] for r in grads], [r["backward_s"] for r in grads],
                              "s:", label="morphax gradient (backward)")
        ax.set(title=case, xlabel="degrees of freedom", ylabel="seconds (warm)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    return save_figure(fig, out / "fea.png", dpi=120)
