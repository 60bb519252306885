"""Beyond memory and beyond one machine (issue 15): streamed files and Dask against their peers.

One process, interleaved rounds (the epoch's routes in a new order each round:
bench_training.in_turns), medians.  Peers: pyarrow's read-only rate on the same files
(Parquet, and CSV with typed float64 columns), scikit-learn's LogisticRegression(lbfgs) in
memory, and dask-ml's LogisticRegression(solver="lbfgs") on the same LocalCluster and files.

    .venv/bin/python bench/bench_beyond_memory.py                  # 500,000 × 50, modest
    .venv/bin/python bench/bench_beyond_memory.py --rows 2000000   # the issue's size
    .venv/bin/python bench/bench_beyond_memory.py --peak-only      # peak memory vs file size
    .venv/bin/python bench/bench_beyond_memory.py --epoch-only     # the epoch against pyarrow alone

Needs the bench extra (dask, distributed, dask-ml, scikit-learn): pip install -e '.[bench]'.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench_training import in_turns  # bench/ is on the path of a script run from it


def write_data(folder: Path, rows: int, p: int, files: int, csv_rows: int, seed: int = 0):
    """Logistic data: x ~ N(0, 1), P(y = 1) = σ(w·x), written as ``files`` Parquet files (row groups
    of 65,536) and one CSV of the first ``csv_rows`` rows."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    w = rng.normal(size=p) / np.sqrt(p) * 2
    per_file = -(-rows // files)
    csv_writer = None
    written = 0
    for k in range(files):
        m = min(per_file, rows - written)
        writer = None
        for start in range(0, m, 250_000):
            chunk = min(250_000, m - start)
            X = rng.normal(size=(chunk, p))
            y = (rng.random(chunk) < 1 / (1 + np.exp(-(X @ w)))).astype(np.int64)
            table = pa.table({**{f"x{j}": X[:, j] for j in range(p)}, "y": y})
            if writer is None:
                writer = pq.ParquetWriter(folder / f"part-{k:03d}.parquet", table.schema)
            writer.write_table(table, row_group_size=65_536)
            if written + start < csv_rows:
                keep = table.slice(0, min(chunk, csv_rows - written - start))
                if csv_writer is None:
                    csv_writer = pcsv.CSVWriter(str(folder.parent / "data.csv"), keep.schema)
                csv_writer.write_table(keep)
        writer.close()
        written += m
    if csv_writer is not None:
        csv_writer.close()


#: our epoch as training runs it: every pass after the scan reads the decoded blocks from the cache
OURS_CACHED = "neuronlab epoch, blocks from its cache (the default)"
#: pyarrow reading the same blocks from IPC files, the cache's format (not the peer)
IPC_READ = "(not a peer) pyarrow reading the blocks as IPC, the cache's format"


def median(values):
    return statistics.median(values)


# --- one epoch ------------------------------------------------------------------------------------
# pyarrow's read-only rate is the fastest of several honest routes (each round times every route;
# the peer is the route with the best median), so that the ratio is not against a slow reader
def _parquet_batches(files, batch_size, threads):
    import pyarrow.parquet as pq

    for path in files:
        yield from pq.ParquetFile(path).iter_batches(batch_size=batch_size, use_threads=threads)


def _parquet_row_groups(files, threads, mapped=False, pre_buffered=False):
    """``mapped``: the file memory-mapped; ``pre_buffered``: each row group's pages read in one go."""
    import pyarrow.parquet as pq

    for path in files:
        reader = pq.ParquetFile(path, memory_map=mapped, pre_buffer=pre_buffered)
        for group in range(reader.num_row_groups):
            yield reader.read_row_group(group, use_threads=threads)


def _parquet_row_groups_in_flight(groups, in_flight, mapped=False, pre_buffered=False):
    """Each row group of ``groups`` ((path, number) pairs, counted before the clock starts) read
    whole by one of ``in_flight`` threads (each with its own open file, each read decoded on
    pyarrow's threads), handed out in order: a read leaves a core idle at its start and end, which
    the next one's fills (the ordered pipeline of the library's CSV ranges, ``files._csv_blocks``,
    here for pyarrow alone)."""
    import collections
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow.parquet as pq

    each_thread = threading.local()

    def read(path, group):
        if getattr(each_thread, "path", None) != path:
            each_thread.path = path
            each_thread.reader = pq.ParquetFile(path, memory_map=mapped, pre_buffer=pre_buffered)
        return each_thread.reader.read_row_group(group, use_threads=True)

    with ThreadPoolExecutor(in_flight) as pool:
        asked = collections.deque()
        for path, group in groups:
            asked.append(pool.submit(read, path, group))
            if len(asked) == in_flight:
                yield asked.popleft().result()
        while asked:
            yield asked.popleft().result()


def ipc_copy(source, folder: Path):
    """The blocks of ``source`` (a FileSource), as it reads them, written to one Arrow IPC file per
    piece in ``folder`` — the format its cache keeps them in; the paths."""
    import pyarrow as pa

    folder.mkdir(parents=True, exist_ok=True)
    paths, writer = [], None
    for piece, number, batch in source.configured(cache=False)._read(source.pieces):
        if number == 0:
            if writer is not None:
                writer.close()
            paths.append(str(folder / f"piece-{piece.number}.arrow"))
            writer = pa.ipc.new_file(paths[-1], batch.schema)
        writer.write(batch)
    writer.close()
    return paths


def _ipc_blocks(paths):
    """Every block of the IPC files, read as the cache reads them (plain reads, not memory-mapped)."""
    import pyarrow as pa

    for path in paths:
        with pa.OSFile(path) as file:
            reader = pa.ipc.open_file(file)
            for number in range(reader.num_record_batches):
                yield reader.get_batch(number)


def _parquet_whole(files, threads):
    import pyarrow.parquet as pq

    for path in files:
        yield pq.read_table(path, use_threads=threads)


def parquet_routes(files):
    import pyarrow.parquet as pq

    groups = [(path, group) for path in files for group in range(pq.read_metadata(path).num_row_groups)]
    return {
        "iter_batches 65,536, threads": lambda: _parquet_batches(files, 65_536, True),
        "iter_batches 65,536, one thread": lambda: _parquet_batches(files, 65_536, False),
        "iter_batches 262,144, threads": lambda: _parquet_batches(files, 262_144, True),
        "read_row_group, threads": lambda: _parquet_row_groups(files, True),
        "read_row_group, threads, memory-mapped": lambda: _parquet_row_groups(files, True, mapped=True),
        "read_row_group, threads, memory-mapped, pre-buffered":
            lambda: _parquet_row_groups(files, True, mapped=True, pre_buffered=True),
        "read_row_group, 2 in flight, threads": lambda: _parquet_row_groups_in_flight(groups, 2),
        "read_row_group, 2 in flight, threads, memory-mapped": lambda: _parquet_row_groups_in_flight(groups, 2, True),
        "read_row_group, 2 in flight, threads, memory-mapped, pre-buffered":
            lambda: _parquet_row_groups_in_flight(groups, 2, True, pre_buffered=True),
        "read_table per file, threads": lambda: _parquet_whole(files, True),
    }


def _csv_stream(path, names, block_size, threads):
    import pyarrow as pa
    import pyarrow.csv as pcsv

    convert = pcsv.ConvertOptions(column_types={name: pa.float64() for name in names})
    with pa.input_stream(str(path)) as stream:
        yield from pcsv.open_csv(stream, convert_options=convert,
                                 read_options=pcsv.ReadOptions(block_size=block_size, use_threads=threads))


def _csv_whole(path, names, mapped=False):
    import pyarrow as pa
    import pyarrow.csv as pcsv

    yield pcsv.read_csv(pa.memory_map(str(path)) if mapped else str(path), convert_options=pcsv.ConvertOptions(
        column_types={name: pa.float64() for name in names}))


def csv_routes(path, names):
    return {
        "open_csv 1 MB blocks, one thread": lambda: _csv_stream(path, names, 1 << 20, False),
        "open_csv 4 MB blocks, one thread": lambda: _csv_stream(path, names, 4 << 20, False),
        "open_csv 4 MB blocks, threads": lambda: _csv_stream(path, names, 4 << 20, True),
        "open_csv 16 MB blocks, threads": lambda: _csv_stream(path, names, 16 << 20, True),
        "read_csv whole file, threads": lambda: _csv_whole(path, names),
        "read_csv whole file, memory-mapped, threads": lambda: _csv_whole(path, names, mapped=True),
    }


def read_rate(route):
    """Rows per second of reading every batch of a route, each column as a NumPy array."""
    n, start = 0, time.perf_counter()
    for batch in route():
        for column in batch.columns:
            column.to_numpy()
        n += batch.num_rows
    return n / (time.perf_counter() - start)


def epoch_rate(objective, theta):
    """Rows per second of one full-batch pass: J and ∇J over every row, read from the files (or
    from the source's cache of their decoded blocks)."""
    start = time.perf_counter()
    objective.loss_and_grad(theta)
    return objective.n_samples / (time.perf_counter() - start)


# --- peak memory: a child process per file -------------------------------------------------------
def peak_child(data):
    from neuronlab import Neuron, NeuronObjective
    from neuronlab.sources.files import FileSource

    source = FileSource(data, "y")
    scan = source.scan()
    source = source.configured(labels=[0, 1], target_is_text=False, mean=scan.mean, scale=scan.std)
    objective = NeuronObjective.from_source(Neuron(source.n_features, "sigmoid"), source, "log_loss")
    objective.loss_and_grad(np.zeros(source.n_features + 1))
    # VmHWM, the peak resident set of this process image (ru_maxrss would start from the parent's
    # peak: Linux carries it across fork and exec)
    with open("/proc/self/status") as status:
        peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    print(json.dumps({"rows": scan.n_rows, "peak_mb": peak_kb / 1024}))


def peak_memory(work: Path, small: int, large: int, p: int):
    results = {}
    for rows in (small, large):
        folder = work / f"peak-{rows}"
        if not folder.exists():
            write_data(folder / "parquet", rows, p, files=max(1, rows // 1_000_000), csv_rows=0)
        out = subprocess.run([sys.executable, __file__, "--peak-child", str(folder / "parquet")],
                             capture_output=True, text=True, check=True)
        results[rows] = json.loads(out.stdout.strip().splitlines()[-1])
        size = sum(f.stat().st_size for f in (folder / "parquet").iterdir()) / 2**20
        print(f"  {rows:>11,} rows × {p} ({size:,.0f} MB Parquet): one scan + one full-batch epoch, "
              f"peak RSS {results[rows]['peak_mb']:,.0f} MB", flush=True)
    print(f"  difference {results[large]['peak_mb'] - results[small]['peak_mb']:+,.0f} MB for "
          f"{large / small:.0f}× the rows")


# --- the main benchmark ---------------------------------------------------------------------------
def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--csv-rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dask-rounds", type=int, default=3)
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "neuronlab-bench-15"))
    parser.add_argument("--peak-rows", default="500000,5000000")
    parser.add_argument("--peak-only", action="store_true")
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--epoch-only", action="store_true", help="only the epoch against pyarrow's read rates")
    parser.add_argument("--peak-child")
    args = parser.parse_args()
    if args.peak_child:
        return peak_child(args.peak_child)
    work = Path(args.work)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    small, large = (int(x) for x in args.peak_rows.split(","))
    if args.peak_only:
        print("peak memory, streamed (10 features):")
        return peak_memory(work, small, large, 10)

    from neuronlab import Neuron, NeuronObjective
    from neuronlab.estimators.neuron import NeuronClassifier
    from neuronlab.sources.cache import BlockCache
    from neuronlab.sources.files import FileSource

    data = work / f"logistic-{args.rows}x{args.features}"
    if not data.exists():
        print(f"writing {args.rows:,} × {args.features} logistic data to {data} …", flush=True)
        write_data(data / "parquet", args.rows, args.features, args.files, args.csv_rows)
    files = sorted(str(f) for f in (data / "parquet").iterdir())
    csv_path = data / "data.csv"
    names = [f"x{j}" for j in range(args.features)] + ["y"]
    p = args.features
    parquet = FileSource(data / "parquet", "y").configured(labels=[0, 1], target_is_text=False)
    theta = np.random.default_rng(1).normal(0, 0.1, p + 1)

    def prepared(path):  # as `neuronlab train` prepares it: the scan reads the target as it is (and
        # writes the cache), then the classes and x′ = (x − μ)/σ of every block come from the scan
        raw = FileSource(path, "y")
        scan = raw.scan()
        return raw.configured(labels=[0, 1], target_is_text=scan.target_is_text, mean=scan.mean, scale=scan.std)

    def objective(source):
        return NeuronObjective.from_source(Neuron(p, "sigmoid"), source, "log_loss")

    def first_epoch(source):  # a fresh cache: the epoch decodes the file and writes the cache on the way
        fresh = source.configured(cache=BlockCache())
        try:
            return epoch_rate(objective(fresh), theta)
        finally:
            fresh.cache.clear()

    # the cache is on by default: the scan writes it, and every epoch after reads it back
    sources = {"parquet": prepared(data / "parquet"), "csv": prepared(csv_path)}
    # not a peer (the peer reads the same file): pyarrow reading back blocks in the cache's
    # format, the bound of an epoch from the cache
    ipc_folder = Path(tempfile.mkdtemp(prefix="neuronlab-bench-ipc-"))
    ipc_paths = {fmt: ipc_copy(source, ipc_folder / fmt) for fmt, source in sources.items()}
    cache_reads = {fmt: {IPC_READ: lambda paths=paths: _ipc_blocks(paths)} for fmt, paths in ipc_paths.items()}
    ours = {}
    for fmt, source in sources.items():
        cached, plain = objective(source), objective(source.configured(cache=False))
        ours[fmt] = {
            OURS_CACHED: lambda cached=cached: epoch_rate(cached, theta),
            "neuronlab epoch, decoding the file (cache=False)": lambda plain=plain: epoch_rate(plain, theta),
            "neuronlab first epoch, decoding the file and writing the cache": lambda source=source: first_epoch(source),
        }
        for route in ours[fmt].values():  # warm-up: imports, compiled kernel, the cache written
            route()
    routes = {"parquet": parquet_routes(files), "csv": csv_routes(csv_path, names)}
    turns = {(fmt, name): (lambda route=route: read_rate(route))
             for fmt in routes for name, route in {**routes[fmt], **cache_reads[fmt]}.items()}
    turns.update({(fmt, name): route for fmt in routes for name, route in ours[fmt].items()})
    rates = in_turns(turns, args.rounds, warm_up=False)  # each route's rows/s, round after round
    shutil.rmtree(ipc_folder, ignore_errors=True)
    print(f"\none full-batch epoch (J and ∇J over every row) against pyarrow reading the same file, "
          f"{args.rounds} interleaved rounds, medians (load average {os.getloadavg()[0]:.1f} now):")
    for fmt in routes:
        best = max(routes[fmt], key=lambda name: median(rates[fmt, name]))
        for name in [*routes[fmt], IPC_READ, *ours[fmt]]:
            mark = "  ← the peer" if name == best else ""
            print(f"  {fmt:<8} {name:<66} {median(rates[fmt, name]):>12,.0f} rows/s{mark}")
        ratios = ", ".join(f"{median(rates[fmt, name]) / median(rates[fmt, best]):.2f}× {label}"
                           for name, label in zip(ours[fmt], ("from the cache", "decoding", "first epoch")))
        print(f"  {fmt}: {ratios} pyarrow's fastest read-only rate; from the cache "
              f"{median(rates[fmt, OURS_CACHED]) / median(rates[fmt, IPC_READ]):.2f}× pyarrow's read of its blocks")
    if args.epoch_only:
        return

    # --- the same answer: scikit-learn in memory, neuronlab streamed -------------------------------
    from sklearn.linear_model import LogisticRegression
    import pyarrow.parquet as pq

    table = pq.read_table(data / "parquet")
    X = np.column_stack([table.column(f"x{j}").to_numpy() for j in range(p)])
    y = table.column("y").to_numpy()
    del table
    n = len(y)
    alpha = 1.0 / n  # LogisticRegression's default C = 1
    memory = NeuronObjective(Neuron(p, "sigmoid"), X, y.astype(float), "log_loss", alpha=alpha)
    times = {"scikit-learn lbfgs in memory": [], "neuronlab lbfgs streamed": []}
    fits = {}
    for _ in range(max(1, args.rounds // 2)):
        start = time.perf_counter()
        ref = LogisticRegression(tol=1e-10, max_iter=1000).fit(X, y)
        times["scikit-learn lbfgs in memory"].append(time.perf_counter() - start)
        fresh = parquet.configured(cache=BlockCache())  # every round as a new process: its first pass decodes
        start = time.perf_counter()
        ours = NeuronClassifier(solver="lbfgs", alpha=alpha, tol=1e-10, max_steps=1000, random_state=0).fit(fresh)
        times["neuronlab lbfgs streamed"].append(time.perf_counter() - start)
        fresh.cache.clear()
        fits = {"ref": ref, "ours": ours}
    ref, ours = fits["ref"], fits["ours"]
    ref_loss = memory.loss(np.append(ref.coef_.ravel(), ref.intercept_))
    our_loss = memory.loss(np.append(ours.coef_, ours.intercept_))
    print(f"\nthe same answer on {n:,} × {p} ({X.nbytes / 2**20:,.0f} MB in memory), penalised log loss J:")
    for name, values in times.items():
        print(f"  {name:<32} {median(values):8.2f} s")
    print(f"  J scikit-learn {ref_loss:.9f}, neuronlab streamed {our_loss:.9f}: relative difference "
          f"{abs(our_loss - ref_loss) / ref_loss:.1e}; coefficients within "
          f"{np.abs(ours.coef_ - ref.coef_.ravel()).max():.1e} ({ours.n_iter_} steps)")
    del X

    if args.skip_dask:
        return
    dask_benchmark(files, p, n, alpha, memory, ref_loss, args.dask_rounds)
    print("\npeak memory, streamed (10 features):")
    peak_memory(work, small, large, 10)


def dask_benchmark(files, p, n, alpha, memory, ref_loss, rounds):
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    from neuronlab.estimators.neuron import NeuronClassifier
    from neuronlab.objectives.neuron import NeuronObjective as Objective
    from neuronlab.models.neuron import Neuron as Model
    from neuronlab.sources.dask import DaskSource
    from neuronlab.sources.files import FileSource

    try:
        from dask_ml.linear_model import LogisticRegression as DaskMLLogisticRegression
    except ImportError as e:  # not installable with this dask: say so
        DaskMLLogisticRegression = None
        print(f"\ndask-ml unavailable ({e})")
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    names = [f"x{j}" for j in range(p)]

    def ours_fit():
        start = time.perf_counter()
        source = DaskSource.from_files(FileSource(files, "y").configured(labels=[0, 1], target_is_text=False),
                                       client=client)
        model = NeuronClassifier(solver="lbfgs", alpha=alpha, tol=1e-10, max_steps=1000, random_state=0).fit(source)
        seconds = time.perf_counter() - start
        del source
        return seconds, model

    def dask_ml_fit():
        start = time.perf_counter()
        frame = dd.read_parquet(files)
        # to_dask_array(lengths=True) fails on read_parquet's frames with this dask ("the number of
        # items in 'lengths' does not match the number of partitions"): the sizes are computed instead
        X = frame[names].to_dask_array().compute_chunk_sizes()
        y = frame["y"].to_dask_array().compute_chunk_sizes()
        model = DaskMLLogisticRegression(solver="lbfgs", C=1.0, max_iter=1000, tol=1e-10).fit(X, y)
        return time.perf_counter() - start, model

    ours_fit()  # warm-up: the workers import neuronlab and compile
    results = {"neuronlab (workers read their Parquet)": [], "dask-ml lbfgs (dd.read_parquet)": []}
    models = {}
    for _ in range(rounds):
        seconds, models["ours"] = ours_fit()
        results["neuronlab (workers read their Parquet)"].append(seconds)
        if DaskMLLogisticRegression is not None:
            try:
                seconds, models["dask-ml"] = dask_ml_fit()
                results["dask-ml lbfgs (dd.read_parquet)"].append(seconds)
            except Exception as e:  # a peer that fails with this dask is reported, not hidden
                print(f"  dask-ml failed: {type(e).__name__}: {' '.join(str(e).split())[:200]}")
                DaskMLLogisticRegression = None
    print(f"\nDask: LocalCluster of 2 single-threaded worker processes, from Parquet files to a fitted model, "
          f"{rounds} interleaved rounds, medians:")
    for name, values in results.items():
        if values:
            print(f"  {name:<42} {median(values):8.2f} s")
    ours = models["ours"]
    our_loss = memory.loss(np.append(ours.coef_, ours.intercept_))
    print(f"  neuronlab J {our_loss:.9f} (relative to scikit-learn {abs(our_loss - ref_loss) / ref_loss:.1e}), "
          f"{ours.n_iter_} steps")
    if "dask-ml" in models:
        theirs = models["dask-ml"]
        their_loss = memory.loss(np.append(np.ravel(theirs.coef_), theirs.intercept_))
        print(f"  dask-ml   J {their_loss:.9f} (relative to scikit-learn {abs(their_loss - ref_loss) / ref_loss:.1e})")
        if results["dask-ml lbfgs (dd.read_parquet)"]:
            print(f"  ratio neuronlab / dask-ml {median(results['neuronlab (workers read their Parquet)']) / median(results['dask-ml lbfgs (dd.read_parquet)']):.2f}×")

    # traffic and time of one evaluation on the cluster
    source = DaskSource.from_files(FileSource(files, "y").configured(labels=[0, 1], target_is_text=False), client=client)
    objective = Objective.from_source(Model(p, "sigmoid"), source, "log_loss", alpha=alpha)
    theta = np.zeros(p + 1)
    objective.loss_and_grad(theta)
    evaluations = []
    for _ in range(10):
        start = time.perf_counter()
        objective.loss_and_grad(theta)
        evaluations.append(time.perf_counter() - start)
    out_bytes = len(pickle.dumps((objective.block_rule(), theta, True)))
    back_bytes = len(pickle.dumps(objective.partial_sums(theta, next(FileSource(files[:1], "y").configured(
        labels=[0, 1], target_is_text=False).blocks()))))
    rows_per_worker_second = n / (median(evaluations) * 2)
    print(f"  one evaluation of J and ∇J: {median(evaluations) * 1e3:.0f} ms over {len(source.parts)} partitions; "
          f"{out_bytes} bytes out and {back_bytes} bytes back per partition (p + 2 = {p + 2} numbers back)")
    empty = np.zeros(1)
    client.gather(client.map(lambda x: x, [empty] * len(source.parts), pure=False))
    round_trips = []
    for _ in range(10):
        start = time.perf_counter()
        client.gather(client.map(lambda x: x, [empty] * len(source.parts), pure=False))
        round_trips.append(time.perf_counter() - start)
    print(f"  an empty round of {len(source.parts)} tasks: {median(round_trips) * 1e3:.0f} ms; "
          f"≈ {rows_per_worker_second:,.0f} rows per worker-second")
    client.close()
    cluster.close()


if __name__ == "__main__":
    main()
