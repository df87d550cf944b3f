"""Files on disk: the project's one atomic writer (unique temp file, fsync, rename) and content hashes.

Every file tfgbv writes goes through `atomic_write` (or the write_* helpers on top of it): readers see the old file or
the new one, never half of one, and two writers never share a temp file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import stat
from pathlib import Path
from typing import IO, Any, Iterable, Iterator, Mapping

import numpy as np


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def create_temp(path: Path) -> tuple[int, Path]:
    """A new, uniquely named temp file next to `path`, opened for writing.

    O_CREAT | O_EXCL never opens an existing file or follows a pre-created symlink, and the name carries the pid and a
    random part, so two processes (or two writers in one) never share a temp file."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = path.with_name(f".{path.name[:180]}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp  # 0o666 & umask: the same mode as an ordinary new file
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temp file next to {path}")


class NotOwnFileError(OSError):
    """A path to be written is a symlink, FIFO, device, directory or a hard link to another file: never written
    through."""


def open_own_file(path: Path, flags: int) -> int:
    """Open `path` (os.open `flags`, e.g. O_WRONLY | O_CREAT | O_APPEND) only if it is a regular file of its own.

    For files with a fixed name that must survive between runs (a resumable download's .part), where `create_temp`'s
    unique names do not fit: O_NOFOLLOW refuses a symlink planted at the name (also a dangling one, which O_CREAT would
    otherwise create through), O_NONBLOCK keeps a FIFO from hanging the open, and after opening anything but a regular
    file with one link (a device, a FIFO, a hard link to a victim file) is refused.
    """
    extra = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags | extra, 0o666)
    except OSError as err:
        if os.path.islink(path) or not (os.path.isfile(path) or not os.path.lexists(path)):
            raise NotOwnFileError(
                f"{path}: not a regular file (a symlink or special file); not written through"
            ) from err
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
        os.close(fd)
        kind = "a hard link to another file" if stat.S_ISREG(st.st_mode) else "not a regular file"
        raise NotOwnFileError(f"{path}: {kind}; not written through")
    return fd


def fsync_dir(directory: Path) -> None:
    """Make a rename durable (a crash right after it must not bring back the old file)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some filesystems cannot fsync a directory
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def _renamed_over(tmp: Path, path: Path) -> Iterator[None]:
    """Around writing `tmp`: on success rename it over `path` and make the rename durable; on any error remove it
    (`path` is untouched)."""
    try:
        yield
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


@contextlib.contextmanager
def atomic_write(path: str | Path, binary: bool = False, newline: str | None = None) -> Iterator[IO]:
    """Write `path` atomically: yields a file object on a unique temp file in the same directory; on success it is
    fsynced and renamed over `path` (readers see the old or the new file, never half of one); on any error the temp
    file is removed and `path` is untouched. The project's one atomic writer."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_temp(path)
    with _renamed_over(tmp, path):
        with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline=newline) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = ".tmp") -> Iterator[Path]:
    """For writers that need a file name rather than a file object (ONNX export, quantisation): yields a unique,
    not yet existing path next to `path`; on success the file there is fsynced and renamed over `path`, on error it is
    removed. `suffix` keeps the extension a library may insist on."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_temp(path)
    os.close(fd)
    os.unlink(tmp)  # a unique name; the library creates the file itself
    tmp = tmp.with_name(tmp.name + suffix)
    with _renamed_over(tmp, path):
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write bytes atomically (see atomic_write)."""
    with atomic_write(path, binary=True) as fh:
        fh.write(data)


def write_jsonl(path: str | Path, records: Iterable[Mapping[str, Any]]) -> None:
    """Write JSONL atomically (see atomic_write)."""
    with atomic_write(path) as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")


def write_text(path: str | Path, text: str) -> None:
    """Write text atomically (see atomic_write)."""
    with atomic_write(path) as fh:
        fh.write(text)


def write_json(path: str | Path, obj: Any) -> None:
    """Write JSON atomically (see atomic_write)."""
    write_text(path, json.dumps(obj, ensure_ascii=False, indent=2, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def current_umask() -> int:
    """This process's umask (read without changing it where /proc says it; else set and restored at once)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def modes_as_umask_allows(root: str | Path) -> None:
    """Give `root` and everything under it the mode a new file or folder gets here (0o666 / 0o777 less the umask).

    Some writers ignore the umask (safetensors writes weights 0600, tempfile.mkdtemp makes 0700 folders), which leaves
    a run's weights unreadable to a service account that can read the rest of it. Symbolic links are left alone."""
    mask = current_umask()
    root = Path(root)
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~mask)
