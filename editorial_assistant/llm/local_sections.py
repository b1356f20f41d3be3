"""Dividing a programme into sections at speaker changes near regular time boundaries.

The analyst's structure and the timestamp phase's chapters share this. A programme gets a
section roughly every 3–8 minutes (longer programmes get longer sections), at least three once
it runs three minutes, and each boundary moves to the nearest speaker change (else sentence
start) within half a section of its ideal time. Captions without times get times estimated from
word position at 150 words per minute.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from editorial_assistant.llm.local_keywords import distinctive_terms, extract_keywords
from editorial_assistant.llm.local_text import (
    all_sentences,
    excerpt,
    fit_to_limit,
    group_turns,
    is_boilerplate,
    is_complete,
    join_and,
    spoken_cues,
    starts_turn,
)
from editorial_assistant.transcripts.models import Cue, ParsedTranscript

WORDS_PER_MINUTE = 150
MIN_SECTION_SECONDS = 180.0
MAX_SECTION_SECONDS = 480.0
SECTIONS_PER_PROGRAMME = 8
MIN_GAP_SECONDS = 10.0
TITLE_LIMIT = 50


@dataclass(frozen=True)
class Timeline:
    """Spoken cues with a start time each, the programme length, and whether times are guessed."""

    cues: tuple[Cue, ...]
    times: tuple[float, ...]
    duration: float
    estimated: bool


@dataclass(frozen=True)
class Section:
    """A stretch of the programme: its times, cues, first word position and title."""

    start: float
    end: float
    cues: tuple[Cue, ...]
    first_word: int
    title: str

    @property
    def words(self) -> int:
        """Spoken words in the section."""
        return sum(cue.word_count for cue in self.cues)


def build_timeline(transcript: ParsedTranscript) -> Timeline:
    """Start times for every spoken cue, measured when the captions have them."""
    cues = tuple(spoken_cues(transcript.cues))
    if any(cue.start is not None for cue in cues):
        times = _measured_times(cues)
        ends = [cue.end or cue.start or 0.0 for cue in cues]
        duration = max([transcript.duration_seconds, *ends, *times, 0.0])
        return Timeline(cues, times, duration, estimated=False)
    times = _estimated_times(cues)
    duration = sum(cue.word_count for cue in cues) * 60 / WORDS_PER_MINUTE
    return Timeline(cues, times, duration, estimated=True)


def _measured_times(cues: Sequence[Cue]) -> tuple[float, ...]:
    """Cue starts, carried forward where missing and never running backwards."""
    times, latest = [], 0.0
    for cue in cues:
        latest = max(latest, cue.start if cue.start is not None else latest)
        times.append(latest)
    return tuple(times)


def _estimated_times(cues: Sequence[Cue]) -> tuple[float, ...]:
    times, words = [], 0
    for cue in cues:
        times.append(words * 60 / WORDS_PER_MINUTE)
        words += cue.word_count
    return tuple(times)


def section_count(duration: float) -> int:
    """How many sections a programme of ``duration`` seconds gets."""
    length = min(max(duration / SECTIONS_PER_PROGRAMME, MIN_SECTION_SECONDS), MAX_SECTION_SECONDS)
    count = max(1, round(duration / length))
    return max(count, 3) if duration >= MIN_SECTION_SECONDS else count


def divide(timeline: Timeline) -> list[Section]:
    """The programme's sections, titled from their key terms."""
    if not timeline.cues:
        return []
    starts = _boundaries(timeline)
    spans = list(zip(starts, [*starts[1:], len(timeline.cues)], strict=True))
    titles = _titles([timeline.cues[a:b] for a, b in spans])
    return [_section(timeline, a, b, title) for (a, b), title in zip(spans, titles, strict=True)]


def _section(timeline: Timeline, first: int, last: int, title: str) -> Section:
    start = 0.0 if first == 0 else timeline.times[first]
    end = timeline.times[last] if last < len(timeline.cues) else timeline.duration
    words = sum(cue.word_count for cue in timeline.cues[:first])
    return Section(start, max(end, start), timeline.cues[first:last], words, title)


def _boundaries(timeline: Timeline) -> list[int]:
    count = section_count(timeline.duration)
    length = timeline.duration / count
    gap = max(MIN_GAP_SECONDS, length / 3)
    starts, previous = [0], 0.0
    for number in range(1, count):
        index = _best_cut(
            timeline, number * length, length / 2, (previous + gap, timeline.duration - gap)
        )
        if index is not None and index > starts[-1]:
            starts.append(index)
            previous = timeline.times[index]
    return starts


def _best_cut(
    timeline: Timeline, ideal: float, window: float, bounds: tuple[float, float]
) -> int | None:
    """The cue nearest ``ideal`` within ``window``, preferring speaker changes."""
    best, best_score = None, float("inf")
    for index, time in enumerate(timeline.times):
        if index == 0 or not bounds[0] <= time <= bounds[1] or abs(time - ideal) > window:
            continue
        score = abs(time - ideal) + _cut_penalty(timeline.cues, index)
        if score < best_score:
            best, best_score = index, score
    return best


def _cut_penalty(cues: Sequence[Cue], index: int) -> float:
    if starts_turn(cues, index):
        return 0.0
    return 20.0 if is_complete(cues[index - 1].text) else 60.0


def _titles(groups: Sequence[Sequence[Cue]]) -> list[str]:
    sentences = [_content_sentences(group) for group in groups]
    terms = distinctive_terms(sentences, 4)
    titles, seen = [], Counter[str]()
    for number, (texts, distinctive) in enumerate(zip(sentences, terms, strict=True)):
        title = _title(texts, distinctive) or _fallback_title(texts, number)
        seen[title] += 1
        titles.append(f"{title} (part {seen[title]})" if seen[title] > 1 else title)
    return titles


def _content_sentences(cues: Sequence[Cue]) -> list[str]:
    sentences = all_sentences(group_turns(cues))
    return [sentence.text for sentence in sentences if not is_boilerplate(sentence.text)]


def _title(sentences: Sequence[str], distinctive: Sequence[str]) -> str:
    names = extract_keywords(sentences, names=3, terms=0).names
    items = list(names[:1])
    words_in_names = " ".join(names).lower().split()
    items += [term for term in distinctive if term.lower() not in words_in_names]
    for size in range(min(len(items), 3), 0, -1):
        title = join_and(items[:size])
        if len(title) <= TITLE_LIMIT:
            return title[0].upper() + title[1:]
    return ""


def _fallback_title(sentences: Sequence[str], number: int) -> str:
    if sentences:
        title = fit_to_limit(excerpt(sentences[0], 6), TITLE_LIMIT)
        if title:
            return title
    return "Opening" if number == 0 else f"Part {number + 1}"
