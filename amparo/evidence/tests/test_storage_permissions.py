"""The local vault's folders and sealed files are private to the service's user whatever the umask."""

from __future__ import annotations

import os
import stat

from amparo.evidence import storage


def test_local_vault_folders_are_0700_and_files_0600_under_a_loose_umask(tmp_path):
    root = tmp_path / "evidence"
    previous = os.umask(0o022)
    try:
        with storage.LocalStorage(root).open_write("ab/cd/x1") as out:
            out.write(b"sealed")
    finally:
        os.umask(previous)
    for folder in (root, root / "ab", root / "ab" / "cd"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert stat.S_IMODE((root / "ab" / "cd" / "x1").stat().st_mode) == 0o600
