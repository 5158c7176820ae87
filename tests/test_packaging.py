"""The four top-level folders install under the morphax namespace (DESIGN.md, layout)."""

import pathlib
import subprocess
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]
FOLDERS = {"morphax": "morphax", "physics": "morphax.physics", "geometry": "morphax.geometry",
           "fabrication": "morphax.fabrication", "learners": "morphax.learners",
           "tutorials": "morphax.tutorials"}


def _packages_on_disk():
    found = set()
    for folder, dotted in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((dotted, *rel)))
    return found


def test_every_subpackage_folder_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    data_only = {"morphax.learners.meta_pde.shipped"}   # the shipped initializations
    assert _packages_on_disk() | data_only == set(config["packages"])
    for folder, dotted in FOLDERS.items():
        assert config["package-dir"][dotted] == folder


def test_no_python_files_at_repo_root():
    assert not list(ROOT.glob("*.py"))


def test_cli_version_and_help(tmp_path):
    # from outside the checkout, so the installed package is what runs
    out = subprocess.run([sys.executable, "-m", "morphax", "--version"], capture_output=True,
                         text=True, check=True, cwd=tmp_path)
    assert out.stdout.strip().endswith(__import__("morphax").__version__)
    helptext = subprocess.run([sys.executable, "-m", "morphax", "--help"], capture_output=True,
                              text=True, check=True, cwd=tmp_path).stdout
    assert "solve" in helptext and "bench" in helptext


def test_a_checkout_runs_from_its_root(tmp_path):
    """`python -m pytest` / `python -m morphax` in the repository root put the checkout's
    morphax/ folder first on sys.path; its subpackages must still be found (beside it)."""
    code = ("import morphax.physics, morphax.learners.meta_pde, morphax.tutorials; "
            "print(morphax.physics.__file__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert pathlib.Path(out.stdout.strip()).parent == ROOT / "physics"


def test_wheel_ships_data_and_tutorials(tmp_path):
    """The built wheel holds the shipped Meta-PDE initializations and the tutorials, and the
    build warns about no package data it would leave out."""
    import zipfile

    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                          "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "would be ignored" not in out.stdout + out.stderr
    names = zipfile.ZipFile(next(tmp_path.glob("morphax-*.whl"))).namelist()
    assert "morphax/learners/meta_pde/shipped/poisson_maml.npz" in names
    assert "morphax/tutorials/meta_pde_maml.py" in names
    assert "morphax/_core/__init__.py" in names
    assert not any(n.startswith(("tests/", "benchmarks/", "physics/")) for n in names)
