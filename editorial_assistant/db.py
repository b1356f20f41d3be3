"""SQLite discipline in one place: connections, transactions and forward-only migrations.

Every connection uses WAL, ``busy_timeout`` 10 s, ``foreign_keys=ON`` and ``synchronous=NORMAL``;
writes go through ``transaction()``, which opens ``BEGIN IMMEDIATE`` so writers queue on the lock
instead of failing half-way. Migrations are numbered SQL files in ``migrations/``; the applied
version lives in ``PRAGMA user_version``. A database newer than the code refuses to be used.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

from editorial_assistant.errors import NotReady, SchemaTooNew

BUSY_TIMEOUT_MS = 10_000
MIGRATION_BUSY_TIMEOUT_MS = 60_000


def utcnow() -> datetime:
    """The current time in UTC; services take it as ``now`` so tests can pass their own."""
    return datetime.now(timezone.utc)


def timestamp(moment: datetime) -> str:
    """How times are stored: ISO 8601 UTC with milliseconds, sortable as text."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def connect(path: Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> sqlite3.Connection:
    """Open a connection with the project's pragmas; the caller owns and closes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_ms / 1000
    )
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction taken with ``BEGIN IMMEDIATE``; rolled back on any exception.

    Inside another transaction it is a savepoint, so a front door can wrap a service call and
    its audit entry in one transaction while the service keeps its own ``transaction()``.
    """
    if conn.in_transaction:
        with _savepoint(conn):
            yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextmanager
def _savepoint(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("SAVEPOINT nested")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK TO nested")
        conn.execute("RELEASE nested")
        raise
    conn.execute("RELEASE nested")


class Database:
    """Connections to one database file: one per thread, or one lent per request.

    A connection is never used by two threads at once. Worker threads keep their own
    (``conn()``); HTTP requests borrow one for the whole request (``borrow()``), because a
    framework may run a request's dependencies and its handler on different threads.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()

    @contextmanager
    def borrow(self) -> Iterator[sqlite3.Connection]:
        """An idle connection (or a new one) for the caller's exclusive use."""
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = connect(self.path)
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._idle.put(conn)

    def conn(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self.path)
        return conn

    def close(self) -> None:
        """Close this thread's connection, if any."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, SQL) for every migration shipped in the package, in order."""
    found = []
    for entry in resources.files("editorial_assistant.migrations").iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def latest_version() -> int:
    """The schema version this code knows."""
    return migrations()[-1][0]


def schema_version(conn: sqlite3.Connection) -> int:
    """The schema version recorded in the database."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(path: Path, *, snapshot_dir: Path | None = None) -> list[str]:
    """Apply every pending migration in one transaction; return the names applied.

    With ``snapshot_dir``, a database that already holds data is first copied there with SQLite's
    backup API (and checked), so an upgrade that goes wrong can be undone by restoring it.
    """
    conn = connect(path, busy_timeout_ms=MIGRATION_BUSY_TIMEOUT_MS)
    try:
        current = schema_version(conn)
        _refuse_newer(current)
        if snapshot_dir and current and current < latest_version():
            name = f"pre-migrate-{current:04d}-to-{latest_version():04d}-{_stamp()}.db"
            snapshot_database(conn, snapshot_dir / name)
            _prune(snapshot_dir, "pre-migrate-*.db", keep=KEEP_MIGRATION_SNAPSHOTS)
        with transaction(conn):
            current = schema_version(conn)
            _refuse_newer(current)
            pending = [m for m in migrations() if m[0] > current]
            for version, _name, sql in pending:
                for statement in _statements(sql):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {version}")
        if pending:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return [name for _v, name, _sql in pending]
    finally:
        conn.close()


# Pre-migration snapshots kept in the snapshot folder (older ones are deleted).
KEEP_MIGRATION_SNAPSHOTS = 5


def snapshot_database(conn: sqlite3.Connection, dest: Path) -> Path:
    """A consistent copy of the open database at ``dest``, checked with ``integrity_check``.

    Written beside ``dest`` and renamed into place, so a half-written snapshot never exists.
    """
    dest.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    target = sqlite3.connect(partial)
    try:
        conn.backup(target)
        verdict = target.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        target.close()
    if verdict != "ok":
        partial.unlink(missing_ok=True)
        raise NotReady(
            f"The snapshot {dest.name} failed SQLite's integrity check: {verdict}",
            code="snapshot_failed",
            hint="The live database may be damaged; restore the latest backup before migrating.",
        )
    partial.replace(dest)
    return dest


def _stamp() -> str:
    return utcnow().strftime("%Y%m%dT%H%M%SZ")


def _prune(folder: Path, pattern: str, *, keep: int) -> None:
    for old in sorted(folder.glob(pattern))[:-keep]:
        old.unlink(missing_ok=True)


def check_schema(conn: sqlite3.Connection) -> None:
    """Refuse to run against a database that is behind or ahead of this code."""
    current = schema_version(conn)
    _refuse_newer(current)
    if current < latest_version():
        raise NotReady(
            f"The database schema is at version {current}; this code needs {latest_version()}.",
            code="schema_outdated",
            hint="Run `editorial-assistant migrate`.",
        )


def _refuse_newer(current: int) -> None:
    if current > latest_version():
        raise SchemaTooNew(
            f"The database schema is at version {current}, newer than this version of "
            f"editorial-assistant knows ({latest_version()}): a newer version wrote it. "
            "Refusing to start rather than damage it."
        )


def _statements(sql: str) -> Iterator[str]:
    buffer = ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                yield buffer.strip()
            buffer = ""
    if buffer.strip() and not buffer.strip().startswith("--"):
        yield buffer.strip()
