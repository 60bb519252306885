"""Hostile cases, generated here: tampered model files, bad data files, output paths that must
not be written (devices, the inputs under other spellings, another output, read-only folders),
FIFOs, and signals.

Every case runs the command line in-process in a folder of its own, under a timeout, and
ends either in a result (exit 0) or in one line on stderr with exit status 2 — never a
traceback or a hang — and the folder is compared before and after, byte for byte: a case
that fails writes, replaces and leaves behind nothing.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import stat
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import neuronlab
from neuronlab.apps import cli
from neuronlab.apps.cli import main

CASE_SECONDS = 20  # a case still running after this is a hang


class Hang(BaseException):
    """Raised by the alarm in a case that ran past CASE_SECONDS (not an Exception: the
    command line must not be able to swallow it)."""


@pytest.fixture(autouse=True)
def one_parser(monkeypatch):
    """The command line's parser built once for the module's thousands of runs (building it
    takes longer than most refusals; parsing does not change it)."""
    parser = _parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)


_PARSER = []


def _parser():
    if not _PARSER:
        _PARSER.append(cli.build_parser())
    return _PARSER[0]


def snapshot(folder: Path) -> dict:
    """Every entry under ``folder``: its kind and, for a file, its bytes; for a link, its target."""
    found = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root, name)
            st = os.lstat(path)
            key = str(path.relative_to(folder))
            if stat.S_ISLNK(st.st_mode):
                found[key] = ("link", os.readlink(path))
            elif stat.S_ISREG(st.st_mode):
                found[key] = ("file", path.read_bytes())
            else:
                found[key] = ("other", stat.S_IFMT(st.st_mode))
    return found


def run(capsys, folder: Path, *argv):
    """(exit status, stdout, stderr, folder before, folder after) of ``neuronlab ARGV`` run in
    ``folder`` under a timeout."""
    before = snapshot(folder)
    cwd = os.getcwd()
    previous = signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(Hang(argv)))
    signal.setitimer(signal.ITIMER_REAL, CASE_SECONDS)
    os.chdir(folder)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            status = main([str(a) for a in argv])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        os.chdir(cwd)
    out, err = capsys.readouterr()
    return status, out, err, before, snapshot(folder)


def assert_refused(result, *words):
    """Exit 2, one line on stderr naming ``words``, no traceback, the folder unchanged."""
    status, out, err, before, after = result
    lines = err.strip().splitlines()
    assert status == 2, (status, err[-2000:])
    assert "Traceback" not in err and len(lines) == 1 and lines[0].startswith("neuronlab: "), err[-2000:]
    assert len(lines[0]) < 1000
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert after == before, sorted(set(after) ^ set(before))


# --- a folder with a model, its data and rows to predict --------------------------------------------
@pytest.fixture(scope="module")
def base(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile-base")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = np.where(X[:, 0] - X[:, 1] > 0, "yes", "no")
    lines = ["a,b,label"] + [f"{a!r},{b!r},{t}" for (a, b), t in zip(X.tolist(), y)]
    (folder / "data.csv").write_text("\n".join(lines) + "\n")
    (folder / "rows.csv").write_text("a,b\n0.5,-0.5\n-1.0,2.0\n")
    status = main(["train", str(folder / "data.csv"), "--target", "label", "--steps", "30", "--quiet",
                   "--out", str(folder / "m.json")])
    assert status == 0
    return folder


@pytest.fixture
def work(base, tmp_path, capsys):
    capsys.readouterr()
    for name in ("data.csv", "rows.csv", "m.json"):
        (tmp_path / name).write_bytes((base / name).read_bytes())
    return tmp_path


# --- tampered model files ----------------------------------------------------------------------------
NAN, HUGE = "@@NaN@@", "@@HUGE@@"  # written into the JSON text as NaN and 1e400 (→ inf)
TYPE_SAMPLES = {"text": "x", "number": 7, "bool": True, "list": [], "object": {}}
NON_NEGATIVE = ("training.steps_done", "training.steps", "training.rows", "training.seed", "training.learning_rate",
                "training.alpha", "training.tol", "training.runs", "training.train_rows", "scaler.scale",
                "history.n_steps", "history.points.step", "metrics.train.confusion_matrix")
#: fields whose values are free settings checked by the estimator, not by type alone
LENIENT = ("estimator_params.",)


def json_type(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "text"
    return {list: "list", dict: "object", type(None): "null"}[type(value)]


def leaves(doc, path=()):
    """(path, value) of every field, first items of lists only (their siblings are alike)."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield path + (key,), value
            yield from leaves(value, path + (key,))
    elif isinstance(doc, list) and doc:
        yield path + (0,), doc[0]
        yield from leaves(doc[0], path + (0,))


def set_at(doc, path, value):
    for key in path[:-1]:
        doc = doc[key]
    if value is DELETE:
        del doc[path[-1]]
    else:
        doc[path[-1]] = value


DELETE = object()


def mutations(doc):
    """(name, changed document or raw text, must be refused) for each tampering."""
    for path, value in leaves(doc):
        dotted = ".".join(str(p) for p in path if not isinstance(p, int))
        lenient = dotted.startswith(LENIENT)
        if isinstance(path[-1], str):
            yield f"delete {dotted}", (path, DELETE), False
        kind = json_type(value)
        if kind != "null":
            yield f"{dotted} = null", (path, None), False
            for other, sample in TYPE_SAMPLES.items():
                if other != kind:
                    # a label may be text or a number (as a target column holds them)
                    label_kind = dotted == "labels" and other in ("text", "number")
                    yield f"{dotted} = {other}", (path, sample), not (lenient or label_kind)
        if kind == "number":
            yield f"{dotted} = NaN", (path, NAN), True
            yield f"{dotted} = 1e400", (path, HUGE), True
            yield f"{dotted} = -5", (path, -5), dotted in NON_NEGATIVE
        if kind == "list" and value and json_type(value[0]) in ("number", "text"):
            yield f"{dotted} one item more", (path, value + [value[-1]]), dotted != "history.points"
    yield "labels [1, 1.0]", (("labels",), [1, 1.0]), True
    yield "labels [NaN, 1]", (("labels",), [NAN, 1]), True
    yield "labels twice the same", (("labels",), ["yes", "yes"]), True
    yield "feature_names twice the same", (("feature_names",), ["a", "a"]), True
    yield "kind regressor, labels kept", (("kind",), "NeuronRegressor"), True
    yield "schema_version 2", (("schema_version",), 2), True
    yield "training.recover 'yes'", (("training", "recover"), "yes"), True
    yield "training.steps_done -5", (("training", "steps_done"), -5), True
    yield "metrics.train = 5", (("metrics", "train"), 5), True
    yield "10-million-feature claim", (("parameters", "coef"), [0.5] * 200_001), True


RAW_FILES = {
    "empty": b"",
    "truncated": None,  # the model's first half
    "not UTF-8": b'{"format": "neuronlab-model\xe9"}',
    "a JSON array": b"[1, 2, 3]",
    "100,000 levels deep": b"[" * 100_000 + b"]" * 100_000,
    "a number of 10,000 digits": b'{"format": "neuronlab-model", "schema_version": ' + b"9" * 10_000 + b"}",
}


def model_commands(name):
    return [("inspect", name), ("predict", name, "rows.csv"), ("evaluate", name, "data.csv"),
            ("train", "data.csv", "--target", "label", "--resume", name, "--out", "out.json", "--steps", "40",
             "--quiet")]


#: the commands that read each part of a model file beyond loading it (an edit a file may
#: carry is tried with those; one it must not is tried with every command, which refuses it
#: at once)
READERS = {"metrics": ("inspect",), "history": ("inspect",), "training": ("inspect", "train")}


def check_model_case(capsys, work, name, refused_for_sure, field=None):
    for argv in model_commands(name):
        if not refused_for_sure and argv[0] not in READERS.get(field, (argv[0],)):
            continue
        result = run(capsys, work, *argv)
        status, out, err, before, after = result
        if refused_for_sure:
            assert_refused(result, name)
        elif status != 0:
            assert_refused(result)  # e.g. the data holds a label the edited model does not know
        else:
            # accepted: the library accepts it too, and only the asked-for output is new
            neuronlab.load(work / name)
            assert set(after) - set(before) <= {"out.json"}
            assert {k: v for k, v in after.items() if k != "out.json"} == before


def test_every_tampered_model_file_is_refused_in_one_line_or_used_whole(work, capsys):
    original = json.loads((work / "m.json").read_text())
    cases = list(mutations(original))
    assert len(cases) > 150
    for index, (label, (path, value), refused) in enumerate(cases):
        doc = copy.deepcopy(original)
        set_at(doc, path, value)
        text = json.dumps(doc).replace(f'"{NAN}"', "NaN").replace(f'"{HUGE}"', "1e400")
        name = f"t{index}.json"
        (work / name).write_text(text)
        try:
            check_model_case(capsys, work, name, refused, path[0])
        except AssertionError as e:
            raise AssertionError(f"{label}: {e}") from None
        (work / name).unlink()
        (work / "out.json").unlink(missing_ok=True)


@pytest.mark.parametrize("label", list(RAW_FILES))
def test_a_file_that_is_no_model_is_refused_before_it_is_parsed(work, capsys, label):
    content = RAW_FILES[label]
    if content is None:
        data = (work / "m.json").read_bytes()
        content = data[: len(data) // 2]
    (work / "bad.json").write_bytes(content)
    check_model_case(capsys, work, "bad.json", True)


def test_a_huge_model_file_is_refused_by_its_size_without_reading_it(work, capsys):
    from neuronlab.io.schema import MAX_FILE_BYTES

    with open(work / "big.json", "wb") as f:  # sparse: no disk is spent
        f.truncate(MAX_FILE_BYTES + 1)
    result = run(capsys, work, "inspect", "big.json")
    assert_refused(result, "big.json", "MiB")


def test_a_wide_model_is_inspected_in_a_bounded_table(work, capsys):
    n = 5_000
    X = np.random.default_rng(1).normal(size=(50, n))
    model = neuronlab.NeuronRegressor(max_steps=2, tol=0).fit(X, X[:, 0])
    neuronlab.save(model, work / "wide.json")
    status, out, err, _, _ = run(capsys, work, "inspect", "wide.json")
    assert status == 0 and err == ""
    assert f"… {n - 40} more" in out and len(out.splitlines()) < 150


# --- data files ------------------------------------------------------------------------------------
def _garbage_gz():
    import gzip

    return gzip.compress(bytes(range(256)) * 40)


DATA_FILES = {
    "a column named twice": (b"a,b,a,label\n1,2,3,yes\n4,5,6,no\n7,8,9,yes\n", "twice"),
    "a cell that is not UTF-8": (b"a,b,label\n1,2,yes\n3,4,caf\xe9\n5,6,no\n", "row 2"),
    "a header that is not UTF-8": (b"a,b\xe9,label\n1,2,yes\n3,4,no\n", "header"),
    "text in a numeric target": (("a,b,label\n" + "".join(f"{i},{i % 7},{i * 1.5}\n" for i in range(40))
                                  + "1,2,oops\n").encode(), "row 41"),
    "text in a numeric feature": (("a,b,label\n" + "".join(f"{i},{i % 7},{'yes' if i % 2 else 'no'}\n"
                                                          for i in range(40)) + "x1,2,no\n").encode(), "row 41"),
    "a value of 1e308": (b"a,b,label\n1e308,2,yes\n-1e308,1,no\n3,4,yes\n5,6,no\n", "row 1"),
    "infinity": (b"a,b,label\n1,2,yes\ninf,1,no\n3,4,yes\n5,6,no\n", "row 2"),
    "a missing value": (b"a,b,label\n1,2,yes\n,1,no\n3,4,yes\n5,6,no\n", "row 2"),
    "an empty file": (b"", "empty"),
    "a header and no rows": (b"a,b,label\n", "no rows"),
    "binary garbage": (bytes(range(256)) * 8, "bad"),
    "gzip of garbage": (_garbage_gz(), "bad.csv"),
}


@pytest.mark.parametrize("label", list(DATA_FILES))
def test_a_bad_data_file_is_named_in_one_line(work, capsys, label):
    content, words = DATA_FILES[label]
    (work / "bad.csv").write_bytes(content)
    for argv in (("train", "bad.csv", "--target", "label", "--out", "new.json"),
                 ("lr-find", "bad.csv", "--target", "label"),
                 ("evaluate", "m.json", "bad.csv"),
                 ("predict", "m.json", "bad.csv", "--out", "p.csv")):
        result = run(capsys, work, *argv)
        if argv[0] == "predict" and label == "text in a numeric target":
            # predicting reads the features only, and they are sound here: a result
            assert result[0] == 0 and set(result[4]) - set(result[3]) == {"p.csv"}, result[2]
            continue
        assert_refused(result, "bad.csv", *([words] if argv[0] == "train" else []))


def test_devices_folders_and_fifos_with_no_writer_are_refused_not_waited_on(work, capsys, monkeypatch):
    from neuronlab.io import tables

    monkeypatch.setattr(tables, "PIPE_WAIT_SECONDS", 0.3)
    os.mkfifo(work / "fifo.csv")
    (work / "folder").mkdir()
    for data, words in (("/dev/zero", "character device"), ("fifo.csv", "no data"), ("folder", "folder")):
        for argv in (("train", data, "--target", "label"), ("predict", "m.json", data)):
            assert_refused(run(capsys, work, *argv), data, words)


def test_a_pipe_is_read_as_a_stream(work, capsys):
    read, write = os.pipe()
    data = (work / "data.csv").read_bytes()
    assert len(data) < 60_000  # fits in the pipe: the writer never blocks
    os.write(write, data)
    os.close(write)
    try:
        status, out, err, _, _ = run(capsys, work, "train", f"/dev/fd/{read}", "--target", "label", "--steps", "5",
                                     "--quiet")
    finally:
        os.close(read)
    assert status == 0, err
    assert "rows" in out


# --- outputs ---------------------------------------------------------------------------------------
def output_cases(work: Path):
    """(argv, words the refusal names) of outputs that must not be written."""
    os.symlink("data.csv", work / "link.csv")
    os.link(work / "data.csv", work / "hard.csv")
    os.symlink("m.json", work / "model-link.json")
    train = ("train", "data.csv", "--target", "label", "--steps", "5", "--quiet")
    cases = [
        (train + ("--out", "/dev/full"), "character device"),
        (("predict", "m.json", "rows.csv", "--out", "/dev/full"), "character device"),
        (("predict", "m.json", "rows.csv", "--out", "/dev/null"), "character device"),
        (train + ("--out", "/proc/m.json"), "cannot write"),
        (train + ("--out", "keep.json", "--plot", "/proc/p.png"), "cannot write"),
        (train + ("--out", "same.png", "--plot", "same.png"), "same file"),
        (train + ("--out", "x.jsonl", "--trace", "x.jsonl"), "same file"),
        (train + ("--out", "m.json", "--plot", "p.png", "--trace", "./p.png"), ".png"),
        (train + ("--plot", "a.png", "--animate", "a.gif", "--trace", "t.jsonl", "--out", "./t.jsonl"), "same file"),
    ]
    for spelling in ("data.csv", "./data.csv", "link.csv", "hard.csv", str(work / "data.csv"), "sub/../data.csv"):
        cases.append((train + ("--out", spelling), "input"))
        cases.append((("predict", "m.json", "data.csv", "--out", spelling), "input"))
        cases.append((("lr-find", "data.csv", "--target", "label", "--plot", spelling), "input"))
    for spelling in ("m.json", "./m.json", "model-link.json"):
        cases.append((("predict", "m.json", "rows.csv", "--out", spelling), "input"))
        cases.append((("train", "data.csv", "--target", "label", "--resume", "m.json", "--out", "x.json",
                       "--plot", spelling.replace(".json", ".png"), "--trace", spelling.replace(".json", ".png")),
                      "same file"))
    return cases


def test_no_output_replaces_an_input_a_device_or_another_output(work, capsys):
    (work / "sub").mkdir()
    (work / "keep.json").write_text("keep me")
    checked = 0
    for argv, words in output_cases(work):
        result = run(capsys, work, *argv)
        try:
            assert_refused(result, *([words] if words else []))
        except AssertionError as e:
            raise AssertionError(f"{' '.join(argv)}: {e}") from None
        checked += 1
    assert checked >= 25
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode) and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_read_only_folder_is_refused_before_any_output_is_written(work, capsys):
    if os.geteuid() == 0:  # nothing is missing: root may write there, so /proc stands in (output test)
        pytest.skip("root writes into read-only folders (the /proc case of the output test covers it)")
    ro = work / "ro"
    ro.mkdir()
    (work / "keep.json").write_text("keep me")
    ro.chmod(0o555)
    try:
        result = run(capsys, work, "train", "data.csv", "--target", "label", "--out", "keep.json",
                     "--plot", "ro/p.png")
    finally:
        ro.chmod(0o755)
    assert_refused(result, "ro", "cannot write")


def test_a_figure_that_fails_after_training_leaves_the_model_unwritten(work, capsys, monkeypatch):
    """The model is written last: a figure that fails to be written (a full disk) stops the
    command before it, and the message says so."""
    from neuronlab.viz import plots

    def full_disk(fig, path):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(plots, "save_figure", full_disk)
    (work / "keep.json").write_text("keep me")
    result = run(capsys, work, "train", "data.csv", "--target", "label", "--steps", "5", "--quiet",
                 "--out", "keep.json", "--plot", "p.png")
    status, out, err, before, after = result
    assert status == 2 and "No space left" in err and "not saved to keep.json" in err
    assert after == before


def test_same_command_and_seed_give_the_same_model_file_byte_for_byte(work, capsys):
    for name in ("one.json", "two.json"):
        status, *_ = run(capsys, work, "train", "data.csv", "--target", "label", "--steps", "20", "--quiet",
                         "--seed", "3", "--out", name)
        assert status == 0
    assert (work / "one.json").read_bytes() == (work / "two.json").read_bytes()
    assert "time_seconds" not in json.loads((work / "one.json").read_text())["training"]


# --- signals (in a child process: the signal must reach a real command line) ------------------------
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_with_trace_leaves_no_temporary_file(tmp_path, signum):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 3))
    lines = ["a,b,c,y"] + [f"{a},{b},{c},{int(a + b > 0)}" for a, b, c in X.tolist()]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    child = subprocess.Popen([sys.executable, "-m", "neuronlab", "train", "d.csv", "--target", "y", "--steps",
                              "10000000", "--tol", "0", "--lr", "0.01", "--out", "m.json", "--trace", "t.jsonl"],
                             cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".t.jsonl.") for p in tmp_path.iterdir()):  # training has begun
        assert time.monotonic() < deadline and child.poll() is None, child.communicate()
        time.sleep(0.05)
    time.sleep(0.3)
    child.send_signal(signum)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130 and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "m.json", "t.jsonl"]
    assert json.loads((tmp_path / "m.json").read_text())["training"]["status"] == "interrupted"
    assert err.strip().splitlines()[-1].startswith("neuronlab: interrupted at step")
