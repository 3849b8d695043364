import numpy as np
import pytest

from analysis.worker_qa import worker_qa

# worker, left, right, chose_left, rt_ms, gold (-1 = ordinary trial)
HAND = [
    # worker 10: one consistent duplicate (sides swapped), one inconsistent, 1 of 2 sentinels wrong
    (10, 1, 2, True, 500, -1),  # picks 1
    (10, 2, 1, False, 200, -1),  # picks 1 again, from the other side
    (10, 3, 4, True, 1000, -1),  # picks 3
    (10, 4, 3, True, 250, -1),  # picks 4: inconsistent
    (10, 5, 6, True, 700, 6),  # sentinel mistake
    (10, 6, 5, True, 400, 6),  # sentinel right
    # worker 20
    (20, 1, 2, True, 100, -1),  # picks 1
    (20, 3, 4, False, 350, -1),  # picks 4
    (20, 2, 1, False, 600, -1),  # picks 1: consistent duplicate
    # worker 30
    (30, 2, 1, True, 1000, -1),  # picks 2
    (30, 4, 3, False, 1200, -1),  # picks 3
]


def _run(**kw):
    cols = list(zip(*HAND))
    return worker_qa(
        np.array(cols[0]),
        np.array(cols[1]),
        np.array(cols[2]),
        np.array(cols[3]),
        np.array(cols[4], dtype=float),
        gold=np.array(cols[5]),
        **kw,
    )


def test_qa_numbers_on_a_hand_example():
    qa = _run()
    assert qa.worker.tolist() == [10, 20, 30]
    assert qa.trials.tolist() == [6, 3, 2]
    assert qa.sentinel_trials.tolist() == [2, 0, 0]
    assert qa.sentinel_mistakes.tolist() == [1, 0, 0]
    assert qa.median_rt_ms.tolist() == [450.0, 350.0, 1100.0]
    np.testing.assert_allclose(qa.fast_share, [2 / 6, 1 / 3, 0.0])
    np.testing.assert_allclose(qa.left_rate, [5 / 6, 1 / 3, 1 / 2])


def test_duplicate_consistency_compares_chosen_sketches_not_sides():
    qa = _run()
    assert qa.duplicate_pairs.tolist() == [2, 1, 0]
    assert qa.duplicate_consistent.tolist() == [1, 1, 0]
    assert qa.duplicate_consistency[0] == pytest.approx(0.5)
    assert qa.duplicate_consistency[1] == pytest.approx(1.0)
    assert np.isnan(qa.duplicate_consistency[2])


def test_majority_agreement_leaves_the_worker_out():
    qa = _run()
    # w10: pair {1,2} others pick 1 (2 vs 1) → 2/2; pair {3,4} others tie → not counted
    # w20: {1,2} majority 1 → 2/2; {3,4} others pick 3 (2 vs 1) → w20 picked 4 → 0/1
    # w30: {1,2} majority 1, picked 2; {3,4} others pick 4 (2 vs 1), picked 3
    assert qa.majority_trials.tolist() == [2, 3, 2]
    np.testing.assert_allclose(qa.majority_agreement, [1.0, 2 / 3, 0.0])


def test_status_blocks_on_sentinels_before_judging_duplicates():
    assert _run(max_sentinel_mistakes=0).status.tolist() == ["blocked", "ok", "ok"]
    assert _run(max_sentinel_mistakes=10).status.tolist() == ["unqualified", "ok", "ok"]
    assert _run(max_sentinel_mistakes=10, min_duplicate_agreement=0.5).status.tolist() == ["ok", "ok", "ok"]


def test_planned_duplicates_can_be_marked_explicitly():
    cols = list(zip(*HAND))
    only_12 = np.array([{a, b} == {1, 2} for a, b in zip(cols[1], cols[2])])
    qa = worker_qa(
        np.array(cols[0]),
        np.array(cols[1]),
        np.array(cols[2]),
        np.array(cols[3]),
        np.array(cols[4], float),
        gold=np.array(cols[5]),
        is_duplicate=only_12,
    )
    assert qa.duplicate_pairs.tolist() == [1, 1, 0]
    assert qa.duplicate_consistency[0] == 1.0


def test_records_are_plain_python_for_json():
    rec = _run().to_records()[2]
    assert rec["worker"] == 30 and rec["status"] == "ok"
    assert rec["duplicate_consistency"] is None
    assert isinstance(rec["median_rt_ms"], float)


def test_bad_input_gets_a_clear_message():
    with pytest.raises(ValueError, match="gold"):
        worker_qa(
            np.array([1]), np.array([1]), np.array([2]), np.array([True]), np.array([1.0]), gold=np.array([9])
        )
    with pytest.raises(ValueError, match="same sketch"):
        worker_qa(np.array([1]), np.array([2]), np.array([2]), np.array([True]), np.array([1.0]))
    with pytest.raises(ValueError, match="boolean"):
        worker_qa(np.array([1]), np.array([1]), np.array([2]), np.array([1]), np.array([1.0]))
    empty = worker_qa(*(np.zeros(0, int),) * 3, np.zeros(0, bool), np.zeros(0))
    assert empty.worker.size == 0
