"""Each bot flag exactly at its boundary (studies.bot_flags, pure)."""

from __future__ import annotations

import numpy as np
import pytest

from studies import bot_flags
from studies.bot_flags import Behaviour, flag_study


def person(pid=1, n=40, rt=1500.0, side=None, hidden=0, no_input=0, hard=0, agree=0, network="", device=""):
    side = np.array(side if side is not None else shuffled_sides(n, n // 2, seed=pid), np.int8)
    n = side.size
    return Behaviour(
        participant_id=pid,
        response_ms=np.full(n, float(rt)),
        hidden=np.arange(n) < hidden,
        no_input=np.arange(n) < no_input,
        side=side,
        hard=np.arange(n) < hard,
        agrees=np.arange(n) < agree,
        network=network,
        device=device,
    )


def codes(group, settings=None, pid=1):
    return [f.code for f in flag_study(group, settings).of(pid)]


def shuffled_sides(n, left, seed=0):
    """n answers, ``left`` of them left, in an order with no short period."""
    side = np.array([0] * left + [1] * (n - left), np.int8)
    return np.random.default_rng(seed).permutation(side).tolist()


def test_too_fast_at_the_median_boundary():
    assert "too_fast" in codes([person(rt=599)])
    assert "too_fast" not in codes([person(rt=600)])
    assert "too_fast" not in codes([person(rt=100)], {"too_fast_median_ms": None})  # turned off
    assert "too_fast" in codes([person(rt=700)], {"too_fast_median_ms": 800})


@pytest.mark.parametrize(("field", "code"), [("hidden", "hidden_tab"), ("no_input", "no_input")])
def test_share_flags_at_their_boundary(field, code):
    limit = bot_flags.DEFAULTS[f"{'hidden' if field == 'hidden' else 'no_input'}_share"]
    at = int(limit * 40)
    assert code in codes([person(n=40, **{field: at})])
    assert code not in codes([person(n=40, **{field: at - 1})])


def test_same_side_at_its_boundary_and_only_with_enough_answers():
    assert "same_side" in codes([person(side=shuffled_sides(40, 34))])  # 85%
    assert "same_side" not in codes([person(side=shuffled_sides(40, 33))])  # 82.5%
    assert "same_side" in codes([person(side=shuffled_sides(40, 6))])  # 85% right
    assert "same_side" not in codes([person(side=[0] * 19)])  # fewer than min_answers
    assert "same_side" in codes([person(side=[0] * 20)])


def test_periodic_patterns_are_flagged_and_random_answers_are_not():
    assert "periodic" in codes([person(side=[0, 1] * 20)])  # L R L R
    assert "periodic" in codes([person(side=[0, 0, 1, 1] * 10)])  # period 2 … also 4
    assert "periodic" in codes([person(side=[0, 1, 1] * 14)])  # period 3
    assert "periodic" not in codes([person(side=shuffled_sides(40, 20))])
    assert bot_flags.longest_period_share(np.array([0, 1] * 20, np.int8)) == (2, 1.0)


def test_periodic_boundary():
    # L R L R … (40): 38 comparisons at period 2. An answer flipped inside breaks two of them,
    # the last answer flipped breaks one: 3 breaks → 35/38 = 0.92 (flagged), 4 → 34/38 = 0.89.
    def flipped(*positions):
        side = [0, 1] * 20
        for i in positions:
            side[i] = 1 - side[i]
        return side

    _, share = bot_flags.longest_period_share(np.array(flipped(5, 15), np.int8))
    assert share < 0.9 and "periodic" not in codes([person(side=flipped(5, 15))])
    _, share = bot_flags.longest_period_share(np.array(flipped(5, 39), np.int8))
    assert share >= 0.9 and "periodic" in codes([person(side=flipped(5, 39))])


def test_shared_network_and_device_above_the_cap():
    group = [person(pid=i, network="n1", device=f"d{i}") for i in range(1, 6)]  # 5 share: the cap
    assert all("shared_network" not in codes(group, pid=i) for i in range(1, 6))
    group.append(person(pid=6, network="n1", device="d6"))
    assert all("shared_network" in codes(group, pid=i) for i in range(1, 7))
    devices = [person(pid=i, device="same") for i in range(1, 3)]
    assert "shared_device" not in codes(devices)
    devices.append(person(pid=3, device="same"))
    assert "shared_device" in codes(devices)
    assert "shared_device" not in codes(devices, {"max_per_device": None})


def test_scorer_agreement_beyond_the_others():
    people = [person(pid=i, hard=20, agree=10) for i in range(2, 6)]  # 50% at the hard levels
    assert "scorer_agreement" in codes([person(pid=1, hard=10, agree=10), *people])  # p = 0.5^10 < 0.001
    assert "scorer_agreement" not in codes([person(pid=1, hard=10, agree=9), *people])  # p = 0.011
    assert "scorer_agreement" not in codes([person(pid=1, hard=9, agree=9), *people])  # fewer than min_hard
    assert "scorer_agreement" not in codes([person(pid=1, hard=10, agree=10), *people[:1]])  # too few others
    assert "scorer_agreement" not in codes(
        [person(pid=1, hard=10, agree=10), *people], {"scorer_alpha": None}
    )


def test_agents_cannot_raise_the_bar_for_each_other():
    agents = [person(pid=i, hard=20, agree=20) for i in range(1, 3)]
    people = [person(pid=i, hard=20, agree=11) for i in range(3, 8)]
    flags = flag_study(agents + people)
    assert all(f.code == "scorer_agreement" for pid in (1, 2) for f in flags.of(pid))
    assert not any(flags.of(pid) for pid in range(3, 8))


def test_reasons_read_as_sentences():
    flags = flag_study([person(rt=310)]).of(1)
    assert flags[0].reason == "median response 310 ms, below 600 ms"


def test_binomial_tail():
    assert bot_flags.binomial_tail(10, 10, 0.5) == pytest.approx(0.5**10)
    assert bot_flags.binomial_tail(0, 10, 0.5) == 1.0
    assert bot_flags.binomial_tail(11, 10, 0.5) == 0.0
    assert bot_flags.binomial_tail(9, 10, 0.5) == pytest.approx(11 / 1024)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ([], "must be an object"),
        ({"nope": 1}, "unknown setting 'nope'"),
        ({"hidden_share": 1.5}, "is a share"),
        ({"too_fast_median_ms": "fast"}, "must be a number or null"),
        ({"too_fast_median_ms": True}, "must be a number or null"),
        ({"min_answers": None}, "cannot be turned off"),
        ({"scorer_alpha": 0.7}, "p-value threshold"),
        ({"max_per_network": -1}, "must be positive"),
    ],
)
def test_settings_are_checked_with_a_clear_message(raw, problem):
    problems = bot_flags.check_config(raw)
    assert problems and problem in problems[0]


def test_valid_settings_pass():
    assert bot_flags.check_config({}) == []
    assert (
        bot_flags.check_config({"too_fast_median_ms": 500, "same_side_share": None, "hard_share": 0.2}) == []
    )
