"""The compiled sentence comparison gives every figure the array code (``services.dedupe.reference``) gives: the
same Pairs, the same bounds, the same overlap matrices, on copies, rewrites, follow-ups, stock passages and
unrelated texts."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from services.dedupe import kernels, reference, similarity
from services.dedupe.features import Fingerprint, fingerprint
from tests.unit.dedupe.test_logic import CFG, TEMPLATE_FOOT, TEMPLATE_HEAD, art, seed, syndicated

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "dedupe_dev"


def _variants(body: str, rng: random.Random) -> list[str]:
    sentences = body.replace("\n", " ").split(". ")
    dropped = [s for s in sentences if rng.random() > 0.3]
    shuffled = body.split()
    rng.shuffle(shuffled)
    return [
        ". ".join(dropped),  # a cut-down copy
        ". ".join(sentences[: len(sentences) // 2]),  # its first half
        ". ".join(reversed(sentences)),  # the same sentences out of order
        " ".join(shuffled),  # the same words, no sentence in common
        f"{TEMPLATE_HEAD}\n\n{body}\n\n{TEMPLATE_FOOT}",
        syndicated(body),
    ]


def _fingerprints() -> list[Fingerprint]:
    rng = random.Random(5)
    bodies = [seed(n)[0] for n in ("000", "001", "002", "003")]
    bodies += [p.read_text(encoding="utf-8") for p in sorted(FIXTURES.glob("*.txt"))]
    texts = [v for b in bodies for v in (b, *_variants(b, rng))]
    return [fingerprint(t) for t in [*texts, "", "Too short.", "One. Two. Three."]]


FPS = _fingerprints()


def _stock(fp: Fingerprint, rng: random.Random) -> np.ndarray:
    return np.array([rng.random() < 0.25 for _ in range(fp.n_sentences)], dtype=np.bool_)


@pytest.mark.parametrize("with_stock", [False, True])
def test_dedupe_compiled_comparison_gives_the_array_codes_pairs(with_stock: bool) -> None:
    rng = random.Random(11)
    for a in FPS:
        cands = [*rng.sample(FPS, 12), a]
        a_stock = _stock(a, rng) if with_stock else None
        b_stocks = [_stock(b, rng) for b in cands] if with_stock else None
        kw = {"min_dice": CFG.rewrite_sentence_dice, "a_stock": a_stock, "b_stocks": b_stocks}
        assert similarity.compare_many(a, cands, **kw) == reference.compare_many(a, cands, **kw)  # type: ignore[arg-type]


def test_dedupe_compiled_bound_and_overlap_are_the_array_codes() -> None:
    rng = random.Random(12)
    for a in FPS:
        cands = rng.sample(FPS, 8)
        assert similarity.most_aligned(a, cands, min_dice=0.5) == reference.most_aligned(
            a, cands, min_dice=0.5
        )
        for b in cands[:3]:
            got = similarity.sentence_overlap(a, b.sent_terms, b.sent_index, b.n_sentences)
            want = reference.sentence_overlap(a, b.sent_terms, b.sent_index, b.n_sentences)
            assert np.array_equal(got, want)


def test_dedupe_compiled_comparison_finds_the_rewrite_of_the_wire_story() -> None:
    # the figures the rewrite verdict rests on, not only their agreement: 002 paraphrases 001 in order
    a, b = fingerprint(seed("002")[0]), fingerprint(seed("001")[0])
    p = similarity.compare(a, b, min_dice=CFG.rewrite_sentence_dice)
    assert p.aligned >= CFG.rewrite_min_aligned and p.share >= CFG.rewrite_min_share
    assert p == reference.compare_many(a, [b], min_dice=CFG.rewrite_sentence_dice)[0]


def _same_fingerprint(got: Fingerprint, want: Fingerprint) -> None:
    for field in got.__dataclass_fields__:
        a, b = getattr(got, field), getattr(want, field)
        if field in ("fact_terms", "fact_sent"):
            continue  # a sentence's facts are a set: compared below as one
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and np.array_equal(a, b), field
        else:
            assert a == b, field
    facts = sorted(zip(got.fact_sent.tolist(), got.fact_terms.tolist(), strict=True))
    assert facts == sorted(zip(want.fact_sent.tolist(), want.fact_terms.tolist(), strict=True))


def test_dedupe_compiled_fingerprint_is_the_reference_fingerprint() -> None:
    rng = random.Random(13)
    bodies = [seed(n)[0] for n in ("000", "001", "002", "003")]
    bodies += [p.read_text(encoding="utf-8") for p in sorted(FIXTURES.glob("*.txt"))]
    texts = [v for b in bodies for v in (b, *_variants(b, rng))]
    texts += [
        "",
        "Of the. And a.",  # no content word: no sentence kept, the words still shingled
        "東京で会議が開かれた。首相は「合意した」と述べた。",
        "Kyiv’s mayor said 3 million people, “twice as many”, left on Monday. Mr Klitschko: Kiev is safe.",
        "Word word word. " * 40,  # one new word many times in a sentence and across sentences
    ]
    for text in texts:
        _same_fingerprint(fingerprint(text), reference.fingerprint(text))


def test_dedupe_compiled_minhash_is_the_array_minhash() -> None:
    from services.dedupe.features import minhash

    for fp_text in ("One two three four five six seven.", seed("001")[0]):
        shingles = np.unique(
            np.frombuffer(fp_text.encode() * 4, dtype=np.uint8).astype(np.uint32) * 2654435761
        )
        assert np.array_equal(minhash(shingles, 120), reference.minhash_array(shingles, 120))


def test_dedupe_compiled_shingle_intersection_is_intersect1d() -> None:
    rng = random.Random(17)
    for a in FPS:
        for b in [*rng.sample(FPS, 8), a]:
            want = np.intersect1d(a.shingles, b.shingles, assume_unique=True).size
            assert kernels.shared_count(a.shingles, b.shingles) == want


def test_dedupe_compiled_core_cover_is_the_array_core_cover() -> None:
    from services.dedupe import logic
    from services.dedupe.logic import Decision, Known, Signature

    rng = random.Random(19)
    sigs = [logic.signature(art(body), CFG) for body in [seed(n)[0] for n in ("000", "001", "002", "003")]]
    sigs += [logic.signature(art(" ".join(rng.sample(seed("000")[0].split(), 120))), CFG) for _ in range(6)]
    real = [s for s in sigs if isinstance(s, Signature)]
    assert len(real) == 10
    for s in real:
        members = rng.sample(real, 5)
        known = [
            Known(
                m,
                Decision(
                    ingest_key=m.ingest_key,
                    article_id=m.article_id,
                    source=m.source,
                    verdict="unique",
                    event_id="e",
                    at=m.at,
                ),
            )
            for m in members
        ]
        want = reference.core_cover(s.fp.names, [m.fp.name_terms for m in members])
        assert logic._core_cover(s, known) == want  # the same float, bit for bit


def test_dedupe_compiled_stock_lookup_is_the_array_lookup() -> None:
    from services.dedupe.stock import _MIX, _ROW_BITS, SentenceCounts

    counts = SentenceCounts(3)
    rng = np.random.default_rng(23)
    counts.rows[:] = rng.integers(0, 256, size=counts.rows.shape, dtype=np.uint8)
    for fp in FPS:
        want = reference.stock_seen(fp.sent_keys, counts.rows, _ROW_BITS, int(_MIX))
        assert np.array_equal(counts.seen(fp), want)
    keys = rng.integers(0, 2**32, size=5000, dtype=np.uint32)
    assert np.array_equal(
        kernels.stock_seen(keys, counts.rows, _ROW_BITS, int(_MIX)),
        reference.stock_seen(keys, counts.rows, _ROW_BITS, int(_MIX)),
    )


def test_dedupe_compiled_unpack_order_is_the_array_order() -> None:
    rng = np.random.default_rng(29)
    for n in (0, 1, 7, 300):
        sizes = rng.integers(0, 9, size=n).astype(np.int32)
        by_sentence = rng.integers(0, 40, size=int(sizes.sum())).astype(np.uint16)  # ties within and across
        terms, index = kernels.by_term(by_sentence, sizes)
        want_terms, want_index = reference.by_term(by_sentence, sizes)
        assert np.array_equal(terms, want_terms) and np.array_equal(index, want_index)
        assert index.dtype == want_index.dtype


def test_dedupe_compiled_distinct_is_np_unique() -> None:
    rng = np.random.default_rng(31)
    for n in (0, 1, 2, 50, 1000):
        x = rng.integers(0, 30, size=n).astype(np.uint32)
        got = kernels.distinct(x)
        assert np.array_equal(got, np.unique(x)) and got.dtype == np.uint32


def test_dedupe_compiled_posting_lookups_are_numpys() -> None:
    rng = np.random.default_rng(37)
    for n in (0, 1, 90, 2000):
        keys = rng.integers(0, 500, size=n).astype(np.uint64)
        uq, inverse = kernels.unique_inverse(keys)
        want_uq, want_inverse = np.unique(keys, return_inverse=True)
        assert np.array_equal(uq, want_uq) and np.array_equal(inverse, want_inverse)
        run = np.sort(rng.integers(0, 500, size=3 * n).astype(np.uint64))
        hits, lo, hi = kernels.run_hits(run, uq)
        left, right = np.searchsorted(run, uq, side="left"), np.searchsorted(run, uq, side="right")
        present = np.nonzero(right > left)[0]
        assert np.array_equal(hits, present)
        assert np.array_equal(lo, left[present]) and np.array_equal(hi, right[present])


def test_dedupe_letter_share_counts_as_the_regex_does() -> None:
    from services.dedupe.features import letter_share

    rng = random.Random(41)
    points = [lambda: rng.randrange(0x20, 0x250), lambda: rng.randrange(0x250, 0x10000)]
    points += [
        lambda: rng.randrange(0x10000, 0x110000),
        lambda: rng.choice([0x20, 0x3000, 0x2028, 0x85, 0xA0]),
    ]
    texts = ["".join(chr(rng.choice(points)()) for _ in range(rng.randrange(0, 300))) for _ in range(2000)]
    texts += [
        "",
        " \u3000\u2028 ",
        "½²Ⅷ١٢ and more",
        "𝐀𝐁 𝟏",
        "\ud800x",
        "Плохо ли, что 3 × 4 = 12?",
        seed("001")[0],
    ]
    texts += ["x" * 3990 + "  Ünïcode  " * 5]  # the cut at 4,000 inside the non-ASCII part
    for text in texts:
        assert letter_share(text) == reference.letter_share(text), repr(text[:60])


def test_dedupe_compiled_counts_are_np_uniques() -> None:
    rng = np.random.default_rng(43)
    for n in (0, 1, 7, 500):
        x = rng.integers(0, 20, size=n).astype(np.int32)
        values, counts = kernels.counts(x)
        want_values, want_counts = np.unique(x, return_counts=True)
        assert np.array_equal(values, want_values) and np.array_equal(counts, want_counts)


def test_dedupe_warm_up_readies_every_compiled_loop_before_the_first_batch() -> None:
    from services.dedupe.offline import warm

    warm()
    # (the helpers with a leading underscore are compiled into the loops that call them)
    loops = {name: f for name, f in vars(kernels).items() if hasattr(f, "signatures") and name[0] != "_"}
    assert len(loops) >= 10
    assert not [
        name for name, f in loops.items() if not f.signatures
    ]  # each compiled (or loaded) for a real call


def test_dedupe_stored_fingerprint_reads_back_field_for_field() -> None:
    from services.dedupe.features import pack, unpack

    wide = "Start " + " ".join(f"{i:05d}" for i in range(70_000))  # a sentence of more than 65,535 stems
    many = " ".join(f"Word{i % 500} Minsk here." for i in range(700))  # sentence numbers in two bytes
    for fp in [*FPS, fingerprint(wide), fingerprint(many)]:
        back = unpack(pack(fp))
        for field in ("shingles", "sent_terms", "sent_index", "sent_sizes", "sent_quotes", "name_terms"):
            _same_array(getattr(back, field), getattr(fp, field), field)
        for field in ("name_sent", "names", "fact_sent", "sent_status", "sent_keys"):
            _same_array(getattr(back, field), getattr(fp, field), field)
        assert np.array_equal(np.sort(back.fact_terms), np.sort(fp.fact_terms))
        assert (back.content_hash, back.n_words) == (fp.content_hash, fp.n_words)


def _same_array(got: np.ndarray, want: np.ndarray, field: str) -> None:
    assert np.array_equal(got, want) and got.dtype == want.dtype, field


def test_dedupe_compiled_stock_count_is_the_array_count() -> None:
    from services.dedupe.stock import _MIX, _ROW_BITS

    rng = np.random.default_rng(47)
    rows = rng.integers(250, 256, size=(2, 1 << _ROW_BITS), dtype=np.uint8)  # near saturation
    want = rows.copy()
    low = rng.integers(0, 1 << 10, size=300, dtype=np.uint32)
    # distinct keys of which many share a first-row slot (same low bits): each counter still goes up once
    keys = np.unique(
        np.concatenate([low, low | np.uint32(1 << 30), rng.integers(0, 2**32, 500, dtype=np.uint32)])
    )
    for _ in range(3):
        kernels.stock_add(keys, rows, _ROW_BITS, int(_MIX))
        reference.stock_add(keys, want, _ROW_BITS, int(_MIX))
    assert np.array_equal(rows, want)


def test_dedupe_character_table_takes_what_the_token_regex_takes_at_every_code_point() -> None:
    import re

    from services.dedupe.features import char_classes

    table = char_classes()
    word = re.compile(r"[^\W_]")
    alnum = np.array([word.match(chr(c)) is not None for c in range(0x110000)])
    assert np.array_equal(table >= kernels.LETTER, alnum)
    space = np.array([chr(c).isspace() for c in range(0x110000)])
    assert np.array_equal(table == kernels.SPACE, space)
