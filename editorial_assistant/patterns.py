"""What a pattern-checked request value must be, in words.

Query and path values are checked with regular expressions; a refusal names the rule in words
from this table (and the configuration's own table, ``config.base.ALLOWED``), never the raw
expression. A pattern that is a plain list of choices (``^(a|b|c)$``) is read out as that list.
"""

from __future__ import annotations

import re

from editorial_assistant.config.base import ALLOWED as SETTING_PATTERNS

PLAIN_TEXT = r"^[^\x00-\x1f\x7f]*$"
MEDIA_ID = r"^[A-Za-z0-9_-]{1,64}$"
ISO_MOMENT = r"^\d{4}-\d{2}-\d{2}[0-9T:.+Z-]*$"
_DATE = r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
_TIME = r"T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?"
OPTIONAL_UTC_DATE = f"^({_DATE}({_TIME})?)?$"
ALLOWED = {
    **SETTING_PATTERNS,
    PLAIN_TEXT: "text without control characters (no tabs, line breaks or NUL)",
    MEDIA_ID: "a Media ID: 1 to 64 letters, digits, dashes or underscores",
    ISO_MOMENT: "an ISO 8601 time in UTC, such as 2026-11-25T14:03:00Z",
    OPTIONAL_UTC_DATE: "a UTC date such as 2026-11-25, or a date and time such as "
    "2026-11-25T14:03, or empty",
}
CHOICES = re.compile(r"\^\(((?:[\w.-]|\\\.)*(?:\|(?:[\w.-]|\\\.)*)*)\)\$")


def describe(pattern: str) -> str | None:
    """What ``pattern`` allows in words, or None when this module does not know it."""
    if pattern in ALLOWED:
        return ALLOWED[pattern]
    listed = CHOICES.fullmatch(pattern)
    if listed is None:
        return None
    choices = [choice.replace("\\", "") for choice in listed.group(1).split("|")]
    words = "one of: " + ", ".join(choice for choice in choices if choice)
    return words + (", or empty" if "" in choices else "")
