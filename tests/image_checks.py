"""Shared checks that a figure file really holds a picture (used by the figure tests)."""

from pathlib import Path

import numpy as np


def assert_picture(path, size=None, min_colours=20):
    """The PNG/GIF at ``path`` opens with Pillow, has ``size`` and is not blank."""
    from PIL import Image

    path = Path(path)
    assert path.is_file(), f"{path} was not written"
    with Image.open(path) as image:
        image.load()
        if size is not None:
            assert image.size == size, f"{path}: size {image.size}, expected {size}"
        pixels = np.asarray(image.convert("L"), dtype=np.float64)
        colours = len(image.convert("RGB").getcolors(maxcolors=1 << 20) or [])
    # a blank or single-colour image has no spread and one or two colours
    assert pixels.std() > 10, f"{path} looks blank (grey-level spread {pixels.std():.1f})"
    assert colours >= min_colours, f"{path} has only {colours} distinct colours"
    # ink on more than a sliver of the canvas: at least 2 % of pixels are not background white
    assert (pixels < 200).mean() > 0.02, f"{path} is almost empty"
