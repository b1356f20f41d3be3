"""Taking fillers out of spoken text without adding or changing a word.

Removed: ``um``, ``uh``, ``er`` and their spellings in ``FILLERS``, wherever they stand as a
word of their own, and ``you know,`` when it opens a sentence or is set off by commas. A sentence
that began with a filler gets its capital letter back; nothing else changes. ``uh-huh``,
``umbrella`` or ``do you know`` are left alone.
"""

from __future__ import annotations

import re

from editorial_assistant.pipeline.checks import FILLERS

_FILLER = "|".join(sorted(FILLERS, key=len, reverse=True))
_LEADING_FILLERS = re.compile(
    rf"(^|[.!?…][\"'”’)]*\s+)(?:(?:{_FILLER})\b(?:\.\.\.|[,.…])*(?:\s+|$)|you know,\s+)+(\w)?",
    re.I,
)
_INNER_FILLER = re.compile(rf",?\s+(?:{_FILLER})\b(?:\.\.\.|[,…])*(?=\s|[.!?]|$)", re.I)
_INNER_YOU_KNOW = re.compile(r",\s+you know,(?=\s)", re.I)
_SPACES = re.compile(r"\s{2,}")


def remove_fillers(text: str) -> str:
    """Text with fillers taken out; no word is added or changed."""
    text = _LEADING_FILLERS.sub(_keep_sentence_start, text)
    text = _INNER_YOU_KNOW.sub("", _INNER_FILLER.sub("", text))
    return _SPACES.sub(" ", text).strip()


def _keep_sentence_start(match: re.Match[str]) -> str:
    following = match.group(2) or ""
    return match.group(1) + following.upper()
