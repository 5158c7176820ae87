"""Atomic file writes: write to a temporary file beside the target, fsync, then rename.

Every write of morphax goes through `atomic_path`, so it is also the one place where an
OSError becomes `cannot write PATH: reason` (naming the target, never the temporary file), and
where temporary files left by a killed writer (`.NAME.PID.XXXXXXXX.SUFFIX`, PID no longer
running) are swept on the next write to the same target. `check_writable` checks output paths
before any work starts.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import re
import tempfile

from ._errors import InputError


def check_writable(*paths) -> None:
    """InputError `cannot write PATH: reason` unless every path (None is skipped) can be
    written as a file: not a folder, and its nearest existing parent is a writable folder."""
    for path in paths:
        if path is not None:
            _check_one(pathlib.Path(path))


def check_folder(path) -> None:
    """InputError `cannot write PATH: reason` unless `path` is, or can be made, a writable
    folder."""
    path = pathlib.Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"cannot write {path}: it is a file, not a folder")
    _check_one(path / "file")


def _check_one(path: pathlib.Path) -> None:
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a folder; give a file name")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"cannot write {path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot write {path}: permission denied in {parent}")


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path with the same suffix; on success it replaces `path` at once
    (after an fsync), on error it is removed and `path` is untouched. For writers that want a
    file name. OSError becomes InputError `cannot write PATH: reason`."""
    path = pathlib.Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _sweep(path)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.{os.getpid()}.",
                                   suffix=path.suffix)
        os.close(fd)
        yield pathlib.Path(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)   # mkstemp makes 0600; give the usual permissions
        _fsync(tmp)
        os.replace(tmp, path)
        _fsync(path.parent)
    except OSError as err:
        raise InputError(f"cannot write {path}: {_reason(err, path)}") from None
    finally:
        if tmp is not None:
            pathlib.Path(tmp).unlink(missing_ok=True)


def _reason(err: OSError, path: pathlib.Path) -> str:
    if isinstance(err, IsADirectoryError) or path.is_dir():
        return "it is a folder"
    if isinstance(err, FileExistsError | NotADirectoryError):
        return "a parent of it is a file, not a folder"
    return (err.strerror or str(err)).lower()


def _fsync(path) -> None:
    """Flush a file's (or a folder's) contents to disk, where the system allows it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass   # some file systems cannot fsync folders
    finally:
        os.close(fd)


def _sweep(path: pathlib.Path) -> None:
    """Remove temporary files of earlier writes to `path` whose process is gone."""
    pattern = re.compile(rf"\.{re.escape(path.stem)}\.(\d+)\.[^.]+{re.escape(path.suffix)}")
    for old in path.parent.glob(f".{_glob_escape(path.stem)}.*{_glob_escape(path.suffix)}"):
        match = pattern.fullmatch(old.name)
        if match and not _running(int(match.group(1))):
            old.unlink(missing_ok=True)


def _glob_escape(text: str) -> str:
    """`text` with glob wildcards escaped."""
    return re.sub(r"([*?\[])", r"[\1]", text)


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def atomic_write_text(path, text: str) -> None:
    """Write `text` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def atomic_write_bytes(path, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
