"""Tests for the built-in local backend: every phase's draft, limits, fillers and chapters."""

from __future__ import annotations

import re
from dataclasses import replace
from itertools import pairwise
from typing import Any

import pytest

from editorial_assistant.llm.client import CharLimits, LLMError, LLMRequest, PhaseContext
from editorial_assistant.llm.local import LocalLLMClient
from editorial_assistant.llm.local_fillers import remove_fillers
from editorial_assistant.llm.local_text import fit_to_limit
from editorial_assistant.pipeline.checks import completeness_ratio, parse_seo, spoken_words
from editorial_assistant.transcripts.models import Cue, ParsedTranscript

MEDIA_ID = "2WLI1209HD"
PHASES = ("analyst", "formatter", "seo", "manager", "timestamp")
SPEAKERS = ("Angela Fitzgerald", "John Foust")
TOPICS = (
    ("Great Wisconsin Quilt Show", "quilt", "fabric"),
    ("Eau Claire", "kubb", "tournament"),
    ("Bristol Woods County Park", "trail", "runners"),
)
TEMPLATES = (
    "The {a} at {name} drew a crowd this year.",
    "Everyone wanted to see the {b} up close.",
    "I remember my first {a} very well, and the {b} that came with it.",
    "It takes patience to make a good {a}.",
)
WORD = re.compile(r"[\w'’-]+")
YOUTUBE_LINE = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d\d) (.+)$")


def interview(minutes: float, *, cue_seconds: float = 5.0, turn_cues: int = 6) -> ParsedTranscript:
    """Two named speakers alternating every ``turn_cues`` cues, topics changing in thirds."""
    count = int(minutes * 60 / cue_seconds)
    cues = [_interview_cue(index, count, cue_seconds, turn_cues) for index in range(count)]
    return transcript(cues, duration=minutes * 60)


def _interview_cue(index: int, count: int, seconds: float, turn_cues: int) -> Cue:
    name, a, b = TOPICS[index * len(TOPICS) // count]
    text = TEMPLATES[index % len(TEMPLATES)].format(name=name, a=a, b=b)
    speaker = SPEAKERS[index // turn_cues % 2]
    start = index * seconds
    return Cue(text, start, start + seconds, speaker, new_turn=index % turn_cues == 0)


def transcript(cues: list[Cue], *, duration: float = 0.0) -> ParsedTranscript:
    """A parsed transcript built directly from cues."""
    return ParsedTranscript(
        format="srt", encoding="utf-8", cues=tuple(cues), duration_seconds=duration
    )


def complete(phase: str, parsed: ParsedTranscript, **context: Any) -> str:
    """Run one phase on the local backend and return its Markdown body."""
    return LocalLLMClient().complete(request(phase, parsed, **context)).text


def request(
    phase: str,
    parsed: ParsedTranscript,
    *,
    limits: CharLimits | None = None,
    previous: dict[str, str] | None = None,
    cues: tuple[Cue, ...] = (),
    chunk_index: int = 0,
    chunk_count: int = 1,
) -> LLMRequest:
    """A request for ``phase`` over ``parsed``, with default limits."""
    context = PhaseContext(
        MEDIA_ID, parsed, limits or CharLimits(), previous or {}, cues, chunk_index, chunk_count
    )
    return LLMRequest(job_id="1", phase=phase, tier=0, messages=(), context=context)


def all_drafts(parsed: ParsedTranscript, limits: CharLimits | None = None) -> dict[str, str]:
    """Every phase in order, each seeing the drafts before it."""
    previous: dict[str, str] = {}
    for phase in PHASES:
        previous[phase] = complete(
            phase, parsed, previous=dict(previous), limits=limits or CharLimits()
        )
    return previous


def vocabulary(text: str) -> set[str]:
    """Lower-cased words of ``text``."""
    return {word.lower() for word in WORD.findall(text)}


def headings(markdown: str) -> list[str]:
    """The level-2 headings of a Markdown body, in order."""
    return re.findall(r"^## (.+)$", markdown, re.M)


def section(markdown: str, heading: str) -> str:
    """The text under one level-2 heading."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", markdown, re.M | re.S)
    assert match, f"no section {heading!r}"
    return match.group(1).strip()


def youtube_seconds(markdown: str) -> list[int]:
    """Chapter start times from the YouTube section, in seconds."""
    seconds = []
    for line in section(markdown, "YouTube").splitlines():
        if match := YOUTUBE_LINE.match(line):
            hours, minutes, secs = (int(part or 0) for part in match.groups()[:3])
            seconds.append(hours * 3600 + minutes * 60 + secs)
    return seconds


# The client


def test_it_reports_model_local_at_no_cost_with_word_counts_as_tokens() -> None:
    parsed = interview(2)
    result = LocalLLMClient().complete(request("analyst", parsed))
    assert LocalLLMClient.name == "local"
    assert (result.model, result.cost_usd) == ("local", 0.0)
    assert result.prompt_tokens == parsed.word_count
    assert result.completion_tokens == len(result.text.split())
    assert result.latency_seconds >= 0


def test_it_refuses_an_unknown_phase_permanently() -> None:
    with pytest.raises(LLMError) as raised:
        complete("poet", interview(1))
    assert raised.value.transient is False


@pytest.mark.parametrize("phase", PHASES)
def test_it_gives_the_same_draft_for_the_same_input(phase: str) -> None:
    parsed = interview(12)
    previous = all_drafts(parsed)
    assert complete(phase, parsed, previous=previous) == complete(phase, parsed, previous=previous)


@pytest.mark.parametrize("phase", PHASES)
def test_every_draft_starts_with_a_level_one_heading_naming_the_media_id(phase: str) -> None:
    first_line = all_drafts(interview(6))[phase].splitlines()[0]
    assert first_line.startswith("# ") and first_line.endswith(f": {MEDIA_ID}")


@pytest.mark.parametrize("phase", PHASES)
def test_it_drafts_every_phase_for_an_empty_transcript(phase: str) -> None:
    assert complete(phase, transcript([])).startswith("# ")


# Analyst


def test_it_writes_every_brainstorming_section_in_order() -> None:
    body = complete("analyst", interview(10))
    assert body.startswith(f"# Brainstorming: {MEDIA_ID}\n")
    assert headings(body) == [
        "Summary",
        "Speakers",
        "Structure",
        "Key quotes",
        "Keywords",
        "Draft metadata",
    ]


def test_it_summarises_with_the_leading_sentences() -> None:
    summary = section(complete("analyst", interview(10)), "Summary")
    assert summary.startswith("The quilt at Great Wisconsin Quilt Show drew a crowd this year.")


def test_it_counts_turns_and_words_per_speaker() -> None:
    cues = [
        Cue("Welcome to the show today.", 0, 2, "Angela", new_turn=True),
        Cue("Thank you for having me.", 2, 4, "John", new_turn=True),
        Cue("Tell us about kubb.", 4, 6, "Angela", new_turn=True),
        Cue("It is a lawn game.", 6, 8, None, new_turn=True),
    ]
    speakers = section(complete("analyst", transcript(cues, duration=8)), "Speakers")
    assert speakers.splitlines() == [
        "- **Angela**: 2 turns, 9 words",
        "- **John**: 1 turn, 5 words",
        "- Unnamed speakers: 1 turn, 5 words",
    ]


def test_it_lists_the_structure_with_times_when_known() -> None:
    structure = section(complete("analyst", interview(30)), "Structure")
    assert structure.startswith("1. **00:00–")
    assert len(structure.splitlines()) >= 3


def test_it_lists_the_structure_by_word_position_without_times() -> None:
    untimed = transcript([replace(c, start=None, end=None) for c in interview(20).cues])
    assert section(complete("analyst", untimed), "Structure").startswith("1. **Words 1–")


def test_it_quotes_complete_sentences_with_speaker_and_time() -> None:
    quotes = section(complete("analyst", interview(10)), "Key quotes").splitlines()
    assert 1 <= len(quotes) <= 5
    for line in quotes:
        assert re.match(r'^- ".+[.!?]" — (Angela Fitzgerald|John Foust) \[\d\d:\d\d\]$', line)


def test_it_extracts_names_and_terms_as_keywords() -> None:
    keywords = section(complete("analyst", interview(10)), "Keywords")
    assert "Great Wisconsin Quilt Show" in keywords and "Eau Claire" in keywords
    assert "kubb" in keywords and "the," not in keywords


def test_it_drafts_a_title_and_short_description_within_the_limits() -> None:
    limits = CharLimits(title=30, short_description=50)
    metadata = section(complete("analyst", interview(10), limits=limits), "Draft metadata")
    title, short = (line.split(":** ", 1)[1] for line in metadata.splitlines())
    assert 0 < len(title) <= 30 and 0 < len(short) <= 50


# Formatter


def test_it_writes_a_labelled_paragraph_for_each_turn() -> None:
    cues = [
        Cue("Welcome to", 0, 1, "Angela", new_turn=True),
        Cue("the show.", 1, 2, "Angela"),
        Cue("Thanks.", 2, 3, "John", new_turn=True),
    ]
    body = complete("formatter", transcript(cues))
    heading = f"# Formatted transcript: {MEDIA_ID}"
    assert body == f"{heading}\n\n**Angela:** Welcome to the show.\n\n**John:** Thanks.\n"


def test_it_writes_plain_paragraphs_when_the_speaker_is_unknown() -> None:
    cues = [Cue("First turn here.", new_turn=True), Cue("Second turn here.", new_turn=True)]
    body = complete("formatter", transcript(cues))
    assert body.endswith("\n\nFirst turn here.\n\nSecond turn here.\n")


def test_it_leaves_out_sound_cues() -> None:
    cues = [Cue("", sounds=("gentle music",), new_turn=True), Cue("Hello there.", speaker="Ann")]
    assert complete("formatter", transcript(cues)).endswith("**Ann:** Hello there.\n")


def test_it_breaks_a_long_turn_into_paragraphs_of_a_few_sentences() -> None:
    cues = [Cue(f"This is sentence number {n}.", speaker="Ann") for n in range(12)]
    paragraphs = complete("formatter", transcript(cues)).strip().split("\n\n")[1:]
    assert len(paragraphs) == 3
    assert paragraphs[0].startswith("**Ann:** ") and not paragraphs[1].startswith("**")


@pytest.mark.parametrize(
    ("spoken", "cleaned"),
    [
        ("Um, so we went to the lake.", "So we went to the lake."),
        ("I was, uh, thinking about it.", "I was thinking about it."),
        ("We saw um the heron. Er, it flew.", "We saw the heron. It flew."),
        ("You know, it was cold, you know, and wet.", "It was cold and wet."),
        ("Do you know the way? Uh-huh.", "Do you know the way? Uh-huh."),
        ("An umbrella and an error.", "An umbrella and an error."),
        ("That's it, um.", "That's it."),
        ("Uh.", ""),
    ],
)
def test_it_removes_fillers_conservatively(spoken: str, cleaned: str) -> None:
    assert remove_fillers(spoken) == cleaned


def test_it_removes_fillers_without_inventing_words() -> None:
    cues = [
        Cue("Um, so, uh, we went", 0, 2, "Ann", new_turn=True),
        Cue("to the, you know, the lake. Uh, it was big.", 2, 4, "Ann"),
        Cue("Er, yes. You know, I think so.", 4, 6, "Bo", new_turn=True),
    ]
    body = complete("formatter", transcript(cues))
    content = re.sub(r"\*\*[^*]+:\*\*", "", body.split("\n", 1)[1])
    assert vocabulary(content) <= vocabulary(" ".join(cue.text for cue in cues))
    assert not vocabulary(content) & {"um", "uh", "er"}


def test_it_keeps_every_spoken_word_of_a_long_transcript() -> None:
    parsed = interview(30)
    body = complete("formatter", parsed)
    assert completeness_ratio(body, spoken_words(parsed.spoken_text)) == pytest.approx(1.0)


def test_it_heads_only_the_first_chunk() -> None:
    cues = interview(3).cues
    first = complete("formatter", interview(3), cues=cues[:6], chunk_index=0, chunk_count=2)
    second = complete("formatter", interview(3), cues=cues[6:], chunk_index=1, chunk_count=2)
    assert first.startswith("# Formatted transcript: ")
    assert second.startswith("**John Foust:** ") and "#" not in second


def test_it_formats_chunks_that_join_into_the_single_pass_text() -> None:
    parsed = interview(6)
    cuts = [0, 18, 42, len(parsed.cues)]
    chunks = [
        complete("formatter", parsed, cues=parsed.cues[a:b], chunk_index=n, chunk_count=3)
        for n, (a, b) in enumerate(pairwise(cuts))
    ]
    assert "\n\n".join(chunk.strip() for chunk in chunks) == complete("formatter", parsed).strip()


# SEO

LONG_SENTENCE = " ".join(f"word{n}" for n in range(400))


@pytest.mark.parametrize(
    "parsed",
    [
        interview(10),
        transcript([Cue(LONG_SENTENCE + "."), *interview(2).cues]),
        transcript([Cue(LONG_SENTENCE)]),
        transcript([Cue("x" * 500)]),
        transcript([Cue("Supercalifragilisticexpialidocious" * 10 + " is long. Short one here.")]),
    ],
    ids=["interview", "long-first-sentence", "no-punctuation", "gigantic-word", "long-word-first"],
)
@pytest.mark.parametrize(
    "limits", [CharLimits(), CharLimits(20, 30, 40), CharLimits(5, 8, 12)], ids=str
)
def test_it_keeps_seo_copy_within_the_character_limits(
    parsed: ParsedTranscript, limits: CharLimits
) -> None:
    drafts = all_drafts(parsed, limits)
    seo = parse_seo(drafts["seo"])
    allowed = vocabulary(parsed.spoken_text) | {"and"} | vocabulary(MEDIA_ID)
    for text, limit in [
        (seo.title, limits.title),
        (seo.short_description, limits.short_description),
        (seo.long_description, limits.long_description),
    ]:
        assert len(text) <= limit
        assert vocabulary(text) <= allowed, "a word was cut in half or invented"
        assert not text.endswith((",", " and", " the"))


def test_it_writes_exactly_the_seo_sections_parse_seo_reads() -> None:
    body = complete("seo", interview(10))
    assert body.startswith(f"# SEO metadata: {MEDIA_ID}\n")
    assert headings(body) == ["Title", "Short description", "Long description", "Keywords", "Tags"]
    seo = parse_seo(body)
    assert seo.title and seo.short_description and seo.long_description
    assert "Eau Claire" in seo.keywords and "kubb" in seo.keywords
    assert "Angela Fitzgerald" not in seo.tags  # a speaker never named aloud is not a tag


def test_it_takes_the_title_from_the_analysts_draft() -> None:
    analyst = "# Brainstorming: X\n\n## Draft metadata\n\n- **Title:** Kubb Country\n"
    seo = parse_seo(complete("seo", interview(5), previous={"analyst": analyst}))
    assert seo.title == "Kubb Country"


def test_it_cuts_copy_at_a_word_boundary_with_an_ellipsis() -> None:
    assert fit_to_limit("One two three four five six", 14) == "One two three…"
    assert fit_to_limit("Alpha beta. Gamma delta epsilon.", 20) == "Alpha beta."
    assert fit_to_limit("x" * 50, 10) == ""


# Manager


def test_it_approves_a_consistent_set_of_drafts() -> None:
    body = all_drafts(interview(10))["manager"]
    lines = body.splitlines()
    assert lines[0] == f"# QA review: {MEDIA_ID}"
    assert lines[2] == "**Verdict:** APPROVED"
    assert "- [ ]" not in body and "## Needs attention" not in body
    assert re.search(r"- \[x\] Title within the limit \(\d+/60 characters\)", body)
    assert re.search(r"- \[x\] Formatted transcript is complete \(ratio 1\.00", body)


def test_it_asks_for_revision_when_a_limit_is_broken() -> None:
    parsed = interview(10)
    previous = all_drafts(parsed)
    seo = previous["seo"]
    previous["seo"] = seo.replace(parse_seo(seo).title, "T" * 72)
    body = complete("manager", parsed, previous=previous)
    assert "**Verdict:** NEEDS_REVISION" in body
    assert "- [ ] Title within the limit (72/60 characters)" in body
    assert "- Title is 72 characters; the limit is 60." in section(body, "Needs attention")


def test_it_asks_for_revision_when_drafts_are_missing_or_truncated() -> None:
    parsed = interview(10)
    truncated = "# Formatted transcript: X\n\nThe quilt at the show."
    body = complete("manager", parsed, previous={"formatter": truncated})
    attention = section(body, "Needs attention")
    assert "**Verdict:** NEEDS_REVISION" in body
    assert "Brainstorming (`brainstorming.md`) is missing or empty." in attention
    assert "Title is missing." in attention
    assert "may be truncated" in attention
    assert "no **Name:** speaker labels" in attention


# Timestamps


def test_it_writes_chapters_in_both_formats_from_zero() -> None:
    body = complete("timestamp", interview(40))
    assert body.startswith(f"# Chapters: {MEDIA_ID}\n")
    assert headings(body) == ["Media Manager", "YouTube"]
    rows = [row for row in section(body, "Media Manager").splitlines() if row.startswith("| ")]
    assert rows[0] == "| Chapter | Start | End |"
    assert re.match(r"^\| .+ \| 00:00:00 \| \d\d:\d\d:\d\d \|$", rows[1])
    assert rows[-1].endswith("| 00:40:00 |")
    assert len(rows) - 1 == len(youtube_seconds(body))
    assert section(body, "YouTube").splitlines()[1].startswith("0:00 ")


@pytest.mark.parametrize("minutes", [4, 12, 29, 45, 90])
def test_it_spaces_chapters_monotonically_and_at_least_ten_seconds_apart(minutes: int) -> None:
    seconds = youtube_seconds(complete("timestamp", interview(minutes)))
    assert seconds[0] == 0 and len(seconds) >= 3
    assert all(later - earlier >= 10 for earlier, later in pairwise(seconds))


@pytest.mark.parametrize(("minutes", "low", "high"), [(12, 3, 4), (30, 6, 10), (90, 10, 14)])
def test_it_aims_for_a_chapter_every_three_to_eight_minutes(
    minutes: int, low: int, high: int
) -> None:
    assert low <= len(youtube_seconds(complete("timestamp", interview(minutes)))) <= high


def test_it_starts_chapters_at_speaker_changes() -> None:
    parsed = interview(30)
    turn_starts = {int(cue.start or 0) for cue in parsed.cues if cue.new_turn}
    assert set(youtube_seconds(complete("timestamp", parsed))) <= turn_starts


def test_it_titles_chapters_from_their_key_terms() -> None:
    lines = section(complete("timestamp", interview(30)), "YouTube").splitlines()
    titles = " ".join(lines)
    assert "Great Wisconsin Quilt Show" in titles and "Eau Claire" in titles


def test_it_estimates_chapter_times_when_the_captions_have_none() -> None:
    untimed = transcript([replace(c, start=None, end=None) for c in interview(30).cues])
    body = complete("timestamp", untimed)
    assert "estimated" in body.splitlines()[2].lower()
    assert "150 words per minute" in body
    assert youtube_seconds(body)[0] == 0 and len(youtube_seconds(body)) >= 3


def test_it_says_when_a_programme_is_too_short_for_youtube_chapters() -> None:
    body = complete("timestamp", interview(2))
    assert youtube_seconds(body) == [0]
    assert "too short" in section(body, "YouTube")
