"""The `morphax` command line: one subcommand per module, imported only when it runs."""

from __future__ import annotations

import argparse
import importlib
import logging
import math
import sys

from ._version import __version__

#: (name, module, one-line help). Each module defines `add_arguments(parser)` and `run(args)`.
COMMANDS = [
    ("design", "morphax._cmd_design", "co-design a metamaterial and its neural controller (NMA)"),
    ("solve", "morphax._cmd_solve", "solve a FEA problem described by a TOML file"),
    ("lattice", "morphax._cmd_lattice", "make a cellular-solid design (a grid of porous cells)"),
    ("mesh", "morphax._cmd_mesh", "mesh a design with gmsh and write a mesh file and preview"),
    ("export", "morphax._cmd_export", "export a design as a printable part (STL, 3MF, STEP)"),
    ("compress", "morphax._cmd_compress", "compress a model's weights to a file (entropy coding)"),
    ("decompress", "morphax._cmd_decompress", "decode a compressed model file back to a model"),
    ("tutorial", "morphax._cmd_tutorial", "list or run the tutorials"),
    ("bench", "morphax.bench", "run a benchmark: morphax bench NAME [--quick] [--json PATH|-]; "
     "morphax bench list names them"),
]

#: what `morphax --help` opens and closes with
DESCRIPTION = """\
morphax: differentiable finite elements on JAX. Solve FEA problems described by TOML files,
design cellular solids together with their neural controllers and export them as printable
parts, and run the tutorials and benchmarks of the learned solvers."""
EPILOG = """examples:
  morphax solve                  the FEA demo: a perforated plate, written to morphax-out/
  morphax solve problem.toml     a problem from a TOML file (see the README or the docs)
  morphax design                 co-design a metamaterial and its controller
  morphax tutorial list          the tutorials; run one with: morphax tutorial run NAME --quick
  morphax bench list             the benchmarks; run one with: morphax bench NAME --quick
  morphax COMMAND --help         the options of one command

Documentation: https://morphax.github.io/morphax/
Questions and bug reports: https://github.com/morphax/morphax/issues
"""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, `morphax CMD: error: ...`, exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_global_flags(parser: argparse.ArgumentParser, top: bool = False) -> None:
    """--quiet and -v/--verbose, accepted before and after the subcommand (a subcommand's copy
    leaves the value set before it alone unless given)."""
    default = False if top else argparse.SUPPRESS
    parser.add_argument("--quiet", action="store_true", default=default,
                        help="no progress bars or reports")
    parser.add_argument("-v", "--verbose", action="store_true", default=default,
                        help="log solver details")
    parser.add_argument("--no-compile-cache", action="store_true", default=default,
                        help="do not keep compiled kernels between runs (in "
                             "$XDG_CACHE_HOME/morphax/jax, default ~/.cache/morphax/jax)")


def number(low: float | None = None, *, strict: bool = False, integer: bool = False,
           high: float | None = None):
    """An argparse `type`: a finite number (an integer when `integer`) >= low (> low when
    `strict`) and <= high; the message says what was expected."""
    kind = "an integer" if integer else "a finite number"
    bound = "" if low is None else f" {'>' if strict else '>='} {low:g}"
    bound += "" if high is None else f"{' and' if bound else ''} <= {high:g}"

    def parse(text: str):
        try:
            value = int(text) if integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {kind}{bound}, got {text!r}") from None
        ok = math.isfinite(value) and (low is None or (value > low if strict else value >= low)) \
            and (high is None or value <= high)
        if not ok:
            raise argparse.ArgumentTypeError(f"expected {kind}{bound}, got {text!r}")
        return value

    parse.__name__ = "integer" if integer else "number"
    return parse


def _parser() -> tuple[argparse.ArgumentParser, dict[str, str]]:
    parser = Parser(prog="morphax", description=DESCRIPTION, epilog=EPILOG,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"morphax {__version__}")
    add_global_flags(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = {}
    for name, module, help_text in COMMANDS:
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        add_global_flags(sub_parser)
        modules[name] = module
        sub_parser.set_defaults(_module=module, _sub=sub_parser)
    return parser, modules


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `morphax` console script; returns the exit status: 0 on success,
    2 with one line `morphax CMD: error: ...` on stderr for any bad input or failed run."""
    argv = sys.argv[1:] if argv is None else argv
    parser, modules = _parser()
    # Let each subcommand define its own options, but import only the one that runs.
    first = next((a for a in argv if not a.startswith("-")), None)
    if first in modules:
        sub = parser._subparsers._group_actions[0].choices[first]  # noqa: SLF001
        importlib.import_module(modules[first]).add_arguments(sub)
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:   # --help, --version and argument errors (already printed)
        return int(done.code or 0)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "bench" and args.name == "list":
        return _bench_list()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    import jax

    jax.config.update("jax_enable_x64", True)
    if not args.no_compile_cache:
        _persistent_compile_cache(jax)
    from morphax._core import MorphaxError

    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except MorphaxError as err:
        return _fail(args.command, str(err))
    except OSError as err:   # a read or write outside morphax's own checks
        name = err.filename or "a file"
        return _fail(args.command, f"cannot access {name}: {(err.strerror or str(err)).lower()}")


def _persistent_compile_cache(jax) -> None:
    """Keep compiled kernels on disk between runs, so a repeated `morphax solve` skips XLA
    compilation; a cache folder that cannot be created only costs that speed-up."""
    import os
    import pathlib

    root = pathlib.Path(os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache")
    try:
        (root / "morphax" / "jax").mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    jax.config.update("jax_compilation_cache_dir", str(root / "morphax" / "jax"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)   # small ones add up


def _bench_list() -> int:
    """`morphax bench list`: each benchmark with the first sentence of its module docstring
    (read without importing the benchmark)."""
    import ast
    import pathlib
    import re

    from morphax import bench

    here = pathlib.Path(bench.__file__).parent
    names = bench.available()
    for name in names:
        source = (here / f"{name.replace('-', '_')}.py").read_text(encoding="utf-8")
        lead = " ".join((ast.get_docstring(ast.parse(source)) or "").split("\n\n")[0].split())
        lead = re.split(r"(?<!\bal)\.\s+(?=[A-Z])", lead.split("`: ", 1)[-1])[0].rstrip(".")
        print(f"{name:{max(map(len, names))}s}  {lead}")
    return 0


def _fail(command: str, message: str) -> int:
    """Print the one-line error (on a line of its own, after any progress bar) and return 2."""
    tqdm = sys.modules.get("tqdm")
    for bar in list(getattr(getattr(tqdm, "tqdm", None), "_instances", None) or []):
        bar.close()
    print(f"morphax {command}: error: {' '.join(message.split())}", file=sys.stderr)
    return 2
