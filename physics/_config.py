"""FEA problems described by TOML files (the `morphax solve` front end).

    [mesh]                      file (relative to the TOML file): a mesh (.msh, .vtu, .xdmf,
                                any meshio format) or a geometry file meshed with gmsh (.step,
                                .stp, .iges, .igs, .brep, closed .stl, .dxf outline);
                                order = 1 | 2 (mesh files: default the file's own order, 2
                                elevates a P1 triangle mesh; geometry files: default 1, 2 gives
                                tet10 / tri6); size = element size (geometry files only, file
                                units; default the bounding-box diagonal / 20)
    [physics]                   model = "poisson" | "nonlinear-poisson" | "linear-elasticity"
                                | "neo-hookean", and its material (below);
                                source = f (scalar models) or body_force = [bx, by(, bz)];
                                2-D only: thickness > 0 (default 1: energies, reactions and
                                loads per body), plane = "strain" (default) | "stress"
                                (elasticity models)
    [[dirichlet]]               group, value (all components) or x / y / z (those components;
                                a component left out is free)
    [[traction]]                group, value = [tx, ty(, tz)] (scalar flux for Poisson)
    [[pressure]]                group, value (on the outward normal), follower = false | true
                                (true: on the deformed normal, per deformed area)
    [solver]                    load_steps >= 1, rtol >= 0, atol >= 0, max_iterations >= 1,
                                max_cuts >= 0, line_search = true | false, linear_solver =
                                "auto" (default: direct, or "amg" above
                                AUTO_ITERATIVE_UNKNOWNS) | "cholmod" | "superlu" | "amg"
    [output]                    vtu (default "solution.vtu"), png (optional); relative to the
                                TOML; field = "displacement" (default for elasticity) |
                                "von-mises" (elasticity) | "u" (default for scalar models) |
                                "flux"; scale = deformation magnification of the picture
                                (default 1); length_unit, stress_unit = names for the labels
                                (e.g. "mm", "MPa": E in MPa with lengths in mm gives MPa)

A `group` is a name the mesh has (`morphax mesh` lists them) or a list of names, whose union
is used (e.g. group = ["bottom_0", "bottom_1"]).

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

import numpy as np

from morphax._core import InputError

from ._cad import GEOMETRY_SUFFIXES
from ._io import read_mesh
from ._linear import available_solvers
from ._mesh import Mesh
from ._meshgen import elevate
from ._models import MODELS, PLANES, LinearElasticity, NeoHookean
from ._newton import NewtonOptions
from ._problem import Dirichlet, Pressure, Problem, Traction

_SECTIONS = {"mesh", "physics", "dirichlet", "traction", "pressure", "solver", "output"}
_MESH_KEYS = {"file", "order", "size"}
_OUTPUT_KEYS = {"vtu", "png", "field", "scale", "length_unit", "stress_unit"}
#: [output] field choices by the kind of unknown
FIELDS = {"vector": ("displacement", "von-mises"), "scalar": ("u", "flux")}
#: model -> accepted sets of material keys (the first one for scalar models has defaults)
_MATERIALS = {"poisson": [("k",)], "nonlinear-poisson": [("alpha",)],
              "linear-elasticity": [("E", "nu"), ("mu", "lambda")],
              "neo-hookean": [("E", "nu"), ("mu", "kappa"), ("mu", "lambda")]}


@dataclasses.dataclass
class Picture:
    """What `morphax solve` draws: field (see FIELDS), deformation scale and unit names."""

    field: str
    scale: float = 1.0
    length_unit: str = ""
    stress_unit: str = ""


@dataclasses.dataclass
class FEAJob:
    """A parsed TOML file: the problem, Newton options, output paths and the picture."""

    problem: Problem
    options: NewtonOptions
    vtu: pathlib.Path
    png: pathlib.Path | None
    source: pathlib.Path
    picture: Picture | None = None


def load_job(path) -> FEAJob:
    """Read and validate a TOML problem file. Every error names the offending key."""
    path = pathlib.Path(path)
    data = _read_toml(path)
    _only(data, _SECTIONS, "top level")
    base = path.parent
    options = _solver(_table(data, "solver"))
    output = _table(data, "output")
    vtu, png = _output(output, base)
    phys = _table(data, "physics", required=True)
    model = _model(phys)
    picture = _picture(output, model)
    mesh = _mesh(_table(data, "mesh", required=True), base)
    thickness = _plane_options(phys, mesh)
    ncomp = model.ncomp(mesh.dim)
    load = _body_load(phys, model, ncomp)
    mesh = _with_unions(mesh, data)
    dirichlet = [_dirichlet(i, entry, ncomp, mesh) for i, entry in
                 enumerate(_array(data, "dirichlet"))]
    tractions = [_traction(i, e, ncomp, mesh) for i, e in enumerate(_array(data, "traction"))]
    pressures = [_pressure(i, e, mesh) for i, e in enumerate(_array(data, "pressure"))]
    if pressures and model.field != "vector":
        raise InputError(f"[[pressure]] needs an elasticity model, not {phys['model']!r}")
    problem = Problem(mesh, model, dirichlet=dirichlet, tractions=tractions,
                      pressures=pressures, source=load, thickness=thickness)
    return FEAJob(problem, options, vtu, png, path, picture)


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
        raise InputError("[mesh] needs file = \"...\" (a gmsh .msh or another meshio format, "
                         "or a .step / .stl / .dxf geometry)")
    file = base / _string(cfg["file"], "[mesh] file")
    order = None
    if "order" in cfg:
        order = _int(cfg["order"], "[mesh] order", 1)
        if order not in (1, 2):
            raise InputError(f"[mesh] order must be 1 or 2, got {order}")
    if file.suffix.lower() in GEOMETRY_SUFFIXES:
        size = _float(cfg["size"], "[mesh] size") if "size" in cfg else None
        if size is not None and size <= 0:
            raise InputError(f"[mesh] size must be a positive length, got {cfg['size']!r}")
        return read_mesh(file, size=size, order=order)
    if "size" in cfg:
        raise InputError(f"[mesh] size is for geometry files ({', '.join(GEOMETRY_SUFFIXES)}); "
                         f"{cfg['file']!r} is already a mesh: remove size, or mesh the geometry")
    mesh = read_mesh(file)
    if order is None:
        return mesh
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
    plane = {"plane"} if MODELS[name].field == "vector" else set()
    _only(phys, {"model", "source", "body_force", "thickness"} | plane | material,
          f"[physics] for model {name!r}")
    given = {k: _float(phys[k], f"[physics] {k}") for k in material if k in phys}
    match = [c for c in choices if set(c) == set(given)]
    scalar = MODELS[name].field == "scalar"
    if not match and not (scalar and not given):
        options = " or ".join(f"({', '.join(c)})" for c in choices)
        have = f"got {', '.join(sorted(given))}" if given else "none given"
        raise InputError(f"[physics] model {name!r} needs its material: {options} ({have})")
    try:
        model = _material(name, given)
    except InputError as err:
        raise InputError(f"[physics] {err}") from None
    if "plane" in phys:
        if phys["plane"] not in PLANES:
            raise InputError(f"[physics] plane must be \"strain\" or \"stress\", got "
                             f"{phys['plane']!r}")
        model = dataclasses.replace(model, plane=phys["plane"])
    return model


def _plane_options(phys, mesh) -> float:
    """The thickness (default 1); InputError for thickness or plane on a 3-D mesh."""
    for key in ("thickness", "plane"):
        if key in phys and mesh.dim != 2:
            raise InputError(f"[physics] {key} is for 2-D meshes; this mesh is {mesh.dim}-D "
                             f"(remove {key})")
    if "thickness" not in phys:
        return 1.0
    thickness = _float(phys["thickness"], "[physics] thickness")
    if thickness <= 0:
        raise InputError(f"[physics] thickness must be positive, got {phys['thickness']!r}")
    return thickness


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
            if value not in ["auto", *available_solvers()]:
                raise InputError(f"{where} must be one of auto, {', '.join(available_solvers())}"
                                 f", got {value!r}")
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


def _picture(cfg, model) -> Picture:
    kind = model.field
    field = cfg.get("field", FIELDS[kind][0])
    if field not in FIELDS[kind]:
        raise InputError(f"[output] field must be one of {', '.join(FIELDS[kind])} for this "
                         f"model, got {field!r}")
    scale = _float(cfg["scale"], "[output] scale", 0.0) if "scale" in cfg else 1.0
    units = {k: _string(cfg[k], f"[output] {k}") for k in ("length_unit", "stress_unit")
             if k in cfg}
    return Picture(field, scale, **units)


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


def _union_name(group) -> str:
    return "+".join(group)


def _with_unions(mesh, data):
    """The mesh with a group for every list `group = [...]` of the boundary conditions: the
    union of facet sets is a facet set, otherwise (Dirichlet only) a node set."""
    facet_sets = dict(mesh.facet_sets)
    node_sets = {k: v for k, v in mesh.node_sets.items() if k not in mesh.facet_sets}
    added = False
    for section in ("dirichlet", "traction", "pressure"):
        for i, entry in enumerate(_array(data, section)):
            group = entry.get("group")
            if not isinstance(group, list):
                continue
            where = f"[[{section}]] #{i + 1}"
            if not group or not all(isinstance(g, str) for g in group):
                raise InputError(f"{where}: group must be a name or a non-empty list of names, "
                                 f"got {group!r}")
            for name in group:
                _check_group(name, where, mesh, facets=section != "dirichlet")
            new = _union_name(group)
            if new in mesh.node_sets or new in facet_sets or new in node_sets:
                continue
            added = True
            if all(g in mesh.facet_sets for g in group):
                every = np.concatenate([mesh.facet_sets[g] for g in group])
                _, first = np.unique(np.sort(every, axis=1), axis=0, return_index=True)
                facet_sets[new] = every[np.sort(first)]
            else:
                node_sets[new] = np.unique(np.concatenate([mesh.node_sets[g] for g in group]))
    if not added:
        return mesh
    return Mesh(mesh.points, mesh.cells, mesh.cell_type, node_sets=node_sets,
                facet_sets=facet_sets, cell_sets=dict(mesh.cell_sets))


def _check_group(group, where, mesh, facets=False):
    if isinstance(group, list) and group and all(isinstance(g, str) for g in group):
        group = _union_name(group)
        if group in (mesh.facet_sets if facets else mesh.node_sets):
            return group
    if not isinstance(group, str):
        raise InputError(f"{where} needs group = \"name\" or a list of names, got {group!r}")
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
