"""Built-in data sets: the shipped obesity file is what its documented procedure makes."""

import csv
import runpy
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from neuronlab.io import datasets
from neuronlab.io.tables import load_dataset

ROOT = Path(__file__).resolve().parents[1]
FOOT = 0.3048


def shipped_rows():
    text = resources.files("neuronlab").joinpath("io/bundled/obesity.csv").read_text()
    return list(csv.DictReader(text.splitlines()))


def test_shipped_obesity_csv_is_exactly_what_the_script_generates(tmp_path):
    out = tmp_path / "obesity.csv"
    runpy.run_path(str(ROOT / "scripts/make_obesity.py"))["main"]([str(out)])
    shipped = resources.files("neuronlab").joinpath("io/bundled/obesity.csv").read_bytes()
    assert out.read_bytes() == shipped


def test_obesity_follows_the_who_rule_except_the_stated_noisy_rows():
    rows = shipped_rows()
    assert len(rows) == 401
    assert rows[0] == {"height": "4.00", "weight": "80.0", "condition": "Obese"}  # the course's person
    bmi = np.array([float(r["weight"]) / (float(r["height"]) * FOOT) ** 2 for r in rows])
    obese = np.array([r["condition"] == "Obese" for r in rows])
    disagree = np.flatnonzero((bmi >= 30) != obese).tolist()
    assert disagree == [10, 289, 327, 331]  # the rows the card lists as flipped
    heights = np.array([float(r["height"]) for r in rows[1:]])
    assert 4.5 < heights.min() and heights.max() < 6.75  # adult heights in feet (140–205 cm)
    card = datasets.card("obesity")
    assert "10, 289, 327 and 331" in card and "2 %" in card


def test_listing_and_loading_every_built_in():
    for name in datasets.names():  # scikit-learn is in the test extra: every set loads
        if name == "fashion_mnist":  # 60,000 images, when installed: tests/test_idx_datasets.py reads small ones
            continue
        ds = load_dataset(name)
        assert ds.task == datasets.info(name).task and ds.n_rows > 100


def test_generated_sets_are_deterministic_and_shaped_as_described():
    for name in ("linear", "xor", "circles", "moons"):
        a, b = datasets.load_table(name), datasets.load_table(name)
        assert a.equals(b) and a.column_names == ["x1", "x2", "label"] and a.num_rows == 200
    xor = datasets.load_table("xor").to_pydict()
    assert all(((x1 > 0) != (x2 > 0)) == bool(lab) for x1, x2, lab in zip(xor["x1"], xor["x2"], xor["label"]))
    circles = datasets.load_table("circles").to_pydict()
    radius = np.hypot(circles["x1"], circles["x2"])
    blobs = datasets.load_table("blobs3")
    assert blobs.equals(datasets.load_table("blobs3")) and blobs.column_names == ["x1", "x2", "label"]
    labels = np.array(blobs.column("label").to_pylist())
    assert blobs.num_rows == 210 and sorted(set(labels)) == ["left", "right", "top"]
    assert [int(np.sum(labels == k)) for k in ("left", "right", "top")] == [70, 70, 70]
    assert load_dataset("blobs3").task == "classify"  # a text label: three classes
    centres = [[np.mean(np.array(blobs.column(c))[labels == k]) for c in ("x1", "x2")]
               for k in ("left", "right", "top")]
    np.testing.assert_allclose(centres, [[-1.5, -1.0], [1.5, -1.0], [0.0, 1.5]], atol=0.2)
    label = np.array(circles["label"])
    assert radius[label == 1].mean() == pytest.approx(0.5, abs=0.05)
    assert radius[label == 0].mean() == pytest.approx(1.0, abs=0.05)


def test_breast_cancer_has_sklearns_numbers():
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    ds = load_dataset("breast_cancer")
    np.testing.assert_array_equal(ds.X, bunch.data)
    assert list(ds.y) == list(bunch.target_names[bunch.target])


def test_unknown_name_lists_the_built_ins():
    with pytest.raises(ValueError, match="obesity"):
        datasets.info("nope")
