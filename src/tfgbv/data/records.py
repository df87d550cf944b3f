"""Reading CSV/TSV and JSONL as physical records, so every record is accounted for and a stray quote never merges rows.

The one reader of both formats: batch scoring (`tfgbv.predict.files`), training-data loading (`tfgbv.data.sources`),
annotation selection and import, and every JSONL file the tool reads back. Lines and records are numbered from 1, as
an editor shows them.

JSONL (`jsonl_records`) is split at b"\n" only (U+2028, U+0085 or a lone \r inside a comment are text, never a line
break, unlike `str.splitlines()`); a UTF-8 byte-order mark before the first line is dropped; a line that is not
decodable, not JSON, nested too deeply for the json module, or not an object is a record with a `problem`.

CSV/TSV (`csv_lines`, `csv_records`) is split at \r\n, \r or \n, as the csv module splits a file opened with
newline="" (a lone \r ends the lines of old Excel for Mac exports). pandas and
`datasets` parse leniently: one unbalanced `"` silently swallows the following lines into a single field, the row
count no longer matches the file and the merged row takes the last swallowed line's values. Here:

- every record is parsed strictly (the `csv` module with `strict=True`: a quote inside a quoted field must be doubled,
  a closing quote must end the field);
- a record may span several physical lines only as a clean quoted field that gives the header's number of fields
  (and, in TSV, holds no tab: there a multi-line field with tabs is the signature of a stray quote). Otherwise the
  record is reported as a problem *at its first line*, and the lines after that line are read again as records of
  their own: nothing is merged and nothing is skipped;
- a record with another number of fields than the header is a problem too (never padded or cut);
- empty lines are not records; empty cells are None; a record with bytes that are not in the declared encoding is a
  problem (its values are never read with replacement characters: an id must still join the output to the input).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

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


_EOL = re.compile(rb"\r\n|\r|\n")


def csv_lines(fh, block_bytes: int = 1 << 20) -> Iterator[bytes]:
    """Lines of a binary stream ending at b"\\r\\n", b"\\r" or b"\\n" (each kept with its line end), as the csv module
    reads a file opened with newline="". A \\r at the end of a block waits for the next block's first byte."""
    tail: list[bytes] = []  # the unfinished line (pieces, so a very long line is joined once)
    cr = False  # the unfinished line ends with a \r that may be the first half of \r\n
    while data := fh.read(block_bytes):
        if cr:
            cr = False
            if data[:1] == b"\n":
                tail.append(b"\n")
                data = data[1:]
            yield b"".join(tail)
            tail = []
        start = 0
        for m in _EOL.finditer(data):
            if m.end() == len(data) and m.group() == b"\r":
                cr = True
                break
            tail.append(data[start : m.end()])
            yield b"".join(tail)
            tail, start = [], m.end()
        if start < len(data):
            tail.append(data[start:])
    if tail:
        yield b"".join(tail)


def undecodable(encoding: str) -> str:
    """The one wording of the problem "this line holds bytes that are not `encoding`" (rejects and validation)."""
    return f"undecodable bytes (not {encoding})"


def check_encoding(encoding: Any) -> str | None:
    """Why `encoding` cannot be used to read CSV/TSV/JSONL line by line (None when it can): it must be known to Python
    and ASCII-compatible (line ends, quotes and delimiters are found in the bytes; UTF-16 would need another reader)."""
    if not isinstance(encoding, str) or not encoding:
        return f"encoding must be a Python codec name such as utf-8 or cp1251, got {encoding!r}"
    try:
        codecs.lookup(encoding)
        probe = ' \t\r\n,;|"{}[]:'
        ok = probe.encode(encoding) == probe.encode("ascii")
    except (LookupError, UnicodeError):
        return f"encoding {encoding!r} is not a codec Python knows (e.g. utf-8, cp1251, koi8-r)"
    if not ok:
        return f"encoding {encoding!r} is not ASCII-compatible (UTF-16/32): convert the file to UTF-8"
    return None


# ----------------------------------------------------------------------------- JSONL

# The json module recurses per nesting level: deeper input raises RecursionError (or overflows the C stack).
_TOO_DEEP = "invalid JSON (nested too deeply)"


@dataclass
class JsonlRecord:
    """One non-blank JSONL line: its 1-based line number and the object, or why it is unusable (`value` None)."""

    line: int
    value: dict | None
    problem: str | None = None


def parse_json_object(text: str) -> tuple[dict | None, str | None]:
    """(object, None) or (None, problem) for one JSON text that should hold an object."""
    try:
        obj = json.loads(text)
    except RecursionError:
        return None, _TOO_DEEP
    except json.JSONDecodeError as err:
        return None, f"invalid JSON ({err.msg} at column {err.colno})"
    except ValueError as err:
        return None, f"invalid JSON ({str(err)[:80]})"
    if not isinstance(obj, dict):
        return None, f"not a JSON object (a JSON {type(obj).__name__})"
    return obj, None


def jsonl_records(raw_lines: Iterable[bytes], encoding: str = "utf-8") -> Iterator[JsonlRecord]:
    """The records of JSONL given as raw byte lines split at b"\\n" only (`iter_lines`); blank lines are skipped."""
    for lineno, raw in enumerate(raw_lines, start=1):
        if lineno == 1 and raw.startswith(codecs.BOM_UTF8) and encoding.replace("_", "-").lower().startswith("utf-8"):
            raw = raw[len(codecs.BOM_UTF8) :]
        if not raw.strip():
            continue
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            yield JsonlRecord(lineno, None, undecodable(encoding))
            continue
        if lineno == 1:
            text = text.lstrip("\ufeff")
        obj, problem = parse_json_object(text)
        yield JsonlRecord(lineno, obj, problem)


def read_jsonl(path: str | Path, encoding: str = "utf-8") -> Iterator[JsonlRecord]:
    """The records of a JSONL file (see `jsonl_records`), streamed; OSError when it cannot be opened."""
    with open(path, "rb") as fh:
        yield from jsonl_records(iter_lines(fh), encoding)


def jsonl_objects(path: str | Path, encoding: str = "utf-8") -> list[dict]:
    """Every object of a JSONL file (one the tool wrote, a test suite, a seed corpus); ValueError naming `file:line`
    at the first unusable line."""
    out = []
    for rec in read_jsonl(path, encoding):
        if rec.problem is not None:
            raise ValueError(f"{path}:{rec.line}: {rec.problem}")
        out.append(rec.value)
    return out


# ----------------------------------------------------------------------------- CSV


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
    raw_lines: Iterable[bytes],
    delimiter: str,
    header_out: list[str] | None = None,
    names: Sequence[str] | None = None,
    encoding: str = "utf-8",
) -> Iterator[CsvRecord]:
    """Records of a CSV/TSV given as raw byte lines (`csv_lines`; the header is read first and not yielded; its column
    names are appended to `header_out` when given). `names`: a header-less file with these columns (every line is a
    record). A record with bytes that are not `encoding` is a problem; its values leave out every undecodable cell.

    Raises CsvFileError when there is no header or the header is malformed or undecodable."""
    source = enumerate(raw_lines, start=1)
    pending: deque[tuple[int, str]] = deque()  # lines handed back after a bad multi-line record
    undecodable_lines: set[int] = set()

    def take() -> tuple[int, str] | None:
        if pending:
            return pending.popleft()
        item = next(source, None)
        if item is None:
            return None
        try:
            return item[0], item[1].decode(encoding)
        except UnicodeDecodeError:
            undecodable_lines.add(item[0])  # decoded with U+FFFD only to find the record's end and line
            return item[0], item[1].decode(encoding, errors="replace")

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
        bad_bytes = any(n in undecodable_lines for n, _ in used)
        if header is None:
            if bad_bytes:
                raise CsvFileError(lineno, f"the header has {undecodable(encoding)}")
            if problem:
                raise CsvFileError(lineno, f"malformed header ({problem})")
            header = _header(fields, lineno)
            if header_out is not None:
                header_out.extend(header)
            pending.extendleft(reversed(used[1:]))
            continue
        if problem is None and len(fields) != len(header):
            problem = f"expected {len(header)} fields (as in the header), found {len(fields)}"
        if (
            problem is None
            and len(used) > 1
            and delimiter == "\t"
            and any(("\n" in f or "\r" in f) and "\t" in f for f in fields)
        ):
            problem = "a quoted field spans lines and holds tabs"
        if problem is not None and len(used) > 1:
            # Most likely a stray quote: read the swallowed lines again as records of their own.
            pending.extendleft(reversed(used[1:]))
            problem += (
                f"; the record starting on line {lineno} would run to line {used[-1][0]} (unbalanced quote?), "
                f"so only line {lineno} is rejected and the lines after it are read as records"
            )
        if problem is None and not bad_bytes:
            values = {k: (v if v != "" else None) for k, v in zip(header, fields)}
            yield CsvRecord(lineno, values, None, used[-1][0] if len(used) > 1 else None)
        else:  # only to name the record: a cell with replaced bytes is left out (it would name another record)
            values = {k: v for k, v in _first_line_values(text, header, delimiter).items() if "\ufffd" not in (v or "")}
            yield CsvRecord(lineno, values, problem or undecodable(encoding), used[-1][0] if problem is None else None)
    if header is None:
        raise CsvFileError(None, "no header line (the file is empty)")
