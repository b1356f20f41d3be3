"""The local backend's analyst draft: ``brainstorming.md``.

Sections: Summary (the leading sentences), Speakers (turns and words each), Structure (the
shared sections with times when known), Key quotes (long sentences rich in keywords, with
speaker and time), Keywords (names and terms) and Draft metadata (a title and a short
description within the character limits).
"""

from __future__ import annotations

from collections import Counter

from editorial_assistant.llm.client import PhaseContext
from editorial_assistant.llm.local_metadata import (
    Analysis,
    analyse,
    draft_short_description,
    draft_title,
    keyword_hits,
    keyword_words,
    summary_sentences,
)
from editorial_assistant.llm.local_sections import Section, Timeline, build_timeline, divide
from editorial_assistant.llm.local_text import (
    Sentence,
    clock_mmss,
    excerpt,
    is_complete,
    join_and,
    plural,
)

QUOTE_COUNT = 5
QUOTE_WORDS = (8, 45)


def draft_brainstorming(context: PhaseContext) -> str:
    """The brainstorming document for the whole transcript."""
    analysis = analyse(context.transcript)
    limits = context.limits
    title = draft_title(analysis, media_id=context.media_id, limit=limits.title)
    short = draft_short_description(analysis, limit=limits.short_description)
    parts = [
        f"# Brainstorming: {context.media_id}",
        _section("Summary", " ".join(summary_sentences(analysis)) or "No spoken text."),
        _section("Speakers", _speakers(analysis)),
        _section("Structure", _structure(build_timeline(context.transcript))),
        _section("Key quotes", _quotes(analysis)),
        _section("Keywords", _keywords(analysis)),
        _section("Draft metadata", f"- **Title:** {title}\n- **Short description:** {short}"),
    ]
    return "\n\n".join(parts) + "\n"


def _section(heading: str, body: str) -> str:
    return f"## {heading}\n\n{body}"


def _speakers(analysis: Analysis) -> str:
    turns: Counter[str | None] = Counter()
    words: Counter[str | None] = Counter()
    for turn in analysis.turns:
        turns[turn.speaker] += 1
        words[turn.speaker] += turn.words
    lines = [_speaker_line(f"**{name}**", turns[name], words[name]) for name in turns if name]
    if None in turns:
        label = "Unnamed speakers" if lines else "No speaker names in the captions"
        lines.append(_speaker_line(label, turns[None], words[None]))
    return "\n".join(lines) or "No spoken text."


def _speaker_line(label: str, turns: int, words: int) -> str:
    return f"- {label}: {plural(turns, 'turn')}, {plural(words, 'word')}"


def _structure(timeline: Timeline) -> str:
    sections = divide(timeline)
    if not sections:
        return "No spoken text."
    lines = [_structure_line(section, timeline.estimated) for section in sections]
    return "\n".join(f"{number}. {line}" for number, line in enumerate(lines, start=1))


def _structure_line(section: Section, estimated: bool) -> str:
    where = f"{clock_mmss(section.start)}–{clock_mmss(section.end)}"
    if estimated:
        where = f"Words {section.first_word + 1:,}–{section.first_word + section.words:,}"
    speakers = list(dict.fromkeys(cue.speaker for cue in section.cues if cue.speaker))
    who = f" — {join_and(speakers)}" if speakers else ""
    opening = excerpt(" ".join(cue.text for cue in section.cues[:3]), 10)
    return f'**{where}** {section.title}{who} ({plural(section.words, "word")}). Opens: "{opening}"'


def _quotes(analysis: Analysis) -> str:
    keywords = keyword_words(analysis.keywords)
    candidates = [s for s in analysis.content if _quotable(s)]
    order = sorted(range(len(candidates)), key=lambda i: -_quote_score(candidates[i], keywords))
    chosen = [candidates[i] for i in sorted(order[:QUOTE_COUNT])]
    return "\n".join(map(_quote_line, chosen)) or "No complete sentences long enough to quote."


def _quotable(sentence: Sentence) -> bool:
    low, high = QUOTE_WORDS
    return low <= sentence.words <= high and is_complete(sentence.text)


def _quote_score(sentence: Sentence, keywords: frozenset[str]) -> int:
    return min(sentence.words, 35) + 4 * keyword_hits(sentence.text, keywords)


def _quote_line(sentence: Sentence) -> str:
    source = f" — {sentence.speaker}" if sentence.speaker else ""
    when = f" [{clock_mmss(sentence.start)}]" if sentence.start is not None else ""
    return f'- "{sentence.text}"{source}{when}'


def _keywords(analysis: Analysis) -> str:
    names = ", ".join(analysis.keywords.names) or "none found"
    terms = ", ".join(analysis.keywords.free_terms()) or "none found"
    return f"- **Names:** {names}\n- **Terms:** {terms}"
