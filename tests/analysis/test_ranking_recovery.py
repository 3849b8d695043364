"""Given enough answers, the report's Bradley–Terry ranking recovers the order the crowd perceived.

No database and no HTTP: real sample sketches (their point counts as the scorer's q, as in
``tests.factories.feature_q``), the study's own pair sampler, the simulator's good workers,
and ``rankings.ranking`` (the function the report and the ranking page use) on the answers.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import scipy.stats

from analysis import rankings, results, selectors, simulation
from studies import sampling
from tests.factories import sample_records

CATEGORIES = ("pig", "face")
PAIRS_PER_CATEGORY = 600
WORKERS, ANSWERS_PER_WORKER = 20, 150


def _sample(first_id: int, name: str):
    records = sample_records(name, 60)
    q = np.array([sum(len(stroke[0]) for stroke in r["drawing"]) for r in records], float)
    return np.arange(first_id, first_id + q.size), q


def _answers(columns: dict) -> selectors.StudyAnswers:
    size = columns["left"].size
    defaults = {name: np.full(size, -1, np.int64) for name in selectors.StudyAnswers.__dataclass_fields__}
    defaults |= {
        "kind": np.full(size, "regular"), "is_practice": np.zeros(size, bool), "choice": np.full(size, "left"),
        "q_a": np.zeros(size), "q_b": np.zeros(size), "gap": np.zeros(size), "server_ms": np.full(size, np.nan),
        "client_ms": np.full(size, np.nan), "served_at": np.full(size, None), "answered_at": np.full(size, None),
    }  # fmt: skip
    return selectors.StudyAnswers(**(defaults | columns))


def test_bradley_terry_recovers_the_latent_order_given_enough_answers():
    rng = np.random.default_rng(2026)
    scorer = SimpleNamespace(pk=1, name="point-count")
    categories, ids, qs, plans = [], [], [], []
    for number, name in enumerate(CATEGORIES):
        sketch_ids, q = _sample(1000 * (number + 1), name)
        plan = sampling.plan_pairs(q, PAIRS_PER_CATEGORY, sampling.level_edges(10), "natural", rng)
        categories.append(SimpleNamespace(pk=number + 1, name=name, slug=name))
        ids.append(sketch_ids), qs.append(q), plans.append(plan)
    all_ids, all_q = np.concatenate(ids), np.concatenate(qs)
    groups = np.concatenate([np.full(i.size, c.pk) for i, c in zip(ids, categories)])
    latent = simulation.latent_quality(all_ids, all_q, groups, rng)

    rows = {k: [] for k in ("participant_id", "participant_index", "left", "right", "chosen", "category",
                            "scorer", "sketch_a", "planned_pair", "choice")}  # fmt: skip
    for worker in range(WORKERS):
        responder = simulation.Responder(
            simulation.PROFILES["good"], latent, np.random.default_rng([7, worker])
        )
        for category, sketch_ids, plan in zip(categories, ids, plans):
            for k in rng.choice(len(plan), ANSWERS_PER_WORKER, replace=False):
                a, b = int(sketch_ids[plan.i[k]]), int(sketch_ids[plan.j[k]])
                left, right = (a, b) if rng.random() < 0.5 else (b, a)
                choice = responder.choose(left, right)
                for key, value in (("participant_id", worker), ("participant_index", worker), ("left", left),
                                   ("right", right), ("chosen", left if choice == "left" else right),
                                   ("category", category.pk), ("scorer", 1), ("sketch_a", a),
                                   ("planned_pair", category.pk * 10_000 + int(k)), ("choice", choice)):  # fmt: skip
                    rows[key].append(value)
    answers = _answers({k: np.array(v) for k, v in rows.items()})
    frame = results.Frame(
        study=None, scorers=[scorer], categories=categories, levels=[], answers=answers, participants=[],
        scope=selectors.ANALYSABLE, in_scope=np.arange(WORKERS),
    )  # fmt: skip
    for category, sketch_ids, q in zip(categories, ids, qs):
        scores = {1: dict(zip(sketch_ids.tolist(), q.tolist()))}
        ranking = rankings.ranking(frame, category, sketch_ids, scores, n_boot=20, n_boot_corr=50, seed=1)
        assert ranking.fit["n_comparisons"] == WORKERS * ANSWERS_PER_WORKER
        scored = [item for item in ranking.items if item["bt_score"] is not None]
        assert len(scored) >= 0.9 * len(ranking.items)
        bt = [item["bt_score"] for item in scored]
        truth = [latent[item["sketch_id"]] for item in scored]
        tau = scipy.stats.kendalltau(bt, truth).statistic
        assert tau >= 0.8, (category.name, tau)
        assert ranking.correlations[0]["tau"] > 0.6  # against q itself (latent = q + noise)
