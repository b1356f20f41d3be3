"""Extractive keywords for the local backend: frequent terms and capitalised names.

Terms are words outside an embedded English stopword list (with the small talk of unscripted
speech added), counted with simple plurals folded into the singular. Names are runs of two or
more capitalised words (``Great Wisconsin Quilt Show``, ``Melissa de Leon Mason``). Ties are
broken by first appearance so the same transcript always gives the same keywords.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from editorial_assistant.pipeline.checks import FILLERS

_STOPWORD_TEXT = """
    a about above across after again against all almost along already also although always am
    among an and another any anybody anyone anything anyway anywhere are around as at away back
    be became because become been before behind being below beside besides between beyond both
    but by came can cannot could did do does doing done down during each either else enough even
    ever every everybody everyone everything everywhere few first for from further get gets
    getting give given go goes going gone got gotten had has have having he her here hers herself
    him himself his how however i if in inside instead into is it its itself just last later
    least less let like likely made make makes making many may maybe me might mine more most
    mostly much must my myself near need never next no nobody none nor not nothing now of off
    often oh ok okay on once one only onto or other others otherwise our ours ourselves out over
    own per perhaps please put quite rather really right said same saw say saying says see seem
    seemed seems seen several shall she should since so some somebody someone something sometimes
    somewhere soon still such sure take taken than that the their theirs them themselves then
    there therefore these they thing things think this those though through thus to together too
    took toward towards two under until up upon us use used using very via want wanted was way we
    well went were what whatever when where whether which while who whoever whole whom whose why
    will with within without would yeah yes yet you your yours yourself yourselves
    actually absolutely anyhow basically bit certainly come comes coming definitely different
    doesn don especially exactly gonna gotta hey huh kind kinda know knew knowing little lot lots
    mean means obviously pretty probably sort stuff tell telling thank thanks today tomorrow
    totally usually wanna whatnot yesterday great good new old big day days time times year years
    going able start started look looking looked feel felt try tried trying keep kept call called
    aren couldn didn hadn hasn haven isn ll ve re wasn weren won wouldn shouldn
    people person life world part place places guy guys folks everybody real sense whatever
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_TOKEN = re.compile(r"(?<!\w)[^\W\d_]+(?:['’-][^\W\d_]+)*(?!\w)")
_CONNECTORS = frozenset({"of", "de", "la", "le", "van", "von", "der", "du", "del", "da", "di"})
_NAME_OPENER_TEXT = (
    "the a an this that these those and but or so then when if my our your his her their its "
    "we i you he she they it in on at of to for with from by as"
)
_NAME_OPENERS = frozenset(_NAME_OPENER_TEXT.split())
_POSSESSIVE = re.compile(r"['’]s$", re.I)
_MIN_TERM_LENGTH = 3
_Run = list[tuple[int, str]]  # (token position in the sentence, word)
_MAX_TERM_LENGTH = 30  # longer "words" are caption noise, never useful keywords


@dataclass(frozen=True)
class Keywords:
    """Ranked capitalised names and terms."""

    names: tuple[str, ...]
    terms: tuple[str, ...]

    def free_terms(self) -> list[str]:
        """Terms that are not a word of one of the names."""
        return [term for term in self.terms if not _inside_any(term, self.names)]

    def combined(self, count: int) -> list[str]:
        """Names first, then terms not already inside a name, at most ``count``."""
        return [*self.names, *self.free_terms()][:count]


def _inside_any(term: str, names: Sequence[str]) -> bool:
    return any(term.lower() in name.lower().split() for name in names)


def _normalise(token: str) -> str:
    return _POSSESSIVE.sub("", token.replace("’", "'"))


def _tokens(sentence: str) -> list[re.Match[str]]:
    return list(_TOKEN.finditer(sentence))


def term_key(word: str) -> str | None:
    """The counting key for a word, or None when it is not a content term."""
    key = _normalise(word).lower()
    if not _MIN_TERM_LENGTH <= len(key) <= _MAX_TERM_LENGTH or "'" in key:
        return None
    return None if key in STOPWORDS or key in FILLERS else key


def extract_keywords(sentences: Sequence[str], *, names: int = 8, terms: int = 12) -> Keywords:
    """The most frequent names and terms in ``sentences``."""
    lowercase_seen = _lowercase_words(sentences)
    name_counts: Counter[str] = Counter()
    for sentence in sentences:
        name_counts.update(_names_in(sentence, lowercase_seen))
    return Keywords(_ranked_names(name_counts, names), _ranked_terms(sentences, terms))


def _lowercase_words(sentences: Sequence[str]) -> frozenset[str]:
    return frozenset(
        match.group().lower()
        for sentence in sentences
        for match in _tokens(sentence)
        if match.group().islower()
    )


def _names_in(sentence: str, lowercase_seen: frozenset[str]) -> list[str]:
    """Runs of capitalised words; a sentence-initial common word is not part of a name."""
    runs = _capitalised_runs(sentence)
    return [name for run in runs if (name := _clean_name(run, lowercase_seen))]


def _capitalised_runs(sentence: str) -> list[_Run]:
    """Capitalised words (and connectors inside them) separated only by spaces."""
    tokens = _tokens(sentence)
    runs: list[_Run] = [[]]
    for index, match in enumerate(tokens):
        word = match.group()
        joined = index > 0 and sentence[tokens[index - 1].end() : match.start()].isspace()
        if _capitalised(word) or (joined and runs[-1] and word in _CONNECTORS):
            if not joined:
                runs.append([])
            runs[-1].append((index, word))
        else:
            runs.append([])
    return runs


def _capitalised(word: str) -> bool:
    return word[0].isupper()


def _clean_name(run: _Run, lowercase_seen: frozenset[str]) -> str | None:
    words = [word for _, word in run]
    if run and run[0][0] == 0 and words[0].lower() in lowercase_seen | STOPWORDS:
        words = words[1:]
    while words and (words[0].lower() in _NAME_OPENERS or words[0] in _CONNECTORS):
        words = words[1:]
    while words and words[-1] in _CONNECTORS:
        words = words[:-1]
    capitalised = [word for word in words if _capitalised(word)]
    if len(capitalised) < 2:
        return None
    return " ".join([*words[:-1], _normalise(words[-1])])


def _ranked_names(counts: Counter[str], count: int) -> tuple[str, ...]:
    chosen: list[str] = []
    for name, _ in counts.most_common():
        if not any(name.lower() in kept.lower() for kept in chosen):
            chosen.append(name)
        if len(chosen) == count:
            break
    return tuple(chosen)


def term_counts(sentences: Sequence[str]) -> tuple[Counter[str], dict[str, str]]:
    """Term counts with plurals folded in, and the display form of each term."""
    counts: Counter[str] = Counter()
    forms: dict[str, Counter[str]] = {}
    for sentence in sentences:
        for index, match in enumerate(_tokens(sentence)):
            key = term_key(match.group())
            if key is None:
                continue
            counts[key] += 1
            form = _normalise(match.group()) if index else key
            forms.setdefault(key, Counter())[form] += 1
    return _fold_plurals(counts), _display_forms(forms)


def _fold_plurals(counts: Counter[str]) -> Counter[str]:
    folded: Counter[str] = Counter()
    for key, number in counts.items():
        singular = key[:-1] if key.endswith("s") and key[:-1] in counts else key
        folded[singular] += number
    return folded


def _display_forms(forms: dict[str, Counter[str]]) -> dict[str, str]:
    """Keep a term capitalised when it is mostly written that way mid-sentence."""
    display = {}
    for key, seen in forms.items():
        capitalised = sum(n for form, n in seen.items() if _capitalised(form))
        display[key] = key.capitalize() if capitalised * 2 > sum(seen.values()) else key
    return display


def _ranked_terms(sentences: Sequence[str], count: int) -> tuple[str, ...]:
    counts, display = term_counts(sentences)
    return tuple(display[key] for key, _ in counts.most_common(count))


def distinctive_terms(sections: Sequence[Sequence[str]], count: int) -> list[list[str]]:
    """Per section, the terms most frequent there and rarest elsewhere (tf-idf)."""
    per_section = [term_counts(sentences) for sentences in sections]
    spread = Counter(key for counts, _ in per_section for key in counts)
    total = len(sections)
    ranked = []
    for counts, display in per_section:
        scores = {key: n * math.log((1 + total) / spread[key]) for key, n in counts.items()}
        best = sorted(scores, key=lambda key: -scores[key])[:count]
        ranked.append([display[key] for key in best])
    return ranked
