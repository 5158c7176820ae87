"""`morphax compress`: entropy-code a model's weights into a compressed-model file.

MODEL is a NumPy .npz of named arrays (what `morphax.learners.compression.save_npz(model,
path)` writes for any equinox model, and the format of the shipped Meta-PDE initializations).
Float arrays are compressed; other arrays (integers, bytes) are stored as they are.
`morphax decompress` gives the .npz back, with every array's name, shape and dtype."""

from __future__ import annotations

import argparse
import math
import pathlib


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL.npz", help="model as a .npz of named arrays")
    parser.add_argument("--out", required=True, metavar="FILE",
                        help="compressed-model file to write (suffix .mxc by convention)")
    parser.add_argument("--lambda", dest="lam", type=float, default=1.0, metavar="L",
                        help="rate weight: each bit per parameter must buy L x 1e-3 of relative "
                             "squared weight error; larger L, smaller file, larger weight error "
                             "(default 1: about 3 %% RMS weight error)")
    parser.add_argument("--method", choices=("epr", "ptq8", "raw"), default="epr",
                        help="epr: data-free entropy-penalized fit (default); ptq8: 8-bit "
                             "uniform quantisation; raw: lossless container")
    parser.add_argument("--steps", type=int, default=300,
                        help="Adam steps of the EPR fit (default 300)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the EPR fit")


def _check(args) -> None:
    from morphax._core import InputError

    if not (math.isfinite(args.lam) and args.lam >= 0):
        raise InputError(f"--lambda must be a finite number >= 0, got {args.lam}")
    if args.steps < 1:
        raise InputError(f"--steps must be >= 1, got {args.steps}")
    out = pathlib.Path(args.out)
    if out.is_dir():
        raise InputError(f"--out {out} is a directory; give a file name")
    if out.resolve() == pathlib.Path(args.model).resolve():
        raise InputError("--out would overwrite MODEL; choose another file name")


def run(args) -> int:
    import jax

    from morphax.learners.compression import compress_arrays, file_size, format_report, load_npz

    _check(args)
    arrays = load_npz(args.model)
    report = compress_arrays(arrays, args.out, lam=args.lam, method=args.method,
                             steps=args.steps, key=jax.random.key(args.seed),
                             progress=not args.quiet)
    if not args.quiet:
        size, before = file_size(args.out), file_size(args.model)
        print(format_report(report, size))
        print(f"{args.model}: {before} B -> {args.out}: {size} B ({before / size:.1f}x)")
    return 0
