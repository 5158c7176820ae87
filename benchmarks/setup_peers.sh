#!/usr/bin/env bash
# Optional peer solvers for the FEA benchmark: jax-fem's OWN solver (jax_fem.solver), which
# imports petsc4py. petsc4py has no wheel, so this builds PETSc from source (~20 min on 2 cores).
# Never needed for morphax itself, its tests or CI: morphax solves jax-fem problems without PETSc
# (morphax.physics.JaxFemProblem). Without this set-up the benchmark's jax-fem column reports
# "ModuleNotFoundError: No module named 'petsc4py'".
#
# Usage (inside the virtual environment the benchmark runs in):
#   bash benchmarks/setup_peers.sh            # PYTHON=python, PETSC_VERSION=3.26.1
#   PYTHON=/path/to/venv/bin/python bash benchmarks/setup_peers.sh
set -euo pipefail

PYTHON=${PYTHON:-python}
PETSC_VERSION=${PETSC_VERSION:-3.26.1}   # petsc and petsc4py must have the same version
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# 1. Debian packages: compilers and make for PETSc's configure, BLAS/LAPACK it links against
#    (without them configure would try to download them), Python headers for petsc4py.
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends \
    build-essential make pkg-config python3-dev \
    libopenblas-dev liblapack-dev libblas-dev

# 2. jax-fem and what its import needs (its wheel declares no dependencies).
"$PYTHON" -m pip install "jax-fem==0.0.11" pyfiglet fenics-basix meshio gmsh

# 3. PETSc from source (sequential: no MPI, no Fortran, optimized), then petsc4py against it.
export PETSC_CONFIGURE_OPTIONS="--with-mpi=0 --with-fc=0 --with-debugging=0 \
--with-shared-libraries=1 COPTFLAGS=-O2 CXXOPTFLAGS=-O2"
"$PYTHON" -m pip install --no-binary=petsc "petsc==${PETSC_VERSION}"
PETSC_DIR=$("$PYTHON" -c "import petsc; print(petsc.get_petsc_dir())")
export PETSC_DIR PETSC_ARCH=""
"$PYTHON" -m pip install cython numpy setuptools wheel
"$PYTHON" -m pip install --no-build-isolation "petsc4py==${PETSC_VERSION}"

# 4. Check: jax-fem's solver module imports (it needs petsc4py) and morphax sees it.
"$PYTHON" - <<'EOF'
from morphax.physics import JaxFemProblem

JaxFemProblem.import_jax_fem("solver")
print("jax_fem.solver imports: the jax-fem column of the FEA benchmark is enabled")
EOF
