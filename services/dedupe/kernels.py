"""Compiled loops for the sentence comparison (numba): the same figures as the array code in
``services.dedupe.reference``, which stays the definition they are tested against, at a fraction of the cost.

The array code pays ~0.3 ms of fixed cost per call (dozens of numpy operations on small matrices) plus ~0.1 ms per
candidate; these loops make one pass over the overlap matrix. Every comparison is made on the same float64 values
in the same order, so every figure is identical, not merely close (``tests/unit/dedupe/test_kernels.py``).

Compiled on first use; the machine code is cached beside this file (or in the user's cache directory) when one of
them is writable, else compiled once per process (a read-only root filesystem: about a second at start).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np

F = TypeVar("F", bound=Callable[..., Any])

# Figures per candidate, the columns of the array ``pair_figures`` returns.
ALIGNED, A_LEFT, B_LEFT, VERBATIM_A, QUOTED, COVERED_A, COVERED_B, INFORMATIVE_B = range(8)
LEAD_A, LEAD_B, PARA_LEAD_A, PARA_LEAD_B = range(8, 12)
NAMES_A, NAMES_B, NAMES_SHARED = range(12, 15)  # distinct names outside verbatim sentences, a's, b's, both's
N_FIGURES = 15


def _compiled(fn: F) -> F:
    """``numba.njit`` with numpy's semantics for division (0/0 is nan, not an exception) and a cache where the
    filesystem allows one."""
    try:
        return cast(F, numba.njit(cache=True, error_model="numpy", nogil=True)(fn))
    except RuntimeError:  # "no locator available": nowhere writable to cache; compile per process
        return cast(F, numba.njit(cache=False, error_model="numpy", nogil=True)(fn))


@_compiled
def overlap(
    a_terms: Any, a_index: Any, na: int, b_terms: Any, b_index: Any, row_starts: Any, col_offsets: Any
) -> Any:
    """Shared content terms, sentences of a by the sentences of candidates side by side: candidate ``c``'s (term,
    sentence) rows are ``b_terms``/``b_index`` from ``row_starts[c]`` to ``row_starts[c + 1]``, its sentences the
    columns from ``col_offsets[c]`` (the last offset: the number of columns). Every term list is sorted: one merge
    per candidate."""
    m = np.zeros((na, col_offsets[-1]), dtype=np.int64)
    n = a_terms.size
    for c in range(row_starts.size - 1):
        off = col_offsets[c]
        lo = 0
        for r in range(row_starts[c], row_starts[c + 1]):
            t = b_terms[r]
            while lo < n and a_terms[lo] < t:
                lo += 1
            q = lo
            while q < n and a_terms[q] == t:
                m[a_index[q], off + b_index[r]] += 1
                q += 1
    return m


@_compiled
def shared_count(a: Any, b: Any) -> int:
    """Values two sorted arrays of distinct values share."""
    i = j = k = 0
    while i < a.size and j < b.size:
        if a[i] < b[j]:
            i += 1
        elif b[j] < a[i]:
            j += 1
        else:
            k += 1
            i += 1
            j += 1
    return k


@_compiled
def core_weights(terms: Any, sizes: Any, names: Any) -> Any:
    """``logic._core_cover``'s weights: members side by side (``sizes[k]`` name rows each, one per (name,
    sentence)), each member's distinct names in sorted order weighed by the sentences that mention them over the
    most any of its names gets; and whether ``names`` (sorted) has each."""
    weights = np.empty(terms.size, dtype=np.float64)
    mine = np.zeros(terms.size, dtype=np.bool_)
    n = 0
    start = 0
    for k in range(sizes.size):
        t = np.sort(terms[start : start + sizes[k]])
        start += sizes[k]
        first = n
        top = 0
        i = 0
        while i < t.size:
            j = i
            while j < t.size and t[j] == t[i]:
                j += 1
            weights[n] = j - i
            top = max(top, j - i)
            at = np.searchsorted(names, t[i])
            mine[n] = at < names.size and names[at] == t[i]
            n += 1
            i = j
        for q in range(first, n):
            weights[q] = weights[q] / top
    return weights[:n], mine[:n]


@_compiled
def _sketch_slots(key: Any, bits: int, mix: int) -> Any:
    """A key's counter in each row of the stock sketch: its low ``bits`` bits, and the top ``bits`` of
    (key * ``mix``) mod 2^32."""
    k = np.uint64(key)
    return k & np.uint64((1 << bits) - 1), ((k * np.uint64(mix)) & _LOW32) >> np.uint64(32 - bits)


@_compiled
def stock_seen(keys: Any, rows: Any, bits: int, mix: int) -> Any:
    """``stock.SentenceCounts.seen``: per key the lesser of its two counters (``_sketch_slots``)."""
    out = np.empty(keys.size, dtype=np.intp)
    for i in range(keys.size):
        a, b = _sketch_slots(keys[i], bits, mix)
        out[i] = min(rows[0, a], rows[1, b])
    return out


@_compiled
def by_term(by_sentence: Any, sizes: Any) -> Any:
    """Sentence-ordered 16-bit (term) rows, ``sizes[s]`` per sentence, in term order (ties in sentence order), with
    their sentence numbers: the arrays ``features.fingerprint`` makes, from the order ``features.pack`` stores.
    A stable two-pass radix sort (low byte, then high byte)."""
    n = by_sentence.size
    index = np.empty(n, dtype=np.int16)
    r = 0
    for s in range(sizes.size):
        for _ in range(sizes[s]):
            index[r] = s
            r += 1
    terms = by_sentence.astype(np.uint16)
    for shift in (0, 8):
        counts = np.zeros(257, dtype=np.int64)
        for i in range(n):
            counts[((terms[i] >> shift) & 255) + 1] += 1
        for b in range(256):
            counts[b + 1] += counts[b]
        t2 = np.empty(n, dtype=np.uint16)
        i2 = np.empty(n, dtype=np.int16)
        for i in range(n):
            b = (terms[i] >> shift) & 255
            t2[counts[b]] = terms[i]
            i2[counts[b]] = index[i]
            counts[b] += 1
        terms, index = t2, i2
    return terms, index


@_compiled
def distinct(x: Any) -> Any:
    """``np.unique`` of a 1-d array: its distinct values, sorted."""
    if x.size == 0:
        return x.copy()
    t = np.sort(x)
    out = np.empty(t.size, dtype=t.dtype)
    out[0] = t[0]
    n = 1
    for i in range(1, t.size):
        if t[i] != out[n - 1]:
            out[n] = t[i]
            n += 1
    return out[:n]


@_compiled
def aligned_bound(
    m: Any, sa: Any, sb: Any, offsets: Any, widths: Any, min_dice: float, min_terms: int
) -> Any:
    """``similarity.most_aligned``'s bound per candidate: sentences of either side with a paraphrase pair."""
    na = m.shape[0]
    k = offsets.size
    out = np.zeros(k, dtype=np.int64)
    row_hit = np.zeros(na, dtype=np.bool_)
    for c in range(k):
        row_hit[:] = False
        cols = 0
        for j in range(offsets[c], offsets[c] + widths[c]):
            if sb[j] < min_terms:
                continue
            hit = False
            for i in range(na):
                if sa[i] >= min_terms and 2.0 * m[i, j] / (sa[i] + sb[j]) >= min_dice:
                    row_hit[i] = True
                    hit = True
            if hit:
                cols += 1
        out[c] = min(cols, int(row_hit.sum()))
    return out


@_compiled
def pair_figures(
    m: Any,
    sa: Any,
    sb: Any,
    a_quotes: Any,
    b_quotes: Any,
    a_stock: Any,
    b_stock: Any,
    offsets: Any,
    widths: Any,
    min_dice: float,
    verbatim_dice: float,
    min_terms: int,
    lead_window: int,
    a_name_terms: Any,
    a_name_sent: Any,
    a_names: Any,
    b_name_terms: Any,
    b_name_sent: Any,
    b_name_rows: Any,
    b_names: Any,
    b_names_at: Any,
) -> Any:
    """The figures ``similarity.compare_many`` reports per candidate (columns ``ALIGNED`` .. ``NAMES_SHARED``) and
    the number of informative sentences of a.

    ``m``: the overlap matrix of a's sentences against all candidates' sentences side by side (candidate ``c``'s
    columns from ``offsets[c]``, ``widths[c]`` of them); ``sa``/``sb``: distinct content terms per sentence. Names:
    a's (name, sentence) rows and distinct names; the candidates' side by side, candidate ``c``'s rows from
    ``b_name_rows[c]`` to ``b_name_rows[c + 1]`` (sentences numbered within the candidate), its distinct names
    from ``b_names_at[c]`` to ``b_names_at[c + 1]``."""
    na, nb = m.shape
    k = offsets.size
    dice = np.empty((na, nb), dtype=np.float64)
    for i in range(na):
        for j in range(nb):
            dice[i, j] = 2.0 * m[i, j] / (sa[i] + sb[j])
    big_a = sa >= min_terms
    big_b = sb >= min_terms
    inf_a = big_a & ~a_stock
    inf_b = big_b & ~b_stock
    # informative sentences of a before each row (cum_a[na]: all of them), of b before each column in its candidate
    cum_a = np.zeros(na + 1, dtype=np.int64)
    for i in range(na):
        cum_a[i + 1] = cum_a[i] + inf_a[i]
    rank_b = np.zeros(nb, dtype=np.int64)
    figures = np.zeros((k, N_FIGURES), dtype=np.int64)
    for c in range(k):
        seen = 0
        for j in range(offsets[c], offsets[c] + widths[c]):
            rank_b[j] = seen
            seen += inf_b[j]
        figures[c, INFORMATIVE_B] = seen
    va = np.zeros((na, k), dtype=np.bool_)
    vb = np.zeros(nb, dtype=np.bool_)
    for c in range(k):
        for j in range(offsets[c], offsets[c] + widths[c]):
            for i in range(na):
                if dice[i, j] >= verbatim_dice:
                    va[i, c] = True
                    vb[j] = True
    tails = np.empty(max(na, 1), dtype=np.int64)
    for c in range(k):
        lo, hi = offsets[c], offsets[c] + widths[c]
        # longest chain of paraphrase pairs increasing in both sentences: rows in order, each row's columns from
        # the last, a longest strictly increasing subsequence of the columns (patience sorting)
        n_tails = 0
        for i in range(na):
            if not big_a[i] or va[i, c]:
                continue
            for j in range(hi - 1, lo - 1, -1):
                d = dice[i, j]
                if d >= min_dice and d < verbatim_dice and big_b[j] and not vb[j]:
                    t = np.searchsorted(tails[:n_tails], j)
                    tails[t] = j
                    if t == n_tails:
                        n_tails += 1
        figures[c, ALIGNED] = n_tails
        quoted = False
        covered_a = 0
        verbatim_a = 0
        a_left = 0
        first_a = na
        first_para_a = na
        for i in range(na):
            verbatim_a += va[i, c]
            a_left += big_a[i] and not va[i, c]
            close_row = False
            for j in range(lo, hi):
                if dice[i, j] >= 0.5:
                    close_row = True
                    if a_quotes[i] and b_quotes[j]:
                        quoted = True
            covered_a += close_row and inf_a[i]
            if inf_a[i] and (first_a == na or first_para_a == na):
                for j in range(lo, hi):
                    if not (inf_b[j] and rank_b[j] < lead_window):
                        continue
                    d = dice[i, j]
                    if first_a == na and d >= 0.5:
                        first_a = i
                    if first_para_a == na and _counterpart(m[i, j], d, sa[i], sb[j], min_dice):
                        first_para_a = i
        covered_b = 0
        b_left = 0
        first_b = -1
        first_para_b = -1
        for j in range(lo, hi):
            b_left += big_b[j] and not vb[j]
            close_col = False
            for i in range(na):
                d = dice[i, j]
                if d >= 0.5:
                    close_col = True
                if inf_b[j] and inf_a[i] and cum_a[i] < lead_window:
                    if first_b < 0 and d >= 0.5:
                        first_b = j
                    if first_para_b < 0 and _counterpart(m[i, j], d, sa[i], sb[j], min_dice):
                        first_para_b = j
            covered_b += close_col and inf_b[j]
        figures[c, QUOTED] = quoted
        figures[c, COVERED_A] = covered_a
        figures[c, COVERED_B] = covered_b
        figures[c, VERBATIM_A] = verbatim_a
        figures[c, A_LEFT] = a_left
        figures[c, B_LEFT] = b_left
        figures[c, LEAD_A] = cum_a[first_a]
        figures[c, PARA_LEAD_A] = cum_a[first_para_a]
        figures[c, LEAD_B] = rank_b[first_b] if first_b >= 0 else figures[c, INFORMATIVE_B]
        figures[c, PARA_LEAD_B] = rank_b[first_para_b] if first_para_b >= 0 else figures[c, INFORMATIVE_B]
    _name_figures(
        figures,
        va,
        vb,
        offsets,
        a_name_terms,
        a_name_sent,
        a_names,
        b_name_terms,
        b_name_sent,
        b_name_rows,
        b_names,
        b_names_at,
    )
    return figures, int(cum_a[na])


@_compiled
def _name_figures(
    figures: Any,
    va: Any,
    vb: Any,
    offsets: Any,
    a_name_terms: Any,
    a_name_sent: Any,
    a_names: Any,
    b_name_terms: Any,
    b_name_sent: Any,
    b_name_rows: Any,
    b_names: Any,
    b_names_at: Any,
) -> None:
    """``similarity._names`` per candidate: the distinct names of each side outside the sentences it shares nearly
    verbatim with the other (boilerplate), and how many of them both use."""
    a_pos = np.searchsorted(a_names, a_name_terms)
    keep_a = np.zeros(a_names.size, dtype=np.bool_)
    for c in range(offsets.size):
        keep_a[:] = False
        for r in range(a_name_terms.size):
            if not va[a_name_sent[r], c]:
                keep_a[a_pos[r]] = True
        names = b_names[b_names_at[c] : b_names_at[c + 1]]
        keep_b = np.zeros(names.size, dtype=np.bool_)
        for r in range(b_name_rows[c], b_name_rows[c + 1]):
            if not vb[offsets[c] + b_name_sent[r]]:
                keep_b[np.searchsorted(names, b_name_terms[r])] = True
        shared = 0
        x = y = 0
        while x < a_names.size and y < names.size:
            if a_names[x] < names[y]:
                x += 1
            elif a_names[x] > names[y]:
                y += 1
            else:
                shared += keep_a[x] and keep_b[y]
                x += 1
                y += 1
        figures[c, NAMES_A] = keep_a.sum()
        figures[c, NAMES_B] = keep_b.sum()
        figures[c, NAMES_SHARED] = shared


@_compiled
def _counterpart(shared: int, dice: float, sa: float, sb: float, min_dice: float) -> bool:
    """``similarity._counterparts`` of one cell: a paraphrase, or one sentence mostly inside the other."""
    return dice >= min_dice or (shared >= 3 and shared >= 0.5 * min(sa, sb) and dice >= 0.25)


# CPython's tuple hash (xxHash-based, 64-bit): a sentence's key is ``hash(tuple(word hashes)) & 0xFFFFFFFF``,
# the same number the array code computes with Python's own ``hash`` (ints below 2**61 hash to themselves).
_XXPRIME_1 = np.uint64(11400714785074694791)
_XXPRIME_2 = np.uint64(14029467366897019727)
_XXPRIME_5 = np.uint64(2870177450012600261)
_XXLEN = np.uint64(2870177450012600261 ^ 3527539)
_ALL_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)
_LOW32 = np.uint64(0xFFFFFFFF)
_R31, _R33 = np.uint64(31), np.uint64(33)
_FACT_KIND = np.uint32(30)
_FACT_NAME = np.uint32(2)


@_compiled
def assemble(
    ids: Any,
    lens: Any,
    v_wh: Any,
    v_sh: Any,
    v_fact: Any,
    v_status: Any,
    v_name: Any,
    max_sentences: int,
) -> Any:
    """A fingerprint's per-sentence arrays from its tokens as vocabulary ids (``lens``: tokens per sentence; the
    ``v_*`` arrays: each word's hash, stem hash (0: stop word), key fact (0: none), status bits and name id (-1:
    not a name)). Sentences without a content word are left out (their words still count for the shingles);
    ``max_sentences`` sentences at most are kept.

    Returns the word hashes; per kept sentence its number in the input, distinct stems, status and key; the
    (stem, sentence) rows; the (fact, sentence) rows; the (name id, sentence) rows, each name once a sentence in
    order of appearance; and every name occurrence (the first word of a sentence left out: it is capitalized)."""
    n_sent = lens.size
    words = np.empty(ids.size, dtype=np.uint64)
    kept = np.empty(n_sent, dtype=np.int64)
    sizes = np.empty(n_sent, dtype=np.int32)
    status = np.empty(n_sent, dtype=np.uint8)
    keys = np.empty(n_sent, dtype=np.uint32)
    stem_rows = np.empty(ids.size, dtype=np.uint32)
    stem_sent = np.empty(ids.size, dtype=np.int64)
    fact_rows = np.empty(ids.size, dtype=np.uint32)
    fact_sent = np.empty(ids.size, dtype=np.int64)
    name_rows = np.empty(ids.size, dtype=np.int32)
    name_sent = np.empty(ids.size, dtype=np.int64)
    occurrences = np.empty(ids.size, dtype=np.int32)
    n_words = n_stems = n_facts = n_names = n_occ = si = 0
    start = 0
    for s in range(n_sent):
        if si >= max_sentences:
            break
        end = start + lens[s]
        acc = _XXPRIME_5
        st = np.uint8(0)
        first_stem = n_stems
        for p in range(start, end):
            w = ids[p]
            wh = v_wh[w]
            words[n_words] = wh
            n_words += 1
            acc = acc + wh * _XXPRIME_2
            acc = (acc << _R31) | (acc >> _R33)
            acc = acc * _XXPRIME_1
            st |= v_status[w]
            sh = v_sh[w]
            if sh != 0:
                n_stems = _add_once(stem_rows, stem_sent, first_stem, n_stems, sh, si)
        if n_stems == first_stem:
            start = end
            continue
        acc = acc + (np.uint64(end - start) ^ _XXLEN)
        if acc == _ALL_ONES:
            acc = np.uint64(1546275796)
        kept[si] = s
        sizes[si] = n_stems - first_stem
        status[si] = st
        keys[si] = np.uint32(acc & _LOW32)
        first_fact = n_facts
        first_name = n_names
        for p in range(start, end):
            w = ids[p]
            f = v_fact[w]
            if p == start and f >> _FACT_KIND == _FACT_NAME:
                f = np.uint32(0)  # a sentence's first word is capitalized, name or not
            if f != 0:
                n_facts = _add_once(fact_rows, fact_sent, first_fact, n_facts, f, si)
            nm = v_name[w]
            if p > start and nm >= 0:
                occurrences[n_occ] = nm
                n_occ += 1
                n_names = _add_once(name_rows, name_sent, first_name, n_names, nm, si)
        si += 1
        start = end
    return (
        words[:n_words],
        kept[:si],
        sizes[:si],
        status[:si],
        keys[:si],
        stem_rows[:n_stems],
        stem_sent[:n_stems],
        fact_rows[:n_facts],
        fact_sent[:n_facts],
        name_rows[:n_names],
        name_sent[:n_names],
        occurrences[:n_occ],
    )


@_compiled
def _add_once(rows: Any, sent: Any, first: int, n: int, value: Any, si: int) -> int:
    """Append (``value``, sentence ``si``) unless ``value`` is already among this sentence's rows (from ``first``);
    the new row count. A sentence holds a few dozen: a scan is cheaper than a set."""
    for q in range(first, n):
        if rows[q] == value:
            return n
    rows[n] = value
    sent[n] = si
    return n + 1


@_compiled
def minhash(shingles: Any, a: Any, b: Any) -> Any:
    """MinHash values: for each permutation (a, b) the least (a*x + b) mod 2^64 over the shingles, top 32 bits."""
    out = np.empty(a.size, dtype=np.uint32)
    for k in range(a.size):
        ak, bk = a[k], b[k]
        low = _ALL_ONES
        for x in shingles:
            v = np.uint64(x) * ak + bk
            if v < low:
                low = v
        out[k] = np.uint32(low >> np.uint64(32))
    return out


@_compiled
def unique_inverse(x: Any) -> Any:
    """``np.unique(x, return_inverse=True)`` of a 1-d array."""
    order = np.argsort(x, kind="mergesort")
    uq = np.empty(x.size, dtype=x.dtype)
    inverse = np.empty(x.size, dtype=np.int64)
    n = 0
    for k in range(x.size):
        v = x[order[k]]
        if n == 0 or v != uq[n - 1]:
            uq[n] = v
            n += 1
        inverse[order[k]] = n - 1
    return uq[:n], inverse


@_compiled
def run_hits(run: Any, keys: Any) -> Any:
    """Which of ``keys`` (sorted, distinct) a sorted ``run`` holds, and where: their positions in ``keys`` and the
    bounds of each one's entries. The keys are searched in order, each from the previous one's bound."""
    hits = np.empty(keys.size, dtype=np.int64)
    lo = np.empty(keys.size, dtype=np.int64)
    hi = np.empty(keys.size, dtype=np.int64)
    n = 0
    start = 0
    for k in range(keys.size):
        v = keys[k]
        start = start + np.searchsorted(run[start:], v)
        if start < run.size and run[start] == v:
            end = start + np.searchsorted(run[start:], v, side="right")
            hits[n], lo[n], hi[n] = k, start, end
            n += 1
            start = end
    return hits[:n], lo[:n], hi[:n]


@_compiled
def counts(x: Any) -> Any:
    """The distinct values of a 1-d array, sorted, and how often each occurs."""
    t = np.sort(x)
    values = np.empty(t.size, dtype=t.dtype)
    n_of = np.zeros(t.size, dtype=np.int64)
    n = 0
    for i in range(t.size):
        if n == 0 or t[i] != values[n - 1]:
            values[n] = t[i]
            n += 1
        n_of[n - 1] += 1
    return values[:n], n_of[:n]


@_compiled
def _indices(buf: Any, pos: int, n: int, width: int) -> Any:
    """``n`` sentence indices of ``width`` bytes each from ``buf[pos:]``, as int32."""
    if width == 1:
        return buf[pos : pos + n].astype(np.int32)
    if width == 2:
        return buf[pos : pos + 2 * n].view(np.uint16).astype(np.int32)
    return buf[pos : pos + 4 * n].view(np.uint32).astype(np.int32)


@_compiled
def unpack3(
    buf: Any, pos: int, n_sh: int, n_st: int, n_s: int, n_nt: int, n_ft: int, wide: bool, width: int
) -> Any:
    """The arrays of a packed fingerprint of layout 3 (``features.unpack``) from its bytes after the header (at
    ``pos``): shingles, sentence terms in term order and their sentences, sentence sizes, flags and keys, (name,
    sentence) rows, distinct names, (fact, sentence) rows. Views of ``buf`` where the stored type is the type."""
    shingles = buf[pos : pos + 2 * n_sh].view(np.uint16)
    pos += 2 * n_sh
    by_sentence = buf[pos : pos + 2 * n_st].view(np.uint16)
    pos += 2 * n_st
    if wide:
        sizes = buf[pos : pos + 4 * n_s].view(np.uint32).astype(np.int32)
        pos += 4 * n_s
    else:
        sizes = buf[pos : pos + 2 * n_s].view(np.uint16).astype(np.int32)
        pos += 2 * n_s
    terms, index = by_term(by_sentence, sizes)
    flags = buf[pos : pos + n_s]
    pos += n_s
    keys = buf[pos : pos + 4 * n_s].view(np.uint32)
    pos += 4 * n_s
    name_terms = buf[pos : pos + 4 * n_nt].view(np.uint32)
    pos += 4 * n_nt
    name_sent = _indices(buf, pos, n_nt, width)
    pos += width * n_nt
    fact_terms = buf[pos : pos + 4 * n_ft].view(np.uint32)
    pos += 4 * n_ft
    fact_sent = _indices(buf, pos, n_ft, width)
    return (
        shingles,
        terms,
        index,
        sizes,
        flags,
        keys,
        name_terms,
        name_sent,
        distinct(name_terms),
        fact_terms,
        fact_sent,
    )


# Character classes of ``features.char_classes``: alphanumeric is LETTER or DIGIT (what the regex [^\W_] takes).
OTHER, SPACE, LETTER, DIGIT = 0, 1, 2, 3
_H1, _H2 = np.uint64(0x100000001B3), np.uint64(0x9E3779B97F4A7C15)
_S1, _S2 = np.uint64(0xCBF29CE484222325), np.uint64(0x84222325CBF29CE4)


def vocabulary_keys() -> Any:
    """An empty dict of token keys (two 64-bit hashes of the code points) to vocabulary ids, for ``tokens``."""
    key = numba.types.UniTuple(numba.types.uint64, 2)  # type: ignore[no-untyped-call]
    return numba.typed.Dict.empty(key, numba.types.int64)


@_compiled
def _is_cjk(c: Any) -> Any:
    return (
        (0x3040 <= c <= 0x30FF)
        or (0x3400 <= c <= 0x4DBF)
        or (0x4E00 <= c <= 0x9FFF)
        or (0xF900 <= c <= 0xFAFF)
    )


@_compiled
def tokens(points: Any, starts: Any, ends: Any, table: Any, cjk: bool, quoted: bool, vocab: Any) -> Any:
    """The tokens of the sentences ``points[starts[s]:ends[s]]`` (code points), as ``features._TOKEN`` finds them
    (``cjk``: the text has CJK characters) or ``features._TOKEN_NO_CJK`` (without): runs of alphanumerics
    joined by single apostrophes (' or ’) between two of them; with ``cjk``, a CJK character where a token would
    start is a token of its own. Each token's vocabulary id (-1: not in ``vocab``, a dict of 128-bit keys), its
    key and bounds; per sentence with a token, the tokens it has and whether it has a quotation mark (only
    looked for when ``quoted``)."""
    n = points.size
    ids = np.empty(n, dtype=np.int64)
    k1 = np.empty(n, dtype=np.uint64)
    k2 = np.empty(n, dtype=np.uint64)
    t0 = np.empty(n, dtype=np.int64)
    t1 = np.empty(n, dtype=np.int64)
    lens = np.empty(starts.size, dtype=np.int64)
    quotes = np.zeros(starts.size, dtype=np.bool_)
    nt = ns = 0
    for s in range(starts.size):
        first = nt
        i, e = starts[s], ends[s]
        while i < e:
            c = points[i]
            if cjk and _is_cjk(c):
                j = i + 1
            elif table[c] >= LETTER:
                j = i + 1
                while True:
                    while j < e and table[points[j]] >= LETTER:
                        j += 1
                    if (
                        j + 1 < e
                        and (points[j] == 0x27 or points[j] == 0x2019)
                        and table[points[j + 1]] >= LETTER
                    ):
                        j += 2
                        continue
                    break
            else:
                i += 1
                continue
            h1, h2 = _S1, _S2
            for q in range(i, j):
                p = np.uint64(points[q])
                h1 = (h1 ^ p) * _H1
                h2 = (h2 + p) * _H2
                h2 ^= h2 >> np.uint64(29)
            h1 ^= np.uint64(j - i)
            ids[nt] = vocab.get((h1, h2), -1)
            k1[nt], k2[nt], t0[nt], t1[nt] = h1, h2, i, j
            nt += 1
            i = j
        if nt > first:
            lens[ns] = nt - first
            if quoted:
                for q in range(starts[s], e):
                    c = points[q]
                    if c == 0x22 or c == 0x201C or c == 0x201D or c == 0xAB or c == 0xBB or c == 0x201E:
                        quotes[ns] = True
                        break
            ns += 1
    return ids[:nt], k1[:nt], k2[:nt], t0[:nt], t1[:nt], lens[:ns], quotes[:ns]


@_compiled
def vocabulary_put(vocab: Any, key1: Any, key2: Any, ids: Any) -> None:
    """Record new words' ids under their keys."""
    for i in range(ids.size):
        vocab[(key1[i], key2[i])] = ids[i]


@_compiled
def stock_add(keys: Any, rows: Any, bits: int, mix: int) -> None:
    """``stock.SentenceCounts.add``'s counting: each counter of ``keys`` (distinct) one up, at most 255, once even
    where two keys share it (the new values are made from the old ones first, then written, as numpy's fancy
    assignment does)."""
    slots = np.empty((2, keys.size), dtype=np.int64)
    for i in range(keys.size):
        slots[0, i], slots[1, i] = _sketch_slots(keys[i], bits, mix)
    for row in range(2):
        new = np.empty(keys.size, dtype=np.uint8)
        for i in range(keys.size):
            cur = rows[row, slots[row, i]]
            new[i] = cur + 1 if cur < 255 else cur
        for i in range(keys.size):
            rows[row, slots[row, i]] = new[i]
