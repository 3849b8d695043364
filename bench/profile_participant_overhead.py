"""Where a participant request's server CPU goes outside the answer transaction (issue 13).

In one process (Django test client, PostgreSQL), ``time.process_time`` per request for the answer
POST (htmx, form-encoded as a browser sends it), the picture GETs its page links to (none since
the pictures are inline) and the bench's bare-INSERT baseline POST, under the production
middleware stack and under stacks with one middleware left out each (``BENCH_ONLY_FULL=1``: only
the production and the lean stack), then cProfile (CPU timer) over whole trials. A fresh participant every 10 trials (always "left" would be
screened out). Measurement only: it changes nothing in the production settings. Run with
``BENCH_DATABASE_URL`` (a PostgreSQL database it may drop) and ``BENCH_CACHE_URL`` (Redis).
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

N = int(os.environ.get("BENCH_REQUESTS", "60"))
FORM = "application/x-www-form-urlencoded"


def main() -> int:
    from bench.bench_trials import DEFAULT_URL, IMAGES, TOKEN, build_study, recreate_database

    url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL
    recreate_database(url)
    os.environ["BENCH_DATABASE_URL"] = url
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1,localhost"
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.trials_server.settings"
    os.environ["CACHE_URL"] = os.environ.get("BENCH_CACHE_URL", "")
    from bench.django_setup import setup_django

    setup_django()
    from django.conf import settings
    from django.test import Client, override_settings

    try:
        slug = build_study().slug
        full = list(settings.MIDDLEWARE)
        stacks = {"production stack": full}
        for name in full if os.environ.get("BENCH_ONLY_FULL") != "1" else []:
            if "Session" not in name:  # auth needs it
                stacks[f"without {name.rsplit('.', 1)[-1]}"] = [m for m in full if m != name]
        lean = ("Session", "Authentication", "Message", "Axes")
        stacks["without session, auth, messages, axes"] = [m for m in full if not any(x in m for x in lean)]
        index = [0]

        def participant():
            index[0] += 1
            client = Client(HTTP_HOST="127.0.0.1", **{"wsgi.url_scheme": "https"})
            client.get(f"/p/{slug}/?pid=profile-{index[0]}")
            client.post(f"/p/{slug}/consent/", {"decision": "accept"})
            r = client.post(f"/p/{slug}/instructions/", {}, follow=True)
            return client, r.content.decode()

        def answer(client, page):
            if TOKEN.search(page) is None:
                raise AttributeError(page[:300])
            response = client.post(
                f"/p/{slug}/answer/",
                urlencode({"token": TOKEN.search(page).group(1), "choice": "left"}),
                content_type="application/x-www-form-urlencoded",
                HTTP_HX_REQUEST="true",
            )
            assert response.status_code == 200, response.status_code
            return response.content.decode()

        def measure(stack):
            with override_settings(MIDDLEWARE=stack, SECURE_SSL_REDIRECT=False):
                answers, pictures, baselines = [], [], []
                baseline = Client(HTTP_HOST="127.0.0.1", **{"wsgi.url_scheme": "https"})
                for done in range(N):
                    if done % 10 == 0:  # a fresh participant: always "left" would be screened out
                        client, page = participant()
                        page = answer(client, page)
                    start = time.process_time()
                    new = answer(client, page)
                    answers.append(time.process_time() - start)
                    page = new
                    start = time.process_time()
                    for image in IMAGES.findall(page)[:2]:  # none since the pictures are inline
                        assert client.get(image).status_code == 200
                    pictures.append(time.process_time() - start)
                    start = time.process_time()
                    assert (
                        baseline.post("/bench/baseline/", "choice=left", content_type=FORM).status_code == 200
                    )
                    baselines.append(time.process_time() - start)
                return tuple(statistics.median(x) * 1000 for x in (answers, pictures, baselines))

        results = {}
        for label, stack in stacks.items():
            try:
                results[label] = measure(stack)
            except Exception as error:  # noqa: BLE001 (reported, the next stack is tried)  # the participant pages need it
                print(f"{label}: the participant path breaks ({type(error).__name__} {error})")
        base_a, base_p, _ = results["production stack"]
        print(
            f"{'stack':45} answer ms  picture GETs ms  whole trial ms  saved per trial  baseline ms  baseline/answer"
        )
        for label, (a, p, b) in results.items():
            print(
                f"{label:45} {a:8.2f}  {p:14.2f}  {a + p:13.2f}  {base_a + base_p - a - p:+14.2f}  {b:10.2f}  {b / a:14.2f}"
            )
        with override_settings(SECURE_SSL_REDIRECT=False):
            client, page = participant()
            profile = cProfile.Profile(time.process_time)  # CPU, not wall: load-insensitive
            for done in range(N):
                if done % 10 == 0:
                    client, page = participant()
                    page = answer(client, page)
                profile.enable()
                page = answer(client, page)
                for image in IMAGES.findall(page)[:2]:
                    client.get(image)
                profile.disable()
        print(f"whole trials profiled: {N}; picture GETs per trial: {len(IMAGES.findall(page)[:2])}")
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(50)
        print(out.getvalue())
    finally:
        from django.db import connections

        connections.close_all()
        recreate_database(url, drop_only=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
