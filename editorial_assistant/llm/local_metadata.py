"""What the local backend reads out of a transcript, and its draft title and descriptions.

``analyse`` computes the turns, sentences and keywords once per call; the analyst and SEO
drafts both build their title and descriptions from it, cut to the configured character limits
at word boundaries so the copy never runs over and never ends in half a word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from editorial_assistant.llm.local_fillers import remove_fillers
from editorial_assistant.llm.local_keywords import Keywords, extract_keywords
from editorial_assistant.llm.local_text import (
    Sentence,
    Turn,
    all_sentences,
    fit_to_limit,
    group_turns,
    is_boilerplate,
    is_complete,
    join_and,
)
from editorial_assistant.transcripts.models import ParsedTranscript

SUMMARY_SENTENCES = 3
MIN_SUMMARY_WORDS = 5
SHORT_CANDIDATES = 8
_STATION = re.compile(r"\bPBS\b")  # the station's own name is on everything; never a title
_PUNCTUATION = ".,;:!?\"'“”‘’()…"


@dataclass(frozen=True)
class Analysis:
    """A transcript's turns, sentences (all, and without boilerplate) and keywords."""

    turns: tuple[Turn, ...]
    sentences: tuple[Sentence, ...]
    content: tuple[Sentence, ...]
    keywords: Keywords


def analyse(transcript: ParsedTranscript) -> Analysis:
    """Turns, sentences and keywords of a transcript."""
    turns = tuple(group_turns(transcript.cues))
    sentences = tuple(all_sentences(turns))
    cleaned = (_cleaned(s) for s in sentences if not is_boilerplate(s.text))
    content = tuple(sentence for sentence in cleaned if sentence.text)
    keywords = extract_keywords([sentence.text for sentence in content])
    return Analysis(turns, sentences, content, keywords)


def _cleaned(sentence: Sentence) -> Sentence:
    return replace(sentence, text=remove_fillers(sentence.text))


def summary_sentences(analysis: Analysis, count: int = SUMMARY_SENTENCES) -> list[str]:
    """The leading complete, substantial, non-boilerplate sentences."""
    chosen: list[str] = []
    for sentence in analysis.content:
        if _summarisable(sentence) and sentence.text not in chosen:
            chosen.append(sentence.text)
        if len(chosen) == count:
            break
    return chosen or [sentence.text for sentence in analysis.content[:count]]


def _summarisable(sentence: Sentence) -> bool:
    return sentence.words >= MIN_SUMMARY_WORDS and is_complete(sentence.text)


def draft_title(analysis: Analysis, *, media_id: str, limit: int) -> str:
    """A title from the leading name and terms, or the opening words, within ``limit``."""
    for candidate in _title_candidates(analysis.keywords):
        if 0 < len(candidate) <= limit:
            return candidate
    for fallback in [*summary_sentences(analysis, 1), media_id]:
        title = fit_to_limit(fallback.rstrip(".!?…"), limit)
        if title:
            return title
    return ""


def _title_candidates(keywords: Keywords) -> list[str]:
    names = [name for name in keywords.names if not _STATION.search(name)]
    name = names[0] if names else ""
    terms = [_title_case(term) for term in keywords.free_terms()]
    candidates = [f"{name}: {join_and(terms[:size])}" for size in (3, 2, 1) if name and terms]
    if name:
        candidates.append(name)
    candidates += [join_and(terms[:size]) for size in (3, 2, 1) if terms]
    return candidates


def _title_case(term: str) -> str:
    return "-".join(part[:1].upper() + part[1:] for part in term.split("-"))


def draft_short_description(analysis: Analysis, *, limit: int) -> str:
    """The opening sentence richest in keywords that fits ``limit``, else the first cut to fit."""
    sentences = summary_sentences(analysis, count=SHORT_CANDIDATES)
    fitting = [sentence for sentence in sentences if len(sentence) <= limit]
    if fitting:
        keywords = keyword_words(analysis.keywords)
        return max(fitting, key=lambda sentence: keyword_hits(sentence, keywords))
    return fit_to_limit(sentences[0], limit) if sentences else ""


def keyword_words(keywords: Keywords) -> frozenset[str]:
    """The lower-cased words of the leading names and terms."""
    return frozenset(word.lower() for item in keywords.combined(20) for word in item.split())


def keyword_hits(sentence: str, keywords: frozenset[str]) -> int:
    """How many distinct keyword words a sentence contains."""
    return len({word.strip(_PUNCTUATION).lower() for word in sentence.split()} & keywords)


def draft_long_description(analysis: Analysis, *, limit: int) -> str:
    """As many leading summary sentences as fit ``limit``."""
    sentences = summary_sentences(analysis, count=8)
    kept = ""
    for sentence in sentences:
        candidate = f"{kept} {sentence}".strip()
        if len(candidate) > limit:
            break
        kept = candidate
    if kept or not sentences:
        return kept
    return fit_to_limit(sentences[0], limit)
