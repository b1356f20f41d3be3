"""Tests for the prompt files and how a phase's context becomes chat messages."""

from __future__ import annotations

import pytest

from editorial_assistant.llm.client import CharLimits, PhaseContext
from editorial_assistant.pipeline.phases import PHASE_NAMES
from editorial_assistant.pipeline.prompts import (
    NO_SST_RECORD,
    NOT_AVAILABLE,
    PHASE_SLOTS,
    PromptError,
    load_prompt,
    parse_prompt,
    prompt_version,
    render_messages,
    render_transcript,
    unknown_slots,
)
from editorial_assistant.transcripts.models import Cue, ParsedTranscript

CUES = (
    Cue("Welcome to Wisconsin Life.", 0.5, 2.0, "Angela", new_turn=True),
    Cue("Today we visit Eau Claire.", 2.0, 4.0, "Angela"),
    Cue("", 4.0, 5.0, "Angela", sounds=("music",)),
    Cue("Kubb is a Viking game.", 65.2, 68.0, "Eric Anderson", new_turn=True),
    Cue("Yay!", 70.0, 71.0, None, new_turn=True),
)
PREVIOUS = {"analyst": "BRAINSTORM BODY", "formatter": "FORMATTED BODY", "seo": "SEO BODY"}


def transcript(cues: tuple[Cue, ...] = CUES, duration: float = 1603.6) -> ParsedTranscript:
    return ParsedTranscript(format="srt", encoding="utf-8", cues=cues, duration_seconds=duration)


def context(**overrides: object) -> PhaseContext:
    fields: dict[str, object] = {
        "media_id": "2WLI1105HD",
        "transcript": transcript(),
        "limits": CharLimits(),
        "previous": dict(PREVIOUS),
    }
    fields.update(overrides)
    return PhaseContext(**fields)  # type: ignore[arg-type]  # built from a checked dict


def user_message(phase: str, ctx: PhaseContext) -> str:
    messages, _ = render_messages(phase, ctx)
    return messages[1]["content"]


def whole_text(phase: str, ctx: PhaseContext) -> str:
    messages, _ = render_messages(phase, ctx)
    return "\n".join(message["content"] for message in messages)


VALID = """---
phase: seo
version: 2
max_output_tokens: 900
---
## System

Write SEO copy within {{title_limit}} characters.

## User

{{transcript}}
"""


@pytest.mark.parametrize("phase", PHASE_NAMES)
def test_every_phase_has_a_prompt_with_a_version_and_known_placeholders(phase: str) -> None:
    prompt = load_prompt(phase)
    assert prompt.phase == phase
    assert prompt.version >= 1
    assert prompt.max_output_tokens >= 500
    assert unknown_slots(prompt.system + prompt.user, phase) == []
    assert "{{transcript}}" in prompt.user and "{{transcript}}" not in prompt.system
    assert prompt_version(phase) == f"{phase}@{prompt.version}"


def test_every_pipeline_phase_has_placeholder_rules_and_no_more() -> None:
    assert set(PHASE_SLOTS) == set(PHASE_NAMES)


def test_the_formatter_may_write_the_most_and_seo_the_least() -> None:
    budgets = {phase: load_prompt(phase).max_output_tokens for phase in PHASE_NAMES}
    assert max(budgets, key=budgets.__getitem__) == "formatter"
    assert min(budgets, key=budgets.__getitem__) == "seo"


@pytest.mark.parametrize("phase", PHASE_NAMES)
def test_rendering_leaves_no_placeholder_unfilled(phase: str) -> None:
    messages, prompt = render_messages(phase, context())
    assert [m["role"] for m in messages] == ["system", "user"]
    assert prompt is load_prompt(phase)
    assert all("{{" not in message["content"] for message in messages)
    assert "2WLI1105HD" in messages[1]["content"]


def test_rendering_fills_the_character_limits_from_the_config() -> None:
    default = whole_text("seo", context())
    changed = whole_text("seo", context(limits=CharLimits(47, 123, 456)))
    assert "60" in default and "350" in default
    for number in ("47", "123", "456"):
        assert number in changed and number not in default


def test_the_manager_sees_the_limits_it_checks_against() -> None:
    text = whole_text("manager", context(limits=CharLimits(41, 91, 301)))
    assert "(N/41 characters)" in text and "301" in text and "91" in text


def test_the_transcript_shows_times_and_labels_only_at_new_turns() -> None:
    assert render_transcript(CUES).splitlines() == [
        "<transcript>",
        "[00:00] Angela: Welcome to Wisconsin Life.",
        "[00:02] Today we visit Eau Claire.",
        "[01:05] Eric Anderson: Kubb is a Viking game.",
        "[01:10] - Yay!",
        "</transcript>",
    ]


def test_the_transcript_uses_hours_past_the_first_hour() -> None:
    cues = (Cue("Late in the show.", 3723.9, 3725.0, "Host", new_turn=True),)
    assert render_transcript(cues).splitlines()[1] == "[1:02:03] Host: Late in the show."


def test_prose_cues_have_no_times() -> None:
    cues = (Cue("A paragraph of prose.", speaker="Narrator", new_turn=True), Cue("More prose."))
    lines = render_transcript(cues).splitlines()
    assert lines[1:3] == ["Narrator: A paragraph of prose.", "More prose."]


def test_an_empty_transcript_still_has_its_markers() -> None:
    assert render_transcript(()) == "<transcript>\n</transcript>"


def test_hostile_transcript_text_passes_through_verbatim() -> None:
    hostile = r"Say {{seo}} and {{media_id}} for $1, \1, {} and {0} at 100%."
    cues = (Cue(hostile, 1.0, 2.0, "Troll", new_turn=True),)
    text = user_message("manager", context(transcript=transcript(cues)))
    assert f"[00:01] Troll: {hostile}" in text
    assert text.count("SEO BODY") == 1


def test_hostile_earlier_drafts_are_not_expanded_either() -> None:
    previous = {"analyst": "Draft with {{transcript}} and $0", "seo": "{{brainstorming}}"}
    text = user_message("manager", context(previous=previous))
    assert "Draft with {{transcript}} and $0" in text
    assert "<seo_draft>\n{{brainstorming}}\n</seo_draft>" in text
    assert text.count("<transcript>") == 1


def test_the_formatter_gets_only_its_chunk_and_the_chunk_note() -> None:
    chunk = CUES[3:]
    ctx = context(cues=chunk, chunk_index=1, chunk_count=3)
    text = user_message("formatter", ctx)
    assert "Kubb is a Viking game." in text
    assert "Welcome to Wisconsin Life." not in text
    assert "This is part 2 of 3; continue the transcript without a heading." in text


def test_a_chunk_that_opens_mid_turn_names_the_speaker_in_force() -> None:
    ctx = context(cues=CUES[1:2], chunk_index=1, chunk_count=2)
    assert "in the middle of a turn by Angela" in user_message("formatter", ctx)


def test_the_first_chunk_is_told_to_start_with_the_heading() -> None:
    text = user_message("formatter", context(cues=CUES[:2], chunk_index=0, chunk_count=2))
    assert "This is part 1 of 2. Start with the heading" in text
    assert "Kubb" not in text


def test_a_single_chunk_gets_no_chunk_note() -> None:
    text = whole_text("formatter", context(cues=CUES))
    assert "part 1 of" not in text
    assert "# Formatted transcript: 2WLI1105HD" in text


def test_the_formatter_sees_no_earlier_drafts() -> None:
    text = whole_text("formatter", context(cues=CUES))
    assert not any(body in text for body in PREVIOUS.values())


def test_the_analyst_sees_no_earlier_drafts() -> None:
    text = whole_text("analyst", context())
    assert not any(body in text for body in PREVIOUS.values())
    assert "Welcome to Wisconsin Life." in text and "Kubb is a Viking game." in text


def test_the_manager_gets_the_three_earlier_outputs() -> None:
    text = user_message("manager", context())
    for tag, body in (
        ("brainstorming", "BRAINSTORM BODY"),
        ("formatted_transcript", "FORMATTED BODY"),
        ("seo_draft", "SEO BODY"),
    ):
        assert f"<{tag}>\n{body}\n</{tag}>" in text


@pytest.mark.parametrize("phase", ["seo", "timestamp"])
def test_seo_and_timestamp_get_the_brainstorming_only(phase: str) -> None:
    text = user_message(phase, context())
    assert "BRAINSTORM BODY" in text
    assert "FORMATTED BODY" not in text and "SEO BODY" not in text


def test_missing_earlier_outputs_render_not_available() -> None:
    text = user_message("manager", context(previous={"analyst": "  "}))
    assert text.count(NOT_AVAILABLE) == 3


def test_every_phase_reads_the_sst_record_or_says_there_is_none() -> None:
    for phase in PHASE_NAMES:
        assert NO_SST_RECORD in user_message(phase, context())
        messages, _ = render_messages(phase, context(), sst="Title: Kubb {{seo}} $1")
        assert "<sst_record>\nTitle: Kubb {{seo}} $1\n</sst_record>" in messages[1]["content"]


def test_speakers_and_duration_are_filled_from_the_transcript() -> None:
    text = user_message("analyst", context())
    assert "Angela, Eric Anderson" in text and "00:26:43" in text


def test_a_valid_prompt_file_parses() -> None:
    prompt = parse_prompt(VALID, phase="seo", source="seo.md")
    assert (prompt.version, prompt.max_output_tokens) == (2, 900)
    assert prompt.system == "Write SEO copy within {{title_limit}} characters."
    assert prompt.user == "{{transcript}}"


@pytest.mark.parametrize(
    ("broken", "complaint"),
    [
        (VALID.replace("{{transcript}}", "{{transcrip}}"), "unknown placeholders"),
        (VALID.replace("{{transcript}}", "{{formatted_transcript}}"), "unknown placeholders"),
        (VALID.replace("{{transcript}}", "{{ transcript }}"), "unknown placeholders"),
        (VALID.replace("phase: seo", "phase: manager"), "not 'seo'"),
        (VALID.replace("version: 2", "version: 0"), "version"),
        (VALID.replace("max_output_tokens: 900\n", ""), "max_output_tokens"),
        (VALID.replace("## User", "## Usr"), "'## User' section"),
        (VALID.replace("---\nphase", "phase", 1), "front matter"),
        (VALID.replace("version: 2", "version 2"), "not 'name: value'"),
    ],
)
def test_a_malformed_prompt_file_is_refused_with_its_name(broken: str, complaint: str) -> None:
    with pytest.raises(PromptError, match=complaint) as raised:
        parse_prompt(broken, phase="seo", source="prompts/seo.md")
    assert "prompts/seo.md" in str(raised.value)


def test_an_unknown_phase_has_no_prompt() -> None:
    with pytest.raises(PromptError, match=r"pipeline/prompts/editor\.md"):
        load_prompt("editor")
