"""The bad-input corpus: at least 50 inputs a pipeline meets in the wild, each either bad (must become a dead
letter with a reason) or awkward-but-good (must be ingested). Generated into a folder because some are large
(12 MB) or deep; ``write_corpus`` returns what each file is expected to give."""

from __future__ import annotations

import gzip
import json
import os
import random
from pathlib import Path

GOOD_BODY = (
    "The city council of Northbridge approved a new budget for public libraries on Tuesday, "
    "after a long debate about opening hours and the cost of heating old buildings in winter."
)


def _j(obj: object) -> bytes:
    return json.dumps(obj).encode()


def cases() -> dict[str, tuple[bytes, int, int]]:
    """name -> (bytes, bad records, good records)."""
    rnd = random.Random(7)
    binary = bytes(rnd.randrange(256) for _ in range(4096))
    deep_list = b"[" * 200_000 + b"]" * 200_000
    deep_obj = b'{"a":' * 200_000 + b"1" + b"}" * 200_000
    c: dict[str, tuple[bytes, int, int]] = {
        "empty.txt": (b"", 1, 0),
        "blank.txt": (b"   \n\n\t  \n", 1, 0),
        "bom-only.txt": (b"\xef\xbb\xbf", 1, 0),
        "binary.txt": (binary, 1, 0),
        "nul-bytes.txt": (b"Some text\x00\x00\x00 with NULs inside\x00", 1, 0),
        "control-chars.txt": (bytes(range(1, 9)) * 50, 1, 0),
        "huge-12mb.txt": (((GOOD_BODY + "\n") * (12 * 1024 * 1024 // len(GOOD_BODY))).encode(), 1, 0),
        "date-line-only.txt": (b"date 2022-01-01\n", 1, 0),
        "date-year-0.txt": (b"date 0000-01-01\n" + GOOD_BODY.encode(), 1, 0),
        "date-year-9999.txt": (b"date 9999-12-31\n" + GOOD_BODY.encode(), 1, 0),
        "truncated.json": (b'{"title": "Cut", "body": "The council appro', 1, 0),
        "deep-list.json": (deep_list, 1, 0),
        "deep-object.json": (deep_obj, 1, 0),
        "deep-line.jsonl": (deep_list[:20000] + deep_list[-20000:] + b"\n", 1, 0),
        "nan.json": (b'{"body": NaN}', 1, 0),
        "trailing-garbage.json": (b'{"body": "x"} and more', 1, 0),
        "json-string.json": (b'"just a string"', 1, 0),
        "json-number.json": (b"42", 1, 0),
        "json-null.json": (b"null", 1, 0),
        "array-of-numbers.json": (b"[1, 2, 3]", 3, 0),
        "body-number.json": (_j({"title": "T", "body": 5}), 1, 0),
        "body-object.json": (_j({"body": {"text": GOOD_BODY}}), 1, 0),
        "body-list.json": (_j({"body": [GOOD_BODY]}), 1, 0),
        "body-null.json": (_j({"title": "T", "body": None}), 1, 0),
        "body-empty.json": (_j({"title": "T", "body": ""}), 1, 0),
        "body-blank.json": (_j({"title": "T", "body": " \n\t "}), 1, 0),
        "body-missing.json": (_j({"title": "Only a title"}), 1, 0),
        "title-list.json": (_j({"title": ["a"], "body": GOOD_BODY}), 1, 0),
        "title-100kb.json": (_j({"title": "T" * 100_000, "body": GOOD_BODY}), 1, 0),
        "url-number.json": (_j({"url": 12, "body": GOOD_BODY}), 1, 0),
        "url-javascript.json": (_j({"url": "javascript:alert(1)", "body": GOOD_BODY}), 1, 0),
        "url-homoglyph.json": (_j({"url": "https://\u0430pple.com/news/1", "body": GOOD_BODY}), 1, 0),
        "url-homoglyph-mixed.json": (_j({"url": "https://paypa\u04cf.com/a", "body": GOOD_BODY}), 1, 0),
        "date-year-0.json": (_j({"body": GOOD_BODY, "published_at": "0000-01-01T00:00:00Z"}), 1, 0),
        "date-year-9999.json": (_j({"body": GOOD_BODY, "published_at": "9999-12-31T23:59:59Z"}), 1, 0),
        "date-words.json": (_j({"body": GOOD_BODY, "published_at": "yesterday-ish"}), 1, 0),
        "date-number.json": (_j({"body": GOOD_BODY, "published_at": 20220101}), 1, 0),
        "date-object.json": (_j({"body": GOOD_BODY, "published_at": {"y": 2022}}), 1, 0),
        "source-number.json": (_j({"body": GOOD_BODY, "source": 7}), 1, 0),
        "author-list.json": (_j({"body": GOOD_BODY, "author": ["a", "b"]}), 1, 0),
        "all-lines-broken.jsonl": (b"{\n[\nnot json\n", 3, 0),
        "mixed.jsonl": (
            _j({"title": "Good one", "body": GOOD_BODY + " One."})
            + b"\n{broken\n"
            + _j({"body": 3})
            + b"\n"
            + _j({"title": "Good two", "body": GOOD_BODY + " Two."})
            + b"\n",
            2,
            2,
        ),
        "script-only.html": (
            b"<html><head><script>var x = 1;</script></head><body><script>run()</script></body></html>",
            1,
            0,
        ),
        "empty.html": (b"<html><body></body></html>", 1, 0),
        "menu-only.html": (
            b"<html><body><nav><a href='/'>Home</a> <a href='/a'>About</a></nav>"
            b"<footer>(c) 2024</footer></body></html>",
            1,
            0,
        ),
        "corrupt.html.gz": (b"\x1f\x8b\x08\x00" + binary[:500], 1, 0),
        "binary.html.gz": (gzip.compress(binary), 1, 0),
        "binary.json": (binary, 1, 0),
        "utf16-binary.txt": (b"\xff\xfe" + binary[:1001], 1, 0),
        "latin1-in-json.json": (('{"body": "Caf\u00e9 ' + GOOD_BODY + '"}').encode("latin-1"), 1, 0),
        # awkward but good: must be ingested, not rejected
        "latin1.txt": (
            ("Caf\u00e9 owners in Orl\u00e9ans protested on Monday. " + GOOD_BODY).encode("latin-1"),
            0,
            1,
        ),
        "cp1252.txt": (
            ("\u201cWe will not close,\u201d said the mayor \u2014 again. " + GOOD_BODY).encode("cp1252"),
            0,
            1,
        ),
        "utf16.txt": (("Utf sixteen story. " + GOOD_BODY).encode("utf-16"), 0, 1),
        "bom.json": (b"\xef\xbb\xbf" + _j({"title": "With BOM", "body": "BOM story. " + GOOD_BODY}), 0, 1),
        "shift-jis.txt": (
            (
                "\u6771\u4eac\u90fd\u8b70\u4f1a\u306f\u706b\u66dc\u65e5\u3001\u56f3\u66f8\u9928\u306e"
                "\u65b0\u3057\u3044\u4e88\u7b97\u3092\u627f\u8a8d\u3057\u307e\u3057\u305f\u3002"
                "\u8b70\u8ad6\u306f\u9577\u304f\u7d9a\u304d\u307e\u3057\u305f\u3002" * 3
            ).encode("shift_jis"),
            0,
            1,
        ),
    }
    return c


# What a hostile user plants in a folder given to ingest; none of it may be read (see write_hostile).
SECRET = "root:x:0:0:newsflow-secret-line-7f3a9c:/root:/bin/bash"


def write_hostile(folder: Path) -> dict[str, tuple[int, int]]:
    """Symlinks out of the folder (to a file, to a folder), a symlink inside it, a link back to the folder
    itself and a FIFO: each must be refused (one dead letter) and nothing outside the folder read."""
    outside = folder.parent / f"{folder.name}-outside"
    outside.mkdir(exist_ok=True)
    (outside / "passwd.txt").write_text(SECRET + "\n")
    (folder / "passwd-link.txt").symlink_to(outside / "passwd.txt")
    (folder / "outside-dir").symlink_to(outside)
    (folder / "alias-link.txt").symlink_to(folder / "latin1.txt")
    (folder / "loop").symlink_to(folder)
    os.mkfifo(folder / "pipe.txt")
    return {name: (1, 0) for name in ("passwd-link.txt", "outside-dir", "alias-link.txt", "loop", "pipe.txt")}


def write_corpus(folder: Path, hostile: bool = True) -> dict[str, tuple[int, int]]:
    folder.mkdir(parents=True, exist_ok=True)
    expected = {}
    for name, (data, bad, good) in cases().items():
        (folder / name).write_bytes(data)
        expected[name] = (bad, good)
    if hostile:
        expected |= write_hostile(folder)
    return expected
