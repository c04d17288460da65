"""Long bodies cut into pieces the model runs on: bounded memory whatever the length, offsets kept."""

from __future__ import annotations


def chunk_offsets(text: str, max_chars: int) -> list[tuple[int, int]]:
    """(start, end) pieces of ``text`` of at most ``max_chars``, cut at a paragraph break where there is one,
    else a line break, a sentence end or a space (a hard cut only inside a ``max_chars``-long word)."""
    out: list[tuple[int, int]] = []
    start, n = 0, len(text)
    while n - start > max_chars:
        window = text[start : start + max_chars]
        cut = -1
        for sep in ("\n\n", "\n", ". ", " "):
            i = window.rfind(sep, max_chars // 4)
            if i > 0:
                cut = i + len(sep)
                break
        end = start + (cut if cut > 0 else max_chars)
        out.append((start, end))
        start = end
    if start < n or not out:
        out.append((start, n))
    return out
