"""The report is one HTML file whose every image is embedded and decodes."""

import base64
import io
from html.parser import HTMLParser

import numpy as np
import pytest

from neuronlab import FunctionObjective, minimize
from neuronlab.viz import plots
from neuronlab.viz.report import Report


class Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.links, self.tags, self.cells = [], [], [], []
        self._in_cell = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "img":
            self.images.append(attrs)
        for key in ("href", "src"):
            if key in attrs and tag != "img":
                self.links.append(attrs[key])
        self._in_cell = tag == "td"

    def handle_data(self, data):
        if self._in_cell:
            self.cells.append(data)
            self._in_cell = False


def check_images(html_text):
    """Every <img> is a data URI that Pillow opens; returns the decoded sizes."""
    from PIL import Image

    parser = Collect()
    parser.feed(html_text)
    sizes = []
    for image in parser.images:
        src = image["src"]
        assert src.startswith("data:image/"), f"image not embedded: {src[:60]}"
        header, payload = src.split(",", 1)
        assert header.endswith(";base64")
        with Image.open(io.BytesIO(base64.b64decode(payload, validate=True))) as decoded:
            decoded.load()
            sizes.append(decoded.size)
        assert image.get("alt")
    return parser, sizes


def test_report_embeds_figures_and_tables(tmp_path):
    a = np.array([256.0, 212.0])
    objective = FunctionObjective(lambda t: (0.5 * (a @ t - 1492) ** 2, (a @ t - 1492) * a), 2,
                                  grad=True, param_names=["x", "y"])
    result = minimize(objective, [0.0, 0.0], learning_rate=1e-5, max_steps=10, tol=0)
    png = tmp_path / "surface.png"
    plots.plot_surface(objective, png, paths={"gd": result.history})
    report = Report("Test report", "Numbers & figures <escaped>")
    section = report.section("Act 1", "Gradient descent on the equation.")
    section.table(["step", "J"], [[0, 1113032.0], [10, float(result.history.loss[-1])]], caption="Loss")
    section.figure(plots.plot_loss(result.history), "Loss curve")
    section.figure(png, "Surface", alt="contour of J with the path")
    section.pre("x ← x − η·∂J/∂x")
    out = report.write(tmp_path / "index.html")
    text = out.read_text(encoding="utf-8")
    parser, sizes = check_images(text)
    assert sizes == [(700, 450), (650, 550)]
    assert "<script" not in text and "<link" not in text
    assert not any(link.startswith(("http:", "https:", "//")) for link in parser.links)
    assert "Numbers &amp; figures &lt;escaped&gt;" in text
    assert parser.cells[:2] == ["0", "1.11303e+06"]
    assert "x ← x − η·∂J/∂x" in text


def test_report_path_must_be_html(tmp_path):
    with pytest.raises(ValueError, match="report file"):
        Report("x").write(tmp_path / "index.txt")


def test_report_refuses_unknown_image_type(tmp_path):
    (tmp_path / "a.bmp").write_bytes(b"BM")
    with pytest.raises(ValueError, match=r"\.png, \.gif or \.svg"):
        Report("x").section("s").figure(tmp_path / "a.bmp", "caption")
