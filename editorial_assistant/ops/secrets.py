"""The service's secrets on disk: which there are, where they live, and storing them safely.

Each secret is one root-only file in ``/etc/editorial-assistant/credentials`` (0700): plain
``<name>``, or ``<name>.cred`` encrypted by ``systemd-creds`` (systemd >= 250), never both. The
units load the plain file with ``LoadCredential=``; for every secret stored encrypted, a drop-in
written here (``/etc/systemd/system/<unit>.d/50-encrypted-credentials.conf``) switches that name
to ``LoadCredentialEncrypted=``. Values never reach a command line, a log line or the output.
The errors here only ever reach the ``secret`` commands (message and hint, no HTTP code).
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from editorial_assistant.errors import ConfigError, InvalidInput

CREDENTIALS_DIR = Path("/etc/editorial-assistant/credentials")
UNIT_DIR = Path("/etc/systemd/system")
DROPIN = "50-encrypted-credentials.conf"
API = "editorial-assistant-api.service"
WORKER = "editorial-assistant-worker.service"
BACKUP = "editorial-assistant-backup.service"
DRILL = "editorial-assistant-restore-drill.service"
ENCRYPTED = ".cred"
MAX_LENGTH = 4096
Runner = Callable[..., "subprocess.CompletedProcess[bytes]"]


@dataclass(frozen=True)
class Secret:
    """A secret the service knows: what it is for and the units that load it."""

    name: str
    purpose: str
    units: tuple[str, ...]
    required: bool = False


SECRETS = {
    secret.name: secret
    for secret in (
        Secret("openrouter_api_key", "OpenRouter key; without it jobs run locally.", (WORKER, API)),
        Secret("auth_secret", "HMAC key: API keys, sessions, CSRF tokens.", (API,), required=True),
        Secret("auth_secret_previous", "auth_secret before rotation; still accepted.", (API,)),
        Secret("restic_password", "Password of the restic backup repository.", (BACKUP, DRILL)),
        Secret("smtp_password", "Password of alerts.smtp_username (e-mail).", (BACKUP, DRILL)),
    )
}

# Every unit that loads a secret, in a stable order; the oneshots run again only when started.
UNITS = tuple(dict.fromkeys(unit for secret in SECRETS.values() for unit in secret.units))
ONESHOTS = (BACKUP, DRILL)


@dataclass(frozen=True)
class SecretState:
    """What ``list_secrets`` tells about one secret (never its value)."""

    name: str
    purpose: str
    units: tuple[str, ...]
    state: str  # "encrypted", "plain", "empty" (a 0-byte file), "not set" or "both"
    updated: str | None  # when its file last changed (ISO 8601, UTC)


def credentials_dir(environ: Mapping[str, str]) -> Path:
    """The credentials folder: ``$EA_CREDENTIALS_DIR`` (tests) or the production one."""
    return Path(environ.get("EA_CREDENTIALS_DIR") or CREDENTIALS_DIR)


def get_secret_or_raise(name: str) -> Secret:
    """The known secret called ``name``, else a refusal listing the known names."""
    if name not in SECRETS:
        raise InvalidInput(
            f"There is no secret called {name!r}.",
            hint=f"Known secrets: {', '.join(SECRETS)}.",
        )
    return SECRETS[name]


def check_value(name: str, value: str) -> None:
    """Refuse a value the service could not use as given."""
    checks = (
        (not value.strip(), "is empty"),
        ("\0" in value, "contains a NUL byte"),
        (value != value.strip(), "starts or ends with white space (the service would strip it)"),
        ("\n" in value or "\r" in value, "spans several lines"),
        (len(value) > MAX_LENGTH, f"is longer than {MAX_LENGTH} characters"),
    )
    for failed, problem in checks:
        if failed:
            raise InvalidInput(
                f"The value for {name} {problem}; nothing was stored.",
                hint="Pipe the value in (`printf '%s' \"$VALUE\" | …`), or use --generate.",
            )


def generate_secret() -> str:
    """A new random secret: 32 bytes as 64 hexadecimal digits."""
    return secrets.token_hex(32)


def encryption_problem(run: Runner = subprocess.run, *, probe: bool = True) -> str | None:
    """Why secrets cannot be stored encrypted here, or None when they can: it takes a running
    systemd >= 250 (the manager decrypts at unit start) and, with ``probe``, a test encryption
    that works (TPM2, or the host key systemd-creds creates in /var/lib/systemd on first use)."""
    shown = _run(run, ["systemctl", "show", "--property=Version", "--value"])
    found = re.match(rb"\s*(\d+)", shown.stdout)
    if shown.returncode != 0 or not found:
        return "systemd is not the running service manager here"
    if int(found.group(1)) < 250:
        return f"systemd {int(found.group(1))} cannot decrypt credentials for a unit (250 can)"
    if not probe:
        return None
    tried = _run(run, ["systemd-creds", "encrypt", "--name=probe", "-", "-"], b"probe")
    said = tried.stderr.decode(errors="replace").strip().splitlines() or ["it failed"]
    return None if tried.returncode == 0 else f"systemd-creds cannot encrypt: {said[-1]}"


def write_secret(
    name: str,
    value: str,
    *,
    folder: Path,
    encrypt: bool | None = None,
    run: Runner = subprocess.run,
) -> Path:
    """Store ``value`` as secret ``name`` and return its file.

    ``encrypt=None`` encrypts when ``systemd-creds`` is usable, ``True`` insists, ``False``
    writes a plain file. The other variant is removed afterwards, so exactly one remains.
    """
    get_secret_or_raise(name)
    check_value(name, value)
    problem = encryption_problem(run) if encrypt is not False else "a plain file was asked for"
    if encrypt and problem:
        raise ConfigError(
            f"{name} cannot be stored encrypted: {problem}.",
            hint="Use --plain: the file is still readable by root only.",
        )
    data = _encrypt(name, value, run) if problem is None else value.encode("utf-8")
    path, other = _variants(folder, name, encrypted=problem is None)
    _write_atomically(path, data)
    other.unlink(missing_ok=True)
    return path


def is_set(name: str, *, folder: Path) -> bool:
    """Whether secret ``name`` has a (non-empty) file."""
    return any(path.exists() and path.stat().st_size for path in _variants(folder, name))


def read_secret(name: str, *, folder: Path, run: Runner = subprocess.run) -> str | None:
    """The value of secret ``name`` (decrypted if need be), or None when it is not set."""
    encrypted, plain = _variants(folder, name)
    if encrypted.exists():
        done = _run(run, ["systemd-creds", "decrypt", f"--name={name}", str(encrypted), "-"])
        if done.returncode != 0:
            hint = "It was encrypted on another machine, or this one's key changed: set it again."
            raise ConfigError(f"{encrypted} cannot be decrypted.", hint=hint)
        return done.stdout.decode("utf-8").strip() or None
    if not plain.exists():
        return None
    return plain.read_text(encoding="utf-8").strip() or None


def rotate_secret(name: str, *, folder: Path, run: Runner = subprocess.run) -> Path:
    """Keep the value of ``name`` as ``<name>_previous`` and store a new random one."""
    previous = f"{get_secret_or_raise(name).name}_previous"
    if previous not in SECRETS:
        hint = f"Set a new value instead: sudo editorial-assistant secret set {name}"
        raise InvalidInput(f"{name} has no rotation.", hint=hint)
    if is_set(previous, folder=folder):
        hint = f"Once nothing needs it: sudo editorial-assistant secret delete {previous}"
        message = f"{previous} is still set; rotating again would lose what it holds."
        raise InvalidInput(message, hint=hint)
    current = read_secret(name, folder=folder, run=run)
    if current is None:
        hint = f"sudo editorial-assistant secret set {name} --generate"
        raise InvalidInput(f"{name} is not set.", hint=hint)
    encrypt = _variants(folder, name)[0].exists()
    write_secret(previous, current, folder=folder, encrypt=encrypt, run=run)
    return write_secret(name, generate_secret(), folder=folder, encrypt=encrypt, run=run)


def delete_secret(name: str, *, folder: Path) -> list[Path]:
    """Remove secret ``name`` (either variant); return the files removed."""
    if get_secret_or_raise(name).required:
        hint = f"Replace it instead: sudo editorial-assistant secret rotate {name}"
        raise InvalidInput(f"{name} is required.", hint=hint)
    removed = [path for path in _variants(folder, name) if path.exists()]
    for path in removed:
        path.unlink()
    return removed


def list_secrets(folder: Path) -> list[SecretState]:
    """Every known secret: set or not, plain or encrypted, and when it changed."""
    return [_state(secret, folder) for secret in SECRETS.values()]


def _state(secret: Secret, folder: Path) -> SecretState:
    encrypted, plain = _variants(folder, secret.name)
    found = tuple(path for path in (plain, encrypted) if path.exists())
    state = {(): "not set", (plain,): "plain", (encrypted,): "encrypted"}.get(found, "both")
    if len(found) == 1 and found[0].stat().st_size == 0:
        state = "empty"
    mtime = max((path.stat().st_mtime for path in found), default=None)
    when = datetime.fromtimestamp(mtime, timezone.utc).isoformat() if mtime else None
    return SecretState(secret.name, secret.purpose, secret.units, state, when)


DROPIN_HEADER = """\
# Written by `editorial-assistant secret`, which rewrites it on every change: do not edit.
# These secrets are stored encrypted (<name>.cred), so systemd (>= 250) decrypts them at start;
# each line replaces the unit's plain LoadCredential= of the same name.
[Service]
"""


def sync_dropins(*, folder: Path, unit_dir: Path, dry_run: bool = False) -> list[Path]:
    """Write or remove each unit's drop-in to match the files; return those that (would) change.

    A dry run tells whether the drop-ins are in step (they are not after a file moved by hand).
    """
    changed = []
    for unit in UNITS:
        path, text = unit_dir / f"{unit}.d" / DROPIN, _dropin(unit, folder)
        if (path.read_text(encoding="utf-8") if path.exists() else "") == text:
            continue
        changed.append(path)
        if dry_run:
            continue
        if text:
            path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
            _write_atomically(path, text.encode("utf-8"), mode=0o644)
        else:
            path.unlink()
    return changed


def _dropin(unit: str, folder: Path) -> str:
    """The drop-in ``unit`` needs: a line per secret of it stored encrypted ('' for none)."""
    lines = [
        f"LoadCredentialEncrypted={secret.name}:{_variants(folder, secret.name)[0]}\n"
        for secret in SECRETS.values()
        if unit in secret.units and _variants(folder, secret.name)[0].exists()
    ]
    return DROPIN_HEADER + "".join(lines) if lines else ""


def _variants(folder: Path, name: str, *, encrypted: bool = True) -> tuple[Path, Path]:
    """``name``'s (encrypted, plain) files, or (plain, encrypted) with ``encrypted=False``."""
    sealed, plain = folder / f"{name}{ENCRYPTED}", folder / name
    return (sealed, plain) if encrypted else (plain, sealed)


def _encrypt(name: str, value: str, run: Runner) -> bytes:
    # The value goes in on stdin and the ciphertext comes out on stdout: never on argv.
    done = _run(run, ["systemd-creds", "encrypt", f"--name={name}", "-", "-"], value.encode())
    if done.returncode != 0 or not done.stdout:
        said = done.stderr.decode(errors="replace").strip()
        raise ConfigError(f"systemd-creds could not encrypt {name}: {said}")
    return done.stdout


def _run(run: Runner, argv: list[str], data: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    try:
        return run(argv, input=data, capture_output=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(argv, 127, b"", str(exc).encode())


def _write_atomically(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Write ``data`` to a temporary file beside ``path`` (fsynced), then rename it over."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)  # gone already unless something failed
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    os.fsync(directory)  # so the rename itself survives a crash
    os.close(directory)
