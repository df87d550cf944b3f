"""The one CSV/JSONL reader (tfgbv.data.records): CSV lines split as the csv module splits them, JSONL split at "\\n"
only, a BOM dropped, deep JSON and undecodable bytes reported per record, never replaced."""

import csv
import io
import json

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tfgbv.data.records import csv_lines, csv_records, iter_lines, jsonl_records

CELLS = st.text(alphabet=st.sampled_from(list('ab ,"\r\nыҳ\u2028;\t')), max_size=8)
LINE_ENDS = st.sampled_from(["\n", "\r\n", "\r"])


class _Chunky(io.RawIOBase):
    """A binary stream that returns at most `size` bytes per read, to put block ends anywhere (also inside \\r\\n)."""

    def __init__(self, data: bytes, size: int):
        self.data, self.size, self.pos = data, size, 0

    def read(self, n: int = -1) -> bytes:
        out = self.data[self.pos : self.pos + min(self.size, n if n > 0 else self.size)]
        self.pos += len(out)
        return out


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(CELLS, min_size=2, max_size=2), min_size=1, max_size=6),
    LINE_ENDS,
    st.integers(1, 7),
    st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
)
def test_csv_records_equal_the_csv_module_whatever_the_line_ends_and_block_size(rows, end, block, quoting):
    buf = io.StringIO()
    csv.writer(buf, lineterminator=end, quoting=quoting).writerows([["id", "text"], *rows])
    data = buf.getvalue().encode()
    expected = list(csv.reader(io.StringIO(data.decode(), newline="")))[1:]
    assume(expected == rows)  # the writer leaves a bare \r unquoted when lines end in \n: not valid CSV
    got = list(csv_records(csv_lines(_Chunky(data, block), block_bytes=block), ","))
    assert [r.problem for r in got] == [None] * len(expected)
    assert [[r.values["id"] or "", r.values["text"] or ""] for r in got] == expected


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=40), st.integers(1, 7))
def test_csv_lines_keep_every_byte_and_end_only_at_line_ends(data, block):
    lines = list(csv_lines(_Chunky(data, block), block_bytes=block))
    assert b"".join(lines) == data
    for line in lines[:-1]:
        body = line.rstrip(b"\r\n")
        assert b"\r" not in body and b"\n" not in body and line[len(body) :] in (b"\n", b"\r", b"\r\n")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=12), min_size=1, max_size=5))
def test_jsonl_records_read_back_every_object_whatever_its_characters(texts):
    data = "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts).encode("utf-8", "surrogatepass")
    got = list(jsonl_records(iter_lines(io.BytesIO(data))))
    valid = all(not any(0xD800 <= ord(c) <= 0xDFFF for c in t) for t in texts)
    if valid:  # U+2028, U+0085, \r and the like are text inside a line, never a line break
        assert [r.value["text"] for r in got] == texts and [r.line for r in got] == list(range(1, len(texts) + 1))


def test_lone_cr_lines_are_records():
    got = list(csv_records(csv_lines(io.BytesIO("id,text\r1,ты дура\r2,привет\r".encode())), ","))
    assert [(r.line, r.values) for r in got] == [
        (2, {"id": "1", "text": "ты дура"}),
        (3, {"id": "2", "text": "привет"}),
    ]


def test_undecodable_csv_record_is_a_problem_and_its_bad_cells_are_left_out():
    data = b"id,text\n" + "\u04421".encode("cp1251") + b",ok\n2,\xff\n"
    got = list(csv_records(csv_lines(io.BytesIO(data)), ","))
    assert [(r.line, r.problem, r.values) for r in got] == [
        (2, "undecodable bytes (not utf-8)", {"text": "ok"}),
        (3, "undecodable bytes (not utf-8)", {"id": "2"}),
    ]
    assert [r.values for r in csv_records(csv_lines(io.BytesIO(data)), ",", encoding="cp1251")][0]["id"] == "т1"


def test_jsonl_bom_deep_nesting_and_non_objects_are_reported_per_line():
    data = b'\xef\xbb\xbf{"id": "first"}\n' + b"[" * 100_000 + b"]" * 100_000 + b'\n[1]\n\xff\n{"id": "last"}\n'
    got = [(r.line, r.value, r.problem) for r in jsonl_records(iter_lines(io.BytesIO(data)))]
    assert got == [
        (1, {"id": "first"}, None),
        (2, None, "invalid JSON (nested too deeply)"),
        (3, None, "not a JSON object (a JSON list)"),
        (4, None, "undecodable bytes (not utf-8)"),
        (5, {"id": "last"}, None),
    ]
