"""The simulated responders and the page reader (pure: no database, no server)."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import simulation

LATENT = {1: 0.1, 2: 0.9, 3: 0.5, 4: 0.52}


def _rate(kind: str, left: int, right: int, n: int = 4000) -> float:
    responder = simulation.Responder(simulation.PROFILES[kind], LATENT, np.random.default_rng(5))
    return np.mean([responder.choose(left, right) == "left" for _ in range(n)])


def test_good_workers_pick_the_better_sketch_when_the_gap_is_large():
    assert _rate("good", 2, 1) > 0.99 and _rate("good", 1, 2) < 0.01


def test_good_workers_are_close_to_a_coin_flip_when_the_gap_is_tiny():
    assert 0.45 < _rate("good", 4, 3) < 0.7


def test_thurstone_workers_follow_the_probit_model():
    responder = simulation.Responder(simulation.PROFILES["thurstone"], LATENT, np.random.default_rng(1))
    assert responder.p_left(3, 3) == pytest.approx(0.5)
    assert responder.p_left(2, 1) > 0.999 and responder.p_left(1, 2) < 0.001


def test_spammers_answer_at_random_whatever_they_see():
    assert 0.47 < _rate("spammer", 2, 1) < 0.53 and 0.47 < _rate("spammer", 1, 2) < 0.53


def test_left_biased_workers_mostly_press_left():
    assert _rate("left_biased", 1, 2) > 0.88 and _rate("left_biased", 2, 1) > 0.99


def test_inconsistent_workers_see_only_a_weak_signal():
    assert 0.6 < _rate("inconsistent", 2, 1) < 0.85


def test_an_unrecognised_stimulus_gets_no_opinion():
    responder = simulation.Responder(simulation.PROFILES["good"], LATENT, np.random.default_rng(0))
    assert responder.p_left(None, 2) == 0.5


def test_no_difference_only_when_offered_and_the_sketches_look_alike():
    responder = simulation.Responder(simulation.PROFILES["good"], LATENT, np.random.default_rng(0))
    assert responder.choose(3, 4, allow_none=True) == "none"
    assert responder.choose(3, 4, allow_none=False) != "none"
    assert responder.choose(1, 2, allow_none=True) != "none"


def test_spammers_answer_fast():
    responder = simulation.Responder(simulation.PROFILES["spammer"], LATENT, np.random.default_rng(0))
    times = np.array([responder.response_ms() for _ in range(2000)])
    assert 0.2 < np.mean(times < 300) < 0.5


def test_latent_quality_is_monotone_in_q_within_each_category_up_to_noise():
    ids, q = np.arange(6), np.array([10.0, 20, 30, 100, 300, 200])
    groups = np.array([1, 1, 1, 2, 2, 2])
    exact = simulation.latent_quality(ids, q, groups, np.random.default_rng(0), noise=0.0)
    assert [exact[i] for i in range(6)] == [0.0, 0.5, 1.0, 0.0, 1.0, 0.5]
    noisy = simulation.latent_quality(ids, q, groups, np.random.default_rng(0), noise=0.05)
    assert max(abs(noisy[i] - exact[i]) for i in range(6)) < 0.25


def test_latent_quality_refuses_bad_input():
    with pytest.raises(ValueError, match="same length"):
        simulation.latent_quality([1, 2], [1.0], [0, 0], np.random.default_rng(0))
    with pytest.raises(ValueError, match="finite"):
        simulation.latent_quality([1, 2], [1.0, np.nan], [0, 0], np.random.default_rng(0))


def test_crowd_profiles_are_shuffled_reproducibly_and_refuse_unknown_kinds():
    first = simulation.crowd_profiles({"good": 3, "spammer": 2}, np.random.default_rng(4))
    second = simulation.crowd_profiles({"good": 3, "spammer": 2}, np.random.default_rng(4))
    assert [p.kind for p in first] == [p.kind for p in second]
    assert sorted(p.kind for p in first) == ["good"] * 3 + ["spammer"] * 2
    with pytest.raises(ValueError, match="unknown responder profile"):
        simulation.crowd_profiles({"genius": 1}, np.random.default_rng(0))
    with pytest.raises(ValueError, match="≥ 0"):
        simulation.crowd_profiles({"good": -1}, np.random.default_rng(0))


TRIAL_FRAGMENT = """
<main id="step" tabindex="-1" data-step="trial">
<form class="trial" method="post" action="/p/s/answer/" data-trial>
<input type="hidden" name="csrfmiddlewaretoken" value="abc">
<input type="hidden" name="token" value="T0K3N">
<input type="hidden" name="client_ms" value="">
<button type="submit" name="choice" value="left" class="sketch"><img src="/p/s/s/T0K3N/left.svg" alt="Left sketch"></button>
<button type="submit" name="choice" value="right" class="sketch"><img src="/p/s/s/T0K3N/right.svg" alt="Right sketch"></button>
<button type="submit" name="choice" value="none" class="none">No visible difference</button>
</form></main>
"""


def test_the_page_reader_finds_the_step_form_and_stimuli():
    step = simulation.parse_step(TRIAL_FRAGMENT)
    form = step.form_with("choice")
    assert step.name == "trial" and form.action == "/p/s/answer/" and form.method == "post"
    assert form.fields == {"csrfmiddlewaretoken": "abc", "token": "T0K3N", "client_ms": ""}
    assert form.buttons["choice"] == ["left", "right", "none"]
    assert step.images == {"Left sketch": "/p/s/s/T0K3N/left.svg", "Right sketch": "/p/s/s/T0K3N/right.svg"}


class ScriptedTransport:
    """Serves a consent page, one trial, then the completion page; records what was sent."""

    def __init__(self):
        self.sent = []
        self.pages = {
            "/p/s/?pid=x": '<main id="step" data-step="consent"><form method="post" action="/p/s/consent/">'
            '<button name="decision" value="accept">ok</button></form></main>',
            "/p/s/consent/": TRIAL_FRAGMENT,
            "/p/s/answer/": '<main id="step" data-step="complete"></main>',
        }

    def get(self, path, *, htmx=False):
        if path.endswith(".svg"):
            return simulation.Page(200, "", b"<svg>" + path.encode() + b"</svg>")
        return simulation.Page(200, self.pages[path])

    def post(self, path, data, *, htmx=False):
        self.sent.append((path, data))
        return simulation.Page(200, self.pages[path])


def test_a_participant_is_driven_from_the_link_to_the_completion_page():
    transport = ScriptedTransport()
    digests = {simulation.svg_digest(b"<svg>/p/s/s/T0K3N/left.svg</svg>"): 2,
               simulation.svg_digest(b"<svg>/p/s/s/T0K3N/right.svg</svg>"): 1}  # fmt: skip
    responder = simulation.Responder(simulation.PROFILES["good"], LATENT, np.random.default_rng(0))
    outcome = simulation.run_participant(transport, "/p/s/?pid=x", "x", responder, digests.get)
    assert outcome.final_step == "complete" and outcome.answered == 1 and outcome.unrecognised_stimuli == 0
    (_, consent), (_, answer) = transport.sent
    assert consent["decision"] == "accept"
    assert answer["choice"] == "left" and answer["token"] == "T0K3N" and answer["client_ms"] > 0


def test_an_unknown_screen_stops_the_simulation_with_a_clear_error():
    transport = ScriptedTransport()
    transport.pages["/p/s/?pid=x"] = '<main id="step" data-step="survey"></main>'
    responder = simulation.Responder(simulation.PROFILES["good"], LATENT, np.random.default_rng(0))
    with pytest.raises(simulation.SimulationError, match="unknown participant screen 'survey'"):
        simulation.run_participant(transport, "/p/s/?pid=x", "x", responder, {}.get)


# -- best of K and single trials ------------------------------------------------------

KWAY = {1: 0.1, 2: 0.9, 3: 0.5, 4: 0.52, 5: 0.3}


def _option_shares(kind: str, options: list, n: int = 4000, allow_none: bool = False) -> dict[str, float]:
    responder = simulation.Responder(simulation.PROFILES[kind], KWAY, np.random.default_rng(8))
    answers = [responder.choose_option(options, allow_none) for _ in range(n)]
    return {a: answers.count(a) / n for a in set(answers)}


def test_good_workers_pick_the_best_of_k_by_plackett_luce():
    responder = simulation.Responder(simulation.PROFILES["good"], KWAY, np.random.default_rng(0))
    p = responder.p_options([1, 3, 4])  # latent 0.1, 0.5, 0.52: exp(12 u) shares
    expected = np.exp(12 * np.array([0.1, 0.5, 0.52]))
    assert p == pytest.approx(expected / expected.sum())
    assert p.sum() == pytest.approx(1.0)
    shares = _option_shares("good", [1, 5, 2])  # the best (0.9) is the third option
    assert shares["3"] > 0.99
    # with K = 2 it is the pair model
    assert responder.p_options([2, 1])[0] == pytest.approx(responder.p_left(2, 1))


def test_spammers_pick_any_of_k_options_equally_and_position_biased_workers_the_first():
    shares = _option_shares("spammer", [1, 5, 2, 3])
    assert all(0.22 < shares[str(k)] < 0.28 for k in range(1, 5))
    assert _option_shares("left_biased", [1, 5, 2])["1"] > 0.88  # option 1 is the worst here


def test_best_of_k_abstains_only_when_offered_and_the_two_best_look_alike():
    responder = simulation.Responder(simulation.PROFILES["good"], KWAY, np.random.default_rng(0))
    assert responder.choose_option([1, 3, 4], allow_none=True) == "none"  # 0.52 vs 0.5
    assert responder.choose_option([1, 3, 4], allow_none=False) != "none"
    assert responder.choose_option([1, 2, 3], allow_none=True) != "none"  # 0.9 stands out
    assert responder.p_options([None, 2, 1]) == pytest.approx([1 / 3] * 3)


def test_single_trials_say_yes_for_latent_above_the_middle():
    responder = simulation.Responder(simulation.PROFILES["good"], KWAY, np.random.default_rng(0))
    assert responder.p_yes(2) > 0.99 and responder.p_yes(1) < 0.01
    assert responder.p_yes(3) == pytest.approx(0.5) and responder.p_yes(None) == 0.5
    yes = np.mean([responder.answer_single(4) == "yes" for _ in range(4000)])
    assert yes == pytest.approx(1 / (1 + np.exp(-12 * 0.02)), abs=0.03)
    spammer = simulation.Responder(simulation.PROFILES["spammer"], KWAY, np.random.default_rng(1))
    assert spammer.p_yes(2) == spammer.p_yes(1) == 0.5


KWAY_FRAGMENT = """<main id="step" data-step="trial"><form class="trial" method="post" action="/p/s/answer/">
<input type="hidden" name="token" value="T0K3N">
<button type="submit" name="choice" value="1" class="sketch"><img src="/p/s/s/T0K3N/left.svg" alt="Sketch 1"></button>
<button type="submit" name="choice" value="2" class="sketch"><img src="/p/s/s/T0K3N/right.svg" alt="Sketch 2"></button>
<button type="submit" name="choice" value="3" class="sketch"><img src="/p/s/s/T0K3N/third.svg" alt="Sketch 3"></button>
</form></main>
"""

SINGLE_FRAGMENT = """<main id="step" data-step="trial"><form class="trial" method="post" action="/p/s/answer/">
<input type="hidden" name="token" value="T0K3N">
<figure class="sketch"><img src="/p/s/s/T0K3N/left.svg" alt="The sketch"></figure>
<button type="submit" name="choice" value="yes" class="answer">Yes</button>
<button type="submit" name="choice" value="no" class="answer">No</button>
</form></main>
"""


@pytest.mark.parametrize(
    ("fragment", "latent", "expected"),
    [(KWAY_FRAGMENT, {"left": 1, "right": 5, "third": 2}, "3"), (SINGLE_FRAGMENT, {"left": 2}, "yes")],
)
def test_best_of_k_and_single_screens_are_answered_from_the_latent_quality(fragment, latent, expected):
    transport = ScriptedTransport()
    transport.pages["/p/s/consent/"] = fragment
    digests = {
        simulation.svg_digest(f"<svg>/p/s/s/T0K3N/{side}.svg</svg>".encode()): pk
        for side, pk in latent.items()
    }
    responder = simulation.Responder(simulation.PROFILES["good"], KWAY, np.random.default_rng(0))
    outcome = simulation.run_participant(transport, "/p/s/?pid=x", "x", responder, digests.get)
    assert outcome.final_step == "complete" and outcome.unrecognised_stimuli == 0
    assert transport.sent[-1][1]["choice"] == expected
