"""`tfgbv-data`: download the public datasets the data configs read, and check what is on disk.

    tfgbv-data list                     # each dataset: present / missing / corrupt (SHA-256 mismatch)
    tfgbv-data fetch                    # every dataset in the registry
    tfgbv-data fetch rutoxicon ru_sexism_vk_gsoc2019 --dest /data/public

The registry (configs/datasets.yaml) pins, per dataset folder, the original public repository and commit, a raw URL,
SHA-256 and size per file, the licence and the citation. A file may be built from another one (`derive:`, e.g. a
member unpacked from a downloaded archive, in a sub-folder as the archive has it) and a file may be downloaded only
to build others (`keep: false`: removed once they are built, not counted by `list`). Downloads use plain HTTP(S)
(urllib; proxies from the environment), resume a partial `<file>.part` with a Range request, are checked against
the SHA-256 before they take the final name (fsync, then rename), and never replace a local file that differs from
the registry unless --force. A body longer than the registry's size is cut off there and refused, and a `.part` is
never opened through a symlink, FIFO or hard link planted at its name (tfgbv.io.open_own_file). The destination is
paths.shared_datasets (see tfgbv.locations) unless --dest is given.
"""

from __future__ import annotations

import hashlib
import http.client
import inspect
import json
import os
import sys
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterable, Mapping, Sequence

import yaml

from tfgbv.io import NotOwnFileError, fsync_dir, open_own_file, sha256_file, write_bytes
from tfgbv.locations import config_dir

CHUNK = 1 << 16
UNSIZED_LIMIT = 1 << 30  # bytes a registry file without a size may have (the largest pinned file has 4 MB)
# Network trouble worth another (resumed) attempt; HTTP error statuses are not retried.
RETRYABLE = (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError)
USER_AGENT = "tfgbv-data/1 (+https://github.com; research dataset fetcher)"


class FetchError(RuntimeError):
    """A dataset file could not be fetched or verified; the message names the file, the URL and what to do."""


# ----------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class FileEntry:
    name: str
    sha256: str
    size: int | None = None
    url: str | None = None
    derive: str | None = None  # built locally from another file of the folder (see DERIVERS)
    source: str | None = None  # the file it is derived from
    args: Mapping[str, Any] = field(default_factory=dict)  # the deriver's keyword arguments (registry: `with:`)
    keep: bool = True  # False: downloaded only to derive other files from, removed once they are built


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    repository: str
    commit: str
    licence: str
    citation: str
    files: tuple[FileEntry, ...]
    manual: str | None = None  # no raw-downloadable source: instructions printed instead of a download
    note: str | None = None


def default_registry() -> Path:
    return config_dir() / "datasets.yaml"


def load_registry(path: str | Path | None = None) -> dict[str, Dataset]:
    """Parse and check the registry; errors name the registry file, the dataset and the field."""
    path = Path(path) if path else default_registry()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as e:
        raise FetchError(f"dataset registry {path}: cannot read it ({e.strerror})") from None
    if not isinstance(raw.get("datasets"), dict):
        raise FetchError(f"dataset registry {path}: needs a top-level 'datasets:' mapping")
    return {name: _dataset(path, name, entry or {}) for name, entry in raw["datasets"].items()}


def _dataset(path: Path, name: str, entry: dict) -> Dataset:
    where = f"dataset registry {path}: {name}"
    missing = [k for k in ("licence", "citation") if not entry.get(k)]
    if missing:
        raise FetchError(f"{where}: missing {', '.join(missing)}")
    files = tuple(_file(where, fname, f or {}, entry) for fname, f in (entry.get("files") or {}).items())
    if not files and not entry.get("manual"):
        raise FetchError(f"{where}: lists no files and no manual instructions")
    return Dataset(
        name=name,
        title=str(entry.get("title") or name),
        repository=str(entry.get("repository") or ""),
        commit=str(entry.get("commit") or ""),
        licence=str(entry["licence"]),
        citation=str(entry["citation"]),
        files=files,
        manual=entry.get("manual"),
        note=entry.get("note"),
    )


def _file(where: str, name: str, f: dict, entry: dict) -> FileEntry:
    parts = PurePosixPath(name).parts
    if not parts or "\\" in name or PurePosixPath(*parts).as_posix() != name or parts[0] == "/" or ".." in parts:
        raise FetchError(f"{where}: file name {name!r} must be a relative path inside the dataset folder (a/b.csv)")
    digest = str(f.get("sha256") or "").lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise FetchError(f"{where}/{name}: sha256 must be 64 hex digits, got {f.get('sha256')!r}")
    if not (f.get("url") or f.get("derive") or entry.get("manual")):
        raise FetchError(f"{where}/{name}: needs a url, a derive rule, or manual instructions for the dataset")
    if f.get("derive") and f["derive"] not in DERIVERS:
        raise FetchError(f"{where}/{name}: unknown derive rule {f['derive']!r}; known: {sorted(DERIVERS)}")
    if f.get("derive") and not f.get("from"):
        raise FetchError(f"{where}/{name}: derive needs 'from: <file of the same folder>'")
    if len(parts) > 1 and not f.get("derive"):
        raise FetchError(f"{where}/{name}: only a derived file may sit in a sub-folder (downloads land in the folder)")
    args = f.get("with") or {}
    if f.get("derive"):
        try:
            inspect.signature(DERIVERS[f["derive"]]).bind(Path(), **args)
        except TypeError as e:
            raise FetchError(f"{where}/{name}: 'with:' does not fit derive rule {f['derive']!r} ({e})") from None
    return FileEntry(
        name=name,
        sha256=digest,
        size=f.get("size"),
        url=f.get("url"),
        derive=f.get("derive"),
        source=f.get("from"),
        args=args,
        keep=bool(f.get("keep", True)),
    )


# ----------------------------------------------------------------------------- state on disk


def file_state(path: Path, entry: FileEntry) -> str:
    """present (SHA-256 matches), missing, or corrupt (a file is there with other content)."""
    if not path.is_file():
        return "missing"
    if entry.size is not None and path.stat().st_size != entry.size:
        return "corrupt"
    return "present" if sha256_file(path) == entry.sha256 else "corrupt"


def dataset_state(ds: Dataset, dest: Path) -> tuple[str, dict[str, str]]:
    """(overall, per file): corrupt if any file is, missing if any is absent, else present."""
    files = {f.name: file_state(dest / ds.name / f.name, f) for f in ds.files if f.keep}
    states = set(files.values())
    overall = "corrupt" if "corrupt" in states else "missing" if "missing" in states or not files else "present"
    return overall, files


# ----------------------------------------------------------------------------- download


def _lock(fh) -> None:
    """Two fetches writing one .part would interleave bytes: the second one stops instead (POSIX only)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks here; the SHA-256 check still catches a mixed file
        return
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise FetchError(f"{fh.name}: another tfgbv-data fetch is writing this file; wait for it to finish") from None


def _request(url: str, offset: int, timeout: float):
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)


def _open_part(part: Path):
    """The .part opened to append, never through a symlink, FIFO or hard link planted at its name (tfgbv.io)."""
    try:
        fd = open_own_file(part, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    except NotOwnFileError as err:
        raise FetchError(f"{err}: remove {part} and run the fetch again") from None
    return os.fdopen(fd, "ab")


def _transfer(url: str, part: Path, timeout: float, size: int | None) -> None:
    """Append the rest of `url` to `part` (Range request from its current size), or start over if the server sends
    the whole file; flushed and fsynced before returning. A body that runs past `size` (the registry's, or
    UNSIZED_LIMIT) is cut off there and refused: an endless or wrong body must not fill the disk."""
    limit = UNSIZED_LIMIT if size is None else size
    with _open_part(part) as fh:
        _lock(fh)
        offset = fh.seek(0, os.SEEK_END)
        try:
            resp = _request(url, offset, timeout)
        except urllib.error.HTTPError as e:
            if e.code == 416 and offset:  # nothing after `offset`: the .part is already whole; the digest decides
                return
            raise FetchError(f"{url}: HTTP {e.code} {e.reason}") from None
        with resp:
            if offset and resp.status != 206:  # the server ignored the Range header: it sends the whole file
                fh.truncate(0)
                offset = 0
            elif offset and not str(resp.headers.get("Content-Range", "")).startswith(f"bytes {offset}-"):
                fh.truncate(0)  # another range than asked for: appending it would corrupt the file; start over
                raise ConnectionError(f"asked for bytes {offset}-, got {resp.headers.get('Content-Range')!r}")
            have = offset
            while block := resp.read(min(CHUNK, limit + 1 - have)):  # one byte past the limit tells it is too long
                fh.write(block)
                have += len(block)
                if have > limit:
                    fh.truncate(0)
                    raise FetchError(
                        f"{url}: the server sent more than the {limit} bytes "
                        f"{'the registry expects' if size is not None else 'allowed for a file without a size'}; "
                        f"stopped and emptied the partial file {part} (the upstream file changed?)"
                    )
        fh.flush()
        os.fsync(fh.fileno())


def download(
    url: str, target: Path, sha256: str, size: int | None = None, *, timeout: float = 60.0, attempts: int = 3
) -> None:
    """Download `url` to `target` via `target.part` (resumed across attempts and runs), verify, then rename.

    The .part has a fixed name, not a unique one, so that a later run can resume it; an exclusive lock on it keeps two
    fetches from writing it at once. A .part whose content does not match the SHA-256 is deleted, so the next run
    starts afresh rather than resuming a bad file; `target` only ever appears by the final rename, never half-written.
    """
    part = target.with_name(target.name + ".part")
    for attempt in range(1, attempts + 1):
        if part.exists() and size is not None and part.stat().st_size > size:
            part.unlink()  # longer than the file can be: not a prefix of it
        try:
            if size is None or not part.exists() or part.stat().st_size < size:
                _transfer(url, part, timeout, size)
        except RETRYABLE as e:  # the .part keeps what arrived; the next attempt resumes from there
            problem = str(e) or type(e).__name__
        else:
            have = part.stat().st_size if part.exists() else 0
            if size is None or have >= size:
                break
            problem = f"the connection closed after {have} of {size} bytes"
        if attempt == attempts:
            have = part.stat().st_size if part.exists() else 0
            raise FetchError(
                f"{url}: download failed after {attempts} attempts ({problem}); {have} bytes kept in "
                f"{part}, run the fetch again to resume"
            )
    if part.is_symlink() or not part.is_file():  # swapped since the transfer: never renamed into place
        raise FetchError(f"{part}: not a regular file any more; remove it and run the fetch again")
    digest = sha256_file(part)
    if digest != sha256:
        got = part.stat().st_size
        part.unlink()
        raise FetchError(
            f"{url}: the downloaded file ({got} bytes) has SHA-256 {digest}, the registry expects "
            f"{sha256}; refused, nothing written to {target} (the upstream file changed, or the "
            f"download was corrupted; the partial file was removed)"
        )
    os.replace(part, target)
    fsync_dir(target.parent)


# ----------------------------------------------------------------------------- derived files


def rutoxicon_jsonl(xml_path: Path) -> bytes:
    """RuToxiCon's all_toxic_comments.xml as JSONL, one object per <text> in document order: id, text, tox spans
    (type, rate, response, span_text, phrases, lex), types, max_rate and the element re-serialised (raw_xml).
    Reproduces the workplace copy's rutoxicon_texts.jsonl byte for byte (its SHA-256 is in the registry)."""
    lines = []
    for i, el in enumerate(ET.parse(xml_path).getroot().iter("text")):
        tox = [
            {
                "type": t.get("type"),
                "rate": int(t.get("rate")),
                "response": t.get("response"),
                "span_text": "".join(t.itertext()),
                "phrases": [{"type": p.get("type"), "text": "".join(p.itertext())} for p in t.iter("phrase")],
                "lex": ["".join(x.itertext()) for x in t.iter("lex")],
            }
            for t in el.iter("tox")
        ]
        rec = {
            "id": i,
            "text": "".join(el.itertext()).strip(),
            "tox": tox,
            "types": sorted({t["type"] for t in tox}),
            "max_rate": max((t["rate"] for t in tox), default=None),
            "raw_xml": ET.tostring(el, encoding="unicode"),
        }
        lines.append(json.dumps(rec, ensure_ascii=False) + "\n")
    return "".join(lines).encode("utf-8")


def archive_member(archive: Path, member: str) -> bytes:
    """One file of an archive (RAR, RAR5 included, 7z, zip, tar, ...) read with libarchive, which knows the formats
    Python's standard library does not (Pars-OFF ships only as RAR5)."""
    unpack_by_hand = f"or unpack it by hand (`bsdtar -xf` or `unrar x`) and put {member!r} in place"
    try:  # imported here: it loads the system's libarchive, which only unpacking needs
        import libarchive
    except (ImportError, OSError) as e:
        raise FetchError(
            f"{archive}: unpacking needs the libarchive-c package and the libarchive library ({e}); install them "
            f"(pip install libarchive-c; apt-get install libarchive13, brew install libarchive), {unpack_by_hand}"
        ) from None
    try:
        with libarchive.file_reader(str(archive)) as entries:
            for item in entries:
                if item.pathname == member and item.isfile:
                    return b"".join(item.get_blocks())
    except libarchive.ArchiveError as e:
        raise FetchError(f"{archive}: cannot unpack it ({e}); {unpack_by_hand}") from None
    raise FetchError(f"{archive}: has no file {member!r}")


def drop_lines(source: Path, lines: Sequence[int]) -> bytes:
    """The file without the given physical lines (1-based, split at \\n): rows a workplace copy removed on purpose."""
    drop = set(lines)
    with source.open("rb") as fh:
        return b"".join(line for number, line in enumerate(fh, 1) if number not in drop)


DERIVERS: dict[str, Callable[..., bytes]] = {
    "rutoxicon_jsonl": rutoxicon_jsonl,
    "archive_member": archive_member,
    "drop_lines": drop_lines,
}


def derive(entry: FileEntry, folder: Path) -> None:
    source = folder / str(entry.source)
    if not source.is_file():
        raise FetchError(f"{folder / entry.name}: derived from {source}, which is missing; fetch it first")
    data = DERIVERS[str(entry.derive)](source, **entry.args)
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry.sha256:
        raise FetchError(
            f"{folder / entry.name}: built from {source} with SHA-256 {digest}, the registry expects "
            f"{entry.sha256}; refused, nothing written"
        )
    (folder / entry.name).parent.mkdir(parents=True, exist_ok=True)
    write_bytes(folder / entry.name, data)


def _only_to_derive(ds: Dataset, entry: FileEntry, folder: Path) -> bool:
    """A `keep: false` file whose derived files are all in place: nothing to download."""
    built = [f for f in ds.files if f.source == entry.name]
    return not entry.keep and all(file_state(folder / f.name, f) == "present" for f in built)


def _remove_sources(ds: Dataset, folder: Path, say: Callable[[str], None]) -> None:
    for entry in ds.files:
        if not entry.keep and (folder / entry.name).is_file():
            (folder / entry.name).unlink()
            say(f"  {ds.name}/{entry.name}: removed (only needed to build the files above)")


# ----------------------------------------------------------------------------- commands


def manual_instructions(ds: Dataset, dest: Path) -> str:
    names = ", ".join(f.name for f in ds.files) or "the files"
    return (
        f"{ds.name}: no raw-downloadable source; fetch it by hand:\n  {ds.manual}\n"
        f"  then put {names} in {dest / ds.name} and run `tfgbv-data list` to check them."
    )


def fetch_dataset(
    ds: Dataset, dest: Path, *, force: bool = False, timeout: float = 60.0, say: Callable[[str], None] = print
) -> bool:
    """Fetch one dataset's files into dest/<name>; True when every file is present and verified afterwards."""
    folder = dest / ds.name
    if ds.manual and not all(f.url or f.derive for f in ds.files):
        say(manual_instructions(ds, dest))
        return False
    folder.mkdir(parents=True, exist_ok=True)
    for entry in sorted(ds.files, key=lambda f: f.derive is not None):  # a derived file needs its source first
        target = folder / entry.name
        if _only_to_derive(ds, entry, folder):
            continue
        state = file_state(target, entry)
        if state == "present":
            say(f"  {ds.name}/{entry.name}: present (SHA-256 ok)")
            continue
        if state == "corrupt" and not force:
            raise FetchError(
                f"{target} exists but does not match the registry's SHA-256 {entry.sha256} (edited, "
                f"truncated or another version); move it away or rerun with --force to replace it"
            )
        if entry.derive:
            derive(entry, folder)
            say(f"  {ds.name}/{entry.name}: built from {entry.source} (SHA-256 ok)")
        else:
            say(f"  {ds.name}/{entry.name}: downloading {entry.url}")
            download(str(entry.url), target, entry.sha256, entry.size, timeout=timeout)
            say(f"  {ds.name}/{entry.name}: done (SHA-256 ok)")
    _remove_sources(ds, folder, say)
    say(
        f"{ds.name}: {ds.title}\n  source:   {ds.repository} @ {ds.commit}\n  licence:  {ds.licence}\n"
        f"  citation: {ds.citation}"
    )
    return True


def select(registry: dict[str, Dataset], names: Sequence[str]) -> list[Dataset]:
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise FetchError(f"unknown dataset(s) {', '.join(unknown)}; known: {', '.join(sorted(registry))}")
    return [registry[n] for n in (names or sorted(registry))]


def cmd_fetch(datasets: Iterable[Dataset], dest: Path, force: bool, timeout: float) -> int:
    failed = []
    for ds in datasets:
        try:
            if not fetch_dataset(ds, dest, force=force, timeout=timeout):
                failed.append(ds.name)
        except FetchError as e:
            print(f"error: {e}", file=sys.stderr)
            failed.append(ds.name)
    if failed:
        print(f"not complete: {', '.join(failed)} (see above)", file=sys.stderr)
        return 1
    print(f"all requested datasets are in {dest}")
    return 0


def cmd_list(datasets: Iterable[Dataset], dest: Path) -> int:
    print(f"datasets in {dest}:")
    for ds in datasets:
        overall, files = dataset_state(ds, dest)
        have = sum(s == "present" for s in files.values())
        print(f"  {ds.name:<32} {overall:<8} {have}/{len(files)} files" + ("   (manual download)" if ds.manual else ""))
        for name, state in files.items():
            if state != "present":
                part = dest / ds.name / f"{name}.part"
                partial = (
                    f"   (partial download: {part.stat().st_size} bytes; fetch resumes it)" if part.is_file() else ""
                )
                print(f"      {state:<8} {name}{partial}")
    return 0
