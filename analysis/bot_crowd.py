"""A mixed crowd for testing the bot flags: careful people, agents and fast clickers.

Every simulated participant takes the study through its real pages in this process (Django's
test client, ``analysis.crowd``), from an address of its own, sending the trial page's
telemetry as its kind of client would. The three kinds know different truths:

- ``careful`` people answer from a latent quality independent of every scorer
  (``crowd.latent_table``), as the study's real crowd must;
- ``scorer_bot`` agents answer from the q of the study's first scorer — the model under test
  — with human-like delays and telemetry (the case the paper-style study must catch, because
  such answers would push human–model agreement up);
- ``fast_clicker`` clients click at random in about a quarter of a second.

Response times are real to the server: a simulated clock (``simulated_clock``) stands in for
waiting, so the server's own timing sees what a real server would. Use it in tests and
benchmarks only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from unittest import mock

import numpy as np
from django.utils import timezone

from analysis import crowd, results, selectors, simulation
from scoring.models import SketchScore
from studies import seeds
from studies.models import Study

KINDS = ("careful", "scorer_bot", "fast_clicker")


@dataclass
class MixResult:
    kind_of: dict[int, str] = field(default_factory=dict)  # participant id → kind
    flags: dict[int, list[str]] = field(default_factory=dict)  # participant id → flag codes
    final_step: dict[int, str] = field(default_factory=dict)

    def flagged_share(self, kind: str) -> tuple[int, int]:
        """(flagged, total) participants of one kind."""
        ids = [pid for pid, k in self.kind_of.items() if k == kind]
        return sum(1 for pid in ids if self.flags.get(pid)), len(ids)

    def codes(self, kind: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for pid, k in self.kind_of.items():
            if k == kind:
                for code in self.flags.get(pid, []):
                    counts[code] = counts.get(code, 0) + 1
        return counts


def scorer_truth(study: Study) -> dict[int, float]:
    """What an agent answering like the model knows: the study's first scorer's q, min–max
    normalised per category (the same scale the careful people's latent uses)."""
    scorer = study.scorers.order_by("name").first()
    rows = list(
        SketchScore.objects.filter(scorer=scorer, sketch__category__in=study.categories.all()).values_list(
            "sketch_id", "q", "sketch__category_id"
        )
    )
    ids, q, groups = (np.array(column) for column in zip(*rows))
    latent = simulation.latent_quality(ids, q, groups, np.random.default_rng(0), noise=0.0)
    return crowd.with_degraded_copies(study, latent)  # a model scores a ruined copy low too


@contextlib.contextmanager
def simulated_clock() -> Iterator[list[float]]:
    """Patch ``timezone.now`` to real time plus an offset; the yielded list's one item is the
    offset in seconds (add to it to let time pass)."""
    offset = [0.0]
    real_now = timezone.now

    def now():
        return real_now() + timedelta(seconds=offset[0])

    with mock.patch.object(timezone, "now", now):
        yield offset


def run_mix(study: Study, counts: Mapping[str, int], *, seed: int = 0) -> MixResult:
    """Run the mixed crowd through the study's pages, then flag it as the analysis does."""
    scheme = study.seed_scheme
    arrivals = simulation.crowd_profiles(dict(counts), seeds.rng(scheme, "crowd_arrivals", seed))
    human_truth = crowd.latent_table(study, seeds.rng(scheme, "crowd_latent", seed))
    model_truth = scorer_truth(study)
    index = crowd.stimulus_index(study)
    kinds: dict[str, str] = {}
    outcomes: dict[str, str] = {}
    with simulated_clock() as offset:

        def wait(ms: int) -> None:
            offset[0] += ms / 1000.0

        for number, profile in enumerate(arrivals):
            panel_id = f"mix-{seed}-{number}"
            address = f"198.{18 + number // 250 % 2}.{number % 250}.{7 + number % 200}"  # a /24 each
            outcome = crowd.run_simulated_participant(
                study,
                panel_id,
                profile,
                model_truth if profile.kind == "scorer_bot" else human_truth,
                index.get,
                crowd.DjangoClientTransport(remote_addr=address),
                seed=seed,
                number=number,
                wait=wait,
            )
            offset[0] += 30.0  # the next participant arrives a little later
            kinds[panel_id], outcomes[panel_id] = profile.kind, outcome.final_step
    frame = results.load_frame(study, selectors.EVERYONE)
    result = MixResult()
    for p in frame.participants:
        if p["panel_id"] in kinds:
            result.kind_of[p["id"]] = kinds[p["panel_id"]]
            result.final_step[p["id"]] = outcomes[p["panel_id"]]
            result.flags[p["id"]] = [flag.code for flag in frame.flags.of(p["id"])]
    return result
