"""tfgbv.io: files get the mode the umask allows, whoever wrote them."""

import os

from tfgbv.io import current_umask, modes_as_umask_allows


def test_files_written_0600_get_the_mode_the_umask_allows(tmp_path):
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    weights, nested = folder / "model.safetensors", folder / "sub" / "w.bin"
    for p in (weights, nested):
        p.write_bytes(b"x")
        os.chmod(p, 0o600)
    os.chmod(folder / "sub", 0o700)
    (folder / "link").symlink_to(weights)
    old = os.umask(0o002)  # a group-shared service account's umask
    try:
        assert current_umask() == 0o002
        modes_as_umask_allows(folder)
    finally:
        os.umask(old)
    assert os.stat(weights).st_mode & 0o777 == 0o664 and os.stat(nested).st_mode & 0o777 == 0o664
    assert os.stat(folder / "sub").st_mode & 0o777 == 0o775
