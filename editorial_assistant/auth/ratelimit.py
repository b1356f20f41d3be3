"""Rate limits that every gunicorn worker shares, kept in a small SQLite file of their own.

The algorithm is GCRA (the generic cell rate algorithm, a leaky bucket that stores one number per
key: the "theoretical arrival time"). A limit of N per S seconds lets a burst of N through after a
quiet spell, then one more every S/N seconds: N per S over the long run, never more than N at
once, and at most 2N-1 in any span of S seconds (the burst plus the steady trickle). There is no
window edge where 2N slip through at once, and a refusal says exactly when to come back. Each
decision is one ``BEGIN IMMEDIATE`` transaction, so every worker process and thread sees the same
counts. The file is not the app database: Litestream replicates that one, and counters must not
churn the replica. Keys whose arrival time has passed carry no information and are deleted about
once a minute. A limiter that cannot read or write its file **fails open**: it lets requests
through and logs one WARNING a minute, rather than take the API down with it.
"""

from __future__ import annotations

import logging
import math
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from editorial_assistant.db import connect

log = logging.getLogger(__name__)
PERIODS = {
    "second": 1,
    "minute": 60,
    "hour": 3600,
    "day": 86400,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
}
LIMIT_FORM = re.compile(r"\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*")
ALLOWED_FORMS = "COUNT/PERIOD, e.g. 10/minute, 600/hour, 5/second, 30/day or 20/15s"
# Float arithmetic on S/N must not refuse the N-th request of a burst by a rounding error.
SLACK = 1e-6
PRUNE_EVERY_SECONDS = 60.0
WARN_EVERY_SECONDS = 60.0
# A limiter waits this long for another worker's transaction before failing open.
BUSY_TIMEOUT_MS = 5000
# How long a writer naps between tries for the lock. SQLite's own busy handler naps 1, 2, 5,
# 10 … 100 ms, which under 50 concurrent requests turned a 0.1 ms write into p99 waits of a
# second; the lock is held for microseconds, so short naps serve everyone sooner.
RETRY_NAP_SECONDS = 0.0005
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS buckets (key TEXT PRIMARY KEY, tat REAL NOT NULL) WITHOUT ROWID"
)


@dataclass(frozen=True)
class Limit:
    """At most ``count`` requests per ``seconds`` (with GCRA's burst of ``count``)."""

    count: int
    seconds: float

    def __post_init__(self) -> None:
        if self.count < 1 or self.seconds <= 0:
            raise ValueError(f"{self} is not a rate limit: count and seconds must be positive.")

    @classmethod
    def parse(cls, text: str) -> Limit:
        """Read ``10/minute``, ``600/hour``, ``5/second``, ``30/day`` or ``20/15s``."""
        match = LIMIT_FORM.fullmatch(text.lower())
        count, multiple, unit = (match[1], match[2] or "1", match[3]) if match else ("0", "0", "")
        if int(count) < 1 or int(multiple) < 1 or unit not in PERIODS:
            raise ValueError(f"{text!r} is not a rate limit: use {ALLOWED_FORMS}.")
        return cls(count=int(count), seconds=int(multiple) * PERIODS[unit])

    @property
    def interval(self) -> float:
        """Seconds between requests at the steady rate."""
        return self.seconds / self.count


@dataclass(frozen=True)
class Decision:
    """Whether a request may go ahead; when not, how many whole seconds until one may."""

    allowed: bool
    retry_after: int
    remaining: int


def gcra(*, now: float, tat: float | None, limit: Limit) -> tuple[Decision, float | None]:
    """The decision on one more request, and the key's arrival time afterwards."""
    # A clock that stepped back must not lock a key for longer than one period.
    start = max(min(tat, now + limit.seconds) if tat is not None else now, now)
    new_tat = start + limit.interval
    allow_at = new_tat - limit.seconds
    if allow_at - now > SLACK:
        wait = max(1, math.ceil(allow_at - now - SLACK))
        return Decision(allowed=False, retry_after=wait, remaining=0), tat
    remaining = int((now - allow_at) / limit.interval + SLACK)
    return Decision(allowed=True, retry_after=0, remaining=remaining), new_tat


@contextmanager
def _write(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` retried with short naps until ``BUSY_TIMEOUT_MS``, then committed."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(RETRY_NAP_SECONDS)
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _create(path: Path) -> None:
    """Make the file, already in WAL mode and with its table, unless it exists.

    Workers that open a new file at once would otherwise race to switch it to WAL, and SQLite
    answers that race with "database is locked" at once, without waiting.
    """
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.new")
    conn = connect(partial)
    try:
        conn.execute(SCHEMA)
    finally:
        conn.close()
    try:
        os.link(partial, path)  # unlike a rename, never replaces a file another worker made
    except FileExistsError:
        pass
    finally:
        partial.unlink()


class RateLimiter:
    """GCRA counters in one SQLite file, shared by every process and thread that opens it.

    Use one key for one limit (``login:alice``, ``api:203.0.113.9``). ``hit`` counts a request;
    ``peek`` asks without counting (to refuse a locked account before checking its password);
    ``reset`` forgets a key (an admin unlock).
    """

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._local = threading.local()
        self._next_prune = 0.0
        self._next_warning = 0.0

    def hit(self, key: str, limit: Limit) -> Decision:
        """Count one request against ``key``; refused requests are not counted."""
        return self._decide(key, limit, count=True)

    def peek(self, key: str, limit: Limit) -> Decision:
        """Whether a request against ``key`` would be let through now, without counting it."""
        decision = self._decide(key, limit, count=False)
        return Decision(
            allowed=decision.allowed,
            retry_after=decision.retry_after,
            remaining=decision.remaining + 1 if decision.allowed else 0,
        )

    def hit_all(self, keys: list[str], limit: Limit) -> Decision:
        """Count one request against every key at once, in one transaction; if any key is
        over its limit, none is counted and the longest wait is returned."""
        now = self._clock()
        try:
            conn = self._conn()
            with _write(conn):
                decisions = [self._apply(conn, key, limit, now=now, count=False) for key in keys]
                refused = [d for d in decisions if not d.allowed]
                if refused:
                    return max(refused, key=lambda d: d.retry_after)
                for key in keys:
                    self._apply(conn, key, limit, now=now, count=True)
            self._prune(conn, now=now)
        except (sqlite3.Error, OSError) as exc:
            self._warn(exc, now=now)
            return Decision(allowed=True, retry_after=0, remaining=limit.count - 1)
        return min(decisions, key=lambda d: d.remaining)

    def reset(self, key: str) -> None:
        """Forget ``key``'s history, so its whole burst is available again (raises on failure)."""
        with _write(self._conn()) as conn:
            conn.execute("DELETE FROM buckets WHERE key = ?", (key,))

    def _decide(self, key: str, limit: Limit, *, count: bool) -> Decision:
        now = self._clock()
        try:
            conn = self._conn()
            if not count:  # a plain read: never waits for the write lock (WAL)
                return self._apply(conn, key, limit, now=now, count=False)
            with _write(conn):
                decision = self._apply(conn, key, limit, now=now, count=count)
            self._prune(conn, now=now)
        except (sqlite3.Error, OSError) as exc:
            self._warn(exc, now=now)
            return Decision(allowed=True, retry_after=0, remaining=limit.count - 1)
        return decision

    def _apply(
        self, conn: sqlite3.Connection, key: str, limit: Limit, *, now: float, count: bool
    ) -> Decision:
        row = conn.execute("SELECT tat FROM buckets WHERE key = ?", (key,)).fetchone()
        decision, tat = gcra(now=now, tat=row[0] if row else None, limit=limit)
        if count and decision.allowed:
            conn.execute(
                "INSERT INTO buckets (key, tat) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET tat = excluded.tat",
                (key, tat),
            )
        return decision

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use (and again after a fork)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            _create(self.path)
            conn = connect(self.path, busy_timeout_ms=0)
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _prune(self, conn: sqlite3.Connection, *, now: float) -> None:
        """About once a minute per process, delete keys that are back to a full burst."""
        if now < self._next_prune:
            return
        self._next_prune = now + PRUNE_EVERY_SECONDS
        with _write(conn):
            conn.execute("DELETE FROM buckets WHERE tat <= ?", (now,))

    def _warn(self, exc: BaseException, *, now: float) -> None:
        if now < self._next_warning:
            return
        self._next_warning = now + WARN_EVERY_SECONDS
        log.warning(
            "rate limits are not enforced: %s cannot be used (%s); letting requests through",
            self.path,
            exc,
        )

    def close(self) -> None:
        """Close this thread's connection, if any."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
