"""The local backend's formatter draft: speaker paragraphs for one chunk of cues.

Each speaker turn becomes a ``**Name:**`` paragraph (a plain paragraph when the captions name
no one); long turns are broken into paragraphs of a few sentences. Fillers (``um``, ``uh``,
``er``, and ``you know,`` set off by commas or opening a sentence) are removed; nothing else
changes except the capital letter of a sentence that began with a filler. Sound cues are left
out. Only the first chunk carries the heading, so the runner can join chunks with a blank line.
"""

from __future__ import annotations

from editorial_assistant.llm.client import PhaseContext
from editorial_assistant.llm.local_fillers import remove_fillers
from editorial_assistant.llm.local_text import Turn, group_turns, split_sentences

PARAGRAPH_SENTENCES = 4
PARAGRAPH_WORDS = 90


def draft_formatted(context: PhaseContext) -> str:
    """Speaker paragraphs for this chunk, headed on the first chunk only."""
    cues = context.cues or context.transcript.cues
    paragraphs = [p for turn in group_turns(cues) for p in _turn_paragraphs(turn)]
    if context.chunk_index == 0:
        paragraphs.insert(0, f"# Formatted transcript: {context.media_id}")
    return "\n\n".join(paragraphs) + "\n"


def _turn_paragraphs(turn: Turn) -> list[str]:
    paragraphs = _paragraphs(split_sentences(remove_fillers(turn.text)))
    if paragraphs and turn.speaker:
        paragraphs[0] = f"**{_label(turn.speaker)}:** {paragraphs[0]}"
    return paragraphs


def _label(speaker: str) -> str:
    return " ".join(speaker.replace("*", "").split())


def _paragraphs(sentences: list[str]) -> list[str]:
    """Group sentences into paragraphs of a few sentences each."""
    paragraphs: list[list[str]] = []
    words = 0
    for sentence in sentences:
        if not paragraphs or _full(paragraphs[-1], words):
            paragraphs.append([])
            words = 0
        paragraphs[-1].append(sentence)
        words += len(sentence.split())
    return [" ".join(group) for group in paragraphs]


def _full(paragraph: list[str], words: int) -> bool:
    return len(paragraph) >= PARAGRAPH_SENTENCES or words >= PARAGRAPH_WORDS
