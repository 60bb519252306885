"""Streamed files (sources.files): the rows of CSV/TSV/Parquet files, a folder or a glob of them,
read a block at a time, give the same J and ∇J as the same rows in memory, the same optimum as
scikit-learn, reproducible mini-batches, and an error naming the file for a corrupt one."""

import os

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from neuronlab import Neuron, NeuronObjective
from neuronlab.estimators.neuron import NeuronClassifier, NeuronRegressor
from neuronlab.io.tables import Standardizer
from neuronlab.sources.files import FileSource, Scan


def _logistic(n=3000, p=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * [1.0, 3.0, 0.5, 10.0][:p] + [0.0, 5.0, -1.0, 100.0][:p]
    z = ((X - X.mean(0)) / X.std(0)) @ np.linspace(1.0, -1.0, p)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-z))).astype(np.int64)
    return X, y


def _write(folder, X, y, fmt, files=3, row_group_size=400, labels=None):
    """The rows split into ``files`` files (uneven), Parquet with small row groups, or CSV."""
    folder.mkdir(exist_ok=True)
    cuts = np.array_split(np.arange(len(y)), files)
    for k, rows in enumerate(cuts):
        target = y[rows] if labels is None else np.asarray(labels, dtype=object)[y[rows]]
        table = pa.table({**{f"x{j}": X[rows, j] for j in range(X.shape[1])}, "label": target})
        if fmt == "parquet":
            pq.write_table(table, folder / f"part-{k}.parquet", row_group_size=row_group_size)
        else:
            pcsv.write_csv(table, folder / f"part-{k}.csv")
    return folder


def _prepared(data, **kw):
    """The training FileSource as the CLI makes it: scan, classes, μ and σ."""
    raw = FileSource(data, "label", **kw)
    scan = raw.scan()
    labels = scan.classes if scan.target_is_text else [int(c) for c in scan.classes]
    scale = np.where(scan.std == 0, 1.0, scan.std)
    return raw.configured(labels=labels, target_is_text=scan.target_is_text, mean=scan.mean, scale=scale), scan


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_streamed_files_give_the_loss_and_gradient_of_the_same_rows_in_memory(tmp_path, fmt):
    X, y = _logistic()
    folder = _write(tmp_path / "data", X, y, fmt)
    source, scan = _prepared(folder, block_rows=333)
    scaler = Standardizer().fit(X)
    np.testing.assert_allclose(scan.mean, scaler.mean, rtol=1e-13)
    np.testing.assert_allclose(scan.std, scaler.scale, rtol=1e-12)
    assert scan.n_rows == len(y) and scan.classes == [0.0, 1.0]
    theta = np.array([0.3, -0.2, 0.5, 0.1, -0.4])
    for alpha in (0.0, 0.05):
        streamed = NeuronObjective.from_source(Neuron(4, "sigmoid"), source, "log_loss", alpha=alpha)
        memory = NeuronObjective(Neuron(4, "sigmoid"), scaler.transform(X), y.astype(float), "log_loss", alpha=alpha)
        value, grad = streamed.loss_and_grad(theta)
        expected, expected_grad = memory.loss_and_grad(theta)
        assert value == pytest.approx(expected, rel=1e-12)
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-10, atol=1e-13)
    assert source.n_samples == len(y)
    assert source.batches_per_epoch(100) == len(list(source.batches(100, np.random.default_rng(0))))


def test_a_scan_merged_from_pieces_is_the_scan_of_all_rows():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(1000, 3)) * 1e3 + 1e6  # large mean, small spread: a naive Σx² would lose it
    parts = [Scan.of_block(X[a:b], None, 0) for a, b in ((0, 1), (1, 400), (400, 1000))]
    merged = Scan.merge(parts)
    np.testing.assert_allclose(merged.mean, X.mean(0), rtol=1e-14)
    np.testing.assert_allclose(merged.std, X.std(0), rtol=1e-9)


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_a_classifier_fitted_on_streamed_parquet_reaches_scikit_learns_optimum(tmp_path):
    sklearn = pytest.importorskip("sklearn.linear_model")
    X, y = _logistic(n=4000)
    source, _ = _prepared(_write(tmp_path / "data", X, y, "parquet"), block_rows=500)
    alpha = 1e-3
    ours = NeuronClassifier(solver="lbfgs", max_steps=500, tol=1e-12, alpha=alpha, random_state=0).fit(source)
    Xs = Standardizer().fit_transform(X)
    ref = sklearn.LogisticRegression(C=1.0 / (alpha * len(y)), tol=1e-12, max_iter=10_000).fit(Xs, y)
    memory = NeuronObjective(Neuron(4, "sigmoid"), Xs, y.astype(float), "log_loss", alpha=alpha)
    ref_theta = np.append(ref.coef_.ravel(), ref.intercept_)
    ours_theta = np.append(ours.coef_, ours.intercept_)
    assert memory.loss(ours_theta) == pytest.approx(memory.loss(ref_theta), rel=1e-8)
    np.testing.assert_allclose(ours.coef_, ref.coef_.ravel(), atol=1e-5)
    assert ours.intercept_ == pytest.approx(ref.intercept_[0], abs=1e-5)
    assert list(ours.classes_) == [0, 1] and list(ours.feature_names_in_) == ["x0", "x1", "x2", "x3"]
    np.testing.assert_array_equal(ours.predict(Xs), ref.predict(Xs))


def test_a_regressor_fitted_on_streamed_csv_reaches_least_squares(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2500, 3))
    y = X @ [2.0, -1.0, 0.5] + 3.0 + rng.normal(0, 0.1, 2500)
    folder = tmp_path / "data"
    folder.mkdir()
    pcsv.write_csv(pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "label": y}), folder / "rows.csv")
    source = FileSource(folder, "label", block_rows=256).configured(target_is_text=False)
    ours = NeuronRegressor(solver="lbfgs", max_steps=500, tol=1e-14, random_state=0).fit(source)
    exact = np.linalg.lstsq(np.column_stack([X, np.ones(len(y))]), y, rcond=None)[0]  # the closed form
    np.testing.assert_allclose(ours.coef_, exact[:3], atol=1e-6)
    assert ours.intercept_ == pytest.approx(exact[3], abs=1e-6)


def test_mini_batches_cover_every_row_once_per_epoch_and_repeat_for_a_seed(tmp_path):
    X, y = _logistic(n=1500)
    source, _ = _prepared(_write(tmp_path / "data", X, y, "parquet", row_group_size=200), block_rows=150)

    def epoch(seed):
        rng = np.random.default_rng(seed)
        return [(block.X[block.rows].copy(), size) for block, size in source.batches(64, rng)]

    first, again, other = epoch(7), epoch(7), epoch(8)
    assert all(np.array_equal(a, b) for (a, _), (b, _) in zip(first, again))
    assert not all(np.array_equal(a, b) for (a, _), (b, _) in zip(first, other))
    rows = np.concatenate([a for a, _ in first])
    assert rows.shape[0] == len(y) and sum(size for _, size in first) == len(y)
    # every row once: the same multiset of rows as one pass in order
    whole = np.concatenate([b.X for b in source.blocks()])
    np.testing.assert_array_equal(np.unique(rows, axis=0), np.unique(whole, axis=0))
    assert len(first) == source.batches_per_epoch(64)
    fits = [NeuronClassifier(solver="adam", batch_size=64, max_steps=3, learning_rate=0.01, tol=0,
                             random_state=4).fit(source)
            for _ in range(2)]
    np.testing.assert_array_equal(fits[0].coef_, fits[1].coef_)


def test_the_validation_split_is_the_same_rows_in_any_order_and_disjoint(tmp_path):
    X, y = _logistic(n=2000)
    folder = _write(tmp_path / "data", X, y, "parquet")
    raw = FileSource(folder, "label", block_rows=300)
    train = raw.configured(part="train", val_split=0.25, seed=3, labels=[0, 1], target_is_text=False)
    validation = train.configured(part="validation")
    rows_train = np.concatenate([b.X for b in train.blocks()])
    rows_val = np.concatenate([b.X for b in validation.blocks()])
    assert rows_train.shape[0] + rows_val.shape[0] == len(y)
    assert 0.2 < rows_val.shape[0] / len(y) < 0.3
    assert not set(map(tuple, rows_train)) & set(map(tuple, rows_val))
    shuffled = np.concatenate([b.X[b.rows] for b, _ in train.batches(50, np.random.default_rng(0))])
    np.testing.assert_array_equal(np.unique(shuffled, axis=0), np.unique(rows_train, axis=0))


def test_text_labels_are_classes_and_a_third_one_is_named(tmp_path):
    X, y = _logistic(n=600)
    folder = _write(tmp_path / "data", X, y, "csv", files=2, labels=["healthy", "ill"])
    source, scan = _prepared(folder)
    assert scan.target_is_text and scan.classes == ["healthy", "ill"]
    fitted = NeuronClassifier(solver="lbfgs", max_steps=50, random_state=0).fit(source)
    assert list(fitted.classes_) == ["healthy", "ill"]
    bad = tmp_path / "bad"
    bad.mkdir()
    pcsv.write_csv(pa.table({"x0": [1.0, 2.0, 3.0], "label": ["a", "b", "c"]}), bad / "rows.csv")
    with pytest.raises(ValueError, match="third class c besides a and b"):
        NeuronObjective.from_source(Neuron(1, "sigmoid"), FileSource(bad, "label").configured(
            labels=["a", "b"], target_is_text=True), "log_loss").loss(np.zeros(2))


def test_a_corrupt_parquet_file_in_a_folder_is_named(tmp_path):
    X, y = _logistic(n=900)
    folder = _write(tmp_path / "data", X, y, "parquet")
    (folder / "part-1.parquet").write_bytes((folder / "part-1.parquet").read_bytes()[:300])  # truncated
    with pytest.raises(ValueError, match=r"part-1\.parquet: cannot be read as Parquet") as error:
        FileSource(folder, "label")
    assert "\n" not in str(error.value)


def test_missing_values_are_an_error_naming_the_column_or_dropped(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("a,b,label\n1,2,0\n3,,1\n4,5,1\n6,7,0\n")
    with pytest.raises(ValueError, match=r"rows\.csv: missing or infinite values in column\(s\) b"):
        FileSource(path, "label").scan()
    scan = FileSource(path, "label", drop_missing=True).scan()
    assert scan.n_rows == 3 and scan.n_dropped == 1


def test_a_glob_and_a_list_name_the_same_rows_and_mixed_formats_are_refused(tmp_path):
    X, y = _logistic(n=300)
    folder = _write(tmp_path / "data", X, y, "parquet")
    assert FileSource(str(folder / "part-*.parquet"), "label").files == FileSource(folder, "label").files
    pcsv.write_csv(pa.table({"x0": [1.0], "label": [0]}), folder / "extra.csv")
    with pytest.raises(ValueError, match="mixes Parquet and CSV"):
        FileSource(folder, "label")
    with pytest.raises(ValueError, match="matches no files"):
        FileSource(str(tmp_path / "nothing-*.csv"), "label")


def test_the_scan_counts_the_rows_of_both_parts_so_that_no_pass_counts_them_again(tmp_path):
    X, y = _logistic(n=2000)
    folder = _write(tmp_path / "data", X, y, "parquet")
    split = dict(val_split=0.25, seed=3, block_rows=150)
    raw = FileSource(folder, "label", part="train", **split)
    scan = raw.scan()
    train = raw.configured(labels=[0, 1], target_is_text=False, mean=scan.mean, scale=scan.std)
    validation = train.configured(part="validation")
    assert train.n_samples == scan.n_rows and validation.n_samples == len(y) - scan.n_rows
    assert train.batches_per_epoch(64) == len(list(train.batches(64, np.random.default_rng(0))))
    assert validation.rows_read == 0  # counted without reading
    # the counts are those a fresh source finds by reading its rows
    assert FileSource(folder, "label", part="validation", **split).n_samples == validation.n_samples
    assert FileSource(folder, "label", part="train", **split).n_samples == train.n_samples
    # another split is not the same rows: counted anew
    other = train.configured(seed=4)
    assert other.n_samples == sum(X.shape[0] for X, _ in ((b.X, b.y) for b in other.blocks()))


def _three_classes(n=3000, p=3, seed=0):
    """Rows of three classes drawn from a softmax of a linear score (so no class is separable)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * [1.0, 2.0, 0.5][:p] + [0.0, 3.0, -1.0][:p]
    z = ((X - X.mean(0)) / X.std(0)) @ rng.normal(size=(p, 3))
    P = np.exp(z - z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    y = (rng.random((n, 1)) > np.cumsum(P, 1)).sum(1)
    return X, y


def _softmax_loss(X, target, alpha):
    """J of multinomial logistic regression on rows in memory: the in-memory estimator's objective."""
    return NeuronClassifier(alpha=alpha).objective(X, target.astype(float), n_classes=3)


def _softmax_theta(coef, intercept):
    from neuronlab.models.network import Network

    return Network(coef.shape[1], (), n_outputs=coef.shape[0], output="softmax").layout.pack(W1=coef.T, b1=intercept)


def test_k_classes_streamed_reach_the_in_memory_fit_and_scikit_learns_multinomial_optimum(tmp_path):
    linear_model = pytest.importorskip("sklearn.linear_model")
    X, y = _three_classes()
    names = np.array(["ash", "birch", "cedar"])
    source, scan = _prepared(_write(tmp_path / "data", X, y, "parquet", labels=names), block_rows=300)
    assert scan.classes == list(names)
    alpha = 1e-3
    options = dict(solver="lbfgs", max_steps=1000, tol=1e-12, alpha=alpha, random_state=0)
    streamed = NeuronClassifier(**options).fit(source)
    Xs = Standardizer().fit_transform(X)
    memory = NeuronClassifier(**options).fit(Xs, names[y])
    ref = linear_model.LogisticRegression(C=1.0 / (alpha * len(y)), tol=1e-12, max_iter=10_000).fit(Xs, y)
    J = _softmax_loss(Xs, y, alpha)
    ours = J.loss(_softmax_theta(streamed.coef_, streamed.intercept_))
    assert ours == pytest.approx(J.loss(_softmax_theta(memory.coef_, memory.intercept_)), rel=1e-10)
    assert ours == pytest.approx(J.loss(_softmax_theta(ref.coef_, ref.intercept_)), rel=1e-8)
    np.testing.assert_allclose(streamed.coef_, ref.coef_, atol=1e-5)
    assert list(streamed.classes_) == list(names) and streamed.coef_.shape == (3, 3)
    pd = pytest.importorskip("pandas")
    rows = pd.DataFrame(Xs, columns=["x0", "x1", "x2"])  # the streamed fit knows the columns' names
    np.testing.assert_array_equal(streamed.predict(rows), names[ref.predict(Xs)])


def test_a_network_streamed_takes_the_steps_it_takes_in_memory(tmp_path):
    from neuronlab.estimators.network import NetworkClassifier, NetworkRegressor

    X, y = _three_classes(n=1500, seed=2)
    source, _ = _prepared(_write(tmp_path / "data", X, y, "csv"), block_rows=200)
    Xs = Standardizer().fit_transform(X)
    for solver in ("lbfgs", "gradient_descent", "line_search"):
        options = dict(hidden_layer_sizes=(6,), solver=solver, max_iter=25, tol=0, batch_size=None,
                       learning_rate=0.5, random_state=4)
        streamed = NetworkClassifier(**options).fit(source)
        memory = NetworkClassifier(**options).fit(Xs, y)
        np.testing.assert_allclose(streamed.history_.loss, memory.history_.loss, rtol=1e-10)
        np.testing.assert_allclose(streamed.theta_, memory.theta_, rtol=1e-8, atol=1e-10)
    target = Xs @ [1.0, -2.0, 0.5] + 0.1 * np.sin(3 * Xs[:, 0])
    folder = tmp_path / "numbers"
    folder.mkdir()
    pq.write_table(pa.table({"a": Xs[:, 0], "b": Xs[:, 1], "c": Xs[:, 2], "label": target}), folder / "rows.parquet",
                   row_group_size=256)
    numbers = FileSource(folder, "label").configured(target_is_text=False)
    options = dict(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=30, tol=0, random_state=1)
    streamed, memory = NetworkRegressor(**options).fit(numbers), NetworkRegressor(**options).fit(Xs, target)
    np.testing.assert_allclose(streamed.history_.loss, memory.history_.loss, rtol=1e-10)


def _copy_route(rule):
    """``rule`` without its ``column_sums``: a source then sums every block from its standardised copy."""
    return lambda theta, block, want_grad=True: rule(theta, block, want_grad)


@pytest.mark.parametrize("pair", [("sigmoid", "log_loss"), ("identity", "squared_error"), ("tanh", "huber")])
def test_a_block_is_summed_where_pyarrow_decoded_it_with_the_bits_of_its_copy(tmp_path, monkeypatch, pair):
    """The neuron's kernel reads a Parquet block's columns as decoded, standardising as it reads:
    no copy of the block is made, and the sums are those of the standardised copy, bit for bit
    (the copy summed by the same compiled kernel), and those of the rows in memory."""
    from neuronlab.sources import files

    X, y = _logistic(n=20_000, p=4)
    folder = _write(tmp_path / "data", X, y, "parquet", row_group_size=7_000)
    source, _ = _prepared(folder)
    activation, loss = pair
    objective = NeuronObjective.from_source(Neuron(4, activation), source, loss, engine="numba")
    theta = np.array([0.3, -0.2, 0.5, 0.1, -0.4])
    copies = []
    real_fill = files.fill_columns
    monkeypatch.setattr(files, "fill_columns", lambda *a, **k: copies.append(1) or real_fill(*a, **k))
    loss_sum, weight_sum, grad = source.sum_blocks(objective.rule, theta)
    assert copies == []  # every block summed where it was decoded
    copied = source.sum_blocks(_copy_route(objective.rule), theta)
    assert len(copies) == len(source.pieces)
    assert (loss_sum, weight_sum) == copied[:2]
    np.testing.assert_array_equal(grad, copied[2])
    scaler = Standardizer().fit(X)
    memory = NeuronObjective(Neuron(4, activation), scaler.transform(X), y.astype(float), loss)
    expected, expected_grad = memory.loss_and_grad(theta)
    value, gradient = objective.loss_and_grad(theta)
    assert value == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(gradient, expected_grad, rtol=1e-10, atol=1e-13)
    assert source.n_samples == len(y)


@pytest.mark.parametrize("n, engine", [(2_000, "auto"), (30_000, "numpy")])
def test_a_block_the_copy_would_not_give_the_compiled_kernel_is_not_offered_to_it(tmp_path, monkeypatch, n, engine):
    """Small data (under COMPILED_MIN_ELEMENTS values a block) with engine 'auto', or any data with
    engine 'numpy': the copy route sums it with NumPy, so the column route is not tried — no
    ColumnBlock is built, the compiled engine is never asked for — and the sums are the NumPy
    formulas' over the standardised rows."""
    from neuronlab.models import kernel
    from neuronlab.sources import files

    p = 4
    assert (n * p < kernel.COMPILED_MIN_ELEMENTS) == (engine == "auto")
    X, y = _logistic(n=n, p=p)
    source, _ = _prepared(_write(tmp_path / "data", X, y, "parquet", row_group_size=n))
    rule = NeuronObjective.from_source(Neuron(p, "sigmoid"), source, "log_loss", engine=engine).rule
    theta = np.array([0.3, -0.2, 0.5, 0.1, -0.4])
    built = []
    real_block = files.FileSource._column_block
    monkeypatch.setattr(files.FileSource, "_column_block", lambda *a: built.append(1) or real_block(*a))
    monkeypatch.setattr(kernel, "_compiled", lambda: pytest.fail("the compiled engine was asked for"))
    loss_sum, weight_sum, grad = source.sum_blocks(rule, theta)
    assert built == []
    Xs = np.column_stack([Standardizer().fit(X).transform(X), np.ones(n)])
    z = Xs @ theta
    assert weight_sum == n
    assert loss_sum == pytest.approx(np.sum(np.logaddexp(0.0, z) - y * z), rel=1e-12)
    np.testing.assert_allclose(grad, Xs.T @ (1.0 / (1.0 + np.exp(-z)) - y), rtol=1e-10, atol=1e-10)


def test_the_column_route_takes_the_rows_of_its_part_and_leaves_bad_values_to_the_copy(tmp_path, monkeypatch):
    """A training part's rows are summed where decoded, as its copy sums them; a block with a
    missing feature value goes the copy's route, which drops that row (or names the column)."""
    from neuronlab.sources import files

    X, y = _logistic(n=9_000, p=4)
    X[4_321, 2] = np.nan
    folder = _write(tmp_path / "data", X, y, "parquet", row_group_size=3_000)
    theta = np.array([0.3, -0.2, 0.5, 0.1, -0.4])
    copied_blocks = {}
    for part in (None, "train", "validation"):
        source, scan = _prepared(folder, drop_missing=True, part=part, val_split=0.25, seed=3)
        assert scan.n_dropped == 1  # counted as read, before the split into parts
        rule = NeuronObjective.from_source(Neuron(4, "sigmoid"), source, "log_loss", engine="numba").rule
        copies = []
        real_fill = files.fill_columns
        monkeypatch.setattr(files, "fill_columns", lambda *a, **k: copies.append(1) or real_fill(*a, **k))
        summed = source.sum_blocks(rule, theta)
        copied_blocks[part] = len(copies)
        monkeypatch.setattr(files, "fill_columns", real_fill)
        copied = source.sum_blocks(_copy_route(rule), theta)
        assert summed[1] == copied[1] == source.n_samples
        assert summed[0] == pytest.approx(copied[0], rel=1e-13)
        np.testing.assert_allclose(summed[2], copied[2], rtol=1e-12, atol=1e-12)
    # only the block with the missing value is copied: in the whole data, and in the one part that has its row
    assert copied_blocks[None] == 1 and copied_blocks["train"] + copied_blocks["validation"] == 1
    with pytest.raises(ValueError, match=r"part-1\.parquet \(row group 0\): missing or infinite values in column\(s\) x2"):
        raw = FileSource(folder, "label").configured(labels=[0, 1], target_is_text=False)
        NeuronObjective.from_source(Neuron(4, "sigmoid"), raw, "log_loss").loss(theta)


@pytest.mark.parametrize("few", [0, 16])
@pytest.mark.parametrize("text", [False, True])
def test_class_numbers_by_comparison_or_by_binary_search_are_each_labels_place(few, text, monkeypatch):
    """A block's labels become their class's place in ``labels`` (not the sorted order), by one
    comparison per class or by a binary search per row alike; a label outside them is named."""
    from neuronlab.core import validation
    from neuronlab.sources.files import TableReader

    monkeypatch.setattr(validation, "FEW_LABELS", few)
    labels = ["pear", "apple", "fig", "kiwi", "date"] if text else [7, -2, 30, 0, 5]
    places = np.random.default_rng(4).integers(0, len(labels), 5_000)
    y = np.asarray(labels, dtype=object)[places] if text else np.asarray(labels, dtype=float)[places]
    reader = TableReader(["x"], "label", labels=labels)
    got = reader._target(y, "rows.csv")
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, places.astype(float))
    y[3_210] = "plum" if text else 6.0
    with pytest.raises(ValueError, match="rows.csv: the target 'label' has a class " + ("plum" if text else "6")):
        reader._target(y, "rows.csv")


def test_boolean_and_integer_columns_with_nulls_are_numbers_with_missing_values(tmp_path):
    """Booleans and integers are numbers (True = 1); their nulls are missing values: an error that
    names the column, or, with drop_missing, rows dropped — and the rest learned as in memory."""
    rng = np.random.default_rng(5)
    n = 600
    a = rng.normal(size=n)
    flags = rng.random(n) < 0.5
    counts = rng.integers(0, 9, n)
    y = (a + flags - counts / 8 + rng.normal(0, 0.5, n) > 0).astype(np.int64)
    table = pa.table({"a": a, "b": pa.array([None if i == 5 else bool(v) for i, v in enumerate(flags)]),
                      "c": pa.array([None if i == 7 else int(v) for i, v in enumerate(counts)]), "label": y})
    pq.write_table(table, tmp_path / "rows.parquet", row_group_size=250)
    with pytest.raises(ValueError, match=r"rows\.parquet \(row group 0\): missing or infinite values in column\(s\) "
                                         r"b, c \(2 rows\); fill them in, or drop those rows with drop_missing=True$"):
        FileSource(tmp_path / "rows.parquet", "label").scan()
    source, scan = _prepared(tmp_path / "rows.parquet", drop_missing=True)
    assert scan.n_rows == n - 2 and scan.n_dropped == 2
    kept = np.ones(n, dtype=bool)
    kept[[5, 7]] = False
    X = np.column_stack([a, flags, counts]).astype(float)[kept]
    theta = np.array([0.4, 0.3, -0.2, 0.1])
    streamed = NeuronObjective.from_source(Neuron(3, "sigmoid"), source, "log_loss")
    memory = NeuronObjective(Neuron(3, "sigmoid"), Standardizer().fit(X).transform(X), y[kept].astype(float),
                             "log_loss")
    value, grad = streamed.loss_and_grad(theta)
    expected, expected_grad = memory.loss_and_grad(theta)
    assert value == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-10, atol=1e-13)


def test_a_later_file_with_a_text_feature_is_named_after_good_blocks(tmp_path):
    """Each block's columns are checked (the check is skipped only for a schema already passed):
    a second file whose feature holds text is an error that names it."""
    folder = tmp_path / "data"
    folder.mkdir()
    pq.write_table(pa.table({"a": [0.5, 1.5, -1.0, 2.0], "b": [1.0, 2.0, 3.0, 4.0], "label": [0, 1, 0, 1]}),
                   folder / "part-0.parquet")
    pq.write_table(pa.table({"a": ["x", "y"], "b": [1.0, 2.0], "label": [1, 0]}), folder / "part-1.parquet")
    source = FileSource(folder, "label").configured(labels=[0, 1], target_is_text=False, mean=[0.0, 0.0],
                                                   scale=[1.0, 1.0])
    objective = NeuronObjective.from_source(Neuron(2, "sigmoid"), source, "log_loss")
    with pytest.raises(ValueError, match=r"part-1\.parquet \(row group 0\): feature column a is not numeric"):
        objective.loss_and_grad(np.zeros(3))


def test_a_parquet_file_cut_short_during_a_pass_is_an_error_that_names_it(tmp_path):
    """Another program cutting a file short while a pass reads it: the next row group read is an
    error naming the file (a memory-mapped read would stop the process with SIGBUS instead)."""
    X, y = _logistic(n=3000, p=4)
    folder = _write(tmp_path / "data", X, y, "parquet", files=1, row_group_size=500)
    source, _ = _prepared(folder)
    path = source.files[0]
    blocks = source._each()
    next(blocks)
    os.truncate(path, os.path.getsize(path) // 3)
    with pytest.raises(ValueError, match=r"part-0\.parquet: cannot be read as PARQUET"):
        for _ in blocks:
            pass
