import sys

from morphax.cli import main

sys.exit(main(["bench", "rad", *sys.argv[1:]]))
