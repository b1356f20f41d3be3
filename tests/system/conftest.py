"""Fixtures for tests that boot systemd: one unpacked base image per session, a container per test.

A test that fails leaves its container's journal and console log in ``.cache/artifacts/``.
"""

from __future__ import annotations

import shutil
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from tests.system.nspawn import (
    Container,
    ensure_rootfs,
    save_journal,
    system_tools_missing,
    unpack_rootfs,
)
from tests.system.packages import build_tools_missing, built, skip_or_fail

REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the test, so fixtures can tell whether it failed."""
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report


@pytest.fixture(scope="session")
def nspawn_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The base image unpacked once; containers share it read-only through an overlay."""
    reason = system_tools_missing()
    if reason:
        skip_or_fail(reason)
    base = unpack_rootfs(ensure_rootfs(), tmp_path_factory.mktemp("nspawn") / "base")
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def container(nspawn_base: Path, request: pytest.FixtureRequest) -> Iterator[Container]:
    """A freshly booted container; its journal is saved as an artifact when the test fails."""
    with Container(nspawn_base) as booted:
        yield booted
        report = request.node.stash.get(REPORTS, {}).get("call")
        if report is not None and report.failed:
            save_journal(booted, name=request.node.nodeid)


@pytest.fixture(scope="module")
def deb() -> Path:
    """The package of this tree, built once (and cached by the tree's contents)."""
    reason = system_tools_missing() or build_tools_missing()
    if reason:
        skip_or_fail(reason)
    return built("current")


@pytest.fixture
def installed(nspawn_base: Path, deb: Path, request: pytest.FixtureRequest) -> Iterator[Container]:
    """A container with the package installed and a ``sudo`` stand-in, as the guides use."""
    from tests.system.test_package import SUDO_SHIM, install

    with Container(nspawn_base, binds_ro={deb.parent: "/debs/current"}) as booted:
        install(booted, {"current": deb}, "current")
        booted.run("cat > /usr/local/bin/sudo && chmod 0755 /usr/local/bin/sudo", input=SUDO_SHIM)
        yield booted
        report = request.node.stash.get(REPORTS, {}).get("call")
        if report is not None and report.failed:
            save_journal(booted, name=request.node.nodeid)
