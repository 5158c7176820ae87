"""`morphax bench NAME [--quick] [--json PATH|-] [--out DIR]`: the benchmarks.

Each benchmark is a module `morphax.bench.NAME` (dashes become underscores) with
`run(quick: bool, out: pathlib.Path, progress: bool) -> {"records": [...], "summary": {...}}`
and optionally `plot(records, out) -> path`. This runner adds the environment, writes
`out/NAME.jsonl` (one JSON line per record), the plot and the module's optional Markdown
`table(records) -> str` (out/NAME.md), prints the tables, and with `--json -`
prints exactly one JSON object {"bench", "env", "records", "summary"} on stdout.
"""

from __future__ import annotations

import importlib
import json
import os
import pathlib
import pkgutil
import platform
import sys
import time

from morphax._core import InputError, atomic_write_text, check_folder, check_writable


def available() -> list[str]:
    """Names of the installed benchmarks."""
    here = pathlib.Path(__file__).parent
    return sorted(m.name.replace("_", "-") for m in pkgutil.iter_modules([str(here)])
                  if not m.name.startswith("_"))


def add_arguments(parser) -> None:
    parser.add_argument("name", help=f"one of: {', '.join(available())}")
    parser.add_argument("--quick", action="store_true", help="the few-minutes size")
    parser.add_argument("--json", metavar="PATH|-", help="write the result object to PATH, or "
                        "print it on stdout with '-' (then the table goes to stderr)")
    parser.add_argument("--out", default=None, help="output folder (default bench-out/NAME)")


def env_info() -> dict:
    """Versions, CPU count, devices and dtype: what a timing depends on."""
    import jax
    import numpy
    import scipy

    from morphax import __version__

    return {"morphax": __version__, "python": platform.python_version(), "jax": jax.__version__,
            "numpy": numpy.__version__, "scipy": scipy.__version__,
            "machine": platform.machine(), "cpu_count": os.cpu_count(),
            "devices": [str(d) for d in jax.devices()],
            "x64": bool(jax.config.jax_enable_x64)}


def run(args) -> int:
    name = args.name
    if name not in available():
        raise InputError(f"unknown benchmark {name!r}; available: {', '.join(available())}")
    out = pathlib.Path(args.out or pathlib.Path("bench-out") / name)
    check_folder(out)
    if args.json not in (None, "-"):
        check_writable(args.json)
    module = importlib.import_module(f"morphax.bench.{name.replace('-', '_')}")
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    result = module.run(quick=args.quick, out=out, progress=not args.quiet)
    obj = {"bench": name, "env": {**env_info(), "quick": bool(args.quick),
                                  "wall_time_s": round(time.perf_counter() - start, 3)},
           "records": result["records"], "summary": result["summary"]}
    atomic_write_text(out / f"{name}.jsonl",
                      "".join(json.dumps(r, default=float) + "\n" for r in obj["records"]))
    if hasattr(module, "plot"):
        obj["summary"]["plot"] = str(module.plot(obj["records"], out))
    table = sys.stderr if args.json == "-" else sys.stdout
    print(_table(obj), file=table)
    if hasattr(module, "table"):
        text = module.table(obj["records"])
        atomic_write_text(out / f"{name}.md", text)
        print(text, file=table)
    text = json.dumps(obj, default=float)
    if args.json == "-":
        print(text)
    elif args.json:
        atomic_write_text(pathlib.Path(args.json), text + "\n")
    return 0


def _table(obj) -> str:
    lines = [f"benchmark {obj['bench']} ({obj['env']['wall_time_s']} s)"]
    for key, value in obj["summary"].items():
        lines.append(f"  {key:28s} {value:.4g}" if isinstance(value, float)
                     else f"  {key:28s} {value}")
    return "\n".join(lines)

