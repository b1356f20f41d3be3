"""Text helpers for the local backend: speaker turns, sentences, limits and clock formats.

Caption cues break sentences mid-phrase, so the local drafts first regroup cues into speaker
turns (a new turn at every ``new_turn`` or change of speaker) and split each turn into sentences,
remembering the time of the cue where each sentence starts.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from editorial_assistant.transcripts.models import Cue

_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*\s+(?=[^\w\s]*(?:\s+[^\w\s]+)*\s*(\w))")
_ABBREVIATION = re.compile(
    r"(?:^|[\s(])(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Prof|Rev|Mt|Ft|Gov|Sen|Rep|Gen|Lt|Col|Sgt|Capt|"
    r"No|vs|[A-Z])\.$"
)
_COMPLETE = re.compile(r"[.!?…][\"'”’)\]]*$")
_BOILERPLATE = re.compile(
    r"following program|funding for|(?:is|was) provided by|made possible by|"
    r"original production|proceeds from|financial gift|viewers like you|"
    r"support(?:s|ed)? (?:for )?PBS|underwriting",
    re.I,
)
_DANGLING_TEXT = "a an the and or but of to in on at by for with from as that which who"
_DANGLING = frozenset(_DANGLING_TEXT.split())


@dataclass(frozen=True)
class Turn:
    """A run of cues spoken by one speaker without a turn change."""

    speaker: str | None
    cues: tuple[Cue, ...]

    @property
    def text(self) -> str:
        """The turn's spoken text, cue texts joined with spaces."""
        return " ".join(cue.text.strip() for cue in self.cues)

    @property
    def start(self) -> float | None:
        """The first known start time in the turn."""
        return next((cue.start for cue in self.cues if cue.start is not None), None)

    @property
    def words(self) -> int:
        """Spoken words in the turn."""
        return sum(cue.word_count for cue in self.cues)


@dataclass(frozen=True)
class Sentence:
    """One sentence with its speaker and the start time of the cue it begins in."""

    text: str
    speaker: str | None
    start: float | None

    @property
    def words(self) -> int:
        """Words in the sentence."""
        return len(self.text.split())


def spoken_cues(cues: Iterable[Cue]) -> list[Cue]:
    """Cues with spoken text; a turn change on a dropped (sound-only) cue moves forward."""
    kept: list[Cue] = []
    pending_turn = False
    for cue in cues:
        if not cue.text.strip():
            pending_turn = pending_turn or cue.new_turn
            continue
        kept.append(replace(cue, new_turn=True) if pending_turn else cue)
        pending_turn = False
    return kept


def starts_turn(cues: Sequence[Cue], index: int) -> bool:
    """Whether the cue at ``index`` begins a new speaker turn."""
    if index == 0 or cues[index].new_turn:
        return True
    return cues[index].speaker != cues[index - 1].speaker


def group_turns(cues: Iterable[Cue]) -> list[Turn]:
    """Regroup cues into speaker turns."""
    spoken = spoken_cues(cues)
    turns: list[list[Cue]] = []
    for index, cue in enumerate(spoken):
        if starts_turn(spoken, index):
            turns.append([])
        turns[-1].append(cue)
    return [Turn(group[0].speaker, tuple(group)) for group in turns]


def split_sentences(text: str) -> list[str]:
    """Split text into sentences at terminal punctuation followed by a capital or digit."""
    return [sentence for _, sentence in _sentence_spans(text)]


def _sentence_spans(text: str) -> list[tuple[int, str]]:
    spans, begin = [], 0
    for match in _BOUNDARY.finditer(text):
        window = text[max(0, match.start() - 8) : match.start() + 1]
        if _ABBREVIATION.search(window) or not _starts_sentence(match.group(1)):
            continue
        spans.append((begin, text[begin : match.end()].strip()))
        begin = match.end()
    if text[begin:].strip():
        spans.append((begin, text[begin:].strip()))
    return [(start, " ".join(sentence.split())) for start, sentence in spans if sentence]


def _starts_sentence(character: str) -> bool:
    return character.isupper() or character.isdigit()


def turn_sentences(turn: Turn) -> list[Sentence]:
    """The turn's sentences, each with the start time of the cue it begins in."""
    offsets, offset = [], 0
    for cue in turn.cues:
        offsets.append(offset)
        offset += len(cue.text.strip()) + 1
    sentences = []
    for begin, text in _sentence_spans(turn.text):
        cue = turn.cues[bisect_right(offsets, begin) - 1]
        sentences.append(Sentence(text, turn.speaker, cue.start))
    return sentences


def all_sentences(turns: Iterable[Turn]) -> list[Sentence]:
    """Every sentence of every turn, in order."""
    return [sentence for turn in turns for sentence in turn_sentences(turn)]


def is_complete(text: str) -> bool:
    """Whether a sentence ends with terminal punctuation."""
    return bool(_COMPLETE.search(text.strip()))


def is_boilerplate(text: str) -> bool:
    """Whether a sentence is station boilerplate (funding credits, production notices)."""
    return bool(_BOILERPLATE.search(text))


def fit_to_limit(text: str, limit: int) -> str:
    """Shorten text to ``limit`` characters at a sentence or word boundary; never split a word."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    whole = _whole_sentences(text, limit)
    if len(whole) >= limit // 2:
        return whole
    return _whole_words(text, limit)


def _whole_sentences(text: str, limit: int) -> str:
    kept = ""
    for sentence in split_sentences(text):
        candidate = f"{kept} {sentence}".strip()
        if len(candidate) > limit or not is_complete(sentence):
            break
        kept = candidate
    return kept


def _whole_words(text: str, limit: int) -> str:
    """Leading whole words plus an ellipsis, within ``limit``; empty if no word fits."""
    kept: list[str] = []
    length = 0
    for word in text.split():
        length += len(word) + (1 if kept else 0)
        if length + 1 > limit:
            break
        kept.append(word)
    while kept and kept[-1].strip(",;:—–-").lower() in _DANGLING:
        kept.pop()
    cut = " ".join(kept).rstrip(",;:—–- ")
    return f"{cut}…" if cut else ""


def plural(count: int, noun: str) -> str:
    """``1 turn``, ``2 turns``, ``1,234 words``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def join_and(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def excerpt(text: str, words: int = 8) -> str:
    """The first few words of ``text``, with an ellipsis when cut."""
    tokens = text.split()
    if len(tokens) <= words:
        return " ".join(tokens)
    return " ".join(tokens[:words]).rstrip(",;:—–-") + "…"


def clock_mmss(seconds: float) -> str:
    """``MM:SS`` (minutes keep counting past the hour)."""
    whole = int(seconds)
    return f"{whole // 60:02d}:{whole % 60:02d}"


def clock_hms(seconds: float) -> str:
    """``HH:MM:SS``."""
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def clock_youtube(seconds: float) -> str:
    """``M:SS`` under an hour, ``H:MM:SS`` from an hour on."""
    whole = int(seconds)
    hours, minutes, secs = whole // 3600, whole % 3600 // 60, whole % 60
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"
