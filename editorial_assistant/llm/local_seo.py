"""The local backend's SEO draft: ``seo.md`` in the shape ``parse_seo`` reads back.

The title and short description come from the analyst's draft metadata when it has them (so a
stronger model's brainstorming carries through), else from the transcript's keywords and leading
sentences; everything is cut at word boundaries to fit the configured limits. Keywords are
names then terms; tags are named speakers then single-word terms.
"""

from __future__ import annotations

import re

from editorial_assistant.llm.client import PhaseContext
from editorial_assistant.llm.local_metadata import (
    Analysis,
    analyse,
    draft_long_description,
    draft_short_description,
    draft_title,
)
from editorial_assistant.llm.local_text import fit_to_limit

KEYWORD_COUNT = 12
TAG_COUNT = 10

_DRAFT_FIELD = re.compile(
    r"^[ \t]*[-*][ \t]*\*\*(Title|Short description):\*\*[ \t]*(\S.*?)[ \t]*$", re.M | re.I
)


def draft_seo(context: PhaseContext) -> str:
    """Title, short and long description within the limits, keywords and tags."""
    analysis = analyse(context.transcript)
    title, short = _title_and_short(context, analysis)
    long = draft_long_description(analysis, limit=context.limits.long_description)
    sections = {
        "Title": title,
        "Short description": short,
        "Long description": long or fit_to_limit(short, context.limits.long_description),
        "Keywords": ", ".join(_keywords(analysis)),
        "Tags": ", ".join(_tags(context, analysis)),
    }
    parts = [f"# SEO metadata: {context.media_id}"]
    parts += [f"## {heading}\n\n{text}" for heading, text in sections.items()]
    return "\n\n".join(parts) + "\n"


def _title_and_short(context: PhaseContext, analysis: Analysis) -> tuple[str, str]:
    limits = context.limits
    drafted = _analyst_draft(context.previous.get("analyst", ""))
    title = fit_to_limit(drafted.get("title", ""), limits.title)
    title = title or draft_title(analysis, media_id=context.media_id, limit=limits.title)
    short = fit_to_limit(drafted.get("short description", ""), limits.short_description)
    short = short or draft_short_description(analysis, limit=limits.short_description)
    return title, short or fit_to_limit(title, limits.short_description)


def _analyst_draft(brainstorming: str) -> dict[str, str]:
    """The ``**Title:**`` and ``**Short description:**`` lines of the analyst's draft."""
    fields: dict[str, str] = {}
    for match in _DRAFT_FIELD.finditer(brainstorming):
        fields.setdefault(match.group(1).lower(), match.group(2))
    return fields


def _keywords(analysis: Analysis) -> list[str]:
    return _unique(analysis.keywords.combined(KEYWORD_COUNT))


def _tags(context: PhaseContext, analysis: Analysis) -> list[str]:
    spoken = context.transcript.spoken_text
    speakers = [name for name in context.transcript.speakers if _named_in(name, spoken)]
    terms = [term for term in analysis.keywords.terms if " " not in term]
    return _unique([*speakers, *terms])[:TAG_COUNT]


def _named_in(speaker: str, spoken: str) -> bool:
    """A speaker label that is a full name said aloud (not a role like ``Announcer``)."""
    return len(speaker.split()) >= 2 and speaker in spoken


def _unique(items: list[str]) -> list[str]:
    """Items without commas, duplicates (ignoring case) or blanks, in order."""
    seen: dict[str, str] = {}
    for item in items:
        clean = " ".join(item.replace(",", " ").split())
        if clean:
            seen.setdefault(clean.lower(), clean)
    return list(seen.values())
