"""Per-worker quality numbers from plain arrays, one row per answer (no Django).

Inputs (all 1-D, same length):

- ``worker``: int codes; ``left``, ``right``: sketch ids shown; ``chose_left``: bool;
- ``rt_ms``: response time in ms (NaN = unknown);
- ``gold``: for sentinel trials the id of the correct sketch, −1 for ordinary trials;
- ``is_duplicate`` (optional): marks the planned duplicate showings. Without it a
  duplicate is any unordered pair that one worker answered more than once (outside
  sentinels).

Duplicate consistency compares the *chosen sketch ids*, never sides, because the
second showing swaps left and right. For a pair answered k times, all k·(k−1)/2
answer pairs are compared (k = 2 in the paper's design: one comparison).

Majority agreement is leave-one-out: for each ordinary answer, the majority over the
OTHER workers' answers to the same unordered pair (all of this worker's answers to it
are left out). Answers whose pair has no other answers, or a tied majority, do not count.

Status (paper §4, "Annotators"): "blocked" when sentinel mistakes > max_sentinel_mistakes
(10 in the paper); otherwise "unqualified" when duplicate consistency <
min_duplicate_agreement (70%); otherwise "ok". A worker with no duplicates yet is not
judged on them (consistency NaN → not unqualified).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

__all__ = ["WorkerQA", "worker_qa"]


@dataclass(frozen=True)
class WorkerQA:
    worker: np.ndarray  # worker codes, sorted
    trials: np.ndarray
    sentinel_trials: np.ndarray
    sentinel_mistakes: np.ndarray
    duplicate_pairs: np.ndarray  # answer pairs on a repeated pair
    duplicate_consistent: np.ndarray  # of which both answers chose the same sketch
    duplicate_consistency: np.ndarray  # ratio, NaN without duplicates
    median_rt_ms: np.ndarray
    fast_share: np.ndarray  # share of answers faster than fast_ms
    left_rate: np.ndarray  # share of answers choosing the left side
    majority_trials: np.ndarray
    majority_agreement: np.ndarray  # NaN when no answer had a majority to compare with
    status: np.ndarray  # "ok" | "blocked" | "unqualified"

    def to_records(self) -> list[dict]:
        cols = {f.name: getattr(self, f.name) for f in fields(self)}
        out = []
        for i in range(self.worker.size):
            rec = {}
            for name, col in cols.items():
                v = col[i]
                if isinstance(v, np.floating):
                    v = None if np.isnan(v) else float(v)
                elif isinstance(v, np.integer):
                    v = int(v)
                elif isinstance(v, np.str_):
                    v = str(v)
                rec[name] = v
            out.append(rec)
        return out

    def index(self, worker_code: int) -> int:
        i = int(np.searchsorted(self.worker, worker_code))
        if i >= self.worker.size or self.worker[i] != worker_code:
            raise KeyError(worker_code)
        return i


def _arr(name, x, size=None, dtype=None):
    a = np.asarray(x) if dtype is None else np.asarray(x, dtype=dtype)
    if a.ndim != 1 or (size is not None and a.size != size):
        raise ValueError(f"{name} must be a 1-D array with one entry per answer")
    return a


def _int(name, x, size):
    a = _arr(name, x, size)
    if a.size and not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{name} must hold integer ids, got dtype {a.dtype}")
    return a.astype(np.int64, copy=False)


def _group_median(groups: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    order = np.lexsort((values, groups))
    v = values[order]
    counts = np.bincount(groups, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    out = np.full(n_groups, np.nan)
    has = counts > 0
    lo = starts[has] + (counts[has] - 1) // 2
    hi = starts[has] + counts[has] // 2
    out[has] = 0.5 * (v[lo] + v[hi])
    return out


def worker_qa(
    worker,
    left,
    right,
    chose_left,
    rt_ms,
    *,
    gold=None,
    is_duplicate=None,
    max_sentinel_mistakes: int = 10,
    min_duplicate_agreement: float = 0.7,
    fast_ms: float = 300.0,
) -> WorkerQA:
    """Quality table, one row per worker present in ``worker`` (see module doc)."""
    worker = _int("worker", worker, None)
    size = worker.size
    left = _int("left", left, size)
    right = _int("right", right, size)
    chose_left = _arr("chose_left", chose_left, size)
    if chose_left.dtype != bool:
        raise ValueError("chose_left must be a boolean array")
    rt = _arr("rt_ms", rt_ms, size, float)
    if np.any(left == right):
        raise ValueError("a trial shows the same sketch on both sides")
    gold_a = np.full(size, -1, np.int64) if gold is None else _int("gold", gold, size)
    sentinel = gold_a >= 0
    if np.any(sentinel & (gold_a != left) & (gold_a != right)):
        raise ValueError("a sentinel's gold sketch is neither of the two sketches shown")
    dup_mask = None if is_duplicate is None else _arr("is_duplicate", is_duplicate, size, bool)

    if size == 0:
        e_i = np.zeros(0, np.int64)
        e_f = np.zeros(0)
        return WorkerQA(e_i, e_i, e_i, e_i, e_i, e_i, e_f, e_f, e_f, e_f, e_i, e_f, np.zeros(0, "<U11"))
    workers, widx = np.unique(worker, return_inverse=True)
    widx = widx.reshape(-1)
    n_w = workers.size
    chosen = np.where(chose_left, left, right)

    trials = np.bincount(widx, minlength=n_w)
    sent_trials = np.bincount(widx[sentinel], minlength=n_w)
    mistakes = np.bincount(widx[sentinel & (chosen != gold_a)], minlength=n_w)
    left_rate = np.bincount(widx, weights=chose_left.astype(float), minlength=n_w) / np.maximum(trials, 1)

    ok_rt = np.isfinite(rt)
    median_rt = _group_median(widx[ok_rt], rt[ok_rt], n_w)
    n_rt = np.bincount(widx[ok_rt], minlength=n_w)
    n_fast = np.bincount(widx[ok_rt & (rt < fast_ms)], minlength=n_w)
    with np.errstate(invalid="ignore", divide="ignore"):
        fast_share = np.where(n_rt > 0, n_fast / np.maximum(n_rt, 1), np.nan)

    # ordinary answers, grouped per unordered pair and per (worker, pair)
    lo_id = np.minimum(left, right)
    hi_id = np.maximum(left, right)
    ordn = ~sentinel
    _, pair = np.unique(np.stack([lo_id, hi_id]), axis=1, return_inverse=True)
    pair = pair.reshape(-1)
    n_pairs = int(pair.max()) + 1 if size else 0
    picked_lo = (chosen == lo_id).astype(np.int64)

    # duplicates
    dsel = ordn if dup_mask is None else ordn & dup_mask
    g_keys, g_inv = np.unique(widx[dsel] * max(n_pairs, 1) + pair[dsel], return_inverse=True)
    g_inv = g_inv.reshape(-1)
    g_n = np.bincount(g_inv, minlength=g_keys.size)
    g_lo = np.bincount(g_inv, weights=picked_lo[dsel], minlength=g_keys.size)
    g_w = g_keys // max(n_pairs, 1)
    pairs_total = g_n * (g_n - 1) / 2
    pairs_same = g_lo * (g_lo - 1) / 2 + (g_n - g_lo) * (g_n - g_lo - 1) / 2
    dup_pairs = np.bincount(g_w, weights=pairs_total, minlength=n_w).astype(np.int64)
    dup_same = np.bincount(g_w, weights=pairs_same, minlength=n_w).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        dup_cons = np.where(dup_pairs > 0, dup_same / np.maximum(dup_pairs, 1), np.nan)

    # leave-one-worker-out majority
    p_o, w_o, lo_o = pair[ordn], widx[ordn], picked_lo[ordn]
    tot_n = np.bincount(p_o, minlength=n_pairs)
    tot_lo = np.bincount(p_o, weights=lo_o, minlength=n_pairs)
    k_keys, k_inv = np.unique(w_o * max(n_pairs, 1) + p_o, return_inverse=True)
    k_inv = k_inv.reshape(-1)
    own_n = np.bincount(k_inv, minlength=k_keys.size)[k_inv]
    own_lo = np.bincount(k_inv, weights=lo_o, minlength=k_keys.size)[k_inv]
    oth_lo = tot_lo[p_o] - own_lo
    oth_hi = (tot_n[p_o] - own_n) - oth_lo
    defined = oth_lo != oth_hi
    agrees = (lo_o == 1) == (oth_lo > oth_hi)
    maj_trials = np.bincount(w_o[defined], minlength=n_w)
    maj_agree = np.bincount(w_o[defined & agrees], minlength=n_w)
    with np.errstate(invalid="ignore", divide="ignore"):
        maj_rate = np.where(maj_trials > 0, maj_agree / np.maximum(maj_trials, 1), np.nan)

    status = np.full(n_w, "ok", dtype="<U11")
    with np.errstate(invalid="ignore"):
        status[dup_cons < min_duplicate_agreement] = "unqualified"
    status[mistakes > max_sentinel_mistakes] = "blocked"

    return WorkerQA(
        worker=workers,
        trials=trials,
        sentinel_trials=sent_trials,
        sentinel_mistakes=mistakes,
        duplicate_pairs=dup_pairs,
        duplicate_consistent=dup_same,
        duplicate_consistency=dup_cons,
        median_rt_ms=median_rt,
        fast_share=fast_share,
        left_rate=left_rate,
        majority_trials=maj_trials,
        majority_agreement=maj_rate,
        status=status,
    )
