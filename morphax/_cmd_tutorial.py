"""`morphax tutorial list` and `morphax tutorial run NAME [--quick] [--out DIR]`.

The tutorials are jupytext percent scripts in the repository's tutorials/ folder, installed as
`morphax.tutorials`. A run executes one as `__main__` with two globals set: QUICK (the small
size) and OUT (the folder for its pictures and files).
"""

from __future__ import annotations

import importlib.resources
import pathlib
import runpy
import sys
import time


def tutorials() -> dict[str, pathlib.Path]:
    """name -> script path of the installed tutorials."""
    here = pathlib.Path(str(importlib.resources.files("morphax.tutorials")))
    return {p.stem: p for p in sorted(here.glob("*.py")) if not p.name.startswith("_")}


def title(path: pathlib.Path) -> str:
    """The first markdown heading of a tutorial script."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# # "):
            return line[4:].strip()
    return ""


def add_arguments(parser) -> None:
    from morphax.cli import add_global_flags

    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    add_global_flags(sub.add_parser("list", help="list the tutorials"))
    run_p = sub.add_parser("run", help="run one tutorial")
    add_global_flags(run_p)
    run_p.add_argument("name", help="a name from `morphax tutorial list`")
    run_p.add_argument("--quick", action="store_true", help="the small size (seconds to minutes)")
    run_p.add_argument("--out", default=None, help="folder for pictures (default "
                       "tutorial-out/NAME)")


def run(args) -> int:
    from morphax._core import InputError, check_folder

    found = tutorials()
    if getattr(args, "action", None) in (None, "list"):
        width = max((len(n) for n in found), default=0)
        for name, path in found.items():
            print(f"{name:{width}s}  {title(path)}")
        return 0
    if args.name not in found:
        raise InputError(f"unknown tutorial {args.name!r}; available: {', '.join(found)}")
    out = pathlib.Path(args.out or pathlib.Path("tutorial-out") / args.name).resolve()
    check_folder(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    runpy.run_path(str(found[args.name]), init_globals={"QUICK": bool(args.quick), "OUT": out},
                   run_name="__main__")
    print(f"tutorial {args.name} finished in {time.perf_counter() - start:.1f} s; pictures in "
          f"{out}", file=sys.stderr)
    return 0
