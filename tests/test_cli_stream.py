"""`neuronlab train` beyond memory: --stream (and streaming on its own over --memory-limit or for a
folder) gives the model the in-memory path gives; a corrupt Parquet file in a folder is one line
that names it, exit 2, no model; Ctrl-C saves the interrupted model; --dask local:1 the same model."""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from neuronlab.apps.cli import main


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6000, 3)) * [1.0, 4.0, 0.2] + [0.0, 10.0, 1.0]
    y = (rng.random(6000) < 1 / (1 + np.exp(-(X[:, 0] - 0.3 * (X[:, 1] - 10) + 2 * (X[:, 2] - 1))))).astype(int)
    path = tmp_path_factory.mktemp("stream") / "data"
    path.mkdir()
    for k, rows in enumerate(np.array_split(np.arange(6000), 3)):
        pq.write_table(pa.table({"a": X[rows, 0], "b": X[rows, 1], "c": X[rows, 2], "y": y[rows]}),
                       path / f"part-{k}.parquet", row_group_size=700)
    one = path.parent / "all.parquet"
    pq.write_table(pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": y}), one)
    return path


COMMON = ["--target", "y", "--strategy", "lbfgs", "--val-split", "0", "--tol", "1e-12", "--steps", "300",
          "--alpha", "0.001", "--quiet"]


def test_streaming_gives_the_model_of_the_in_memory_path(folder, tmp_path, capsys):
    one = folder.parent / "all.parquet"
    assert main(["train", str(one), *COMMON, "--out", str(tmp_path / "memory.json")]) == 0
    assert main(["train", str(one), *COMMON, "--stream", "--out", str(tmp_path / "stream.json")]) == 0
    assert main(["train", str(folder), *COMMON, "--out", str(tmp_path / "folder.json")]) == 0  # a folder streams
    memory, stream, whole_folder = (json.loads((tmp_path / f"{name}.json").read_text())
                                    for name in ("memory", "stream", "folder"))
    assert "streamed" not in memory["training"] and stream["training"]["streamed"] is True
    for other in (stream, whole_folder):
        np.testing.assert_allclose(other["parameters"]["coef"], memory["parameters"]["coef"], atol=1e-6)
        np.testing.assert_allclose(other["scaler"]["mean"], memory["scaler"]["mean"], rtol=1e-12)
        np.testing.assert_allclose(other["scaler"]["scale"], memory["scaler"]["scale"], rtol=1e-12)
        assert other["metrics"]["train"]["accuracy"] == pytest.approx(memory["metrics"]["train"]["accuracy"],
                                                                       abs=1e-3)
        assert other["training"]["train_rows"] == 6000


def test_data_over_the_memory_limit_streams_on_its_own_and_says_so(folder, tmp_path, capsys):
    one = folder.parent / "all.parquet"
    assert main(["train", str(one), "--target", "y", "--steps", "5", "--memory-limit", "10K",
                 "--out", str(tmp_path / "m.json")]) == 0
    err = capsys.readouterr().err
    assert "more than --memory-limit" in err and "streaming it block by block" in err and "rows/s" in err
    saved = json.loads((tmp_path / "m.json").read_text())
    assert saved["training"]["streamed"] is True and saved["training"]["validation_rows"] > 0


def test_a_corrupt_parquet_file_in_a_folder_is_one_line_naming_it_exit_2_no_model(folder, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in folder.iterdir():
        (broken / path.name).write_bytes(path.read_bytes())
    data = (broken / "part-1.parquet").read_bytes()
    (broken / "part-1.parquet").write_bytes(data[:100] + b"\0" * 64 + data[164:])  # the middle is garbage
    (broken / "part-2.parquet").write_bytes(data[: len(data) // 2])  # truncated
    model = tmp_path / "m.json"
    run = subprocess.run([sys.executable, "-m", "neuronlab", "train", str(broken), "--target", "y", "--out", str(model)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "part-" in lines[0] and "Traceback" not in run.stderr, run.stderr
    assert not model.exists() and list(tmp_path.glob("*.tmp*")) == []


def test_streamed_options_that_need_rows_in_memory_are_refused(folder, tmp_path, capsys):
    assert main(["train", str(folder), "--target", "y", "--trace", str(tmp_path / "t.jsonl")]) == 2
    assert "--trace draws from rows in memory" in capsys.readouterr().err
    assert main(["train", str(folder), "--target", "y", "--memory-limit", "lots"]) == 2
    assert "must be a size such as 512M" in capsys.readouterr().err


def test_a_signal_while_streaming_saves_the_interrupted_model(folder, tmp_path):
    model = tmp_path / "m.json"
    run = subprocess.Popen([sys.executable, "-m", "neuronlab", "train", str(folder), "--target", "y", "--out", str(model),
                            "--steps", "1000000", "--tol", "0", "--lr", "0.01"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in run.stderr:  # progress lines: the run has begun once one appears
        if line.startswith("epoch "):
            break
    time.sleep(1.0)  # a few steps into the run
    os.kill(run.pid, signal.SIGINT)
    out, err = run.communicate(timeout=300)
    assert run.returncode == 130 and "Traceback" not in err
    saved = json.loads(model.read_text())
    assert saved["training"]["status"] == "interrupted" and saved["training"]["streamed"] is True
    assert 0 < saved["training"]["steps_done"] < 1_000_000


def test_dask_local_gives_the_streamed_model(folder, tmp_path):
    pytest.importorskip("distributed")
    stream, dask = tmp_path / "stream.json", tmp_path / "dask.json"
    assert main(["train", str(folder), *COMMON, "--out", str(stream)]) == 0
    assert main(["train", str(folder), *COMMON, "--dask", "local:1", "--out", str(dask)]) == 0
    a, b = json.loads(stream.read_text()), json.loads(dask.read_text())
    np.testing.assert_allclose(b["parameters"]["coef"], a["parameters"]["coef"], rtol=1e-9)
    assert b["training"]["dask"] == "local:1"


def test_k_classes_streamed_give_the_model_and_scores_of_the_in_memory_path(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(1200, 2)) * [1.0, 3.0] + [0.0, 5.0]
    z = np.column_stack([X[:, 0], (X[:, 1] - 5) / 3, -X[:, 0]])
    y = np.array(["fir", "oak", "yew"])[np.argmax(z + rng.gumbel(size=z.shape), axis=1)]
    data = tmp_path / "trees.csv"
    data.write_text("a,b,t\n" + "".join(f"{a:.17g},{b:.17g},{t}\n" for (a, b), t in zip(X, y)))
    common = [str(data), "--target", "t", "--strategy", "lbfgs", "--val-split", "0.25", "--tol", "1e-12",
              "--steps", "300", "--alpha", "0.001", "--quiet"]
    assert main(["train", *common, "--out", str(tmp_path / "memory.json")]) == 0
    assert main(["train", *common, "--stream", "--out", str(tmp_path / "stream.json")]) == 0
    memory, stream = (json.loads((tmp_path / f"{name}.json").read_text()) for name in ("memory", "stream"))
    assert stream["training"]["streamed"] is True and stream["labels"] == memory["labels"] == ["fir", "oak", "yew"]
    assert stream["training"]["train_rows"] + stream["training"]["validation_rows"] == 1200
    # a held-out share drawn by another rule than the in-memory split: the same problem, other rows
    np.testing.assert_allclose(stream["parameters"]["coef"], memory["parameters"]["coef"], atol=0.15)
    for part in ("train", "validation"):
        scores = stream["metrics"][part]
        assert np.sum(scores["confusion_matrix"]) == stream["training"][f"{part}_rows"]
        assert scores["accuracy"] == pytest.approx(memory["metrics"][part]["accuracy"], abs=0.05)
        assert len(scores["per_class"]) == 3 and 0 < scores["log_loss"] < np.log(3)


def test_the_streamed_scores_are_those_of_the_rows_in_memory(tmp_path):
    from neuronlab.estimators import metrics
    from neuronlab.io.model_file import load

    rng = np.random.default_rng(4)
    X = rng.normal(size=(900, 2))
    classes = np.argmax(np.column_stack([X[:, 0], X[:, 1], -X[:, 0] - X[:, 1]]) + rng.gumbel(size=(900, 3)), axis=1)
    value = 1e6 + X @ [2.0, -1.0] + rng.normal(0, 0.5, 900)  # far from 0: R² must not lose its digits
    for name, target, task in (("classes", classes, "classify"), ("value", value, "regress")):
        data = tmp_path / f"{name}.parquet"
        pq.write_table(pa.table({"a": X[:, 0], "b": X[:, 1], "t": target}), data, row_group_size=200)
        out = tmp_path / f"{name}.json"
        assert main(["train", str(data), "--target", "t", "--task", task, "--stream", "--val-split", "0",
                     "--steps", "50", "--quiet", "--out", str(out)]) == 0
        model = load(out)
        scores = json.loads(out.read_text())["metrics"]["train"]
        if task == "regress":
            expected = metrics.regression_report(value, model.predict(X))
            for key in ("mse", "mae", "r2"):
                assert scores[key] == pytest.approx(expected[key], rel=1e-9)
        else:
            proba = model.predict_proba(X)
            expected = metrics.multiclass_report(classes, np.argmax(proba, axis=1), proba, 3)
            for key in ("accuracy", "precision", "recall", "f1", "log_loss", "confusion_matrix", "per_class"):
                assert scores[key] == pytest.approx(expected[key], rel=1e-9) if key == "log_loss" else \
                    scores[key] == expected[key]


def test_k_classes_on_dask_local_give_the_streamed_model(tmp_path):
    pytest.importorskip("distributed")
    rng = np.random.default_rng(5)
    X = rng.normal(size=(900, 2))
    y = np.argmax(np.column_stack([X[:, 0], X[:, 1], -X[:, 0] - X[:, 1]]) + rng.gumbel(size=(900, 3)), axis=1)
    folder = tmp_path / "data"
    folder.mkdir()
    for k, rows in enumerate(np.array_split(np.arange(900), 2)):
        pq.write_table(pa.table({"a": X[rows, 0], "b": X[rows, 1], "t": y[rows]}), folder / f"p{k}.parquet",
                       row_group_size=150)
    common = [str(folder), "--target", "t", "--task", "classify", "--strategy", "lbfgs", "--val-split", "0.2",
              "--tol", "1e-12", "--steps", "200", "--alpha", "0.001", "--quiet"]
    stream, dask = tmp_path / "stream.json", tmp_path / "dask.json"
    assert main(["train", *common, "--out", str(stream)]) == 0
    assert main(["train", *common, "--dask", "local:1", "--out", str(dask)]) == 0
    a, b = json.loads(stream.read_text()), json.loads(dask.read_text())
    assert b["labels"] == a["labels"] == [0, 1, 2]
    np.testing.assert_allclose(b["parameters"]["coef"], a["parameters"]["coef"], rtol=1e-9)
    assert b["metrics"] == a["metrics"]  # the same sums, on a worker


def test_a_network_streamed_gives_the_model_of_the_in_memory_path(folder, tmp_path):
    one = folder.parent / "all.parquet"
    common = [str(one), "--target", "y", "--hidden", "3", "--strategy", "lbfgs", "--batch-size", "all",
              "--val-split", "0", "--steps", "40", "--tol", "0", "--quiet"]
    assert main(["train", *common, "--out", str(tmp_path / "memory.json")]) == 0
    assert main(["train", *common, "--stream", "--out", str(tmp_path / "stream.json")]) == 0
    memory, stream = (json.loads((tmp_path / f"{name}.json").read_text()) for name in ("memory", "stream"))
    assert stream["kind"] == memory["kind"] == "NetworkClassifier" and stream["training"]["hidden"] == [3]
    for ours, theirs in zip(stream["parameters"]["layers"], memory["parameters"]["layers"], strict=True):
        for name in ("W", "b"):
            np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-6, atol=1e-9)
    assert stream["metrics"]["train"]["accuracy"] == pytest.approx(memory["metrics"]["train"]["accuracy"], abs=1e-9)


def test_several_targets_streamed_are_one_line_that_says_to_train_in_memory(folder, tmp_path, capsys):
    out = tmp_path / "m.json"
    assert main(["train", str(folder), "--target", "a,b", "--out", str(out)]) == 2  # a folder streams
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "several targets" in err and "in memory" in err
    assert not out.exists()


def test_a_streamed_model_resumes_streamed(folder, tmp_path):
    out = tmp_path / "m.json"
    common = [str(folder), "--target", "y", "--strategy", "gradient_descent", "--val-split", "0.1", "--quiet"]
    assert main(["train", *common, "--steps", "5", "--out", str(out)]) == 0
    assert main(["train", *common, "--steps", "12", "--resume", str(out)]) == 0
    saved = json.loads(out.read_text())
    assert saved["training"]["steps_done"] == 12 and saved["training"]["runs"] == 2


def test_the_cache_of_decoded_blocks_changes_no_bit_of_the_model_and_is_removed(folder, tmp_path, monkeypatch):
    from neuronlab.sources import files
    from neuronlab.sources.cache import FOLDER_VARIABLE, BlockCache
    from stream_helpers import CountedReads

    monkeypatch.setenv(FOLDER_VARIABLE, str(tmp_path / "caches"))
    folders, new_file = [], BlockCache._new_file

    def noted(cache):
        file = new_file(cache)
        folders.append(cache.folder)
        return file

    monkeypatch.setattr(BlockCache, "_new_file", noted)
    reads = CountedReads(monkeypatch)
    cached, plain = tmp_path / "cached.json", tmp_path / "plain.json"
    assert main(["train", str(folder), *COMMON, "--out", str(cached)]) == 0
    n_pieces = len(files.FileSource(folder, "y", cache=False).pieces)
    assert reads.n == n_pieces  # the scan; every later pass from the cache
    reads.pieces.clear()
    assert main(["train", str(folder), *COMMON, "--no-cache", "--out", str(plain)]) == 0
    a, b = json.loads(cached.read_text()), json.loads(plain.read_text())
    assert a["parameters"] == b["parameters"] and a["metrics"] == b["metrics"]
    assert reads.n > 5 * n_pieces  # without the cache, every pass decodes the files
    gc.collect()
    assert folders and {os.path.dirname(f) for f in folders} == {str(tmp_path / "caches")}
    assert not any(os.path.exists(f) for f in folders)
