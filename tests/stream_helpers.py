"""Helpers the streaming tests share: count the pieces read from the data files, and look at a
block (a pyarrow RecordBatch or Table) as a Table."""

import pyarrow as pa

from neuronlab.sources import files as files_module


class CountedReads:
    """The pieces read from the data files (not from a cache), in ``pieces``; ``n`` counts them."""

    def __init__(self, monkeypatch):
        self.pieces = []
        original = files_module.read_piece

        def counted(piece, *args, **kwargs):
            self.pieces.append(piece)
            return original(piece, *args, **kwargs)

        monkeypatch.setattr(files_module, "read_piece", counted)

    @property
    def n(self):
        return len(self.pieces)


def as_table(block):
    """A block as the Table of its rows."""
    return pa.Table.from_batches([block]) if isinstance(block, pa.RecordBatch) else block
