"""Booting a real systemd in systemd-nspawn containers for system tests.

``rootfs.sh`` provisions a Debian 12 base image; ``ensure_rootfs`` caches it as a ``tar.zst`` keyed
on the script's hash, a test session unpacks it once, and each ``Container`` boots a throwaway
systemd on that shared directory (``--volatile=overlay`` leaves it untouched) in its own cgroup,
with no network, driven through ``nsenter``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, TypeVar

T = TypeVar("T")

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ROOTFS_SCRIPT = HERE / "rootfs.sh"
ARTIFACTS = REPO / ".cache" / "artifacts"
CGROUP_ROOTS = (Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup/systemd"))
HOST_TOOLS = ("systemd-nspawn", "debootstrap", "zstd", "nsenter", "setpriv", "tar")
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Host tools and the container see none of the test runner's environment (venv, pyenv, EA_*).
CLEAN_ENV = {"PATH": SYSTEM_PATH, "LANG": "C.UTF-8", "HOME": "/root", "TERM": "dumb"}
PASSED_THROUGH = ("http_proxy", "https_proxy", "no_proxy", "DEBIAN_MIRROR")
TAR_FLAGS = ["--numeric-owner", "--xattrs", "--xattrs-include=*", "-I", "zstd -T0"]
UNIT_PROPERTIES = ("ActiveState", "SubState", "Result", "NRestarts", "MainPID")
BOOTED = ("running", "degraded")
# systemd boots here only with both --register=no and --keep-unit; the overlay keeps the shared
# base untouched; the private network is loopback only, so ports never clash.
NSPAWN_FLAGS = ["--boot", "--register=no", "--keep-unit", "--volatile=overlay", "--private-network"]
NSPAWN_FLAGS += ["--link-journal=no", "--console=read-only"]


class CommandFailed(subprocess.CalledProcessError):
    """A command inside a container exited non-zero; the message carries its output."""

    def __str__(self) -> str:
        return f"{super().__str__()}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"


class ContainerError(RuntimeError):
    """The container did not boot, or died under a test."""


def system_tools_missing() -> str | None:
    """Why the harness cannot run on this machine, or None when it can."""
    if os.geteuid() != 0:
        return "systemd-nspawn tests need root"
    missing = [tool for tool in HOST_TOOLS if shutil.which(tool, path=SYSTEM_PATH) is None]
    if missing:
        needed = "apt install systemd-container debootstrap zstd"
        return f"missing host tools: {' '.join(missing)} ({needed})"
    absent = [str(root) for root in CGROUP_ROOTS if not (root / "cgroup.procs").exists()]
    if absent:
        return f"no cgroup hierarchy at {' '.join(absent)} (the harness needs the hybrid layout)"
    return None


def wait_for(predicate: Callable[[], T], *, timeout: float, what: str, interval: float = 0.05) -> T:
    """Poll ``predicate`` until it returns something truthy, and return that; else TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"timed out after {timeout:g} s waiting for {what} (last: {value!r})"
            )
        time.sleep(interval)


# --- the base image ---------------------------------------------------------------------------


def cache_dir() -> Path:
    """Where built images live: ``$EA_ROOTFS_CACHE``, else ``<repo>/.cache/rootfs``."""
    return Path(os.environ.get("EA_ROOTFS_CACHE") or REPO / ".cache" / "rootfs")


def rootfs_hash() -> str:
    """The cache key: a hash of ``rootfs.sh``, so editing the script rebuilds the image."""
    return hashlib.sha256(ROOTFS_SCRIPT.read_bytes()).hexdigest()[:16]


def ensure_rootfs() -> Path:
    """The cached ``rootfs-<hash>.tar.zst`` for the current ``rootfs.sh``, built when missing."""
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    tarball = folder / f"rootfs-{rootfs_hash()}.tar.zst"
    if tarball.exists():  # only ever appears complete, by rename
        return tarball
    with open(folder / "build.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # waits while another pytest process builds it
        if not tarball.exists():
            _build_rootfs(tarball)
    return tarball


def unpack_rootfs(tarball: Path, dest: Path) -> Path:
    """Unpack a base image into ``dest`` (created if needed) and return ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    _host(["tar", "-C", str(dest), *TAR_FLAGS, "-xf", str(tarball)], timeout=300)
    return dest


def _build_rootfs(tarball: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=tarball.parent))
    log = tarball.parent / f"{tarball.name.removesuffix('.tar.zst')}.build.log"
    log.write_bytes(b"")
    try:
        tree, partial = work / "root", work / "rootfs.tar.zst"
        _host(["bash", str(ROOTFS_SCRIPT), str(tree)], log=log, timeout=1800)
        _host(["tar", "-C", str(tree), *TAR_FLAGS, "-cf", str(partial), "."], log=log, timeout=600)
        os.replace(partial, tarball)
    finally:  # --one-file-system: never into a /proc a killed debootstrap left mounted
        subprocess.run(["rm", "-rf", "--one-file-system", str(work)], check=False)


def _host(argv: list[str], *, timeout: float, log: Path | None = None) -> None:
    env = {**CLEAN_ENV, **{k: v for k, v in os.environ.items() if k in PASSED_THROUGH}}
    with open(log or os.devnull, "ab") as out:
        result = subprocess.run(
            argv, env=env, stdout=out, stderr=subprocess.PIPE, timeout=timeout, check=False
        )
        out.write(result.stderr)
    if result.returncode != 0:
        tail = log.read_text(errors="replace")[-4000:] if log else result.stderr.decode()
        raise RuntimeError(f"{' '.join(argv)} exited {result.returncode}\n{tail}")


# --- containers -------------------------------------------------------------------------------


class Container:
    """A booted systemd on a shared base directory; closing it always kills it and its cgroups."""

    def __init__(
        self,
        base: Path,
        *,
        binds_ro: Mapping[Path | str, str] | None = None,
        extra_args: Sequence[str] = (),
        boot_timeout: float = 60.0,
    ) -> None:
        self.base = base
        self.name = f"ea-{uuid.uuid4().hex[:12]}"
        self.binds_ro = {str(host): inside for host, inside in (binds_ro or {}).items()}
        self.extra_args = list(extra_args)
        self.boot_timeout = boot_timeout
        self.cgroups = [root / self.name for root in CGROUP_ROOTS]
        self.console_log = Path(tempfile.gettempdir()) / f"{self.name}.console.log"
        self.pid1 = 0
        self._state = ""
        self._pidfd: int | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Container:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        """Boot the container and wait until systemd reports it running (or degraded)."""
        for cgroup in self.cgroups:
            cgroup.mkdir()
        with open(self.console_log, "wb") as console:
            self._process = subprocess.Popen(
                self._launch_command(),
                env={**CLEAN_ENV, "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY": "1"},
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self.pid1 = wait_for(self._find_pid1, timeout=self.boot_timeout, what="PID 1")
            self._pidfd = os.pidfd_open(self.pid1)
            wait_for(self._booted, timeout=self.boot_timeout, what="systemd to finish booting")
        except TimeoutError as error:
            state = f"systemctl is-system-running: {self._state or '(no answer)'}"
            raise ContainerError(f"{self.name}: {error}\n{state}\n{self._console_tail()}") from None

    def _launch_command(self) -> list[str]:
        # The wrapper moves itself into the container's own cgroups, then becomes nspawn; should
        # the test runner die, nspawn gets SIGTERM and powers the container off.
        enter_cgroups = 'echo $$ >"$1" && echo $$ >"$2" && shift 2 && exec "$@"'
        procs = [str(cgroup / "cgroup.procs") for cgroup in self.cgroups]
        binds = [f"--bind-ro={host}:{inside}" for host, inside in self.binds_ro.items()]
        where = [f"--machine={self.name}", f"--directory={self.base}", *binds, *self.extra_args]
        orphan_guard = ["setpriv", "--pdeathsig=TERM", "--"]
        nspawn = ["systemd-nspawn", *NSPAWN_FLAGS, *where]
        return ["sh", "-c", enter_cgroups, "sh", *procs, *orphan_guard, *nspawn]

    def _find_pid1(self) -> int:
        """The nspawn child that is PID 1 in its own PID namespace; 0 while there is none yet."""
        self._check_alive()
        assert self._process is not None
        children = Path(f"/proc/{self._process.pid}/task/{self._process.pid}/children")
        try:
            pids = children.read_text().split()
        except FileNotFoundError:  # nspawn just exited; the next poll reports it
            return 0
        for pid in pids:
            with contextlib.suppress(FileNotFoundError):
                status = Path(f"/proc/{pid}/status").read_text()
                if re.search(r"^NSpid:\s+\d+\s+1$", status, re.MULTILINE):
                    return int(pid)
        return 0

    def _booted(self) -> str:
        self._check_alive()
        said = self.run(["systemctl", "is-system-running"], check=False, timeout=10)
        self._state = said.stdout.strip() or said.stderr.strip()
        if self._state in ("maintenance", "stopping"):
            raise ContainerError(f"{self.name} is {self._state}\n{self._console_tail()}")
        return self._state if self._state in BOOTED else ""

    def _check_alive(self) -> None:
        if self._process is None or self._process.poll() is not None:
            raise ContainerError(f"{self.name}: systemd-nspawn exited\n{self._console_tail()}")

    def _console_tail(self) -> str:
        text = self.console_log.read_text(errors="replace") if self.console_log.exists() else ""
        return f"--- console of {self.name} ---\n{text[-6000:]}"

    # --- talking to the booted system ---------------------------------------------------------

    def _nsenter(self, argv: Sequence[str]) -> list[str]:
        if not self.pid1:
            raise ContainerError(f"{self.name} is not running")
        namespaces = ["-m", "-u", "-i", "-n", "-p", "-r", "-w"]
        return ["nsenter", "-t", str(self.pid1), *namespaces, "--", *argv]

    def run(
        self,
        cmd: Sequence[str] | str,
        *,
        check: bool = True,
        timeout: float = 60.0,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside (a string goes through ``/bin/sh -c``) and capture its output."""
        argv = ["/bin/sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        data = None if input is None else input.encode()
        done = self._exec(argv, check=check, timeout=timeout, input=data)
        return subprocess.CompletedProcess(
            argv, done.returncode, _text(done.stdout), _text(done.stderr)
        )

    def _exec(
        self,
        argv: list[str],
        *,
        check: bool = True,
        timeout: float = 60.0,
        input: bytes | None = None,
        stdin: IO[bytes] | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        done = subprocess.run(
            self._nsenter(argv),
            env=CLEAN_ENV,
            input=input,
            stdin=stdin,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise CommandFailed(done.returncode, argv, _text(done.stdout), _text(done.stderr))
        return done

    def systemctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``systemctl ARGS`` inside the container."""
        return self.run(["systemctl", "--no-pager", *args], check=check)

    def unit_state(self, unit: str) -> dict[str, str]:
        """ActiveState, SubState, Result, NRestarts and MainPID of ``unit``."""
        shown = self.systemctl("show", f"--property={','.join(UNIT_PROPERTIES)}", "--", unit)
        pairs = (line.partition("=") for line in shown.stdout.splitlines())
        return {key: value for key, _, value in pairs if key in UNIT_PROPERTIES}

    def wait_for(
        self, predicate: Callable[[], T], *, timeout: float = 30.0, what: str = "a condition"
    ) -> T:
        """Poll like ``wait_for``; a timeout also reports the end of the container's journal."""
        try:
            return wait_for(predicate, timeout=timeout, what=what)
        except TimeoutError as error:
            journal = self.run(["journalctl", "-b", "-n", "40", "--no-pager"], check=False)
            raise TimeoutError(
                f"{error}\n--- journal of {self.name} ---\n{journal.stdout}"
            ) from None

    def wait_for_unit(self, unit: str, *, timeout: float = 30.0, **expected: str) -> dict[str, str]:
        """Poll ``unit_state`` until every given property has its value, and return the state."""

        def matches() -> dict[str, str]:
            state = self.unit_state(unit)
            return state if all(state.get(k) == v for k, v in expected.items()) else {}

        return self.wait_for(matches, timeout=timeout, what=f"{unit} to reach {expected}")

    def journal_export(self) -> bytes:
        """This boot's journal in journald's export format (``journalctl -b -o export``)."""
        self.run(["journalctl", "--sync"], check=False)
        return self._exec(["journalctl", "-b", "-o", "export", "--no-pager"]).stdout

    def copy_in(self, host_path: Path | str, container_path: str) -> None:
        """Copy a file (mode kept) or a directory's contents to ``container_path`` inside."""
        source = Path(host_path)
        if source.is_dir():
            self._copy_dir_in(source, container_path)
            return
        write = 'mkdir -p -- "$(dirname -- "$1")" && cat >"$1" && chmod "$2" "$1"'
        mode = f"{source.stat().st_mode & 0o7777:o}"
        with open(source, "rb") as data:
            self._exec(["/bin/sh", "-c", write, "sh", container_path, mode], stdin=data)

    def _copy_dir_in(self, source: Path, container_path: str) -> None:
        unpack = 'mkdir -p -- "$1" && tar -C "$1" -xf -'
        pack = subprocess.Popen(["tar", "-C", str(source), "-cf", "-", "."], stdout=subprocess.PIPE)
        try:
            self._exec(["/bin/sh", "-c", unpack, "sh", container_path], stdin=pack.stdout)
        finally:
            if pack.stdout:
                pack.stdout.close()
            pack.wait()

    # --- shutting down ------------------------------------------------------------------------

    def close(self) -> None:
        """Kill the container (PID 1 first, then anything left in its cgroups), remove them."""
        try:
            self._stop()
        finally:
            if self._pidfd is not None:
                os.close(self._pidfd)
                self._pidfd = None
            self.pid1 = 0
            self.console_log.unlink(missing_ok=True)
            for cgroup in self.cgroups:
                _kill_cgroup(cgroup)
            for cgroup in self.cgroups:
                _remove_cgroup(cgroup)

    def _stop(self) -> None:
        process = self._process
        if process is None:
            return
        if process.poll() is None and self._pidfd is not None:
            # A dead PID 1 takes its whole PID namespace with it, and nspawn then cleans up and
            # exits; a pidfd cannot hit a recycled PID.
            signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _text(output: bytes) -> str:
    return output.decode(errors="replace")


def _kill_cgroup(cgroup: Path) -> None:
    """Kill whatever is left in a cgroup v2 tree (the v1 ``name=systemd`` one holds the same)."""
    if (cgroup / "cgroup.kill").exists():
        (cgroup / "cgroup.kill").write_text("1")


def _remove_cgroup(cgroup: Path) -> None:
    """Remove a cgroup tree depth-first, retrying while killed processes are still exiting."""
    wait_for(lambda: _try_remove_cgroup(cgroup), timeout=10, what=f"{cgroup} to empty")


def _try_remove_cgroup(cgroup: Path) -> bool:
    for folder, _, _ in os.walk(cgroup, topdown=False):
        try:
            os.rmdir(folder)
        except FileNotFoundError:
            pass
        except OSError as error:
            if error.errno == errno.EBUSY:
                return False
            raise
    return True


def save_journal(container: Container, dest_dir: Path | None = None, name: str = "journal") -> Path:
    """Write the container's journal (export format) and console log as test artifacts."""
    folder = dest_dir or ARTIFACTS
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^\w.-]+", "_", name).strip("_") or "journal"
    path = folder / f"{stem}.journal-export"
    path.write_bytes(container.journal_export())
    shutil.copyfile(container.console_log, folder / f"{stem}.console.log")
    return path
