"""Every real caption file in the shared corpus is accepted sensibly, or rejected for its reason.

The corpus lives beside the checkout (``../shared/corpus/transcripts``) or at ``$EA_CORPUS_DIR``;
the tests skip when it is absent and never copy it into the repository.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from editorial_assistant.errors import TranscriptRejected
from editorial_assistant.transcripts.media_id import media_id_from_filename
from editorial_assistant.transcripts.parsing import parse_transcript


class Expected(NamedTuple):
    media_id: str
    format: str
    words: tuple[int, int]  # inclusive bounds on spoken words
    minutes: tuple[float, float]  # inclusive bounds on duration


SCC = "2GFL0000HD2X.mxf.scc_ForClaude.txt"
CORPUS: dict[str, Expected] = {
    "2VB22025HD_ForClaude.txt": Expected("2VB22025HD", "srt", (900, 1_500), (58, 62)),
    "2WLH2024_Livestream_ForClaude.txt": Expected(
        "2WLH2024_Livestream", "srt", (13_000, 17_000), (95, 110)
    ),
    "2WLI1101HD_REV20240919_hostsegment1_ForClaude.txt": Expected(
        "2WLI1101HD_REV20240919_hostsegment1", "srt", (3_000, 3_700), (26, 27.5)
    ),
    "2WLI1102HD_REV20241007_midshow_butterflygarden_ForClaude.txt": Expected(
        "2WLI1102HD_REV20241007_midshow_butterflygarden", "srt", (330, 450), (2, 3)
    ),
    "2WLI1105HD_ForClaude.txt": Expected("2WLI1105HD", "srt", (3_300, 4_000), (26, 27.5)),
    "2WLI1108HD_REV20241205_ForClaude.txt": Expected(
        "2WLI1108HD_REV20241205", "srt", (3_300, 4_000), (26, 27.5)
    ),
    "2WLICindysStorySM_ForClaude.txt": Expected("2WLICindysStorySM", "srt", (580, 750), (4, 5)),
    "2WLIKichwaCollectiveSM_ForClaude.txt": Expected(
        "2WLIKichwaCollectiveSM", "srt", (550, 700), (4, 5)
    ),
    "6GWQ2402_ForClaude.txt": Expected("6GWQ2402", "srt", (8_000, 9_800), (47, 50)),
    "6TLB0301.mp4.txt": Expected("6TLB0301", "timecode", (1_500, 1_900), (10, 11)),
    "6WLIGhanaBrittle_ForClaude.txt": Expected("6WLIGhanaBrittle", "srt", (35, 60), (0.4, 0.8)),
    "6WLISheboyganSymphony_REV20241206_ForClaude.txt": Expected(
        "6WLISheboyganSymphony_REV20241206", "srt", (10, 16), (0.05, 0.2)
    ),
    "9MST0405HD (1)_ForClaude.txt": Expected("9MST0405HD", "srt", (4_000, 5_000), (26, 27.5)),
    "9MST0412HD.txt": Expected("9MST0412HD", "timecode", (4_100, 5_000), (26, 27.5)),
    "9UNP1972HD_REV20250804_ForClaude.txt": Expected(
        "9UNP1972HD_REV20250804", "srt", (9_500, 12_000), (55, 59)
    ),
    "9UNP1980HD_ForClaude.txt": Expected("9UNP1980HD", "srt", (7_500, 9_500), (58, 61)),
    "MOMAbbyPosner_draft.txt": Expected("MOMAbbyPosner_draft", "timecode", (750, 950), (13, 14)),
    "PBS Wisconsin Archives.txt": Expected(
        "PBS_Wisconsin_Archives", "timecode", (90, 120), (0.6, 1)
    ),
    "bucky.txt": Expected("bucky", "timecode", (120, 170), (1, 1.5)),
}
ACCENTED = {
    "2WLI1101HD_REV20240919_hostsegment1_ForClaude.txt": "Zócalo",
    "2WLIKichwaCollectiveSM_ForClaude.txt": "Aída Inuca",
    "6GWQ2402_ForClaude.txt": "appliqué",
    "9MST0405HD (1)_ForClaude.txt": "Brücke",
    "9UNP1972HD_REV20250804_ForClaude.txt": "Dohnányi",
    "9UNP1980HD_ForClaude.txt": "Wahlöö",
    "2VB22025HD_ForClaude.txt": "fireworks?”",
}


def test_the_table_pins_every_file_in_the_corpus(corpus_dir: Path) -> None:
    assert sorted(path.name for path in corpus_dir.iterdir()) == sorted([*CORPUS, SCC])


def test_it_rejects_the_scc_file_in_the_corpus(corpus_dir: Path) -> None:
    with pytest.raises(TranscriptRejected) as caught:
        parse_transcript((corpus_dir / SCC).read_bytes())
    assert (caught.value.code, caught.value.status) == ("scc_not_supported", 415)
    assert media_id_from_filename(SCC) == "2GFL0000HD2X"


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_each_corpus_file_gets_its_media_id(name: str) -> None:
    assert media_id_from_filename(name) == CORPUS[name].media_id


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_each_corpus_file_parses_with_sensible_words_and_duration(
    corpus_dir: Path, name: str
) -> None:
    parsed = parse_transcript((corpus_dir / name).read_bytes())
    expected = CORPUS[name]
    low_words, high_words = expected.words
    low_minutes, high_minutes = expected.minutes
    assert parsed.format == expected.format
    assert low_words <= parsed.word_count <= high_words
    assert low_minutes <= parsed.duration_seconds / 60 <= high_minutes


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_no_corpus_cue_keeps_markup_timecodes_sounds_or_broken_characters(
    corpus_dir: Path, name: str
) -> None:
    parsed = parse_transcript((corpus_dir / name).read_bytes())
    for cue in parsed.cues:
        for marker in ("<i>", "</i>", "-->", "[", "]", "♪", "\ufffd", "\ufeff"):
            assert marker not in cue.text, (marker, cue)
        assert "?" not in cue.text.split(), cue  # a lost music note left standing
        assert cue.text or cue.sounds, cue


@pytest.mark.parametrize("name", sorted(ACCENTED))
def test_accented_names_decode_correctly(corpus_dir: Path, name: str) -> None:
    parsed = parse_transcript((corpus_dir / name).read_bytes())
    assert ACCENTED[name] in " ".join((parsed.spoken_text, *parsed.speakers))


def test_the_hour_long_concert_is_over_forty_minutes(corpus_dir: Path) -> None:
    parsed = parse_transcript((corpus_dir / "9UNP1972HD_REV20250804_ForClaude.txt").read_bytes())
    assert parsed.duration_seconds > 40 * 60 and not parsed.duration_estimated


def test_the_smallest_file_still_has_words(corpus_dir: Path) -> None:
    path = corpus_dir / "6WLISheboyganSymphony_REV20241206_ForClaude.txt"
    assert path.stat().st_size == 222
    assert parse_transcript(path.read_bytes()).word_count > 0


def test_the_livestream_keeps_its_untimed_opening(corpus_dir: Path) -> None:
    parsed = parse_transcript((corpus_dir / "2WLH2024_Livestream_ForClaude.txt").read_bytes())
    assert parsed.cues[1].text == "This program is brought to you"
    assert parsed.cues[1].start is None and parsed.duration_estimated
    assert parsed.speakers[:2] == ("Brendon Baillod", "Kevin Osgood")


def test_side_by_side_speakers_are_attributed_column_by_column(corpus_dir: Path) -> None:
    parsed = parse_transcript((corpus_dir / "2WLI1108HD_REV20241205_ForClaude.txt").read_bytes())
    turns = [(cue.speaker, cue.text) for cue in parsed.cues]
    assert ("Patti", "Kim and Ken.") in turns and ("Karen", "Yeah, Steve.") in turns


def test_a_sponsor_tagline_is_not_a_speaker(corpus_dir: Path) -> None:
    parsed = parse_transcript((corpus_dir / "9MST0405HD (1)_ForClaude.txt").read_bytes())
    assert "Horicon Bank" not in parsed.speakers and "John" in parsed.speakers
