"""The plain code of the fingerprint's assembly and of the sentence comparison: the definition the compiled loops
in ``services.dedupe.kernels`` must agree with figure for figure (``tests/unit/dedupe/test_kernels.py``), and the
way to read what they compute. Not used by the workers."""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from typing import cast

import numpy as np
import numpy.typing as npt

from services.common.text import digest, normalize
from services.dedupe.features import (
    _QUOTE,
    _SHIFT,
    FACT_NAME,
    MAX_SENTENCES,
    U32,
    Fingerprint,
    WordInfo,
    _name_hash,
    _permutations,
    _sample,
    _unique,
    _word,
    band_keys,
    sentence_tokens,
    shingle_hashes,
)
from services.dedupe.similarity import Pair, _counterparts, _names


def sentence_overlap(a: Fingerprint, b_terms: np.ndarray, b_index: np.ndarray, nb: int) -> np.ndarray:
    """Matrix of shared content terms, sentences of ``a`` by the ``nb`` sentences that ``b_terms``/``b_index`` list
    (term, sentence) rows of: a vectorized merge of sorted terms, counted with one bincount."""
    na = a.n_sentences
    if na == 0 or nb == 0:
        return np.zeros((na, nb), dtype=np.int64)
    lo = np.searchsorted(a.sent_terms, b_terms, side="left")
    cnt = np.searchsorted(a.sent_terms, b_terms, side="right") - lo
    total = int(cnt.sum())
    if total == 0:
        return np.zeros((na, nb), dtype=np.int64)
    starts = np.repeat(np.cumsum(cnt) - cnt, cnt)
    ia = np.repeat(lo, cnt) + (np.arange(total) - starts)
    cells = a.sent_index[ia].astype(np.int64) * nb + np.repeat(b_index, cnt)
    return np.bincount(cells, minlength=na * nb).reshape(na, nb)


def _stacked_overlap(
    a: Fingerprint, cols: Sequence[Fingerprint]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``sentence_overlap`` of ``a`` against the sentences of all ``cols`` side by side (one column per sentence,
    candidate after candidate), each candidate's number of columns and its first column."""
    widths = np.array([b.n_sentences for b in cols], dtype=np.int64)
    offsets = np.cumsum(widths) - widths
    m = sentence_overlap(
        a,
        np.concatenate([b.sent_terms for b in cols]),
        np.concatenate(
            [b.sent_index.astype(np.int64) + off for b, off in zip(cols, offsets.tolist(), strict=True)]
        ),
        int(widths.sum()),
    )
    return m, widths, offsets


def most_aligned(
    a: Fingerprint, bs: Sequence[Fingerprint], *, min_dice: float, min_terms: int = 3
) -> list[int]:
    """An upper bound of ``compare_many(a, bs).aligned`` for each of ``bs``, at a fraction of its cost: the chain
    ``compare_many`` counts is made of paraphrase pairs (Dice >= ``min_dice``, both sentences with at least
    ``min_terms`` content words, verbatim pairs left out), one per sentence of each side, so it is no longer than
    the number of sentences of either side with such a pair, verbatim ones counted too. One overlap matrix for all
    of ``bs`` and three reductions, not the dozens of array operations of a full comparison."""
    live = [i for i, b in enumerate(bs) if b.n_sentences]
    out = [0] * len(bs)
    if a.n_sentences == 0 or not live:
        return out
    cols = [bs[i] for i in live]
    m, _, offsets = _stacked_overlap(a, cols)
    sb = np.concatenate([b.sent_sizes for b in cols])
    dice = 2.0 * m / (a.sent_sizes.astype(np.float64)[:, None] + sb[None, :])  # as compare_many computes it
    para = (dice >= min_dice) & (a.sent_sizes >= min_terms)[:, None] & (sb >= min_terms)[None, :]
    rows = np.logical_or.reduceat(para, offsets, axis=1).sum(
        axis=0
    )  # sentences of a with a pair, per candidate
    cols_hit = np.add.reduceat(para.any(axis=0).astype(np.int64), offsets)
    for k, i in enumerate(live):
        out[i] = int(min(rows[k], cols_hit[k]))
    return out


def compare_many(
    a: Fingerprint,
    bs: Sequence[Fingerprint],
    *,
    min_dice: float,
    verbatim_dice: float = 0.9,
    min_terms: int = 3,
    a_stock: npt.NDArray[np.bool_] | None = None,
    b_stocks: Sequence[npt.NDArray[np.bool_]] | None = None,
    lead_window: int = 4,
) -> list[Pair]:
    """Align sentences by Dice similarity of their content-word stems; count the longest in-order chain. ``a``
    against each of ``bs``, in one set of array operations (the candidates' sentences side by side as columns).

    A rewrite paraphrases its source sentence by sentence, in order; an independent report of the same event shares
    a quote or two; two stories of one outlet share header and footer boilerplate verbatim. So verbatim pairs
    (Dice >= ``verbatim_dice``) are left out of the chain, of the sentence counts and of the names compared, and
    sentences with fewer than ``min_terms`` content words are ignored for the chain (datelines, credits).
    ``a_stock``/``b_stocks`` mark stock sentences (seen in many articles), left out of coverage and lead.
    """
    out: list[Pair | None] = [None] * len(bs)
    live = [i for i, b in enumerate(bs) if b.n_sentences]
    if a.n_sentences == 0 or not live:
        return [Pair(0, 0.0, 0, False, *_names(a, b, None, None)) for b in bs]
    for i, b in enumerate(bs):
        if not b.n_sentences:
            out[i] = Pair(0, 0.0, 0, False, *_names(a, b, None, None))
    cols = [bs[i] for i in live]
    m, widths, offsets = _stacked_overlap(a, cols)
    owner = np.repeat(np.arange(len(cols)), widths)  # the candidate of each column
    nb = int(widths.sum())
    sa = a.sent_sizes.astype(np.float64)
    sb = np.concatenate([b.sent_sizes for b in cols])
    dice = 2.0 * m / (sa[:, None] + sb[None, :])
    close = dice >= 0.5
    quote_cols = (
        close & a.sent_quotes[:, None] & np.concatenate([b.sent_quotes for b in cols])[None, :]
    ).any(axis=0)
    verbatim = dice >= verbatim_dice
    va = np.logical_or.reduceat(verbatim, offsets, axis=1)  # sentence of a verbatim in candidate k: (na, k)
    vb = verbatim.any(axis=0)
    big_a = a.sent_sizes >= min_terms
    big_b = sb >= min_terms
    para = (dice >= min_dice) & ~verbatim & big_a[:, None] & ~va[:, owner]
    para[:, vb | ~big_b] = False
    ii, jj = np.nonzero(para)
    # Longest chain increasing in both i and j, per candidate: sort by (candidate, i, -j), take the LIS of j.
    order = np.lexsort((-jj, ii, owner[jj]))
    chains = np.split(jj[order], np.searchsorted(owner[jj][order], np.arange(1, len(cols))))
    # coverage and lead over informative sentences
    inf_a = big_a if a_stock is None else big_a & ~a_stock
    inf_b = big_b.copy()
    if b_stocks is not None:
        inf_b &= ~np.concatenate([b_stocks[i] for i in live])
    match_a = np.logical_or.reduceat(close, offsets, axis=1) & inf_a[:, None]  # (na, k)
    match_b = close.any(axis=0) & inf_b
    # Leads: the first informative sentence of one side with a counterpart among the first ``lead_window``
    # informative sentences of the other (a follow-up's lead only meets the other's background, far down).
    counterpart = _counterparts(m, dice, sa, sb, min_dice)
    cum_a = np.concatenate([[0], np.cumsum(inf_a)])
    early_a = inf_a & (cum_a[:-1] < lead_window)
    cs_b = np.cumsum(inf_b)
    rank_b: npt.NDArray[np.int64] = cs_b - inf_b - np.repeat((cs_b - inf_b)[offsets], widths)
    early_b = inf_b & (rank_b < lead_window)
    leads: list[tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]] = []
    for hit in (close, counterpart):  # copies keep the lead nearly verbatim; rewrites paraphrase it
        leads.append(
            (
                np.logical_or.reduceat(hit & early_b[None, :], offsets, axis=1) & inf_a[:, None],
                (hit & early_a[:, None]).any(axis=0) & inf_b,
            )
        )
    n_inf_a = max(int(inf_a.sum()), 1)
    quoted = np.logical_or.reduceat(quote_cols, offsets).tolist()
    b_left = np.add.reduceat((big_b & ~vb).astype(np.int64), offsets).tolist()
    a_left = (big_a[:, None] & ~va).sum(axis=0).tolist()
    # per candidate, in array operations rather than a dozen small ones per candidate
    verbatim_a = va.sum(axis=0).tolist()
    covered_a = match_a.sum(axis=0).tolist()
    covered_b = np.add.reduceat(match_b.astype(np.int64), offsets).tolist()
    informative_b = np.add.reduceat(inf_b.astype(np.int64), offsets)
    positions = np.arange(nb)
    firsts: list[list[int]] = []
    for hit_a, hit_b in leads:
        # a: informative sentences before its first hit (all of them when none); b: the same within each candidate
        fa = np.where(hit_a.any(axis=0), hit_a.argmax(axis=0), a.n_sentences)
        fb = np.minimum.reduceat(np.where(hit_b, positions, nb), offsets)
        firsts.append(cum_a[fa].tolist())
        firsts.append(np.where(fb < nb, rank_b[np.minimum(fb, nb - 1)], informative_b).tolist())
    informative_b_l = informative_b.tolist()
    offsets_l, widths_l = offsets.tolist(), widths.tolist()
    for k, i in enumerate(live):
        tails: list[int] = []
        for j in chains[k].tolist():
            t = bisect.bisect_left(tails, j)
            if t == len(tails):
                tails.append(j)
            else:
                tails[t] = j
        denom = min(a_left[k], b_left[k])
        lo = offsets_l[k]
        out[i] = Pair(
            len(tails),
            len(tails) / denom if denom else 0.0,
            verbatim_a[k],
            bool(quoted[k]),
            *_names(a, bs[i], va[:, k], vb[lo : lo + widths_l[k]]),
            cover_a=covered_a[k] / n_inf_a,
            cover_b=covered_b[k] / max(informative_b_l[k], 1),
            lead_a=firsts[0][k],
            lead_b=firsts[1][k],
            para_lead_a=firsts[2][k],
            para_lead_b=firsts[3][k],
        )
    return [p for p in out if p is not None]


def fingerprint(
    body: str,
    *,
    shingle_size: int = 3,
    num_perm: int = 120,
    bands: int = 40,
    rows: int = 3,
    max_terms: int = 24,
) -> Fingerprint:
    """The fingerprint of ``body`` (titles are left out: syndication changes headlines first)."""
    text = unicodedata.normalize("NFKC", body)
    word_hashes: list[int] = []
    rows_t: list[int] = []
    rows_s: list[int] = []
    sizes: list[int] = []
    quotes: list[bool] = []
    names: Counter[str] = Counter()
    name_rows: dict[tuple[int, str], None] = {}
    fact_rows: list[int] = []
    fact_sents: list[int] = []
    statuses: list[int] = []
    skeys: list[int] = []
    si = 0
    memo: dict[str, WordInfo] = {}
    for sentence, tokens in sentence_tokens(text):
        if si >= MAX_SENTENCES:  # what follows still changes the content hash, not the similarity features
            break
        # map/filter over the memo keep the per-token work in C; the memo misses only on new words
        got = list(map(memo.get, tokens))
        infos = (
            cast(list[WordInfo], got)
            if None not in got
            else [x or memo.setdefault(t, _word(t)) for x, t in zip(got, tokens, strict=True)]
        )
        # one pass splits the infos into their fields (tuples: cheaper than a map per field)
        hashes, stem_l, name_l, fact_l, status_l = zip(*infos, strict=True)
        word_hashes.extend(hashes)
        stems = set(stem_l)
        stems.discard(0)
        if not stems:
            continue
        rows_t.extend(stems)
        rows_s.extend([si] * len(stems))
        for name in filter(None, name_l[1:]):  # a sentence's first word is capitalized
            names[name] += 1
            name_rows[(si, name)] = None
        sizes.append(len(stems))
        quotes.append(_QUOTE.search(sentence) is not None)
        facts = set(fact_l[1:])
        if fact_l[0] >> 30 != FACT_NAME:  # a sentence's first word is capitalized, name or not
            facts.add(fact_l[0])
        facts.discard(0)
        fact_rows.extend(facts)
        fact_sents.extend([si] * len(facts))
        sts = set(status_l)
        statuses.append(
            0
            if len(sts) == 1 and 0 in sts
            else (1 if 1 in sts else 0) | (2 if 2 in sts else 0) | (3 if 3 in sts else 0)
        )
        # the sentence's word hashes as a tuple: int hashes are not salted, so every worker agrees
        skeys.append(hash(hashes) & 0xFFFFFFFF)
        si += 1
    words = np.asarray(word_hashes, dtype=np.uint64)
    sh_all = _unique(shingle_hashes(words, shingle_size))
    sig = minhash_array(sh_all, num_perm)
    t = (np.asarray(rows_t, dtype=np.uint32) & np.uint32(0xFFFF)).astype(np.uint16)
    s = np.asarray(rows_s, dtype=np.int16)
    order = np.argsort(t, kind="stable")
    # Retrieval terms: the names an article repeats most are what it is about; ties broken by the name itself.
    terms = tuple(n for n, _ in sorted(names.items(), key=lambda kv: (-kv[1], kv[0]))[:max_terms])
    name_terms = np.asarray([_name_hash(n) for _, n in name_rows], dtype=np.uint32)
    name_sent = np.asarray([i for i, _ in name_rows], dtype=np.int32)
    return Fingerprint(
        content_hash=digest(normalize(body), 32),
        n_words=len(word_hashes),
        shingles=_sample(sh_all),
        minhash=sig,
        bands=band_keys(sig, bands, rows),
        sent_terms=t[order],
        sent_index=s[order],
        sent_sizes=np.asarray(sizes, dtype=np.int32),
        sent_quotes=np.asarray(quotes, dtype=np.bool_),
        name_terms=name_terms,
        name_sent=name_sent,
        names=np.unique(name_terms),
        fact_terms=np.asarray(fact_rows, dtype=np.uint32),
        fact_sent=np.asarray(fact_sents, dtype=np.int32),
        sent_status=np.asarray(statuses, dtype=np.uint8),
        sent_keys=np.asarray(skeys, dtype=np.uint32),
        terms=terms,
    )


def minhash_array(shingles: U32, num_perm: int) -> U32:
    """MinHash with multiply-shift permutations h(x) = (a*x + b) mod 2^64 >> 32, a odd (universal)."""
    if shingles.size == 0:
        return np.zeros(0, dtype=np.uint32)
    a, b = _permutations(num_perm)
    out = np.full(num_perm, np.iinfo(np.uint64).max, dtype=np.uint64)
    # permutations by rows (the minimum runs along contiguous memory), the minimum of the 64-bit values shifted
    # once at the end (the shift is monotonic: the same minimum)
    a_col, b_col = a[:, None], b[:, None]
    with np.errstate(over="ignore"):
        for start in range(0, shingles.size, 512):  # chunks bound the temporary matrix
            hv = shingles[None, start : start + 512].astype(np.uint64) * a_col
            hv += b_col
            np.minimum(out, hv.min(axis=1), out=out)
    return (out >> _SHIFT).astype(np.uint32)


def core_cover(names: npt.NDArray[np.uint32], member_terms: Sequence[npt.NDArray[np.uint32]]) -> float:
    """``logic._core_cover`` in array operations: of an event's members' (name, sentence) rows, the share of the
    weight (per member: sentences mentioning a name over the most any of its names gets) on ``names``."""
    terms = [t for t in member_terms if t.size]
    if not terms:
        return 0.0
    owner = np.repeat(np.arange(len(terms), dtype=np.uint64), [t.size for t in terms])
    pairs, counts = np.unique((owner << np.uint64(32)) | np.concatenate(terms), return_counts=True)
    member = (pairs >> np.uint64(32)).astype(np.intp)
    top = np.zeros(len(terms), dtype=np.int64)
    np.maximum.at(top, member, counts)
    weights = counts / top[member]
    mine = np.isin((pairs & np.uint64(0xFFFFFFFF)).astype(np.uint32), names)
    return float(weights[mine].sum() / weights.sum())


def stock_seen(
    keys: npt.NDArray[np.uint32], rows: npt.NDArray[np.uint8], bits: int, mix: int
) -> npt.NDArray[np.intp]:
    """``kernels.stock_seen`` in array operations."""
    with np.errstate(over="ignore"):
        h2 = (keys * np.uint32(mix)) >> np.uint32(32 - bits)
    seen: npt.NDArray[np.intp] = np.minimum(rows[0, keys & np.uint32((1 << bits) - 1)], rows[1, h2]).astype(
        np.intp
    )
    return seen


def by_term(
    by_sentence: npt.NDArray[np.uint16], sizes: npt.NDArray[np.int32]
) -> tuple[npt.NDArray[np.uint16], npt.NDArray[np.int16]]:
    """``kernels.by_term`` in array operations."""
    order = np.argsort(by_sentence, kind="stable")
    return by_sentence[order], np.repeat(np.arange(sizes.size, dtype=np.int16), sizes)[order]


_NOT_LETTER = re.compile(r"[\W\d_]+")


def letter_share(text: str) -> float:
    """``features.letter_share`` with a regex: the share of letters among the non-space characters of the first
    4,000."""
    chars = "".join(text[:4000].split())
    if not chars:
        return 0.0
    return len(_NOT_LETTER.sub("", chars)) / len(chars)


def stock_add(keys: npt.NDArray[np.uint32], rows: npt.NDArray[np.uint8], bits: int, mix: int) -> None:
    """``kernels.stock_add`` in array operations (``keys`` distinct)."""
    with np.errstate(over="ignore"):
        h2 = (keys * np.uint32(mix)) >> np.uint32(32 - bits)
    for row, idx in ((0, keys & np.uint32((1 << bits) - 1)), (1, h2)):
        cur = rows[row, idx]
        rows[row, idx] = np.where(cur < 255, cur + 1, cur)
