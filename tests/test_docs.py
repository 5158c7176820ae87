"""The documentation site (mkdocs.yml, docs/_hooks.py) builds in strict mode: a broken link or
cross-reference, a docstring that does not render, or a failing tutorial fails the build.

The default run builds the whole site without running the tutorials (about 10 s of CPU); the
slow test builds it with MORPHAX_DOCS_EXECUTE=1, which runs every tutorial at its quick size
and puts its output and pictures on its page.
"""

import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def build(site: pathlib.Path, execute: bool) -> str:
    env = {k: v for k, v in os.environ.items() if k != "MORPHAX_DOCS_EXECUTE"}
    env.update(NO_MKDOCS_2_WARNING="1", MPLBACKEND="Agg", **({"MORPHAX_DOCS_EXECUTE": "1"}
                                                             if execute else {}))
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(site)], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stderr[-6000:]}"
    return proc.stderr


def _page(site, path) -> str:
    return (site / path / "index.html").read_text(encoding="utf-8")


def test_docs_build_strict(tmp_path, docs_hooks):
    site = tmp_path / "site"
    build(site, execute=False)
    from morphax.physics import _config

    toml = _page(site, "toml")
    for section in _config._SECTIONS:
        assert re.search(rf"<code>\[\[?{section}\]\]?</code>", toml), section
    tutorials = sorted(p.stem for p in (ROOT / "tutorials").glob("[!_]*.py"))
    assert tutorials
    for name in tutorials:
        assert "<pre" in _page(site, f"tutorials/{name}"), name
    package = docs_hooks.load_static(docs_hooks.stage_sources(tmp_path / "src"))
    for module in docs_hooks.public_modules():
        page = _page(site, f"api/{module}")
        obj = package[module.removeprefix("morphax.")] if module != "morphax" else package
        for name in docs_hooks.public_names(obj):
            assert f'id="{module}.{name}"' in page, f"{module}.{name} is not on its API page"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    tables = len(re.findall(r"^\|[-: |]+\|$", readme, flags=re.M))   # the README's tables,
    shown = sum(_page(site, path.removesuffix(".md").replace("index", "")).count("<table>")
                for path, *_ in docs_hooks.readme_pages(readme))          # benchmarks included
    assert tables and shown == tables


def test_readme_is_split_into_pages_with_working_links(docs_hooks):
    text = ("# t\nintro ![p](docs/nma/actuated.png)\n## Quick start\nsee [help](#getting-help)\n"
            "```bash\n## not a heading\n```\n## Tour\nlead\n### FEA: from a file\nx\n#### Deep\n"
            "### Errors\n[l](LICENSE) [n](no/such.md)\n## Getting help\nend\n")
    pages = docs_hooks._links(docs_hooks.readme_pages(text))
    assert [(p, t, g) for p, t, _, g in pages] == [
        ("index.md", "Home", None), ("quick-start.md", "Quick start", None),
        ("tour.md", "Tour", "Tour"), ("fea.md", "FEA: from a file", "Tour"),
        ("errors.md", "Errors", "Tour"), ("getting-help.md", "Getting help", None)]
    md = {p: m for p, _, m, _ in pages}
    assert "](nma/actuated.png)" in md["index.md"]
    assert "[help](getting-help.md#getting-help)" in md["quick-start.md"]
    assert "## not a heading" in md["quick-start.md"] and "\n## Deep" in md["fea.md"]
    assert f"[l]({docs_hooks.REPO_URL}/blob/main/LICENSE)" in md["errors.md"]
    assert "[n](no/such.md)" in md["errors.md"]   # left broken: the strict build reports it


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_docs_build_with_tutorials_run(tmp_path):
    """Every tutorial runs (quick) during the build and its page shows its pictures."""
    site = tmp_path / "site"
    build(site, execute=True)
    for script in sorted((ROOT / "tutorials").glob("[!_]*.py")):
        page = _page(site, f"tutorials/{script.stem}")
        assert re.search(r'<img [^>]*src="[^"]+\.png"', page), f"{script.stem}: no picture"
