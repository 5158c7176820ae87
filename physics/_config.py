"""FEA problems described by TOML files (the `morphax solve` front end).

    [mesh]                      file (relative to the TOML file), order = 1 | 2
    [physics]                   model = "poisson" | "nonlinear-poisson" | "linear-elasticity"
                                | "neo-hookean"; parameters (k; alpha; E, nu; mu, kappa or E, nu);
                                source = f (scalar models) or body_force = [bx, by(, bz)]
    [[dirichlet]]               group, value (all components) or x / y / z (those components;
                                a component left out is free)
    [[traction]]                group, value = [tx, ty(, tz)] (scalar flux for Poisson)
    [[pressure]]                group, value (on the outward reference normal)
    [solver]                    load_steps, rtol, atol, max_iterations, line_search, linear_solver
    [output]                    vtu (default "solution.vtu"), png (optional); relative to the TOML
"""

from __future__ import annotations

import dataclasses
import pathlib
import tomllib

from morphax._core import InputError

from ._io import read_mesh
from ._meshgen import elevate
from ._models import MODELS, NeoHookean
from ._newton import NewtonOptions
from ._problem import Dirichlet, Pressure, Problem, Traction

_SECTIONS = {"mesh", "physics", "dirichlet", "traction", "pressure", "solver", "output"}
_MESH_KEYS = {"file", "order"}
_SOLVER_KEYS = {"load_steps", "rtol", "atol", "max_iterations", "line_search", "linear_solver",
                "max_cuts"}
_OUTPUT_KEYS = {"vtu", "png"}
_PARAMS = {"poisson": {"k"}, "nonlinear-poisson": {"alpha"}, "linear-elasticity": {"E", "nu"},
           "neo-hookean": {"mu", "kappa", "E", "nu"}}


@dataclasses.dataclass
class FEAJob:
    """A parsed TOML file: the problem, Newton options and output paths."""

    problem: Problem
    options: NewtonOptions
    vtu: pathlib.Path
    png: pathlib.Path | None
    source: pathlib.Path


def load_job(path) -> FEAJob:
    """Read and validate a TOML problem file. Every error names the offending key."""
    path = pathlib.Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"problem file {str(path)!r} does not exist") from None
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"{path}: not valid TOML ({err})") from None
    _only(data, _SECTIONS, "top level")
    base = path.parent
    mesh_cfg = _table(data, "mesh", required=True)
    _only(mesh_cfg, _MESH_KEYS, "[mesh]")
    if "file" not in mesh_cfg:
        raise InputError("[mesh] needs file = \"...\" (a gmsh .msh or another meshio format)")
    mesh = read_mesh(base / str(mesh_cfg["file"]))
    order = _int(mesh_cfg.get("order", 1), "[mesh] order")
    if order not in (1, 2):
        raise InputError(f"[mesh] order must be 1 or 2, got {order}")
    if order == 2:
        mesh = elevate(mesh)

    phys = _table(data, "physics", required=True)
    name = phys.get("model")
    if name not in MODELS:
        raise InputError(f"[physics] model must be one of {sorted(MODELS)}, got {name!r}")
    loads = {"source", "body_force"}
    _only(phys, {"model"} | _PARAMS[name] | loads, f"[physics] for model {name!r}")
    params = {k: _float(phys[k], f"[physics] {k}") for k in _PARAMS[name] if k in phys}
    if name == "neo-hookean" and {"E", "nu"} & params.keys():
        if {"mu", "kappa"} & params.keys() or not {"E", "nu"} <= params.keys():
            raise InputError("[physics] give neo-hookean either E and nu, or mu and kappa")
        model = NeoHookean.from_young(params["E"], params["nu"])
    else:
        model = MODELS[name](**params)
    model.check_params(model.params())
    vector = model.field == "vector"
    if vector and "source" in phys:
        raise InputError(f"[physics] model {name!r} takes body_force = [...], not source")
    if not vector and "body_force" in phys:
        raise InputError(f"[physics] model {name!r} takes source = f, not body_force")
    load = phys.get("body_force", phys.get("source"))

    ncomp = model.ncomp(mesh.dim)
    dirichlet = [_dirichlet(i, entry, ncomp, mesh) for i, entry in
                 enumerate(_array(data, "dirichlet"))]
    tractions = [Traction(*_group_value(i, e, "traction", mesh)) for i, e in
                 enumerate(_array(data, "traction"))]
    pressures = [Pressure(*_group_value(i, e, "pressure", mesh)) for i, e in
                 enumerate(_array(data, "pressure"))]
    problem = Problem(mesh, model, dirichlet=dirichlet, tractions=tractions,
                      pressures=pressures, source=load)

    solver_cfg = _table(data, "solver")
    _only(solver_cfg, _SOLVER_KEYS, "[solver]")
    options = NewtonOptions(**solver_cfg)
    if options.load_steps < 1 or options.max_iterations < 1:
        raise InputError("[solver] load_steps and max_iterations must be at least 1")
    out = _table(data, "output")
    _only(out, _OUTPUT_KEYS, "[output]")
    vtu = base / str(out.get("vtu", "solution.vtu"))
    if vtu.suffix != ".vtu":
        raise InputError(f"[output] vtu must end in .vtu, got {vtu.name!r}")
    png = base / str(out["png"]) if "png" in out else None
    return FEAJob(problem, options, vtu, png, path)


def _only(table, allowed, where):
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise InputError(f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} in "
                         f"{where}; allowed: {', '.join(sorted(allowed))}")


def _table(data, name, required=False):
    if name not in data:
        if required:
            raise InputError(f"the problem file needs a [{name}] section")
        return {}
    if not isinstance(data[name], dict):
        raise InputError(f"[{name}] must be a table")
    return data[name]


def _array(data, name):
    entries = data.get(name, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise InputError(f"{name} entries must be written [[{name}]] (an array of tables)")
    return entries


def _float(value, where):
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{where} must be a number, got {value!r}")
    return float(value)


def _int(value, where):
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{where} must be an integer, got {value!r}")
    return value


def _check_group(group, where, mesh, facets=False):
    if not isinstance(group, str):
        raise InputError(f"{where} needs group = \"name\"")
    names = mesh.facet_sets if facets else mesh.node_sets
    if group not in names:
        raise InputError(f"{where}: the mesh has no {'facet ' if facets else ''}group {group!r}; "
                         f"it has {sorted(names) or 'none'}")


def _dirichlet(i, entry, ncomp, mesh):
    where = f"[[dirichlet]] #{i + 1}"
    axes = ["x", "y", "z"][:ncomp] if ncomp > 1 else []
    _only(entry, {"group", "value", *axes}, where)
    _check_group(entry.get("group"), where, mesh)
    picked = [k for k in axes if k in entry]
    if ("value" in entry) == bool(picked):
        raise InputError(f"{where}: give either value (all components) or "
                         f"{' / '.join(axes) or 'value'} (single components)")
    if "value" in entry:
        value = entry["value"]
        vals = value if isinstance(value, list) else [value]
        if len(vals) not in (1, ncomp):
            raise InputError(f"{where}: value needs 1 or {ncomp} numbers, got {len(vals)}")
        return Dirichlet(entry["group"], [_float(v, f"{where} value") for v in vals])
    comps = [axes.index(k) for k in picked]
    return Dirichlet(entry["group"], [_float(entry[k], f"{where} {k}") for k in picked], comps)


def _group_value(i, entry, kind, mesh):
    where = f"[[{kind}]] #{i + 1}"
    _only(entry, {"group", "value"}, where)
    _check_group(entry.get("group"), where, mesh, facets=True)
    if "value" not in entry:
        raise InputError(f"{where} needs value = ...")
    value = entry["value"]
    if kind == "pressure":
        return entry["group"], _float(value, f"{where} value")
    vals = value if isinstance(value, list) else [value]
    return entry["group"], [_float(v, f"{where} value") for v in vals]
