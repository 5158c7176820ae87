"""Every public name has a docstring: what `help()` and the API reference (docs/) show.

Public names are those the API reference documents (docs/_hooks.py): in morphax, physics,
geometry, fabrication, each learner and their public module files, every attribute without a
leading underscore that the module defines or (a package) re-exports from morphax. Functions,
classes and modules need a docstring, and so do constants: a string literal right after the
assignment (a `#:` comment is not shown by the API reference). Read statically with griffe, so
nothing is imported. Methods of public classes are not checked here.
"""

import pathlib

import pytest


def _documented(obj) -> bool:
    return obj.docstring is not None and bool(obj.docstring.value.strip())


@pytest.fixture(scope="module")
def static(tmp_path_factory, docs_hooks):
    """(the docs hooks module, morphax as griffe reads it from the sources)."""
    return docs_hooks, docs_hooks.load_static(docs_hooks.stage_sources(tmp_path_factory.mktemp("src")))


def missing_docstrings(hooks, package) -> list[str]:
    missing = []
    for name in hooks.public_modules():
        module = package[name.removeprefix("morphax.")] if name != "morphax" else package
        if not _documented(module):
            missing.append(f"{name} (module)")
        for member in hooks.public_names(module):
            target = module[member].final_target if module[member].is_alias else module[member]
            if not _documented(target):
                missing.append(f"{name}.{member} ({target.path}, "
                               f"{pathlib.Path(target.filepath).name}:{target.lineno})")
    return missing


def test_every_public_name_has_a_docstring(static):
    missing = missing_docstrings(*static)
    assert not missing, f"{len(missing)} public names without a docstring:\n" + "\n".join(missing)


def test_the_check_sees_a_missing_docstring(static):
    """The check can fail: a public function whose docstring is removed is reported."""
    hooks, package = static
    solve = package["physics"]["solve"].final_target
    assert _documented(solve)
    kept, solve.docstring = solve.docstring, None
    try:
        assert any(m.startswith("morphax.physics.solve ") for m in missing_docstrings(*static))
    finally:
        solve.docstring = kept
