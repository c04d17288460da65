"""Fingerprints of an article body: what dedupe compares. Pure: no I/O, no clock, deterministic across processes.

One pass over the body gives
- ``shingles``: the set of 3-word shingle hashes (near-copy verification: Jaccard and containment),
- ``minhash``: a MinHash signature of those shingles and its LSH ``bands`` (near-copy candidate retrieval),
- per-sentence sets of content-word stems (rewrite verification: sentence alignment),
- ``names``: named-looking tokens, capitalized words not at a sentence start (event matching, and the rare terms by
  which rewrite/event candidates are retrieved; the NER stage runs after dedupe, so this is the cheap proxy);
- per-sentence *key facts* (numbers, calendar words, names by consonant skeleton) and *status* (tentative: "plans",
  "expected", "preview"; done: "completed", "won") and a hash of each sentence's text: a rewrite or copy must
  report the same facts, and sentences seen in many articles are stock (boilerplate, background).

Hashes are crc32 / multiply-shift, never Python's ``hash`` (salted per process): every worker must compute the same
fingerprint for the same text.
"""

from __future__ import annotations

import re
import string
import struct
import unicodedata
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from services.common.text import digest, normalize_nfkc
from services.dedupe import kernels

U16 = npt.NDArray[np.uint16]
U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]
I32 = npt.NDArray[np.int32]
I16 = npt.NDArray[np.int16]

# CJK ideographs and kana one token each (those scripts have no spaces); otherwise runs of letters/digits,
# apostrophes inside a word kept ("Putin's").
_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\W_]+(?:['’][^\W_]+)*")
# The same tokens in text without CJK characters (the first branch never matches there): a third cheaper to match.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_TOKEN_NO_CJK = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
# The same tokens in ASCII text (no CJK, no ’; [^\W_] is [A-Za-z0-9] there).
_TOKEN_ASCII = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z0-9]+)*")
_ASCII_WORD_CHARS = frozenset(string.ascii_letters + string.digits + "'")
_ASCII_SPACES = str.maketrans({chr(i): " " for i in range(128) if chr(i) not in _ASCII_WORD_CHARS})
# Sentence ends: . ! ? … (maybe followed by a closing quote/bracket) then space and a capital, digit or opening
# quote; CJK full stops; line breaks. The separator is the matched group (spaces; nothing after a CJK stop).
# One character class first, the rest as look-behinds: the regex engine then skips to the candidate characters
# (4x faster than an alternation of three branches, which it tries at every position).
_SENT_END = re.compile(
    r"[.!?…。！？\n](?:(?<=[.!?…])(?:[\"”’»)\]](\s+)|(\s+)(?=[\"“‘«(\[]?[A-Z0-9À-ÖØ-Þ]))|(?<=[。！？])()|(?<=\n)\n*)"
)
_DIGIT = re.compile(r"\d")
_ASCII_LETTERS = string.ascii_letters.encode()
_ASCII_SPACE_BYTES = bytes(i for i in range(128) if chr(i).isspace())  # what str.split splits on
_QUOTE = re.compile('["“”«»„]')


def _words(text: str) -> list[str]:
    return text.split()


STOPWORDS = frozenset(
    _words("""
a about above after again against all also am among an and any are as at be because been before being below
between both but by can could did do does doing down during each even few for from further had has have having he
her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now
of off on once only or other our ours ourselves out over own same she should so some such than that the their
theirs them themselves then there these they this those through to too under until up upon very was we were what
when where which while who whom why will with would you your yours yourself yourselves said says say told tell one
two three may might must shall us it's that's there's he's she's s t de la le les el en et du des der die das und
""")
)

# Capitalized words that name no particular event: calendar words, titles, generic institutions. Without them the
# named-token overlap of two reports measures who and where, not when and how they were written.
COMMON_NAMES = frozenset(
    _words("""
monday tuesday wednesday thursday friday saturday sunday january february march april may june july august
september october november december mr mrs ms dr sir president minister prime secretary government state states
united national new the a an in on at but and or if as after when while for with by from to of however meanwhile
according officials official news reuters ap afp associated press reported report people city county police
north south east west northern southern eastern western
""")
)

# Calendar words are key facts (a different day is a different report) though not names.
DATE_WORDS = frozenset(
    _words("""
monday tuesday wednesday thursday friday saturday sunday january february march april june july august
september october november december yesterday today tomorrow
""")
)
SPELLED = dict(
    zip(
        _words(
            "two three four five six seven eight nine ten eleven twelve twenty hundred thousand million billion"
        ),
        _words("2 3 4 5 6 7 8 9 10 11 12 20 100 1000 1000000 1000000000"),
        strict=True,
    )
)
# Status words: a report of plans/expectations vs a report that it happened. A pair of sentences that otherwise say
# the same, one tentative and the other done, are two moments of one story (talks vs completed sale, preview vs
# match report), not one report.
TENTATIVE = frozenset(
    _words("""
plan plans planned planning planning considering consider considers weighing weigh mulls mulling proposed propose
proposal expected expects expect preview poised potential possible prospective could might talks negotiating
negotiations bid seeks seeking ahead upcoming likely
""")
)
DONE = frozenset(
    _words("""
completed completes complete finalised finalized finalises finalizes sealed concluded won wins beat beats defeated
clinched approved confirmed signed closed acquired bought agreed ended
""")
)
_VOWELS = str.maketrans("", "", "aeiouyáàâäéèêëíìîïóòôöúùûüýÿ")
FACT_NUMBER, FACT_DATE, FACT_NAME = 0, 1, 2

NAME_PREFIX = 6  # "Lukashenka"/"Lukashenko", "Zelenskiy"/"Zelenskyy" meet at 6 letters
STEM_PREFIX = (
    5  # truncation stemming: "attack"/"attacks"/"attacked" meet at 5 letters; cheap and language-blind
)

_EMPTY_U32 = np.zeros(0, dtype=np.uint32)
_EMPTY_U64 = np.zeros(0, dtype=np.uint64)
_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xC2B2AE3D27D4EB4F)
_M3 = np.uint64(0x165667B19E3779F9)
_SHIFT = np.uint64(32)


@dataclass(frozen=True)
class Fingerprint:
    """Everything dedupe compares about one body. Arrays are read-only by convention."""

    content_hash: str
    n_words: int
    shingles: U16  # sorted unique 3-word shingle hashes, 16 bits (350 vs 350 collide in ~2: 0.5% of a score)
    minhash: U32  # num_perm values; empty when the text has no shingles
    bands: U64  # LSH band keys: a hash of each band's values, the band's number in the top byte
    sent_terms: U16  # content-word stem hashes (16 bits), one row per (sentence, term), sorted by term
    sent_index: I16  # the sentence of each row of sent_terms
    sent_sizes: I32  # distinct content terms per sentence
    sent_quotes: npt.NDArray[np.bool_]  # the sentence holds a quotation mark (a quote, not boilerplate)
    name_terms: (
        U32  # hashes of named-looking tokens (lowercased 6-letter prefixes), one row per (sentence, name)
    )
    name_sent: I32  # the sentence of each row of name_terms
    names: U32  # the distinct name hashes (sorted)
    fact_terms: (
        U32  # key-fact hashes, the fact's type (FACT_*) in the top 2 bits, one row per (sentence, fact)
    )
    fact_sent: I32  # the sentence of each row of fact_terms
    sent_status: npt.NDArray[np.uint8]  # per sentence: 1 = tentative words, 2 = done words (3 = both)
    sent_keys: U32  # hash of each sentence's normalized text (stock passages are counted by it)
    terms: tuple[
        str, ...
    ]  # the names an article repeats most: the retrieval keys for rewrite/event candidates

    @property
    def n_sentences(self) -> int:
        return int(self.sent_sizes.size)

    def for_verification(self) -> Fingerprint:
        """What a stored arrival keeps: everything the scores need, not what only retrieval keys were made of
        (the MinHash values, LSH bands and retrieval terms are in the postings already)."""
        return replace(self, minhash=_EMPTY_U32, bands=_EMPTY_U64, terms=())


@lru_cache(maxsize=1 << 16)
def _name_hash(name: str) -> int:
    return zlib.crc32(name.encode())


WordInfo = tuple[int, int, str | None, int, int]


class Vocabulary:
    """Every word seen so far, by id, with what ``_word`` says of it in arrays the compiled assembly reads; the
    names (6-letter keys) by id too. Emptied when it grows past ``max_words`` (a memo: ids live one article). One
    per process, used from one thread (the dedupe step runs on the event loop)."""

    def __init__(self, max_words: int = 1 << 19) -> None:
        self.max_words = max_words
        self.clear()

    def clear(self) -> None:
        self.keys = kernels.vocabulary_keys()  # token key -> id (``kernels.tokens`` looks tokens up there)
        self.size = 0
        self.name_ids: dict[str, int] = {}
        self.names: list[str] = []
        self.name_hashes = np.zeros(1 << 10, dtype=np.uint32)
        cap = 1 << 12
        self.wh = np.zeros(cap, dtype=np.uint64)
        self.sh = np.zeros(cap, dtype=np.uint32)
        self.fact = np.zeros(cap, dtype=np.uint32)
        self.status = np.zeros(cap, dtype=np.uint8)
        self.name = np.zeros(cap, dtype=np.int32)

    def add(self, token: str) -> int:
        """A new word's id (recorded under its key by the caller: ``kernels.vocabulary_put``)."""
        wid = self.size
        self.size += 1
        if wid == self.wh.size:
            for field in ("wh", "sh", "fact", "status", "name"):
                setattr(self, field, _doubled(getattr(self, field)))
        wh, sh, name, fact, status = _word(token)
        self.wh[wid], self.sh[wid], self.fact[wid], self.status[wid] = wh, sh, fact, status
        if name is None:
            self.name[wid] = -1
        else:
            nid = self.name_ids.get(name)
            if nid is None:
                nid = self.name_ids[name] = len(self.names)
                self.names.append(name)
                if nid == self.name_hashes.size:
                    self.name_hashes = _doubled(self.name_hashes)
                self.name_hashes[nid] = _name_hash(name)
            self.name[wid] = nid
        return wid


def _doubled(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """``a`` with twice the room, its values first."""
    grown = np.zeros(2 * a.size, dtype=a.dtype)
    grown[: a.size] = a
    return grown


_VOCABULARY = Vocabulary()


def _word(token: str) -> WordInfo:
    """(word hash, stem hash or 0 for a stop word, the name key if the token looks like a name, key-fact hash or 0,
    status bits) of one token."""
    low = token.casefold()
    wh = zlib.crc32(low.encode())
    stop = low in STOPWORDS or (len(low) == 1 and not ("\u3040" <= low <= "\ufaff"))
    sh = 0 if stop else (zlib.crc32(low[:STEM_PREFIX].encode()) or 1)
    named = token[0].isupper() and len(low) > 1 and not stop and low not in COMMON_NAMES
    if not low.isalpha() and _DIGIT.search(low):
        fact = _fact(FACT_NUMBER, low)
    elif low in SPELLED:
        fact = _fact(FACT_NUMBER, SPELLED[low])
    elif low in DATE_WORDS:
        fact = _fact(FACT_DATE, low)
    elif named:
        # consonant skeleton: Kyiv/Kiev, Zelenskyy/Zelensky, Lukashenka/Lukashenko are one fact
        base = re.sub(r"['’]s?$", "", low)  # Ukraine's / Ukraine’s / Ukraine
        fact = _fact(FACT_NAME, (base[0] + base[1:].translate(_VOWELS))[:5])
    else:
        fact = 0
    status = (1 if low in TENTATIVE else 0) | (2 if low in DONE else 0)
    return (wh, sh, low[:NAME_PREFIX] if named else None, fact, status)


def _fact(kind: int, text: str) -> int:
    return (zlib.crc32(text.encode()) & 0x3FFFFFFF) | (kind << 30) or 1


@lru_cache(maxsize=8)
def _permutations(num_perm: int) -> tuple[U64, U64]:
    rng = np.random.default_rng(20240601)  # fixed: every worker must use the same permutations
    a = rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(
        1
    )  # odd multipliers
    b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
    return a, b


def _tokens_ascii(sentence: str) -> list[str]:
    """``_TOKEN_ASCII.findall``, twice as fast: everything but letters, digits and apostrophes to spaces, then
    split; the rare words with an apostrophe go through the regex (it drops leading/trailing/doubled ones)."""
    words = sentence.translate(_ASCII_SPACES).split()
    if "'" not in sentence:
        return words
    return [t for w in words for t in ((w,) if "'" not in w else _TOKEN_ASCII.findall(w))]


def sentence_bounds(text: str) -> list[tuple[int, int]]:
    """Where each sentence of ``text`` starts and ends (blank ones included)."""
    bounds: list[tuple[int, int]] = []
    start = 0
    for m in _SENT_END.finditer(text):  # finditer from the punctuation: faster than split on look-behinds
        # the separator: the spaces after the punctuation (groups 1, 2), nothing after a CJK stop (group 3), or the
        # whole run of line breaks (no group)
        bounds.append((start, m.start(m.lastindex or 0)))
        start = m.end()
    bounds.append((start, len(text)))
    return bounds


def split_sentences(text: str) -> list[str]:
    return [s for s in (text[a:b] for a, b in sentence_bounds(text)) if s and not s.isspace()]


def sentence_tokens(text: str) -> Iterator[tuple[str, list[str]]]:
    """Each sentence of ``text`` (NFKC-normalized) that has a token, with its tokens: the cheapest tokenizer the
    text allows (ASCII, no CJK, or the full pattern), the same tokens whichever."""
    unicode = (_TOKEN if _CJK.search(text) else _TOKEN_NO_CJK).findall
    for sentence in split_sentences(text):
        tokens = _tokens_ascii(sentence) if sentence.isascii() else unicode(sentence)  # (most sentences are)
        if tokens:
            yield sentence, tokens


def letter_share(text: str) -> float:
    """Share of letters among the non-space characters (of the first 4,000): near 0 for binary junk."""
    head = text[:4000]
    if head.isascii():  # counted in C: the letters are A-Z, a-z; the spaces what str.split splits on
        raw = head.encode()
        n = len(raw.translate(None, _ASCII_SPACE_BYTES))
        return (len(raw) - len(raw.translate(None, _ASCII_LETTERS))) / n if n else 0.0
    # each character's class from a table (what str.split takes for a space; a letter: alphanumeric, not a digit)
    points = np.frombuffer(head.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    classes = np.bincount(char_classes()[points], minlength=4)
    n = points.size - int(classes[kernels.SPACE])
    return int(classes[kernels.LETTER]) / n if n else 0.0


def _char_class(c: str) -> int:
    if c.isspace():
        return kernels.SPACE
    if c.isalnum():  # = the regex [^\W_]
        return kernels.DIGIT if c.isdecimal() else kernels.LETTER  # (the regex \d is the decimal digits)
    return kernels.OTHER


@lru_cache(maxsize=1)
def char_classes() -> npt.NDArray[np.uint8]:
    """The class of every code point (``kernels.OTHER`` .. ``DIGIT``): built once a process, on first use (a
    fifth of a second; 1.1 MB)."""
    return np.frombuffer(bytes(_char_class(chr(c)) for c in range(0x110000)), dtype=np.uint8)


def shingle_hashes(words: U64, size: int) -> U32:
    """32-bit hashes of every ``size``-word window (the whole text when it is shorter)."""
    n = words.size
    if n == 0:
        return np.zeros(0, dtype=np.uint32)
    if n < size:
        size = n
    with np.errstate(over="ignore"):
        h = np.zeros(n - size + 1, dtype=np.uint64)
        for k in range(size):
            h = h * _M1 + words[k : n - size + 1 + k] * _M2
        h ^= h >> np.uint64(29)
        h *= _M3
        h ^= h >> _SHIFT
    return h.astype(np.uint32)


def _distinct_sorted(x: Any) -> Any:
    """The distinct values of a sorted 1-d array (only neighbours can be equal), in order."""
    if x.size < 2:
        return x
    keep = np.empty(x.size, dtype=np.bool_)
    keep[0] = True
    np.not_equal(x[1:], x[:-1], out=keep[1:])
    return x[keep]


def _unique(x: U32) -> U32:
    """``np.unique`` of a 1-d array, without its generality (a fifth of the time on a few hundred values)."""
    out: U32 = _distinct_sorted(np.sort(x))
    return out


def minhash(shingles: U32, num_perm: int) -> U32:
    """MinHash with multiply-shift permutations h(x) = (a*x + b) mod 2^64 >> 32, a odd (universal)."""
    if shingles.size == 0:
        return np.zeros(0, dtype=np.uint32)
    a, b = _permutations(num_perm)
    out: U32 = kernels.minhash(shingles, a, b)
    return out


def band_keys(sig: U32, bands: int, rows: int) -> U64:
    """One 64-bit key per LSH band: 56 bits of hash of the band's rows, the band's number in the top byte (so
    equal values in different bands never collide)."""
    if sig.size < bands * rows:
        return np.zeros(0, dtype=np.uint64)
    m = sig[: bands * rows].reshape(bands, rows).astype(np.uint64)
    with np.errstate(over="ignore"):
        h = np.zeros(bands, dtype=np.uint64)
        for r in range(rows):
            h = (h ^ m[:, r]) * _M1
        h ^= h >> np.uint64(31)
    h &= np.uint64((1 << 56) - 1)
    return h | (np.arange(bands, dtype=np.uint64) << np.uint64(56))


def _sample(shingles: U32) -> U16:
    """The shingles verification keeps: those whose hash is even (half of them, the same half of every text, so
    Jaccard and containment are estimated without bias), as 16 bits. Texts this short keep all."""
    if shingles.size > 64:
        shingles = shingles[(shingles & np.uint32(1)) == 0]
    top: U16 = _distinct_sorted((shingles >> np.uint32(16)).astype(np.uint16))  # still sorted
    return top


FP_VERSION = 3  # of the packed layout (``unpack`` reads 2 and 3; a stored fingerprint of another version is
# recomputed from the body where the state kept one)
READABLE_FP_VERSIONS = (2, 3)
# Content hash, words, then the row counts of the arrays below (32-bit: a 1 MB article has more than 65,535
# shingles), then the width of the sentence indices (1, 2 or 4; version 3: plus _WIDE_SIZES).
_HEADER = struct.Struct("<16sIIIIIIB")
_U16_MAX = np.iinfo(np.uint16).max
_WIDE_SIZES = 8  # version 3: the sentence sizes are 32-bit (a sentence with more than 65,535 distinct terms)
_WIDTHS: dict[int, type[np.generic]] = {1: np.uint8, 2: np.uint16, 4: np.uint32}


def _index_width(n_sentences: int) -> tuple[int, type[np.unsignedinteger[Any]]]:
    if n_sentences <= np.iinfo(np.uint8).max:
        return 1, np.uint8
    if n_sentences <= _U16_MAX:
        return 2, np.uint16
    return 4, np.uint32


def pack(fp: Fingerprint) -> bytes:
    """A stored arrival's fingerprint as one bytes object (what verification needs; see ``for_verification``):
    ~1.55 KB for a 350-word article where the arrays as numpy objects cost ~4.5 KB (a header each).

    The sentence terms are stored sentence by sentence, without their sentence numbers: the sentence sizes (its
    distinct terms, one row each) give them back (a fifth of the bytes; version 2 stored a number per row)."""
    width, idx = _index_width(fp.n_sentences)
    rows = np.bincount(
        fp.sent_index, minlength=fp.n_sentences
    )  # = sent_sizes (exact where those were capped)
    wide = bool(rows.size) and int(rows.max()) > _U16_MAX
    parts = [
        _HEADER.pack(
            bytes.fromhex(fp.content_hash),
            fp.n_words,
            fp.shingles.size,
            fp.sent_terms.size,
            fp.n_sentences,
            fp.name_terms.size,
            fp.fact_terms.size,
            width | (_WIDE_SIZES if wide else 0),
        ),
        fp.shingles.tobytes(),
        fp.sent_terms[np.argsort(fp.sent_index, kind="stable")].tobytes(),
        rows.astype(np.uint32 if wide else np.uint16).tobytes(),
        (fp.sent_status | (fp.sent_quotes.astype(np.uint8) << np.uint8(2))).tobytes(),
        fp.sent_keys.tobytes(),
        fp.name_terms.tobytes(),
        fp.name_sent.astype(idx).tobytes(),
        fp.fact_terms.tobytes(),
        fp.fact_sent.astype(idx).tobytes(),
    ]
    return b"".join(parts)


def unpack(blob: bytes, version: int = FP_VERSION) -> Fingerprint:
    """The fingerprint ``pack`` stored (without MinHash, bands and retrieval terms), of layout ``version``."""
    if version not in READABLE_FP_VERSIONS:
        raise ValueError(f"fingerprint layout {version} unknown (this code reads {READABLE_FP_VERSIONS})")
    ch, n_words, n_sh, n_st, n_s, n_nt, n_ft, w = _HEADER.unpack_from(blob)
    if version == 3:  # the arrays in _unpacked's order
        buf = np.frombuffer(blob, dtype=np.uint8)
        wide = bool(w & _WIDE_SIZES)
        return _unpacked(
            ch, n_words, *kernels.unpack3(buf, _HEADER.size, n_sh, n_st, n_s, n_nt, n_ft, wide, w & 7)
        )
    idx = _WIDTHS[w & 7]
    pos = _HEADER.size

    def take(dtype: type[np.generic], n: int) -> npt.NDArray[Any]:
        nonlocal pos
        a = np.frombuffer(blob, dtype=dtype, count=n, offset=pos)
        pos += a.nbytes
        return a

    shingles = take(np.uint16, n_sh)
    sent_terms = take(np.uint16, n_st)  # layout 2: in term order, with a sentence index a row
    sent_index = take(idx, n_st).astype(np.int16)
    sent_sizes = take(np.uint16, n_s).astype(np.int32)
    flags = take(np.uint8, n_s)
    sent_keys = take(np.uint32, n_s)
    name_terms = take(np.uint32, n_nt)
    name_sent = take(idx, n_nt).astype(np.int32)
    fact_terms = take(np.uint32, n_ft)
    fact_sent = take(idx, n_ft).astype(np.int32)
    return _unpacked(
        ch,
        n_words,
        shingles,
        sent_terms,
        sent_index,
        sent_sizes,
        flags,
        sent_keys,
        name_terms,
        name_sent,
        kernels.distinct(name_terms),
        fact_terms,
        fact_sent,
    )


def _unpacked(
    ch: bytes,
    n_words: int,
    shingles: U16,
    sent_terms: U16,
    sent_index: I16,
    sent_sizes: npt.NDArray[np.int32],
    flags: npt.NDArray[np.uint8],
    sent_keys: U32,
    name_terms: U32,
    name_sent: npt.NDArray[np.int32],
    names: U32,
    fact_terms: U32,
    fact_sent: npt.NDArray[np.int32],
) -> Fingerprint:
    return Fingerprint(
        content_hash=ch.hex(),
        n_words=n_words,
        shingles=shingles,
        minhash=_EMPTY_U32,
        bands=_EMPTY_U64,
        sent_terms=sent_terms,
        sent_index=sent_index,
        sent_sizes=sent_sizes,
        sent_quotes=(flags & 4) != 0,
        name_terms=name_terms,
        name_sent=name_sent,
        names=names,
        fact_terms=fact_terms,
        fact_sent=fact_sent,
        sent_status=flags & np.uint8(3),
        sent_keys=sent_keys,
        terms=(),
    )


MAX_SENTENCES = int(np.iinfo(np.int16).max)
"""Sentences an article is compared by (sentence indices are int16): a text longer than that — megabytes — is a
copy or not by its first 32,767 sentences, and its content hash still covers the whole body."""


def fingerprint(
    body: str,
    *,
    shingle_size: int = 3,
    num_perm: int = 120,
    bands: int = 40,
    rows: int = 3,
    max_terms: int = 24,
) -> Fingerprint:
    """The fingerprint of ``body`` (titles are left out: syndication changes headlines first).

    The sentences are split by a regex; their tokens are found and looked up in the vocabulary by compiled code
    (``kernels.tokens``: the tokens ``sentence_tokens`` gives), only new words in Python; the per-sentence sets are
    made by ``kernels.assemble`` from the ids, as ``reference.fingerprint`` makes them sentence by sentence."""
    text = unicodedata.normalize("NFKC", body)
    vocab = _VOCABULARY
    if vocab.size >= vocab.max_words:
        vocab.clear()
    bounds = np.array(sentence_bounds(text), dtype=np.int64).reshape(-1, 2)
    ids, key1, key2, starts, ends, lens, quotes = kernels.tokens(
        np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32),
        bounds[:, 0].copy(),
        bounds[:, 1].copy(),
        char_classes(),
        _CJK.search(text) is not None,
        _QUOTE.search(text) is not None,
        vocab.keys,
    )
    new = np.nonzero(ids < 0)[0]
    if new.size:  # new words, given ids in order of first appearance, then recorded under their keys at once
        first: dict[tuple[int, int], int] = {}
        for i, k1, k2 in zip(new.tolist(), key1[new].tolist(), key2[new].tolist(), strict=True):
            wid = first.get((k1, k2))
            if wid is None:
                wid = first[k1, k2] = vocab.add(text[starts[i] : ends[i]])
            ids[i] = wid
        keys = np.array(list(first), dtype=np.uint64).reshape(-1, 2)
        kernels.vocabulary_put(
            vocab.keys, keys[:, 0].copy(), keys[:, 1].copy(), np.array(list(first.values()))
        )
    (
        words,
        kept,
        sizes,
        statuses,
        skeys,
        stem_rows,
        _stem_sent,  # = the sentence of each row, in order: by_term numbers them from the sizes
        fact_rows,
        fact_sent,
        name_rows,
        name_sent,
        occurrences,
    ) = kernels.assemble(
        ids,
        lens,
        vocab.wh,
        vocab.sh,
        vocab.fact,
        vocab.status,
        vocab.name,
        MAX_SENTENCES,
    )
    sh_all = _unique(shingle_hashes(words, shingle_size))
    sig = minhash(sh_all, num_perm)
    # the (stem, sentence) rows in stem order, ties in sentence order (rows are made sentence by sentence)
    sent_terms, sent_index = kernels.by_term((stem_rows & np.uint32(0xFFFF)).astype(np.uint16), sizes)
    # Retrieval terms: the names an article repeats most are what it is about; ties broken by the name itself.
    named, counts = kernels.counts(occurrences)
    top = sorted(((-c, vocab.names[n]) for n, c in zip(named.tolist(), counts.tolist(), strict=True)))[
        :max_terms
    ]
    name_terms = vocab.name_hashes[name_rows]
    return Fingerprint(
        content_hash=digest(normalize_nfkc(text), 32),  # = normalize(body): text is its NFKC
        n_words=int(words.size),
        shingles=_sample(sh_all),
        minhash=sig,
        bands=band_keys(sig, bands, rows),
        sent_terms=sent_terms,
        sent_index=sent_index,
        sent_sizes=sizes,
        sent_quotes=np.asarray(quotes, dtype=np.bool_)[kept] if kept.size else np.zeros(0, dtype=np.bool_),
        name_terms=name_terms,
        name_sent=name_sent.astype(np.int32),
        names=kernels.distinct(name_terms),
        fact_terms=fact_rows,
        fact_sent=fact_sent.astype(np.int32),
        sent_status=statuses,
        sent_keys=skeys,
        terms=tuple(name for _, name in top),
    )
