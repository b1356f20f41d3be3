"""A thin wrapper over the real ``restic`` binary: version, init, backup, check, forget, restore.

restic 0.12.1 is the oldest supported (Ubuntu 22.04 ships it; Debian 12 has 0.14.0, Ubuntu 24.04
0.16.4), so only what every one of them has is used: ``backup --json`` and its closing
``summary`` line (reliable after errors since 0.12.1), exit code 3, ``check
--read-data-subset=n/N``, ``forget --keep-tag``, ``cat config``. Exit codes: 0 is success; 3,
from ``backup`` only, means a snapshot was made but some files could not be read (the caller
reports it); everything else — 1, 130 (interrupted), the codes 10 to 12 that 0.17 added, and any
code nobody documented — is a failure, raised with the tail of restic's stderr and a hint.

The password reaches restic only as ``RESTIC_PASSWORD_FILE`` (the unit's systemd credential, or
a 0600 file in a private temporary folder) and the repository as ``RESTIC_REPOSITORY``, so
neither ever shows in a process list, and no message carries the password.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from editorial_assistant.config import BackupSettings, Settings
from editorial_assistant.errors import AppError

MINIMUM_VERSION = (0, 12, 1)
QUICK, LONG = 120, 6 * 3600  # seconds: repository probes; backup, check, prune, restore
INTERRUPT_GRACE = 30  # seconds restic gets after SIGINT to release its lock
PASSED_ENV: tuple[str, ...] = (
    "PATH",
    "TMPDIR",
    "LANG",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "HTTPS_PROXY",
)
PASSED_ENV += ("AWS_SHARED_CREDENTIALS_FILE", "AWS_PROFILE", "AWS_DEFAULT_REGION")
# (code, what restic says, hint), first match wins: unreachable before "no repository", since
# restic adds "Is there a repository at the following location?" to a refused connection too.
KINDS = (
    (
        "restic_wrong_password",
        r"wrong password|no key found",
        "The password does not open this repository. Set the right one: "
        "sudo editorial-assistant secret set restic_password",
    ),
    (
        "restic_unreachable",
        r"dial tcp|connection refused|no such host|i/o timeout|network is unreachable|"
        r"unable to start the sftp session|ssh: |Permission denied \(publickey|Client\.Timeout",
        "Check the network, the host and its credentials (ssh key, S3 keys); the repository "
        "itself may be fine.",
    ),
    (
        "restic_no_repository",
        r"Is there a repository|does not exist",
        "If this is a new repository, create it once: sudo editorial-assistant backup init. "
        "If it should exist, it is not where the setting says (an unmounted disk?): do not "
        "init a new one there.",
    ),
    (
        "restic_locked",
        r"repository is already locked|unable to create lock",
        "Another restic process holds the repository. If none runs, remove the stale lock "
        "with `restic unlock`.",
    ),
    (
        "restic_repository_damaged",
        r"contains errors|does not match|ciphertext|invalid data|checksum",
        "The repository is damaged: do not prune it; see docs/guides/backups.md, "
        "'A damaged repository'.",
    ),
)


class ResticError(AppError):
    """restic failed; ``code`` says how (``restic_wrong_password``, ``restic_unreachable``, …)."""

    status = 502
    code = "restic_failed"


@dataclass(frozen=True)
class BackupResult:
    """What ``restic backup`` made: a snapshot, and the files it could not read (exit code 3)."""

    snapshot_id: str
    data_added: int
    summary: dict[str, Any]
    unreadable: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Restic:
    """One repository, opened with one password file; every call runs the binary once."""

    repository: str
    password_file: Path
    cache_dir: Path
    environ: dict[str, str]
    binary: str = "restic"

    def version(self) -> str:
        """restic's version, refusing one older than ``MINIMUM_VERSION``."""
        said = self._run(["version"], QUICK, "version").stdout
        found = re.search(r"restic (\d+)\.(\d+)\.(\d+)", said)
        numbers = tuple(int(part) for part in found.groups()) if found else (0, 0, 0)
        if numbers < MINIMUM_VERSION:
            minimum = ".".join(map(str, MINIMUM_VERSION))
            hint = f"Install restic {minimum} or newer (apt install restic)."
            raise ResticError(
                f"restic is too old: {said.strip()!r}", code="restic_too_old", hint=hint
            )
        return ".".join(map(str, numbers))

    def repository_id(self) -> str:
        """The repository's ID (``cat config``): proves it exists, is reachable and opens."""
        return str(json.loads(self._run(["cat", "config"], QUICK, "cat config").stdout)["id"])

    def init(self) -> None:
        """Create the repository (restic refuses when one already exists there)."""
        self._run(["init"], QUICK, "init")

    def backup(self, paths: Sequence[Path], *, tags: Sequence[str], host: str) -> BackupResult:
        """Back ``paths`` up as one snapshot; exit code 3 comes back as ``unreadable`` files."""
        args = ["backup", "--json", "--host", host, "--exclude", "*.partial"]
        args += [arg for tag in tags for arg in ("--tag", tag)] + [str(p) for p in paths]
        done = self._run(args, LONG, "backup", allowed=(0, 3))
        said = (done.stdout + "\n" + done.stderr).splitlines()  # errors go to stderr, as JSON
        lines = [json.loads(line) for line in said if line.startswith("{")]
        summary = next((m for m in lines if m.get("message_type") == "summary"), None)
        if summary is None or not summary.get("snapshot_id"):
            raise failure("backup", done, note="it reported no snapshot")
        unreadable = [_unreadable(m) for m in lines if m.get("message_type") == "error"]
        if done.returncode == 3 and not unreadable:
            unreadable = [_tail(done.stderr)]
        return BackupResult(
            summary["snapshot_id"], int(summary.get("data_added", 0)), summary, unreadable
        )

    def check(self, subset: str) -> None:
        """Verify the structure, and read the data packs of ``subset`` (``n/N``)."""
        self._run(["check", f"--read-data-subset={subset}"], LONG, "check")

    def forget(self, policy: BackupSettings, *, tag: str, keep_tag: str) -> None:
        """Forget our snapshots (``tag``) beyond the policy, keep ``keep_tag`` ones, prune."""
        keep = ["--keep-daily", str(policy.restic_keep_daily), "--keep-tag", keep_tag]
        keep += ["--keep-weekly", str(policy.restic_keep_weekly)]
        keep += ["--keep-monthly", str(policy.restic_keep_monthly)]
        self._run(["forget", "--tag", tag, *keep, "--prune"], LONG, "forget --prune")

    def restore(self, snapshot_id: str, target: Path, *, include: Sequence[Path] = ()) -> None:
        """Restore a snapshot (only the ``include`` paths, when given) under ``target``, its
        absolute paths below it."""
        args = ["restore", snapshot_id, "--target", str(target)]
        args += [arg for path in include for arg in ("--include", str(path))]
        self._run(args, LONG, "restore")

    def snapshots(self, *, tag: str) -> list[dict[str, Any]]:
        """The snapshots tagged ``tag``, oldest first (restic's JSON: ``id``, ``time``, …)."""
        listed = self._run(["snapshots", "--json", "--tag", tag], QUICK, "snapshots")
        found = json.loads(listed.stdout or "[]") or []
        return sorted(found, key=lambda snapshot: str(snapshot["time"]))

    def _run(
        self, args: list[str], timeout: float, what: str, allowed: Sequence[int] = (0,)
    ) -> subprocess.CompletedProcess[str]:
        argv = [self.binary, "--cache-dir", str(self.cache_dir), *args]
        env = {**self.environ, "RESTIC_REPOSITORY": self.repository}
        env["RESTIC_PASSWORD_FILE"] = str(self.password_file)
        done = execute(argv, env, timeout=timeout, what=f"restic {what}")
        if done.returncode not in allowed:
            raise failure(what, done, repository=self.repository)
        return done


def execute(
    argv: list[str], env: dict[str, str], *, timeout: float, what: str
) -> subprocess.CompletedProcess[str]:
    """Run ``argv``; on timeout or our own interruption restic gets SIGINT (it then releases
    its lock), and SIGKILL only if it is still there ``INTERRUPT_GRACE`` seconds later."""
    try:
        process = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,  # its own process group: ssh and other children too
        )
    except OSError as exc:
        hint = "Install restic (apt install restic); it must be on PATH."
        raise ResticError(
            f"{what}: cannot run restic: {exc}", code="restic_missing", hint=hint
        ) from None
    try:
        out, err = process.communicate(timeout=timeout)
    except BaseException as exc:
        _interrupt(process)
        if isinstance(exc, subprocess.TimeoutExpired):
            hint = "A slow or stuck connection to the repository? Run it by hand to watch it."
            message = f"{what} took longer than {timeout:.0f} s and was stopped."
            raise ResticError(message, code="restic_timeout", hint=hint) from None
        raise
    return subprocess.CompletedProcess(argv, process.returncode, out, err)


def _interrupt(process: subprocess.Popen[str]) -> None:
    _signal_group(process, signal.SIGINT)
    try:
        process.communicate(timeout=INTERRUPT_GRACE)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        process.communicate()


def _signal_group(process: subprocess.Popen[str], signum: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def failure(
    what: str, done: subprocess.CompletedProcess[str], *, repository: str = "", note: str = ""
) -> ResticError:
    """The error for a restic run that failed, by its exit code and what it said."""
    code, hint = classify(done.returncode, done.stderr)
    where = f" on {redact(repository)}" if repository else ""
    said = _tail(done.stderr) or note or "(nothing on stderr)"
    message = f"restic {what}{where} failed (exit code {done.returncode}): {said}"
    return ResticError(message, code=code, hint=hint)


def classify(returncode: int, stderr: str) -> tuple[str, str]:
    """(error code, hint) for a failed run: by exit code where restic has one, else its words."""
    if returncode == 130:
        return "restic_interrupted", "restic was interrupted (SIGINT/SIGTERM); run it again."
    by_code = {10: "restic_no_repository", 11: "restic_locked", 12: "restic_wrong_password"}
    for code, pattern, hint in KINDS:
        if by_code.get(returncode) == code or re.search(pattern, stderr, re.IGNORECASE):
            return code, hint
    return (
        "restic_failed",
        "See restic's message above; `journalctl -u editorial-assistant-backup`.",
    )


def redact(repository: str) -> str:
    """The repository without a password in it (``rest:https://user:secret@host/``)."""
    return re.sub(r"(//[^/:@]+):[^/@]*@", r"\1:***@", repository)


def _tail(text: str, lines: int = 4) -> str:
    kept = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(kept[-lines:])


def _unreadable(message: dict[str, Any]) -> str:
    error = message.get("error") or {}
    reason = os.strerror(error["Err"]) if isinstance(error.get("Err"), int) else str(error)
    return f"{message.get('item', '?')}: {reason}"


@contextmanager
def open_repository(settings: Settings, *, binary: str = "restic") -> Iterator[Restic]:
    """The configured repository with its password file; ``restic_not_configured`` if either
    the repository or the password is missing."""
    repository = settings.backup.restic_repository
    if not repository or settings.secret("restic_password") is None:
        missing = "backup.restic_repository" if not repository else "the secret restic_password"
        hint = "Set EA_RESTIC_REPOSITORY in a conf.d file and the password with `sudo "
        hint += "editorial-assistant secret set restic_password` (docs/guides/backups.md)."
        message = f"restic is not set up: {missing} is missing."
        raise ResticError(message, code="restic_not_configured", hint=hint)
    with password_file(settings) as path:
        yield Restic(
            repository, path, settings.data_dir / "cache" / "restic", _environ(settings), binary
        )


@contextmanager
def password_file(settings: Settings) -> Iterator[Path]:
    """The unit's credential file when there is one, else a 0600 copy in a private folder."""
    folder = settings.environ.get("CREDENTIALS_DIRECTORY")
    loaded = Path(folder) / "restic_password" if folder else None
    if loaded and loaded.is_file() and loaded.read_text(encoding="utf-8").strip():
        yield loaded
        return
    private = Path(tempfile.mkdtemp(prefix="ea-restic-"))  # 0700
    try:
        path = private / "password"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(settings.secret("restic_password") or "")
        yield path
    finally:
        shutil.rmtree(private, ignore_errors=True)


def _environ(settings: Settings) -> dict[str, str]:
    """What restic sees: a few settings' variables and the service user's home (its ssh and S3
    files live there), never the caller's RESTIC_* or secrets."""
    env = {name: settings.environ[name] for name in PASSED_ENV if name in settings.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    try:
        env["HOME"] = pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:  # no passwd entry (containers)
        env["HOME"] = str(settings.data_dir)
    return env


def init_repository(settings: Settings, *, binary: str = "restic") -> dict[str, Any]:
    """Create the restic repository unless it exists (a backup run never creates one)."""
    with open_repository(settings, binary=binary) as restic:
        found = {"restic_version": restic.version(), "repository": redact(restic.repository)}
        try:
            return {**found, "created": False, "repository_id": restic.repository_id()}
        except ResticError as exc:
            if exc.code != "restic_no_repository":
                raise
        restic.init()
        return {**found, "created": True, "repository_id": restic.repository_id()}


def probe_repository(settings: Settings, *, binary: str = "restic") -> dict[str, Any]:
    """Whether the repository opens now: its ID and restic's version, or why not."""
    try:
        with open_repository(settings, binary=binary) as restic:
            version, found = restic.version(), restic.repository_id()
    except ResticError as exc:
        return {"reachable": False, "code": exc.code, "error": exc.message, "hint": exc.hint}
    return {"reachable": True, "repository_id": found, "restic_version": version}
