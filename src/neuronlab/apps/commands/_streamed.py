"""``neuronlab train`` beyond memory and beyond one machine: DATA streamed block by block
(``--stream``, or on its own when the data would need more than ``--memory-limit``), or held
by the workers of a Dask cluster (``--dask local[:N]`` or ``--dask tcp://host:port``).

The same preparation as in memory, done in passes over the files instead of on one array:

1. one pass (on the workers with --dask) finds the training rows, the classes and μ, σ of
   each feature (``sources.files.FileSource.scan``); the validation rows are drawn from
   --seed row by row, block by block;
2. the neuron is fitted on the training source by the same estimator, strategy and monitors;
3. one more pass over each part scores the model, with sums only (no row kept), and the model
   file is written as for in-memory training.  Ctrl-C saves the interrupted model.
"""

from __future__ import annotations

import math
import os
import re
import sys
import time
import warnings
from types import SimpleNamespace

import numpy as np

from . import _common

#: the in-memory path holds about this many copies of the numbers (the table, X, the split)
COPIES_IN_MEMORY = 3
#: the share of the machine's memory that --memory-limit defaults to
DEFAULT_MEMORY_SHARE = 0.5
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def memory_size(text) -> int:
    """--memory-limit: bytes, or a number with K, M, G or T (powers of 1024), e.g. 8G."""
    import argparse

    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", str(text), flags=re.IGNORECASE)
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"must be a size such as 512M or 8G, got {text!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def default_memory_limit() -> int:
    """Half of the machine's memory."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") * DEFAULT_MEMORY_SHARE)
    except (ValueError, OSError, AttributeError):
        return 4 << 30


def add_options(parser) -> None:
    parser.add_argument("--stream", action="store_true",
                        help="read DATA block by block (bounded memory) instead of whole; on by itself for a "
                        "folder, a glob, or data larger than --memory-limit")
    parser.add_argument("--memory-limit", type=memory_size, metavar="SIZE",
                        help="stream when the data would need more memory than this, e.g. 8G "
                        "(default: half of this machine's memory)")
    parser.add_argument("--no-cache", action="store_true",
                        help="decode the files at every pass when streaming; by default the first pass keeps the "
                        "decoded blocks on local disk (in $NEURONLAB_CACHE_DIR, else the temporary folder, or "
                        "~/.cache/neuronlab when that is held in memory; removed at the end) and later passes "
                        "read them back")
    parser.add_argument("--dask", metavar="ADDRESS",
                        help="train on a Dask cluster whose workers read DATA themselves: local (2 worker "
                        "processes), local:N, or a scheduler address tcp://host:8786")


def _bytes_needed(data) -> int:
    """About how many bytes reading DATA into memory takes."""
    from ...sources.files import data_files, file_format

    total = 0
    for path in data_files(data):
        if file_format(path) == "parquet":
            import pyarrow.parquet as pq

            try:
                metadata = pq.ParquetFile(path).metadata
            except Exception:
                total += os.path.getsize(path) * 4  # unreadable: the reader will say so
                continue
            total += metadata.num_rows * metadata.num_columns * 8
        else:
            total += os.path.getsize(path) * (4 if path.lower().endswith((".gz", ".gzip")) else 1)
    return total * COPIES_IN_MEMORY


def wanted(args) -> bool:
    """Whether this run streams: --stream, --dask, a folder or glob, or data too large for
    --memory-limit (said on stderr)."""
    from ...io import datasets

    if args.stream or args.dask:
        return True
    data = args.data
    if datasets.is_builtin(data) and not os.path.exists(data):
        return False
    if os.path.isdir(data) or (not os.path.exists(data) and any(c in data for c in "*?[")):
        return True
    if not os.path.isfile(data):
        return False  # the in-memory reader says what is wrong
    limit = args.memory_limit or default_memory_limit()
    needed = _bytes_needed(data)
    if needed > limit:
        if not args.quiet:
            print(f"{data} needs about {needed / 2**30:.1f} GiB in memory, more than --memory-limit "
                  f"{limit / 2**30:.1f} GiB: streaming it block by block", file=sys.stderr)
        return True
    return False


class StreamProgress:
    """Plain progress lines on stderr (none with --quiet): the epoch, the loss, the validation
    loss and the rows read per second.  Called after every step, as ``train.Progress``."""

    def __init__(self, total, offset, validation, quiet, n_rows, mini_batches):
        self.total, self.offset, self.validation, self.quiet = total, offset, validation, quiet
        self.n_rows, self.mini_batches = n_rows, mini_batches
        self.every = max(1, total // 100)
        self.line_every = max(1, total // 10)
        self.val_loss: dict[int, float] = {}
        self.last_line = 0.0
        self.rows_per_second = math.nan

    def __call__(self, step):
        t = step.step
        if self.validation is not None and t % self.every == 0:
            self.val_loss[t] = self.validation.loss(step.theta)
        passes = t if self.mini_batches else step.evaluations  # one pass per epoch / evaluation
        if step.elapsed > 0:
            self.rows_per_second = passes * self.n_rows / step.elapsed
        now = time.perf_counter()
        if not self.quiet and (t % self.line_every == 0 or t == self.total or now - self.last_line > 5.0):
            self.last_line = now
            val = self.val_loss.get(t - t % self.every, math.nan)
            print(f"epoch {self.offset + t}/{self.offset + self.total}  loss {step.loss:.6g}  val_loss {val:.6g}  "
                  f"{self.rows_per_second:,.0f} rows/s  elapsed {step.elapsed:.2f}s", file=sys.stderr, flush=True)
        return False


def _classes(scan, target):
    """The classes the scan found, as a person wrote them (ints for whole numbers)."""
    from ...core.validation import classes_of, written_label
    from ...sources.files import MAX_CLASSES

    if len(scan.classes) > MAX_CLASSES:  # the scan stops counting past MAX_CLASSES
        shown = ", ".join(written_label(c) for c in scan.classes[:5])
        raise ValueError(f"the target {target!r} has more than {MAX_CLASSES:,} classes ({shown}, …); "
                         "use --task regress for a number")
    classes = list(classes_of(np.asarray(scan.classes, dtype=object if scan.target_is_text else float),
                              f"the target {target!r}"))
    if not scan.target_is_text and all(float(c).is_integer() for c in classes):
        classes = [int(c) for c in classes]
    return classes


def _rows(block):
    """(X, y) of the rows a RowBlock names."""
    if block.rows is not None:
        return block.X[block.rows], block.y[block.rows]
    return block.X[block.lo:block.hi], block.y[block.lo:block.hi]


class ScoreSums:
    """The additive pieces of a fitted estimator's scores over one block of scaled rows — and of
    the loss J of ``objective_rule`` (an objective's block rule), when given — as a block rule
    ``rule(θ, block, want_grad)`` (θ: the estimator's own, for J): one pass of
    ``source.sum_blocks`` adds them up, on the Dask workers when the rows are there.

    Regression: (n, Σ(ŷ − y)², Σ|ŷ − y|, Σ(y − c), Σ(y − c)²) with c ≈ ȳ (``shift``, the
    training target's mean from the scan), so that Σ(y − ȳ)² = Σ(y − c)² − (Σ(y − c))²/n loses
    no digits to cancellation; classification: (n, the confusion matrix, Σ of the log losses).
    """

    def __init__(self, estimator, task, n_classes=None, shift=0.0, objective_rule=None):
        self.estimator, self.task, self.n_classes = estimator, task, n_classes
        self.shift, self.objective_rule = float(shift), objective_rule

    def __call__(self, theta, block, want_grad=False):
        from ...core.activations import sigmoid, softmax
        from ...estimators import metrics

        loss = (None, None) if self.objective_rule is None else self.objective_rule(theta, block, False)[:2]
        X, y = _rows(block)
        n = X.shape[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self.task == "regress":
                err, centred = self.estimator.predict(X) - y, y - self.shift
                return (*loss, n, float(err @ err), float(np.abs(err).sum()), float(centred.sum()),
                        float(centred @ centred))
            score = self.estimator.decision_function(X)
        k, truth = self.n_classes, y.astype(np.int64)
        predicted = np.argmax(score, axis=1) if k > 2 else (score > 0).astype(np.int64)
        log_sum = None
        if hasattr(self.estimator, "predict_proba"):  # only a sigmoid neuron's ŷ is a probability
            if k > 2:
                log_sum = metrics.multiclass_log_loss(truth, softmax(score)) * n
            else:
                log_sum = metrics.log_loss(truth, sigmoid(score)) * n
        return (*loss, n, metrics.confusion_matrix(truth, predicted, k), log_sum)


def _metrics(estimator, source, task, n_classes, shift, objective=None):
    """(scores, J of ``objective``) over one pass of ``source`` (scaled rows), from sums only
    (see :class:`ScoreSums`): the names of the in-memory report (roc_auc, which needs every
    score at once, is left out); (None, None) without rows."""
    if source is None or source.n_samples == 0:
        return None, None
    from ...estimators import metrics

    rule = ScoreSums(estimator, task, n_classes, shift, None if objective is None else objective.block_rule())
    loss_sum, weight_sum, n, *sums = source.sum_blocks(rule, estimator.result_.theta, False)
    loss = None if objective is None else loss_sum / weight_sum
    if task == "regress":
        squares, absolutes, centred, centred_squares = sums
        total = centred_squares - centred * centred / n
        r2 = (1.0 - squares / total) if total > 0 else (1.0 if squares == 0 else 0.0)
        return {"mse": squares / n, "mae": absolutes / n, "r2": r2}, loss
    counts, log_sum = sums
    log_loss = None if log_sum is None else log_sum / n
    if n_classes == 2:
        report = metrics._scores(counts) | {"log_loss": log_loss, "confusion_matrix": counts.tolist()}
        return report, loss
    return metrics.macro_scores(counts, log_loss=log_loss), loss


def train(args, s, strategy_cls, previous, out, report, check_same_problem) -> int:
    """Train as ``train._train`` does, on streamed files or a Dask cluster (see the module docstring)."""
    from ...core.interrupt import pending_interrupt
    from ...io.model_file import TrainedModel, save, summarize_history
    from ...io.tables import Standardizer
    from ...sources.files import FileSource

    for flag in ("trace", "explain", "animate"):
        if getattr(args, flag, None):
            raise ValueError(f"--{flag} draws from rows in memory; leave it out when streaming (--stream, "
                             "--dask, a folder, or data over --memory-limit)")
    if s["dtype"] == "float32":
        raise ValueError("--dtype float32 works on data in memory; streamed blocks are float64")
    if s["target"] is None:
        raise ValueError("--target COL is required: name the column to learn")
    if "," in s["target"]:
        raise ValueError(f"--target {s['target']}: several targets are learned in memory; leave out --stream "
                         "and --dask (and keep the data under --memory-limit)")
    client = None
    started = time.perf_counter()
    try:
        raw = FileSource(args.data, s["target"], s["features"], drop_missing=bool(s["drop_missing"]),
                         part="train", val_split=s["val_split"], seed=s["seed"],
                         cache=not (args.no_cache or args.dask))  # Dask's workers read their own pieces
        if args.dask:
            from ...sources.dask import DaskSource, connect

            client = connect(args.dask)
            scan = DaskSource.scan_files(raw, client=client)
        else:
            scan = raw.scan()
        if scan.n_dropped and not args.quiet:
            print(f"dropped {scan.n_dropped} training row(s) with missing or infinite values", file=sys.stderr)
        text = scan.target_is_text
        task = s["task"] or ("classify" if text or len(scan.classes) <= 2 else "regress")
        if task == "regress" and text:
            raise ValueError(f"the target {s['target']!r} holds text; it can only be classified (--task classify)")
        labels = _classes(scan, s["target"]) if task == "classify" else None
        if previous is not None:
            scaler = previous.scaler
        elif s["standardize"] if s["standardize"] is not None else "gradient" in strategy_cls.needs:
            scaler = Standardizer(scan.mean, np.where(scan.std == 0.0, 1.0, scan.std))
        else:
            scaler = None
        scaling = dict(mean=None, scale=None) if scaler is None else dict(mean=scaler.mean, scale=scaler.scale)
        train_files = raw.configured(labels=labels, target_is_text=text, **scaling)
        val_files = train_files.configured(part="validation") if s["val_split"] > 0 else None
        if previous is not None:
            check_same_problem(previous, SimpleNamespace(feature_names=raw.feature_names, task=task,
                                                         target=s["target"]), labels)
        if args.dask:
            train_source = DaskSource.from_files(train_files, client=client)
            val_source = DaskSource.from_files(val_files, client=client) if val_files is not None else None
        else:
            train_source, val_source = train_files, val_files

        steps_done, remaining = _common.step_budget(s, previous)
        # the estimator the in-memory path makes for this task: a neuron, or a network with --hidden
        estimator = _common.make_estimator(task, s["hidden"], max_steps=remaining, **_common.estimator_options(s))
        estimator.validate_params()
        if previous is not None:
            _common.continue_from(estimator, previous)
        if pending_interrupt():
            return 130
        validation = None
        if val_source is not None and val_source.n_samples:
            from ...estimators.sourced import source_objective

            validation = source_objective(estimator, val_source, len(labels) if labels else None, penalised=False)
        progress = StreamProgress(remaining, steps_done, validation, args.quiet, scan.n_rows,
                                  estimator.batch_size is not None or strategy_cls.name == "sgd")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the summary says how the run ended
            estimator.fit(train_source, callback=progress)
        if not args.quiet and len(estimator.history_):
            last = estimator.history_  # the last step's line, however the run ended
            print(f"epoch {steps_done + estimator.n_iter_}/{steps_done + remaining}  loss {last.loss[-1]:.6g}  "
                  f"{progress.rows_per_second:,.0f} rows/s over {scan.n_rows:,} training rows",
                  file=sys.stderr, flush=True)
        if not args.quiet and raw.cache is not None and raw.cache.stopped:
            print(f"not caching decoded blocks: {raw.cache.stopped}", file=sys.stderr)
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_  # the model file keeps the names; the estimator takes scaled arrays
        steps_done += int(estimator.n_iter_)
        n_classes = len(labels) if labels else None
        shift = scan.target_mean if task == "regress" else 0.0
        train_scores, _ = _metrics(estimator, train_source, task, n_classes, shift)
        # the validation rows' scores and their last loss in one pass
        val_scores, last_val_loss = _metrics(estimator, val_source, task, n_classes, shift, validation)
        if last_val_loss is not None:
            progress.val_loss[len(estimator.history_) - 1] = last_val_loss
        metrics = {"train": train_scores, "validation": val_scores}
        n_val = val_source.n_samples if val_source is not None else 0
    finally:
        if client is not None:
            cluster = client.cluster if args.dask.startswith("local") else None
            client.close()
            if cluster is not None:
                cluster.close()
    seconds = time.perf_counter() - started  # told, not saved: the same command and seed give the same file
    training = _common.training_record(
        args, s, estimator, previous, steps_done, target=s["target"], features=raw.feature_names, task=task,
        standardize=scaler is not None, rows=scan.n_rows + n_val + scan.n_dropped, rows_dropped=scan.n_dropped,
        train_rows=scan.n_rows, validation_rows=n_val, streamed=True, dask=args.dask, files=len(raw.files))
    model = TrainedModel(estimator, raw.feature_names, scaler, target=s["target"], training=training,
                         history=summarize_history(estimator, progress.val_loss))
    model.metrics = metrics
    if out:
        save(model, out)
    report(args, model, out, seconds)
    return 130 if estimator.status_ == "interrupted" else 0
