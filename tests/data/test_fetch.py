"""`tfgbv-data fetch/list` against a local HTTP server on 127.0.0.1 serving tiny hand-made files (no other network):
download + verification, resume of a truncated .part, refusal of corrupt content, list states, manual datasets; and
the shipped registry's consistency with the data configs (and with ../shared/datasets where this machine has it)."""

from __future__ import annotations

import hashlib
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tfgbv.cli.data import fetch_data as main
from tfgbv.data.fetch import DERIVERS, FetchError, load_registry, rutoxicon_jsonl

CSV = "text,toxic\nпривет всем,0\nты дурак,1\n".encode("utf-8") * 40
TSV = "id\tcomment\n1\tсалом\n".encode("utf-8")
XML = """<data>
<text>
<tox rate = "4" response= "post: animate" type = "general_insult">\
<phrase type="direct"><lex>Дурак</lex></phrase> ты</tox>
</text>

<text>
<tox rate = "7" response = "person" type = "threat"><phrase type="indirect">найду тебя</phrase></tox>
</text>
</data>
""".encode("utf-8")


class Server:
    """Serves FILES with Range support; records each request's path and Range header."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.ignore_range = False
        self.endless: set[str] = set()  # paths whose body never ends (until the client hangs up)
        self.endless_sent = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                rng = self.headers.get("Range")
                server.requests.append((self.path, rng))
                if self.path in server.endless:
                    self._stream_forever()
                    return
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                start = int(re.fullmatch(r"bytes=(\d+)-", rng).group(1)) if rng and not server.ignore_range else 0
                if start >= len(body) and start:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(body)}")
                    self.end_headers()
                    return
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                self.wfile.write(body[start:])

            def _stream_forever(self):
                """No Content-Length, bytes until the client hangs up (or 256 MB, so a broken client cannot keep
                the test running)."""
                self.send_response(200)
                self.end_headers()
                block = b"x" * 65536
                try:
                    while server.endless_sent < 256 << 20:
                        self.wfile.write(block)
                        server.endless_sent += len(block)
                except OSError:  # the client closed the connection
                    pass

            def log_message(self, *args):  # keep test output quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def sent(self, path: str) -> list[str | None]:
        return [r for p, r in self.requests if p == path]


@pytest.fixture
def server():
    s = Server()
    s.thread.start()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()
    s.thread.join(timeout=5)


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def _registry(tmp_path: Path, server: Server, *, manual: bool = False) -> Path:
    server.files.update({"/tiny/a.csv": CSV, "/tiny/b.tsv": TSV, "/tox/all.xml": XML})
    lines = [
        "datasets:",
        "  tiny:",
        "    title: Tiny test set",
        "    repository: https://example.org/tiny",
        "    commit: 0123456789abcdef0123456789abcdef01234567",
        "    licence: CC BY 4.0 (test)",
        "    citation: A. Author, Tiny Test Set, 2024",
        "    files:",
        f"      a.csv: {{url: '{server.url}/tiny/a.csv', sha256: {_sha(CSV)}, size: {len(CSV)}}}",
        f"      b.tsv: {{url: '{server.url}/tiny/b.tsv', sha256: {_sha(TSV)}}}",
        "  tox:",
        "    licence: MIT (test)",
        "    citation: B. Author, Tox, 2025",
        "    files:",
        f"      all.xml: {{url: '{server.url}/tox/all.xml', sha256: {_sha(XML)}, size: {len(XML)}}}",
        f"      texts.jsonl: {{derive: rutoxicon_jsonl, from: all.xml, sha256: {_sha(rutoxicon_jsonl_bytes())}}}",
    ]
    if manual:
        lines += [
            "  kaggle_only:",
            "    licence: unknown",
            "    citation: C. Author, Kaggle set",
            "    manual: Download data.csv from https://www.kaggle.com/datasets/example (needs a Kaggle login).",
            f"    files: {{data.csv: {{sha256: {_sha(b'x')}}}}}",
        ]
    path = tmp_path / "registry.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def rutoxicon_jsonl_bytes() -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "all.xml").write_bytes(XML)
        return rutoxicon_jsonl(Path(d) / "all.xml")


def test_fetch_downloads_verifies_installs_and_prints_licence_and_citation(tmp_path, server, capsys):
    dest = tmp_path / "shared"
    assert main(["--registry", str(_registry(tmp_path, server)), "--dest", str(dest), "fetch", "tiny"]) == 0
    assert (dest / "tiny" / "a.csv").read_bytes() == CSV and (dest / "tiny" / "b.tsv").read_bytes() == TSV
    assert not list((dest / "tiny").glob("*.part")) and not list((dest / "tiny").glob(".*tmp"))
    out = capsys.readouterr().out
    assert "CC BY 4.0 (test)" in out and "A. Author, Tiny Test Set, 2024" in out
    assert main(["--registry", str(tmp_path / "registry.yaml"), "--dest", str(dest), "fetch", "tiny"]) == 0
    assert len(server.sent("/tiny/a.csv")) == 1  # already present and verified: not downloaded again


def test_fetch_builds_a_derived_file_from_its_downloaded_source(tmp_path, server):
    dest = tmp_path / "shared"
    assert main(["--registry", str(_registry(tmp_path, server)), "--dest", str(dest), "fetch", "tox"]) == 0
    import json

    rows = [json.loads(line) for line in (dest / "tox" / "texts.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["types"] for r in rows] == [["general_insult"], ["threat"]]
    assert rows[0]["text"] == "Дурак ты" and rows[0]["tox"][0]["lex"] == ["Дурак"] and rows[1]["max_rate"] == 7


def test_fetch_resumes_a_truncated_part_file_with_a_range_request(tmp_path, server):
    registry, dest = _registry(tmp_path, server), tmp_path / "shared"
    (dest / "tiny").mkdir(parents=True)
    (dest / "tiny" / "a.csv.part").write_bytes(CSV[:1000])
    assert main(["--registry", str(registry), "--dest", str(dest), "fetch", "tiny"]) == 0
    assert server.sent("/tiny/a.csv") == ["bytes=1000-"]
    assert (dest / "tiny" / "a.csv").read_bytes() == CSV and not (dest / "tiny" / "a.csv.part").exists()


def test_fetch_starts_over_when_the_server_ignores_the_range_header(tmp_path, server):
    registry, dest = _registry(tmp_path, server), tmp_path / "shared"
    server.ignore_range = True
    (dest / "tiny").mkdir(parents=True)
    (dest / "tiny" / "a.csv.part").write_bytes(CSV[:1000])
    assert main(["--registry", str(registry), "--dest", str(dest), "fetch", "tiny"]) == 0
    assert (dest / "tiny" / "a.csv").read_bytes() == CSV


def test_fetch_refuses_a_download_whose_sha256_differs_and_writes_nothing(tmp_path, server, capsys):
    registry, dest = _registry(tmp_path, server), tmp_path / "shared"
    server.files["/tiny/a.csv"] = CSV.replace("дурак".encode(), "умник".encode())  # same size, other bytes
    assert main(["--registry", str(registry), "--dest", str(dest), "fetch", "tiny"]) == 1
    err = capsys.readouterr().err
    assert "/tiny/a.csv" in err and _sha(CSV) in err and "refused" in err
    assert not (dest / "tiny" / "a.csv").exists() and not (dest / "tiny" / "a.csv.part").exists()


def test_fetch_keeps_a_corrupt_local_file_unless_forced(tmp_path, server, capsys):
    registry, dest = _registry(tmp_path, server), tmp_path / "shared"
    (dest / "tiny").mkdir(parents=True)
    (dest / "tiny" / "a.csv").write_bytes(b"edited by hand\n")
    assert main(["--registry", str(registry), "--dest", str(dest), "fetch", "tiny"]) == 1
    assert "--force" in capsys.readouterr().err
    assert (dest / "tiny" / "a.csv").read_bytes() == b"edited by hand\n"
    assert main(["--registry", str(registry), "--dest", str(dest), "fetch", "--force", "tiny"]) == 0
    assert (dest / "tiny" / "a.csv").read_bytes() == CSV


def test_list_shows_present_missing_and_corrupt_datasets(tmp_path, server, capsys):
    registry, dest = _registry(tmp_path, server), tmp_path / "shared"
    assert main(["--registry", str(registry), "--dest", str(dest), "fetch", "tiny", "tox"]) == 0
    (dest / "tox" / "all.xml").write_bytes(XML + b"<!-- changed -->")
    capsys.readouterr()
    assert main(["--registry", str(registry), "--dest", str(dest), "list"]) == 0
    rows = {
        ln.split()[0]: ln.split()[1]
        for ln in capsys.readouterr().out.splitlines()[1:]
        if ln.startswith("  ") and not ln.startswith("      ")
    }
    assert rows == {"tiny": "present", "tox": "corrupt"}
    (dest / "tiny" / "b.tsv").unlink()
    (dest / "tiny" / "b.tsv.part").write_bytes(TSV[:3])
    main(["--registry", str(registry), "--dest", str(dest), "list", "tiny"])
    out = capsys.readouterr().out
    assert "tiny" in out and "missing" in out and "b.tsv" in out and "partial download: 3 bytes" in out


def test_manual_dataset_prints_instructions_instead_of_downloading(tmp_path, server, capsys):
    registry, dest = _registry(tmp_path, server, manual=True), tmp_path / "shared"
    assert main(["--registry", str(registry), "--dest", str(dest), "fetch", "kaggle_only"]) == 1
    out = capsys.readouterr().out
    assert "kaggle.com/datasets/example" in out and str(dest / "kaggle_only") in out
    assert server.requests == []


def test_unknown_dataset_name_lists_the_known_ones(tmp_path, server, capsys):
    assert main(["--registry", str(_registry(tmp_path, server)), "--dest", str(tmp_path), "fetch", "nope"]) == 2
    assert "unknown dataset(s) nope; known: tiny, tox" in capsys.readouterr().err


def test_registry_errors_name_the_file_dataset_and_field(tmp_path):
    bad = tmp_path / "r.yaml"
    bad.write_text(
        "datasets:\n  x:\n    licence: MIT\n    citation: c\n    files: {a.csv: {url: 'http://h/a', sha256: abc}}\n"
    )
    with pytest.raises(FetchError, match=r"r\.yaml: x/a\.csv: sha256 must be 64 hex digits"):
        load_registry(bad)


# ----------------------------------------------------------------------------- the shipped registry

RAW = re.compile(r"https://raw\.githubusercontent\.com/(?P<repo>[^/]+/[^/]+)/(?P<commit>[0-9a-f]{40})/\S+")


def test_shipped_registry_pins_every_file_to_a_commit_and_covers_the_data_configs():
    from tfgbv.locations import config_dir

    registry = load_registry()
    for ds in registry.values():
        assert re.fullmatch(r"[0-9a-f]{40}", ds.commit), ds.name
        for f in ds.files:
            if f.url:
                m = RAW.fullmatch(f.url)
                assert m and m["commit"] == ds.commit and ds.repository.endswith(m["repo"]), f.url
            else:
                assert f.derive and any(g.name == f.source for g in ds.files), (ds.name, f.name)
    referenced = set()
    for cfg in (config_dir() / "data").glob("*.yaml"):
        referenced |= set(re.findall(r"\$\{paths\.shared_datasets\}/([^/\s]+/[^\s]+)", cfg.read_text(encoding="utf-8")))
    listed = {f"{ds.name}/{f.name}" for ds in registry.values() for f in ds.files}
    assert referenced and referenced <= listed, sorted(referenced - listed)


def test_shipped_registry_digests_match_this_machines_shared_datasets():
    from tfgbv.data.fetch import dataset_state
    from tfgbv.locations import shared_datasets_dir

    dest = shared_datasets_dir()
    if not dest.is_dir():
        pytest.skip(f"no shared datasets at {dest}")
    registry = load_registry()
    states = {name: dataset_state(ds, dest) for name, ds in registry.items() if (dest / name).is_dir()}
    assert states and all(overall == "present" for overall, _ in states.values()), states
    for ds in registry.values():  # what fetch would build from the downloaded source is the copy's exact bytes
        for f in ds.files:
            if f.derive and (dest / ds.name / str(f.source)).is_file():
                built = DERIVERS[f.derive](dest / ds.name / str(f.source), **f.args)
                assert hashlib.sha256(built).hexdigest() == f.sha256, (ds.name, f.name)


# ----------------------------------------------------------------------------- hostile servers and part files


def test_fetch_stops_an_endless_body_at_the_registry_size_and_fails(tmp_path, server, capsys):
    registry, dest = _registry(tmp_path, server), tmp_path / "shared"
    server.endless.add("/tiny/a.csv")
    assert main(["--registry", str(registry), "--dest", str(dest), "fetch", "tiny"]) == 1
    err = capsys.readouterr().err
    assert f"more than the {len(CSV)} bytes the registry expects" in err, err
    assert not (dest / "tiny" / "a.csv").exists()
    assert (dest / "tiny" / "a.csv.part").stat().st_size == 0  # nothing of the wrong body kept
    assert server.endless_sent < 64 << 20  # the client hung up (socket buffers hold a few MB at most)


def test_fetch_stops_an_endless_body_of_a_file_without_size_at_the_cap(tmp_path, monkeypatch):
    from tfgbv.data import fetch

    s = Server()
    s.endless.add("/x")
    s.thread.start()
    try:
        monkeypatch.setattr(fetch, "UNSIZED_LIMIT", 1 << 20)
        with pytest.raises(FetchError, match="more than the 1048576 bytes allowed for a file without a size"):
            fetch.download(f"{s.url}/x", tmp_path / "x", _sha(b""), None, timeout=10)
    finally:
        s.httpd.shutdown()
        s.httpd.server_close()
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("plant", ["symlink", "dangling symlink", "hard link", "fifo"])
def test_fetch_never_writes_through_a_file_planted_at_the_part_name(tmp_path, server, capsys, plant):
    import os

    registry, dest = _registry(tmp_path, server), tmp_path / "shared"
    (dest / "tiny").mkdir(parents=True)
    part, victim = dest / "tiny" / "a.csv.part", tmp_path / "victim.txt"
    if plant != "dangling symlink":
        victim.write_bytes(b"precious\n")
    if plant in ("symlink", "dangling symlink"):
        part.symlink_to(victim)
    elif plant == "hard link":
        os.link(victim, part)
    else:
        os.mkfifo(part)
    assert main(["--registry", str(registry), "--dest", str(dest), "fetch", "tiny"]) == 1
    err = capsys.readouterr().err
    assert str(part) in err and "not written through" in err, err
    if plant == "dangling symlink":
        assert not victim.exists()
    elif plant != "fifo":
        assert victim.read_bytes() == b"precious\n"
    assert not (dest / "tiny" / "a.csv").exists() and not (dest / "tiny" / "a.csv").is_symlink()


# ----------------------------------------------------------------------------- archives, edited copies, sub-folders


def _vint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n >> 7 else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _rar5_header(fields: bytes) -> bytes:
    import struct
    import zlib

    body = _vint(len(fields)) + fields
    return struct.pack("<I", zlib.crc32(body)) + body


def rar5(members: dict[str, bytes]) -> bytes:
    """A RAR5 archive storing `members` uncompressed, written by hand from the RAR 5.0 format description (no tool
    here writes RAR): main header, one file header + data per member, end-of-archive header."""
    import struct
    import zlib

    out = b"Rar!\x1a\x07\x01\x00" + _rar5_header(_vint(1) + _vint(0) + _vint(0))
    for name, data in members.items():
        raw = name.encode("utf-8")
        fields = _vint(2) + _vint(0x02) + _vint(len(data))  # file header with a data area of len(data)
        fields += _vint(0x04) + _vint(len(data)) + _vint(0o100644) + struct.pack("<I", zlib.crc32(data))  # CRC set
        fields += _vint(0) + _vint(1) + _vint(len(raw)) + raw  # stored (no compression), Unix, name
        out += _rar5_header(fields) + data
    return out + _rar5_header(_vint(5) + _vint(0) + _vint(0))


MEMBERS = {"Set Dataset/Set/all.csv": CSV, "Set Dataset/Set_KEY/key.txt": "дурак\r\n".encode("utf-8")}
UPSTREAM = "tj,pers\nсалом,سلام\nбуд,بود\nчаро,چرا\n".encode("utf-8")
EDITED = "tj,pers\nсалом,سلام\nчаро,چرا\n".encode("utf-8")


def _archive_registry(tmp_path: Path, server: Server) -> Path:
    archive = rar5(MEMBERS)
    server.files.update({"/set/Set%20Dataset.rar": archive, "/pairs/news.csv": UPSTREAM})
    lines = [
        "datasets:",
        "  rar_set:",
        "    licence: none stated (test)",
        "    citation: D. Author, a set shipped as RAR, 2022",
        "    files:",
        f"      Set Dataset.rar: {{url: '{server.url}/set/Set%20Dataset.rar', sha256: {_sha(archive)}, "
        f"size: {len(archive)}, keep: false}}",
    ]
    for member, data in MEMBERS.items():
        name = member.removeprefix("Set Dataset/")
        lines.append(
            f"      {name}: {{derive: archive_member, from: Set Dataset.rar, with: {{member: '{member}'}}, "
            f"sha256: {_sha(data)}, size: {len(data)}}}"
        )
    lines += [
        "  pairs:",
        "    licence: none stated (test)",
        "    citation: E. Author, pairs",
        "    files:",
        f"      news.upstream.csv: {{url: '{server.url}/pairs/news.csv', sha256: {_sha(UPSTREAM)}, keep: false}}",
        f"      news.csv: {{derive: drop_lines, from: news.upstream.csv, with: {{lines: [3]}}, "
        f"sha256: {_sha(EDITED)}}}",
    ]
    path = tmp_path / "registry.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_fetch_unpacks_a_rar5_archive_into_sub_folders_and_removes_the_archive(tmp_path, server, capsys):
    registry, dest = _archive_registry(tmp_path, server), tmp_path / "shared"
    assert main(["--registry", str(registry), "--dest", str(dest), "fetch", "rar_set"]) == 0
    assert (dest / "rar_set" / "Set" / "all.csv").read_bytes() == CSV
    assert (dest / "rar_set" / "Set_KEY" / "key.txt").read_bytes() == MEMBERS["Set Dataset/Set_KEY/key.txt"]
    assert not (dest / "rar_set" / "Set Dataset.rar").exists()  # only the members are kept
    assert "Set Dataset.rar: removed" in capsys.readouterr().out
    assert main(["--registry", str(registry), "--dest", str(dest), "fetch", "rar_set"]) == 0
    assert len(server.sent("/set/Set%20Dataset.rar")) == 1  # the members are there: the archive is not needed again
    capsys.readouterr()
    main(["--registry", str(registry), "--dest", str(dest), "list", "rar_set"])
    assert re.search(r"rar_set\s+present\s+2/2 files", capsys.readouterr().out)  # the archive is not counted


def test_fetch_rebuilds_an_edited_copy_from_the_upstream_file_by_dropping_its_lines(tmp_path, server, capsys):
    registry, dest = _archive_registry(tmp_path, server), tmp_path / "shared"
    assert main(["--registry", str(registry), "--dest", str(dest), "fetch", "pairs"]) == 0
    assert (dest / "pairs" / "news.csv").read_bytes() == EDITED
    assert not (dest / "pairs" / "news.upstream.csv").exists()
    main(["--registry", str(registry), "--dest", str(dest), "list", "pairs"])
    assert re.search(r"pairs\s+present\s+1/1 files", capsys.readouterr().out)


def test_a_member_missing_from_the_archive_is_named_and_the_archive_kept_for_the_next_run(tmp_path, server, capsys):
    registry, dest = _archive_registry(tmp_path, server), tmp_path / "shared"
    registry.write_text(registry.read_text(encoding="utf-8").replace("Set_KEY/key.txt'", "Set_KEY/gone.txt'"))
    assert main(["--registry", str(registry), "--dest", str(dest), "fetch", "rar_set"]) == 1
    assert "has no file 'Set Dataset/Set_KEY/gone.txt'" in capsys.readouterr().err
    assert (dest / "rar_set" / "Set Dataset.rar").is_file()  # not downloaded again by the next run


def test_without_libarchive_fetch_says_how_to_unpack_the_archive_by_hand(tmp_path, monkeypatch):
    import sys

    from tfgbv.data.fetch import archive_member

    monkeypatch.setitem(sys.modules, "libarchive", None)  # as if the package (or the system library) were missing
    (tmp_path / "a.rar").write_bytes(rar5(MEMBERS))
    with pytest.raises(FetchError, match=r"libarchive-c .*bsdtar -xf.*'Set Dataset/Set/all\.csv'"):
        archive_member(tmp_path / "a.rar", "Set Dataset/Set/all.csv")


@pytest.mark.parametrize(
    "entry, problem",
    [
        ("../up.csv: {derive: drop_lines, from: a.csv, with: {lines: [1]}", "must be a relative path"),
        ("/abs.csv: {derive: drop_lines, from: a.csv, with: {lines: [1]}", "must be a relative path"),
        ("sub/a.csv: {url: 'http://h/a'", "only a derived file may sit in a sub-folder"),
        ("b.csv: {derive: archive_member, from: a.csv, with: {name: x}", "'with:' does not fit derive rule"),
    ],
)
def test_registry_refuses_paths_outside_the_folder_and_arguments_a_rule_does_not_take(tmp_path, entry, problem):
    bad = tmp_path / "r.yaml"
    bad.write_text(
        f"datasets:\n  x:\n    licence: MIT\n    citation: c\n    files:\n      {entry}, sha256: {'a' * 64}}}\n",
        encoding="utf-8",
    )
    with pytest.raises(FetchError, match=re.escape(problem)):
        load_registry(bad)


def test_shipped_registry_unpacks_pars_off_from_its_archive_and_rebuilds_the_edited_news_pairs():
    registry = load_registry()
    pars = registry["fa_pars_off_twitter"]
    (archive,) = [f for f in pars.files if f.url]
    assert archive.name == "Pars-OFF Dataset.rar" and not archive.keep and archive.size == 2_184_831
    members = [f for f in pars.files if f.derive]
    assert all(f.derive == "archive_member" and f.source == archive.name for f in members)
    assert all(f.args == {"member": f"Pars-OFF Dataset/{f.name}"} for f in members)
    assert "Pars-OFF/Pars-OFF_all.csv" in {f.name for f in members}  # what configs/data/fa_pars_off.yaml reads
    pairs = {f.name: f for f in registry["tgfa_stibiumghost_translit"].files}
    assert {"dictionary.csv", "news.csv", "evaluation_12-6.csv"} <= set(pairs)  # what train/persian_translit reads
    assert pairs["news.csv"].source == "news.upstream.csv" and not pairs["news.upstream.csv"].keep
    assert {"train_simple.csv", "val_simple.csv", "test_simple.csv"} <= {
        f.name for f in registry["fa_phate_twitter"].files
    }
    assert {f.name for f in registry["fa_swear_words"].files} == {"data.json", "data.txt"}
