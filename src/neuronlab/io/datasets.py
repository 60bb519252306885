"""Built-in data sets, usable by name wherever a data file is accepted.

- ``obesity`` — the course's example: height (feet), weight (kg) → Obese / Not Obese.
  Shipped as ``neuronlab/io/bundled/obesity.csv``; ``neuronlab/io/bundled/obesity.md`` (its card)
  says how it was generated (``scripts/make_obesity.py``, seeded).
- ``breast_cancer``, ``iris``, ``wine``, ``diabetes`` — scikit-learn's bundled sets (needs
  scikit-learn); iris and wine have three classes.
- ``digits`` — scikit-learn's 8×8 images of hand-written digits, 10 classes (needs scikit-learn).
- ``fashion_mnist`` — Zalando's 28×28 images of clothes, 10 classes, 60,000 for training and
  10,000 for testing, read from the idx files of Debian's package ``dataset-fashion-mnist``
  (``apt-get install dataset-fashion-mnist``); never downloaded.  As a table: the 60,000
  training images; ``fashion_mnist(split)`` gives either split as float32 arrays.
- ``linear``, ``xor``, ``circles``, ``moons`` — 200 points in 2-D for pictures, drawn
  here with numpy from a fixed seed (columns x1, x2, label); ``blobs3`` — three classes in
  2-D (210 points), drawn the same way.

``names()`` lists them, ``info(name)`` describes one, ``available(name)`` says whether
the library it needs is installed, ``load_table(name)`` returns a
``pyarrow.Table`` and ``load_frame(name)`` a pandas DataFrame.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable, NamedTuple, Optional

import numpy as np

__all__ = ["DatasetInfo", "Needs", "DATASETS", "names", "info", "is_builtin", "available", "load_table",
           "load_frame", "card", "fashion_mnist", "FASHION_MNIST_DIR", "FASHION_MNIST_CLASSES"]

GENERATED_SEED = 0
GENERATED_ROWS = 200


class Needs(NamedTuple):
    """What a data set needs: a library (``module``, found without importing it) or files in
    a folder (``folder``); ``package`` is what to install, as shown to the user."""

    module: Optional[str]
    package: str
    folder: Optional[str] = None


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    description: str
    target: str
    task: str
    source: str
    loader: Callable[[], dict]
    #: (import name, package name) of the library the loader needs, or a :class:`Needs`, or None
    needs: Optional[tuple] = None


def _obesity_columns():
    import pyarrow.csv as pcsv  # a shipped, well-formed file: pyarrow's reader as it is

    path = resources.files("neuronlab").joinpath("io/bundled/obesity.csv")
    with resources.as_file(path) as real_path:
        return pcsv.read_csv(real_path)


def _sklearn(loader_name, target_name, labelled):
    def load():
        try:
            import sklearn.datasets as skd
        except ImportError:
            raise ValueError(
                "this data set comes with scikit-learn, which is not installed; "
                "install it with: pip install scikit-learn"
            ) from None
        bunch = getattr(skd, loader_name)()
        columns = {str(name): bunch.data[:, j] for j, name in enumerate(bunch.feature_names)}
        target = bunch.target
        if labelled == "str":  # class numbers as names (digits 0 … 9 are classes, not amounts)
            columns[target_name] = target.astype(str)
        else:
            columns[target_name] = np.asarray(bunch.target_names)[target] if labelled else target
        return columns

    return load


def _labelled(X, label):
    return {"x1": X[:, 0], "x2": X[:, 1], "label": label.astype(np.int64)}


def _linear():
    """Two Gaussian clouds (σ = 0.6) around (−1, −1) and (1, 1): a line separates them."""
    rng = np.random.default_rng(GENERATED_SEED)
    half = GENERATED_ROWS // 2
    X = np.vstack([rng.normal(-1.0, 0.6, (half, 2)), rng.normal(1.0, 0.6, (half, 2))])
    return _labelled(X, np.repeat([0, 1], half))


def _xor():
    """Points uniform in [−1, 1]²; label 1 when x1 and x2 have different signs (no line separates)."""
    rng = np.random.default_rng(GENERATED_SEED)
    X = rng.uniform(-1.0, 1.0, (GENERATED_ROWS, 2))
    return _labelled(X, (X[:, 0] > 0) != (X[:, 1] > 0))


def _circles():
    """An inner circle (radius 0.5, label 1) inside an outer one (radius 1, label 0), noise σ = 0.08."""
    rng = np.random.default_rng(GENERATED_SEED)
    half = GENERATED_ROWS // 2
    angle = rng.uniform(0.0, 2 * np.pi, GENERATED_ROWS)
    radius = np.repeat([1.0, 0.5], half)
    X = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)]) + rng.normal(0.0, 0.08, (GENERATED_ROWS, 2))
    return _labelled(X, np.repeat([0, 1], half))


def _moons():
    """Two interleaving half circles: (cos t, sin t) and (1 − cos t, ½ − sin t), t ∈ [0, π], noise σ = 0.1."""
    rng = np.random.default_rng(GENERATED_SEED)
    half = GENERATED_ROWS // 2
    t = rng.uniform(0.0, np.pi, GENERATED_ROWS)
    upper = np.column_stack([np.cos(t[:half]), np.sin(t[:half])])
    lower = np.column_stack([1.0 - np.cos(t[half:]), 0.5 - np.sin(t[half:])])
    X = np.vstack([upper, lower]) + rng.normal(0.0, 0.1, (GENERATED_ROWS, 2))
    return _labelled(X, np.repeat([0, 1], half))


#: where Debian's package dataset-fashion-mnist puts the idx files
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
                       "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                         "Sneaker", "Bag", "Ankle boot")
FASHION_MNIST_NEEDS = Needs(None, "Debian's dataset-fashion-mnist: apt-get install dataset-fashion-mnist",
                            FASHION_MNIST_DIR)


def fashion_mnist(split: str = "train", folder=None):
    """Fashion-MNIST's ``split`` ("train": 60,000 images, "test": 10,000) as (X, y): X float32
    of shape (n, 784), pixels / 255 in [0, 1], one row per 28×28 image; y int64 class
    numbers 0 … 9 (``FASHION_MNIST_CLASSES`` names them).  Read from the idx files in
    ``folder`` (default: where Debian's package puts them); nothing is downloaded."""
    from .idx import read_idx, read_idx_images

    if split not in FASHION_MNIST_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    folder = Path(FASHION_MNIST_DIR if folder is None else folder)
    images, labels = (folder / name for name in FASHION_MNIST_FILES[split])
    for path in (images, labels):
        if not path.is_file():
            raise ValueError(f"{path}: not found; Fashion-MNIST comes from {FASHION_MNIST_NEEDS.package}")
    X = read_idx_images(images)
    y = read_idx(labels)
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(f"{labels}: holds {y.shape} labels for the {X.shape[0]} images of {images}")
    if X.shape[1] != 784:
        raise ValueError(f"{images}: Fashion-MNIST's images are 28 × 28, got {X.shape[1]} pixels each")
    return X, y.astype(np.int64)


def _fashion_mnist_columns():
    X, y = fashion_mnist("train")
    columns = {f"pixel{j + 1}": X[:, j] for j in range(X.shape[1])}
    columns["item"] = np.asarray(FASHION_MNIST_CLASSES)[y]
    return columns
def _blobs3():
    """Three Gaussian clouds (σ = 0.55) around (−1.5, −1), (1.5, −1) and (0, 1.5), 70 points each:
    a 2-D set of three classes, labelled by where their cloud is: left, right, top (text, so that
    the label is read as classes)."""
    rng = np.random.default_rng(GENERATED_SEED)
    per_class = 70
    centres = np.array([[-1.5, -1.0], [1.5, -1.0], [0.0, 1.5]])
    X = np.vstack([rng.normal(centre, 0.55, (per_class, 2)) for centre in centres])
    return {"x1": X[:, 0], "x2": X[:, 1], "label": np.repeat(["left", "right", "top"], per_class)}


SKLEARN = ("sklearn", "scikit-learn")

DATASETS: dict[str, DatasetInfo] = {
    d.name: d
    for d in [
        DatasetInfo("obesity", "height (ft), weight (kg) → Obese / Not Obese; 401 people",
                    "condition", "classify", "shipped with neuronlab (generated, see its card)", _obesity_columns),
        DatasetInfo("breast_cancer", "30 cell-nucleus measures → malignant / benign; 569 rows",
                    "diagnosis", "classify", "scikit-learn (Wisconsin diagnostic breast cancer)",
                    _sklearn("load_breast_cancer", "diagnosis", labelled=True), SKLEARN),
        DatasetInfo("iris", "4 flower measures → setosa / versicolor / virginica; 150 flowers",
                    "species", "classify", "scikit-learn (Fisher's iris, 1936)",
                    _sklearn("load_iris", "species", labelled=True), SKLEARN),
        DatasetInfo("wine", "13 chemical measures → cultivar class_0 / class_1 / class_2; 178 wines",
                    "cultivar", "classify", "scikit-learn (UCI wine recognition)",
                    _sklearn("load_wine", "cultivar", labelled=True), SKLEARN),
        DatasetInfo("digits", "8×8 images of hand-written digits (64 pixels, 0–16) → 0 … 9; 1,797 images",
                    "digit", "classify", "scikit-learn (UCI optical recognition of hand-written digits)",
                    _sklearn("load_digits", "digit", labelled="str"), SKLEARN),
        DatasetInfo("fashion_mnist", "28×28 images of clothes (784 pixels, 0–1) → 10 kinds; 60,000 "
                    "(+ 10,000 for testing)", "item", "classify",
                    "Zalando Research (Xiao et al. 2017), from Debian's dataset-fashion-mnist",
                    _fashion_mnist_columns, FASHION_MNIST_NEEDS),
        DatasetInfo("diabetes", "10 measures → disease progression; 442 patients",
                    "progression", "regress", "scikit-learn (Efron et al. 2004)",
                    _sklearn("load_diabetes", "progression", labelled=False), SKLEARN),
        DatasetInfo("linear", "two clouds a line separates; 200 points", "label", "classify",
                    "generated (numpy, seed 0)", _linear),
        DatasetInfo("xor", "label = sign(x1) ≠ sign(x2): no line separates; 200 points",
                    "label", "classify", "generated (numpy, seed 0)", _xor),
        DatasetInfo("circles", "a circle inside a circle; 200 points", "label", "classify",
                    "generated (numpy, seed 0)", _circles),
        DatasetInfo("moons", "two interleaving half moons; 200 points", "label", "classify",
                    "generated (numpy, seed 0)", _moons),
        DatasetInfo("blobs3", "three clouds, three classes (left, right, top); 210 points", "label", "classify",
                    "generated (numpy, seed 0)", _blobs3),
    ]
}


def names() -> list[str]:
    return list(DATASETS)


def is_builtin(name) -> bool:
    return isinstance(name, str) and name in DATASETS


def available(name: str) -> bool:
    """Whether the library data set ``name`` needs is installed (found without importing it,
    which for scikit-learn would take a second)."""
    needs = info(name).needs
    if needs is None:
        return True
    if isinstance(needs, Needs) and needs.folder is not None:
        return Path(needs.folder).is_dir()
    module = needs[0]
    if module in sys.modules:
        return sys.modules[module] is not None  # None: an import of it is blocked
    return importlib.util.find_spec(module) is not None


def info(name: str) -> DatasetInfo:
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; the built-in ones are: {', '.join(DATASETS)}")
    return DATASETS[name]


def load_table(name: str):
    """The built-in data set ``name`` as a ``pyarrow.Table``."""
    import pyarrow as pa

    columns = info(name).loader()
    return columns if isinstance(columns, pa.Table) else pa.table(columns)


def load_frame(name: str):
    """The built-in data set ``name`` as a pandas DataFrame."""
    return load_table(name).to_pandas()


def card(name: str) -> str:
    """The data card of a shipped data set (how it was made), or its one-line description."""
    path = resources.files("neuronlab").joinpath(f"io/bundled/{info(name).name}.md")
    if path.is_file():
        return path.read_text(encoding="utf-8")
    return f"{name}: {info(name).description}\n"
