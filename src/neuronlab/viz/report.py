"""A self-contained HTML report: every figure and the numbers behind it, in one file.

Images are embedded as base64 ``data:`` URIs and the style sheet is inline, so
the file opens from disk, offline, and can be mailed or archived as it is: no
network, no external CSS or JavaScript.

    report = Report("neuronlab demo")
    act = report.section("Act 1", "Solving 256x + 212y = 1492 three ways.")
    act.table(["method", "evaluations"], [["gradient", 7]])
    act.figure(fig, "The race", alt="|error| against evaluations")
    report.write("neuronlab-report/index.html")
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..io.atomic import atomic_output, check_output_path

__all__ = ["Report", "Section"]

_MIME = {".png": "image/png", ".gif": "image/gif", ".svg": "image/svg+xml"}

_STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; max-width: 60rem;
       margin: 2rem auto; padding: 0 1rem; line-height: 1.5; color: #222; }
h1 { border-bottom: 2px solid #444; padding-bottom: .3rem; }
h2 { margin-top: 2.5rem; border-bottom: 1px solid #bbb; }
figure { margin: 1.5rem 0; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: .9rem; color: #555; }
table { border-collapse: collapse; margin: 1rem 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: .25rem .6rem; text-align: right; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: .3rem; }
pre { background: #f6f6f6; padding: .8rem; overflow-x: auto; font-size: .85rem; }
"""


def _figure_bytes(figure) -> tuple[bytes, str]:
    """PNG bytes of a matplotlib Figure, or the bytes of an image file (.png/.gif/.svg)."""
    if hasattr(figure, "savefig"):
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100)
        return buffer.getvalue(), "image/png"
    path = Path(figure)
    mime = _MIME.get(path.suffix.lower())
    if mime is None:
        raise ValueError(f"report image {str(path)!r} must be .png, .gif or .svg")
    return path.read_bytes(), mime


@dataclass
class Section:
    """A heading followed by blocks of text, tables, pre-formatted text and figures."""

    title: str
    blocks: list[str] = field(default_factory=list)

    def paragraph(self, text: str) -> "Section":
        self.blocks.append(f"<p>{html.escape(text)}</p>")
        return self

    def pre(self, text: str) -> "Section":
        self.blocks.append(f"<pre>{html.escape(text)}</pre>")
        return self

    def table(self, headers: Sequence[str], rows: Sequence[Sequence], caption: str = "") -> "Section":
        """A table of numbers; floats are written with 6 significant digits."""
        def cell(v):
            return f"{v:.6g}" if isinstance(v, float) else str(v)

        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(cell(v))}</td>" for v in row) + "</tr>" for row in rows
        )
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        self.blocks.append(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        return self

    def figure(self, figure, caption: str, alt: str = "") -> "Section":
        """Embed a matplotlib Figure or an image file as a data URI, with a caption."""
        data, mime = _figure_bytes(figure)
        uri = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
        self.blocks.append(
            f'<figure><img src="{uri}" alt="{html.escape(alt or caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
        return self

    def html(self) -> str:
        return f"<section><h2>{html.escape(self.title)}</h2>\n" + "\n".join(self.blocks) + "\n</section>"


class Report:
    """An HTML page made of sections (see module doc)."""

    def __init__(self, title: str, intro: str = ""):
        self.title = title
        self.intro = intro
        self.sections: list[Section] = []

    def section(self, title: str, text: str = "") -> Section:
        section = Section(title)
        if text:
            section.paragraph(text)
        self.sections.append(section)
        return section

    def html(self) -> str:
        intro = f"<p>{html.escape(self.intro)}</p>" if self.intro else ""
        body = "\n".join(s.html() for s in self.sections)
        return (
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(self.title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{html.escape(self.title)}</h1>\n{intro}\n{body}\n</body>\n</html>\n"
        )

    def write(self, path) -> Path:
        """Write the page to ``path`` (.html) atomically; return the path."""
        path = check_output_path(path, (".html", ".htm"), "report file")
        with atomic_output(path) as tmp:
            tmp.write_text(self.html(), encoding="utf-8")
        return path
