"""`neuronlab train` beyond memory: --stream (and streaming on its own over --memory-limit or for a
folder) gives the model the in-memory path gives; a corrupt Parquet file in a folder is one line
that names it, exit 2, no model; Ctrl-C saves the interrupted model; --dask local:1 the same model."""

from __future__ import annotations

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


def test_more_than_two_classes_streamed_is_one_line_that_says_so(tmp_path, capsys):
    path = tmp_path / "seven.csv"
    path.write_text("x,t\n" + "".join(f"{i},{'abcdefg'[i % 7]}\n" for i in range(70)))
    assert main(["train", str(path), "--target", "t", "--stream", "--out", str(tmp_path / "m.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "more than two classes" in err and "in memory" in err
    assert not (tmp_path / "m.json").exists()
