"""Reading data: the numbers pyarrow gives equal those of independent routes."""

import csv
import gzip

import numpy as np
import pytest

from neuronlab.io.tables import (
    Standardizer,
    load_dataset,
    prepare,
    read_table,
    split_rows,
    as_table,
)

HEADER = ["a", "b", "label"]
ROWS = [
    ["1.5", "-2.25", "yes"],
    ["0.1", "3e-5", "no"],
    ["123456.789", "0.30000000000000004", "yes"],
    ["-7", "1e300", "no"],
]


def write_csv(path, rows=ROWS, header=HEADER, delimiter=","):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)
    return path


def expected_with_csv_module(path, delimiter=","):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter=delimiter))
    return np.array([[float(r["a"]), float(r["b"])] for r in rows]), [r["label"] for r in rows]


def test_csv_gives_the_numbers_python_csv_gives(tmp_path):
    path = write_csv(tmp_path / "d.csv")
    ds = load_dataset(str(path), "label")
    X, labels = expected_with_csv_module(path)
    np.testing.assert_array_equal(ds.X, X)  # bit for bit
    assert list(ds.y) == labels
    assert ds.feature_names == ["a", "b"] and ds.labels == ["no", "yes"] and ds.task == "classify"


def test_tsv_gzip_and_parquet_read_the_same_numbers(tmp_path):
    import pandas as pd

    csv_path = write_csv(tmp_path / "d.csv")
    tsv_path = write_csv(tmp_path / "d.tsv", delimiter="\t")
    gz_path = tmp_path / "d.csv.gz"
    gz_path.write_bytes(gzip.compress(csv_path.read_bytes()))
    frame = pd.read_csv(csv_path)
    frame.to_parquet(tmp_path / "d.parquet")
    expected = frame[["a", "b"]].to_numpy()
    for path in (tsv_path, gz_path, tmp_path / "d.parquet"):
        ds = load_dataset(str(path), "label")
        np.testing.assert_array_equal(ds.X, expected)
        assert list(ds.y) == list(frame["label"])
    # a data frame and a numpy array through the API
    np.testing.assert_array_equal(load_dataset(frame, "label").X, expected)
    numbered = load_dataset(frame.set_axis([0, 1, "label"], axis=1), "label")  # column names become text
    assert numbered.feature_names == ["0", "1"] and frame.columns.tolist() == ["a", "b", "label"]
    np.testing.assert_array_equal(numbered.X, expected)
    np.testing.assert_array_equal(prepare(as_table(expected), None, require_target=False).X, expected)


def test_default_features_are_every_other_column_and_order_follows_features(tmp_path):
    path = write_csv(tmp_path / "d.csv")
    ds = load_dataset(str(path), "label", ["b", "a"])
    X, _ = expected_with_csv_module(path)
    np.testing.assert_array_equal(ds.X, X[:, ::-1])


def test_missing_values_name_the_column_and_count_rows(tmp_path):
    rows = [r[:] for r in ROWS + ROWS]
    rows[1][0] = ""
    rows[2][1] = "NA"
    rows[3][0] = ""
    path = write_csv(tmp_path / "d.csv", rows)
    with pytest.raises(ValueError, match=r"a \(2 rows\), b \(1 row\), 3 rows in all.*drop_missing=True"):
        load_dataset(str(path), "label")
    ds = load_dataset(str(path), "label", drop_missing=True)
    kept = [ROWS[0]] + ROWS
    assert ds.n_dropped == 3
    assert ds.X.tolist() == [[float(r[0]), float(r[1])] for r in kept]
    assert list(ds.y) == [r[2] for r in kept]


def test_text_feature_is_an_error_naming_it(tmp_path):
    path = write_csv(tmp_path / "d.csv", [r + ["Paris"] for r in ROWS], HEADER + ["city"])
    with pytest.raises(ValueError, match=r"city are not numeric.*features=\['a', 'b'\]"):
        load_dataset(str(path), "label")


def test_one_class_is_an_error_and_three_classes_are_three_labels(tmp_path):
    path = write_csv(tmp_path / "d.csv", [r[:2] + ["yes"] for r in ROWS])
    with pytest.raises(ValueError, match="only one class"):
        load_dataset(str(path), "label")
    path = write_csv(tmp_path / "e.csv", [r[:2] + [c] for r, c in zip(ROWS, "xyzx")])
    dataset = load_dataset(str(path), "label")
    assert dataset.task == "classify" and dataset.labels == ["x", "y", "z"]


def test_task_inference():
    table = {"x": np.arange(6.0), "two": np.array([3, 5, 3, 5, 3, 5]), "many": np.arange(6.0) ** 2}
    assert load_dataset(table, "two").task == "classify"
    assert load_dataset(table, "two").labels == [3, 5]
    assert load_dataset(table, "many", ["x"]).task == "regress"


def test_split_is_the_documented_permutation():
    train, val = split_rows(10, 0.3, 7)
    order = np.random.default_rng(7).permutation(10)
    assert val.tolist() == sorted(order[:3].tolist()) and train.tolist() == sorted(order[3:].tolist())


def test_standardizer_uses_the_rows_it_is_fitted_on():
    X = np.array([[1.0, 5.0], [3.0, 5.0], [100.0, 7.0]])
    s = Standardizer().fit(X[:2])
    np.testing.assert_array_equal(s.mean, [2.0, 5.0])
    np.testing.assert_array_equal(s.scale, [1.0, 1.0])  # σ = 1 for column 0; constant column → 1
    np.testing.assert_array_equal(s.transform(X[2:]), [[98.0, 2.0]])


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    (b"", "empty"),
    (b"a,b,label\n", "header but no rows"),
    (b"PAR1garbage", "cannot be read as PARQUET"),
])
def test_bad_files_are_one_clear_value_error(tmp_path, content, message):
    path = tmp_path / "d.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        load_dataset(str(path), "label")


def test_read_table_reads_built_in_names():
    assert read_table("obesity").column_names == ["height", "weight", "condition"]
