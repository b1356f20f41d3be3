"""Mechanical checks on phase outputs: spoken words, formatter completeness and SEO limits.

Pure functions with no I/O. The runner uses ``completeness_ratio`` to pause a job whose
formatted transcript looks truncated; the manager phase uses all of them for its checklist.
Outputs may arrive with or without their provenance front matter; every reader here skips it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from editorial_assistant.llm.client import CharLimits

FILLERS = frozenset({"um", "umm", "ummm", "uh", "uhh", "uhhh", "uhm", "er", "erm"})
COMPLETENESS_THRESHOLD = 0.70

_EDGE_PUNCTUATION = re.compile(r"^\W+|\W+$")
_FRONT_MATTER = re.compile(r"\A\s*---\n.*?\n---[ \t]*(?:\n|\Z)", re.S)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_HEADING = re.compile(r"^\s{0,3}#{1,6}(?:\s|$)")
_LABEL = re.compile(r"^\s*\*\*[^*\n]{1,80}?:\*\*")
_PROVENANCE = re.compile(
    r"^\s*(?:>\s*)?(?:[-*]\s+)?\**(?:model|tier|cost(?:_usd)?|media_id|job_id|phase|"
    r"prompt[_ ]tokens|completion[_ ]tokens|tokens|latency|generated(?:_at)?|provenance)"
    r"\**\s*:",
    re.I,
)
_SECTION = re.compile(r"^\s{0,3}#{2,3}\s+(.+?)\s*#*\s*$", re.M)
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_WRAPPERS = (("**", "**"), ('"', '"'), ("“", "”"), ("*", "*"))
_SEO_FIELDS = (
    ("title", "title"),
    ("short description", "short_description"),
    ("long description", "long_description"),
    ("keywords", "keywords"),
    ("tags", "tags"),
)


def spoken_words(text: str) -> int:
    """Words in ``text``, not counting fillers or tokens without a letter or digit."""
    return sum(1 for token in text.split() if _is_spoken_word(token))


def _is_spoken_word(token: str) -> bool:
    word = _EDGE_PUNCTUATION.sub("", token).lower()
    return bool(word) and word not in FILLERS


def content_words(markdown: str) -> int:
    """Words in a Markdown output, leaving out headings, speaker labels and provenance."""
    return sum(spoken_words(line) for line in _content_lines(markdown))


def _content_lines(markdown: str) -> list[str]:
    text = _HTML_COMMENT.sub("", _FRONT_MATTER.sub("", markdown, count=1))
    lines = []
    for line in text.splitlines():
        if _HEADING.match(line) or _PROVENANCE.match(line):
            continue
        lines.append(_LABEL.sub("", line))
    return lines


def completeness_ratio(formatted_markdown: str, spoken_word_count: int) -> float:
    """Formatted words divided by spoken words; 1.0 when nothing was spoken."""
    if spoken_word_count <= 0:
        return 1.0
    return content_words(formatted_markdown) / spoken_word_count


@dataclass
class SeoDraft:
    """The fields of an SEO output, as parsed back out of its Markdown."""

    title: str = ""
    short_description: str = ""
    long_description: str = ""
    keywords: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def parse_seo(markdown: str) -> SeoDraft:
    """Read an SEO output's sections; missing sections come back empty."""
    sections = _seo_sections(markdown)
    return SeoDraft(
        title=_single_text(sections.get("title", "")),
        short_description=_single_text(sections.get("short_description", "")),
        long_description=_single_text(sections.get("long_description", "")),
        keywords=_items(sections.get("keywords", "")),
        tags=_items(sections.get("tags", "")),
    )


def _seo_sections(markdown: str) -> dict[str, str]:
    text = _HTML_COMMENT.sub("", _FRONT_MATTER.sub("", markdown, count=1))
    matches = list(_SECTION.finditer(text))
    sections: dict[str, str] = {}
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        key = _seo_field(match.group(1))
        if key and key not in sections:
            sections[key] = _until_heading(text[match.end() : end])
    return sections


def _seo_field(heading: str) -> str | None:
    name = " ".join(heading.replace("*", "").lower().split())
    for prefix, key in _SEO_FIELDS:
        if name.startswith(prefix):
            return key
    return None


def _until_heading(body: str) -> str:
    """A section's text, stopping at a level-1 heading if one follows."""
    kept = []
    for line in body.splitlines():
        if _HEADING.match(line):
            break
        kept.append(line)
    return "\n".join(kept)


def _single_text(body: str) -> str:
    text = " ".join(line.strip() for line in body.splitlines() if line.strip())
    for opening, closing in _WRAPPERS:
        if _wrapped(text, opening, closing):
            text = text[len(opening) : -len(closing)].strip()
    return text


def _wrapped(text: str, opening: str, closing: str) -> bool:
    long_enough = len(text) > len(opening) + len(closing)
    return long_enough and text.startswith(opening) and text.endswith(closing)


def _items(body: str) -> list[str]:
    items = []
    for line in body.splitlines():
        for item in _BULLET.sub("", line).split(","):
            if item.strip():
                items.append(item.strip())
    return items


def limit_problems(seo: SeoDraft, limits: CharLimits) -> list[str]:
    """Readable problems with the SEO copy's presence and length, empty when all is well."""
    problems = []
    for label, text, limit in _limited_fields(seo, limits):
        if not text:
            problems.append(f"{label} is missing.")
        elif len(text) > limit:
            problems.append(f"{label} is {len(text)} characters; the limit is {limit}.")
    return problems


def _limited_fields(seo: SeoDraft, limits: CharLimits) -> list[tuple[str, str, int]]:
    return [
        ("Title", seo.title, limits.title),
        ("Short description", seo.short_description, limits.short_description),
        ("Long description", seo.long_description, limits.long_description),
    ]
