"""FEA benchmark: python benchmarks/fea.py [--quick] [--json PATH|-] (same as `morphax bench fea`)."""

import sys

from morphax.bench import main

sys.exit(main(["fea", *sys.argv[1:]]))
