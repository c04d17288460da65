"""Scores between two fingerprints. Pure and cheap (tens of microseconds): run on every retrieved candidate."""

from __future__ import annotations

import bisect
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


def estimated_jaccard(a: Fingerprint, b: Fingerprint) -> float:
    if a.minhash.size == 0 or a.minhash.size != b.minhash.size:
        return 0.0
    return float(np.mean(a.minhash == b.minhash))


def sentence_overlap(a: Fingerprint, b: Fingerprint) -> np.ndarray:
    """Matrix of shared content terms, sentences of ``a`` by sentences of ``b`` (vectorized merge of sorted terms)."""
    m = np.zeros((a.n_sentences, b.n_sentences), dtype=np.int32)
    if m.size == 0:
        return m
    lo = np.searchsorted(a.sent_terms, b.sent_terms, side="left")
    hi = np.searchsorted(a.sent_terms, b.sent_terms, side="right")
    cnt = hi - lo
    total = int(cnt.sum())
    if total == 0:
        return m
    ib = np.repeat(np.arange(b.sent_terms.size), cnt)
    starts = np.repeat(np.cumsum(cnt) - cnt, cnt)
    ia = np.repeat(lo, cnt) + (np.arange(total) - starts)
    np.add.at(m, (a.sent_index[ia], b.sent_index[ib]), 1)
    return m


def compare(a: Fingerprint, b: Fingerprint, *, min_dice: float, verbatim_dice: float = 0.9,
            min_terms: int = 3) -> Pair:
    """Align sentences by Dice similarity of their content-word stems; count the longest in-order chain.

    A rewrite paraphrases its source sentence by sentence, in order; an independent report of the same event shares
    a quote or two; two stories of one outlet share header and footer boilerplate verbatim. So verbatim pairs
    (Dice >= ``verbatim_dice``) are left out of the chain, of the sentence counts and of the names compared, and
    sentences with fewer than ``min_terms`` content words are ignored for the chain (datelines, credits).
    """
    m = sentence_overlap(a, b)
    if m.size == 0:
        return Pair(0, 0.0, 0, False, *_names(a, b, None, None))
    sa = a.sent_sizes.astype(np.float64)
    sb = b.sent_sizes.astype(np.float64)
    dice = 2.0 * m / (sa[:, None] + sb[None, :])
    close = dice >= 0.5
    shared_quote = bool((close & a.sent_quotes[:, None] & b.sent_quotes[None, :]).any())
    verbatim = dice >= verbatim_dice
    va: np.ndarray = np.asarray(verbatim.any(axis=1))
    vb: np.ndarray = np.asarray(verbatim.any(axis=0))
    big_a = a.sent_sizes >= min_terms
    big_b = b.sent_sizes >= min_terms
    para = (dice >= min_dice) & ~verbatim
    para[va | ~big_a, :] = False
    para[:, vb | ~big_b] = False
    ii, jj = np.nonzero(para)
    # Longest chain increasing in both i and j: sort by i, then j descending, and take the LIS of j.
    order = np.lexsort((-jj, ii))
    tails: list[int] = []
    for j in jj[order].tolist():
        k = bisect.bisect_left(tails, j)
        if k == len(tails):
            tails.append(j)
        else:
            tails[k] = j
    denom = min(int((big_a & ~va).sum()), int((big_b & ~vb).sum()))
    share = len(tails) / denom if denom else 0.0
    return Pair(len(tails), share, int(va.sum()), shared_quote, *_names(a, b, va, vb))


def _names(a: Fingerprint, b: Fingerprint, skip_a: np.ndarray | None, skip_b: np.ndarray | None) -> tuple[int, float]:
    na = a.name_terms if skip_a is None else a.name_terms[~skip_a[a.name_sent]]
    nb = b.name_terms if skip_b is None else b.name_terms[~skip_b[b.name_sent]]
    ua, ub = np.unique(na), np.unique(nb)
    if ua.size == 0 or ub.size == 0:
        return 0, 0.0
    shared = int(np.intersect1d(ua, ub, assume_unique=True).size)
    return shared, shared / (ua.size + ub.size - shared)
