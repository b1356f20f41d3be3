"""Unit tests for ``parse_transcript``: rejections, decoding, and each format's rules."""

from __future__ import annotations

import pytest

from editorial_assistant.errors import TranscriptRejected
from editorial_assistant.transcripts.parsing import detect_format, parse_transcript


def srt(*blocks: str, newline: str = "\r\n") -> bytes:
    """An SRT file whose blocks are numbered and timed one per ten seconds."""
    parts = []
    for number, text in enumerate(blocks, start=1):
        start, end = number * 10, number * 10 + 5
        timing = f"00:00:{start:02d},000 --> 00:00:{end:02d},500"
        parts.append(f"{number}\n{timing}\n{text}\n")
    return "\n".join(parts).replace("\n", newline).encode("utf-8")


def texts(data: bytes) -> list[str]:
    return [cue.text for cue in parse_transcript(data).cues]


def rejection(data: bytes, **kwargs: int) -> TranscriptRejected:
    with pytest.raises(TranscriptRejected) as caught:
        parse_transcript(data, **kwargs)
    return caught.value


# Rejections


def test_it_rejects_a_file_over_the_size_limit_and_names_both_sizes() -> None:
    error = rejection(b"x" * 1_001, max_bytes=1_000)
    assert (error.code, error.status) == ("file_too_large", 413)
    assert "1,001 bytes" in error.message and "1,000 bytes" in error.message


@pytest.mark.parametrize("data", [b"", b"   \r\n\t\n", b"\xef\xbb\xbf", b"\xff\xfe"])
def test_it_rejects_an_empty_or_blank_file(data: bytes) -> None:
    error = rejection(data)
    assert (error.code, error.status) == ("empty_file", 422)


def test_it_rejects_captions_with_no_spoken_words() -> None:
    error = rejection(srt("[gentle music]", "♪ ♪", "<i></i>", "- Announcer:"))
    assert (error.code, error.status) == ("empty_file", 422)
    assert "no spoken words" in error.message


def test_it_rejects_a_file_with_nul_bytes_as_binary() -> None:
    error = rejection(b"MXF\x00\x01\x02 header and then some text")
    assert (error.code, error.status) == ("binary_file", 415)


def test_it_rejects_a_file_full_of_control_characters_as_binary() -> None:
    error = rejection(b"\x01\x02\x03\x04\x05\x06\x07\x08 some words here")
    assert (error.code, error.status) == ("binary_file", 415)


def test_it_accepts_the_odd_stray_control_character() -> None:
    parsed = parse_transcript(b"Ordinary spoken words \x1a that survive a stray control byte.")
    assert parsed.cues[0].text == "Ordinary spoken words that survive a stray control byte."


@pytest.mark.parametrize(
    "data",
    [
        b"Scenarist_SCC V1.0\n\n00:00:30:23\t9425 942c 94ad\n",
        b"\xef\xbb\xbf\r\n\r\nScenarist_SCC V1.0\r\n\r\n00:00:01:00\t9420\r\n",
    ],
)
def test_it_rejects_an_scc_file(data: bytes) -> None:
    error = rejection(data)
    assert (error.code, error.status) == ("scc_not_supported", 415)
    assert "SRT" in error.message


def test_it_rejects_bytes_that_no_accepted_encoding_can_read() -> None:
    error = rejection(b"caf\xe9 and \x81 is undefined in cp1252")
    assert (error.code, error.status) == ("undecodable", 422)
    assert "0x81" in error.message


def test_it_rejects_a_utf16_file_with_a_broken_surrogate() -> None:
    error = rejection(b"\xff\xfe" + "hi".encode("utf-16-le") + b"\x00\xd8")
    assert error.code == "undecodable"


@pytest.mark.parametrize(
    "data", [b"", b"\x00\x00", b"x" * 20, b"Scenarist_SCC V1.0\n", b"\x81\x8d"]
)
def test_every_rejection_says_what_is_wrong_and_what_is_allowed(data: bytes) -> None:
    error = rejection(data, max_bytes=10)
    assert not error.message.startswith("Accepted")
    assert "Accepted: SRT captions" in error.message and "UTF-8" in error.message


# Decoding and line ends


def test_it_strips_a_utf8_byte_order_mark_before_the_first_index() -> None:
    parsed = parse_transcript(b"\xef\xbb\xbf" + srt("Hello there."))
    assert parsed.encoding == "utf-8-sig"
    assert [(cue.text, cue.start) for cue in parsed.cues] == [("Hello there.", 10.0)]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_it_reads_utf16_with_a_byte_order_mark(codec: str) -> None:
    bom = b"\xff\xfe" if codec.endswith("le") else b"\xfe\xff"
    parsed = parse_transcript(bom + srt("Café crème.").decode().encode(codec))
    assert (parsed.encoding, parsed.cues[0].text) == ("utf-16", "Café crème.")


def test_it_reads_plain_utf8() -> None:
    parsed = parse_transcript(srt("Zócalo Food Park ♪ la la ♪").replace(b"\r\n", b"\n"))
    assert (parsed.encoding, parsed.cues[0].text) == ("utf-8", "Zócalo Food Park")


def test_it_falls_back_to_cp1252_for_windows_accents_and_quotes() -> None:
    data = srt("It’s appliqué from Öland.").decode().encode("cp1252")
    parsed = parse_transcript(data)
    assert b"\x92" in data and parsed.encoding == "cp1252"
    assert parsed.cues[0].text == "It’s appliqué from Öland."


def test_it_reads_bare_cr_line_ends() -> None:
    assert texts(srt("One line", "Two\nlines", newline="\r")) == ["One line", "Two lines"]


def test_it_reads_a_file_mixing_crlf_and_bare_cr() -> None:
    data = (
        b"1\r\n00:00:01,000 --> 00:00:02,000\rFirst cue\r\n\r"
        b"2\r00:00:03,000 --> 00:00:04,000\r\nSecond\r\n"
    )
    parsed = parse_transcript(data)
    assert [(cue.text, cue.start) for cue in parsed.cues] == [("First cue", 1.0), ("Second", 3.0)]


# SRT


def test_it_detects_srt_by_its_timing_lines() -> None:
    assert detect_format("1\n00:00:01,000 --> 00:00:02,000\nHi\n") == "srt"
    assert parse_transcript(srt("Hello.")).format == "srt"


def test_it_joins_a_cues_lines_with_single_spaces() -> None:
    assert texts(srt("Please welcome\n  the University  \nof Wisconsin")) == [
        "Please welcome the University of Wisconsin"
    ]


def test_it_removes_italic_bold_and_font_tags() -> None:
    cue = '<i>John McGivern\'s</i> <b>Main</b> <font color="#ffff00">Streets</font> {\\an8}show'
    assert texts(srt(cue)) == ["John McGivern's Main Streets show"]


def test_a_tag_between_two_words_still_separates_them() -> None:
    assert texts(srt("Coming up on<i>Wisconsin Life,</i>")) == ["Coming up on Wisconsin Life,"]


def test_it_moves_bracketed_sound_cues_out_of_the_spoken_text() -> None:
    cue = parse_transcript(srt("[waves breaking, ominous music]\nIt was [laughs] a storm.")).cues[0]
    assert cue.text == "It was a storm."
    assert cue.sounds == ("waves breaking, ominous music", "laughs")


def test_a_sound_cue_may_span_two_lines() -> None:
    cue = parse_transcript(srt("Hello.\n[ring-billed gull makes\nhigh-pitched squeals]")).cues[0]
    assert (cue.text, cue.sounds) == ("Hello.", ("ring-billed gull makes high-pitched squeals",))


def test_music_notes_and_sung_lyrics_are_not_spoken() -> None:
    parsed = parse_transcript(srt("♪ ♪", "♪ Na, na, na ♪\nto the middle of the bar.", "So ♪"))
    assert [cue.text for cue in parsed.cues] == ["", "to the middle of the bar.", "So"]
    assert [cue.sounds for cue in parsed.cues] == [("♪",), ("Na, na, na",), ("♪",)]


def test_lyrics_wrapped_over_two_lines_are_one_sound() -> None:
    cue = parse_transcript(srt("- ♪ 'Cause these are\nour main streets ♪", "Hi.")).cues[0]
    assert (cue.text, cue.sounds) == ("", ("'Cause these are our main streets",))


def test_a_question_mark_standing_in_for_a_lost_music_note_is_not_spoken() -> None:
    parsed = parse_transcript(
        srt("? Hey, hey baby! ?", "? ?", "? Praise to thee,", "Is that enough?")
    )
    assert [cue.text for cue in parsed.cues] == ["", "", "", "Is that enough?"]
    assert [cue.sounds for cue in parsed.cues][:3] == [
        ("Hey, hey baby!",),
        ("♪",),
        ("Praise to thee,",),
    ]


def test_an_unclosed_bracket_never_leaks_into_the_text() -> None:
    data = srt("Okay then. [crowd cheering", "still cheering] Right.")
    assert texts(data) == ["Okay then.", "Right."]


def test_an_unclosed_bracket_in_prose_hides_no_more_than_its_line() -> None:
    parsed = parse_transcript(b"We began [inaudible\nand then we kept on talking.")
    assert parsed.cues[0].text == "We began and then we kept on talking."


def test_a_dash_and_name_start_a_speaker_turn_that_later_cues_continue() -> None:
    parsed = parse_transcript(
        srt("- Angela Fitzgerald: Cindy\nBentley has never given up.", "As executive director")
    )
    assert [(c.speaker, c.new_turn, c.text) for c in parsed.cues] == [
        ("Angela Fitzgerald", True, "Cindy Bentley has never given up."),
        ("Angela Fitzgerald", False, "As executive director"),
    ]


def test_a_label_on_its_own_line_names_the_speaker_of_the_lines_below() -> None:
    parsed = parse_transcript(srt("- Band Members:\nStep close,\nkeep walking!"))
    assert [(c.speaker, c.text) for c in parsed.cues] == [
        ("Band Members", "Step close, keep walking!")
    ]


def test_a_bare_label_cue_opens_the_turn_of_the_next_cue() -> None:
    parsed = parse_transcript(srt("Earlier words.", "- Tina Jacoby:", "As it stands today,"))
    assert [(c.speaker, c.new_turn, c.text) for c in parsed.cues] == [
        (None, False, "Earlier words."),
        ("Tina Jacoby", True, "As it stands today,"),
    ]


def test_a_dash_without_a_name_is_a_new_turn_by_an_unknown_speaker() -> None:
    parsed = parse_transcript(srt("- Announcer: Thanks.", "- Your community's best", "selfie spot"))
    assert [(c.speaker, c.new_turn) for c in parsed.cues] == [
        ("Announcer", True),
        (None, True),
        (None, False),
    ]


def test_two_dashed_lines_in_one_cue_are_two_turns() -> None:
    parsed = parse_transcript(srt("- Karen: Oh, no.\n- Patti: Oh, yeah."))
    assert [(c.speaker, c.text, c.start) for c in parsed.cues] == [
        ("Karen", "Oh, no.", 10.0),
        ("Patti", "Oh, yeah.", 10.0),
    ]


def test_a_name_can_sit_inside_italics() -> None:
    parsed = parse_transcript(srt("<i>!- Narrator: The crashing waters\n!of Lake Michigan</i>"))
    assert [(c.speaker, c.text) for c in parsed.cues] == [
        ("Narrator", "The crashing waters of Lake Michigan")
    ]


def test_note_mid_sentence_and_clock_times_are_not_speakers() -> None:
    parsed = parse_transcript(
        srt("- We start at 10:30 sharp.", "Take this Note: it matters.", "- Note: bring water.")
    )
    assert [c.speaker for c in parsed.cues] == [None, None, None]
    assert parsed.cues[0].text == "We start at 10:30 sharp."
    assert parsed.cues[2].text == "Note: bring water."


def test_a_dashless_label_counts_only_for_someone_who_speaks_with_a_dash() -> None:
    parsed = parse_transcript(
        srt("- Angela: Coming up", "Horicon Bank:\nThe Natural Choice,", "Angela: In life,")
    )
    assert [(c.speaker, c.text) for c in parsed.cues] == [
        ("Angela", "Coming up"),
        ("Angela", "Horicon Bank: The Natural Choice,"),
        ("Angela", "In life,"),
    ]
    assert parsed.cues[2].new_turn


def test_a_turn_after_a_sentence_in_the_same_line_is_split_off() -> None:
    parsed = parse_transcript(srt("- John: Yeah, this is\na good strudel. - Amy:\nYes."))
    assert [(c.speaker, c.text) for c in parsed.cues] == [
        ("John", "Yeah, this is a good strudel."),
        ("Amy", "Yes."),
    ]


def test_two_speakers_laid_out_in_columns_are_read_column_by_column() -> None:
    gap = "\u00a0" * 8
    parsed = parse_transcript(srt(f"- Patti:{gap}- Karen:\nKim and Ken.{gap}Yeah, Steve."))
    assert [(c.speaker, c.text) for c in parsed.cues] == [
        ("Patti", "Kim and Ken."),
        ("Karen", "Yeah, Steve."),
    ]


def test_untimed_text_blocks_inside_srt_are_kept_without_times() -> None:
    data = (
        b"[inspirational music]\n\n\n- This program\nis brought to you\n\nby PBS Wisconsin.\n\n"
        b"89\n00:04:40,375 --> 00:04:42,999\n- Mark Kuehn: It was\na matter of life and death.\n"
    )
    parsed = parse_transcript(data)
    assert [(c.text, c.start) for c in parsed.cues if c.text] == [
        ("This program is brought to you", None),
        ("by PBS Wisconsin.", None),
        ("It was a matter of life and death.", 280.375),
    ]
    assert parsed.format == "srt" and parsed.word_count == 17
    assert parsed.duration_estimated and "no timecodes" in parsed.warnings[0]


def test_untimed_lead_in_extends_the_duration_backwards_from_the_first_time() -> None:
    lead_in = " ".join(["word"] * 150)  # one minute at 150 words a minute
    data = f"{lead_in}\n\n1\n00:02:00,000 --> 00:02:10,000\nTimed words.\n".encode()
    assert parse_transcript(data).duration_seconds == pytest.approx(70.0)


def test_word_count_ignores_indexes_timecodes_labels_and_sounds() -> None:
    parsed = parse_transcript(srt("- Angela Fitzgerald: [music] Hello there,", "1975"))
    assert parsed.word_count == 3


def test_duration_runs_from_the_first_to_the_last_spoken_cue() -> None:
    data = srt("[gentle music]", "First words.", "Last words.", "[music fades]", "♪ ♪")
    parsed = parse_transcript(data)
    assert (parsed.duration_seconds, parsed.duration_estimated) == (15.5, False)


def test_backwards_times_fall_back_to_an_estimate_with_a_warning() -> None:
    data = (
        b"1\n00:10:00,000 --> 00:10:05,000\nOne two three.\n\n"
        b"2\n00:01:00,000 --> 00:01:05,000\nFour five six.\n"
    )
    parsed = parse_transcript(data)
    assert (parsed.duration_seconds, parsed.duration_estimated) == (2.4, True)
    assert "backwards" in parsed.warnings[0]


def test_absurdly_long_times_fall_back_to_an_estimate() -> None:
    data = b"1\n00:00:01,000 --> 99:00:00,000\nOne two three.\n"
    parsed = parse_transcript(data)
    assert parsed.duration_estimated and "implausible" in parsed.warnings[0]


# Timecoded editor exports


def test_it_reads_a_timecoded_export_at_thirty_frames_a_second() -> None:
    data = b"00:00:01:15 - 00:00:03:00\nJoe Kapler\nThat really speaks to it.\n\n"
    parsed = parse_transcript(data)
    assert parsed.format == "timecode"
    assert [(c.start, c.end, c.speaker, c.text) for c in parsed.cues] == [
        (1.5, 3.0, "Joe Kapler", "That really speaks to it.")
    ]


def test_it_reads_drop_frame_semicolon_timecodes() -> None:
    data = b"00;01;04;10 - 00;01;15;00\nSpeaker 3\nAnd if you.\n\n"
    cue = parse_transcript(data).cues[0]
    assert (cue.start, cue.end) == (pytest.approx(64 + 10 / 30), 75.0)


def test_a_new_turn_starts_when_the_speaker_line_changes() -> None:
    data = (
        b"00:00:00:00 - 00:00:05:00\nSpeaker 1\nOne.\n\n"
        b"00:00:05:00 - 00:00:07:00\nSpeaker 1\nTwo.\n\n"
        b"00:00:07:00 - 00:00:09:00\nUnknown\nThree.\n\n"
        b"00:00:09:00 - 00:00:12:15\nSpeaker 2 \nFour [laughs].\n"
    )
    parsed = parse_transcript(data)
    assert [(c.speaker, c.new_turn) for c in parsed.cues] == [
        ("Speaker 1", True),
        ("Speaker 1", False),
        (None, True),
        ("Speaker 2", True),
    ]
    assert parsed.cues[3].sounds == ("laughs",)
    assert (parsed.duration_seconds, parsed.word_count) == (12.5, 4)


# Prose


def test_prose_paragraphs_become_untimed_cues_with_an_estimated_duration() -> None:
    paragraph = " ".join(["word"] * 150)
    parsed = parse_transcript(f"{paragraph}\n\n{paragraph}\n".encode())
    assert parsed.format == "prose"
    assert [c.start for c in parsed.cues] == [None, None]
    assert (parsed.duration_seconds, parsed.duration_estimated) == (120.0, True)


def test_a_prose_paragraph_opening_with_a_name_is_a_speaker_turn() -> None:
    parsed = parse_transcript(
        b"Joe Kapler: It was popular.\nStill is.\n\nMore from Joe.\n\nNote: fin."
    )
    assert [(c.speaker, c.new_turn, c.text) for c in parsed.cues] == [
        ("Joe Kapler", True, "It was popular. Still is."),
        ("Joe Kapler", False, "More from Joe."),
        ("Joe Kapler", False, "Note: fin."),
    ]


def test_the_format_comes_from_content_not_from_appearances() -> None:
    assert detect_format("00;00;00;00 - 00;01;04;08\nSpeaker 1\nHi\n") == "timecode"
    assert detect_format("We met at 10:30 - 11:00 on Tuesday.\n") == "prose"
    assert detect_format("Use --> to point at things.\n") == "prose"
