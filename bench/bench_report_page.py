"""The report page and the zip link as a researcher meets them: cold, warm, and the background build.

Run from the repo root:  .venv/bin/python bench/bench_report_page.py
Env: BENCH_PAGE_ANSWERS (default "1000,40000"), BENCH_DATABASE_URL as in bench_report.py.

Goals (issue 12): report page with 1,000 answers ≤ 1 s when nothing changed (warm) and
≤ 3 s cold; with 40,000 answers ≤ 10 s cold; the zip link never holds a request > 1 s.
Celery is not eager here (as in production): the page request enqueues the full build and
returns the quick version; the build is then run in this process to time it.
Baseline in the same run: fetching (id, choice) of every answer.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.django_setup import setup_django  # noqa: E402

SIZES = [int(x) for x in os.environ.get("BENCH_PAGE_ANSWERS", "1000,40000").split(",")]


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def measure(size: int, client, user, queued: list) -> tuple[float, float, float]:
    from django.core.cache import cache

    import bench.bench_report as data
    from analysis.tasks import build_report_cache
    from annotation.models import Answer
    from bench.common import best_of, print_header, print_ratio, print_row
    from studies.models import Study

    data.ANSWERS = size
    Study.objects.filter(slug="bench-report").update(
        slug=f"bench-report-before-{size}"
    )  # keep: protected rows
    study = data.build_study()
    study.owner = user
    study.save(update_fields=["owner"])
    cache.clear()
    url = f"/analysis/studies/{study.slug}/report/"
    base = best_of(
        lambda: list(Answer.objects.filter(trial__participant__study=study).values_list("id", "choice"))
    )
    print_header(f"report page, {size:,} answers")
    cold, response = timed(lambda: client.get(url))
    assert response.status_code == 200 and b"report-progress" in response.content
    _, args = queued.pop()
    build, _ = timed(lambda: build_report_cache(*args))
    warm = best_of(lambda: client.get(url), repeat=3)
    assert b"report-progress" not in client.get(url).content
    zip_link, response = timed(lambda: client.get(f"/analysis/studies/{study.slug}/report.zip"))
    assert response.status_code == 302
    status = best_of(lambda: client.get(response["Location"]), repeat=3)
    goal = 3 if size <= 1000 else 10
    print_row("baseline: fetch (id, choice) of every answer", f"{base:.3f} s")
    print_row("cold page (quick version; full build enqueued)", f"{cold:.2f} s   (goal: ≤ {goal} s)")
    print_row("warm page (full report from the cache)", f"{warm:.3f} s   (goal: ≤ 1 s)")
    print_row("background build of the full report (task)", f"{build:.1f} s")
    print_row("zip link (starts the export job, redirects)", f"{zip_link:.3f} s   (goal: ≤ 1 s)")
    print_row("export progress page", f"{status:.3f} s")
    print_ratio("cold page ÷ baseline", cold, base)
    print_ratio("warm page ÷ baseline", warm, base)
    print_ratio("background build ÷ cold page", build, cold)
    queued.clear()
    cache.clear()
    return cold, warm, zip_link


def main() -> None:
    if len(SIZES) > 1:  # one fresh database per size (the sample sketches are inserted once per run)
        import subprocess

        for size in SIZES:
            env = {**os.environ, "BENCH_PAGE_ANSWERS": str(size)}
            subprocess.run([sys.executable, __file__], env=env, check=True)
        return
    setup_django()
    from django.conf import settings

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    from django.contrib.auth.models import User
    from django.test import Client

    from analysis import live
    from analysis.tasks import build_report_cache, run_export
    from bench.common import print_header, print_row

    queued: list = []
    build_report_cache.delay_on_commit = lambda *args: queued.append(("report", args))  # no broker here
    live.shared_cache = lambda: True  # the queued build is run in this process, whose cache it fills
    run_export.delay_on_commit = lambda *args: queued.append(("export", args))
    user = User.objects.create_superuser("bench-page", "b@example.org", "x")
    client = Client()
    client.force_login(user)
    results = {size: measure(size, client, user, queued) for size in SIZES}

    print_header("Goals")
    for size, (cold, warm, zip_link) in results.items():
        goal = 3 if size <= 1000 else 10
        print_row(f"{size:,} answers: cold ≤ {goal} s", "MET" if cold <= goal else "NOT MET")
        if size <= 1000:
            print_row(f"{size:,} answers: warm ≤ 1 s", "MET" if warm <= 1 else "NOT MET")
        print_row(f"{size:,} answers: zip link ≤ 1 s", "MET" if zip_link <= 1 else "NOT MET")


if __name__ == "__main__":
    main()
