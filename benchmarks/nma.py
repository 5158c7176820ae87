"""NMA benchmark: python benchmarks/nma.py [--quick] [--json PATH|-] (same as `morphax bench nma`)."""

import sys

from morphax.cli import main

sys.exit(main(["bench", "nma", *sys.argv[1:]]))
