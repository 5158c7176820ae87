"""mkdocs hooks: the morphax site is generated from the repository at build time.

Nothing is copied by hand into docs/. `mkdocs build` (mkdocs.yml names this file under
`hooks:`) adds these pages:

- README.md, split into pages: each `## ` section is a page, and a section with `### `
  subsections gives one page for its lead text and one per subsection (nested in the nav under
  the section's title). The README's preamble (title and introduction) is the home page.
  Links into docs/ lose their `docs/` prefix (the pages sit at the top of the site), `#anchor`
  links point at the page that holds the heading, and links to other repository files point at
  the repository; a link to nothing is left as it is, for the strict build to report.
- `toml.md`, the TOML reference, generated from the schema in `physics/_config.py`: its
  sections, keys, models, material key sets, solver defaults (`NewtonOptions`) and linear
  solvers. A section or key that the schema accepts but the reference text does not describe
  stops the build.
- `tutorials/NAME.md` for every `tutorials/NAME.py` (jupytext percent scripts): markdown cells
  as text, code cells as code. With `MORPHAX_DOCS_EXECUTE=1` every tutorial runs at its quick
  size in a fresh process (as `morphax tutorial run NAME --quick` does), and its page shows
  what each cell printed and the pictures it wrote; a failing tutorial fails the build.
- `api/NAME.md`, one API page per public module (`morphax`, `morphax.physics`,
  `morphax.geometry`, `morphax.fabrication`, each `morphax.learners.NAME` and their public
  module files), listing its public names (`public_names`), rendered from the docstrings by
  mkdocstrings. mkdocstrings reads the sources statically from
  `build/docs-src/PID/morphax`, a tree of symbolic links that lays the repository's folders out
  as the installed package (pyproject's `package-dir`).

`python docs/_hooks.py --execute SCRIPT OUT RESULT` is the tutorial runner (one process per
tutorial).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tomllib

from mkdocs.plugins import event_priority

ROOT = pathlib.Path(__file__).resolve().parent.parent
STAGE = ROOT / "build" / "docs-src"
EXECUTED = ROOT / "build" / "docs-tutorials"
REPO_URL = "https://github.com/morphax/morphax"
PICTURES = (".png", ".jpg", ".jpeg", ".svg", ".gif")


# ----------------------------------------------------------------------------------------------
# The package as installed, for static analysis (mkdocstrings, tests/test_docstrings.py)

def package_dirs() -> dict[str, pathlib.Path]:
    """Top-level package name -> repository folder, from pyproject's `package-dir`."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    dirs = pyproject["tool"]["setuptools"]["package-dir"]
    return {name: ROOT / folder for name, folder in dirs.items()}


def stage_sources(stage: pathlib.Path) -> pathlib.Path:
    """Lay the sources out as the installed `morphax` package under `stage` (symbolic links),
    so that static tools find `morphax.physics` in physics/ and so on; returns `stage`."""
    dirs = package_dirs()
    pkg = stage / "morphax"
    shutil.rmtree(stage, ignore_errors=True)
    pkg.mkdir(parents=True)
    for entry in sorted(dirs["morphax"].iterdir()):
        if entry.name != "__pycache__":
            (pkg / entry.name).symlink_to(entry)
    for name, folder in dirs.items():
        parts = name.split(".")
        if len(parts) == 2:
            (pkg / parts[1]).symlink_to(folder)
    return stage


def public_modules() -> list[str]:
    """The documented modules: morphax (the error family), physics, geometry, fabrication, every
    learner (a folder of learners/ with an __init__.py, no leading underscore) and their public
    module files (a .py file without a leading underscore, e.g. morphax.physics.validation)."""
    dirs = package_dirs()
    learners = sorted(p.parent.name for p in dirs["morphax.learners"].glob("*/__init__.py")
                      if not p.parent.name.startswith("_"))
    packages = ["morphax.physics", "morphax.geometry", "morphax.fabrication",
                *(f"morphax.learners.{n}" for n in learners)]
    out = ["morphax"]
    for name in packages:
        out.append(name)
        folder = dirs["morphax.learners"] / name.split(".")[-1] if "learners" in name \
            else dirs[name]
        out += [f"{name}.{p.stem}" for p in sorted(folder.glob("*.py"))
                if not p.name.startswith("_")]
    return out


def load_static(stage: pathlib.Path):
    """The `morphax` package as griffe reads it from the staged sources (no import)."""
    import griffe

    return griffe.load("morphax", search_paths=[str(stage)], try_relative_path=False,
                       resolve_aliases=True, resolve_external=False)


def public_names(module) -> list[str]:
    """The public names of a griffe module, in source order: its attributes without a leading
    underscore, defined there or (in a package) re-exported from morphax, not submodules."""
    names = []
    for name, member in module.members.items():
        imported = member.is_alias and (not module.is_init_module
                                        or not member.target_path.startswith("morphax."))
        if name.startswith("_") or imported:   # a package re-exports; a module imports
            continue
        if member.is_module:
            continue
        names.append(name)
    return names


# ----------------------------------------------------------------------------------------------
# README.md -> pages

def _slug(text: str) -> str:
    from markdown.extensions.toc import slugify

    return slugify(text, "-")


def readme_pages(text: str) -> list[tuple[str, str, str, str | None]]:
    """README.md split into pages: (path, title, markdown, nav group or None), in order. A
    `## ` section with `### ` subsections is a nav group: its lead page and one per subsection."""
    blocks: list[list] = [[1, "", []]]   # [level, heading, lines]
    fence = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fence = not fence
        match = None if fence else re.match(r"(#{2,3}) (.+)$", line)
        if match:
            blocks.append([len(match.group(1)), match.group(2).strip(), []])
        else:
            blocks[-1][2].append(line)
    pages, used, group = [], {"index"}, None
    for i, (level, heading, lines) in enumerate(blocks):
        body = "\n".join(lines).strip("\n")
        if i == 0:   # the preamble: the README's own title and introduction
            pages.append(("index.md", "Home", body + "\n", None))
            continue
        if level == 2:
            opens = i + 1 < len(blocks) and blocks[i + 1][0] == 3
            group = heading if opens else None
        slug = _slug(re.split(r":| \(", heading)[0]) or "section"
        while slug in used:
            slug += "-"
        used.add(slug)
        pages.append((f"{slug}.md", heading, f"# {heading}\n\n{_demote(body)}\n", group))
    return pages


def _demote(body: str) -> str:
    """`#### x` -> `## x` inside a `### ` page (headings one level up), outside code fences."""
    out, fence = [], False
    for line in body.splitlines():
        if line.lstrip().startswith("```"):
            fence = not fence
        if not fence and re.match(r"#{4,6} ", line):
            line = line[2:]
        out.append(line)
    return "\n".join(out)


def _links(pages) -> list[tuple[str, str, str, str | None]]:
    """Rewrite README links for pages that live at the top of the site."""
    anchors = {}
    for path, _, md, _ in pages:
        for heading in re.findall(r"^#{1,6} (.+)$", md, flags=re.M):
            anchors.setdefault(_slug(heading), path)

    def target(match):
        label, url = match.group(1), match.group(2)
        if re.match(r"[a-z]+:", url):
            return match.group(0)
        if url.startswith("#"):
            return f"{label}({anchors.get(url[1:], '')}{url})"
        if url.startswith("docs/"):
            return f"{label}({url[len('docs/'):]})"
        if (ROOT / url.split("#")[0]).exists():
            return f"{label}({REPO_URL}/blob/main/{url})"
        return match.group(0)   # a broken link: mkdocs --strict reports it

    link = re.compile(r"(!?\[[^\]]*\])\(([^)\s]+)\)")
    return [(p, t, link.sub(target, md), g) for p, t, md, g in pages]


# ----------------------------------------------------------------------------------------------
# The TOML reference, from physics/_config.py

def toml_reference() -> str:
    """The `morphax solve` TOML reference, generated from the schema in physics/_config.py."""
    from morphax.physics import _config, _linear, _newton

    doc = _config.__doc__ or ""
    rows, notes, row = {}, [], None
    for line in doc.strip().splitlines()[1:]:
        match = re.match(r" {4}(\[\[?[a-z_]+\]\]?)\s{2,}(.*)$", line)
        if match:
            row = match.group(1)
            rows[row] = match.group(2).strip()
        elif row and line.startswith(" " * 8) and line.strip():
            rows[row] += " " + line.strip()
        else:
            row = None
            notes.append(line)
    sections = {name.strip("[]") for name in rows}
    missing = sorted(set(_config._SECTIONS) - sections)
    if missing:
        raise ValueError(f"physics/_config.py: the docstring's table does not describe the "
                         f"section(s) {missing}; add a line for each")
    keys = {"mesh": _config._MESH_KEYS, "output": _config._OUTPUT_KEYS}
    for name, allowed in keys.items():
        text = next(v for k, v in rows.items() if k.strip("[]") == name)
        undocumented = sorted(k for k in allowed if not re.search(rf"\b{k}\b", text))
        if undocumented:
            raise ValueError(f"physics/_config.py: [{name}] accepts {undocumented}, which its "
                             "docstring does not describe")
    options = _newton.NewtonOptions()
    solver_text = next(v for k, v in rows.items() if k == "[solver]")
    solver_keys = [k for k in vars(options) if re.search(rf"\b{k}\b", solver_text)]

    lines = ["# TOML problem files", "",
             "`morphax solve PROBLEM.toml` solves the problem a TOML file describes. This page "
             "is generated from the schema in `physics/_config.py` (`morphax.physics.load_job` "
             "reads the same file in Python). Unknown sections and keys are refused with the "
             "allowed ones listed.", "",
             "## Sections", "", "| section | keys |", "|---|---|"]
    lines += [f"| `{name}` | {_cell(text)} |" for name, text in rows.items()]
    lines += ["", "## Models and materials", "",
              "| `model =` | what | material keys (one set) |", "|---|---|---|"]
    for name, cls in _config.MODELS.items():
        first = re.split(r"(?<=\.)\s+(?=[A-Z])", " ".join((cls.__doc__ or "").split()))[0]
        sets = " or ".join("(" + ", ".join(f"`{k}`" for k in keys) + ")"
                           for keys in _config._MATERIALS[name])
        lines.append(f"| `\"{name}\"` | {_cell(first)} | {sets} |")
    lines += ["", "## Solver defaults", "", "| `[solver]` key | default |", "|---|---|"]
    for key in solver_keys:
        value = getattr(options, key)
        shown = "the fastest available" if value is None else json.dumps(value)
        lines.append(f"| `{key}` | `{shown}` |" if value is not None else f"| `{key}` | {shown} |")
    solvers = ", ".join(f'`"{s}"`' for s in _linear._SOLVERS)
    lines += ["", f"`linear_solver` is one of {solvers} (some need an optional package; "
              "`morphax.physics.available_solvers()` lists those that run on your machine).",
              "", "## Notes", "", _paragraphs("\n".join(notes)), ""]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _paragraphs(text: str) -> str:
    return "\n\n".join(" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip())


# ----------------------------------------------------------------------------------------------
# Tutorials

def tutorial_cells(path: pathlib.Path) -> list[tuple[str, str]]:
    """A jupytext percent script as (kind, source) cells, kind "markdown" or "code"."""
    import jupytext

    notebook = jupytext.reads(path.read_text(encoding="utf-8"), fmt="py:percent")
    return [(c.cell_type, c.source) for c in notebook.cells if c.source.strip()]


def execute_tutorial(script: pathlib.Path, out: pathlib.Path) -> list[dict]:
    """Run a tutorial's code cells in order in one namespace (QUICK = True, OUT = out), as
    `morphax tutorial run NAME --quick` does; per code cell: what it printed and the pictures it
    wrote (paths relative to out)."""
    import jax

    jax.config.update("jax_enable_x64", True)   # as the morphax command line does
    out.mkdir(parents=True, exist_ok=True)
    namespace = {"__name__": "__main__", "__file__": str(script), "QUICK": True, "OUT": out}
    results = []
    for kind, source in tutorial_cells(script):
        if kind != "code":
            continue
        before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(source, str(script), "exec"), namespace)  # noqa: S102
        new = sorted(p for p in out.rglob("*") if p.suffix.lower() in PICTURES
                     and before.get(p) != p.stat().st_mtime_ns)
        results.append({"printed": printed.getvalue(),
                        "pictures": [str(p.relative_to(out)) for p in new]})
    return results


def tutorial_page(name: str, path: pathlib.Path, results: list[dict] | None) -> str:
    """The markdown of one tutorial page (with outputs and pictures when `results` is given)."""
    parts, code = [], 0
    for kind, source in tutorial_cells(path):
        if kind == "markdown":
            parts.append(source)
            continue
        parts.append(f"```python\n{source}\n```")
        if results is not None:
            result = results[code]
            if result["printed"].strip():
                parts.append(f"```text\n{result['printed'].rstrip()}\n```")
            parts += [f"![{p}]({name}/{p})" for p in result["pictures"]]
        code += 1
    note = (f"Run it: `morphax tutorial run {name} --quick`; open it as a notebook: "
            f"`jupytext --to notebook tutorials/{name}.py`.")
    if results is None:
        note += (" This page shows the code without running it; pictures and printed output "
                 "appear when the site is built with `MORPHAX_DOCS_EXECUTE=1`.")
    return "\n\n".join([parts[0], f"!!! note\n    {note}", *parts[1:]]) + "\n"


def run_tutorial(name: str, script: pathlib.Path) -> list[dict]:
    """Execute one tutorial in a fresh process; its pictures land in build/docs-tutorials/."""
    out = EXECUTED / name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    result = out / "_cells.json"
    proc = subprocess.run([sys.executable, __file__, "--execute", str(script), str(out),
                           str(result)], cwd=out, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"tutorial {name} failed:\n{proc.stderr[-4000:]}")
    return json.loads(result.read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------------------------
# mkdocs events

_BUILD: dict = {}   # what on_config found, for on_files


@event_priority(100)   # before mkdocstrings reads its configuration
def on_config(config, **_):
    """Stage the sources for mkdocstrings (one folder per build, so builds may run side by
    side) and set the nav to the generated pages."""
    stage = stage_sources(STAGE / str(os.getpid()))
    _BUILD["stage"] = stage
    python = config["plugins"]["mkdocstrings"].config["handlers"].setdefault("python", {})
    python["paths"] = [str(stage)]
    pages = _links(readme_pages((ROOT / "README.md").read_text(encoding="utf-8")))
    tutorials = sorted(p for p in package_dirs()["morphax.tutorials"].glob("*.py")
                       if not p.name.startswith("_"))
    _BUILD.update(readme=pages, tutorials={p.stem: p for p in tutorials})
    nav, groups = [], {}
    for path, title, _, group in pages:
        if group is None:
            nav.append({title.replace("`", ""): path})
            continue
        if group not in groups:
            groups[group] = []
            nav.append({group.replace("`", ""): groups[group]})
        groups[group].append({title.replace("`", ""): path})
    nav.append({"TOML reference": "toml.md"})
    nav.append({"Tutorials": [f"tutorials/{name}.md" for name in _BUILD["tutorials"]]})
    nav.append({"API reference": [{name: f"api/{name}.md"} for name in public_modules()]})
    config["nav"] = nav
    _BUILD["contents"] = "\n".join(
        f"- [{title}]({target if isinstance(target, str) else _first(target)})"
        for entry in nav[1:] for title, target in entry.items())
    return config


def _first(entries) -> str:
    """The first page of a nav group."""
    first = entries[0]
    return first if isinstance(first, str) else next(iter(first.values()))


def on_files(files, config, **_):
    """Add the generated pages (and, when the tutorials run, their pictures)."""
    from mkdocs.structure.files import File

    def add(uri, content=None, src=None):
        files.append(File.generated(config, uri, content=content, abs_src_path=src))

    for path, _, md, _ in _BUILD["readme"]:
        add(path, md + ("\n## On this site\n\n" + _BUILD["contents"] + "\n"
                        if path == "index.md" else ""))
    add("toml.md", toml_reference())
    execute = os.environ.get("MORPHAX_DOCS_EXECUTE") == "1"
    for name, script in _BUILD["tutorials"].items():
        results = run_tutorial(name, script) if execute else None
        add(f"tutorials/{name}.md", tutorial_page(name, script, results))
        for result in results or []:
            for picture in result["pictures"]:
                add(f"tutorials/{name}/{picture}", src=str(EXECUTED / name / picture))
    package = load_static(_BUILD["stage"])
    for name in public_modules():
        module = package[name.removeprefix("morphax.")] if name != "morphax" else package
        add(f"api/{name}.md", f"# `{name}`\n\n::: {name}\n    options:\n"
            f"      members: {json.dumps(public_names(module))}\n")
    return files


def on_post_build(config, **_):
    """Remove this build's staged sources."""
    shutil.rmtree(_BUILD.pop("stage"), ignore_errors=True)


if __name__ == "__main__" and sys.argv[1:2] == ["--execute"]:
    _script, _out, _result = map(pathlib.Path, sys.argv[2:5])
    _cells = execute_tutorial(_script, _out)
    _result.write_text(json.dumps(_cells), encoding="utf-8")
