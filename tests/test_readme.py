"""The README runs as written: its ```bash, ```python and ```toml blocks, in order, as a newcomer
would, in a fresh copy of the repository (its tracked and new, not ignored, files).

The rule for each block is the HTML comment on the line above it, if any:

- `<!-- readme-test: skip (why) -->`: never run: installs (`pip install`, `apt-get`), the whole
  test suite, runs of hours. A block that installs or runs `pytest` must carry it.
- `<!-- readme-test: fast -->`: also runs in the default test run (a few seconds in all; such
  blocks may not need files that slower blocks make).
- none: runs in the slow test (`pytest -m slow tests/test_readme.py`).

A bash block runs with `bash -e -o pipefail`, a python block as its own script (`python`), and a
toml block is written to the file the text right before it names (the last `NAME.toml` there),
where the commands after it find it. The default run also checks every block
without running it: python compiles and the morphax names it uses exist, toml parses, every
`morphax ...` command line parses with the command line's own parser, repository paths exist,
and the README's system packages are those .ci/run installs.
"""

import ast
import importlib
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
import tomllib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
LANGUAGES = ("bash", "python", "toml")
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
MARKER = re.compile(r"<!--\s*readme-test:\s*(\w+)[^>]*-->\s*$")


def readme_blocks(text: str) -> list[dict]:
    """The README's fenced blocks in order: language, code, rule (skip/fast/None), file (toml),
    line number."""
    blocks, end = [], 0
    for match in FENCE.finditer(text):
        before = text[end:match.start()]
        end = match.end()
        language = match.group(1)
        if language not in LANGUAGES:
            continue
        lines = before.rstrip("\n").splitlines()
        marker = MARKER.search(lines[-1]) if lines else None
        named = re.findall(r"[\w./-]+\.toml\b", before)
        blocks.append({"language": language, "code": match.group(2),
                       "rule": marker.group(1) if marker else None,
                       "file": named[-1] if named else None,
                       "line": text.count("\n", 0, match.start()) + 1})
    return blocks


BLOCKS = readme_blocks((ROOT / "README.md").read_text(encoding="utf-8"))


def _label(block) -> str:
    return f"README.md:{block['line']} ({block['language']})"


def _commands(code: str) -> list[list[str]]:
    """The simple commands of a bash block (split at &&, ||, ;, | and new lines; comments and
    line continuations removed)."""
    text = code.replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        command = []
        for word in words + [";"]:
            if word in ("&&", "||", ";", "|"):
                if command:
                    out.append(command)
                command = []
            else:
                command.append(word)
    return out


# ----------------------------------------------------------------------------------------------
# Checks without running (default run)

def test_readme_blocks_have_known_rules():
    assert BLOCKS, "README.md has no bash/python/toml blocks"
    for block in BLOCKS:
        assert block["rule"] in (None, "skip", "fast"), \
            f"{_label(block)}: unknown readme-test rule {block['rule']!r}"
        installs = any(cmd[:2] == ["pip", "install"] or "apt-get" in cmd or cmd[:1] == ["pytest"]
                        or cmd[:1] == ["sudo"] for cmd in _commands(block["code"])) \
            if block["language"] == "bash" else False
        if installs:
            assert block["rule"] == "skip", \
                f"{_label(block)} installs or runs the test suite: mark it readme-test: skip"


def test_readme_python_blocks_use_names_that_exist():
    for block in (b for b in BLOCKS if b["language"] == "python"):
        tree = ast.parse(block["code"], filename=_label(block))
        aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("morphax"):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    value = getattr(module, alias.name, None)
                    if value is None:
                        value = importlib.import_module(f"{node.module}.{alias.name}")
                    aliases[alias.asname or alias.name] = value
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("morphax"):
                        aliases[alias.asname or alias.name] = importlib.import_module(alias.name)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id in aliases and hasattr(aliases[node.value.id], "__path__"):
                assert hasattr(aliases[node.value.id], node.attr), \
                    f"{_label(block)}: {node.value.id}.{node.attr} does not exist"


def test_readme_toml_blocks_parse_and_name_their_file():
    for block in (b for b in BLOCKS if b["language"] == "toml"):
        tomllib.loads(block["code"])
        assert block["file"], (f"{_label(block)}: say which file this is (NAME.toml in the "
                               "text right before the block)")


def test_readme_morphax_commands_parse():
    """Every `morphax ...` line parses with the command line's parser (flags and choices exist),
    and the repository files the commands name exist."""
    from morphax import cli

    checked = 0
    for block in (b for b in BLOCKS if b["language"] == "bash"):
        for command in _commands(block["code"]):
            for word in command:
                if re.match(r"(tutorials|benchmarks|docs)/\S+\.\w+$", word):
                    assert (ROOT / word).exists() or word.endswith(".ipynb"), \
                        f"{_label(block)}: {word} does not exist"
            if command[0] != "morphax":
                continue
            parser, modules = cli._parser()
            args = command[1:]
            first = next((a for a in args if not a.startswith("-")), None)
            if first in modules:
                sub = parser._subparsers._group_actions[0].choices[first]  # noqa: SLF001
                importlib.import_module(modules[first]).add_arguments(sub)
            if "--help" in args or "--version" in args:
                continue
            try:
                parser.parse_args(args)
            except SystemExit as err:
                pytest.fail(f"{_label(block)}: `{shlex.join(command)}` does not parse ({err})")
            checked += 1
    assert checked, "no morphax command in the README's bash blocks"


def _apt_packages(text: str) -> set[str]:
    match = re.search(r"apt-get install ((?:\\\n|[^\n])*)", text)
    assert match, "no apt-get install line"
    words = match.group(1).replace("\\\n", " ").split()
    return {w for w in words if not w.startswith("-") and w not in (">/dev/null", "\\")}


def test_readme_apt_line_is_what_ci_installs():
    readme = next(b["code"] for b in BLOCKS if "apt-get install" in b["code"])
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert _apt_packages(readme) == _apt_packages(ci)
    assert {"build-essential", "python3-dev", "libsuitesparse-dev"} <= _apt_packages(readme)


def test_readme_rules_are_read():
    """The parser sees markers, languages and toml file names (so the checks above can fail)."""
    text = ("Save as `a.toml`:\n\n```toml\nx = 1\n```\n\n<!-- readme-test: skip (installs) -->\n"
            "```bash\npip install .\n```\n\n```\nnot run\n```\n<!-- readme-test: fast -->\n"
            "```python\nprint(1)\n```\n")
    blocks = readme_blocks(text)
    assert [(b["language"], b["rule"], b["file"]) for b in blocks] == \
        [("toml", None, "a.toml"), ("bash", "skip", None), ("python", "fast", None)]
    assert _commands("a && b # c\nmorphax x \\\n --quick | tee y") == \
        [["a"], ["b"], ["morphax", "x", "--quick"], ["tee", "y"]]


# ----------------------------------------------------------------------------------------------
# Running the blocks

def _fresh_checkout(dest: pathlib.Path) -> pathlib.Path:
    """A copy of the repository's tracked and new (not ignored) files, as a fresh clone has."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def run_blocks(blocks, where: pathlib.Path, timeout: float):
    env = {**os.environ, "PATH": f"{pathlib.Path(sys.executable).parent}:{os.environ['PATH']}",
           "MPLBACKEND": "Agg"}
    for block in blocks:
        if block["language"] == "toml":
            (where / block["file"]).write_text(block["code"], encoding="utf-8")
            continue
        command = (["bash", "-e", "-o", "pipefail", "-c", block["code"]]
                   if block["language"] == "bash" else [sys.executable, "-c", block["code"]])
        proc = subprocess.run(command, cwd=where, env=env, capture_output=True, text=True,
                              timeout=timeout)
        assert proc.returncode == 0, (f"{_label(block)} failed ({proc.returncode}):\n"
                                      f"{block['code']}\n{proc.stdout[-3000:]}\n"
                                      f"{proc.stderr[-3000:]}")
        yield block, proc


def test_readme_fast_blocks_run(tmp_path):
    fast = [b for b in BLOCKS if b["rule"] == "fast"]
    assert fast, "no readme-test: fast block"
    where = _fresh_checkout(tmp_path / "morphax")
    outputs = {b["line"]: p.stdout for b, p in run_blocks(fast, where, timeout=120)}
    printed = "\n".join(outputs.values())
    if "morphax bench list" in "\n".join(b["code"] for b in fast):
        from morphax.bench import available

        for name in available():
            assert re.search(rf"^{re.escape(name)}\s+\S", printed, flags=re.M), name


@pytest.mark.slow
def test_readme_runs_as_written(tmp_path):
    """Every block not marked skip, in order, in one fresh copy of the repository."""
    where = _fresh_checkout(tmp_path / "morphax")
    ran = list(run_blocks([b for b in BLOCKS if b["rule"] != "skip"], where, timeout=1800))
    assert ran


def test_help_opens_with_what_morphax_is(capsys):
    from morphax import cli

    assert cli.main(["--help"]) == 0
    text = capsys.readouterr().out
    assert cli.DESCRIPTION.splitlines()[0] in text and "bench list" in text
    assert (cli.__doc__ or "").strip().splitlines()[0] not in text
