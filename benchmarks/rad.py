import sys

import morphax.bench

sys.exit(morphax.bench.main(["rad", *sys.argv[1:]]))
