"""Splitting a long transcript into formatter-sized chunks at speaker or sentence boundaries."""

from __future__ import annotations

from editorial_assistant.transcripts.models import Cue

SENTENCE_ENDS = (".", "?", "!", '."', '?"', '!"', "…")


def chunk_cues(cues: tuple[Cue, ...], *, target_words: int) -> list[tuple[Cue, ...]]:
    """Group cues into chunks of about ``target_words``, cut at a turn or sentence end."""
    chunks: list[tuple[Cue, ...]] = []
    current: list[Cue] = []
    words = 0
    for index, cue in enumerate(cues):
        current.append(cue)
        words += cue.word_count
        following = cues[index + 1] if index + 1 < len(cues) else None
        if following is not None and _should_cut(words, target_words, cue, following):
            chunks.append(tuple(current))
            current, words = [], 0
    if current:
        chunks.append(tuple(current))
    return chunks


def _should_cut(words: int, target: int, cue: Cue, following: Cue) -> bool:
    if words < target:
        return False
    if following.new_turn or cue.text.rstrip().endswith(SENTENCE_ENDS):
        return True
    return words >= target * 1.5
