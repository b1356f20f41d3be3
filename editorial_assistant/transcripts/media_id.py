"""Derive a programme's Media ID from an uploaded file name, safely.

A Media ID is a programme prefix (a digit and three capitals, e.g. ``2WLI``), four digits and an
optional format code (``2WLI1209HD``), followed by anything the station keeps as part of it
(``_REV20241007``, ``_midshow_butterflygarden``, ``_Livestream``); digital shorts put a title slug
after the prefix (``2WLICindysStorySM``). Processing residue (directories, ``_ForClaude``, copy
suffixes, media and text extensions) is dropped. The result is always one safe path component.
"""

from __future__ import annotations

import re
import unicodedata

MAX_LENGTH = 100
FALLBACK = "untitled"

EXTENSION = re.compile(
    r"\.(?:txt|srt|vtt|scc|sbv|stl|dfxp|ttml|xml|docx?|rtf|mxf|mp4|m4v|mov|mkv|avi|wav|mp3)$",
    re.IGNORECASE,
)
PROCESSING_SUFFIX = re.compile(
    r"(?:_ForClaude|\s*\(\d+\)|\s+-\s+Copy|\s+copy(?:\s+\d+)?)$",
    re.IGNORECASE,
)
COPY_PREFIX = re.compile(r"^Copy of\s+", re.IGNORECASE)
MEDIA_ID_HEAD = re.compile(r"^\d[A-Z0-9]{3}\d{4}(?:HD)?", re.IGNORECASE)
UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
REPEATED_UNDERSCORE = re.compile(r"_{2,}")


def media_id_from_filename(name: str) -> str:
    """The Media ID for an uploaded file name; always a safe single path component."""
    stem = _strip_processing(re.split(r"[/\\]", name)[-1].strip())
    head = MEDIA_ID_HEAD.match(stem)
    if head:
        stem = head.group().upper() + stem[head.end() :]
    return safe_path_component(stem)


def safe_path_component(text: str) -> str:
    """``text`` reduced to ``[A-Za-z0-9_-]``, at most 100 characters, never empty."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    safe = REPEATED_UNDERSCORE.sub("_", UNSAFE.sub("_", ascii_text)).strip("_-")
    return safe[:MAX_LENGTH].rstrip("_-") or FALLBACK


def _strip_processing(stem: str) -> str:
    """Peel extensions and copy suffixes until none is left (``x.mxf.scc_ForClaude.txt``)."""
    while True:
        peeled = COPY_PREFIX.sub("", PROCESSING_SUFFIX.sub("", EXTENSION.sub("", stem)))
        peeled = peeled.strip()
        if peeled == stem:
            return stem
        stem = peeled
