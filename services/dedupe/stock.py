"""Stock passages: sentences this process has seen verbatim in many unique articles (an outlet's boilerplate, the
standard background paragraph of a long-running story). Dedupe discounts them: sharing them is no evidence that two
articles are one report.

A count-min sketch of sentence hashes (two rows of 2^22 saturating byte counters, 8 MB whatever the traffic):
counts never undercount and overcount only on collisions in both rows. Only unique articles are counted, so the
copies of one syndicated story never make it stock. Each worker counts what it decided (a worker restarted, or one
of N, knows fewer: it discounts less, which can only cost precision on boilerplate-heavy pairs, never an article).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from services.dedupe import kernels
from services.dedupe.features import Fingerprint

_ROW_BITS = 22
_MIX = np.uint32(0x9E3779B1)


class SentenceCounts:
    def __init__(self, min_articles: int) -> None:
        self.min_articles = min_articles
        self.rows = np.zeros((2, 1 << _ROW_BITS), dtype=np.uint8)

    def add(self, fp: Fingerprint) -> None:
        """Count the distinct sentences of one unique article."""
        kernels.stock_add(kernels.distinct(fp.sent_keys), self.rows, _ROW_BITS, int(_MIX))

    def seen(self, fp: Fingerprint) -> npt.NDArray[np.intp]:
        """How many counted articles (at most) contain each sentence of ``fp``."""
        seen: npt.NDArray[np.intp] = kernels.stock_seen(fp.sent_keys, self.rows, _ROW_BITS, int(_MIX))
        return seen

    def stock(self, fp: Fingerprint) -> npt.NDArray[np.bool_]:
        """Per sentence of ``fp``: a stock passage (in at least ``min_articles`` counted articles)."""
        return self.seen(fp) >= self.min_articles
