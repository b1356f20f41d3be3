"""Password hashing with argon2id (argon2-cffi's defaults, RFC 9106's second recommendation).

A hash made with older parameters is upgraded on the next successful sign-in. Verifying against
a dummy hash when the account does not exist keeps the answer time the same either way.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from editorial_assistant.errors import InvalidInput

HASHER = PasswordHasher()
# A hash of a password nobody has, made once with today's parameters (computing it at import
# would cost every process 64 MiB and ~0.1 s at start).
DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$E+OwpC8Jxa0YbrvLPBLQ9A$"
    "oEQjnYG4udpbVkg7AoUQ7Z2DcEtgyDGpvUPzZWagRp4"
)
MIN_LENGTH = 12
MAX_LENGTH = 256


def hash_password(password: str) -> str:
    """The argon2id hash of an acceptable password."""
    check_password_rules(password)
    return HASHER.hash(password)


def check_password_rules(password: str) -> None:
    """Refuse passwords that are too short or too long, saying what is allowed."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInput(
            f"A password must be {MIN_LENGTH} to {MAX_LENGTH} characters long.",
            code="weak_password",
            hint="A few unrelated words make a long password that is easy to type.",
        )


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (always spends the same effort)."""
    try:
        return HASHER.verify(stored or DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` was made with weaker parameters than today's."""
    return HASHER.check_needs_rehash(stored)
