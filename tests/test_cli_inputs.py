"""Property-based tests of the command-line front ends (hypothesis): any generated input either
succeeds with finite results, or exits 2 with one line `morphax CMD: error: ...` that names the
key, flag or file, never a traceback, and leaves no new file in the output folder. Inputs run
in-process through `morphax.cli.main`."""

import json
import math
import pathlib
import tempfile

import meshio
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from morphax import physics as mp
from morphax.cli import main

SETTINGS = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                      HealthCheck.too_slow])
#: the solver's own failures for inputs that are valid but cannot be solved
SOLVER_FAILURES = ("Newton did not converge", "elements invert", "singular", "factoriz")


def _run(argv, capsys, folder: pathlib.Path, names: tuple[str, ...]):
    """Run the CLI; on failure check the one-line message names one of `names` and that the
    folder holds no new file. Returns (status, message)."""
    before = sorted(folder.rglob("*"))
    capsys.readouterr()
    status = main(argv)
    err = capsys.readouterr().err
    event(f"exit status {status}")   # shown by --hypothesis-show-statistics
    if status == 0:
        return status, err
    assert status == 2, (argv, err)
    lines = err.rstrip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith(f"morphax {argv[0]}"), (argv, err)
    assert any(n in err for n in names) or any(s in err for s in SOLVER_FAILURES), (names, err)
    assert sorted(folder.rglob("*")) == before, (argv, err)
    return status, err


# ----- the TOML front end of `morphax solve` ---------------------------------------------------

_SCALARS = st.one_of(
    st.integers(-3, 30), st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, -1.0, 0.3, 0.5, 1e-12, 1e300]), st.booleans(),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=6),
    st.sampled_from(["left", "right", "domain", "down", "x*y", "superlu", "u.vtu", "p.png"]))
_VALUES = st.one_of(_SCALARS, st.lists(_SCALARS, max_size=3),
                    st.dictionaries(st.sampled_from(["a", "value"]), _SCALARS, max_size=1))
_KEYS = {"mesh": ["file", "order"],
         "physics": ["model", "k", "alpha", "E", "nu", "mu", "kappa", "lambda", "source",
                     "body_force"],
         "solver": ["load_steps", "rtol", "atol", "max_iterations", "max_cuts", "line_search",
                    "linear_solver"],
         "output": ["vtu", "png"],
         "dirichlet": ["group", "value", "x", "y"], "traction": ["group", "value"],
         "pressure": ["group", "value", "follower"]}
_SMALL = st.floats(-0.01, 0.01)
#: values that are valid for each key, so that many generated problems do solve
_VALID = {"file": st.just("square.msh"), "order": st.sampled_from([1, 2]),
          "model": st.sampled_from(["poisson", "nonlinear-poisson", "linear-elasticity",
                                    "neo-hookean"]),
          "k": st.floats(0.1, 10), "alpha": st.floats(0, 1), "E": st.floats(0.1, 10),
          "nu": st.floats(-0.9, 0.49), "mu": st.floats(0.1, 10), "kappa": st.floats(0.1, 10),
          "lambda": st.floats(0.1, 10), "source": st.floats(-2, 2),
          "body_force": st.lists(_SMALL, min_size=2, max_size=2),
          "load_steps": st.integers(1, 3), "rtol": st.floats(1e-12, 1e-6),
          "atol": st.floats(0, 1e-12), "max_iterations": st.integers(5, 30),
          "max_cuts": st.integers(0, 5), "line_search": st.booleans(),
          "linear_solver": st.sampled_from(["superlu", "cholmod"]),
          "vtu": st.sampled_from(["a.vtu", "sub/b.vtu"]),
          "group": st.sampled_from(["left", "right", "bottom", "top"]), "value": _SMALL,
          "x": _SMALL, "y": _SMALL, "follower": st.booleans()}
_PLACES = [(section, key) for section, keys in _KEYS.items() for key in [*keys, "bogus"]]
_ANY_CHANGE = st.sampled_from(_PLACES).flatmap(lambda place: st.tuples(
    st.just(place[0]), st.just(place[1]),
    st.one_of(_VALID.get(place[1], _VALUES), _VALUES, st.none())))   # None deletes the key
_VALID_CHANGE = st.sampled_from([p for p in _PLACES if p[1] in _VALID]).flatmap(
    lambda place: st.tuples(st.just(place[0]), st.just(place[1]), _VALID[place[1]]))
#: half of the documents get valid values only (most of them solve), half anything
_MUTATIONS = st.booleans().flatmap(
    lambda valid: st.lists(_VALID_CHANGE if valid else _ANY_CHANGE, min_size=1, max_size=3))


def _base(model: str) -> dict:
    physics = {"model": "poisson", "source": 1.0} if model == "poisson" else \
        {"model": "neo-hookean", "E": 1.0, "nu": 0.3, "body_force": [0.0, -0.01]}
    doc = {"mesh": {"file": "square.msh"}, "physics": physics, "solver": {"load_steps": 1},
           "output": {"vtu": "out/u.vtu"}, "dirichlet": [{"group": "left", "value": 0.0}]}
    if model != "poisson":
        doc["pressure"] = [{"group": "right", "value": 0.01}]
    return doc


def _toml(doc: dict) -> str:
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float) and not math.isfinite(v):
            return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items()) + "}"
        return json.dumps(v, ensure_ascii=False)

    out = []
    for name, section in doc.items():
        tables = section if isinstance(section, list) else [section]
        for table in tables:
            out.append(f"[[{name}]]" if isinstance(section, list) else f"[{name}]")
            out += [f"{json.dumps(k)} = {value(v)}" for k, v in table.items()]
    return "\n".join(out) + "\n"


@pytest.fixture(scope="module")
def mesh_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("square")
    mp.write_mesh(folder / "square.msh", mp.rectangle(1, 1))
    return folder


@settings(max_examples=50, **SETTINGS)
@given(model=st.sampled_from(["poisson", "neo-hookean"]),
       mutations=_MUTATIONS)
def test_any_toml_problem_solves_or_names_the_key(mesh_folder, capsys, model, mutations):
    doc = _base(model)
    for section, key, new in mutations:
        table = doc.setdefault(section, [{}] if section in ("dirichlet", "traction",
                                                            "pressure") else {})
        table = table[0] if isinstance(table, list) else table
        if new is None:
            table.pop(key, None)
        else:
            table[key] = new
    with tempfile.TemporaryDirectory(dir=mesh_folder) as tmp:
        folder = pathlib.Path(tmp)
        (folder / "square.msh").write_bytes((mesh_folder / "square.msh").read_bytes())
        (folder / "p.toml").write_text(_toml(doc), encoding="utf-8")
        keys = tuple(k for _, k, _ in mutations) + tuple(s for s, _, _ in mutations) + (
            "p.toml", "mesh", "model")
        status, _ = _run(["solve", "--quiet", str(folder / "p.toml")], capsys, folder, keys)
        if status == 0:
            vtu = next(folder.rglob("*.vtu"))
            assert np.all(np.isfinite(meshio.read(vtu).point_data["u"]))


# ----- lattice, mesh and export arguments -------------------------------------------------------

_NUMBER_TEXT = st.one_of(
    st.sampled_from(["0", "1", "2", "-1", "0.5", "nan", "inf", "-inf", "1e309", "abc", "", "3,1",
                     "0.99", "16", "3"]),
    st.integers(-5, 40).map(str),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-2, max_value=50).map(repr))


def _flags(options: dict) -> st.SearchStrategy:
    """Lists of (flag, value text) pairs: each flag at most once, values from its strategy."""
    return st.fixed_dictionaries({}, optional={k: v for k, v in options.items()}).map(
        lambda d: [x for k, v in d.items() for x in ((k,) if v is None else (k, v))])


_LATTICE = {"--rows": _NUMBER_TEXT, "--cols": _NUMBER_TEXT, "--cell-size": _NUMBER_TEXT,
            "--porosity": st.sampled_from(["0.1", "0.3", "0", "1", "nan", "0.95", "x"]),
            "--pore": st.sampled_from(["circle", "bertoldi", "radii", "star"]),
            "--c1": _NUMBER_TEXT, "--c2": _NUMBER_TEXT,
            "--radii": st.sampled_from(["1,0.8,1,0.8", "1,nan", "0,1,1", "-1", "a,b", "1,1,1,1,1"]),
            "--n-angles": _NUMBER_TEXT, "--solid": st.sampled_from(["0,0", "9,9", "1", "x,y"]),
            "--empty": st.sampled_from(["0,0", "-1,0", "0,1"]),
            "--min-ligament": _NUMBER_TEXT, "--r-min": _NUMBER_TEXT, "--r-max": _NUMBER_TEXT}


_LATTICE_BASE = {"--rows": "2", "--cols": "2", "--cell-size": "4", "--porosity": "0.3"}


@settings(max_examples=150, **SETTINGS)
@given(changes=st.lists(st.sampled_from(sorted(_LATTICE)), max_size=3, unique=True).flatmap(
    lambda keys: st.tuples(*[st.one_of(_LATTICE[k], st.none()) for k in keys]).map(
        lambda values: dict(zip(keys, values, strict=True)))),
    out=st.sampled_from(["d.json", "sub/d.json", "taken", "file/d.json"]))
def test_any_lattice_arguments(tmp_path, capsys, changes, out):
    options = {**_LATTICE_BASE, **changes}   # None drops a flag (also a required one)
    flags = [x for k, v in options.items() if v is not None for x in (k, v)]
    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        folder = pathlib.Path(tmp)
        (folder / "taken").mkdir()
        (folder / "file").write_text("")
        argv = ["lattice", *flags, "--out", str(folder / out), "--quiet"]
        names = (*_LATTICE, "--out", "cell", "porosity", "pore", "radii", "wall", "ligament",
                 "radius", "lattice", "usage")
        status, _ = _run(argv, capsys, folder, names)
        if status == 0:
            assert json.loads((folder / out).read_text())["pores"] is not None


@pytest.fixture(scope="module")
def design_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("design") / "design.json"
    assert main(["lattice", "--rows", "1", "--cols", "2", "--cell-size", "4", "--porosity",
                 "0.3", "--out", str(path), "--quiet"]) == 0
    return path


_MESH = {"--size": st.sampled_from(["1.0", "2", "0", "-1", "nan", "inf", "x"]),
         "--order": st.sampled_from(["1", "2", "3", "x"]),
         "--preview": st.sampled_from(["p.png", "p.txt", "taken"]), "--no-preview": st.none()}


@settings(max_examples=40, **SETTINGS)
@given(flags=_flags(_MESH), out=st.sampled_from(["m.msh", "m.vtu", "m.stl", "taken", "file/m.msh"]))
def test_any_mesh_arguments(design_file, tmp_path, capsys, flags, out):
    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        folder = pathlib.Path(tmp)
        (folder / "taken").mkdir()
        (folder / "file").write_text("")
        flags = [str(folder / f) if f in ("p.png", "p.txt", "taken") else f for f in flags]
        argv = ["mesh", str(design_file), "--out", str(folder / out), *flags, "--quiet"]
        status, _ = _run(argv, capsys, folder, (*_MESH, "--out", "taken", "file"))
        if status == 0:
            assert np.isfinite(np.asarray(mp.read_mesh(folder / out).points)).all()


_EXPORT = {"--thickness": st.sampled_from(["1", "0.5", "0", "-2", "nan", "inf", "x"]),
           "--segments": st.sampled_from(["32", "8", "7", "0", "x", "1.5"]),
           "--material": st.sampled_from(["TPU", "pla", "1.1", "0", "-1", "inf", "nan",
                                          "unobtainium"]),
           "--nozzle": st.sampled_from(["0.4", "0", "-0.4", "nan", "inf", "x"]),
           "--deformed": st.sampled_from(["garbage.npz", "missing.npz", "taken", "res.npz"]),
           "--no-report": st.none()}


@settings(max_examples=50, **SETTINGS)
@given(flags=_flags(_EXPORT), out=st.sampled_from(["p.stl", "p.3mf", "p.obj", "taken",
                                                   "file/p.stl"]))
def test_any_export_arguments(design_file, tmp_path, capsys, flags, out):
    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        folder = pathlib.Path(tmp)
        (folder / "taken").mkdir()
        (folder / "file").write_text("")
        (folder / "garbage.npz").write_bytes(b"PK\x03\x04 garbage")
        np.savez(folder / "res.npz", points=np.zeros((3, 2)), cells=np.array([[0, 1, 2]]),
                 cell_type="tri3", u=np.full((3, 2), np.nan))
        flags = [str(folder / f) if f in ("garbage.npz", "missing.npz", "taken", "res.npz")
                 else f for f in flags]
        argv = ["export", str(design_file), "--out", str(folder / out), *flags, "--quiet"]
        if "--thickness" not in flags:
            argv += ["--thickness", "1"]
        status, err = _run(argv, capsys, folder, (*_EXPORT, "--out", "taken", "file", ".npz"))
        assert "pickle" not in err
        if status == 0:
            assert (folder / out).stat().st_size > 0
