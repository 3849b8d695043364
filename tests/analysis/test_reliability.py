import numpy as np
import pytest

from analysis.reliability import fleiss_kappa, krippendorff_alpha_nominal, ratings_to_counts, units_by_coders

nan = np.nan

# Krippendorff, K. (2011). "Computing Krippendorff's Alpha-Reliability", Annenberg School
# for Communication, University of Pennsylvania, https://repository.upenn.edu/asc_papers/43,
# section C ("nominal data, any number of observers, missing data"): 4 observers × 12
# units, hand-worked to α_nominal = 0.743. Rows there are observers; ours are units.
KRIPPENDORFF_2011 = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],  # observer A
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],  # observer B
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],  # observer C
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],  # observer D
    ]
).T

# Fleiss' kappa worked example (Wikipedia, "Fleiss' kappa", Worked example; data after
# Fleiss 1971): 10 subjects × 5 categories, 14 raters each, κ = 0.210.
FLEISS_EXAMPLE = np.array(
    [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
)


def test_alpha_on_krippendorffs_textbook_example():
    assert krippendorff_alpha_nominal(KRIPPENDORFF_2011) == pytest.approx(0.743, abs=5e-4)


def test_alpha_does_not_depend_on_coder_order_or_value_labels():
    a = krippendorff_alpha_nominal(KRIPPENDORFF_2011)
    assert krippendorff_alpha_nominal(KRIPPENDORFF_2011[:, ::-1]) == pytest.approx(a)
    assert krippendorff_alpha_nominal(KRIPPENDORFF_2011 * 10 + 7) == pytest.approx(a)


def test_alpha_is_one_for_perfect_agreement_and_undefined_without_variation():
    assert krippendorff_alpha_nominal([[0, 0, nan], [1, 1, 1], [0, nan, 0]]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="identical"):
        krippendorff_alpha_nominal([[1, 1], [1, 1]])
    with pytest.raises(ValueError, match="two or more"):
        krippendorff_alpha_nominal([[1, nan], [nan, 2]])


def test_fleiss_kappa_on_the_worked_example():
    assert fleiss_kappa(FLEISS_EXAMPLE) == pytest.approx(0.210, abs=5e-4)


def test_fleiss_kappa_needs_equal_ratings_per_unit():
    with pytest.raises(ValueError, match="same number"):
        fleiss_kappa([[1, 1], [2, 1]])


def test_long_answers_become_a_units_by_coders_matrix():
    mat, units, coders = units_by_coders([5, 5, 7], [1, 2, 2], [0, 1, 1])
    assert units.tolist() == [5, 7] and coders.tolist() == [1, 2]
    np.testing.assert_array_equal(mat, [[0, 1], [nan, 1]])
    counts, values = ratings_to_counts(mat)
    assert values.tolist() == [0.0, 1.0]
    assert counts.tolist() == [[1, 1], [0, 1]]
