"""The `morphax` command line: one subcommand per module, imported only when it runs."""

from __future__ import annotations

import argparse
import importlib
import logging
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
    ("bench", "morphax.bench", "run a benchmark: morphax bench NAME [--quick] [--json PATH|-]"),
]


def _parser() -> tuple[argparse.ArgumentParser, dict[str, str]]:
    parser = argparse.ArgumentParser(prog="morphax", description=__doc__)
    parser.add_argument("--version", action="version", version=f"morphax {__version__}")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or reports")
    parser.add_argument("-v", "--verbose", action="store_true", help="log solver details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = {}
    for name, module, help_text in COMMANDS:
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        modules[name] = module
        sub_parser.set_defaults(_module=module, _sub=sub_parser)
    return parser, modules


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `morphax` console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    parser, modules = _parser()
    # Let each subcommand define its own options, but import only the one that runs.
    first = next((a for a in argv if not a.startswith("-")), None)
    if first in modules:
        sub = parser._subparsers._group_actions[0].choices[first]  # noqa: SLF001
        importlib.import_module(modules[first]).add_arguments(sub)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    import jax

    jax.config.update("jax_enable_x64", True)
    from morphax._core import MorphaxError

    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except MorphaxError as err:
        print(f"morphax {args.command}: error: {err}", file=sys.stderr)
        return 2
