"""Text normalization shared by ingest (ids) and dedupe (exact hashes)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_WS = re.compile(r"\s+")
_FOLD = {
    "‘": "'",
    "’": "'",
    "‚": "'",
    "‛": "'",
    "“": '"',
    "”": '"',
    "„": '"',
    "‟": '"',
    "–": "-",
    "—": "-",
    "‐": "-",
    "‑": "-",
    "\u00a0": " ",
}
_CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean(text: str) -> str:
    """Text as it is stored: NFC, no control characters (tabs and newlines kept), no trailing spaces."""
    text = unicodedata.normalize("NFC", text)
    text = _CTRL.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def normalize(text: str) -> str:
    """Text as it is compared: NFKC, case-folded, typographic quotes/dashes folded, whitespace collapsed."""
    return normalize_nfkc(unicodedata.normalize("NFKC", text))


def normalize_nfkc(text: str) -> str:
    """``normalize`` of text already in NFKC (NFKC is idempotent: the same result without normalizing twice)."""
    # one C scan a character: several times faster than a regex with a callback
    for char, folded in _FOLD.items():
        if char in text:
            text = text.replace(char, folded)
    return " ".join(text.casefold().split())  # str.split and the regex \s agree on what is whitespace


def digest(value: str, n: int = 20) -> str:
    """A short stable hex id of ``value``."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:n]
