"""Library code changes no global state (DESIGN.md, conventions 3 and 10): in a fresh
interpreter, importing every morphax module and drawing the library's plots leaves
matplotlib's backend unresolved, `os.environ` and every `jax.config` value as they were; and
the library's source never reaches for pyplot, `matplotlib.use`, `jax.config.update` or
`os.environ` writes (pyvista imports pyplot itself when it renders, so that part is read from
the source)."""

import json
import os
import pathlib
import re
import subprocess
import sys
import tokenize

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

SCRIPT = r"""
import importlib, json, os, pkgutil, sys, tempfile, pathlib
import jax, matplotlib
jax.config.update("jax_enable_x64", True)   # the caller's choice, as the CLI and tests make it
env0, config0 = dict(os.environ), dict(jax.config.values)
backend0 = matplotlib.rcParams._get_backend_or_none()

import morphax
skip = {"morphax.__main__"}
names = []
for pkg in ("morphax", "morphax.physics", "morphax.geometry", "morphax.fabrication",
            "morphax.learners", "morphax.bench"):
    mod = importlib.import_module(pkg)
    for info in pkgutil.walk_packages(mod.__path__[:1], pkg + "."):   # its own folder only
        if info.name not in skip and not info.name.startswith("morphax.tutorials"):
            names.append(info.name)
for name in sorted(set(names)):
    importlib.import_module(name)

from morphax import physics as mp
from morphax.bench import meta_pde, nma, rad
from morphax.fabrication import export_part
from morphax.geometry import CellularSolid, mesh_design, plot_mesh_groups

out = pathlib.Path(tempfile.mkdtemp())
mesh = mp.rectangle(3, 3)
mp.plot_png(out / "u.png", mesh, u=jax.numpy.ones((mesh.n_nodes, 2)))
design = CellularSolid.lattice(2, 2, 5.0, 0.3)
plot_mesh_groups(out / "groups.png", mesh_design(design))
export_part(out / "part.stl", design=design, thickness=1.0)          # draws the print report
nma.plot([{"task": "translation", "mode": "codesign", "curve": [1.0, 0.5],
           "heldout_error": 0.1}], out)
rad.plot([{"kind": "memory", "net": "fc", "keep": 0.1, "total_mb": 1.8, "paper_mb": 1.8}], out)
meta_pde.plot([{"family": "poisson", "method": "fea", "rel_mse": 1e-3, "time_s": 4e-3}], out)

config1 = dict(jax.config.values)
print(json.dumps({
    "modules": len(names),
    "pictures": sorted(p.name for p in out.iterdir()),
    "backend": [backend0, matplotlib.rcParams._get_backend_or_none()],
    "env_changed": sorted(k for k in set(env0) | set(os.environ) if env0.get(k) != os.environ.get(k)),
    "config_changed": sorted(k for k in config0 if repr(config0[k]) != repr(config1.get(k))),
}))
"""


def test_library_leaves_global_state_alone(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "DISPLAY")}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["modules"] > 50
    assert {"u.png", "groups.png", "part.stl", "nma.png", "rad.png", "meta_pde.png"} <= \
        set(seen["pictures"])
    assert seen["backend"] == [None, None], "a library call chose matplotlib's backend"
    assert seen["env_changed"] == []
    assert seen["config_changed"] == []


LIBRARY = ["physics", "geometry", "fabrication", "learners", "morphax/_core", "morphax/bench"]
FORBIDDEN = re.compile(r"matplotlib\.use\(|import matplotlib\.pyplot|from matplotlib import pyplot|"
                       r"jax\.config\.update\(|os\.environ\.(update|setdefault)\(|"
                       r"os\.environ\[[^]]+\]\s*=")
#: sanctioned, scoped changes that put things back: the x64 flag that jax-fem's import flips,
#: restored by the adapter.
SCOPED = {("physics/_jaxfem.py", "jax.config.update(,x64)")}


def _code_lines(path):
    """(line number, the line's code without strings and comments) of a Python file."""
    lines = {}
    with tokenize.open(path) as f:
        for tok in tokenize.generate_tokens(f.readline):
            if tok.type not in (tokenize.STRING, tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE,
                                tokenize.INDENT, tokenize.DEDENT):
                lines.setdefault(tok.start[0], []).append(tok.string)
    return {n: " ".join(parts) for n, parts in lines.items()}


@pytest.mark.parametrize("folder", LIBRARY)
def test_library_source_reaches_for_no_global_state(folder):
    hits = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for n, code in _code_lines(path).items():
            compact = code.replace(" ", "")
            if FORBIDDEN.search(compact) and not any(rel == f and compact.startswith(c.replace(" ", ""))
                                                     for f, c in SCOPED):
                hits.append(f"{rel}:{n}: {code}")
    assert not hits, hits
