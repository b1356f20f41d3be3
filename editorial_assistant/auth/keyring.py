"""Where the HMAC secret for keys, sessions and CSRF tokens comes from.

In production it is the ``auth_secret`` systemd credential (the package generates it at install,
root-only). On a developer machine, where no credentials folder exists, a secret is generated
once into the data folder (mode 0600) so ``make run`` works with nothing to set up. A process
that finds the credentials folder but cannot read the secret refuses, rather than silently
inventing a different one (keys it created would never verify).
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from editorial_assistant.auth.tokens import Keyring
from editorial_assistant.config import Settings
from editorial_assistant.errors import ConfigError
from editorial_assistant.ops.secrets import credentials_dir

log = logging.getLogger(__name__)
DEVELOPMENT_FILE = "auth_secret"


def load_keyring(settings: Settings) -> Keyring:
    """The current (and, while rotating, previous) secret."""
    current = settings.secret("auth_secret") or _development_secret(settings)
    previous = settings.secret("auth_secret_previous")
    return Keyring(current.encode("utf-8"), previous.encode("utf-8") if previous else None)


def _development_secret(settings: Settings) -> str:
    folder = credentials_dir(settings.environ)
    if folder.exists():
        raise ConfigError(
            f"The auth_secret credential in {folder} cannot be read by this process.",
            code="auth_secret_unreadable",
            hint="Run the command with sudo (it reads the credential as root, then works as the "
            "service user), or create it: sudo editorial-assistant secret set auth_secret "
            "--generate",
        )
    path = settings.data_dir / DEVELOPMENT_FILE
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return _generate(path)


def _generate(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use theirs
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value)
    log.warning("no auth_secret credential: generated one for development in %s", path)
    return value
