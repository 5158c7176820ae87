"""NMA benchmark: python benchmarks/nma.py [--quick] [--json PATH|-] (same as `morphax bench nma`)."""

import sys

from morphax.bench import main

sys.exit(main(["nma", *sys.argv[1:]]))
