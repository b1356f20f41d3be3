"""``scripts/make-apt-repo`` as IT uses it: a signed repository that a machine installs from,
then upgrades from once the repository is rebuilt with the next package.

One container serves the whole module. It runs the client commands the script prints, verbatim,
and installs the current package; each test then rebuilds the repository (bound read-only at
``/srv/apt``) as it needs and checks what apt makes of it, from whatever version is installed
when it starts, so their order does not matter. Timings print with ``-s``. The refusals at the
end need no container: they build tiny packages of their own.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.system.nspawn import Container, save_journal, system_tools_missing
from tests.system.packages import build_tools_missing, built, skip_or_fail

pytestmark = [pytest.mark.system, pytest.mark.nspawn]

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make-apt-repo"
INDEX = Path("dists/stable/main/binary-amd64")
API = "editorial-assistant-api.service"
REPO_TOOLS = {"apt-ftparchive": "apt-utils", "gpg": "gnupg", "dpkg-deb": "dpkg"}
# The HTTP check keeps its own sources and lists, so the file: source stays as it is.
HTTP_APT = ["-o", "Dir::Etc::SourceList=/tmp/http.list", "-o", "Dir::Etc::SourceParts=-"]
HTTP_APT += ["-o", "Dir::State::Lists=/tmp/http-lists"]


@dataclass
class Client:
    """A booted machine whose apt trusts the repository that ``make`` (re)builds on the host."""

    box: Container
    repo: Path
    keys: Path
    first_update: str = ""
    first_version: str = ""

    def make(self, *debs: Path, url: str = "file:/srv/apt") -> str:
        """``scripts/make-apt-repo`` over the repository, with the same key every time."""
        argv = [str(SCRIPT), "--out", str(self.repo), "--key-dir", str(self.keys), "--url", url]
        done = subprocess.run([*argv, *map(str, debs)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def apt(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``apt-get ARGS`` inside, stdin closed so that a prompt would fail."""
        done = self.box.run(["apt-get", *args], input="", timeout=300, check=False)
        if check:
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return done

    def installed(self) -> str:
        """The installed version of the package."""
        query = ["dpkg-query", "-W", "-f=${Version}", "editorial-assistant"]
        return self.box.run(query).stdout

    def api_serving(self) -> str:
        """Wait for the API to run and answer /readyz; its main PID."""
        state = self.box.wait_for_unit(API, timeout=120, ActiveState="active", SubState="running")
        sock = "/run/editorial-assistant/api.sock"
        self.box.run(["curl", "-fsS", "--unix-socket", sock, "http://localhost/readyz"])
        return state["MainPID"]


def client_commands(printed: str) -> list[str]:
    """The commands the script tells IT to run on each machine, as it printed them."""
    return [line.strip() for line in printed.split("as root:\n", 1)[1].splitlines()]


def fingerprints(printed: str) -> list[str]:
    """The fingerprints of the keys that signed, as the script printed them."""
    signed = re.search(r"^Signed by (.+) \(key directory", printed, re.MULTILINE)
    assert signed, printed
    return signed.group(1).split(", ")


def deb_version(deb: Path) -> str:
    return subprocess.run(
        ["dpkg-deb", "--field", str(deb), "Version"], capture_output=True, text=True, check=True
    ).stdout.strip()


def tiny_deb(
    folder: Path, version: str, payload: str, package: str = "editorial-assistant"
) -> Path:
    """A minimal package (ours by name, unless told), built by dpkg-deb in a moment."""
    tree = folder / f"{package}-{version}-{payload}"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / f"usr/share/doc/{package}").mkdir(parents=True)
    (tree / f"usr/share/doc/{package}/payload").write_text(payload)
    control = f"Package: {package}\nVersion: {version}\nArchitecture: amd64\n"
    control += "Maintainer: Tests <dev@editorial-assistant.local>\nDescription: a test\n"
    (tree / "DEBIAN/control").write_text(control)
    deb = folder / f"{tree.name}.deb"
    subprocess.run(["dpkg-deb", "--build", str(tree), str(deb)], capture_output=True, check=True)
    return deb


def repo_tools_missing() -> str | None:
    missing = [tool for tool in REPO_TOOLS if shutil.which(tool) is None]
    packages = " ".join(REPO_TOOLS[tool] for tool in missing)
    return f"missing {', '.join(missing)} (apt install {packages})" if missing else None


@pytest.fixture(scope="module")
def current() -> Path:
    """The package built from this tree (the tools are checked first, to skip with a reason)."""
    reason = system_tools_missing() or build_tools_missing() or repo_tools_missing()
    if reason:
        skip_or_fail(reason)
    return built("current")


@pytest.fixture(scope="module")
def client(
    nspawn_base: Path,
    current: Path,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Client]:
    """A machine that followed the script's instructions and installed the current package."""
    work = tmp_path_factory.mktemp("apt")
    repo, keys = work / "repo", work / "keys"
    repo.mkdir()
    with Container(nspawn_base, binds_ro={repo: "/srv/apt"}) as box:
        machine = Client(box, repo, keys)
        started = time.monotonic()
        printed = machine.make(current)
        print(f"\nrepository built with a new key in {time.monotonic() - started:.1f} s")
        # No network in here: the image's Debian sources could only fail to update.
        box.run(["truncate", "-s", "0", "/etc/apt/sources.list"])
        fetch, show, add_source, _ = client_commands(printed)
        box.run(fetch)
        assert fingerprints(printed)[0] in box.run(show).stdout
        box.run(add_source)
        started = time.monotonic()
        update = machine.apt("update")
        machine.first_update = update.stdout + update.stderr
        machine.apt("install", "-y", "editorial-assistant")
        machine.first_version = machine.installed()
        print(f"apt-get update + install: {time.monotonic() - started:.1f} s")
        failed_before = request.session.testsfailed
        yield machine
        if request.session.testsfailed > failed_before:
            save_journal(box, name=f"{request.node.nodeid}-client")


def test_apt_verifies_the_signature_and_installs_the_package(client: Client, current: Path) -> None:
    assert "file:/srv/apt stable InRelease" in client.first_update
    for complaint in ("NO_PUBKEY", "not signed", "W:", "E:"):
        assert complaint not in client.first_update
    lists = client.box.run(["ls", "/var/lib/apt/lists"]).stdout.split()
    assert "_srv_apt_dists_stable_InRelease" in lists
    assert client.first_version == deb_version(current)
    client.api_serving()


def test_apt_refuses_a_packages_file_changed_after_signing(client: Client, current: Path) -> None:
    before = client.installed()
    next_deb = built("next")
    # A package this client has never seen makes the index new to it: apt fetches only what
    # changed, and would otherwise keep (rightly) the copy it already has.
    probe = tiny_deb(client.repo.parent, "1.0-1", "probe", package="ea-tamper-probe")
    client.make(current, next_deb, probe)
    # A version above everything, same length: the index's size still matches, its hash not.
    forged = deb_version(next_deb).replace("+next1", "+next9")
    packages = client.repo / INDEX / "Packages"
    text = packages.read_text().replace(f"Version: {deb_version(next_deb)}", f"Version: {forged}")
    packages.write_text(text)
    (client.repo / INDEX / "Packages.gz").write_bytes(gzip.compress(text.encode()))

    update = client.apt("update", check=False)
    assert update.returncode != 0
    assert "Hash Sum mismatch" in update.stdout + update.stderr
    assert forged not in client.box.run(["apt-cache", "policy", "editorial-assistant"]).stdout
    client.apt("upgrade", "-y")
    assert client.installed() == before


def test_a_rebuilt_repository_upgrades_the_package_and_keeps_the_old_one(
    client: Client, current: Path
) -> None:
    next_deb = built("next")
    old_pid = client.api_serving()
    started = time.monotonic()
    client.make(current, next_deb)
    client.apt("update")
    client.apt("install", "-y", "--only-upgrade", "editorial-assistant")
    assert client.installed() == deb_version(next_deb)
    assert client.api_serving() != old_pid
    print(f"rebuild + apt-get update + upgrade + API ready: {time.monotonic() - started:.1f} s")
    madison = client.box.run(["apt-cache", "madison", "editorial-assistant"]).stdout
    assert deb_version(current) in madison  # still there: a rollback is one install away


def test_the_same_repository_serves_over_http(client: Client, current: Path) -> None:
    printed = client.make(current, url="http://127.0.0.1:8080/")  # repairs a tampered index too
    server = ["python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", "/srv/apt"]
    client.box.run(["systemd-run", "--unit=apt-http", "--", *server, "8080"])
    probe = ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/"]
    client.box.wait_for(lambda: client.box.run(probe, check=False).returncode == 0, what="HTTP")
    fetch, show, add_source, _ = client_commands(printed)
    assert fetch.startswith("curl ")
    client.box.run(fetch)
    assert fingerprints(printed)[0] in client.box.run(show).stdout
    client.box.run(
        add_source.replace("/etc/apt/sources.list.d/editorial-assistant.list", "/tmp/http.list")
    )
    client.box.run(["mkdir", "-p", "/tmp/http-lists/partial", "/tmp/http-debs"])
    update = client.apt(*HTTP_APT, "update")
    assert "http://127.0.0.1:8080 stable InRelease" in update.stdout
    assert "W:" not in update.stdout + update.stderr
    wanted = f"editorial-assistant={deb_version(current)}"
    client.box.run(f"cd /tmp/http-debs && apt-get {' '.join(HTTP_APT)} download {wanted}")
    fetched = client.box.run("dpkg-deb --field /tmp/http-debs/*.deb Version").stdout
    assert fetched.strip() == deb_version(current)


# --- refusals, on the host ---------------------------------------------------------------------


def script(
    *argv: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(SCRIPT), *map(str, argv)]
    return subprocess.run(command, capture_output=True, text=True, env=env)


def refusal(*argv: str | Path, env: dict[str, str] | None = None) -> str:
    """Run the script expecting exit 2 and one line on stderr; return that line."""
    done = script(*argv, env=env)
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    return done.stderr


@pytest.fixture
def repo_tools() -> None:
    reason = repo_tools_missing()
    if reason:
        skip_or_fail(reason)


def test_it_refuses_to_run_without_a_deb(tmp_path: Path) -> None:
    assert "make deb" in refusal("--out", tmp_path / "repo")


def test_it_refuses_a_file_that_is_not_a_deb(tmp_path: Path, repo_tools: None) -> None:
    fake = tmp_path / "editorial-assistant_1.0-1_amd64.deb"
    fake.write_text("not an archive\n")
    said = refusal("--out", tmp_path / "repo", "--key-dir", tmp_path / "k", fake)
    assert "is not a Debian package" in said
    assert not (tmp_path / "k").exists()


def test_it_refuses_to_run_without_gpg(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("dpkg-deb", "apt-ftparchive"):
        found = shutil.which(tool)
        if found:
            os.symlink(found, bin_dir / tool)
    said = refusal(tmp_path / "x.deb", env={"PATH": str(bin_dir), "HOME": str(tmp_path)})
    assert "gpg is missing; install it with: sudo apt install gnupg" in said


def test_it_keeps_every_version_but_refuses_to_change_a_published_one(
    tmp_path: Path, repo_tools: None
) -> None:
    repo, keys = tmp_path / "repo", tmp_path / "keys"
    first, second = tiny_deb(tmp_path, "1.0-1", "a"), tiny_deb(tmp_path, "1.1-1", "b")
    for deb in (first, second):
        assert script("--out", repo, "--key-dir", keys, deb).returncode == 0
    packages = (repo / INDEX / "Packages").read_text()
    assert sorted(re.findall(r"^Version: (.+)$", packages, re.MULTILINE)) == ["1.0-1", "1.1-1"]
    said = refusal("--out", repo, "--key-dir", keys, tiny_deb(tmp_path, "1.0-1", "changed"))
    assert "editorial-assistant 1.0-1 is already in the repository with other contents" in said
