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
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                rng = self.headers.get("Range")
                server.requests.append((self.path, rng))
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
                built = DERIVERS[f.derive](dest / ds.name / str(f.source))
                assert hashlib.sha256(built).hexdigest() == f.sha256, (ds.name, f.name)
