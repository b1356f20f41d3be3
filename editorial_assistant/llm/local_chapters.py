"""The local backend's timestamp draft: ``timestamps.md`` with chapters in two formats.

Chapters are the shared sections (a speaker change near every 3–8 minutes, titled from each
section's distinctive names and terms, the first at 0:00). The Media Manager table gives
``HH:MM:SS`` starts and ends; the YouTube list gives ``M:SS`` (``H:MM:SS`` past the hour) lines
ready to paste. Captions without times get estimated times, and the output says so.
"""

from __future__ import annotations

from editorial_assistant.llm.client import PhaseContext
from editorial_assistant.llm.local_sections import (
    WORDS_PER_MINUTE,
    Section,
    Timeline,
    build_timeline,
    divide,
)
from editorial_assistant.llm.local_text import clock_hms, clock_youtube, plural

YOUTUBE_MIN_CHAPTERS = 3
ESTIMATED_NOTE = "Estimated times (no times in the captions).\n\n"


def draft_chapters(context: PhaseContext) -> str:
    """Chapters for the whole programme in Media Manager and YouTube formats."""
    timeline = build_timeline(context.transcript)
    sections = divide(timeline)
    parts = [f"# Chapters: {context.media_id}", _overview(timeline, sections)]
    if sections:
        note = ESTIMATED_NOTE if timeline.estimated else ""
        parts.append("## Media Manager\n\n" + note + _table(sections))
        parts.append("## YouTube\n\n" + note + _youtube(sections))
    return "\n\n".join(parts) + "\n"


def _overview(timeline: Timeline, sections: list[Section]) -> str:
    if not sections:
        return "The captions have no spoken text, so there are no chapters."
    summary = f"{plural(len(sections), 'chapter')} over {clock_hms(timeline.duration)}."
    if len(sections) > 1:
        summary += " Each starts at a speaker change where one falls near the boundary."
    if not timeline.estimated:
        return summary
    return (
        f"**Estimated times.** The captions carry no times, so these times are estimated from "
        f"word position at {WORDS_PER_MINUTE} words per minute; check them against the video "
        f"before publishing. {summary}"
    )


def _table(sections: list[Section]) -> str:
    rows = ["| Chapter | Start | End |", "|---|---|---|"]
    for section in sections:
        title = section.title.replace("|", "/")
        rows.append(f"| {title} | {clock_hms(section.start)} | {clock_hms(section.end)} |")
    return "\n".join(rows)


def _youtube(sections: list[Section]) -> str:
    lines = [f"{clock_youtube(section.start)} {section.title}" for section in sections]
    block = "```text\n" + "\n".join(lines) + "\n```"
    if len(sections) >= YOUTUBE_MIN_CHAPTERS:
        return block
    return (
        f"{block}\n\nYouTube shows chapters only when there are at least "
        f"{YOUTUBE_MIN_CHAPTERS}, each 10 seconds or longer; this programme is too short for that."
    )
