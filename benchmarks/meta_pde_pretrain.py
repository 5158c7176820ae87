"""Regenerate the Meta-PDE initializations shipped in learners/meta_pde/shipped/.

    python benchmarks/meta_pde_pretrain.py [--family poisson|burgers|hyperelastic|all]
        [--method maml|leap|all] [--steps N] [--rates softplus|exp] [--out DIR]

Writes to DIR (default meta-pde-pretrained/ in the current folder, never into the installed
package); `--out learners/meta_pde/shipped` in a checkout replaces the shipped files.

CPU-scale settings (morphax.learners.meta_pde.SETTINGS): SIREN 3x64 in float32, K = 5
first-order MAML with learned per-parameter per-step rates, or LEAP with 20 inner Adam steps;
a checkpoint beside each output lets an interrupted run resume.
"""

import argparse
import pathlib
import sys


def main(argv=None) -> int:
    from morphax.learners.meta_pde import FAMILIES, init_metadata, pretrain

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", default="poisson", choices=[*FAMILIES, "all"])
    parser.add_argument("--method", default="maml", choices=["maml", "leap", "all"])
    parser.add_argument("--steps", type=int, default=None, help="outer steps (default: per "
                        "family)")
    parser.add_argument("--rates", default=None, choices=["softplus", "exp"],
                        help="MAML's learned-rate parametrization (default: per family)")
    parser.add_argument("--out", default="meta-pde-pretrained", help="output folder (default: "
                        "meta-pde-pretrained)")
    args = parser.parse_args(argv)
    families = list(FAMILIES) if args.family == "all" else [args.family]
    methods = ["maml", "leap"] if args.method == "all" else [args.method]
    for fam in families:
        for method in methods:
            path = pretrain(fam, method, out=pathlib.Path(args.out), steps=args.steps,
                            rates=args.rates, progress=True)
            extra = init_metadata(path)["extra"]
            print(f"wrote {path}: mean outer loss {extra['loss_first_100']:.3g} over the first "
                  f"100 steps, {extra['loss_last_100']:.3g} over the last 100", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
