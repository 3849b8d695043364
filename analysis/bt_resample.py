"""Comparison counts per pair (the sufficient statistics of Bradley–Terry) and their bootstrap.

Pure numpy/scipy, no Django.  ``PairCounts`` holds, for every unordered pair a < b that
was compared, how often a won, how often b won and how often they tied.  The BT likelihood
depends on the answers only through these counts, so every fit and every bootstrap
replicate works on P pairs instead of m comparisons.

The bootstrap is the **Poisson bootstrap** of the comparisons (Hanley & MacGibbon 2006;
Chamandy et al. 2012): every comparison is used Poisson(1) times instead of the
multinomial counts of the classical bootstrap, which is asymptotically equivalent.  Since
a sum of c independent Poisson(1) draws is Poisson(c), each *count* is resampled
directly: wins_a* ~ Poisson(wins_a), wins_b* ~ Poisson(wins_b), ties* ~ Poisson(ties),
independently — no per-comparison work at all.  Counts up to 64 (all of them in a
study of planned pairs) are drawn by exact inversion of the Poisson(c) CDF
through a 16-bit table per count (a 16-bit uniform picks a bin; the few bins that
straddle a CDF step are refined with a second uniform), which is several times faster than
``Generator.poisson``.  ``resample_many`` draws all replicates at once as small unsigned
integers (one column per replicate): the bootstrap's working set.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.stats

__all__ = ["PairCounts", "Resampler", "poisson_counts"]

_BITS = 16
_TABLE_MAX_COUNT = 64  # counts up to this use an inverse-CDF table; larger ones Generator.poisson


def _top(c):
    """Largest value a Poisson(c) draw may take here: c + 12·√c + 30 (0 for c = 0).

    P(Poisson(c) > top) < 1e-30 for every c, far below float64's resolution of the CDF, so
    cutting the distribution there changes nothing; it bounds the integer type of the counts."""
    c = np.asarray(c, np.float64)
    return np.where(c > 0, np.floor(c + 12.0 * np.sqrt(c) + 30.0), 0.0)


_STRADDLE = 255  # table entry of a bin that a CDF step falls inside (every value is < 255)


@functools.cache
def _inverse_cdf_table(c: int) -> tuple[np.ndarray, np.ndarray]:
    """Poisson(c) by inversion on 2¹⁶ equal bins of [0, 1): (value per bin, CDF).

    A bin that a step of the CDF falls inside holds ``_STRADDLE`` instead of a value."""
    cdf = scipy.stats.poisson.cdf(np.arange(int(_top(c))), c)
    edges = np.arange(2**_BITS + 1) / 2**_BITS
    lo = np.searchsorted(cdf, edges[:-1], side="right")
    hi = np.searchsorted(cdf, edges[1:], side="left")
    assert lo.max() < _STRADDLE
    return np.where(lo == hi, lo, _STRADDLE).astype(np.uint8), cdf


class _Draws:
    """Where the non-zero counts of one array are, grouped by value (computed once per study)."""

    def __init__(self, counts: np.ndarray):
        c = np.asarray(counts, np.float64).reshape(-1)
        rows = np.flatnonzero(c > 0)
        rows = rows[np.argsort(c[rows], kind="stable")]
        values, starts = np.unique(c[rows], return_index=True)
        self.size = c.size
        self.rows = rows
        self.groups = list(zip(values.tolist(), starts.tolist(), [*starts[1:].tolist(), rows.size]))

    def draw(self, rng: np.random.Generator, n_cols: int, dtype) -> np.ndarray:
        """(len(rows), n_cols) Poisson draws, row i with mean counts[rows[i]].

        Small integer counts are drawn by exact inversion of the Poisson CDF: a 16-bit uniform
        picks one of 2¹⁶ equal bins of [0, 1); almost every bin lies between two CDF steps and
        gives its value by table lookup, the few that straddle a step are refined with a second
        uniform (so the draw is U = (bin + u)/2¹⁶ inverted exactly)."""
        out = np.empty((self.rows.size, n_cols), dtype)
        for value, lo, hi in self.groups:
            if value <= _TABLE_MAX_COUNT and value == int(value):
                table, cdf = _inverse_cdf_table(int(value))
                v = rng.integers(0, 2**_BITS, size=(hi - lo, n_cols), dtype=np.uint16)
                x = table[v]
                flat = x.reshape(-1)  # a view: fixing it fixes x
                fix = np.flatnonzero(flat == _STRADDLE)
                if fix.size:
                    u = (v.reshape(-1)[fix] + rng.random(fix.size)) / 2**_BITS
                    flat[fix] = np.searchsorted(cdf, u, side="right")
            else:
                x = np.minimum(rng.poisson(value, size=(hi - lo, n_cols)), _top(value))
            out[lo:hi] = x
        return out


def _poisson_rows(rng: np.random.Generator, counts: np.ndarray, n_cols: int) -> np.ndarray:
    """(len(counts), n_cols) uint32 array: every entry of row i an independent Poisson(counts[i])."""
    draws = _Draws(counts)
    out = np.zeros((draws.size, n_cols), np.uint32)
    out[draws.rows] = draws.draw(rng, n_cols, np.uint32)
    return out


def poisson_counts(rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
    """One Poisson(c) draw per non-negative integer count c (exact in distribution)."""
    c = np.asarray(counts, np.float64)
    return _poisson_rows(rng, c.reshape(-1), 1).reshape(c.shape).astype(np.float64)


@dataclass(frozen=True)
class PairCounts:
    """Win/tie counts per unordered compared pair a < b (arrays of length P)."""

    n_items: int
    a: np.ndarray
    b: np.ndarray
    wins_a: np.ndarray  # float64 counts
    wins_b: np.ndarray
    ties: np.ndarray

    @classmethod
    def from_comparisons(cls, n_items: int, winners, losers, ties=None) -> PairCounts:
        """One entry per comparison (``ties[j]``: comparison j was a tie)."""
        w = np.asarray(winners, np.int64)
        l_ = np.asarray(losers, np.int64)
        t = np.zeros(w.size, bool) if ties is None else np.asarray(ties, bool)
        return cls.from_ordered(n_items, w, l_, np.ones(w.size), t)

    @classmethod
    def from_ordered(cls, n_items: int, winner, loser, count, tie=None) -> PairCounts:
        """Aggregated rows: ``winner`` beat ``loser`` ``count`` times (``tie``: those were ties)."""
        w = np.asarray(winner, np.int64)
        l_ = np.asarray(loser, np.int64)
        c = np.asarray(count, np.float64)
        t = np.zeros(w.size, bool) if tie is None else np.asarray(tie, bool)
        if not (w.shape == l_.shape == c.shape == t.shape) or w.ndim != 1:
            raise ValueError("winner, loser, count and tie must be 1-D arrays of the same length")
        if c.size and (np.any(c < 0) or np.any(c != np.round(c))):
            raise ValueError("counts must be non-negative integers")
        if w.size and (min(w.min(), l_.min()) < 0 or max(w.max(), l_.max()) >= n_items):
            raise ValueError(f"item indices must be in [0, {n_items})")
        if np.any(w == l_):
            raise ValueError("an item cannot be compared with itself")
        a, b = np.minimum(w, l_), np.maximum(w, l_)
        uniq, inv = np.unique(a * n_items + b, return_inverse=True)
        inv = inv.reshape(-1)
        size = uniq.size
        strict = ~t
        wins_a = np.bincount(inv, weights=c * (strict & (w == a)), minlength=size)
        wins_b = np.bincount(inv, weights=c * (strict & (w == b)), minlength=size)
        n_ties = np.bincount(inv, weights=c * t, minlength=size)
        keep = (wins_a + wins_b + n_ties) > 0
        return cls(
            int(n_items),
            uniq[keep] // n_items,
            uniq[keep] % n_items,
            wins_a[keep],
            wins_b[keep],
            n_ties[keep],
        )

    @property
    def n(self) -> np.ndarray:
        return self.wins_a + self.wins_b + self.ties

    @property
    def k(self) -> np.ndarray:
        """Score of a per pair: a win counts 1, a tie ½."""
        return self.wins_a + 0.5 * self.ties

    def resample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(n*, k*) of one Poisson-bootstrap replicate."""
        n, k2 = self.resample_many(rng, 1)
        return n[:, 0].astype(np.float64), 0.5 * k2[:, 0]

    def count_dtype(self) -> type[np.unsignedinteger]:
        """Smallest unsigned type that holds every resampled n* and 2·k* (see ``_top``)."""
        top_a, top_b, top_t = _top(self.wins_a), _top(self.wins_b), _top(self.ties)
        bound = max(
            float(np.max(top_a + top_b + top_t, initial=0)), float(np.max(2 * top_a + top_t, initial=0))
        )
        for dtype in (np.uint8, np.uint16, np.uint32):
            if bound <= np.iinfo(dtype).max:
                return dtype
        return np.uint64

    def resample_many(self, rng: np.random.Generator, n_boot: int) -> tuple[np.ndarray, np.ndarray]:
        """(n*, 2·k*), each (P, n_boot) of ``count_dtype()``: ``n_boot`` Poisson-bootstrap replicates,
        one per column (2·k* is an integer: a tie counts ½)."""
        return Resampler(self).draw(rng, n_boot)

    def per_item(self) -> dict[str, np.ndarray]:
        """Wins, losses and ties of every item (ties are whole counts here)."""
        m = self.n_items
        wins = np.bincount(self.a, self.wins_a, m) + np.bincount(self.b, self.wins_b, m)
        losses = np.bincount(self.a, self.wins_b, m) + np.bincount(self.b, self.wins_a, m)
        ties = np.bincount(self.a, self.ties, m) + np.bincount(self.b, self.ties, m)
        return {"wins": wins, "losses": losses, "ties": ties}

    def incidence(self) -> sp.csr_matrix:
        """Signed P × n_items incidence: +1 at a, −1 at b (so A @ θ = θ_a − θ_b)."""
        p = self.a.size
        rows = np.repeat(np.arange(p), 2)
        cols = np.column_stack([self.a, self.b]).reshape(-1)
        vals = np.tile([1.0, -1.0], p)
        return sp.csr_matrix((vals, (rows, cols)), shape=(p, self.n_items))


class Resampler:
    """Draws many Poisson-bootstrap replicates of one ``PairCounts`` (the grouping is done once)."""

    def __init__(self, pc: PairCounts):
        self.size = pc.a.size
        self.dtype = pc.count_dtype()
        self.wins_a, self.wins_b = _Draws(pc.wins_a), _Draws(pc.wins_b)
        self.ties = _Draws(pc.ties) if pc.ties.any() else None

    def draw(self, rng: np.random.Generator, n_boot: int) -> tuple[np.ndarray, np.ndarray]:
        """(n*, 2·k*), each (P, n_boot): one replicate per column (2·k* counts a tie as 1)."""
        n = np.zeros((self.size, n_boot), self.dtype)
        k2 = np.zeros((self.size, n_boot), self.dtype)
        wa = self.wins_a.draw(rng, n_boot, self.dtype)
        n[self.wins_a.rows] = wa
        k2[self.wins_a.rows] = wa
        k2 += k2  # 2·wins of a, before the ties are added
        del wa
        n[self.wins_b.rows] += self.wins_b.draw(rng, n_boot, self.dtype)
        if self.ties is not None:
            t = self.ties.draw(rng, n_boot, self.dtype)
            n[self.ties.rows] += t
            k2[self.ties.rows] += t
        return n, k2
