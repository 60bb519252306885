"""A CSV/TSV file streamed in ranges of whole rows (sources.files._csv_blocks): the rows are those of
pyarrow's whole-file read whatever the range size (a range that does not divide the file, a last
line with or without its newline, CRLF, tab-separated), quoted values holding newlines are read
whole (the rest of the file by the streaming reader), the blocks are the same at every pass, the
epoch is that of the rows in memory, and a malformed row far into the file is an error naming it."""

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

from neuronlab import Neuron, NeuronObjective
import neuronlab.sources.files as files
from neuronlab.sources.files import FileSource


def _rows(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * [1.0, 50.0, 0.01] + [0.0, -7.0, 3.0]
    y = (rng.random(n) < 0.5).astype(np.int64)
    return X, y


def _text(X, y, sep=",", newline="\n", last_newline=True, notes=None):
    """The rows as CSV text, floats written by repr (so that they read back exactly); ``notes``:
    a quoted text column (before the label) whose values may hold newlines and quotes."""
    header = ["a", "b", "c"] + (["note"] if notes is not None else []) + ["label"]
    lines = [sep.join(header)]
    for i, (row, label) in enumerate(zip(X.tolist(), y.tolist())):
        fields = [repr(v) for v in row]
        if notes is not None:
            fields.append('"' + notes[i].replace('"', '""') + '"')
        lines.append(sep.join(fields + [str(label)]))
    return newline.join(lines) + (newline if last_newline else "")


def _whole(path, sep=","):
    """(X, y) of pyarrow's read of the whole file, newlines in quoted values allowed."""
    table = pcsv.read_csv(path, parse_options=pcsv.ParseOptions(delimiter=sep, newlines_in_values=True))
    return np.column_stack([table.column(c).to_numpy() for c in "abc"]), table.column("label").to_numpy()


def _streamed(path, **kw):
    source = FileSource(path, "label", ["a", "b", "c"], **kw).configured(labels=[0, 1], target_is_text=False)
    blocks = [(X.copy(), y.copy()) for X, y, _ in source._each()]
    return np.concatenate([X for X, _ in blocks]), np.concatenate([y for _, y in blocks]), \
        [X.shape[0] for X, _ in blocks]


@pytest.mark.parametrize("range_bytes", [97, 1000, 4099, 1 << 24])
@pytest.mark.parametrize("layout", ["csv", "csv, no last newline", "csv, CRLF", "tsv"])
def test_ranges_give_the_rows_of_the_whole_file(tmp_path, monkeypatch, range_bytes, layout):
    monkeypatch.setattr(files, "CSV_RANGE_BYTES", range_bytes)
    X, y = _rows()
    sep = "\t" if layout == "tsv" else ","
    text = _text(X, y, sep=sep, newline="\r\n" if "CRLF" in layout else "\n",
                 last_newline="no last newline" not in layout)
    path = tmp_path / ("rows.tsv" if layout == "tsv" else "rows.csv")
    path.write_bytes(text.encode())
    assert len(text) % range_bytes or range_bytes > len(text)  # a range that does not divide the file
    got_X, got_y, sizes = _streamed(path)
    want_X, want_y = _whole(path, sep)
    np.testing.assert_array_equal(got_X, want_X)
    np.testing.assert_array_equal(got_X, X)
    np.testing.assert_array_equal(got_y, want_y)
    if range_bytes < len(text):
        assert len(sizes) > 1  # read range by range, not whole
    # block boundaries follow the bytes only: the same at every pass
    assert _streamed(path)[2] == sizes


def test_a_range_shorter_than_a_row_falls_back_to_the_streaming_reader(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "CSV_RANGE_BYTES", 16)
    X, y = _rows(50)
    path = tmp_path / "rows.csv"
    path.write_text(_text(X, y))
    got_X, got_y, _ = _streamed(path)
    np.testing.assert_array_equal(got_X, X)
    np.testing.assert_array_equal(got_y, y)


@pytest.mark.parametrize("range_bytes", [64, 700, 5000, 1 << 24])
@pytest.mark.parametrize("first_quoted", [0, 3, 150])
def test_quoted_values_holding_newlines_are_read_whole(tmp_path, monkeypatch, range_bytes, first_quoted):
    """A text column (not a feature) whose values hold newlines, quotes and the delimiter, from
    row ``first_quoted`` on: the quote may first come in the first range or a later one."""
    monkeypatch.setattr(files, "CSV_RANGE_BYTES", range_bytes)
    X, y = _rows(300)
    notes = ["plain" if i < first_quoted else f'line one\nline "two", {i}\r\nthree' if i % 3 == 0
             else f"row {i}" for i in range(len(y))]
    path = tmp_path / "rows.csv"
    path.write_text(_text(X, y, notes=notes))
    got_X, got_y, sizes = _streamed(path)
    want_X, want_y = _whole(path)
    assert len(want_y) == 300
    np.testing.assert_array_equal(got_X, want_X)
    np.testing.assert_array_equal(got_X, X)
    np.testing.assert_array_equal(got_y, want_y)
    assert _streamed(path)[2] == sizes


def test_a_quoted_header_is_read_by_ranges(tmp_path, monkeypatch):
    """pyarrow's CSV writer quotes the column names: the rows after them still go by ranges."""
    monkeypatch.setattr(files, "CSV_RANGE_BYTES", 2000)
    X, y = _rows()
    path = tmp_path / "rows.csv"
    pcsv.write_csv(pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "label": y}), path)
    assert path.read_bytes().startswith(b'"a","b","c","label"')
    calls = []
    original = pcsv.read_csv
    monkeypatch.setattr(pcsv, "read_csv", lambda *a, **kw: calls.append(1) or original(*a, **kw))
    got_X, got_y, sizes = _streamed(path)
    np.testing.assert_array_equal(got_X, X)
    np.testing.assert_array_equal(got_y, y)
    assert len(sizes) > 5 and len(calls) > 5  # one read_csv per range (and one for the header)


def test_the_epoch_over_ranges_is_that_of_the_rows_in_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "CSV_RANGE_BYTES", 3001)
    X, y = _rows(2000)
    path = tmp_path / "rows.csv"
    path.write_text(_text(X, y))
    mean, std = X.mean(0), X.std(0)
    source = FileSource(path, "label").configured(labels=[0, 1], target_is_text=False, mean=mean, scale=std)
    theta = np.array([0.3, -0.2, 0.1, 0.05])
    streamed = NeuronObjective.from_source(Neuron(3, "sigmoid"), source, "log_loss").loss_and_grad(theta)
    memory = NeuronObjective(Neuron(3, "sigmoid"), (X - mean) / std, y.astype(float), "log_loss").loss_and_grad(theta)
    assert streamed[0] == pytest.approx(memory[0], rel=1e-12)
    np.testing.assert_allclose(streamed[1], memory[1], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("bad_row", ["1.0,2.0\n", "1.0,oops,3.0,1\n"])
def test_a_malformed_row_in_a_later_range_names_the_file(tmp_path, monkeypatch, bad_row):
    """Past the first MB, which the header's read parses, and in the 40th range of 40 kB."""
    monkeypatch.setattr(files, "CSV_RANGE_BYTES", 40_000)
    X, y = _rows(25_000)
    lines = _text(X, y).splitlines(keepends=True)
    lines.insert(24_000, bad_row)
    path = tmp_path / "rows.csv"
    path.write_text("".join(lines))
    source = FileSource(path, "label").configured(labels=[0, 1], target_is_text=False)
    with pytest.raises(ValueError, match=r"rows\.csv: cannot be read as CSV: .*(columns|conversion)"):
        for _ in source._each():
            pass


@pytest.mark.parametrize("standardise", [False, True])
def test_the_fill_of_a_table_in_chunks_is_that_of_its_whole_columns(standardise):
    """fill_columns from a Table in chunks cut at different rows in different columns (float64,
    int64 with a null, bool): NaN for the null, ±∞ kept and flagged, x′ = (x − μ)/σ to the bit."""
    rng = np.random.default_rng(4)
    a = rng.normal(size=700) * 1e3
    a[[5, 600]] = [np.inf, np.nan]
    b = pa.chunked_array([pa.array([1, None, 3] * 100), pa.array(list(range(400)))])
    c = pa.chunked_array([pa.array(rng.random(350) < 0.5), pa.array(rng.random(350) < 0.5)])
    table = pa.table({"a": pa.chunked_array([a[:100], a[100:]]), "b": b, "c": c, "d": rng.normal(size=700)})
    mean, scale = (np.array([3.0, -1.0, 0.5, 0.1]), np.array([7.0, 2.0, 0.5, 3.0])) if standardise else (None, None)
    X = np.full((800, 4), -1.0, order="F")[:700]
    flags = files.fill_columns(table, ["a", "b", "c", "d"], X, mean, scale)
    assert list(flags) == [True, True, False, False]
    want = np.column_stack([table.column(k).to_numpy().astype(float) for k in "abcd"])
    np.testing.assert_array_equal(X, want if mean is None else (want - mean) / scale)


def test_the_first_ranges_types_hold_for_the_rest(tmp_path, monkeypatch):
    """A target read as it is (the scan, before its classes are known) takes the type inferred
    from the first range, as the streaming reader's from its first block: text after numbers in a
    later range is an error naming the file, not a column of two types."""
    monkeypatch.setattr(files, "CSV_RANGE_BYTES", 1000)
    X, y = _rows()
    lines = _text(X, y).splitlines(keepends=True)
    lines[300] = lines[300].rsplit(",", 1)[0] + ",maybe\n"
    path = tmp_path / "rows.csv"
    path.write_text("".join(lines))
    with pytest.raises(ValueError, match=r"rows\.csv: cannot be read as CSV: .*conversion"):
        FileSource(path, "label").scan()


def test_leaving_the_ranges_early_stops_their_parses(tmp_path, monkeypatch):
    """Ranges are parsed two at a time on threads of their own; a reader left after its first
    blocks (a run stopped, an error downstream) leaves no parse running behind it."""
    import threading

    monkeypatch.setattr(files, "CSV_RANGE_BYTES", 2_000)
    X, y = _rows(n=2_000)
    path = tmp_path / "rows.csv"
    path.write_text(_text(X, y))
    convert = pcsv.ConvertOptions(column_types={name: pa.float64() for name in ["a", "b", "c"]})
    parses = []
    real_read_csv = pcsv.read_csv
    monkeypatch.setattr(pcsv, "read_csv", lambda *a, **k: parses.append(1) or real_read_csv(*a, **k))
    blocks = files._csv_blocks(str(path), ",", convert, 1 << 16)
    [next(blocks) for _ in range(3)]
    assert any(thread.name.startswith("neuronlab-csv") for thread in threading.enumerate())
    blocks.close()
    assert not any(thread.name.startswith("neuronlab-csv") for thread in threading.enumerate())
    # the header, the three ranges handed out and those in flight: not the file's other ranges
    n_ranges = path.stat().st_size // 2_000
    assert len(parses) <= 1 + 3 + files.CSV_RANGES_IN_FLIGHT < n_ranges // 4
