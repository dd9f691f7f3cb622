"""How a display name is normalised and which body's name it claims.

An account impersonates a body when its display name claims one of the body's names: the whole name, however
it is written. Impersonators space it out, put dots or bars between its characters, hide zero-width characters
in it, write it in traditional characters, full-width forms, mixed case, digits for letters or letters of other
scripts that look Latin, and wrap it in emoji, brackets, prefixes and suffixes. A name that only shares a word
with a body's name claims nothing.

Two forms of a name are used here:

- ``normalise(text)`` is the readable form: invisible characters dropped, Unicode NFKC (full-width and styled
  forms), traditional characters made simplified (OpenCC's tables), case folded, diacritics stripped,
  letters of other scripts that look Latin replaced by the Latin letter (Unicode's confusables, UTS #39), and
  every run of spaces, punctuation, symbols and emoji made one space.
- the matching key is the readable form without the spaces, read a little more coarsely: digits are read as the
  letters they stand for (``DEFAULT_DIGIT_LETTERS``) and ``i`` and ``l`` are one letter (``DEFAULT_LETTER_FOLDS``).

A name is claimed when its key lies in the display name's key. An alias that begins (ends) with a Latin letter
or a digit must also begin (end) at a word boundary of the display name, so "National Security" is not claimed
by "International Security" nor "Customs" by "customsbrokers". A boundary is the edge of the name, a space,
punctuation, a symbol or emoji, a character of a script without case (Chinese), a run of at least
``DEFAULT_MIN_NUMBER_RUN`` digits (a hotline glued to the name, "12360China Customs"; a single digit is read as a
letter), or a change of case inside a camel-cased word ("China PoliceOfficial", "HQChina Police"). Chinese names
have no spaces, so a Chinese alias is claimed wherever its key lies in the key. Separators inside the name are
ignored, which is how spaced, dotted and barred names are read.

Known limits, each the price of a rule above: separators are ignored anywhere inside a name, so "Made in Valport
| Police dogs" claims "Valport Police"; a Latin name glued to lower-case letters ("chinapoliceofficial") or to a
single digit ("1China Police") is not claimed; a Chinese name inside a longer, different name is claimed.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import logging
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import opencc
import regex

logger = logging.getLogger(__name__)

DEFAULT_OPENCC_CONFIG = "hk2s"
"""OpenCC's conversion from traditional to simplified characters: ``t2s`` plus Hong Kong's variant forms (衞, 綫),
which differs from ``t2s`` only on characters that are not simplified ones."""

DEFAULT_CONFUSABLES = ("confusable_homoglyphs", "confusables.json")
"""Where Unicode's confusables (UTS #39 confusables.txt, as JSON) are read from: the package that ships them."""

DEFAULT_DIGIT_LETTERS: Mapping[str, str] = {
    "0": "o",
    "1": "l",
    "2": "z",
    "3": "e",
    "4": "a",
    "5": "s",
    "6": "g",
    "7": "t",
    "8": "b",
    "9": "g",
}
"""Digits read as the letters they stand for in the matching key (leetspeak). Unicode's confusables cover only
0/O and 1/l, and no maintained library ships this table, so it is kept here, small and in one place."""

DEFAULT_LETTER_FOLDS: Mapping[str, str] = {"i": "l"}
"""Latin letters read as one in the matching key: ``I``, ``l`` and ``1`` look alike, and folding ``i`` onto
``l`` lets "Ch1na", "Chlna" and "CHINA" all read as "China"."""

DEFAULT_MIN_NUMBER_RUN = 2
"""A run of at least this many digits next to a Latin name is a number (a hotline, a year) and so a word
boundary; a single digit there is read as a letter of the word."""

DEFAULT_FOLD_CACHE = 1 << 16
"""How many distinct characters keep their folding cached, per process."""

TRICKS = ("spaced", "traditional", "full-width", "homoglyphs", "invisible", "case", "digits-for-letters", "emoji")
"""Every way of writing a name that a claim can report, in the order it reports them."""

_INVISIBLE_RE = regex.compile(r"\p{Default_Ignorable_Code_Point}")
#: A UTF-16 half that JSON admits alone (``"\ud83d"``) and no text can be encoded with.
LONE_SURROGATE = regex.compile("[\ud800-\udfff]")
_EMOJI_RE = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}]")

# Kinds of character, for word boundaries.
_INVISIBLE = 0  # dropped: default-ignorable code points and combining marks
_SEPARATOR = 1  # spaces, punctuation, symbols, emoji: a boundary, not part of any key
_WORD = 2  # a letter of a cased script, or one that reads as a Latin letter
_DIGIT = 3
_UNCASED = 4  # a letter of a script without case (Chinese, Japanese, Arabic...): a boundary for Latin words


@dataclass(frozen=True)
class NameClaim:
    """A display name's claim to be a body: which body, which of its names, where, and how it was written."""

    entity: str
    alias: str
    normalised: str
    span: tuple[int, int]
    tricks: tuple[str, ...]


class _Fold(NamedTuple):
    """What one character of a name becomes."""

    kind: int
    display: str  # its part of the readable form (a space for a separator)
    key: str  # its part of the matching key
    upper: bool
    lower: bool
    tricks: frozenset[str]  # the tricks the character shows by itself


@dataclass(frozen=True)
class _Alias:
    """One of a body's names, folded for matching."""

    entity: str
    alias: str
    key: str
    owners: tuple[int, ...]  # for each key character, the index of the alias character it comes from
    needs_left: bool
    needs_right: bool


@functools.cache
def _converter() -> Any:
    """The OpenCC converter, built once per process (it does not pickle, so it never travels)."""
    return opencc.OpenCC(DEFAULT_OPENCC_CONFIG)


@functools.cache
def _latin_lookalikes() -> dict[str, str]:
    """Non-ASCII letters and digits that Unicode's confusables map to ASCII letters or digits.

    The data is UTS #39's confusables.txt as shipped by ``confusable_homoglyphs``, stored both ways: a source
    character lists exactly one prototype, a prototype lists its sources, so single entries are the mappings.
    It is read here, once per process on first use, with an explicit encoding.
    """
    package, name = DEFAULT_CONFUSABLES
    data = json.loads(importlib.resources.files(package).joinpath(name).read_text(encoding="utf-8"))
    table: dict[str, str] = {}
    for char, entries in data.items():
        if len(char) != 1 or char.isascii() or len(entries) != 1:
            continue
        if unicodedata.category(char)[0] not in "LN":
            continue
        target = entries[0]["c"].replace("\u200e", "")
        if target.isascii() and target.isalnum():
            table[char] = target
    return table


def _simplify(text: str) -> str:
    """Traditional characters made simplified, one character out for each character in. A lone
    surrogate (a name cut in the middle of an emoji), which no text can be encoded with and the
    conversion refuses, is U+FFFD, the replacement character."""
    text = str(LONE_SURROGATE.sub("\ufffd", text))
    converted: str = _converter().convert(text)
    if len(converted) == len(text):
        return converted
    # A phrase mapping changed the length: convert character by character to keep the offsets.
    return "".join(_simplify_char(char) for char in text)


def _simplify_char(char: str) -> str:
    converted: str = _converter().convert(char)
    return converted if len(converted) == 1 else char


def _strip_marks(char: str) -> str:
    decomposed = unicodedata.normalize("NFD", char)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn"))


@functools.lru_cache(maxsize=DEFAULT_FOLD_CACHE)
def _fold(char: str) -> _Fold:
    """Fold one (already simplified) character: NFKC, diacritics, confusables, case, digits."""
    if _INVISIBLE_RE.match(char) or unicodedata.category(char) in ("Mn", "Me"):
        return _Fold(_INVISIBLE, "", "", False, False, frozenset())
    tricks: set[str] = set()
    plain = unicodedata.normalize("NFKC", char)
    if plain != char:
        tricks.add("full-width" if unicodedata.east_asian_width(char) == "F" else "homoglyphs")
        simplified = _simplify(plain)
        if simplified != plain:
            tricks.add("traditional")
            plain = simplified
    display: list[str] = []
    key: list[str] = []
    first: str | None = None
    for sub in plain:
        category = unicodedata.category(sub)
        if category[0] == "M":
            continue
        if category[0] not in "LN":
            display.append(" ")
            continue
        base = _strip_marks(sub)
        if base != sub:
            tricks.add("homoglyphs")
        if not base.isascii() and base in _latin_lookalikes():
            base = _latin_lookalikes()[base]
            tricks.add("homoglyphs")
        folded = base.casefold()
        display.append(folded)
        key.extend(DEFAULT_DIGIT_LETTERS.get(c, DEFAULT_LETTER_FOLDS.get(c, c)) for c in folded)
        if first is None:
            first = base
    if first is None:
        kind = _SEPARATOR if display else _INVISIBLE
        return _Fold(kind, " " if display else "", "", False, False, frozenset(tricks))
    if first.isascii() and first.isdigit():
        kind = _DIGIT
    elif (first.isascii() and first.isalpha()) or first.lower() != first.upper():
        kind = _WORD
    else:
        kind = _UNCASED
    return _Fold(kind, "".join(display), "".join(key), first.isupper(), first.islower(), frozenset(tricks))


def _folds(text: str) -> tuple[str, list[_Fold]]:
    """The simplified text (same length as ``text``) and each of its characters folded."""
    simplified = _simplify(text)
    return simplified, [_fold(char) for char in simplified]


def _readable(folds: Sequence[_Fold]) -> str:
    return " ".join("".join(fold.display for fold in folds).split())


def normalise(text: str) -> str:
    """The readable normal form of a display name (see the module's docstring for what is done)."""
    return _readable(_folds(text)[1])


def _key(folds: Sequence[_Fold]) -> tuple[str, list[int]]:
    """The matching key and, for each of its characters, the index of the character it comes from."""
    parts: list[str] = []
    owners: list[int] = []
    for index, fold in enumerate(folds):
        if fold.key:
            parts.append(fold.key)
            owners.extend([index] * len(fold.key))
    return "".join(parts), owners


def _neighbour(folds: Sequence[_Fold], index: int, step: int) -> int | None:
    """The index of the nearest visible character from ``index`` in direction ``step``, or None at the edge."""
    index += step
    while 0 <= index < len(folds):
        if folds[index].kind != _INVISIBLE:
            return index
        index += step
    return None


def _is_boundary(folds: Sequence[_Fold], inner: int, step: int) -> bool:
    """Whether a Latin word may end at character ``inner`` looking in direction ``step`` (-1 left, +1 right)."""
    outer = _neighbour(folds, inner, step)
    if outer is None:
        return True
    out = folds[outer]
    if out.kind in (_SEPARATOR, _UNCASED):
        return True
    if out.kind == _DIGIT:
        run = 0
        cursor: int | None = outer
        while cursor is not None and folds[cursor].kind == _DIGIT:
            run += 1
            cursor = _neighbour(folds, cursor, step)
        return run >= DEFAULT_MIN_NUMBER_RUN
    # Both sides are letters: a boundary only where the case changes as in camelCase or an acronym's end.
    left, right = (out, folds[inner]) if step < 0 else (folds[inner], out)
    if left.lower and right.upper:
        return True
    if left.upper and right.upper:
        after_index = _neighbour(folds, inner if step < 0 else outer, +1)
        return after_index is not None and folds[after_index].lower
    return False


def _prepare(entity: str, alias: str) -> _Alias:
    if not isinstance(alias, str) or not alias.strip():
        raise ValueError(f"entity {entity!r}: name {alias!r} is empty or not text; give every name as a string")
    _, folds = _folds(alias)
    key, owners = _key(folds)
    if not key:
        raise ValueError(f"entity {entity!r}: name {alias!r} has no letters or digits to match; remove it")
    return _Alias(
        entity=entity,
        alias=alias,
        key=key,
        owners=tuple(owners),
        needs_left=folds[owners[0]].kind in (_WORD, _DIGIT),
        needs_right=folds[owners[-1]].kind in (_WORD, _DIGIT),
    )


class NameMatcher:
    """Finds which body's name a display name claims. Build once from the bodies' names; it pickles."""

    def __init__(self, aliases: Mapping[str, Sequence[str]]) -> None:
        """Index ``aliases`` (entity id -> every name the body goes by) for matching."""
        prepared: list[_Alias] = []
        seen: dict[str, _Alias] = {}
        for entity in sorted(aliases):
            names = aliases[entity]
            if isinstance(names, str):
                raise ValueError(f"entity {entity!r}: names must be a list of strings, not one string")
            for alias in names:
                item = _prepare(entity, alias)
                other = seen.get(item.key)
                if other is not None and other.entity != entity:
                    logger.warning(
                        "name %r of %r reads the same as %r of %r; claims go to %r",
                        alias,
                        entity,
                        other.alias,
                        other.entity,
                        min(entity, other.entity),
                    )
                seen.setdefault(item.key, item)
                prepared.append(item)
        prepared.sort(key=lambda item: (-len(item.key), item.entity, item.alias))
        # Indexed by the first two characters of the key (one for a one-character key): a display name's key is
        # compared only with the names that start like it at each position.
        buckets: dict[str, list[_Alias]] = {}
        for item in prepared:
            buckets.setdefault(item.key[:2], []).append(item)
        self._buckets: dict[str, tuple[_Alias, ...]] = {head: tuple(items) for head, items in buckets.items()}
        self._short = any(len(head) == 1 for head in self._buckets)

    def claim(self, display_name: str) -> NameClaim | None:
        """The claim of ``display_name`` to the longest body's name it contains, or None when it claims none.

        Ties between names of the same length go to the one that starts first, then to the entity id and the
        name that sort first.
        """
        simplified, folds = _folds(display_name)
        key, owners = _key(folds)
        best: tuple[int, int, _Alias] | None = None
        for start in range(len(key)):
            candidates = self._buckets.get(key[start : start + 2], ())
            if self._short:
                candidates += self._buckets.get(key[start], ())
            for item in candidates:
                if best is not None and len(item.key) < len(best[2].key):
                    break
                if not key.startswith(item.key, start):
                    continue
                end = start + len(item.key)
                if not self._fits(folds, owners, start, end, item):
                    continue
                if best is None or len(item.key) > len(best[2].key):
                    best = (start, end, item)
                break
        if best is None:
            return None
        start, end, item = best
        return NameClaim(
            entity=item.entity,
            alias=item.alias,
            normalised=_readable(folds),
            span=(owners[start], owners[end - 1] + 1),
            tricks=_tricks(display_name, simplified, folds, owners, start, item),
        )

    @staticmethod
    def _fits(folds: Sequence[_Fold], owners: Sequence[int], start: int, end: int, item: _Alias) -> bool:
        """Whether a key match at ``start:end`` respects word boundaries where the alias needs them."""
        first, last = owners[start], owners[end - 1]
        if item.needs_left and ((start > 0 and owners[start - 1] == first) or not _is_boundary(folds, first, -1)):
            return False
        return not (
            item.needs_right and ((end < len(owners) and owners[end] == last) or not _is_boundary(folds, last, +1))
        )


def _tricks(
    text: str, simplified: str, folds: Sequence[_Fold], owners: Sequence[int], start: int, item: _Alias
) -> tuple[str, ...]:
    """How the claimed name was written, compared with the alias character by character."""
    found: set[str] = set()
    _, alias_folds = _folds(item.alias)
    alias_simplified = _simplify(item.alias)
    pairs = sorted({(owners[start + offset], alias_owner) for offset, alias_owner in enumerate(item.owners)})
    for position, (index, alias_index) in enumerate(pairs):
        fold, alias_fold = folds[index], alias_folds[alias_index]
        found |= fold.tricks - alias_fold.tricks
        if text[index] != simplified[index] and item.alias[alias_index] == alias_simplified[alias_index]:
            found.add("traditional")
        if fold.kind == _DIGIT and alias_fold.kind != _DIGIT:
            found.add("digits-for-letters")
        elif fold.display != alias_fold.display and not fold.tricks:
            found.add("homoglyphs")
        plain, alias_plain = unicodedata.normalize("NFKC", text[index]), item.alias[alias_index]
        if plain != alias_plain and plain.casefold() == alias_plain.casefold():
            found.add("case")
        if position + 1 < len(pairs):
            next_index, next_alias_index = pairs[position + 1]
            if next_index > index and next_alias_index > alias_index:
                gap = _visible(text[index + 1 : next_index])
                alias_gap = item.alias[alias_index + 1 : next_alias_index]
                if (gap or alias_gap) and unicodedata.normalize("NFKC", gap) != _visible(alias_gap):
                    found.add("spaced")
    span_start, span_end = owners[start], owners[start + len(item.key) - 1]
    for index in range(span_start, span_end):
        if folds[index].kind == _INVISIBLE and not _next_to_emoji(text, index):
            found.add("invisible")
    if _EMOJI_RE.search(text):
        found.add("emoji")
    return tuple(trick for trick in TRICKS if trick in found)


def _visible(text: str) -> str:
    if not text:
        return text
    return "".join(char for char in text if _fold(char).kind != _INVISIBLE)


def _next_to_emoji(text: str, index: int) -> bool:
    """Whether an invisible character belongs to an emoji (a variation selector or a zero-width joiner in one)."""
    before = text[index - 1] if index > 0 else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    return bool(_EMOJI_RE.match(before) or _EMOJI_RE.match(after))
