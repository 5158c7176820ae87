"""FEA benchmark: python benchmarks/fea.py [--quick] [--json PATH|-] (same as `morphax bench fea`)."""

import sys

from morphax.cli import main

sys.exit(main(["bench", "fea", *sys.argv[1:]]))
