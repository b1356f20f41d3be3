"""Tests for the mechanical output checks: spoken words, completeness and SEO limits."""

from __future__ import annotations

import pytest

from editorial_assistant.llm.client import CharLimits
from editorial_assistant.pipeline.checks import (
    FILLERS,
    SeoDraft,
    completeness_ratio,
    content_words,
    limit_problems,
    parse_seo,
    spoken_words,
)

SEO = """# SEO metadata: 2WLI1209HD

## Title

Kubb in Eau Claire

## Short description

A lawn game championship.

## Long description

Players from across Wisconsin
gather for a championship.

## Keywords

kubb, Eau Claire,  lawn games

## Tags

games, Wisconsin
"""

FRONT_MATTER = "---\nmedia_id: 2WLI1209HD\nmodel: local\ntier: 0 (cheap)\n---\n\n"


def test_it_counts_spoken_words_without_fillers_or_symbols() -> None:
    assert spoken_words("Um, we went -- uh -- to the ♪ lake, you know.") == 7


def test_it_treats_every_filler_as_a_filler() -> None:
    assert spoken_words(" ".join(FILLERS)) == 0


def test_it_counts_content_words_without_headings_labels_or_provenance() -> None:
    markdown = FRONT_MATTER + "# Formatted transcript: X\n\n**Angela:** Hello there.\n\nBye."
    assert content_words(markdown) == 3


def test_it_reports_a_complete_transcript_as_a_ratio_of_one() -> None:
    markdown = "# Formatted transcript: X\n\n**Angela:** One two three.\n\nFour."
    assert completeness_ratio(markdown, 4) == 1.0


def test_it_reports_a_truncated_transcript_below_the_threshold() -> None:
    assert completeness_ratio("# Formatted\n\n**A:** one two three", 10) == pytest.approx(0.3)


def test_it_reports_completeness_of_one_when_nothing_was_spoken() -> None:
    assert completeness_ratio("", 0) == 1.0


def test_it_parses_every_seo_section() -> None:
    seo = parse_seo(SEO)
    assert seo.title == "Kubb in Eau Claire"
    assert seo.short_description == "A lawn game championship."
    assert seo.long_description == "Players from across Wisconsin gather for a championship."
    assert seo.keywords == ["kubb", "Eau Claire", "lawn games"]
    assert seo.tags == ["games", "Wisconsin"]


def test_it_parses_seo_behind_a_provenance_header() -> None:
    assert parse_seo(FRONT_MATTER + SEO) == parse_seo(SEO)


def test_it_tolerates_extra_whitespace_and_bullets_in_seo() -> None:
    markdown = (
        "##   Title  \n\n\n   **Kubb**   \n\n## Keywords\n\n- kubb\n- lawn games, Wisconsin\n"
    )
    seo = parse_seo(markdown)
    assert seo.title == "Kubb"
    assert seo.keywords == ["kubb", "lawn games", "Wisconsin"]


def test_it_leaves_missing_seo_sections_empty() -> None:
    assert parse_seo("# SEO metadata: X\n\n## Title\n\nKubb\n") == SeoDraft(title="Kubb")


def test_it_finds_no_problems_with_copy_within_the_limits() -> None:
    assert limit_problems(parse_seo(SEO), CharLimits()) == []


def test_it_explains_a_title_over_the_limit() -> None:
    seo = SeoDraft(title="x" * 72, short_description="Short.", long_description="Long.")
    assert limit_problems(seo, CharLimits(title=60)) == ["Title is 72 characters; the limit is 60."]


def test_it_reports_missing_copy() -> None:
    problems = limit_problems(SeoDraft(title="Kubb"), CharLimits())
    assert problems == ["Short description is missing.", "Long description is missing."]
