"""The phases' prompt files and how they become chat messages for a remote model.

Each phase has ``prompts/<phase>.md`` in the package: a small front matter (phase, version,
max_output_tokens) and two sections, ``## System`` and ``## User``, holding templates with
``{{placeholder}}`` slots. ``render_messages`` fills the slots in one regex pass, so text from
a caption file or an earlier draft is inserted verbatim and never read as a placeholder. Each
phase may use only the slots it is entitled to (the SEO writer sees the brainstorming, the
manager sees every earlier draft); a prompt file using any other slot fails to load.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from editorial_assistant.llm.client import PhaseContext
from editorial_assistant.transcripts.models import Cue

NOT_AVAILABLE = "(not available)"
NO_SST_RECORD = "(no SST record)"
NO_SPEAKERS = "(no speaker names in the captions)"
COMMON_SLOTS = frozenset(
    {
        "media_id",
        "transcript",
        "title_limit",
        "short_description_limit",
        "long_description_limit",
        "duration",
        "speakers",
        "sst_block",
    }
)
# Earlier outputs by slot name and the phase that writes them.
EARLIER_OUTPUTS = {"brainstorming": "analyst", "formatted_transcript": "formatter", "seo": "seo"}
PHASE_SLOTS: dict[str, frozenset[str]] = {
    "analyst": COMMON_SLOTS,
    "formatter": COMMON_SLOTS | {"chunk_note"},
    "seo": COMMON_SLOTS | {"brainstorming"},
    "manager": COMMON_SLOTS | {"brainstorming", "formatted_transcript", "seo"},
    "timestamp": COMMON_SLOTS | {"brainstorming"},
}

_SLOT = re.compile(r"\{\{([a-z_]+)\}\}")
_ANY_SLOT = re.compile(r"\{\{(.*?)\}\}", re.S)
_FILE = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.S)
_SECTIONS = re.compile(r"\A\s*^## System[ \t]*\n(.*?)^## User[ \t]*\n(.*)\Z", re.S | re.M)
_FIELD = re.compile(r"^([a-z_]+):[ \t]*(\S.*?)[ \t]*$")


class PromptError(Exception):
    """A prompt file that is missing or malformed: a packaging bug, not a user error."""


@dataclass(frozen=True)
class Prompt:
    """One phase's prompt: its version, output budget and the two message templates."""

    phase: str
    version: int
    max_output_tokens: int
    system: str
    user: str


def prompt_path(phase: str) -> str:
    """Where a phase's prompt lives inside the package, for messages."""
    return f"editorial_assistant/pipeline/prompts/{phase}.md"


@cache
def load_prompt(phase: str) -> Prompt:
    """The phase's prompt, read from the package and checked (cached)."""
    if phase not in PHASE_SLOTS:
        raise PromptError(f"There is no phase called {phase!r}, so no {prompt_path(phase)}.")
    resource = resources.files("editorial_assistant.pipeline") / "prompts" / f"{phase}.md"
    try:
        text = resource.read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError) as exc:
        raise PromptError(f"Cannot read the prompt file {prompt_path(phase)}: {exc}") from exc
    return parse_prompt(text, phase=phase, source=prompt_path(phase))


def prompt_version(phase: str) -> str:
    """The label recorded with each output, such as ``seo@1``."""
    return f"{phase}@{load_prompt(phase).version}"


def parse_prompt(text: str, *, phase: str, source: str) -> Prompt:
    """A prompt from a file's text; ``PromptError`` names ``source`` when anything is wrong."""
    match = _FILE.match(text.replace("\r\n", "\n"))
    if match is None:
        raise PromptError(f"{source}: expected front matter between '---' lines at the top.")
    fields = _front_matter(match.group(1), source)
    sections = _SECTIONS.match(match.group(2))
    if sections is None:
        raise PromptError(f"{source}: expected a '## System' section, then a '## User' section.")
    prompt = Prompt(
        phase=fields.get("phase", ""),
        version=_positive(fields, "version", source),
        max_output_tokens=_positive(fields, "max_output_tokens", source),
        system=sections.group(1).strip(),
        user=sections.group(2).strip(),
    )
    _check(prompt, phase, source)
    return prompt


def _front_matter(block: str, source: str) -> dict[str, str]:
    fields = {}
    for line in block.splitlines():
        field = _FIELD.match(line)
        if field is None:
            raise PromptError(f"{source}: front matter line {line!r} is not 'name: value'.")
        fields[field.group(1)] = field.group(2)
    return fields


def _positive(fields: dict[str, str], name: str, source: str) -> int:
    value = fields.get(name, "")
    if not value.isdigit() or int(value) < 1:
        raise PromptError(f"{source}: front matter needs {name} as a whole number ≥ 1.")
    return int(value)


def _check(prompt: Prompt, phase: str, source: str) -> None:
    if prompt.phase != phase:
        raise PromptError(f"{source}: front matter says phase {prompt.phase!r}, not {phase!r}.")
    if not prompt.system or not prompt.user:
        raise PromptError(f"{source}: the System and User sections must not be empty.")
    unknown = sorted(set(unknown_slots(prompt.system + prompt.user, phase)))
    if unknown:
        allowed = ", ".join(sorted(PHASE_SLOTS[phase]))
        raise PromptError(f"{source}: unknown placeholders {unknown}; {phase} may use {allowed}.")


def unknown_slots(template: str, phase: str) -> list[str]:
    """Every ``{{…}}`` in ``template`` that the phase may not use, in order."""
    return [name for name in _ANY_SLOT.findall(template) if name not in PHASE_SLOTS[phase]]


def render_messages(
    phase: str, context: PhaseContext, *, sst: str | None = None
) -> tuple[tuple[dict[str, str], ...], Prompt]:
    """The system and user messages for one call, and the prompt they came from."""
    prompt = load_prompt(phase)
    values = slot_values(phase, context, sst=sst)
    messages = (
        {"role": "system", "content": fill(prompt.system, values)},
        {"role": "user", "content": fill(prompt.user, values)},
    )
    return messages, prompt


def fill(template: str, values: dict[str, str]) -> str:
    """``template`` with each known ``{{name}}`` replaced once; the values are never re-read."""
    return _SLOT.sub(lambda match: values.get(match.group(1), match.group(0)), template)


def slot_values(phase: str, context: PhaseContext, *, sst: str | None = None) -> dict[str, str]:
    """The text for every placeholder the phase may use."""
    transcript = context.transcript
    cues = context.cues if phase == "formatter" and context.cues else transcript.cues
    values = {
        "media_id": context.media_id,
        "transcript": render_transcript(cues),
        "title_limit": str(context.limits.title),
        "short_description_limit": str(context.limits.short_description),
        "long_description_limit": str(context.limits.long_description),
        "duration": clock_hms(transcript.duration_seconds),
        "speakers": ", ".join(transcript.speakers) or NO_SPEAKERS,
        "sst_block": sst.strip() if sst and sst.strip() else NO_SST_RECORD,
        "chunk_note": chunk_note(context),
    }
    for slot, writer in EARLIER_OUTPUTS.items():
        values[slot] = context.previous.get(writer, "").strip() or NOT_AVAILABLE
    return {name: value for name, value in values.items() if name in PHASE_SLOTS[phase]}


def render_transcript(cues: tuple[Cue, ...]) -> str:
    """Cues as ``<transcript>`` lines: time, speaker at each new turn, text."""
    lines = [_cue_line(cue) for cue in cues if cue.text.strip()]
    return "\n".join(["<transcript>", *lines, "</transcript>"])


def _cue_line(cue: Cue) -> str:
    time = f"[{clock_cue(cue.start)}] " if cue.start is not None else ""
    label = ""
    if cue.new_turn:
        label = f"{cue.speaker}: " if cue.speaker else "- "
    return f"{time}{label}{' '.join(cue.text.split())}"


def clock_cue(seconds: float) -> str:
    """``MM:SS`` under an hour, ``H:MM:SS`` from an hour on."""
    whole = int(seconds)
    hours, minutes, secs = whole // 3600, whole % 3600 // 60, whole % 60
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def clock_hms(seconds: float) -> str:
    """``HH:MM:SS``."""
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def chunk_note(context: PhaseContext) -> str:
    """What the formatter must know about its part of a long transcript; empty for one part."""
    index, count = context.chunk_index, context.chunk_count
    if count <= 1:
        return ""
    if index == 0:
        return (
            f"This is part 1 of {count}. Start with the heading and stop where this part's "
            "text ends; the later parts are formatted separately and joined after it."
        )
    note = f"This is part {index + 1} of {count}; continue the transcript without a heading."
    first = next((cue for cue in context.cues if cue.text.strip()), None)
    if first is not None and not first.new_turn and first.speaker:
        note += (
            f" It opens in the middle of a turn by {first.speaker}; "
            f"begin with the label **{first.speaker}:**."
        )
    return note
