"""Property-based tests of the inputs of `morphax design` and of design files (hypothesis): any
generated design file, NMA config (TOML/JSON), numeric flag, --resume combination or damaged
checkpoint either passes validation or exits 2 with one line `morphax CMD: error: ...` naming
the key, flag or file, never a traceback, and leaves no new file in the output folder.

Validation only: `morphax design` runs with its Trainer replaced by a stub that stops the run
where set-up would start, so no mesh is built and nothing is trained. Each property counts the
inputs it tried in COUNTS (printed at the end of the module with -s)."""

import collections
import hashlib
import json
import math
import pathlib
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import morphax.learners.nma as nma
from morphax import DataError, InputError, SolverError
from morphax.cli import main
from morphax.geometry import CellularSolid
from morphax.learners.nma import NMAConfig, latest_checkpoint, preset

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                      HealthCheck.too_slow])
COUNTS = collections.Counter()


class Reached(Exception):
    """Raised by the stub Trainer: validation passed and set-up would start here."""


class StubTrainer:
    """Stands in for nma.Trainer: records the config it was given, then stops the run."""

    configs = []

    def __init__(self, config, *, out=None, system=None):
        self.configs.append(config)
        raise Reached


@pytest.fixture()
def stub(monkeypatch):
    StubTrainer.configs = []
    monkeypatch.setattr(nma, "Trainer", StubTrainer)
    return StubTrainer


def _files(folder: pathlib.Path) -> list:
    return sorted((p, p.stat().st_size) for p in folder.rglob("*"))


def _design(argv, capsys, folder: pathlib.Path, names) -> tuple[int | None, str]:
    """Run `morphax design ...` with the stub Trainer. Returns (None, "") when validation
    passed (no file may have been written yet), else (2, message) after checking the message is
    one line naming one of `names`, and that `folder` is unchanged."""
    before = _files(folder)
    capsys.readouterr()
    try:
        status = main(argv)
    except Reached:
        assert _files(folder) == before, argv
        return None, ""
    err = capsys.readouterr().err
    assert status == 2, (argv, err)
    lines = [line for line in err.rstrip("\n").split("\n") if not line.startswith("WARNING ")]
    assert len(lines) == 1 and lines[0].startswith("morphax design: error: "), (argv, err)
    assert any(n in err for n in names), (names, err)
    assert _files(folder) == before, (argv, err)
    return status, err


# ----- design files ------------------------------------------------------------------------------

_JUNK = st.one_of(st.none(), st.booleans(), st.integers(-3, 40), st.just(10**30),
                  st.floats(allow_nan=True, allow_infinity=True),
                  st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=5),
                  st.sampled_from(["PP", "P.", "PS", "L", "morphax.cellular-solid"]))
_VALUE = st.one_of(_JUNK, st.lists(_JUNK, max_size=3),
                   st.dictionaries(st.sampled_from(["cell", "radii", "kind", "r0", "size"]),
                                   _JUNK, max_size=2))
_DESIGN_KEYS = ["format", "version", "name", "cell_size", "grid", "n_angles", "pores",
                "large_pores", "constraints", "bogus"]
_PORE_KEYS = ["cell", "radii", "form"]
#: (where, key, value): where "top", "pore" (the first pore) or "constraints"; None deletes
_EDIT = st.tuples(st.sampled_from(["top", "top", "pore", "constraints"]),
                  st.sampled_from(_DESIGN_KEYS + _PORE_KEYS + ["r_min", "r_max", "min_ligament"]),
                  st.one_of(st.none(), _VALUE))
_DAMAGE = st.one_of(st.none(), st.integers(0, 400).map(lambda k: ("truncate", k)),
                    st.binary(max_size=8).map(lambda b: ("garbage", b)))


def _edit(data: dict, edits) -> dict:
    for where, key, value in edits:
        table = {"top": data, "pore": data["pores"][0] if data.get("pores") and
                 isinstance(data["pores"], list) and isinstance(data["pores"][0], dict) else {},
                 "constraints": data.get("constraints") if isinstance(data.get("constraints"),
                                                                       dict) else {}}[where]
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value
    return data


def _encode(data: dict, damage) -> bytes:
    text = json.dumps(data, allow_nan=True).encode()
    if damage is None:
        return text
    kind, arg = damage
    return text[:arg] if kind == "truncate" else arg + text[len(arg):]


@pytest.fixture(scope="module")
def design_dict():
    return CellularSolid.lattice(1, 2, 4.0, 0.3, n_angles=8).to_dict()


@settings(max_examples=250, **SETTINGS)
@given(edits=st.lists(_EDIT, max_size=3), damage=_DAMAGE)
def test_any_design_file_loads_or_names_the_key(design_dict, tmp_path, capsys, edits, damage):
    COUNTS["design files"] += 1
    data = _edit(json.loads(json.dumps(design_dict)), edits)
    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        folder = pathlib.Path(tmp)
        path = folder / "d.json"
        path.write_bytes(_encode(data, damage))
        try:
            design = CellularSolid.load(path)
        except InputError as err:
            names = [k for _, k, _ in edits] + ["d.json"]
            assert any(n in str(err) for n in names), (edits, damage, str(err))
            # the command line says the same in one line and writes nothing
            before = _files(folder)
            capsys.readouterr()
            status = main(["export", str(path), "--out", str(folder / "p.stl"), "--thickness", "1",
                           "--quiet"])
            err_text = capsys.readouterr().err
            assert status == 2 and err_text.count("\n") == 1, err_text
            assert err_text.startswith("morphax export: error: ") and "d.json" in err_text
            assert _files(folder) == before
        else:
            COUNTS["design files that loaded"] += 1
            assert np.isfinite(design.radii).all() and design.cell_size > 0
            assert CellularSolid.from_json(design.to_json()) == design


def test_design_missing_grid_or_not_utf8_is_named(design_dict, tmp_path):
    data = dict(design_dict)
    del data["grid"]
    path = tmp_path / "d.json"
    path.write_text(json.dumps(data))
    with pytest.raises(DataError, match="has no 'grid'"):
        CellularSolid.load(path)
    path.write_bytes(b"\xff\xfe garbage")
    with pytest.raises(DataError, match="d.json.*not UTF-8"):
        CellularSolid.load(path)
    with pytest.raises(InputError, match="is a folder"):
        CellularSolid.load(tmp_path)


# ----- NMA configs and the flags of `morphax design` ---------------------------------------------

_FIELDS = [k for k in preset().to_dict()]
_CONFIG_VALUE = st.one_of(_JUNK, st.lists(st.one_of(st.integers(-2, 12), _JUNK), max_size=3),
                          st.sampled_from(["translation", "shape", "digits", "rotation"]),
                          st.sampled_from([0.001, 0.5, 3, 4, 5, 1e309, -0.0]))
_FLAG_TEXT = st.one_of(st.sampled_from(["0", "1", "2", "3", "-1", "0.5", "1e-3", "nan", "inf",
                                        "-inf", "1e309", "x", "", "4.0", "4294967296"]),
                       st.integers(-3, 50).map(str))
_FLAGS = {"--lr": _FLAG_TEXT, "--batch": _FLAG_TEXT, "--seed": _FLAG_TEXT,
          "--iterations": _FLAG_TEXT, "--task": st.sampled_from(["translation", "shape", "x"]),
          "--scale": st.sampled_from(["small", "paper", "huge"]), "--quick": st.none(),
          "--frozen": st.none()}


def _flags(options: dict) -> st.SearchStrategy:
    """Lists of flag (and value text) arguments: each flag at most once."""
    return st.fixed_dictionaries({}, optional=options).map(
        lambda d: [x for k, v in d.items() for x in ((k,) if v is None else (k, v))])


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v if x is not None) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items()
                               if x is not None) + "}"
    return json.dumps(v, ensure_ascii=False)


def _config_file(changes: dict, kind: str, damage) -> tuple[str, bytes]:
    data = {**preset("translation", quick=True).to_dict(), **changes}
    data = {k: v for k, v in data.items() if v is not None}
    if kind == "json":
        return "c.json", _encode(data, damage)
    body = "\n".join(f"{k} = {_toml_value(v)}" for k, v in data.items())
    text = (body if kind == "toml" else "[design]\n" + body).encode()
    if damage is not None:
        text = text[:damage[1]] if damage[0] == "truncate" else damage[1] + text[len(damage[1]):]
    return "c.toml", text


@settings(max_examples=250, **SETTINGS)
@given(changes=st.dictionaries(st.sampled_from(_FIELDS + ["bogus"]), st.one_of(
           st.none(), _CONFIG_VALUE), max_size=3),
       kind=st.sampled_from(["json", "toml", "toml-table", None]), damage=_DAMAGE,
       flags=_flags(_FLAGS), out=st.sampled_from(["run", "sub/run", "file", "file/run"]))
def test_any_config_and_flags_validate_or_name_the_key(tmp_path, capsys, stub, changes, kind,
                                                       damage, flags, out):
    COUNTS["configs and flags"] += 1
    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        folder = pathlib.Path(tmp)
        (folder / "file").write_text("")
        argv = ["design", "--quiet", "--out", str(folder / out), *flags]
        names = [*_FLAGS, *changes, "--out", "file", "task", "lattice", "usage"]
        if kind is not None:
            name, data = _config_file(changes, kind, damage)
            (folder / name).write_bytes(data)
            argv += ["--config", str(folder / name)]
            names.append(name)
        status, err = _design(argv, capsys, folder, names)
        if status is None:
            COUNTS["configs and flags that validated"] += 1
            cfg = stub.configs[-1]
            assert isinstance(cfg, NMAConfig)
            assert all(math.isfinite(v) for v in cfg.to_dict().values()
                       if isinstance(v, float))
            assert cfg.lr > 0 and cfg.batch >= 1 and cfg.iterations >= 0


def test_lr_inf_and_bad_config_are_refused_before_any_work(tmp_path, capsys, stub):
    out = tmp_path / "run"
    assert main(["design", "--lr", "inf", "--out", str(out)]) == 2
    assert "--lr" in capsys.readouterr().err and not out.exists()
    cfg = tmp_path / "c.toml"
    for text, expected in [("lr = 'fast'", "lr must be a finite number"),
                           ("[design\nlr = 1", "cannot read"), ("batch = 2.5", "batch must be"),
                           ("codesign = 1", "codesign must be true or false"),
                           ("hidden = [30, -1]", "hidden must be")]:
        cfg.write_text(text)
        assert main(["design", "--config", str(cfg), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert expected in err and "c.toml" in err, err
    cfg.write_bytes(b"lr = \xff\n")
    assert main(["design", "--config", str(cfg), "--out", str(out)]) == 2
    assert "not UTF-8" in capsys.readouterr().err and not out.exists()
    assert stub.configs == []


# ----- --resume and damaged checkpoints ---------------------------------------------------------

def _fake_checkpoint(folder: pathlib.Path, config: NMAConfig, iteration: int) -> None:
    """A checkpoint as Trainer.save_checkpoint writes it, with a dummy state file."""
    ck = folder / "checkpoint"
    ck.mkdir(parents=True, exist_ok=True)
    state = f"state {iteration}".encode()
    name = f"state-{iteration:07d}"
    (ck / f"{name}.eqx").write_bytes(state)
    meta = {"file": f"{name}.eqx", "sha256": hashlib.sha256(state).hexdigest(),
            "config": config.to_dict(), "iteration": iteration, "history": [],
            "evaluations": [], "failed_solves": 0, "retried_solves": 0, "shortened_steps": 0,
            "train_time": 0.0}
    (ck / f"{name}.json").write_text(json.dumps(meta))
    (ck / "latest.json").write_text(json.dumps(meta))


_RESUME_FLAGS = {"--lr": st.sampled_from(["0.005", "0.01", "inf"]),
                 "--batch": st.sampled_from(["4", "2"]), "--seed": st.sampled_from(["0", "3"]),
                 "--task": st.sampled_from(["translation", "rotation"]), "--frozen": st.none(),
                 "--iterations": st.sampled_from(["10", "500", "-1"]),
                 "--scale": st.just("paper"), "--quick": st.none(), "--config": st.just("c.toml"),
                 "--out": st.sampled_from(["RUN", "other"])}
_CHECKPOINT_FILES = ["latest.json", "state-0000040.json", "state-0000040.eqx",
                     "state-0000020.json", "state-0000020.eqx"]


@settings(max_examples=120, **SETTINGS)
@given(flags=_flags(_RESUME_FLAGS),
       damage=st.lists(st.tuples(st.sampled_from(_CHECKPOINT_FILES), _DAMAGE), max_size=3))
def test_any_resume_flags_and_damage_resume_or_say_why(tmp_path, capsys, stub, flags, damage):
    COUNTS["resume flags and damaged checkpoints"] += 1
    cfg = preset("translation", quick=True)
    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        run = pathlib.Path(tmp) / "run"
        _fake_checkpoint(run, cfg, 20)
        _fake_checkpoint(run, cfg, 40)
        for name, dmg in damage:
            path = run / "checkpoint" / name
            if dmg is not None:
                data = path.read_bytes()
                path.write_bytes(data[:dmg[1]] if dmg[0] == "truncate" else
                                 dmg[1] + data[len(dmg[1]):])
        (run.parent / "c.toml").write_text("lr = 0.1\n")
        flags = [str(run) if f == "RUN" else str(run.parent / f) if f in ("c.toml", "other")
                 else f for f in flags]
        argv = ["design", "--quiet", "--resume", str(run), *flags]
        status, err = _design(argv, capsys, run.parent, [*_RESUME_FLAGS, "checkpoint"])
        if status is None:
            COUNTS["resumes that validated"] += 1
            got = stub.configs[-1]
            assert got.replace(iterations=cfg.iterations) == cfg
        elif "damaged" in err:
            assert "checkpoint" in err


def test_resume_refuses_a_different_config_and_falls_back_from_a_damaged_one(tmp_path, capsys,
                                                                             stub, caplog):
    cfg = preset("translation", quick=True)
    _fake_checkpoint(tmp_path, cfg, 20)
    _fake_checkpoint(tmp_path, cfg, 40)
    for flags, expected in [(["--lr", "0.5"], "--lr 0.5 differs from the run's lr"),
                            (["--frozen"], "--frozen differs"),
                            (["--task", "rotation"], "--task rotation differs"),
                            (["--quick"], "--quick sets up a new run")]:
        assert main(["design", "--resume", str(tmp_path), *flags]) == 2
        assert expected in capsys.readouterr().err
    with pytest.raises(Reached):   # equal values are accepted
        main(["design", "--resume", str(tmp_path), "--lr", str(cfg.lr), "--iterations", "90"])
    assert stub.configs[-1] == cfg.replace(iterations=90)
    # a truncated latest state: named, and the previous checkpoint is used
    ck = tmp_path / "checkpoint"
    (ck / "state-0000040.eqx").write_bytes(b"stat")
    (ck / "latest.json").write_text('{"file": "state-00')
    meta = latest_checkpoint(ck)
    assert meta["iteration"] == 20
    assert "state-0000040.eqx" in caplog.text and "damaged" in caplog.text
    (ck / "state-0000020.json").write_bytes(b"\x00" * 10)
    with pytest.raises(DataError, match="every checkpoint .* is damaged"):
        latest_checkpoint(ck)


# ----- a run that fails after set-up ------------------------------------------------------------

class FailingTrainer:
    """A Trainer whose set-up succeeds and whose training fails at once."""

    def __init__(self, config, *, out=None, system=None):
        self.config = config

    def run(self, progress=False):
        raise SolverError("training diverged at iteration 0 (stub)")


def test_a_failed_new_run_leaves_no_run_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(nma, "Trainer", FailingTrainer)
    out = tmp_path / "run"
    assert main(["design", "--quiet", "--quick", "--out", str(out)]) == 2
    assert "diverged" in capsys.readouterr().err
    assert not out.exists()
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["design", "--quiet", "--quick", "--out", str(out)]) == 2
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_report_counts():
    """Print how many inputs the properties above tried (run with -s)."""
    tried = sum(v for k, v in COUNTS.items() if " that " not in k)
    print(f"\nproperty inputs: {dict(COUNTS)}; {tried} tried in all")
