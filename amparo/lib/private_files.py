"""Directories and files that only the service's own user can read, whatever the process umask.

`Path.mkdir(mode=...)` and `open()` are filtered by the umask, and `mkdir(parents=True)` gives the
parents the default mode; a umask of 022 (the usual one) left the data directory, the SQLite file and
the evidence folders readable by every local user. These helpers set the mode explicitly.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path | str) -> Path:
    """Create `path` and any missing parents 0700. Directories that exist already are left as they are
    (an operator may have chosen their modes; `loose_permissions` reports them)."""
    path = Path(path)
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:  # created meanwhile by another process
            continue
        os.chmod(directory, DIR_MODE)
    return path


def private_file(path: Path | str) -> Path:
    """Create `path` empty with mode 0600 if it does not exist (so that a program that then opens it,
    such as SQLite, keeps that mode); an existing file is left alone."""
    path = Path(path)
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return path
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def open_private(path: Path | str, *, exclusive: bool = True):  # noqa: ANN201 - a binary file object
    """Open `path` for writing in binary, created 0600 (`exclusive`: fail if it exists)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        return os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise


def loose_permissions(path: Path | str) -> bool:
    """Whether other users (group or world) may read, write or enter `path`."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return False
    return bool(stat.S_IMODE(mode) & 0o077)
