"""Model files: exact round trip, atomic writes, and loud failures naming the bad field."""

import json
import re

import numpy as np
import pytest

import neuronlab
from neuronlab import NeuronClassifier, NeuronRegressor
from neuronlab.io.tables import Standardizer
from neuronlab.io.model_file import TrainedModel, atomic_write_text

pytestmark = pytest.mark.filterwarnings("ignore::neuronlab.ConvergenceWarning")


@pytest.fixture
def model():
    rng = np.random.default_rng(0)
    X = rng.normal([5.5, 80.0], [0.3, 15.0], size=(60, 2))
    y = np.where(X[:, 1] / (X[:, 0] * 0.3048) ** 2 >= 30, "Obese", "Not Obese")
    scaler = Standardizer().fit(X)
    est = NeuronClassifier(learning_rate=0.5, max_steps=50, random_state=0).fit(scaler.transform(X), y)
    return TrainedModel(est, ["height", "weight"], scaler, target="condition", training={"status": est.status_}), X


def test_round_trip_predicts_the_same_numbers(model, tmp_path):
    trained, X = model
    neuronlab.save(trained, tmp_path / "m.json")
    loaded = neuronlab.load(tmp_path / "m.json")
    np.testing.assert_allclose(loaded.predict_proba(X), trained.predict_proba(X), rtol=0, atol=1e-12)
    assert list(loaded.predict(X)) == list(trained.predict(X))
    # by hand: ŷ = σ(w·(x − μ)/σ + b) with the stored numbers
    doc = json.loads((tmp_path / "m.json").read_text())
    z = (X - doc["scaler"]["mean"]) / doc["scaler"]["scale"] @ doc["parameters"]["coef"] + doc["parameters"]["intercept"]
    np.testing.assert_allclose(loaded.predict_proba(X)[:, 1], 1 / (1 + np.exp(-z)), rtol=1e-12)
    # the weights `inspect` shows in raw units act on raw x as w·(x − μ)/σ + b does
    w_raw, b_raw = loaded.weights_in_original_units()
    np.testing.assert_allclose(X @ w_raw + b_raw, z, rtol=0, atol=1e-9)
    assert doc["labels"] == ["Not Obese", "Obese"] and doc["feature_names"] == ["height", "weight"]


def test_columns_by_name_in_any_order(model, tmp_path):
    import pandas as pd

    trained, X = model
    frame = pd.DataFrame({"weight": X[:, 1], "extra": 1.0, "height": X[:, 0]})
    np.testing.assert_array_equal(trained.predict_proba(frame), trained.predict_proba(X))
    with pytest.raises(ValueError, match="missing feature column.*height"):
        trained.predict(frame.drop(columns="height"))


def test_bare_regressor_saves_and_loads(tmp_path):
    X = np.arange(10.0).reshape(5, 2)
    est = NeuronRegressor(max_steps=20, learning_rate=0.01, random_state=0).fit(X, X @ [1.0, 2.0])
    neuronlab.save(est, tmp_path / "r.json")
    loaded = neuronlab.load(tmp_path / "r.json")
    assert loaded.feature_names == ["x1", "x2"] and loaded.scaler is None
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "m.json"
    path.write_text("old")

    with pytest.raises(TypeError):
        atomic_write_text(path, 12345)  # not text: fails inside the write
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]  # no temporary file left


def _edit(path, change):
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize("change, field", [
    (lambda d: d.update(schema_version=99), "schema_version"),
    (lambda d: d.update(format="other"), "format"),
    (lambda d: d["parameters"]["coef"].pop(), "parameters.coef"),
    (lambda d: d["parameters"].update(intercept="x"), "parameters.intercept"),
    (lambda d: d["scaler"].update(scale=[1.0, 0.0]), "scaler.scale"),
    (lambda d: d.pop("feature_names"), "feature_names"),
    (lambda d: d.update(labels=["a"]), "labels"),
    (lambda d: d.update(activation="nope"), "activation"),
    (lambda d: d.update(kind="Forest"), "kind"),
])
def test_edited_file_names_the_wrong_field(model, tmp_path, change, field):
    path = tmp_path / "m.json"
    neuronlab.save(model[0], path)
    _edit(path, change)
    with pytest.raises(ValueError, match=rf"field '{re.escape(field)}(\[\d+\])?'"):  # [i]: the item
        neuronlab.load(path)


def test_truncated_file_says_so(model, tmp_path):
    path = tmp_path / "m.json"
    neuronlab.save(model[0], path)
    path.write_text(path.read_text()[:200])
    with pytest.raises(ValueError, match="not valid JSON.*truncated"):
        neuronlab.load(path)


def test_a_full_disk_names_the_destination_and_leaves_nothing_behind(tmp_path, monkeypatch):
    import errno
    import os

    path = tmp_path / "m.json"
    path.write_text("old")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as caught:
        atomic_write_text(path, "new text")
    assert caught.value.filename == str(path) and caught.value.errno == errno.ENOSPC
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["m.json"]


def test_a_symbolic_link_is_written_through_and_stays_a_link(tmp_path):
    import os

    (tmp_path / "real.json").write_text("old")
    os.symlink("real.json", tmp_path / "link.json")
    atomic_write_text(tmp_path / "link.json", "new")
    assert os.path.islink(tmp_path / "link.json") and (tmp_path / "real.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "real.json"]
