"""Meta-PDE vs FEA: `python benchmarks/meta_pde.py [--quick] [--json -]` (same as
`morphax bench meta-pde`); see morphax/bench/meta_pde.py for what it measures."""

import sys

from morphax.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "meta-pde", *sys.argv[1:]]))
