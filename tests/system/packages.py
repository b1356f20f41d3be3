"""Building the .deb files the package tests install, once per source state.

A build takes a minute or two (the suite runs inside it), so each is cached under
``.cache/debs/<hash of the tracked files>/``: a test run after a code change builds afresh, a
second run of the same tree reuses it. The "next" package is the same tree with one more
migration and a higher version, as the next release would be.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "debs"
BUILD_TOOLS = ("dpkg-buildpackage", "dh", "dh_virtualenv")
NEXT_MIGRATION = """\
-- A migration that only the "next" test package carries: proves upgrades migrate exactly once.
CREATE TABLE upgrade_probe (id INTEGER PRIMARY KEY, note TEXT NOT NULL);
INSERT INTO upgrade_probe (note) VALUES ('migrated by the next package');
"""
NEXT_MIGRATION_NAME = "0900_upgrade_probe.sql"


def skip_or_fail(reason: str) -> None:
    """Skip a test that cannot run here, except in CI (``.ci/run`` sets EA_REQUIRE_SYSTEM_TESTS),
    where a missing tool must fail the run rather than quietly shrink it."""
    import os

    import pytest

    if os.environ.get("EA_REQUIRE_SYSTEM_TESTS") == "1":
        pytest.fail(f"required system test cannot run: {reason}")
    pytest.skip(reason)


def build_tools_missing() -> str | None:
    """Why packages cannot be built here, or None."""
    missing = [tool for tool in BUILD_TOOLS if shutil.which(tool) is None]
    if missing:
        names = ", ".join(missing)
        return f"cannot build the .deb: {names} missing (apt install debhelper dh-virtualenv)"
    return None


def source_hash() -> str:
    """A hash of every tracked (or new, unignored) file's path and content, tests excepted.

    The tests are not in the package (the build runs them, but they do not change what it
    installs), so editing a test does not cost a rebuild.
    """
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout.decode()
    digest = hashlib.sha256()
    for name in sorted(n for n in listed.split("\0") if n and not n.startswith("tests/")):
        path = REPO / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def built(kind: str) -> Path:
    """The current ("current") or next ("next") package, built if not cached yet."""
    folder = CACHE / source_hash() / kind
    with _locked(CACHE / f"{kind}.lock"):
        found = sorted(folder.glob("editorial-assistant_*.deb"))
        if found:
            return found[-1]
        shutil.rmtree(folder, ignore_errors=True)
        _wheelhouse()
        command = [sys.executable, str(REPO / "scripts" / "build-deb"), "--out", str(folder)]
        if kind == "next":
            migration = folder.parent / NEXT_MIGRATION_NAME
            migration.parent.mkdir(parents=True, exist_ok=True)
            migration.write_text(NEXT_MIGRATION, encoding="utf-8")
            command += ["--nocheck", "--extra-migration", str(migration)]
            command += ["--version", current_version() + "+next1"]
        log = CACHE / f"{kind}-build.log"
        with open(log, "wb") as out:
            done = subprocess.run(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        if done.returncode != 0:
            tail = log.read_text(errors="replace")[-4000:]
            raise RuntimeError(f"building the {kind} package failed (see {log}):\n{tail}")
        return sorted(folder.glob("editorial-assistant_*.deb"))[-1]


def current_version() -> str:
    """The Debian version scripts/build-deb gives this tree."""
    done = subprocess.run(
        [sys.executable, "-c", _VERSION],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


_VERSION = (
    "import importlib.machinery, importlib.util;"
    "loader = importlib.machinery.SourceFileLoader('b', 'scripts/build-deb');"
    "spec = importlib.util.spec_from_loader('b', loader);"
    "m = importlib.util.module_from_spec(spec); loader.exec_module(m);"
    "print(m.debian_version(m.app_version()))"
)


def _wheelhouse() -> None:
    subprocess.run(["make", "-s", "wheelhouse"], cwd=REPO, check=True, capture_output=True)


class _locked:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(path, "a")  # noqa: SIM115 - closed in __exit__

    def __enter__(self) -> None:
        fcntl.flock(self.handle, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()
