"""One backup, drill or restore at a time: a lock on ``backup.lock`` in the data folder.

A manual run beside the timer's, or a drill while the daily backup runs, waits a little and is
then refused with ``backup_running``; ``backup_running`` tells status pages whether one holds it.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from editorial_assistant.errors import Conflict


@contextmanager
def exclusive(data_dir: Path, *, wait: float = 3) -> Iterator[None]:
    """One backup at a time (a manual run beside the timer's), by a lock on a file; waits a
    little, since ``backup_running`` holds it for an instant."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "backup.lock", "a") as handle:
        deadline = time.monotonic() + wait
        while not _try_lock(handle):
            if time.monotonic() > deadline:
                hint = "Wait for it: systemctl status editorial-assistant-backup.service"
                raise Conflict("Another backup is running.", code="backup_running", hint=hint)
            time.sleep(0.2)
        yield  # closing the file releases the lock


def backup_running(data_dir: Path) -> bool:
    """Whether a backup holds the lock now."""
    try:
        with open(data_dir / "backup.lock") as handle:
            return not _try_lock(handle)
    except FileNotFoundError:
        return False


def _try_lock(handle: Any) -> bool:
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
