"""ALL-CAPS text back to ordinary case before NER, without moving a single character offset.

The model finds almost nothing in "PUTIN MEETS LUKASHENKA IN MINSK" or in a dateline "KYIV, Ukraine (AP) —".
Each word of such a line takes the case it has elsewhere in the same article ("Putin", "Minsk", "NATO"); a word
the article does not otherwise use is lowercased (capitalized when it begins the line, or when ``is_name`` says
it is a known place). The result has the same length as the input, character for character.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

_WORD = re.compile(r"[^\W\d_]+(?:['’.\-][^\W\d_]+)*\.?")
_LINE = re.compile(r"[^\n]+")
# Paragraph-initial dateline: one to four capitalized words, then a comma, an opening bracket or a dash.
_DATELINE = re.compile(r"(?:^|(?<=\n))([A-Z][A-Z'’.\-]+(?: [A-Z][A-Z'’.\-]+){0,3})(?=,| \(| —| –| -)")
_SENTENCE_END = re.compile(r"[.!?:\"“”]\s*$")


def _key(word: str) -> str:
    return word.rstrip(".").casefold()


def _lower(word: str) -> str:
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in word)


def _title(word: str) -> str:
    return word[:1] + _lower(word[1:])


def is_caps_line(line: str, min_letters: int = 8, share: float = 0.8) -> bool:
    letters = [c for c in line if c.isalpha()]
    if len(letters) < min_letters or len(line.split()) < 2:
        return False
    upper = sum(1 for c in letters if c.isupper())
    return upper >= share * len(letters)


def _vocabulary(text: str, skip: list[tuple[int, int]]) -> dict[str, Counter[str]]:
    """How each word is written outside the caps regions: {"putin": {"title": 3}, "nato": {"upper": 2}}."""
    vocab: dict[str, Counter[str]] = {}
    k = 0
    for m in _WORD.finditer(text):
        while k < len(skip) and skip[k][1] <= m.start():
            k += 1
        if k < len(skip) and skip[k][0] <= m.start() < skip[k][1]:
            continue
        w = m.group()
        before = text[max(0, m.start() - 3) : m.start()]
        initial = m.start() == 0 or _SENTENCE_END.search(before) is not None or "\n" in before
        if initial and not (w.isupper() and len(w) > 1):
            continue  # a sentence-initial capital says nothing about the word
        form = "upper" if w.isupper() and len(w) > 1 else "title" if w[:1].isupper() else "lower"
        vocab.setdefault(_key(w), Counter())[form] += 1
    return vocab


def truecase(text: str, is_name: Callable[[str], bool] = lambda w: False) -> str:
    """``text`` with ALL-CAPS lines and datelines in ordinary case; same length and offsets."""
    regions: list[tuple[int, int, bool]] = []  # (start, end, dateline?)
    for m in _LINE.finditer(text):
        if is_caps_line(m.group()):
            regions.append((m.start(), m.end(), False))
    for m in _DATELINE.finditer(text):
        if not any(s <= m.start(1) < e for s, e, _ in regions) and len(m.group(1)) >= 3:
            regions.append((m.start(1), m.end(1), True))
    if not regions:
        return text
    regions.sort()
    vocab = _vocabulary(text, [(s, e) for s, e, _ in regions])
    out = list(text)
    for start, end, dateline in regions:
        first = True
        for m in _WORD.finditer(text, start, end):
            w = m.group()
            seen = vocab.get(_key(w))
            if seen:
                form = seen.most_common(1)[0][0]
                new = w if form == "upper" else _title(w) if (form == "title" or first) else _lower(w)
            elif dateline or is_name(w) or first:
                new = _title(w)
            else:
                new = _lower(w)
            out[m.start() : m.end()] = list(new)  # _lower/_title keep each character's length
            first = False
    return "".join(out)
