"""Scores between two fingerprints. Pure and cheap (tens of microseconds): run on every retrieved candidate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.dedupe import kernels
from services.dedupe.features import FACT_NAME, Fingerprint, fingerprint


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
    # Coverage, sentence by sentence, over the *informative* sentences (enough content words, not stock passages
    # seen in many articles): share of each side with a close counterpart (Dice >= 0.5) in the other.
    cover_a: float = 0.0
    cover_b: float = 0.0
    # Informative sentences before the first one that has a counterpart (see _counterparts) among the other's
    # first informative sentences: a copy or rewrite starts with the other's lead (after a header line or two at
    # most), a follow-up with its own new lead.
    lead_a: int = 0  # counterpart: nearly the same sentence (Dice >= 0.5), as copies keep it
    lead_b: int = 0
    para_lead_a: int = 0  # counterpart: a paraphrase (see _counterparts), as rewrites make it
    para_lead_b: int = 0


def near(a: Fingerprint, b: Fingerprint) -> Near:
    na, nb = a.shingles.size, b.shingles.size
    if na == 0 or nb == 0:
        return Near(0.0, 0.0)
    inter = kernels.shared_count(a.shingles, b.shingles)  # sorted, distinct
    return Near(inter / (na + nb - inter), inter / min(na, nb))


def sentence_overlap(a: Fingerprint, b_terms: np.ndarray, b_index: np.ndarray, nb: int) -> np.ndarray:
    """Matrix of shared content terms, sentences of ``a`` by the ``nb`` sentences that ``b_terms``/``b_index`` list
    (term, sentence) rows of (``b_terms`` sorted)."""
    m: np.ndarray = kernels.overlap(
        a.sent_terms,
        a.sent_index,
        a.n_sentences,
        b_terms,
        b_index,
        np.array([0, b_terms.size], dtype=np.int64),
        np.array([0, nb], dtype=np.int64),
    )
    return m


def _stacked_overlap(
    a: Fingerprint, cols: Sequence[Fingerprint]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``sentence_overlap`` of ``a`` against the sentences of all ``cols`` side by side (one column per sentence,
    candidate after candidate), each candidate's number of columns and its first column."""
    widths = np.array([b.n_sentences for b in cols], dtype=np.int64)
    at = np.zeros(widths.size + 1, dtype=np.int64)
    np.cumsum(widths, out=at[1:])
    rows = np.zeros(widths.size + 1, dtype=np.int64)
    np.cumsum([b.sent_terms.size for b in cols], out=rows[1:])
    m = kernels.overlap(
        a.sent_terms,
        a.sent_index,
        a.n_sentences,
        np.concatenate([b.sent_terms for b in cols]),
        np.concatenate([b.sent_index for b in cols]),
        rows,
        at,
    )
    return m, widths, at[:-1]


def most_aligned(
    a: Fingerprint, bs: Sequence[Fingerprint], *, min_dice: float, min_terms: int = 3
) -> list[int]:
    """An upper bound of ``compare_many(a, bs).aligned`` for each of ``bs``, at a fraction of its cost: the chain
    ``compare_many`` counts is made of paraphrase pairs (Dice >= ``min_dice``, both sentences with at least
    ``min_terms`` content words, verbatim pairs left out), one per sentence of each side, so it is no longer than
    the number of sentences of either side with such a pair, verbatim ones counted too."""
    live = [i for i, b in enumerate(bs) if b.n_sentences]
    out = [0] * len(bs)
    if a.n_sentences == 0 or not live:
        return out
    cols = [bs[i] for i in live]
    m, widths, offsets = _stacked_overlap(a, cols)
    sb = np.concatenate([b.sent_sizes for b in cols]).astype(np.float64)
    bound = kernels.aligned_bound(
        m, a.sent_sizes.astype(np.float64), sb, offsets, widths, min_dice, min_terms
    ).tolist()
    for k, i in enumerate(live):
        out[i] = bound[k]
    return out


def warm() -> None:
    """Compile (or load from the cache) the comparison's loops now, not on the first batch: up to seconds when
    no cache is writable."""
    fp = fingerprint("Alpha Beta met Gamma in Delta today. Epsilon said Zeta would follow later.")
    compare_many(fp, [fp, fp], min_dice=0.5)
    most_aligned(fp, [fp], min_dice=0.5)


def compare(
    a: Fingerprint,
    b: Fingerprint,
    *,
    min_dice: float,
    verbatim_dice: float = 0.9,
    min_terms: int = 3,
    a_stock: npt.NDArray[np.bool_] | None = None,
    b_stock: npt.NDArray[np.bool_] | None = None,
) -> Pair:
    """One pair; see ``compare_many``."""
    return compare_many(
        a,
        [b],
        min_dice=min_dice,
        verbatim_dice=verbatim_dice,
        min_terms=min_terms,
        a_stock=a_stock,
        b_stocks=None if b_stock is None else [b_stock],
    )[0]


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
    no_stock = np.zeros(a.n_sentences, dtype=np.bool_)
    b_stock = (
        np.zeros(m.shape[1], dtype=np.bool_)
        if b_stocks is None
        else np.concatenate([b_stocks[i] for i in live])
    )
    name_rows = np.cumsum([0] + [b.name_terms.size for b in cols])
    names_at = np.cumsum([0] + [b.names.size for b in cols])
    figures, n_inf_a = kernels.pair_figures(
        m,
        a.sent_sizes.astype(np.float64),
        np.concatenate([b.sent_sizes for b in cols]).astype(np.float64),
        a.sent_quotes,
        np.concatenate([b.sent_quotes for b in cols]),
        no_stock if a_stock is None else a_stock,
        b_stock,
        offsets,
        widths,
        min_dice,
        verbatim_dice,
        min_terms,
        lead_window,
        a.name_terms,
        a.name_sent.astype(np.int64),
        a.names,
        np.concatenate([b.name_terms for b in cols]),
        np.concatenate([b.name_sent for b in cols]).astype(np.int64),
        name_rows,
        np.concatenate([b.names for b in cols]),
        names_at,
    )
    n_inf_a = max(n_inf_a, 1)
    for i, f in zip(live, figures.tolist(), strict=True):
        denom = min(f[kernels.A_LEFT], f[kernels.B_LEFT])
        aligned = f[kernels.ALIGNED]
        na_, nb_, shared = f[kernels.NAMES_A], f[kernels.NAMES_B], f[kernels.NAMES_SHARED]
        out[i] = Pair(
            aligned,
            aligned / denom if denom else 0.0,
            f[kernels.VERBATIM_A],
            bool(f[kernels.QUOTED]),
            shared if na_ and nb_ else 0,
            shared / (na_ + nb_ - shared) if na_ and nb_ else 0.0,
            cover_a=f[kernels.COVERED_A] / n_inf_a,
            cover_b=f[kernels.COVERED_B] / max(f[kernels.INFORMATIVE_B], 1),
            lead_a=f[kernels.LEAD_A],
            lead_b=f[kernels.LEAD_B],
            para_lead_a=f[kernels.PARA_LEAD_A],
            para_lead_b=f[kernels.PARA_LEAD_B],
        )
    return [p for p in out if p is not None]


def _names(
    a: Fingerprint, b: Fingerprint, skip_a: np.ndarray | None, skip_b: np.ndarray | None
) -> tuple[int, float]:
    ua = a.names if skip_a is None or not skip_a.any() else np.unique(a.name_terms[~skip_a[a.name_sent]])
    ub = b.names if skip_b is None or not skip_b.any() else np.unique(b.name_terms[~skip_b[b.name_sent]])
    if ua.size == 0 or ub.size == 0:
        return 0, 0.0
    # a few dozen distinct names a side: a set intersection is several times cheaper than intersect1d's sort
    shared = len(set(ua.tolist()).intersection(ub.tolist()))
    return shared, shared / (ua.size + ub.size - shared)


def _counterparts(
    m: npt.NDArray[np.int64],
    dice: npt.NDArray[np.float64],
    sa: npt.NDArray[np.float64],
    sb: npt.NDArray[np.float64],
    min_dice: float,
) -> npt.NDArray[np.bool_]:
    """Sentence pairs that say the same thing: paraphrases (Dice >= ``min_dice``), or one sentence mostly inside the
    other (half the shorter's content words, at least 3, and Dice >= 0.25 so that a short sentence of common
    words is not "inside" every long one: a rewrite that splits a long lead into short ones)."""
    inside = (m >= 3) & (m >= 0.5 * np.minimum(sa[:, None], sb[None, :])) & (dice >= 0.25)
    result: npt.NDArray[np.bool_] = (dice >= min_dice) | inside
    return result


NAME_CONFLICT_DICE = (
    0.6  # names are compared only in nearly the same sentence: paraphrases swap Moscow/Russia
)


def fact_conflicts(
    a: Fingerprint, b: Fingerprint, *, min_dice: float, min_terms: int = 3, lead: int | None = None
) -> int:
    """Key facts that differ between sentences of ``a`` and ``b`` that otherwise say the same thing.

    Each sentence of ``a`` (its first ``lead`` informative ones only, when given) is paired with its closest
    sentence of ``b`` (a counterpart, see ``_counterparts``). A pair conflicts when, for one kind of fact (number,
    calendar word; a name only in nearly the same sentence), each side has one the other text lacks altogether (a
    substitution: another score, figure, day, person; a fact only dropped, as cut-down copies drop words, is no
    conflict), or when one is tentative and the other done ("in talks to buy" / "completed the purchase"). The
    count of conflicting pairs.
    """
    return fact_conflicts_both(a, b, min_dice=min_dice, min_terms=min_terms, lead=lead)[0]


def fact_conflicts_both(
    a: Fingerprint, b: Fingerprint, *, min_dice: float, min_terms: int = 3, lead: int | None = None
) -> tuple[int, int]:
    """``fact_conflicts(a, b)`` and ``fact_conflicts(b, a)`` from one sentence comparison, in array operations."""
    if a.n_sentences == 0 or b.n_sentences == 0:
        return 0, 0
    m = sentence_overlap(a, b.sent_terms, b.sent_index, b.n_sentences)
    sa = a.sent_sizes.astype(np.float64)
    sb = b.sent_sizes.astype(np.float64)
    dice = 2.0 * m / (sa[:, None] + sb[None, :])
    pairs = _counterparts(m, dice, sa, sb, min_dice)
    fa, fb = _only(a, b), _only(b, a)  # (sentences, 3): has a fact of each kind the other text lacks
    return (
        _conflicts(dice, pairs, a, b, fa, fb, min_terms, lead),
        _conflicts(dice.T, pairs.T, b, a, fb, fa, min_terms, lead),
    )


def _only(x: Fingerprint, other: Fingerprint) -> npt.NDArray[np.bool_]:
    out = np.zeros((x.n_sentences, 3), dtype=np.bool_)
    if x.fact_terms.size:
        lack = ~np.isin(x.fact_terms, other.fact_terms)
        out[x.fact_sent[lack], (x.fact_terms[lack] >> np.uint32(30)).astype(np.intp)] = True
    return out


def _conflicts(
    dice: npt.NDArray[np.float64],
    pairs: npt.NDArray[np.bool_],
    a: Fingerprint,
    b: Fingerprint,
    fa: npt.NDArray[np.bool_],
    fb: npt.NDArray[np.bool_],
    min_terms: int,
    lead: int | None,
) -> int:
    rows = np.arange(a.n_sentences)
    best = np.where(pairs, dice, -1.0).argmax(axis=1)
    ok = pairs[rows, best] & (a.sent_sizes >= min_terms)
    if lead is not None:
        ok &= np.cumsum(a.sent_sizes >= min_terms) <= lead
    if not ok.any():
        return 0
    sta, stb = a.sent_status, b.sent_status[best]
    status = ((sta == 1) & (stb == 2)) | ((sta == 2) & (stb == 1))
    both = fa & fb[best]
    both[:, FACT_NAME] &= dice[rows, best] >= NAME_CONFLICT_DICE
    return int((ok & (status | both.any(axis=1))).sum())
