"""A headless, deterministic gmsh session (gmsh is global state: one session at a time), and a
guard that silences what C libraries under it (OpenCASCADE) print."""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import threading

_LOCK = threading.RLock()
_COUNT = itertools.count()


@contextlib.contextmanager
def gmsh_session(name: str = "morphax"):
    """Yield the gmsh module with a fresh model, no terminal output, one thread and fixed
    seeds. Finalizes gmsh afterwards unless the caller had initialized it."""
    import gmsh

    with _LOCK:
        owner = not gmsh.isInitialized()
        if owner:
            gmsh.initialize(["-noenv"], readConfigFiles=False, interruptible=False)
        model = f"{name}_{next(_COUNT)}"
        try:
            gmsh.option.setNumber("General.Terminal", 0)
            gmsh.option.setNumber("General.Verbosity", 1)
            gmsh.option.setNumber("General.NumThreads", 1)
            gmsh.option.setNumber("Mesh.MaxNumThreads1D", 1)
            gmsh.option.setNumber("Mesh.MaxNumThreads2D", 1)
            gmsh.option.setNumber("Mesh.RandomSeed", 1)
            gmsh.model.add(model)
            yield gmsh
        finally:
            try:
                gmsh.model.setCurrent(model)
                gmsh.model.remove()
            except Exception:  # noqa: BLE001 (the model may not exist if add failed)
                pass
            if owner:
                gmsh.finalize()


@contextlib.contextmanager
def quiet_stdout():
    """Silence writes to file descriptor 1 (C libraries such as OpenCASCADE) for the while."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
