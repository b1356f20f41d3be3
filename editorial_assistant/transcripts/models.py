"""What a parsed caption file looks like to the rest of the program.

Parsers turn bytes into a ``ParsedTranscript``: a tuple of ``Cue`` objects holding only spoken
text (tags and sound cues removed), the speaker in force, and times where the file had them.
The pipeline, the local LLM backend and the intake all read this shape and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FORMATS = ("srt", "timecode", "prose")


@dataclass(frozen=True)
class Cue:
    """One caption block (or prose paragraph) after cleaning."""

    text: str
    start: float | None = None
    end: float | None = None
    speaker: str | None = None
    new_turn: bool = False
    sounds: tuple[str, ...] = ()

    @property
    def word_count(self) -> int:
        """Spoken words in this cue."""
        return len(self.text.split())


@dataclass(frozen=True)
class ParsedTranscript:
    """A caption file's spoken content, ready for the pipeline."""

    format: str
    encoding: str
    cues: tuple[Cue, ...]
    duration_seconds: float
    duration_estimated: bool = False
    warnings: tuple[str, ...] = field(default=())

    @property
    def word_count(self) -> int:
        """Spoken words in the whole transcript."""
        return sum(cue.word_count for cue in self.cues)

    @property
    def speakers(self) -> tuple[str, ...]:
        """Named speakers in order of first appearance."""
        seen: dict[str, None] = {}
        for cue in self.cues:
            if cue.speaker:
                seen.setdefault(cue.speaker, None)
        return tuple(seen)

    @property
    def spoken_text(self) -> str:
        """All spoken text joined with spaces."""
        return " ".join(cue.text for cue in self.cues if cue.text)
