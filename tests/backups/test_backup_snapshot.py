"""The daily snapshot: consistent under writes, integrity-checked, gzip, a true manifest, pruned."""

from __future__ import annotations

import gzip
import hashlib
import json
import socket
import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import editorial_assistant
from editorial_assistant.backups.snapshot import (
    list_dailies,
    manifest_path,
    prune_dailies,
    take_daily_snapshot,
    unpack_daily,
)
from editorial_assistant.db import connect, latest_version, transaction
from editorial_assistant.errors import NotReady
from tests.backups import backup_settings, make_jobs

NOW = datetime(2025, 3, 1, 2, 15, tzinfo=timezone.utc)


def test_a_snapshot_taken_while_a_writer_writes_holds_only_whole_transactions(
    tmp_path: Path,
) -> None:
    settings = backup_settings(tmp_path, init=False)
    conn = connect(settings.database_path)
    conn.execute("CREATE TABLE ledger (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL)")
    with transaction(conn):  # enough pages that a copy takes a while
        conn.executemany(
            "INSERT INTO ledger (amount) VALUES (?)", [(n,) for n in range(-1, 2)] * 60_000
        )
    stop, written = threading.Event(), [0]

    def writer() -> None:
        own = connect(settings.database_path)
        while not stop.is_set():  # each transaction adds +n and -n: the sum stays 0
            with transaction(own):
                own.execute("INSERT INTO ledger (amount) VALUES (?)", (written[0] + 1,))
                own.execute("INSERT INTO ledger (amount) VALUES (?)", (-written[0] - 1,))
            written[0] += 1
        own.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        taken = [
            take_daily_snapshot(conn, folder=settings.snapshot_dir, now=NOW + timedelta(seconds=s))
            for s in range(4)
        ]
    finally:
        stop.set()
        thread.join()
    counts = []
    for daily in taken:
        copy = tmp_path / f"{daily.path.name}.db"
        unpack_daily(daily.path, copy)
        check = sqlite3.connect(copy)
        count, total = check.execute("SELECT count(*), sum(amount) FROM ledger").fetchone()
        assert total == 0 and count % 2 == 0  # never half a transaction
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one file
        check.close()
        counts.append(count)
    assert written[0] > 0 and counts == sorted(counts) and counts[-1] > 180_000


def test_the_snapshot_is_gzip_beside_a_manifest_that_tells_the_truth(tmp_path: Path) -> None:
    settings = backup_settings(tmp_path, init=False)
    make_jobs(settings, 3)
    conn = connect(settings.database_path)
    daily = take_daily_snapshot(conn, folder=settings.snapshot_dir, now=NOW)
    assert daily.path.name == "daily-20250301T021500Z.db.gz"
    assert sorted(p.name for p in settings.snapshot_dir.iterdir()) == [
        "daily-20250301T021500Z.db.gz",
        "daily-20250301T021500Z.json",
    ]
    manifest = json.loads(manifest_path(daily.path).read_text(encoding="utf-8"))
    data = daily.path.read_bytes()
    assert data[:2] == b"\x1f\x8b" and manifest["compression"] == "gzip"
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["size_bytes"] == len(data) < manifest["database_bytes"]
    assert len(gzip.decompress(data)) == manifest["database_bytes"]
    assert manifest["app_version"] == editorial_assistant.__version__
    assert manifest["schema_version"] == latest_version()
    assert manifest["host"] == socket.gethostname()
    assert manifest["integrity_check"] == "ok"
    live = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("jobs", "outputs")}
    assert {t: manifest["row_counts"][t] for t in live} == live == {"jobs": 3, "outputs": 12}
    newest = conn.execute("SELECT max(created_at), max(updated_at) FROM jobs").fetchone()
    assert (manifest["newest_job_created_at"], manifest["newest_job_updated_at"]) == tuple(newest)


def test_pruning_keeps_thirty_days_and_always_the_newest(tmp_path: Path) -> None:
    settings = backup_settings(tmp_path, init=False)
    conn, folder = connect(settings.database_path), settings.snapshot_dir
    for days_ago in (45, 31, 29, 1):
        take_daily_snapshot(conn, folder=folder, now=NOW - timedelta(days=days_ago))
    removed = prune_dailies(folder, keep_days=30, now=NOW)
    assert removed == ["daily-20250115T021500Z.db.gz", "daily-20250129T021500Z.db.gz"]
    assert [when.day for when, _ in list_dailies(folder)] == [31, 28]
    assert len(list(folder.glob("*.json"))) == 2
    # Backups stopped for months: the newest daily stays whatever its age.
    assert prune_dailies(folder, keep_days=30, now=NOW + timedelta(days=400)) == [
        "daily-20250131T021500Z.db.gz"
    ]
    assert [path.name for _, path in list_dailies(folder)] == ["daily-20250228T021500Z.db.gz"]


def test_a_damaged_daily_is_refused_when_unpacked(tmp_path: Path) -> None:
    settings = backup_settings(tmp_path, init=False)
    daily = take_daily_snapshot(
        connect(settings.database_path), folder=settings.snapshot_dir, now=NOW
    )
    data = bytearray(daily.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    daily.path.write_bytes(bytes(data))
    with pytest.raises(NotReady, match="does not match its manifest"):
        unpack_daily(daily.path, tmp_path / "restored.db")
    assert not (tmp_path / "restored.db").exists()


def test_a_damaged_live_database_gives_no_snapshot(tmp_path: Path) -> None:
    settings = backup_settings(tmp_path, init=False)
    damage_an_index(settings.database_path)
    with pytest.raises(NotReady) as refused:
        take_daily_snapshot(connect(settings.database_path), folder=settings.snapshot_dir, now=NOW)
    assert refused.value.code == "snapshot_failed" and "malformed" in refused.value.message
    assert list(settings.snapshot_dir.iterdir()) == []  # no partial file left either


def damage_an_index(database: Path) -> None:
    """Scribble over one page of an index: SQLite still opens the file, integrity_check fails."""
    conn = connect(database)
    conn.execute("CREATE TABLE filler (id INTEGER PRIMARY KEY, word TEXT)")
    conn.execute("CREATE INDEX filler_word ON filler (word)")
    with transaction(conn):
        conn.executemany(
            "INSERT INTO filler (word) VALUES (?)", [(f"w{n:06d}",) for n in range(5000)]
        )
    page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'filler_word'").fetchone()[
        0
    ]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    with open(database, "r+b") as raw:
        raw.seek((page - 1) * size)
        raw.write(b"\x0d\xff\xff\x00\x07" + b"\xff" * 64)  # a table leaf's header, nonsense
