"""Scores between two fingerprints. Pure and cheap (tens of microseconds): run on every retrieved candidate."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from services.dedupe.features import Fingerprint


@dataclass(frozen=True)
class Near:
    jaccard: float  # |A∩B| / |A∪B| of 3-word shingle sets
    containment: float  # |A∩B| / min(|A|, |B|): how much of the shorter text is in the longer one


@dataclass(frozen=True)
class Pair:
    """How two texts relate sentence by sentence (for rewrites) and by the names they use (for events)."""

    aligned: int  # longest in-order chain of paraphrased sentence pairs
    share: float  # aligned / sentences of the shorter text (sentences shared verbatim left out of both)
    verbatim: int  # sentences of the first text found nearly verbatim in the second (quotes, boilerplate)
    shared_quote: bool  # a sentence with quotation marks is nearly the same in both (the same quote)
    names_shared: int  # named tokens both use, outside sentences they share verbatim (boilerplate)
    names_jaccard: float


def near(a: Fingerprint, b: Fingerprint) -> Near:
    na, nb = a.shingles.size, b.shingles.size
    if na == 0 or nb == 0:
        return Near(0.0, 0.0)
    inter = int(np.intersect1d(a.shingles, b.shingles, assume_unique=True).size)
    return Near(inter / (na + nb - inter), inter / min(na, nb))


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


def compare(
    a: Fingerprint, b: Fingerprint, *, min_dice: float, verbatim_dice: float = 0.9, min_terms: int = 3
) -> Pair:
    """One pair; see ``compare_many``."""
    return compare_many(a, [b], min_dice=min_dice, verbatim_dice=verbatim_dice, min_terms=min_terms)[0]


def compare_many(
    a: Fingerprint,
    bs: Sequence[Fingerprint],
    *,
    min_dice: float,
    verbatim_dice: float = 0.9,
    min_terms: int = 3,
) -> list[Pair]:
    """Align sentences by Dice similarity of their content-word stems; count the longest in-order chain. ``a``
    against each of ``bs``, in one set of array operations (the candidates' sentences side by side as columns).

    A rewrite paraphrases its source sentence by sentence, in order; an independent report of the same event shares
    a quote or two; two stories of one outlet share header and footer boilerplate verbatim. So verbatim pairs
    (Dice >= ``verbatim_dice``) are left out of the chain, of the sentence counts and of the names compared, and
    sentences with fewer than ``min_terms`` content words are ignored for the chain (datelines, credits).
    """
    out: list[Pair | None] = [None] * len(bs)
    live = [i for i, b in enumerate(bs) if b.n_sentences]
    if a.n_sentences == 0 or not live:
        return [Pair(0, 0.0, 0, False, *_names(a, b, None, None)) for b in bs]
    for i, b in enumerate(bs):
        if not b.n_sentences:
            out[i] = Pair(0, 0.0, 0, False, *_names(a, b, None, None))
    cols = [bs[i] for i in live]
    widths = np.array([b.n_sentences for b in cols])
    offsets = np.cumsum(widths) - widths
    owner = np.repeat(np.arange(len(cols)), widths)  # the candidate of each column
    nb = int(widths.sum())
    m = sentence_overlap(
        a,
        np.concatenate([b.sent_terms for b in cols]),
        np.concatenate([b.sent_index + off for b, off in zip(cols, offsets.tolist(), strict=True)]),
        nb,
    )
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
    quoted = np.logical_or.reduceat(quote_cols, offsets)
    b_left = np.add.reduceat((big_b & ~vb).astype(np.int64), offsets)
    a_left = (big_a[:, None] & ~va).sum(axis=0)
    for k, i in enumerate(live):
        tails: list[int] = []
        for j in chains[k].tolist():
            t = bisect.bisect_left(tails, j)
            if t == len(tails):
                tails.append(j)
            else:
                tails[t] = j
        denom = min(int(a_left[k]), int(b_left[k]))
        lo = int(offsets[k])
        vbk = vb[lo : lo + int(widths[k])]
        out[i] = Pair(
            len(tails),
            len(tails) / denom if denom else 0.0,
            int(va[:, k].sum()),
            bool(quoted[k]),
            *_names(a, bs[i], va[:, k], vbk),
        )
    return [p for p in out if p is not None]


def _names(
    a: Fingerprint, b: Fingerprint, skip_a: np.ndarray | None, skip_b: np.ndarray | None
) -> tuple[int, float]:
    ua = a.names if skip_a is None or not skip_a.any() else np.unique(a.name_terms[~skip_a[a.name_sent]])
    ub = b.names if skip_b is None or not skip_b.any() else np.unique(b.name_terms[~skip_b[b.name_sent]])
    if ua.size == 0 or ub.size == 0:
        return 0, 0.0
    shared = int(np.intersect1d(ua, ub, assume_unique=True).size)
    return shared, shared / (ua.size + ub.size - shared)
