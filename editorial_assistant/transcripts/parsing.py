"""Turn the bytes of an uploaded caption file into a ``ParsedTranscript``.

The format is detected from the content, never from the file name: SRT captions (including
stretches of text blocks without index or timecode), frame-timecoded editor exports, and plain
prose. Anything that is not text, or is Scenarist SCC, is refused with a ``TranscriptRejected``
whose ``code`` says why. Only spoken words reach ``Cue.text``: tags, speaker labels, sound cues and
music notes are removed (sounds are kept aside in ``Cue.sounds``).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable
from typing import NoReturn

from editorial_assistant.errors import TranscriptRejected
from editorial_assistant.transcripts.models import Cue, ParsedTranscript

MAX_BYTES = 5_000_000
WORDS_PER_MINUTE = 150
FRAMES_PER_SECOND = 30  # 29.97 drop-frame exports are close enough for editorial timing
MAX_CONTROL_SHARE = 0.05
MAX_PLAUSIBLE_SECONDS = 24 * 3600
BACKWARDS_TOLERANCE_SECONDS = 1.0
ACCEPTED = (
    "Accepted: SRT captions, timecoded editor exports (HH:MM:SS:FF - HH:MM:SS:FF, speaker, text) "
    "or plain-text transcripts, encoded as UTF-8, UTF-16 with a byte-order mark, or Windows-1252."
)

_SRT_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{2})[,.](\d{1,3})"
SRT_TIMING = re.compile(rf"^\s*{_SRT_TIME}\s*-->\s*{_SRT_TIME}")
_FRAME_TIME = r"(\d{1,2})[:;](\d{2})[:;](\d{2})[:;](\d{2})"
TIMECODE_LINE = re.compile(rf"^\s*{_FRAME_TIME}\s*-\s*{_FRAME_TIME}\s*$")
INDEX_LINE = re.compile(r"^\s*\d+\s*$")
CONTROL_CHAR = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
TAG = re.compile(r"</?[A-Za-z][^<>]*>|\{\\[^{}]*\}")
TAG_BETWEEN_WORDS = re.compile(rf"(?<=\w)(?:{TAG.pattern})+(?=\w)")  # "on<i>Wisconsin" -> 2 words
POSITION_MARK = re.compile(r"^!+")  # caption-positioning residue seen before italic lines
COLUMN_GAP = re.compile(r"[ \u00a0]{3,}")  # two speakers laid out side by side in one caption
TURN_DASH = re.compile(r"^-(?:\s+|$)")
_NAME_WORD = r"[^\W\d_][\w.'’-]*"
_NAME = rf"{_NAME_WORD}(?: +(?:{_NAME_WORD}|\d+)){{0,4}}"
LABEL = re.compile(rf"^({_NAME}):(?=\s|$)\s*")
INLINE_TURN = re.compile(rf"(?<=[.!?,\"\]…])\s+(?=-\s+{_NAME}:(?:\s|$))")
MUSIC_NOTES = "♪♫"
_NOTE = f"[{MUSIC_NOTES}]"
SOUND = re.compile(rf"\[([^\[\]]*)\]|{_NOTE}(?:([^{MUSIC_NOTES}]*){_NOTE}|([^{MUSIC_NOTES}\n]*))")
# Files once saved as cp1252 turned every ♪ into "?": "? Hey, hey baby! ?", "? ?".
LOST_NOTE = re.compile(r"^\?(?=\s|$)|(?<=\s)\?$", re.MULTILINE)
# A bracket the captioner never closed (or never opened) ends its sound at the line's end.
STRAY_SOUND = re.compile(r"\[([^\]\n]*)$|^([^\[\n]*)\]", re.MULTILINE)
WHITESPACE = re.compile(r"\s+")
SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+(?=[.,!?;:](?:\s|$))")  # left where a sound was cut
NAME_PARTICLES = frozenset(
    {"of", "on", "from", "the", "de", "del", "van", "von", "der", "la", "le"}
)
NOT_NAMES = frozenset({"note", "notes", "nb", "ps", "update", "warning", "caution", "reminder"})
UNKNOWN_SPEAKERS = frozenset({"unknown", "unknown speaker"})

Block = tuple[float | None, float | None, list[str]]
Turn = tuple[bool, str | None, list[str]]


def parse_transcript(data: bytes, *, max_bytes: int = MAX_BYTES) -> ParsedTranscript:
    """Parse an uploaded caption file, or raise ``TranscriptRejected`` saying why not."""
    _check_size(data, max_bytes)
    text, encoding = decode_transcript(data)
    _check_is_text(text)
    fmt = detect_format(text)
    cues = tuple(PARSERS[fmt](text))
    if not any(cue.text for cue in cues):
        _reject("empty_file", 422, "The file has no spoken words, only timecodes or sounds.")
    duration, estimated, warnings = _duration(cues)
    return ParsedTranscript(fmt, encoding, cues, duration, estimated, warnings)


def decode_transcript(data: bytes) -> tuple[str, str]:
    """Decode bytes as UTF-8 (BOM), UTF-16 (BOM), UTF-8 or cp1252; return text and encoding."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _normalise(_decode(data, "utf-16")), "utf-16"
    if b"\x00" in data:
        _reject_binary("it contains NUL bytes")
    if data.startswith(codecs.BOM_UTF8):
        return _normalise(_decode(data, "utf-8-sig")), "utf-8-sig"
    try:
        return _normalise(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        return _normalise(_decode(data, "cp1252")), "cp1252"


def detect_format(text: str) -> str:
    """Name the format of decoded text: ``srt``, ``timecode`` or ``prose``."""
    lines = text.split("\n")
    if any(SRT_TIMING.match(line) for line in lines):
        return "srt"
    if any(TIMECODE_LINE.match(line) for line in lines):
        return "timecode"
    return "prose"


def _reject(code: str, status: int, problem: str) -> NoReturn:
    raise TranscriptRejected(f"{problem} {ACCEPTED}", code=code, status=status)


def _reject_binary(reason: str) -> NoReturn:
    _reject("binary_file", 415, f"The file looks binary, not text: {reason}.")


def _check_size(data: bytes, max_bytes: int) -> None:
    if len(data) > max_bytes:
        problem = f"The file is {len(data):,} bytes; the limit is {max_bytes:,} bytes."
        _reject("file_too_large", 413, problem)


def _decode(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        where = f"byte 0x{data[error.start]:02x} at offset {error.start}"
        _reject("undecodable", 422, f"The file is not readable as {encoding} ({where}).")


def _normalise(text: str) -> str:
    # Caption tools mix CRLF and bare CR in one file; everything downstream sees LF only.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _check_is_text(text: str) -> None:
    if not text.strip():
        _reject("empty_file", 422, "The file is empty or contains only whitespace.")
    controls = len(CONTROL_CHAR.findall(text))
    if "\x00" in text or controls / len(text) > MAX_CONTROL_SHARE:
        _reject_binary(f"{controls:,} of its {len(text):,} characters are control characters")
    if text.lstrip().startswith("Scenarist_SCC"):
        problem = "Scenarist SCC files hold encoded caption bytes, not text, and are not supported."
        _reject("scc_not_supported", 415, f"{problem} Export the captions as SRT instead.")


def _srt_cues(text: str) -> list[Cue]:
    lines = text.split("\n")
    return _cues_from_blocks(_caption_blocks(lines), _dashed_speakers(lines))


def _prose_cues(text: str) -> list[Cue]:
    """Prose reads like captions without timing lines; any ``Name:`` opening a paragraph counts."""
    return _cues_from_blocks(_caption_blocks(text.split("\n")), None)


def _dashed_speakers(lines: list[str]) -> frozenset[str]:
    """Names given as ``- Name:`` anywhere in the file, and their first words."""
    names: set[str] = set()
    for piece in (part for line in lines for part in _split_columns([_clean_line(line)])):
        dash = TURN_DASH.match(piece)
        name = _split_label(piece[dash.end() :])[0] if dash else None
        if name:
            names.update((name, name.split()[0]))
    return frozenset(names)


def _caption_blocks(lines: list[str]) -> list[Block]:
    blocks: list[Block] = []
    current: Block | None = None
    for number, line in enumerate(lines):
        timing = SRT_TIMING.match(line)
        if timing:
            current = (*_srt_span(timing.groups()), [])
            blocks.append(current)
        elif not line.strip():
            current = None
        elif not _is_index(lines, number):
            if current is None:
                current = (None, None, [])
                blocks.append(current)
            current[2].append(line)
    return blocks


def _is_index(lines: list[str], number: int) -> bool:
    following = lines[number + 1] if number + 1 < len(lines) else ""
    return bool(INDEX_LINE.match(lines[number]) and SRT_TIMING.match(following))


def _srt_span(groups: tuple[str, ...]) -> tuple[float, float]:
    return _srt_seconds(*groups[:4]), _srt_seconds(*groups[4:])


def _srt_seconds(hours: str | None, minutes: str, seconds: str, millis: str) -> float:
    return (
        int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(millis.ljust(3, "0")) / 1000
    )


def _cues_from_blocks(blocks: Iterable[Block], known: frozenset[str] | None) -> list[Cue]:
    cues: list[Cue] = []
    speaker, pending_turn = None, False
    for start, end, lines in blocks:
        for opens, name, body in _turns(lines, known):
            text, sounds = _clean_text(body)
            speaker = name if opens else speaker
            if not text and not sounds:  # a bare label: its turn starts with the next cue
                pending_turn = pending_turn or opens
                continue
            cues.append(Cue(text, start, end, speaker, opens or pending_turn, sounds))
            pending_turn = False
    return cues


def _turns(lines: list[str], known: frozenset[str] | None) -> list[Turn]:
    turns: list[Turn] = []
    for number, line in enumerate(_split_columns([_clean_line(line) for line in lines])):
        opening = _turn_opening(line, known if number == 0 else frozenset())
        if opening:
            turns.append((True, opening[0], [opening[1]]))
        elif turns:
            turns[-1][2].append(line)
        else:
            turns.append((False, None, [line]))
    return turns


def _clean_line(line: str) -> str:
    untagged = TAG.sub("", TAG_BETWEEN_WORDS.sub(" ", line))
    return POSITION_MARK.sub("", untagged.strip()).strip()


def _split_columns(lines: list[str]) -> list[str]:
    rows = [COLUMN_GAP.split(line) for line in lines if line]
    if len(rows) > 1 and len(rows[0]) > 1 and all(len(row) == len(rows[0]) for row in rows):
        return [" ".join(column) for column in zip(*rows, strict=True)]
    return [piece for row in rows for part in row for piece in INLINE_TURN.split(part)]


def _turn_opening(line: str, known: frozenset[str] | None) -> tuple[str | None, str] | None:
    """``(speaker, rest)`` when the line opens a turn; dashless labels need a ``known`` name."""
    dash = TURN_DASH.match(line)
    if dash:
        return _split_label(line[dash.end() :])
    name, rest = _split_label(line)
    # "Angela: ..." opening a cue is a label when Angela speaks elsewhere; "Horicon Bank: The
    # Natural Choice" (a sponsor tagline) is not. None means any name counts (prose).
    if name and (known is None or name in known):
        return name, rest
    return None


def _split_label(text: str) -> tuple[str | None, str]:
    label = LABEL.match(text)
    if label and _is_name(label.group(1)):
        return label.group(1), text[label.end() :]
    return None, text


def _is_name(candidate: str) -> bool:
    first, *rest = candidate.split()
    if not first[0].isupper() or candidate.lower() in NOT_NAMES:
        return False
    return all(w[0].isupper() or w.isdigit() or w in NAME_PARTICLES for w in rest)


def _clean_text(lines: Iterable[str]) -> tuple[str, tuple[str, ...]]:
    sounds: list[str] = []
    text = LOST_NOTE.sub(MUSIC_NOTES[0], CONTROL_CHAR.sub(" ", "\n".join(lines)))
    spoken = _take_sounds(STRAY_SOUND, _take_sounds(SOUND, text, sounds), sounds)
    spoken = SPACE_BEFORE_PUNCTUATION.sub("", WHITESPACE.sub(" ", spoken))
    return spoken.strip(), tuple(sounds)


def _take_sounds(pattern: re.Pattern[str], text: str, sounds: list[str]) -> str:
    def keep(match: re.Match[str]) -> str:
        inner = WHITESPACE.sub(" ", match.group(match.lastindex or 0)).strip()
        if inner or match.group(0)[0] in MUSIC_NOTES:
            sounds.append(inner or "♪")
        return " "

    return pattern.sub(keep, text)


def _timecode_cues(text: str) -> list[Cue]:
    cues: list[Cue] = []
    previous: object = object()
    for start, end, lines in _timecode_blocks(text.split("\n")):
        label, body = _speaker_line(lines)
        spoken, sounds = _clean_text(_clean_line(line) for line in body)
        speaker = None if label is None or label.lower() in UNKNOWN_SPEAKERS else label
        cues.append(Cue(spoken, start, end, speaker, label != previous, sounds))
        previous = label
    return [cue for cue in cues if cue.text or cue.sounds]


def _timecode_blocks(lines: list[str]) -> list[Block]:
    blocks: list[Block] = []
    for line in lines:
        timing = TIMECODE_LINE.match(line)
        if timing:
            groups = timing.groups()
            blocks.append((_frame_seconds(*groups[:4]), _frame_seconds(*groups[4:]), []))
        elif line.strip():
            if not blocks:
                blocks.append((None, None, []))
            blocks[-1][2].append(line.strip())
    return blocks


def _frame_seconds(hours: str, minutes: str, seconds: str, frames: str) -> float:
    return int(hours) * 3600 + int(minutes) * 60 + int(seconds) + int(frames) / FRAMES_PER_SECOND


def _speaker_line(lines: list[str]) -> tuple[str | None, list[str]]:
    if len(lines) > 1 and len(lines[0].split()) <= 6 and lines[0][-1] not in ".,;!?]":
        return lines[0], lines[1:]
    return None, lines


def _duration(cues: tuple[Cue, ...]) -> tuple[float, bool, tuple[str, ...]]:
    """Seconds from the first to the last spoken cue; estimated where times are missing."""
    spoken = [cue for cue in cues if cue.text]
    timed = [index for index, cue in enumerate(spoken) if cue.start is not None]
    if not timed:
        return _estimate(spoken), True, ()
    problem = _timing_problem([spoken[index] for index in timed])
    if problem:
        warning = f"{problem}; the duration was estimated at {WORDS_PER_MINUTE} words a minute."
        return _estimate(spoken), True, (warning,)
    return _timed_duration(spoken, timed[0], timed[-1])


def _timed_duration(
    spoken: list[Cue], first: int, last: int
) -> tuple[float, bool, tuple[str, ...]]:
    lead, trail = _estimate(spoken[:first]), _estimate(spoken[last + 1 :])
    start = max(0.0, (spoken[first].start or 0.0) - lead)
    duration = round((spoken[last].end or 0.0) + trail - start, 3)
    untimed = sum(1 for cue in spoken if cue.start is None)
    if not untimed:
        return duration, False, ()
    warning = f"{untimed} cues have no timecodes; they were kept as untimed text"
    return duration, bool(lead or trail), (f"{warning} and their duration was estimated.",)


def _timing_problem(timed: list[Cue]) -> str | None:
    previous = 0.0
    for cue in timed:
        start, end = cue.start or 0.0, cue.end or 0.0
        if end < start or start < previous - BACKWARDS_TOLERANCE_SECONDS:
            return f"The timecodes go backwards near {_clock(start)}"
        previous = start
    span = (timed[-1].end or 0.0) - (timed[0].start or 0.0)
    if not 0 < span <= MAX_PLAUSIBLE_SECONDS:
        return f"The timecodes span an implausible {span:,.0f} seconds"
    return None


def _estimate(cues: Iterable[Cue]) -> float:
    return round(sum(cue.word_count for cue in cues) * 60 / WORDS_PER_MINUTE, 3)


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


PARSERS: dict[str, Callable[[str], list[Cue]]] = {
    "srt": _srt_cues,
    "timecode": _timecode_cues,
    "prose": _prose_cues,
}
