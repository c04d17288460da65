"""Articles far larger than news: dedupe decides them like any other, it never crashes on their size."""

from __future__ import annotations

from services.dedupe.features import MAX_SENTENCES, fingerprint, pack, unpack


def test_a_one_megabyte_article_is_fingerprinted_packed_and_read_back() -> None:
    body = " ".join(
        f"Sentence number {i} talks about Minsk and {i % 97} other things." for i in range(20_000)
    )
    assert len(body) > 1_000_000
    fp = fingerprint(body)
    back = unpack(pack(fp))
    assert back.content_hash == fp.content_hash and back.n_words == fp.n_words
    assert (back.sent_index == fp.sent_index).all() and (back.sent_terms == fp.sent_terms).all()


def test_more_sentences_than_the_index_holds_are_compared_by_the_first_ones() -> None:
    body = " ".join(f"Word{i % 5000} here." for i in range(MAX_SENTENCES + 5_000))
    fp = fingerprint(body)
    assert fp.sent_sizes.size == MAX_SENTENCES
    assert unpack(pack(fp)).sent_sizes.size == MAX_SENTENCES
    assert fingerprint(body + " One more.").content_hash != fp.content_hash


def test_a_sentence_with_more_distinct_terms_than_16_bits_count_is_read_back_exactly() -> None:
    body = "Start " + " ".join(f"{i:05d}" for i in range(70_000))  # one sentence, 70,000 distinct stems
    fp = fingerprint(body)
    assert int(fp.sent_sizes.max()) > 65_535
    back = unpack(pack(fp))
    assert (back.sent_sizes == fp.sent_sizes).all()
    assert (back.sent_index == fp.sent_index).all() and (back.sent_terms == fp.sent_terms).all()
