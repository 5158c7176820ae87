"""FEA problems described by TOML files (the `morphax solve` front end).

    [mesh]                      file (relative to the TOML file); order = 1 | 2 (default: the
                                file's own order; order = 2 elevates a P1 mesh)
    [physics]                   model = "poisson" | "nonlinear-poisson" | "linear-elasticity"
                                | "neo-hookean", and its material (below);
                                source = f (scalar models) or body_force = [bx, by(, bz)]
    [[dirichlet]]               group, value (all components) or x / y / z (those components;
                                a component left out is free)
    [[traction]]                group, value = [tx, ty(, tz)] (scalar flux for Poisson)
    [[pressure]]                group, value (on the outward normal), follower = false | true
                                (true: on the deformed normal, per deformed area)
    [solver]                    load_steps >= 1, rtol >= 0, atol >= 0, max_iterations >= 1,
                                max_cuts >= 0, line_search = true | false, linear_solver
    [output]                    vtu (default "solution.vtu"), png (optional); relative to the TOML

Materials: poisson k (default 1); nonlinear-poisson alpha (default 0.1); linear-elasticity
E and nu, or mu and lambda; neo-hookean E and nu, or mu and kappa (= lambda). The elasticity
material is required. Volumetric convention: neo-hookean's kappa multiplies (ln J)^2 / 2 and is
the Lame lambda, not the bulk modulus: E, nu map to mu = E / (2 (1 + nu)) and
kappa = lambda = E nu / ((1 + nu)(1 - 2 nu)), so small strains reproduce linear-elasticity with
the same E, nu (plane strain in 2-D). nu = 0.5 (incompressible) has no displacement-only
formulation here: use nu = 0.49. Every number must be finite; every error names its key.
"""

from __future__ import annotations

import dataclasses
import math
import pathlib
import tomllib

from morphax._core import InputError

from ._io import read_mesh
from ._linear import available_solvers
from ._meshgen import elevate
from ._models import MODELS, LinearElasticity, NeoHookean
from ._newton import NewtonOptions
from ._problem import Dirichlet, Pressure, Problem, Traction

_SECTIONS = {"mesh", "physics", "dirichlet", "traction", "pressure", "solver", "output"}
_MESH_KEYS = {"file", "order"}
_OUTPUT_KEYS = {"vtu", "png"}
#: model -> accepted sets of material keys (the first one for scalar models has defaults)
_MATERIALS = {"poisson": [("k",)], "nonlinear-poisson": [("alpha",)],
              "linear-elasticity": [("E", "nu"), ("mu", "lambda")],
              "neo-hookean": [("E", "nu"), ("mu", "kappa"), ("mu", "lambda")]}


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
    data = _read_toml(path)
    _only(data, _SECTIONS, "top level")
    base = path.parent
    options = _solver(_table(data, "solver"))
    vtu, png = _output(_table(data, "output"), base)
    mesh = _mesh(_table(data, "mesh", required=True), base)
    phys = _table(data, "physics", required=True)
    model = _model(phys)
    ncomp = model.ncomp(mesh.dim)
    load = _body_load(phys, model, ncomp)
    dirichlet = [_dirichlet(i, entry, ncomp, mesh) for i, entry in
                 enumerate(_array(data, "dirichlet"))]
    tractions = [_traction(i, e, ncomp, mesh) for i, e in enumerate(_array(data, "traction"))]
    pressures = [_pressure(i, e, mesh) for i, e in enumerate(_array(data, "pressure"))]
    if pressures and model.field != "vector":
        raise InputError(f"[[pressure]] needs an elasticity model, not {phys['model']!r}")
    problem = Problem(mesh, model, dirichlet=dirichlet, tractions=tractions,
                      pressures=pressures, source=load)
    return FEAJob(problem, options, vtu, png, path)


def _read_toml(path) -> dict:
    if path.is_dir():
        raise InputError(f"problem file {str(path)!r} is a folder; give a .toml file")
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise InputError(f"problem file {str(path)!r} does not exist") from None
    except OSError as err:
        raise InputError(f"cannot read problem file {str(path)!r}: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise InputError(f"problem file {str(path)!r} is not UTF-8 text (byte {err.start}); "
                         "save it as UTF-8 TOML") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"{path}: not valid TOML ({err})") from None


def _mesh(cfg, base):
    _only(cfg, _MESH_KEYS, "[mesh]")
    if "file" not in cfg:
        raise InputError("[mesh] needs file = \"...\" (a gmsh .msh or another meshio format)")
    mesh = read_mesh(base / _string(cfg["file"], "[mesh] file"))
    if "order" not in cfg:
        return mesh
    order = _int(cfg["order"], "[mesh] order", 1)
    if order not in (1, 2):
        raise InputError(f"[mesh] order must be 1 or 2, got {order}")
    if order == 1 and mesh.element.order == 2:
        raise InputError(f"[mesh] order = 1, but {cfg['file']!r} has second-order "
                         f"{mesh.cell_type} cells; set order = 2 (or leave order out), or mesh "
                         "the file with linear cells")
    return elevate(mesh) if order == 2 else mesh


def _model(phys):
    name = phys.get("model")
    if not isinstance(name, str) or name not in MODELS:
        raise InputError(f"[physics] model must be one of {', '.join(sorted(MODELS))}; "
                         f"got {name!r}")
    choices = _MATERIALS[name]
    material = set().union(*choices)
    _only(phys, {"model", "source", "body_force"} | material, f"[physics] for model {name!r}")
    given = {k: _float(phys[k], f"[physics] {k}") for k in material if k in phys}
    match = [c for c in choices if set(c) == set(given)]
    scalar = MODELS[name].field == "scalar"
    if not match and not (scalar and not given):
        options = " or ".join(f"({', '.join(c)})" for c in choices)
        have = f"got {', '.join(sorted(given))}" if given else "none given"
        raise InputError(f"[physics] model {name!r} needs its material: {options} ({have})")
    try:
        return _material(name, given)
    except InputError as err:
        raise InputError(f"[physics] {err}") from None


def _material(name, given):
    if "E" in given:
        E, nu = given["E"], given["nu"]
        return NeoHookean.from_young(E, nu) if name == "neo-hookean" else LinearElasticity(E, nu)
    if "lambda" in given:
        mu, lam = given["mu"], given["lambda"]
        if name == "neo-hookean":
            model = NeoHookean(mu=mu, kappa=lam)
        else:
            if not (mu > 0 and lam + mu > 0):
                raise InputError(f"mu must be positive and lambda > -mu, got mu = {mu}, "
                                 f"lambda = {lam}")
            model = LinearElasticity(E=mu * (3 * lam + 2 * mu) / (lam + mu),
                                     nu=lam / (2 * (lam + mu)))
    else:
        model = MODELS[name](**given)
    model.check_params(model.params())
    return model


def _body_load(phys, model, ncomp):
    name = phys["model"]
    if model.field == "vector":
        if "source" in phys:
            raise InputError(f"[physics] model {name!r} takes body_force = [...], not source")
        if "body_force" in phys:
            return _numbers(phys["body_force"], "[physics] body_force", ncomp)
        return None
    if "body_force" in phys:
        raise InputError(f"[physics] model {name!r} takes source = f, not body_force")
    return _float(phys["source"], "[physics] source") if "source" in phys else None


def _solver(cfg) -> NewtonOptions:
    kinds = {"load_steps": (int, 1), "max_iterations": (int, 1), "max_cuts": (int, 0),
             "rtol": (float, 0.0), "atol": (float, 0.0), "line_search": (bool, None),
             "linear_solver": (str, None)}
    _only(cfg, kinds, "[solver]")
    out = {}
    for key, value in cfg.items():
        kind, low = kinds[key]
        where = f"[solver] {key}"
        if kind is int:
            out[key] = _int(value, where, low)
        elif kind is float:
            out[key] = _float(value, where, low)
        elif kind is bool:
            if not isinstance(value, bool):
                raise InputError(f"{where} must be true or false, got {value!r}")
            out[key] = value
        else:
            out[key] = _string(value, where)
            if value not in available_solvers():
                raise InputError(f"{where} must be one of {', '.join(available_solvers())}, "
                                 f"got {value!r}")
    options = NewtonOptions(**out)
    if options.rtol == 0 and options.atol == 0:
        raise InputError("[solver] rtol and atol are both 0: no residual can meet that; set "
                         "rtol (e.g. 1e-10) or atol above 0")
    return options


def _output(cfg, base):
    _only(cfg, _OUTPUT_KEYS, "[output]")
    vtu = base / _string(cfg.get("vtu", "solution.vtu"), "[output] vtu")
    if vtu.suffix != ".vtu":
        raise InputError(f"[output] vtu must end in .vtu, got {vtu.name!r}")
    if "png" not in cfg:
        return vtu, None
    png = base / _string(cfg["png"], "[output] png")
    if png.suffix.lower() != ".png":
        raise InputError(f"[output] png must end in .png, got {png.name!r}")
    return vtu, png


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
        raise InputError(f"[{name}] must be a table (a [{name}] section), got {data[name]!r}")
    return data[name]


def _array(data, name):
    entries = data.get(name, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise InputError(f"{name} entries must be written [[{name}]] (an array of tables)")
    return entries


def _float(value, where, low=None):
    """A finite number (>= low when given)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{where} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise InputError(f"{where} must be a finite number, got {value!r}")
    if low is not None and value < low:
        raise InputError(f"{where} must be at least {low}, got {value!r}")
    return float(value)


def _int(value, where, low):
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{where} must be an integer, got {value!r}")
    if value < low:
        raise InputError(f"{where} must be at least {low}, got {value}")
    return value


def _string(value, where):
    if not isinstance(value, str) or not value:
        raise InputError(f"{where} must be a non-empty string, got {value!r}")
    return value


def _numbers(value, where, n):
    """A list of n finite numbers (a single number when n = 1)."""
    values = value if isinstance(value, list) else [value]
    if n > 1 and not isinstance(value, list) or len(values) != n:
        shape = "a number" if n == 1 else f"a list of {n} numbers"
        raise InputError(f"{where} must be {shape}, got {value!r}")
    return [_float(v, f"{where}[{i}]" if n > 1 else where) for i, v in enumerate(values)]


def _check_group(group, where, mesh, facets=False):
    if not isinstance(group, str):
        raise InputError(f"{where} needs group = \"name\", got {group!r}")
    names = mesh.facet_sets if facets else mesh.node_sets
    if group in names:
        return group
    kind = "facet groups (boundaries)" if facets else "facet or node groups (boundaries, points)"
    if group in mesh.cell_sets or (facets and group in mesh.node_sets):
        what = "a cell group (a region)" if group in mesh.cell_sets else "a node group (points)"
        raise InputError(f"{where}: {group!r} is {what}; it needs one of the mesh's {kind}: "
                         f"{sorted(names) or 'none'}")
    raise InputError(f"{where}: the mesh has no group {group!r}; its {kind}: "
                     f"{sorted(names) or 'none'}")


def _dirichlet(i, entry, ncomp, mesh):
    where = f"[[dirichlet]] #{i + 1}"
    axes = ["x", "y", "z"][:ncomp] if ncomp > 1 else []
    _only(entry, {"group", "value", *axes}, where)
    group = _check_group(entry.get("group"), where, mesh)
    picked = [k for k in axes if k in entry]
    if ("value" in entry) == bool(picked):
        raise InputError(f"{where}: give either value (all components) or "
                         f"{' / '.join(axes) or 'value'} (single components)")
    if "value" in entry:
        value = entry["value"]
        n = len(value) if isinstance(value, list) else 1
        if n not in (1, ncomp):
            raise InputError(f"{where}: value needs 1 or {ncomp} numbers, got {value!r}")
        return Dirichlet(group, _numbers(value, f"{where} value", n))
    comps = [axes.index(k) for k in picked]
    return Dirichlet(group, [_float(entry[k], f"{where} {k}") for k in picked], comps)


def _traction(i, entry, ncomp, mesh):
    where = f"[[traction]] #{i + 1}"
    _only(entry, {"group", "value"}, where)
    group = _check_group(entry.get("group"), where, mesh, facets=True)
    if "value" not in entry:
        raise InputError(f"{where} needs value = ...")
    return Traction(group, _numbers(entry["value"], f"{where} value", ncomp))


def _pressure(i, entry, mesh):
    where = f"[[pressure]] #{i + 1}"
    _only(entry, {"group", "value", "follower"}, where)
    group = _check_group(entry.get("group"), where, mesh, facets=True)
    if "value" not in entry:
        raise InputError(f"{where} needs value = ...")
    follower = entry.get("follower", False)
    if not isinstance(follower, bool):
        raise InputError(f"{where} follower must be true or false, got {follower!r}")
    return Pressure(group, _float(entry["value"], f"{where} value"), follower)
