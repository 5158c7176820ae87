"""`morphax decompress`: decode a compressed-model file back to a .npz of named arrays."""

from __future__ import annotations

import argparse
import pathlib


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="compressed-model file (morphax compress)")
    parser.add_argument("--out", required=True, metavar="MODEL.npz",
                        help="where to write the decoded arrays (.npz)")


def run(args) -> int:
    from morphax._core import InputError
    from morphax.learners.compression import (
        encode_tensors,
        format_report,
        quantized_arrays,
        read_tensors,
        save_npz,
    )

    out = pathlib.Path(args.out)
    if out.suffix != ".npz" or out.is_dir():
        raise InputError(f"--out must be a .npz file name, got {out}")
    tensors = read_tensors(args.file)
    save_npz(out, quantized_arrays(tensors))
    if not args.quiet:
        _, report = encode_tensors(tensors)
        print(format_report(report, pathlib.Path(args.file).stat().st_size))
        print(f"wrote {out} ({len(tensors)} arrays)")
    return 0
