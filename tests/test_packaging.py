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
    assert _packages_on_disk() == set(config["packages"])
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
