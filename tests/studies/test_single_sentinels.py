"""What a single-sketch (yes/no) sentinel shows, so that its known answer is certain."""

from __future__ import annotations

import numpy as np

from studies.models import GoldPair
from studies.set_trials import single_shown


def _gold(source: str) -> GoldPair:
    return GoldPair(better_id=1, worse_id=2, source=source)


def test_degradation_gold_shows_only_its_ruined_copy():
    rng = np.random.default_rng(0)
    assert {single_shown(_gold(GoldPair.Source.DEGRADED), rng) for _ in range(200)} == {2}


def test_curated_gold_shows_the_better_or_the_worse_sketch_about_equally():
    rng = np.random.default_rng(0)
    shown = [single_shown(_gold(GoldPair.Source.CURATED), rng) for _ in range(400)]
    assert set(shown) == {1, 2} and 0.4 < shown.count(1) / len(shown) < 0.6


def test_every_kind_of_gold_draws_the_same_numbers_so_later_draws_do_not_move():
    after = []
    for source in (GoldPair.Source.DEGRADED, GoldPair.Source.CURATED):
        rng = np.random.default_rng(7)
        single_shown(_gold(source), rng)
        after.append(rng.random())
    assert after[0] == after[1]
