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
    """The two classes the scan found, as a person wrote them (ints for whole numbers)."""
    from ...core.validation import binary_classes, written_label

    if len(scan.classes) > 2:  # the scan stops counting at three: say "more than two", not how many
        shown = ", ".join(written_label(c) for c in scan.classes)
        raise ValueError(f"the target {target!r} has more than two classes ({shown}, …); streamed "
                         "training takes two: train k classes in memory (without --stream or --dask), "
                         "or use --task regress for a number")
    classes = list(binary_classes(np.asarray(scan.classes, dtype=object if scan.target_is_text else float),
                                  f"the target {target!r}",
                                  " when streamed: train k classes in memory (without --stream or --dask), "
                                  "or use --task regress for a number"))
    if not scan.target_is_text and all(float(c).is_integer() for c in classes):
        classes = [int(c) for c in classes]
    return classes


def _metrics(estimator, source, task):
    """Scores over one pass of ``source`` (scaled rows), from sums only: the same names as the
    in-memory report (roc_auc, which needs every score at once, is left out)."""
    if source is None or source.n_samples == 0:
        return None
    from ...core.activations import sigmoid

    n = 0
    if task == "regress":
        sq = ab = y_sum = y_sq = 0.0
        for block in source.blocks():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                y_hat = estimator.predict(block.X)
            err = y_hat - block.y
            sq += float(err @ err)
            ab += float(np.abs(err).sum())
            y_sum += float(block.y.sum())
            y_sq += float(block.y @ block.y)
            n += block.X.shape[0]
        total = y_sq - y_sum * y_sum / n
        return {"mse": sq / n, "mae": ab / n, "r2": (1.0 - sq / total) if total > 0 else (1.0 if sq == 0 else 0.0)}
    tp = fp = fn = tn = 0
    log_loss = 0.0
    has_proba = hasattr(estimator, "predict_proba")
    for block in source.blocks():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score = estimator.decision_function(block.X)
        positive, predicted = block.y > 0.5, score > 0
        tp += int(np.sum(positive & predicted))
        fp += int(np.sum(~positive & predicted))
        fn += int(np.sum(positive & ~predicted))
        tn += int(np.sum(~positive & ~predicted))
        if has_proba:
            p = np.clip(sigmoid(score), 1e-15, 1 - 1e-15)
            log_loss -= float(np.sum(np.where(positive, np.log(p), np.log1p(-p))))
        n += block.X.shape[0]

    def ratio(a, b):
        return a / b if b else 0.0

    precision, recall = ratio(tp, tp + fp), ratio(tp, tp + fn)
    report = {"accuracy": (tp + tn) / n, "precision": precision, "recall": recall,
              "f1": ratio(2 * precision * recall, precision + recall),
              "confusion_matrix": [[tn, fp], [fn, tp]]}
    if has_proba:
        report["log_loss"] = log_loss / n
    return report


def train(args, s, strategy_cls, previous, out, report, check_same_problem) -> int:
    """Train as ``train._train`` does, on streamed files or a Dask cluster (see the module docstring)."""
    from ...core.interrupt import pending_interrupt
    from ...estimators.neuron import NeuronClassifier, NeuronRegressor
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
    client = None
    started = time.perf_counter()
    try:
        raw = FileSource(args.data, s["target"], s["features"], drop_missing=bool(s["drop_missing"]),
                         part="train", val_split=s["val_split"], seed=s["seed"])
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
            from types import SimpleNamespace

            check_same_problem(previous, SimpleNamespace(feature_names=raw.feature_names, task=task))
        if args.dask:
            train_source = DaskSource.from_files(train_files, client=client)
            val_source = DaskSource.from_files(val_files, client=client) if val_files is not None else None
        else:
            train_source, val_source = train_files, val_files

        options = dict(solver=s["strategy"], learning_rate=s["lr"], alpha=s["alpha"], tol=s["tol"],
                       random_state=s["seed"])
        options.update({k: s[k] for k in ("activation", "loss", "batch_size", "schedule") if s[k] not in (None, "all")},
                       recover=bool(s["recover"]))
        steps_done = int(previous.training.get("steps_done", 0)) if previous is not None else 0
        remaining = s["steps"] - steps_done
        if remaining < 1:
            raise ValueError(f"the model already took {steps_done} of its {s['steps']} steps; "
                             f"give a larger budget with --steps (e.g. --steps {2 * s['steps']})")
        estimator = (NeuronClassifier if task == "classify" else NeuronRegressor)(max_steps=remaining, **options)
        estimator.validate_params()
        if previous is not None:
            estimator.set_params(warm_start=True)
            estimator.coef_ = previous.estimator.coef_.copy()
            estimator.intercept_ = previous.estimator.intercept_
        if pending_interrupt():
            return 130
        validation = None
        if val_source is not None and val_source.n_samples:
            from ...models.neuron import Neuron
            from ...objectives.neuron import NeuronObjective

            validation = NeuronObjective.from_source(Neuron(train_source.n_features, estimator.activation),
                                                     val_source, estimator.loss)
        progress = StreamProgress(remaining, steps_done, validation, args.quiet, scan.n_rows,
                                  s["batch_size"] not in (None, "all") or strategy_cls.name == "sgd")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the summary says how the run ended
            estimator.fit(train_source, callback=progress)
        if not args.quiet and len(estimator.history_):
            last = estimator.history_  # the last step's line, however the run ended
            print(f"epoch {steps_done + estimator.n_iter_}/{steps_done + remaining}  loss {last.loss[-1]:.6g}  "
                  f"{progress.rows_per_second:,.0f} rows/s over {scan.n_rows:,} training rows",
                  file=sys.stderr, flush=True)
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_  # the model file keeps the names; the estimator takes scaled arrays
        steps_done += int(estimator.n_iter_)
        if validation is not None:
            progress.val_loss[len(estimator.history_) - 1] = validation.loss(estimator.result_.theta)
        metrics = {"train": _metrics(estimator, train_source, task),
                   "validation": _metrics(estimator, val_source, task)}
        n_val = val_source.n_samples if val_source is not None else 0
    finally:
        if client is not None:
            cluster = client.cluster if args.dask.startswith("local") else None
            client.close()
            if cluster is not None:
                cluster.close()
    seconds = time.perf_counter() - started  # told, not saved: the same command and seed give the same file
    training = {
        "data": args.data, "target": s["target"], "features": raw.feature_names, "task": task,
        "activation": estimator.activation, "loss": estimator.loss, "strategy": s["strategy"],
        "learning_rate": s["lr"], "steps": s["steps"], "steps_done": steps_done, "seed": s["seed"],
        "val_split": s["val_split"], "alpha": s["alpha"], "tol": s["tol"], "batch_size": s["batch_size"],
        "schedule": s["schedule"], "dtype": s["dtype"], "recover": bool(s["recover"]),
        "standardize": scaler is not None, "drop_missing": bool(s["drop_missing"]),
        "rows": scan.n_rows + n_val + scan.n_dropped, "rows_dropped": scan.n_dropped,
        "train_rows": scan.n_rows, "validation_rows": n_val, "status": estimator.status_,
        "message": estimator.result_.message,
        "resumed_from": args.resume, "runs": (int(previous.training.get("runs", 1)) + 1) if previous else 1,
        "streamed": True, "dask": args.dask, "files": len(raw.files),
    }
    model = TrainedModel(estimator, raw.feature_names, scaler, target=s["target"], training=training,
                         history=summarize_history(estimator, progress.val_loss))
    model.metrics = metrics
    if out:
        save(model, out)
    report(args, model, out, seconds)
    return 130 if estimator.status_ == "interrupted" else 0
