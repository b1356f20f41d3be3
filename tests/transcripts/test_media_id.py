"""Tests for Media IDs from file names and the safe path component rule behind them."""

from __future__ import annotations

import pytest

from editorial_assistant.transcripts.media_id import media_id_from_filename, safe_path_component


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("2WLI1209HD.srt", "2WLI1209HD"),
        ("2WLI1209HD_ForClaude.txt", "2WLI1209HD"),
        ("9MST0405HD (1)_ForClaude.txt", "9MST0405HD"),
        ("2WLI1209HD - Copy.srt", "2WLI1209HD"),
        ("2WLI1209HD copy 2.txt", "2WLI1209HD"),
        ("Copy of 2WLI1209HD.srt", "2WLI1209HD"),
        ("2WLI1209HD (2)_ForClaude (1).srt.txt", "2WLI1209HD"),
        ("2GFL0000HD2X.mxf.scc_ForClaude.txt", "2GFL0000HD2X"),
        ("6TLB0301.mp4.txt", "6TLB0301"),
        ("2wli1209hd.SRT", "2WLI1209HD"),
    ],
)
def test_it_strips_processing_suffixes_and_extensions(name: str, expected: str) -> None:
    assert media_id_from_filename(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "2WLI1102HD_REV20241007_midshow_butterflygarden_ForClaude.txt",
            "2WLI1102HD_REV20241007_midshow_butterflygarden",
        ),
        (
            "2WLI1101HD_REV20240919_hostsegment1_ForClaude.txt",
            "2WLI1101HD_REV20240919_hostsegment1",
        ),
        ("2WLH2024_Livestream_ForClaude.txt", "2WLH2024_Livestream"),
        ("2WLICindysStorySM_ForClaude.txt", "2WLICindysStorySM"),
    ],
)
def test_it_keeps_revisions_segments_and_title_slugs(name: str, expected: str) -> None:
    assert media_id_from_filename(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("MOMAbbyPosner_draft.txt", "MOMAbbyPosner_draft"),
        ("bucky.txt", "bucky"),
        ("PBS Wisconsin Archives.txt", "PBS_Wisconsin_Archives"),
        ("Aída Inuca – interview.txt", "Aida_Inuca_interview"),
    ],
)
def test_names_matching_no_pattern_keep_their_cleaned_stem(name: str, expected: str) -> None:
    assert media_id_from_filename(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd.srt", "passwd"),
        ("..\\..\\Windows\\win.ini", "win_ini"),
        ("C:\\Users\\editor\\Desktop\\2WLI1209HD.srt", "2WLI1209HD"),
        ("/var/lib/editorial-assistant/../x.srt", "x"),
        ("..", "untitled"),
        (".", "untitled"),
        ("", "untitled"),
        ("dir/", "untitled"),
        ("-rf .txt", "rf"),
        ("evil\x00name.srt", "evil_name"),
    ],
)
def test_hostile_names_become_one_safe_path_component(name: str, expected: str) -> None:
    assert media_id_from_filename(name) == expected


@pytest.mark.parametrize(
    "text", ["a/b", "..", "x" * 500, "  spaced  out  ", "ä€🎬", "__--__", "a..b", "NUL\x00"]
)
def test_safe_path_components_use_only_safe_characters(text: str) -> None:
    safe = safe_path_component(text)
    assert 0 < len(safe) <= 100
    assert safe not in (".", "..")
    assert all(char.isascii() and (char.isalnum() or char in "_-") for char in safe)
    assert "__" not in safe and not safe.startswith(("_", "-"))


def test_safe_path_component_collapses_and_trims_runs() -> None:
    assert safe_path_component("  PBS   Wisconsin // Archives!! ") == "PBS_Wisconsin_Archives"
