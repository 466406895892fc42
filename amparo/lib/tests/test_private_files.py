"""Private directories and files: modes set explicitly, whatever the process umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from amparo.lib.private_files import loose_permissions, open_private, private_dir, private_file


@pytest.fixture
def loose_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_private_dir_creates_every_missing_parent_0700(tmp_path: Path, loose_umask: None) -> None:
    target = private_dir(tmp_path / "a" / "b" / "c")
    assert [_mode(p) for p in (tmp_path / "a", tmp_path / "a" / "b", target)] == [0o700] * 3


def test_private_dir_leaves_an_existing_directory_alone(tmp_path: Path, loose_umask: None) -> None:
    (tmp_path / "shared").mkdir(mode=0o755)
    private_dir(tmp_path / "shared")
    assert _mode(tmp_path / "shared") == 0o755
    assert loose_permissions(tmp_path / "shared")


def test_private_file_is_created_empty_0600_and_never_truncated(tmp_path: Path, loose_umask: None) -> None:
    path = private_file(tmp_path / "db" / "file")
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    path.write_bytes(b"kept")
    private_file(path)
    assert path.read_bytes() == b"kept"
    assert not loose_permissions(path)


def test_open_private_writes_0600_and_refuses_an_existing_file(tmp_path: Path, loose_umask: None) -> None:
    with open_private(tmp_path / "f") as handle:
        handle.write(b"x")
    assert _mode(tmp_path / "f") == 0o600
    with pytest.raises(FileExistsError):
        open_private(tmp_path / "f")
    with open_private(tmp_path / "f", exclusive=False) as handle:
        handle.write(b"y")
    assert (tmp_path / "f").read_bytes() == b"y"
