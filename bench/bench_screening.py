"""Screening on a simulated ~40-worker study through the real participant pages, beside the planner.

Run from the repo root:  .venv/bin/python bench/bench_screening.py
Env: BENCH_SCREENING_CROWD (default "24,4,4,4,4": good, spammer, always-left, too-fast,
inconsistent), BENCH_SCREENING_TRIALS (default 150), BENCH_DATABASE_URL (default: temporary SQLite).

Prints, per worker type: the share excluded (blocked live or unqualified at the end), the
share blocked live and the median answers before the block, the share left undecided; then
the screening planner's prediction for the same settings; the response-time distribution of
the simulated answers by type (the data behind the too-fast default); and the planner at the
paper's settings. Timing: one live screening decision (``studies.screening.block_reason``)
against one answer POST measured in the same run (the baseline).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.django_setup import setup_django  # noqa: E402

KINDS = ("good", "spammer", "always_left", "too_fast", "inconsistent")
COUNTS = dict(zip(KINDS, (int(x) for x in os.environ.get("BENCH_SCREENING_CROWD", "24,4,4,4,4").split(","))))
TRIALS = int(os.environ.get("BENCH_SCREENING_TRIALS", "150"))
SEED = 11


def main() -> None:
    setup_django()
    import numpy as np

    from analysis.crowd import simulate_crowd
    from annotation.models import Answer, Participant
    from bench.common import print_header, print_ratio, print_row
    from studies import screening
    from studies.actions import do_launch_study
    from studies.screening_planner import plan_screening
    from tests.factories import make_scored_study

    n_sentinels = n_duplicates = max(4, TRIALS // 12)
    study = make_scored_study(
        "bench-screening", n=60, held_out=12, sampling_mode="balanced", n_levels=4, pairs_per_cell=60,
        trials_per_participant=TRIALS, practice_trials=2, sentinels_per_participant=n_sentinels,
        max_sentinel_mistakes=max(1, n_sentinels // 4), duplicates_per_participant=n_duplicates,
        min_duplicate_distance=20, break_every=0, target_participants=1000, auto_gold_pairs=0,
        degradation_gold_pairs=n_sentinels, too_fast_ms=350, too_fast_share=0.2, too_fast_block_after=50,
    )  # fmt: skip
    study = do_launch_study(study)
    started = time.perf_counter()
    result = simulate_crowd(study, COUNTS, seed=SEED)
    elapsed = time.perf_counter() - started
    kind_of = {o.panel_id: o.profile for o in result.outcomes}
    people = {p.panel_id: p for p in Participant.objects.filter(study=study)}

    rules = study.screening_rules()
    print_header(
        f"simulated study: {sum(COUNTS.values())} workers {COUNTS}, {TRIALS} trials "
        f"({n_sentinels} sentinels, {n_duplicates} duplicates), rule {rules.rule}, α = {rules.alpha}"
    )
    print_row(
        "answers sent (practice included)", f"{sum(o.answered for o in result.outcomes):,} in {elapsed:.0f} s"
    )
    plan = plan_screening(rules, TRIALS, study.min_duplicate_distance, n_workers=400, seed=SEED)
    print_row("", "observed (through the pages)  |  planner's prediction")
    for kind in KINDS:
        ps = [people[pid] for pid, k in kind_of.items() if k == kind and pid in people]
        if not ps:
            continue
        excluded = sum(p.qualified is False for p in ps) / len(ps)
        blocked = [p for p in ps if p.status == "blocked"]
        stops = [p.current_position for p in blocked]
        undecided = sum(p.screening == "undecided" for p in ps) / len(ps)
        reasons = sorted({p.screening_reason for p in ps if p.screening_reason})
        observed = (
            f"excluded {excluded:4.0%}, blocked {len(blocked) / len(ps):4.0%}"
            f" (median stop {statistics.median(stops) if stops else '–'}), undecided {undecided:4.0%}"
        )
        predicted = plan.outcomes.get(kind)
        forecast = (
            f"excluded {predicted.excluded:4.0%}, blocked {predicted.blocked:4.0%} (median stop "
            f"{predicted.median_stop if predicted.median_stop is not None else '–'}), "
            f"undecided {predicted.undecided:4.0%}"
            if predicted
            else "(not a planner type)"
        )
        print_row(f"{kind} ({len(ps)})", f"{observed}  |  {forecast}")
        print_row("", f"reasons: {', '.join(reasons) or '–'}")
    print_row("planner verdict", plan.verdict)

    print_header("response times of the simulated answers (client ms), by worker type")
    thresholds = (250, 300, 350, 400, 500)
    print_row("type", "median | share under " + " / ".join(f"{t}" for t in thresholds) + " ms")
    for kind in KINDS:
        ids = [pid for pid, k in kind_of.items() if k == kind]
        ms = np.array(
            Answer.objects.filter(trial__participant__study=study, trial__participant__panel_id__in=ids)
            .exclude(client_response_ms=None)
            .values_list("client_response_ms", flat=True),
            dtype=float,
        )
        if ms.size:
            shares = " / ".join(f"{(ms < t).mean():5.1%}" for t in thresholds)
            print_row(kind, f"{np.median(ms):6.0f} | {shares}")

    print_header("planner at the paper's settings (1,000 trials, 40 sentinels, 40 duplicates, distance 100)")
    for rule in (screening.PAPER, screening.EVIDENCE):
        paper = plan_screening(screening.Rules(rule=rule), 1000, 100, n_workers=400, seed=SEED)
        cells = ", ".join(
            f"{k}: {o.excluded:.1%} excluded"
            + (f" (median stop {o.median_stop:.0f})" if o.median_stop is not None else "")
            for k, o in paper.outcomes.items()
        )
        print_row(f"rule {rule}", cells)
    no_sequential = screening.Rules(rule=screening.PAPER, sequential=False, too_fast_ms=0)
    old = plan_screening(no_sequential, 1000, 100, n_workers=400, seed=SEED)
    print_row(
        "paper rules alone (no sequential, no time rule)",
        ", ".join(
            f"{k}: {o.excluded:.1%} excluded"
            + (f" (median stop {o.median_stop:.0f})" if o.median_stop is not None else "")
            for k, o in old.outcomes.items()
        ),
    )

    print_header("cost of the live screening decision")
    counts = screening.Counts(
        sentinels=20, mistakes=3, duplicates=20, consistent=17, answers=500, left=260, fast=4
    )
    n = 20000
    start = time.perf_counter()
    for _ in range(n):
        screening.block_reason(rules, counts)
    decision = (time.perf_counter() - start) / n
    from analysis.crowd import DjangoClientTransport

    client = DjangoClientTransport().client  # the allowed host and scheme the settings want
    secure = DjangoClientTransport().secure
    hx = {"HX-Request": "true"}
    client.get(f"/p/{study.slug}/?pid=bench-timer", secure=secure)
    client.post(f"/p/{study.slug}/consent/", {"decision": "accept"}, headers=hx, secure=secure)
    client.post(f"/p/{study.slug}/instructions/", {}, headers=hx, secure=secure)
    participant = Participant.objects.get(study=study, panel_id="bench-timer")
    timings = []
    for trial in participant.trials.filter(is_practice=True, position__lt=participant.n_practice).order_by(
        "position"
    ):
        client.post(f"/p/{study.slug}/answer/", {"token": trial.token, "choice": "left"}, secure=secure)
    for trial in participant.trials.filter(is_practice=False).order_by("position")[:60]:
        start = time.perf_counter()
        client.post(
            f"/p/{study.slug}/answer/",
            {"token": trial.token, "choice": ("left", "right")[trial.position % 2], "client_ms": "900"},
            headers=hx,
            secure=secure,
        )
        timings.append(time.perf_counter() - start)
    answer = statistics.median(timings)
    print_row("baseline: one answer POST (median of 60)", f"{1000 * answer:.2f} ms")
    print_row("one screening decision", f"{1e6 * decision:.1f} µs")
    print_ratio("screening decision ÷ answer POST", decision, answer, goal="small: < 0.05")


if __name__ == "__main__":
    main()
