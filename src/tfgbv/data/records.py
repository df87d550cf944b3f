"""Reading CSV/TSV as physical records, so every record is accounted for and a stray quote never merges rows.

Shared by batch scoring (`tfgbv.predict.files`) and training-data loading (`tfgbv.data.sources`). pandas and
`datasets` parse leniently: one unbalanced `"` silently swallows the following lines into a single field, the row
count no longer matches the file and the merged row takes the last swallowed line's values. Here:

- every record is parsed strictly (the `csv` module with `strict=True`: a quote inside a quoted field must be doubled,
  a closing quote must end the field);
- a record may span several physical lines only as a clean quoted field that gives the header's number of fields
  (and, in TSV, holds no tab: there a multi-line field with tabs is the signature of a stray quote). Otherwise the
  record is reported as a problem *at its first line*, and the lines after that line are read again as records of
  their own: nothing is merged and nothing is skipped;
- a record with another number of fields than the header is a problem too (never padded or cut);
- empty lines are not records; empty cells are None; undecodable bytes become U+FFFD (the caller rejects that row).
"""

from __future__ import annotations

import csv
import io
from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence

# A quoted field spanning more physical lines than this is taken as an unbalanced quote (bounds the look-ahead,
# hence memory, when a stray quote near the top of a large file would otherwise swallow the rest of it).
MAX_RECORD_LINES = 1000


class CsvFileError(ValueError):
    """The file cannot be read as CSV at all (no header, or a malformed header); `line` is 1-based."""

    def __init__(self, line: int | None, message: str):
        self.line = line
        super().__init__(message)


@dataclass
class CsvRecord:
    """One physical record: the line it starts on, its values by column, and why it is unusable (None = fine).

    For a bad record `values` holds what its first line alone gives (so callers can still name its id)."""

    line: int
    values: dict[str, str | None]
    problem: str | None = None
    end_line: int | None = None  # last physical line, when the record spans several


def iter_lines(fh, block_bytes: int = 1 << 20) -> Iterator[bytes]:
    """Lines of a binary stream split at b"\\n" only (like a Python binary file); also for Arrow files that lack
    readline (the Ray datasource)."""
    if isinstance(fh, (io.BufferedReader, io.BufferedRandom)):  # Python files and stdin: their own line iterator
        yield from fh
        return
    buf = b""
    while True:
        data = fh.read(block_bytes)
        if not data:
            break
        *lines, buf = (buf + data).split(b"\n")
        for line in lines:
            yield line + b"\n"
    if buf:
        yield buf


def _dialect(delimiter: str, strict: bool) -> dict:
    return {"delimiter": delimiter, "quotechar": '"', "doublequote": True, "strict": strict}


def _parse(first: tuple[int, str], take: Callable[[], tuple[int, str] | None], delimiter: str):
    """Parse one record starting at `first`, pulling continuation lines with `take`.

    Returns (fields or None, the (line, text) pairs used, problem or None)."""
    _, text = first
    if '"' not in text:  # the common case: one line, no quoting, so csv semantics are a plain split
        return text.rstrip("\r\n").split(delimiter), [first], None
    used = [first]

    def feed() -> Iterator[str]:
        yield text
        while len(used) < MAX_RECORD_LINES:
            nxt = take()
            if nxt is None:
                return
            used.append(nxt)
            yield nxt[1]

    try:
        return next(csv.reader(feed(), **_dialect(delimiter, strict=True))), used, None
    except csv.Error as err:
        msg = str(err)
        if "unexpected end of data" in msg:
            msg = (
                f"a quoted field is not closed within {MAX_RECORD_LINES} lines or before the end of the file"
                if len(used) >= MAX_RECORD_LINES
                else "a quoted field is not closed before the end of the file"
            )
        return None, used, f"malformed CSV record ({msg})"


def _first_line_values(text: str, header: list[str], delimiter: str) -> dict[str, str | None]:
    """What the first line of a bad record gives on its own, read leniently (only used to name the record's id)."""
    try:
        fields = next(csv.reader([text.rstrip("\r\n")], **_dialect(delimiter, strict=False)), [])
    except csv.Error:
        fields = []
    return {k: (v or None) for k, v in zip(header, fields)}


def _header(fields: list[str], lineno: int) -> list[str]:
    names = [name or f"Unnamed: {i}" for i, name in enumerate(fields)]  # pandas' name for a blank header cell
    seen = [n for i, n in enumerate(names) if n in names[:i]]
    if seen:
        raise CsvFileError(lineno, f"duplicate column name(s) {sorted(set(seen))} in the header")
    return names


def csv_records(
    raw_lines: Iterable[bytes], delimiter: str, header_out: list[str] | None = None, names: Sequence[str] | None = None
) -> Iterator[CsvRecord]:
    """Records of a CSV/TSV given as raw byte lines (the header is read first and not yielded; its column names are
    appended to `header_out` when given). `names`: a header-less file with these columns (every line is a record).

    Raises CsvFileError when there is no header or the header is malformed."""
    source = enumerate(raw_lines, start=1)
    pending: deque[tuple[int, str]] = deque()  # lines handed back after a bad multi-line record

    def take() -> tuple[int, str] | None:
        if pending:
            return pending.popleft()
        item = next(source, None)
        return None if item is None else (item[0], item[1].decode("utf-8", errors="replace"))

    header: list[str] | None = list(names) if names else None
    if header is not None and header_out is not None:
        header_out.extend(header)
    while (first := take()) is not None:
        lineno, text = first
        if not text.strip("\r\n"):
            continue  # an empty line is not a record
        if header is None:
            first = (lineno, text.lstrip("\ufeff"))  # a UTF-8 byte-order mark is not part of the first column name
        fields, used, problem = _parse(first, take, delimiter)
        if header is None:
            if problem:
                raise CsvFileError(lineno, f"malformed header ({problem})")
            header = _header(fields, lineno)
            if header_out is not None:
                header_out.extend(header)
            pending.extendleft(reversed(used[1:]))
            continue
        if problem is None and len(fields) != len(header):
            problem = f"expected {len(header)} fields (as in the header), found {len(fields)}"
        if problem is None and len(used) > 1 and delimiter == "\t" and any("\n" in f and "\t" in f for f in fields):
            problem = "a quoted field spans lines and holds tabs"
        if problem is not None and len(used) > 1:
            # Most likely a stray quote: read the swallowed lines again as records of their own.
            pending.extendleft(reversed(used[1:]))
            problem += (
                f"; the record starting on line {lineno} would run to line {used[-1][0]} (unbalanced quote?), "
                f"so only line {lineno} is rejected and the lines after it are read as records"
            )
        if problem is None:
            values = {k: (v if v != "" else None) for k, v in zip(header, fields)}
            yield CsvRecord(lineno, values, None, used[-1][0] if len(used) > 1 else None)
        else:
            yield CsvRecord(lineno, _first_line_values(text, header, delimiter), problem)
    if header is None:
        raise CsvFileError(None, "no header line (the file is empty)")
