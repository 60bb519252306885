"""Dask (sources.dask): the partitions stay on the workers of a LocalCluster of processes; the
partial sums come back and give the same J, ∇J and fit as the rows in memory, the workers read
their own Parquet files, predict of a Dask collection is lazy, and a worker killed mid-fit
changes nothing in the answer."""

import os
import signal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

from neuronlab import Neuron, NeuronObjective  # noqa: E402
from neuronlab.estimators.neuron import NeuronClassifier, NeuronRegressor  # noqa: E402
from neuronlab.sources.dask import DaskSource, is_dask_collection  # noqa: E402
from neuronlab.sources.files import FileSource  # noqa: E402


@pytest.fixture(scope="module")
def client():
    """One small cluster for the module: two single-threaded worker processes."""
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


def _logistic(n=3000, p=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-X @ np.linspace(1.5, -1.0, p)))).astype(np.int64)
    return X, y


def test_partial_sums_on_the_workers_give_the_loss_and_gradient_in_memory(client):
    X, y = _logistic()
    source = DaskSource.from_arrays(da.from_array(X, chunks=(700, 2)), da.from_array(y.astype(float), chunks=500),
                                    client=client)
    assert source.n_samples == len(y) and len(source.parts) == 5
    theta = np.array([0.2, -0.3, 0.1, 0.05])
    for alpha in (0.0, 0.1):
        on_workers = NeuronObjective.from_source(Neuron(3, "sigmoid"), source, "log_loss", alpha=alpha)
        memory = NeuronObjective(Neuron(3, "sigmoid"), X, y.astype(float), "log_loss", alpha=alpha)
        value, grad = on_workers.loss_and_grad(theta)
        expected, expected_grad = memory.loss_and_grad(theta)
        assert value == pytest.approx(expected, rel=1e-12)
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-11, atol=1e-15)
        assert on_workers.loss(theta) == pytest.approx(expected, rel=1e-12)


def test_a_classifier_on_dask_arrays_reaches_scikit_learns_optimum_and_predicts_lazily(client):
    linear_model = pytest.importorskip("sklearn.linear_model")
    X, y = _logistic(n=4000)
    labels = np.array(["no", "yes"])[y]
    alpha = 1e-3
    X_dask = da.from_array(X, chunks=(900, 3))
    ours = NeuronClassifier(solver="lbfgs", max_steps=500, tol=1e-12, alpha=alpha, random_state=0).fit(
        X_dask, da.from_array(labels, chunks=900))
    ref = linear_model.LogisticRegression(C=1.0 / (alpha * len(y)), tol=1e-12, max_iter=10_000).fit(X, labels)
    memory = NeuronObjective(Neuron(3, "sigmoid"), X, y.astype(float), "log_loss", alpha=alpha)
    ours_theta, ref_theta = np.append(ours.coef_, ours.intercept_), np.append(ref.coef_.ravel(), ref.intercept_)
    assert memory.loss(ours_theta) == pytest.approx(memory.loss(ref_theta), rel=1e-8)
    np.testing.assert_allclose(ours.coef_, ref.coef_.ravel(), atol=1e-5)
    assert list(ours.classes_) == ["no", "yes"]
    predicted = ours.predict(X_dask)
    assert is_dask_collection(predicted)  # lazy: nothing computed yet
    np.testing.assert_array_equal(predicted.compute(), ours.predict(X))
    np.testing.assert_allclose(ours.predict_proba(X_dask).compute(), ours.predict_proba(X), rtol=1e-12)


def test_the_same_fit_on_the_workers_as_in_memory(client):
    X, y = _logistic(n=2000, seed=4)
    options = dict(solver="gradient_descent", learning_rate=0.5, max_steps=40, tol=0, random_state=3)
    on_workers = NeuronClassifier(**options).fit(da.from_array(X, chunks=(400, 3)), da.from_array(y, chunks=400))
    memory = NeuronClassifier(**options).fit(X, y)
    np.testing.assert_allclose(on_workers.coef_, memory.coef_, rtol=1e-10)
    np.testing.assert_allclose(on_workers.history_.loss, memory.history_.loss, rtol=1e-12)


def test_a_regressor_on_a_dask_dataframe_and_its_lazy_prediction(client):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(5)
    X = rng.normal(size=(1500, 2))
    y = X @ [1.5, -2.0] + 0.7 + rng.normal(0, 0.05, 1500)
    frame = dd.from_pandas(pd.DataFrame({"a": X[:, 0], "b": X[:, 1]}), npartitions=3)
    ours = NeuronRegressor(solver="lbfgs", max_steps=300, tol=1e-14, random_state=0).fit(
        frame, dd.from_pandas(pd.Series(y), npartitions=3))
    exact = np.linalg.lstsq(np.column_stack([X, np.ones(len(y))]), y, rcond=None)[0]
    np.testing.assert_allclose(np.append(ours.coef_, ours.intercept_), exact, atol=1e-6)
    assert list(ours.feature_names_in_) == ["a", "b"]
    lazy = ours.predict(frame)
    assert is_dask_collection(lazy)
    np.testing.assert_allclose(lazy.compute(), ours.predict(pd.DataFrame({"a": X[:, 0], "b": X[:, 1]})), rtol=1e-12)


def test_workers_read_their_own_parquet_files_and_scan_them(client, tmp_path):
    X, y = _logistic(n=2400)
    for k, rows in enumerate(np.array_split(np.arange(len(y)), 4)):
        pq.write_table(pa.table({"u": X[rows, 0], "v": X[rows, 1], "w": X[rows, 2], "label": y[rows]}),
                       tmp_path / f"part-{k}.parquet", row_group_size=250)
    raw = FileSource(tmp_path, "label")
    scan = DaskSource.scan_files(raw, client=client)
    local = raw.scan()
    assert scan.n_rows == local.n_rows == len(y) and scan.classes == local.classes == [0.0, 1.0]
    np.testing.assert_allclose(scan.mean, local.mean, rtol=1e-13)
    np.testing.assert_allclose(scan.std, local.std, rtol=1e-12)
    streamed = raw.configured(labels=[0, 1], target_is_text=False, mean=scan.mean, scale=scan.std)
    on_workers = DaskSource.from_files(streamed, client=client)
    assert len(on_workers.parts) == len(streamed.pieces) == 12
    theta = np.array([0.4, 0.1, -0.2, 0.3])
    value, grad = NeuronObjective.from_source(Neuron(3, "sigmoid"), on_workers, "log_loss").loss_and_grad(theta)
    expected, expected_grad = NeuronObjective.from_source(Neuron(3, "sigmoid"), streamed, "log_loss").loss_and_grad(theta)
    assert value == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-11, atol=1e-15)


def test_a_worker_killed_mid_fit_is_replaced_and_the_answer_is_the_same(client):
    X, y = _logistic(n=3000, seed=9)
    X_dask, y_dask = da.from_array(X, chunks=(500, 3)), da.from_array(y, chunks=500)
    options = dict(solver="gradient_descent", learning_rate=0.5, max_steps=30, tol=0, random_state=1)
    undisturbed = NeuronClassifier(**options).fit(X_dask, y_dask)
    killed = []

    def kill_one_worker(step):
        if step.step == 10 and not killed:
            victim, pid = sorted(client.run(os.getpid).items())[0]
            os.kill(pid, signal.SIGKILL)  # the worker process dies at once, its partitions with it
            killed.append(victim)
        return False

    disturbed = NeuronClassifier(**options).fit(X_dask, y_dask, callback=kill_one_worker)
    assert killed and disturbed.status_ == undisturbed.status_ and disturbed.n_iter_ == 30
    # the same answer: the partitions the dead worker held were rebuilt from their lineage and
    # the pieces added in partition order (to the last bit but for NumPy's sums, whose SIMD
    # order follows where in memory a rebuilt block lands)
    np.testing.assert_allclose(disturbed.history_.loss, undisturbed.history_.loss, rtol=1e-13)
    np.testing.assert_allclose(disturbed.coef_, undisturbed.coef_, rtol=1e-12)
    client.wait_for_workers(2, timeout=60)  # the nanny has started a new one
    assert killed[0] not in client.scheduler_info()["workers"]


def test_a_classifier_on_a_dask_dataframe_read_from_parquet_fits_as_in_memory(client, tmp_path):
    X, y = _logistic(n=2000, seed=11)
    for k, rows in enumerate(np.array_split(np.arange(len(y)), 3)):
        pq.write_table(pa.table({"u": X[rows, 0], "v": X[rows, 1], "w": X[rows, 2], "label": y[rows]}),
                       tmp_path / f"part-{k}.parquet")
    frame = dd.read_parquet(str(tmp_path))
    options = dict(solver="lbfgs", max_steps=200, tol=1e-12, alpha=1e-3, random_state=0)
    on_workers = NeuronClassifier(**options).fit(frame[["u", "v", "w"]], frame["label"])
    memory = NeuronClassifier(**options).fit(X, y)
    np.testing.assert_allclose(on_workers.coef_, memory.coef_, atol=1e-7)
    assert list(on_workers.classes_) == [0, 1]
    np.testing.assert_array_equal(on_workers.predict(frame[["u", "v", "w"]]).compute(), memory.predict(X))


def _three_classes(n=2400, p=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    z = X @ rng.normal(size=(p, 3))
    P = np.exp(z - z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    return X, (rng.random((n, 1)) > np.cumsum(P, 1)).sum(1)


def test_k_classes_on_the_workers_reach_the_in_memory_fit_and_predict_lazily(client):
    X, y = _three_classes()
    labels = np.array(["low", "mid", "top"])[y]
    options = dict(solver="lbfgs", max_steps=500, tol=1e-12, alpha=1e-3, random_state=0)
    X_dask = da.from_array(X, chunks=(500, 3))
    on_workers = NeuronClassifier(**options).fit(X_dask, da.from_array(labels, chunks=500))
    memory = NeuronClassifier(**options).fit(X, labels)
    J = memory.objective(X, y.astype(float))  # the in-memory softmax objective (memory has 3 classes)
    theta = {name: np.append(est.coef_.T.ravel(), est.intercept_) for name, est in
             (("workers", on_workers), ("memory", memory))}
    assert J.loss(theta["workers"]) == pytest.approx(J.loss(theta["memory"]), rel=1e-10)
    assert list(on_workers.classes_) == ["low", "mid", "top"]
    proba = on_workers.predict_proba(X_dask)
    assert is_dask_collection(proba) and proba.shape[1] == 3
    np.testing.assert_allclose(proba.compute(), on_workers.predict_proba(X), rtol=1e-12)
    np.testing.assert_array_equal(on_workers.predict(X_dask).compute(), memory.predict(X))
    assert on_workers.decision_function(X_dask).compute().shape == (len(y), 3)


def test_a_network_full_batch_on_the_workers_gives_the_loss_it_gives_in_memory(client):
    from neuronlab.estimators.network import NetworkClassifier

    X, y = _three_classes(n=1800, seed=3)
    options = dict(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=40, tol=0, alpha=1e-3, random_state=2)
    on_workers = NetworkClassifier(**options).fit(da.from_array(X, chunks=(450, 3)), da.from_array(y, chunks=450))
    memory = NetworkClassifier(**options).fit(X, y)
    np.testing.assert_allclose(on_workers.history_.loss, memory.history_.loss, rtol=1e-10)
    J = memory.objective(X, y.astype(float))
    assert J.loss(on_workers.theta_) == pytest.approx(J.loss(memory.theta_), rel=1e-10)
    np.testing.assert_array_equal(on_workers.predict(da.from_array(X, chunks=600)).compute(), memory.predict(X))
