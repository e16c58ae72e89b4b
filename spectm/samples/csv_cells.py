"""Read a sample CSV as text cells: the encoding it is in, its header, its rows in blocks.

Cells stay text (no NA conversion, no number parsing by pandas): what ``<0.1``, ``bdl`` or
``nd`` mean is decided by the samples contract (:mod:`spectm.samples.tokens`), not by the
CSV reader. A large file is streamed in blocks so memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from spectm.errors import BadInputError, SchemaError

CHUNK_ROWS = 100_000
"""Rows normalized at a time. Every bundled GLERL file is far smaller, so they are read in
one piece; a bigger file is streamed in blocks of this many rows, which bounds memory (a
million junk rows stay well under 1 GB, benchmarks/README.md) at one cost: the two rules
that look across rows — a non-surface row inheriting time/position from the surface row
of its site and date, and a ``bdl`` detection limit taken as the file's smallest detected
value — then see only the rows of their block (docs/samples.md)."""


def detect_encoding(path: Path, encoding: str | None = None) -> str:
    """The encoding to read ``path`` with: ``encoding`` (checked), else UTF-8 (BOM allowed)
    when every byte decodes, else latin-1. Decoded in 1 MiB blocks, never held whole."""
    import codecs

    want = encoding or "utf-8-sig"
    try:
        dec = codecs.getincrementaldecoder(want)()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                dec.decode(block)
            dec.decode(b"", final=True)
    except (UnicodeDecodeError, LookupError) as exc:  # LookupError: an unknown encoding name
        if encoding is None:
            return "latin-1"
        raise BadInputError(
            f"{path.name} cannot be decoded as {encoding}: {exc}", "fix 'encoding:' in the column map"
        ) from None
    return encoding or "utf-8"


def iter_cells(
    path: Path, encoding: str | None = None, delimiter: str = ",", chunk_rows: int | None = None
) -> tuple[list[str], Iterator[pd.DataFrame], str]:
    """Header, blocks of at most ``chunk_rows`` rows as text cells (no NA conversion: tokens
    are interpreted later, not by pandas), and the encoding; the file is streamed."""
    enc = detect_encoding(path, encoding)
    pd_enc = "utf-8-sig" if enc == "utf-8" else enc
    kw: dict[str, Any] = dict(dtype=str, keep_default_na=False, na_filter=False, sep=delimiter, encoding=pd_enc)
    try:
        headers = list(pd.read_csv(path, nrows=0, **kw).columns)
    except pd.errors.EmptyDataError:
        raise SchemaError(f"{path.name} is empty", "pass a CSV file with a header row") from None
    except pd.errors.ParserError as exc:
        raise SchemaError(f"{path.name} is not a readable CSV: {exc}", "check the delimiter and quoting") from None

    def blocks() -> Iterator[pd.DataFrame]:
        try:
            with pd.read_csv(path, chunksize=chunk_rows or CHUNK_ROWS, **kw) as reader:
                n = 0
                for block in reader:
                    n += 1
                    yield block
                if n == 0:
                    yield pd.DataFrame({h: pd.Series(dtype=str) for h in headers})
        except pd.errors.ParserError as exc:
            raise SchemaError(f"{path.name} is not a readable CSV: {exc}", "check the delimiter and quoting") from None

    return headers, blocks(), enc


__all__ = ["CHUNK_ROWS", "detect_encoding", "iter_cells"]
