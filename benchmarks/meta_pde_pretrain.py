"""Regenerate the Meta-PDE initializations shipped in learners/meta_pde/shipped/.

    python benchmarks/meta_pde_pretrain.py [--family poisson|burgers|hyperelastic|all]
        [--method maml|leap|all] [--steps N] [--rates softplus|exp] [--out DIR] [--devices N]

Writes to DIR (default meta-pde-pretrained/ in the current folder, never into the installed
package); `--out learners/meta_pde/shipped` in a checkout replaces the shipped files.

CPU-scale settings (morphax.learners.meta_pde.SETTINGS): SIREN 3x64 in float32, K = 5
first-order MAML with learned per-parameter per-step rates, or LEAP with 20 inner Adam steps;
a checkpoint beside each output lets an interrupted run resume.

--devices N shards each task batch over N devices (data parallel; the same result as one
device up to rounding). On CPU it starts N virtual devices unless XLA_FLAGS is set; across
processes or hosts see the README, "Running on many devices".
"""

import argparse
import os
import pathlib
import sys


def main(argv=None) -> int:
    from morphax._core.parallel import initialize_distributed
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
    parser.add_argument("--devices", type=int, default=None, help="shard each task batch over "
                        "N devices (default: one device)")
    args = parser.parse_args(argv)
    alone = "MORPHAX_NUM_PROCESSES" not in os.environ and "SLURM_NTASKS" not in os.environ
    if args.devices is not None and alone:   # read when JAX starts its CPU backend, below
        os.environ.setdefault("XLA_FLAGS", f"--xla_force_host_platform_device_count={args.devices}")
    pid, _ = initialize_distributed()
    families = list(FAMILIES) if args.family == "all" else [args.family]
    methods = ["maml", "leap"] if args.method == "all" else [args.method]
    for fam in families:
        for method in methods:
            path = pretrain(fam, method, out=pathlib.Path(args.out), steps=args.steps,
                            rates=args.rates, progress=True, devices=args.devices)
            if pid > 0:
                continue
            extra = init_metadata(path)["extra"]
            print(f"wrote {path}: mean outer loss {extra['loss_first_100']:.3g} over the first "
                  f"100 steps, {extra['loss_last_100']:.3g} over the last 100", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
