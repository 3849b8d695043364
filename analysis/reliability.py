"""Inter-rater reliability for nominal answers (no Django).

- ``krippendorff_alpha_nominal``: Krippendorff's α over a units × coders matrix with
  missing values as NaN (any number of coders per unit; units with < 2 values are not
  pairable and drop out). Follows Krippendorff (2011), "Computing Krippendorff's
  Alpha-Reliability", §C (nominal data, any number of observers, missing data):
  α = 1 − (n − 1) · Σ_{c≠k} o_ck / Σ_{c≠k} n_c n_k, with the coincidence matrix
  o_ck = Σ_u (#ordered c–k value pairs in u) / (m_u − 1).
- ``fleiss_kappa``: Fleiss' κ (1971) from a units × categories count matrix in which
  every unit has the same number of ratings.

For SketchQ: units are pairs, coders are workers, values are the chosen sketch
(e.g. 0 = lower sketch id, 1 = higher); ``units_by_coders`` builds the matrix from the
long per-answer arrays.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "fleiss_kappa",
    "krippendorff_alpha_nominal",
    "ratings_to_counts",
    "units_by_coders",
]


def ratings_to_counts(ratings) -> tuple[np.ndarray, np.ndarray]:
    """Units × coders (NaN = missing) → (units × values count matrix, the sorted values)."""
    r = np.asarray(ratings, dtype=float)
    if r.ndim != 2:
        raise ValueError("ratings must be a 2-D units × coders matrix")
    present = ~np.isnan(r)
    values, codes = np.unique(r[present], return_inverse=True)
    unit = np.nonzero(present)[0]
    counts = np.zeros((r.shape[0], values.size), dtype=np.int64)
    np.add.at(counts, (unit, codes.reshape(-1)), 1)
    return counts, values


def _alpha_from_counts(counts: np.ndarray) -> float:
    counts = np.asarray(counts, dtype=float)
    m_u = counts.sum(axis=1)
    pairable = m_u >= 2
    c = counts[pairable]
    m = m_u[pairable]
    n = c.sum()
    if n == 0:
        raise ValueError("no unit has two or more values: α is undefined")
    n_c = c.sum(axis=0)
    # Σ_c o_cc  (agreeing ordered pairs, weighted by 1/(m_u − 1))
    o_diag = (c * (c - 1)).sum(axis=1) / (m - 1)
    disagree_obs = n - o_diag.sum()  # Σ_{c≠k} o_ck
    disagree_exp = n * n - (n_c * n_c).sum()  # Σ_{c≠k} n_c n_k
    if disagree_exp == 0:
        raise ValueError("all values are identical: α is undefined (no variation)")
    return float(1.0 - (n - 1) * disagree_obs / disagree_exp)


def krippendorff_alpha_nominal(ratings) -> float:
    """Krippendorff's α for nominal data; ``ratings`` is units × coders with NaN missing."""
    counts, _ = ratings_to_counts(ratings)
    return _alpha_from_counts(counts)


def fleiss_kappa(counts) -> float:
    """Fleiss' κ from a units × categories matrix of rating counts (equal row sums)."""
    x = np.asarray(counts, dtype=float)
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError("counts must be a 2-D units × categories matrix")
    if np.any(x < 0):
        raise ValueError("counts must be non-negative")
    per_unit = x.sum(axis=1)
    r = per_unit[0]
    if not np.all(per_unit == r):
        raise ValueError("Fleiss' κ needs the same number of ratings for every unit")
    if r < 2:
        raise ValueError("Fleiss' κ needs at least two ratings per unit")
    n_units = x.shape[0]
    p_j = x.sum(axis=0) / (n_units * r)
    p_i = ((x * x).sum(axis=1) - r) / (r * (r - 1))
    p_bar = p_i.mean()
    p_e = float((p_j * p_j).sum())
    if p_e == 1.0:
        raise ValueError("all ratings fall in one category: κ is undefined")
    return float((p_bar - p_e) / (1.0 - p_e))


def units_by_coders(unit, coder, value) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Long answers → (units × coders float matrix with NaN, unit ids, coder ids).

    If a coder rated a unit more than once, the last answer wins.
    """
    u = np.asarray(unit)
    c = np.asarray(coder)
    v = np.asarray(value, dtype=float)
    if not (u.ndim == c.ndim == v.ndim == 1 and u.size == c.size == v.size):
        raise ValueError("unit, coder and value must be 1-D arrays of the same length")
    units, ui = np.unique(u, return_inverse=True)
    coders, ci = np.unique(c, return_inverse=True)
    mat = np.full((units.size, coders.size), np.nan)
    mat[ui.reshape(-1), ci.reshape(-1)] = v
    return mat, units, coders
